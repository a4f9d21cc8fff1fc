"""No phantom actions: a model's "it's done" is passed on only when a tool did it.

On a turn that should change something (book a meeting, send a mail, play
music, switch a device), a model may answer as if it had acted without having
called a tool, or after the tool failed. Alice holds such a turn's answer text
back until she knows: if a tool that changes something succeeded in this turn,
the text goes out as it came; if not, only a question ("Vilken kalender?") or
a refusal ("Jag kan tyvärr inte…") goes out. Anything else is a claim that did
not happen, and she says what actually happened instead ("Jag kunde inte boka
mötet: …"). The turn is marked, and the response event says so.
"""

import re
from typing import Final

from homeassistant.components import conversation

from .const import LOGGER
from .models import Turn
from .phrases import phrase
from .router import Intent

#: Intents that change something, and how Alice names what she could not do.
ACTIONS: Final[dict[Intent, str]] = {
    Intent.CALENDAR_CREATE: "action_book",
    Intent.CALENDAR_COMPLEX: "action_calendar",
    Intent.EMAIL_SEND: "action_mail",
    Intent.SPOTIFY_SEARCH: "action_music",
    Intent.DEVICE_CONTROL: "action_device",
    Intent.MULTI_STEP_WORKFLOW: "action_all",
}
#: Words that make an answer a refusal or an admission, not a claim.
REFUSAL: Final = re.compile(
    r"\b(inte|ingen|inget|inga|kan ej|tyvärr|förlåt|ursäkta|misslyckades|gick inte|"
    r"not|no|can't|cannot|couldn't|unable|sorry|unfortunately|failed)\b",
    re.IGNORECASE,
)


def needs_proof(turn: Turn) -> bool:
    """Whether the turn asked for a change (a device query or a music question did not)."""
    decision = turn.decision
    if decision is None or decision.intent not in ACTIONS:
        return False
    if decision.intent is Intent.DEVICE_CONTROL:
        return decision.slots.get("action") not in {None, "query"}
    if decision.intent is Intent.SPOTIFY_SEARCH:
        return decision.slots.get("query") is not None
    return True


def _this_turn(chat_log: conversation.ChatLog) -> list[conversation.Content]:
    """The chat log's content since the turn's user message."""
    for index in range(len(chat_log.content) - 1, -1, -1):
        if isinstance(chat_log.content[index], conversation.UserContent):
            return chat_log.content[index + 1 :]
    return []


def proven(chat_log: conversation.ChatLog) -> bool:
    """Whether a tool that changes something succeeded in this turn."""
    api = chat_log.llm_api
    read_only = {tool.name for tool in api.tools if tool.annotations.read_only} if api else set()
    return any(
        isinstance(content, conversation.ToolResultContent)
        and not content.result.error
        and content.tool_name not in read_only
        for content in _this_turn(chat_log)
    )


def _failure(chat_log: conversation.ChatLog) -> str | None:
    """The reason the last failing tool of this turn gave, if any."""
    for content in reversed(_this_turn(chat_log)):
        if isinstance(content, conversation.ToolResultContent) and content.result.error:
            data = content.result.data
            for key in ("message", "error_text", "error"):
                if isinstance(reason := data.get(key), str) and reason:
                    return reason.rstrip(".")
    return None


class ClaimCheck:
    """Holds a turn's answer text back until it is proven, or is not a claim."""

    def __init__(self, turn: Turn, chat_log: conversation.ChatLog) -> None:
        """Check ``turn``, whose tool results go into ``chat_log``."""
        self.turn = turn
        self.chat_log = chat_log
        self.active = needs_proof(turn)

    def holds(self) -> bool:
        """Whether answer text must wait (nothing has been done yet)."""
        return self.active and not proven(self.chat_log)

    def release(self, text: str, *, with_tool_calls: bool) -> str:
        """The held text to say: as it came, or what actually happened instead.

        Text that came with tool calls is not the answer yet (the calls decide).
        """
        if with_tool_calls or not text.strip() or "?" in text or REFUSAL.search(text):
            return text
        if proven(self.chat_log):
            return text
        turn = self.turn
        assert turn.decision is not None
        turn.unconfirmed_claim = True
        LOGGER.warning(
            "%s: the model claimed a %s it did not do; saying so instead",
            turn.entity_id,
            turn.decision.intent,
        )
        language = turn.agent.language
        action = phrase(language, ACTIONS[turn.decision.intent])
        if (reason := _failure(self.chat_log)) is not None:
            return phrase(language, "not_done_because", action=action, reason=reason)
        return phrase(language, "not_done", action=action)
