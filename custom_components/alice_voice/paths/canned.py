"""Alice's own answers, with no model at all: greetings, thanks, "what?", the time and date.

Used in ``local_only`` mode and whenever the cloud's fast answer is not
available. The words are in :mod:`..phrases`, in the agent's language.
"""

import re
from typing import Final

from homeassistant.components import conversation
from homeassistant.util import dt as dt_util

from ..models import Turn
from ..phrases import month, phrase, weekday
from ..results import answer
from ..router import Intent
from . import Step

DATE_WORDS: Final = re.compile(
    r"\b(datum|datumet|vilken dag|vad är det för dag|veckodag|idag är det|date|what day|day is it|"
    r"today's date|weekday)\b",
    re.IGNORECASE,
)

CANNED: Final = {
    Intent.GREETING: "greeting",
    Intent.ACKNOWLEDGMENT: "acknowledgment",
    Intent.CLARIFICATION: "clarification",
}


def canned_answer(language: str, intent: Intent, text: str) -> str | None:
    """A model-free answer to ``text`` of ``intent``, or None if there is none."""
    if (key := CANNED.get(intent)) is not None:
        return phrase(language, key)
    if intent is not Intent.TIME_DATE:
        return None
    now = dt_util.now()
    if DATE_WORDS.search(text):
        return phrase(
            language,
            "date",
            weekday=weekday(language, now.weekday()),
            day=str(now.day),
            month=month(language, now.month),
        )
    return phrase(language, "time", time=now.strftime("%H:%M"))


class CannedPath:
    """Answer from Alice's own phrases; None for anything else."""

    async def async_answer(
        self, turn: Turn, chat_log: conversation.ChatLog, step: Step
    ) -> conversation.ConversationResult | None:
        """Answer a greeting, thanks, a clarification or the time and date."""
        assert turn.decision is not None
        text = canned_answer(turn.agent.language, turn.decision.intent, turn.user_input.text)
        return None if text is None else answer(turn, chat_log, text)
