"""The turn engine: every path × mode × fault, fallbacks, local_only, sessions, budgets.

Home Assistant is real; Ollama and OpenAI Realtime are the protocol-faithful
simulators driven by the real ``ollama`` and ``openai`` clients. Each row of
the table asserts who answered, the exact words (in the agent's language),
and what each server received.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.alice_voice.const import (
    CONF_CONFIDENCE_THRESHOLD,
    CONF_FAST_BUDGET,
    CONF_LANGUAGE,
    CONF_MODE,
    CONF_OPENAI_API_KEY,
    CONF_OPENAI_BASE_URL,
    FAILURES_BEFORE_DOWN,
)
from custom_components.alice_voice.events import EVENT_INTENT, EVENT_RESPONSE
from simulators.ollama import OllamaTestServer, ScriptedReply
from simulators.realtime import FunctionCall, RealtimeTestServer, Reply
from simulators.sentinel import SentinelServer

from .common import (
    OPENAI_KEY,
    async_setup,
    async_wait_probe,
    converse,
    openai_connection,
    set_agent,
    source,
    speech,
    state_of,
)

GREETING = "hej"
QUESTION = "vad är huvudstaden i frankrike"
DEVICE = "tänd lampan i köket"
THINK = "vad har jag i kalendern imorgon"
HYBRID_EN = "what's the weather like for my meeting tomorrow"

#: The path the router takes for each utterance.
PATHS = {GREETING: "fast", QUESTION: "fast", DEVICE: "fast", THINK: "think", HYBRID_EN: "hybrid"}

CANNED = "Hej! Vad kan jag hjälpa dig med?"  # Alice's own greeting
ECHO = "Du sa: {text}"  # what the simulated Ollama answers by default
HEARD = "Hej! Jag hörde: {text}"  # what the simulated Realtime answers by default
NO_OLLAMA = "Jag når inte den lokala modellen"
SUNNY = "Your meeting is at ten; it will be sunny."
TURN_ON_KITCHEN = FunctionCall("intent__HassTurnOn", {"area": "Kök", "domain": ["light"]})


@pytest.fixture
def entry_overrides(realtime_server: RealtimeTestServer) -> dict[str, Any]:
    """Every entry here has an OpenAI key, pointed at the test server."""
    return openai_connection(realtime_server)


@dataclass(frozen=True, slots=True)
class Fault:
    """What the servers do in a row."""

    reply: Reply | None = None  # the cloud's scripted answer
    realtime: dict[str, Any] = field(default_factory=dict)  # RealtimeTestServer.set_faults
    ollama: ScriptedReply | None = None
    ollama_down: bool = False


FAULTS = {
    "-": Fault(),
    "cloud says hi": Fault(reply=Reply(text="Hej hej! Vad vill du göra?")),
    "cloud error": Fault(realtime={"response_error_code": "server_error"}),
    "cloud too slow": Fault(reply=Reply(text="För sent", first_delta_delay=2.0)),
    "cloud drops": Fault(realtime={"drop_mid_response": "close_1011"}),
    "cloud key rejected": Fault(realtime={"handshake_status": 401}),
    "cloud turns on light": Fault(reply=Reply(function_calls=[TURN_ON_KITCHEN])),
    "cloud answers": Fault(reply=Reply(text=SUNNY)),
    "cloud escalates": Fault(
        reply=Reply(function_calls=[FunctionCall("escalate_to_local", {"reason": "calendar"})])
    ),
    "ollama down": Fault(ollama_down=True),
    "ollama 500": Fault(ollama=ScriptedReply(status=500)),
    "ollama silent": Fault(ollama=ScriptedReply(content="")),
    "both down": Fault(ollama_down=True, realtime={"response_error_code": "server_error"}),
}

# fmt: off
#  id,                              text,      mode,         fault,                  source,             answer,                       cloud heard, ollama chats
ROWS = [
    ("fast-hybrid",                  GREETING,  "hybrid",     "cloud says hi",        "openai_realtime",  "Hej hej! Vad vill du göra?", True,  0),
    ("fast-hybrid-cloud-error",      GREETING,  "hybrid",     "cloud error",          "local_fallback",   CANNED,                       True,  0),
    ("fast-hybrid-cloud-too-slow",   GREETING,  "hybrid",     "cloud too slow",       "local_fallback",   CANNED,                       True,  0),
    ("fast-hybrid-cloud-drops",      GREETING,  "hybrid",     "cloud drops",          "local_fallback",   CANNED,                       True,  0),
    ("fast-hybrid-key-rejected",     GREETING,  "hybrid",     "cloud key rejected",   "local_fallback",   CANNED,                       False, 0),
    ("question-hybrid-cloud-error",  QUESTION,  "hybrid",     "cloud error",          "local_fallback",   ECHO,                         True,  1),
    ("fast-local-only",              GREETING,  "local_only", "-",                    "local_fallback",   CANNED,                       False, 0),
    ("question-local-only",          QUESTION,  "local_only", "-",                    "local_ai",         ECHO,                         False, 1),
    ("fast-cloud-only",              GREETING,  "cloud_only", "-",                    "openai_realtime",  HEARD,                        True,  0),
    ("fast-cloud-only-cloud-error",  GREETING,  "cloud_only", "cloud error",          "local_fallback",   CANNED,                       True,  0),
    ("device-hybrid",                DEVICE,    "hybrid",     "-",                    "ha_local_intents", "Tände lamporna",             False, 0),
    ("device-local-only",            DEVICE,    "local_only", "-",                    "ha_local_intents", "Tände lamporna",             False, 0),
    ("device-cloud-only",            DEVICE,    "cloud_only", "cloud turns on light", "openai_realtime",  "Nu är det tänt i köket.",    True,  0),
    ("think-hybrid",                 THINK,     "hybrid",     "-",                    "local_ai",         ECHO,                         False, 1),
    ("think-hybrid-ollama-down",     THINK,     "hybrid",     "ollama down",          "openai_fallback",  HEARD,                        True,  0),
    ("think-hybrid-ollama-500",      THINK,     "hybrid",     "ollama 500",           "openai_fallback",  HEARD,                        True,  1),
    ("think-hybrid-ollama-silent",   THINK,     "hybrid",     "ollama silent",        "openai_fallback",  HEARD,                        True,  1),
    ("think-hybrid-both-down",       THINK,     "hybrid",     "both down",            "local_ai",         NO_OLLAMA,                    True,  0),
    ("think-local-only-ollama-down", THINK,     "local_only", "ollama down",          "local_ai",         NO_OLLAMA,                    False, 0),
    ("think-cloud-only",             THINK,     "cloud_only", "-",                    "openai_realtime",  HEARD,                        True,  0),
    ("hybrid-answered-fast",         HYBRID_EN, "hybrid",     "cloud answers",        "openai_realtime",  SUNNY,                        True,  0),
    ("hybrid-escalates",             HYBRID_EN, "hybrid",     "cloud escalates",      "local_ai",         ECHO,                         True,  1),
    ("hybrid-local-only",            HYBRID_EN, "local_only", "-",                    "local_ai",         ECHO,                         False, 1),
]
# fmt: on


@pytest.mark.parametrize(
    ("text", "mode", "fault", "expected_source", "answer", "cloud_heard", "ollama_chats"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
async def test_path_mode_fault(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
    text: str,
    mode: str,
    fault: str,
    expected_source: str,
    answer: str,
    cloud_heard: bool,
    ollama_chats: int,
) -> None:
    """One row of the table: who answers, with which words, and what each server heard."""
    language = "en" if text == HYBRID_EN else "sv"
    set_agent(hass, mock_config_entry, **{CONF_MODE: mode, CONF_LANGUAGE: language})
    await async_setup(hass, mock_config_entry)
    scripted = FAULTS[fault]
    if scripted.reply is not None:
        realtime_server.add_rule(scripted.reply)
    if scripted.realtime:
        realtime_server.set_faults(**scripted.realtime)
    if scripted.ollama is not None:
        ollama_server.reply_always(scripted.ollama)
    if scripted.ollama_down:
        await ollama_server.stop()
    realtime_server.add_rule(Reply(text="Nu är det tänt i köket."), after_tool_output=True)
    responses = async_capture_events(hass, EVENT_RESPONSE)
    intents = async_capture_events(hass, EVENT_INTENT)

    result = await converse(hass, text)

    succeeded = answer != NO_OLLAMA
    assert intents[0].data["path"] == PATHS[text]
    assert source(result) == expected_source
    assert responses[0].data["source"] == expected_source
    assert responses[0].data["success"] is succeeded
    expected = answer.format(text=text)
    assert speech(result).startswith(expected) if succeeded else expected in speech(result)
    assert realtime_server.received_text(text) is cloud_heard
    if mode == "local_only":
        assert realtime_server.handshake_count == 0
    if not scripted.ollama_down:
        assert len(ollama_server.chat_requests) == ollama_chats
    if cloud_heard:
        instructions = " ".join(
            e["session"].get("instructions", "")
            for e in realtime_server.client_events("session.update")
        )
        assert ("Svara på svenska" if language == "sv" else "Answer in English") in instructions
    if text == DEVICE:
        assert state_of(hass, demo_home["kitchen_light"]) == "on"


# --- local_only: never a connection to the cloud ----------------------------------------


@pytest.fixture
async def sentinel(socket_enabled: None) -> AsyncIterator[SentinelServer]:
    """A cloud endpoint that must never be contacted; fails the test if it is."""
    server = SentinelServer()
    await server.start()
    yield server
    await server.stop()
    assert server.connections == [], f"local_only connected to the cloud: {server.connections}"


async def test_local_only_never_connects_to_the_cloud(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    sentinel: SentinelServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Fast, device, think and hybrid turns, failures and probes all stay local."""
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={
            **mock_config_entry.data,
            CONF_OPENAI_API_KEY: OPENAI_KEY,
            CONF_OPENAI_BASE_URL: sentinel.url,
        },
    )
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)

    answers = [
        await converse(hass, text) for text in (GREETING, "vad är klockan", DEVICE, THINK, QUESTION)
    ]
    assert [source(r) for r in answers] == [
        "local_fallback",
        "ha_local_intents",
        "ha_local_intents",
        "local_ai",
        "local_ai",
    ]
    assert speech(answers[1]).replace(".", ":").count(":") >= 1  # HA says the time
    await ollama_server.stop()
    failed = await converse(hass, THINK)
    assert source(failed) == "local_ai"
    assert NO_OLLAMA in speech(failed)
    for _ in range(FAILURES_BEFORE_DOWN + 1):
        await converse(hass, THINK)
    await async_wait_probe(hass)  # the probes of a down backend stay local too


