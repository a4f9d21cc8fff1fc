"""The ways a turn can be answered, one module each, behind one small interface.

* :mod:`.ha_intents` - Home Assistant's own intents (device commands, time, weather);
* :mod:`.canned` - Alice's own model-free answers (greetings, thanks, time and date);
* :mod:`.think` - the local Ollama model with Home Assistant's tools;
* :mod:`.cloud` - OpenAI Realtime, told what it needs by :mod:`.cloud_context`.

The engine (:mod:`..engine`) plans a turn as a sequence of :class:`Step` and
asks each step's :class:`AnswerPath` in turn. A path returns the turn's result,
or None when it has no answer (Home Assistant's intents did not match, the
cloud handed the turn on, a guardrail wants a "yes" first), or raises
:class:`..errors.AliceVoiceTurnError`, whose ``fallback_ok`` says whether the
next step may try. A new path is a module here, a :class:`PathKind` member,
and a line in the engine's plan.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from homeassistant.components import conversation

from ..const import Source
from ..models import Turn


class PathKind(StrEnum):
    """The paths a step can take."""

    HA_INTENTS = "ha_intents"
    CANNED = "canned"
    THINK = "think"
    CLOUD = "cloud"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a turn's plan: a path, the source its answer is labelled with, and options."""

    path: PathKind
    source: Source
    budget: float = 0.0  # seconds to the first answer text (think: then a filler; cloud: give up)
    tools: bool = False  # cloud: offer Home Assistant's tools
    escalate: bool = False  # cloud: offer the tool that hands the turn to the local model


class AnswerPath(Protocol):
    """A way to answer a turn."""

    async def async_answer(
        self, turn: Turn, chat_log: conversation.ChatLog, step: Step
    ) -> conversation.ConversationResult | None:
        """Answer the turn; None when this path has no answer for it."""
