"""Describe Alice's events in the logbook, in the home's language (Swedish or English)."""

from collections.abc import Callable
from typing import Any, Final

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util.event_type import EventType

from .const import DOMAIN, Language, Source
from .events import (
    EVENT_INTENT,
    EVENT_RESPONSE,
    EVENT_TOOL_RESULT,
    IntentEventData,
    ResponseEventData,
    ToolResultEventData,
)
from .router import Intent, RoutePath

INTENTS: Final[dict[str, dict[str, str]]] = {
    Language.SWEDISH: {
        Intent.GREETING: "en hälsning",
        Intent.ACKNOWLEDGMENT: "ett tack",
        Intent.CLARIFICATION: "en fråga om vad hon menade",
        Intent.SIMPLE_QUESTION: "en enkel fråga",
        Intent.WEATHER: "en väderfråga",
        Intent.TIME_DATE: "en fråga om tid eller datum",
        Intent.DEVICE_CONTROL: "ett kommando till hemmet",
        Intent.CALENDAR_QUERY: "en kalenderfråga",
        Intent.CALENDAR_CREATE: "en kalenderbokning",
        Intent.CALENDAR_COMPLEX: "en kalenderplanering",
        Intent.EMAIL_ANALYSIS: "en fråga om mejl",
        Intent.EMAIL_SEND: "ett mejl att skicka",
        Intent.SPOTIFY_SEARCH: "en musikönskan",
        Intent.TASK_PLANNING: "en planeringsfråga",
        Intent.MULTI_STEP_WORKFLOW: "en begäran i flera steg",
        Intent.UNKNOWN: "något hon inte kände igen",
    },
    Language.ENGLISH: {
        Intent.GREETING: "a greeting",
        Intent.ACKNOWLEDGMENT: "thanks",
        Intent.CLARIFICATION: "a question about what she meant",
        Intent.SIMPLE_QUESTION: "a simple question",
        Intent.WEATHER: "a weather question",
        Intent.TIME_DATE: "a question about the time or date",
        Intent.DEVICE_CONTROL: "a command for the home",
        Intent.CALENDAR_QUERY: "a calendar question",
        Intent.CALENDAR_CREATE: "a calendar booking",
        Intent.CALENDAR_COMPLEX: "calendar planning",
        Intent.EMAIL_ANALYSIS: "a question about e-mail",
        Intent.EMAIL_SEND: "an e-mail to send",
        Intent.SPOTIFY_SEARCH: "a music request",
        Intent.TASK_PLANNING: "a planning question",
        Intent.MULTI_STEP_WORKFLOW: "a request in several steps",
        Intent.UNKNOWN: "something she did not recognise",
    },
}
PATHS: Final[dict[str, dict[str, str]]] = {
    Language.SWEDISH: {
        RoutePath.FAST: "svarar snabbt",
        RoutePath.THINK: "tänker lokalt",
        RoutePath.HYBRID: "svarar snabbt och tänker vid behov",
    },
    Language.ENGLISH: {
        RoutePath.FAST: "answers fast",
        RoutePath.THINK: "thinks locally",
        RoutePath.HYBRID: "answers fast, thinks if needed",
    },
}
SOURCES: Final[dict[str, dict[str, str]]] = {
    Language.SWEDISH: {
        Source.OPENAI_REALTIME: "OpenAI Realtime",
        Source.LOCAL_AI: "den lokala modellen",
        Source.HA_LOCAL_INTENTS: "Home Assistants egna avsikter",
        Source.LOCAL_FALLBACK: "ett lokalt reservsvar",
        Source.OPENAI_FALLBACK: "molnet, som reserv",
    },
    Language.ENGLISH: {
        Source.OPENAI_REALTIME: "OpenAI Realtime",
        Source.LOCAL_AI: "the local model",
        Source.HA_LOCAL_INTENTS: "Home Assistant's own intents",
        Source.LOCAL_FALLBACK: "a local fallback",
        Source.OPENAI_FALLBACK: "the cloud, as a fallback",
    },
}
MESSAGES: Final[dict[str, dict[str, str]]] = {
    Language.SWEDISH: {
        "intent": "hörde {intent} och {path}",
        "answered": "svarade genom {source} på {ms} ms",
        "failed": "kunde inte svara ({error})",
        "tool_ok": "använde {tool}: {result}",
        "tool_error": "fick ett fel från {tool}: {result}",
    },
    Language.ENGLISH: {
        "intent": "heard {intent} and {path}",
        "answered": "answered through {source} in {ms} ms",
        "failed": "could not answer ({error})",
        "tool_ok": "used {tool}: {result}",
        "tool_error": "got an error from {tool}: {result}",
    },
}


def _language(hass: HomeAssistant) -> str:
    return Language.SWEDISH if hass.config.language.startswith("sv") else Language.ENGLISH


def _entry(hass: HomeAssistant, agent_id: str, message: str) -> dict[str, Any]:
    state = hass.states.get(agent_id)
    return {
        LOGBOOK_ENTRY_NAME: state.name if state is not None else "Alice",
        LOGBOOK_ENTRY_MESSAGE: message,
        LOGBOOK_ENTRY_ENTITY_ID: agent_id,
    }


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[
        [str, EventType[Any] | str, Callable[[Event[Any]], dict[str, Any]]], None
    ],
) -> None:
    """Describe ``alice_voice_intent``, ``alice_voice_response`` and ``alice_voice_tool_result``."""

    @callback
    def describe_intent(event: Event[IntentEventData]) -> dict[str, Any]:
        language = _language(hass)
        data = event.data
        message = MESSAGES[language]["intent"].format(
            intent=INTENTS[language].get(data["intent"], data["intent"]),
            path=PATHS[language].get(data["path"], data["path"]),
        )
        return _entry(hass, data["agent_id"], message)

    @callback
    def describe_response(event: Event[ResponseEventData]) -> dict[str, Any]:
        language = _language(hass)
        data = event.data
        if data["success"]:
            message = MESSAGES[language]["answered"].format(
                source=SOURCES[language].get(data["source"], data["source"]),
                ms=round(data["latency_ms"]["total"]),
            )
        else:
            message = MESSAGES[language]["failed"].format(error=data["error"])
        return _entry(hass, data["agent_id"], message)

    @callback
    def describe_tool_result(event: Event[ToolResultEventData]) -> dict[str, Any]:
        language = _language(hass)
        data = event.data
        key = "tool_ok" if data["status"] == "ok" else "tool_error"
        message = MESSAGES[language][key].format(tool=data["tool"], result=data["result"])
        entry = _entry(hass, data["agent_id"] or "", message)
        if data["agent_id"] is None:
            entry.pop(LOGBOOK_ENTRY_ENTITY_ID)
            entry[LOGBOOK_ENTRY_NAME] = "Alice Voice"
        return entry

    async_describe_event(DOMAIN, EVENT_INTENT, describe_intent)
    async_describe_event(DOMAIN, EVENT_RESPONSE, describe_response)
    async_describe_event(DOMAIN, EVENT_TOOL_RESULT, describe_tool_result)
