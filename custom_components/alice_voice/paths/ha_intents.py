"""Home Assistant's own intents: exact, local, in milliseconds.

Device commands, the time and the weather are matched against the exposed
entities by Home Assistant's intent matcher (``conversation.async_handle_intents``)
and carried out at once. A match that would unlock, disarm or open something
sensitive is rejected by the guardrails, which ask first.
"""

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant

from ..guardrails import Guardrails
from ..models import Turn
from ..phrases import phrase
from ..results import answer
from . import Step


class HaIntentsPath:
    """Answer with Home Assistant's intents; None when nothing matched."""

    def __init__(self, hass: HomeAssistant, guardrails: Guardrails) -> None:
        """Initialize."""
        self.hass = hass
        self.guardrails = guardrails

    async def async_answer(
        self, turn: Turn, chat_log: conversation.ChatLog, step: Step
    ) -> conversation.ConversationResult | None:
        """Run the intent that matches the turn, if one does."""
        response = await conversation.async_handle_intents(
            self.hass,
            turn.user_input,
            chat_log,
            intent_filter=self.guardrails.intent_filter(turn),
        )
        if response is None:
            return None
        speech = response.speech.get("plain", {}).get("speech") or phrase(
            turn.agent.language, "confirmed"
        )
        return answer(turn, chat_log, speech, response)
