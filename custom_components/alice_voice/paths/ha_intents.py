"""Home Assistant's own intents: exact, local, in milliseconds.

Device commands, the time and the weather are matched against the exposed
entities by Home Assistant's intent matcher (``conversation.async_handle_intents``)
and carried out at once. A match that would unlock, disarm or open something
sensitive is rejected by the guardrails, which ask first.

A device command goes to the matcher before Alice's router even runs
(:meth:`HaIntentsPath.async_device_first`): the commonest turn pays only what
Home Assistant's own agent pays. Only device intents are taken that way; a
miss (anything else) is routed as usual. When the matcher recognised nothing at
all in the text, a routed step here does not ask it again: the answer would be
the same, and a miss is the matcher's costliest search.
"""

from typing import Final

from hassil.recognize import RecognizeResult
from homeassistant.components import conversation
from homeassistant.core import HomeAssistant

from ..guardrails import Guardrails
from ..models import Turn
from ..phrases import phrase
from ..results import answer
from ..router import Intent, RouteDecision, RoutePath, RouteReason
from . import Step

#: Home Assistant's intents that control a device, and the router's action for each.
DEVICE_INTENTS: Final = {
    "HassTurnOn": "turn_on",
    "HassTurnOff": "turn_off",
    "HassToggle": "toggle",
    "HassLightSet": "set",
    "HassSetPosition": "set",
    "HassClimateSetTemperature": "set",
    "HassFanSetSpeed": "set",
}


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
        if turn.ha_recognized_nothing:
            return None
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

    async def async_device_first(
        self, turn: Turn, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult | None:
        """Carry out a device command Home Assistant recognises, before any routing.

        On a match the turn gets a device-control decision (confidence 1.0,
        reason ``ha_intent_match``); on a miss, or a sensitive match the
        guardrails hold back (``turn.pending``), nothing is decided here.
        """
        guard = self.guardrails.intent_filter(turn)
        matched: list[RecognizeResult] = []
        recognized_any = False

        def only_devices(result: RecognizeResult) -> bool:
            nonlocal recognized_any
            recognized_any = True
            if result.intent.name not in DEVICE_INTENTS:
                return True
            if guard(result):
                return True
            matched.append(result)
            return False

        response = await conversation.async_handle_intents(
            self.hass, turn.user_input, chat_log, intent_filter=only_devices
        )
        # The filter is asked only about a recognised intent: never asked, none was.
        turn.ha_recognized_nothing = not recognized_any
        if response is None or not matched:
            return None
        recognized = matched[-1]
        slots = {name: str(entity.value) for name, entity in recognized.entities.items()}
        turn.decision = RouteDecision(
            intent=Intent.DEVICE_CONTROL,
            confidence=1.0,
            path=RoutePath.FAST,
            reason=RouteReason.HA_INTENT_MATCH,
            estimated_latency_ms=1,
            slots={
                "action": DEVICE_INTENTS[recognized.intent.name],
                "area": slots.get("area"),
                "device": slots.get("name"),
                "value": slots.get("brightness") or slots.get("position"),
            },
            language=turn.agent.language,
        )
        speech = response.speech.get("plain", {}).get("speech") or phrase(
            turn.agent.language, "confirmed"
        )
        return answer(turn, chat_log, speech, response)
