"""Alice's bus events, and how the logbook describes them."""

import asyncio
from collections.abc import Callable
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, Event, HomeAssistant, callback
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.alice_voice.const import CONF_EVENT_TRANSCRIPTS, CONF_OLLAMA_API_KEY
from custom_components.alice_voice.events import EVENT_INTENT, EVENT_RESPONSE, EVENT_TOOL_RESULT
from custom_components.alice_voice.logbook import async_describe_events
from simulators.ollama import OllamaTestServer, ScriptedReply

from .common import async_setup, converse, set_agent

THINK = "vad har jag i kalendern imorgon"


@pytest.mark.parametrize("entry_overrides", [{CONF_OLLAMA_API_KEY: "ollama-secret-key"}])
async def test_events_without_and_with_transcripts(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Each turn fires an intent and a response event; the words only when allowed."""
    ollama_server.api_key = "ollama-secret-key"
    await async_setup(hass, mock_config_entry)
    intents = async_capture_events(hass, EVENT_INTENT)
    responses = async_capture_events(hass, EVENT_RESPONSE)

    await converse(hass, THINK)

    (routed,) = intents
    (answered,) = responses
    # The first turn of a conversation: both events name the conversation it opened.
    assert routed.data["conversation_id"] is not None
    assert routed.data["conversation_id"] == answered.data["conversation_id"]
    assert routed.data["intent"] == "CALENDAR_QUERY"
    assert routed.data["path"] == "think"
    assert routed.data["reason"] == "complex_intent"
    assert routed.data["language"] == "sv"
    assert routed.data["agent_id"] == "conversation.alice"
    assert routed.data["slots"]["date"]
    assert routed.data["route_ms"] >= 0
    assert "text" not in routed.data
    assert answered.data["source"] == "local_ai"
    assert answered.data["success"] is True
    assert answered.data["error"] is None
    assert answered.data["fallback_from"] is None
    assert answered.data["latency_ms"]["total"] > 0
    assert answered.data["latency_ms"]["first_text"] is not None
    assert "text" not in answered.data
    assert "ollama-secret-key" not in str(answered.data) + str(routed.data)

    set_agent(hass, mock_config_entry, **{CONF_EVENT_TRANSCRIPTS: True})
    await hass.async_block_till_done()  # the entry reloads
    await converse(hass, THINK)
    assert intents[-1].data["text"] == THINK
    assert responses[-1].data["text"] == THINK
    assert responses[-1].data["response"] == f"Du sa: {THINK}"


async def test_events_follow_the_answer(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A turn's answer is returned first; its events follow in the next loop iteration.

    A routed turn fires its intent event as soon as it is routed (the HUD shows it
    while the model thinks). A device command Home Assistant's intents carried out
    before routing fires both after the answer, the intent first. Their latencies
    are the turn's, not the later moment they were fired at.
    """
    await async_setup(hass, mock_config_entry)
    fired: list[tuple[str, dict[str, Any]]] = []

    @callback  # run in the loop, as it fires: not in the executor
    def record(event: Event[Any]) -> None:
        fired.append((str(event.event_type), dict(event.data)))

    hass.bus.async_listen(EVENT_INTENT, record)
    hass.bus.async_listen(EVENT_RESPONSE, record)

    async def turn(text: str) -> conversation.ConversationResult:
        return await conversation.async_converse(
            hass, text, None, Context(), language="sv", agent_id="conversation.alice"
        )

    await turn("tänd lampan i köket")
    assert hass.states.get(demo_home["kitchen_light"]).state == "on"  # type: ignore[union-attr]
    assert fired == []  # the answer is out; nothing has been fired yet
    await asyncio.sleep(0)
    assert [event_type for event_type, _ in fired] == [EVENT_INTENT, EVENT_RESPONSE]
    assert fired[0][1]["reason"] == "ha_intent_match"
    assert fired[1][1]["source"] == "ha_local_intents"

    fired.clear()
    await turn(THINK)
    assert [event_type for event_type, _ in fired] == [EVENT_INTENT]  # fired when routed
    await asyncio.sleep(0)
    assert [event_type for event_type, _ in fired] == [EVENT_INTENT, EVENT_RESPONSE]
    answered = fired[1][1]["latency_ms"]
    # The total is taken when the answer is returned, so it cannot be less than the
    # first text; and the scripted model's answer took some time to stream.
    assert answered["total"] >= answered["first_text"] > 0


async def test_failed_turn_event(
    hass: HomeAssistant, ollama_server: OllamaTestServer, init_integration: MockConfigEntry
) -> None:
    """A failed turn says so, with the message's key and no text."""
    responses = async_capture_events(hass, EVENT_RESPONSE)
    await converse(hass, "   ")
    (failed,) = responses
    assert failed.data["success"] is False
    assert failed.data["error"] == "empty_input"
    assert failed.data["latency_ms"]["route"] is None


type Describer = Callable[[Event[Any]], dict[str, Any]]


def _describers(hass: HomeAssistant) -> dict[str, Describer]:
    found: dict[str, Describer] = {}

    def describe(domain: str, event_type: Any, describer: Describer) -> None:
        assert domain == "alice_voice"
        found[str(event_type)] = describer

    async_describe_events(hass, describe)
    return found


@pytest.mark.parametrize(
    ("language", "heard", "answered"),
    [
        pytest.param(
            "sv",
            "hörde en kalenderfråga och tänker lokalt",
            "svarade genom den lokala modellen på",
            id="sv",
        ),
        pytest.param(
            "en",
            "heard a calendar question and thinks locally",
            "answered through the local model in",
            id="en",
        ),
    ],
)
async def test_logbook_describes_turns_in_the_homes_language(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    language: str,
    heard: str,
    answered: str,
) -> None:
    """The logbook tells what Alice heard and how she answered, under the agent."""
    hass.config.language = language
    intents = async_capture_events(hass, EVENT_INTENT)
    responses = async_capture_events(hass, EVENT_RESPONSE)
    await converse(hass, THINK)
    await converse(hass, "")
    describers = _describers(hass)

    routed = describers["alice_voice_intent"](intents[0])
    assert routed == {"name": "Alice", "message": heard, "entity_id": "conversation.alice"}
    done = describers["alice_voice_response"](responses[0])
    assert done["message"].startswith(answered)
    assert done["message"].endswith(" ms")
    failed = describers["alice_voice_response"](responses[1])
    assert "empty_input" in failed["message"]


async def test_logbook_describes_tool_results(
    hass: HomeAssistant, ollama_server: OllamaTestServer, init_integration: MockConfigEntry
) -> None:
    """A tool call in Alice's turn is described under the agent, with what it did."""
    hass.config.language = "sv"
    tools = async_capture_events(hass, EVENT_TOOL_RESULT)
    ollama_server.add_rule(ScriptedReply(content="Klockan är tio."), after_tool=True)
    ollama_server.add_rule(
        ScriptedReply(tool_calls=[{"name": "llm__GetDateTime", "arguments": {}}])
    )
    await converse(hass, THINK)
    described = _describers(hass)["alice_voice_tool_result"](tools[0])
    assert described["entity_id"] == "conversation.alice"
    assert described["message"].startswith("använde llm__GetDateTime: ")