# --- one turn, several paths ---------------------------------------------------------------


async def test_sessions_are_reused_and_history_is_shared(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Two cloud turns share one WebSocket; a think turn in between is known to the cloud."""
    await async_setup(hass, mock_config_entry)
    first = await converse(hass, GREETING)
    conversation_id = first.conversation_id
    await converse(hass, THINK, conversation_id)
    third = await converse(hass, "tack så mycket", conversation_id)

    assert source(first) == "openai_realtime"
    assert source(third) == "openai_realtime"
    assert realtime_server.handshake_count == 1
    # The think turn's question and answer reached the cloud as history.
    assert realtime_server.received_text(THINK)
    assert realtime_server.received_text(f"Du sa: {THINK}")
    # ...and the cloud turns reached the local model as history.
    last = ollama_server.chat_requests[-1]
    assert [m["content"] for m in last.messages if m["role"] == "user"][-2:] == [GREETING, THINK]


async def test_fast_budget_is_configurable(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A generous fast budget waits for a slow cloud answer instead of falling back."""
    set_agent(hass, mock_config_entry, **{CONF_FAST_BUDGET: 5000})
    await async_setup(hass, mock_config_entry)
    realtime_server.add_rule(Reply(text="Hej där!", first_delta_delay=0.5))
    result = await converse(hass, GREETING)
    assert source(result) == "openai_realtime"
    assert speech(result) == "Hej där!"
    assert result.response.response_type != intent.IntentResponseType.ERROR


async def test_unsure_device_command_tries_ha_intents_first(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A device command HA recognises is carried out before routing, however unsure the router."""
    set_agent(hass, mock_config_entry, **{CONF_CONFIDENCE_THRESHOLD: 0.999999})
    await async_setup(hass, mock_config_entry)
    events = async_capture_events(hass, EVENT_INTENT)
    result = await converse(hass, DEVICE)
    assert events[0].data["intent"] == "DEVICE_CONTROL"
    assert events[0].data["path"] == "fast"
    assert events[0].data["reason"] == "ha_intent_match"
    assert events[0].data["slots"]["action"] == "turn_on"
    assert events[0].data["route_ms"] == 0.0  # the router never ran
    assert source(result) == "ha_local_intents"
    assert state_of(hass, demo_home["kitchen_light"]) == "on"
    assert ollama_server.chat_requests == []
    assert realtime_server.connections == []
