"""The fault matrix: every backend fault in every mode it applies to.

Each row injects one fault (Ollama, OpenAI Realtime, the Wyoming satellite or
Home Assistant's side), runs one turn, and checks, in this order: the user gets
a clear answer in the agent's language (Swedish), the turn's source and error
are in ``alice_voice_response``, the health sensors go off when they should and
come back by themselves once the fault is cleared, nothing leaks (Alice's tasks,
the process's file descriptors), and the next turn is a normal one.

Timeouts are made small through the agent's options (``think_timeout``) and,
for the Realtime handshake, the connect timeout, so the table stays fast.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
import json
import os
from pathlib import Path
from typing import Any, Final

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.alice_voice import coordinator as alice_coordinator
from custom_components.alice_voice.const import (
    CONF_FAST_BUDGET,
    CONF_MAX_TOKENS,
    CONF_MODE,
    CONF_THINK_TIMEOUT,
    DOMAIN,
)
from custom_components.alice_voice.events import EVENT_RESPONSE, EVENT_TOOL_RESULT
from custom_components.alice_voice.phrases import PHRASES
from simulators.ollama import ChatRequest, OllamaTestServer, ScriptedReply
from simulators.realtime import FunctionCall, RealtimeTestServer, Reply, ResponseRequest
from simulators.satellite import SatelliteTestServer
from simulators.speech import SpeechTestServer

from .common import (
    OPENAI_KEY,
    async_setup,
    async_wait_probe,
    converse,
    openai_connection,
    set_agent,
    source,
    speech,
)
from .test_restart import alice_tasks
from .test_voice import pcm, setup_voice

GREETING: Final = "hej"  # the fast path: the cloud first, Alice's own greeting as fallback
THINK: Final = "vad har jag i kalendern imorgon"  # the think path: Ollama first
THINK_TIMEOUT: Final = 0.5  # seconds without a chunk from Ollama (the agent's option)
CONNECT_TIMEOUT: Final = 1.0  # seconds for the Realtime handshake (patched for the table)
# ms to the cloud's first words: no fault here is a slow answer, so the budget is wide. The
# recovery turns open a fresh connection, and a loaded CI machine may pause longer than
# the default 300 ms (a full-suite run once timed one out and left the cloud "down").
FAST_BUDGET: Final = 3000
HANG_GUARD: Final = 5.0  # a turn still running after this long is stuck (normal ones take < 1 s)
FIND: Final = "alice_voice__calendar_find_events"
CALENDAR_SORRY: Final = "Kalendern går inte att nå just nu."
CALENDAR_EMPTY: Final = "Du har inget i kalendern imorgon."

_TRANSLATIONS = Path(__file__).parents[1] / "custom_components" / DOMAIN / "translations"


def _messages(language: str) -> dict[str, str]:
    data = json.loads((_TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    return {key: value["message"] for key, value in data["exceptions"].items()}


SV_MESSAGES: Final = _messages("sv")
EN_MESSAGES: Final = _messages("en")


def _prefix(template: str) -> str:
    """A message up to its first placeholder: what every rendering of it starts with."""
    return template.split("{", 1)[0]


echo: Final = "Du sa: {}".format  # what the simulated Ollama answers
heard: Final = "Hej! Jag hörde: {}".format  # what the simulated Realtime answers
CANNED: Final = PHRASES["sv"]["greeting"]


def assert_swedish(answer: str, expected: str, error: str | None) -> None:
    """A clear answer in Swedish: the expected words or error message, never English."""
    assert answer.strip(), "the user got no answer"
    if error is not None:
        assert _prefix(SV_MESSAGES[error]) in answer, answer
    assert answer.startswith(expected), answer
    english = [m for m in EN_MESSAGES.values() if len(_prefix(m)) > 8 and _prefix(m) in answer]
    assert not english, f"English in a Swedish answer: {answer}"
    assert not any(v in answer for v in PHRASES["en"].values()), answer


# --- the servers, the entry and what a row can do to them --------------------------------


@dataclass(slots=True)
class Rig:
    """What a fault can act on."""

    hass: HomeAssistant
    ollama: OllamaTestServer
    realtime: RealtimeTestServer
    calendar: str | None = None
    saved: dict[str, Any] = field(default_factory=dict)


type Action = Callable[[Rig], Awaitable[None] | None]


async def _ollama_stop(rig: Rig) -> None:
    rig.saved["port"] = rig.ollama.port
    await rig.ollama.stop()


def _model_removed(rig: Rig) -> None:
    rig.saved["models"] = dict(rig.ollama.models)
    del rig.ollama.models["gpt-oss:20b"]


def _model_unloaded(rig: Rig) -> None:
    rig.ollama.unload()
    rig.ollama.cost.load_time = THINK_TIMEOUT / 3  # a cold load, within the timeout


def _realtime(new_connection: bool = False, server: Any = None, **faults: Any) -> Action:
    """Realtime faults (``server``: its settings); ``new_connection`` drops the warm session."""

    async def inject(rig: Rig) -> None:
        rig.realtime.set_faults(**faults)
        for name, value in (server or {}).items():
            setattr(rig.realtime, name, value)
        if new_connection:
            await _drop_warm_sessions(rig)

    return inject


async def _drop_warm_sessions(rig: Rig, *, expire: bool = False) -> None:
    await (rig.realtime.expire_sessions() if expire else rig.realtime.drop_connections())
    await rig.realtime.wait_for(lambda: not rig.realtime.open_connections)
    await rig.hass.async_block_till_done()


async def run(action: Action, rig: Rig) -> None:
    """Run a fault's action, plain or async."""
    if isinstance(done := action(rig), Awaitable):
        await done


def _both(*actions: Action) -> Action:
    async def both(rig: Rig) -> None:
        for action in actions:
            await run(action, rig)

    return both


# The calendar goes away after the model was offered its tools, before the tool runs.
def _script_calendar_turns(rig: Rig) -> None:
    """Both models look in the calendar, and say whether that worked."""
    calendar = rig.calendar
    assert calendar is not None

    def look() -> None:
        if rig.saved.get("calendar") is not None:
            rig.hass.states.async_set(calendar, STATE_UNAVAILABLE, rig.saved["calendar"][1])

    def model(request: ChatRequest) -> ScriptedReply:
        if request.after_tool_result:
            failed = any(r.get("error") for r in request.tool_results)
            return ScriptedReply(content=CALENDAR_SORRY if failed else CALENDAR_EMPTY)
        look()
        return ScriptedReply(tool_calls=[{"name": FIND, "arguments": {"start": "imorgon"}}])

    def cloud(request: ResponseRequest) -> Reply:
        if request.after_tool_output:
            failed = any('"error"' in str(o.get("output")) for o in request.tool_outputs)
            return Reply(text=CALENDAR_SORRY if failed else CALENDAR_EMPTY)
        look()
        return Reply(function_calls=[FunctionCall(FIND, {"start": "imorgon"})])

    rig.ollama.reply_always(model)
    rig.realtime.add_rule(cloud, user_text="kalendern", after_tool_output=None)


def _calendar_goes_away(rig: Rig) -> None:
    assert rig.calendar is not None
    state = rig.hass.states.get(rig.calendar)
    assert state is not None
    rig.saved["calendar"] = (state.state, dict(state.attributes))


def _calendar_back(rig: Rig) -> None:
    assert rig.calendar is not None
    state, attributes = rig.saved.pop("calendar")
    rig.hass.states.async_set(rig.calendar, state, attributes)


BROKEN_TOOL_CALL: Final = (
    '{"model":"gpt-oss:20b","message":{"role":"assistant","content":"",'
    f'"tool_calls":[{{"function":{{"name":"{FIND}","arguments":{{"start":"imor'
)


async def _clear(rig: Rig) -> None:
    """Every server is itself again: Ollama echoes (on its port), Realtime is healthy."""
    rig.ollama.reply_always(rig.ollama._echo)
    rig.ollama.models = rig.saved.get("models", rig.ollama.models)
    rig.ollama.cost.load_time = 0.0
    if "port" in rig.saved:
        rig.ollama._port = rig.saved["port"]  # the same port: the entry keeps its URL
        await rig.ollama.start()
    rig.realtime.clear_faults()
    rig.realtime.api_keys = {OPENAI_KEY}
    rig.realtime.bad_key_mode = "http"
    rig.realtime.handshake_delay = 0.0


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: the utterance that meets it, how to inject it and how to clear it."""

    text: str
    inject: Action
    clear: Action = _clear
    options: dict[str, Any] = field(default_factory=dict)  # extra agent options
    calendar: bool = False  # needs an exposed calendar


def _ollama(**reply: Any) -> Action:
    return lambda rig: rig.ollama.reply_always(ScriptedReply(**reply))


FAULTS: Final = {
    # Ollama
    "ollama-refused": Fault(THINK, _ollama_stop),
    "ollama-slow": Fault(THINK, _ollama(content="Sent", first_token_delay=THINK_TIMEOUT * 4)),
    "ollama-404": Fault(THINK, _model_removed),
    "ollama-500": Fault(THINK, _ollama(status=500)),
    "ollama-error-mid-stream": Fault(THINK, _ollama(content="Du har ett möte", error_after=1)),
    "ollama-truncated": Fault(THINK, _ollama(content="Du har ett möte kl tio", truncate_after=2)),
    "ollama-broken-tool-call": Fault(
        THINK, _ollama(content="Jag kollar", raw_line_after=(0, BROKEN_TOOL_CALL))
    ),
    # A stream that never ends: a token every 50 ms for far longer than any test, no cap.
    "ollama-endless": Fault(
        THINK, _ollama(content=["bla "] * 20_000, chunk_delay=0.05), options={CONF_MAX_TOKENS: 0}
    ),
    "ollama-unloaded": Fault(THINK, _model_unloaded),
    "ollama-500-and-cloud-error": Fault(
        THINK, _both(_ollama(status=500), _realtime(response_error_code="server_error"))
    ),
    # OpenAI Realtime
    "realtime-401": Fault(GREETING, _realtime(True, handshake_status=401)),
    "realtime-invalid-key-event": Fault(
        GREETING, _realtime(True, {"bad_key_mode": "event", "api_keys": {"sk-other"}})
    ),
    "realtime-429": Fault(GREETING, _realtime(True, handshake_status=429)),
    "realtime-rate-limited": Fault(GREETING, _realtime(response_error_code="rate_limit_exceeded")),
    "realtime-drop": Fault(GREETING, _realtime(drop_mid_response="close_1011")),
    "realtime-1009": Fault(GREETING, _realtime(oversized_frame=True)),
    "realtime-session-expired": Fault(GREETING, partial(_drop_warm_sessions, expire=True)),
    "realtime-handshake-hangs": Fault(
        GREETING, _realtime(True, {"handshake_delay": CONNECT_TIMEOUT * 10})
    ),
    # Home Assistant
    "calendar-unavailable": Fault(THINK, _calendar_goes_away, _calendar_back, calendar=True),
}

OLLAMA: Final = "local_model_ready"
OPENAI: Final = "cloud_connected"
# fmt: off
#  fault,                        mode,         source,            error,                answer,          health sensor off: why
ROWS: Final[list[tuple[str, str, str, str | None, str, str | None]]] = [
    ("ollama-refused",              "hybrid",     "openai_fallback", None,                 heard(THINK),    "ollama_unreachable"),
    ("ollama-refused",              "local_only", "local_ai",        "ollama_unreachable", "",              "ollama_unreachable"),
    ("ollama-slow",                 "hybrid",     "openai_fallback", None,                 heard(THINK),    "ollama_timeout"),
    ("ollama-slow",                 "local_only", "local_ai",        "ollama_timeout",     "",              "ollama_timeout"),
    ("ollama-404",                  "hybrid",     "openai_fallback", None,                 heard(THINK),    "model_not_found"),
    ("ollama-404",                  "local_only", "local_ai",        "model_not_found",    "",              "model_not_found"),
    ("ollama-500",                  "hybrid",     "openai_fallback", None,                 heard(THINK),    "ollama_error"),
    ("ollama-500",                  "local_only", "local_ai",        "ollama_error",       "",              "ollama_error"),
    ("ollama-error-mid-stream",     "hybrid",     "openai_fallback", None,                 heard(THINK),    "ollama_error"),
    ("ollama-error-mid-stream",     "local_only", "local_ai",        "ollama_error",       "",              "ollama_error"),
    ("ollama-truncated",            "hybrid",     "openai_fallback", None,                 heard(THINK),    None),
    ("ollama-truncated",            "local_only", "local_ai",        "ollama_bad_stream",  "",              None),
    ("ollama-broken-tool-call",     "hybrid",     "openai_fallback", None,                 heard(THINK),    None),
    ("ollama-broken-tool-call",     "local_only", "local_ai",        "ollama_bad_stream",  "",              None),
    ("ollama-endless",              "hybrid",     "openai_fallback", None,                 heard(THINK),    "ollama_timeout"),
    ("ollama-endless",              "local_only", "local_ai",        "ollama_timeout",     "",              "ollama_timeout"),
    ("ollama-unloaded",             "hybrid",     "local_ai",        None,                 echo(THINK),     None),
    ("ollama-unloaded",             "local_only", "local_ai",        None,                 echo(THINK),     None),
    ("ollama-500-and-cloud-error",  "cloud_only", "local_fallback",  "ollama_error",       "",              "openai_unreachable"),
    ("realtime-401",                "hybrid",     "local_fallback",  None,                 CANNED,          "openai_invalid_auth"),
    ("realtime-401",                "cloud_only", "local_fallback",  None,                 CANNED,          "openai_invalid_auth"),
    ("realtime-invalid-key-event",  "hybrid",     "local_fallback",  None,                 CANNED,          "openai_invalid_auth"),
    ("realtime-invalid-key-event",  "cloud_only", "local_fallback",  None,                 CANNED,          "openai_invalid_auth"),
    ("realtime-429",                "hybrid",     "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-429",                "cloud_only", "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-rate-limited",       "hybrid",     "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-rate-limited",       "cloud_only", "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-drop",               "hybrid",     "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-drop",               "cloud_only", "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-1009",               "hybrid",     "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-1009",               "cloud_only", "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-session-expired",    "hybrid",     "openai_realtime", None,                 heard(GREETING), None),
    ("realtime-session-expired",    "cloud_only", "openai_realtime", None,                 heard(GREETING), None),
    ("realtime-handshake-hangs",    "hybrid",     "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("realtime-handshake-hangs",    "cloud_only", "local_fallback",  None,                 CANNED,          "openai_unreachable"),
    ("calendar-unavailable",        "hybrid",     "local_ai",        None,                 CALENDAR_SORRY,  None),
    ("calendar-unavailable",        "local_only", "local_ai",        None,                 CALENDAR_SORRY,  None),
    ("calendar-unavailable",        "cloud_only", "openai_realtime", None,                 CALENDAR_SORRY,  None),
]
# fmt: on


def _param(row: tuple[str, str, str, str | None, str, str | None]) -> Any:
    fault, mode = row[0], row[1]
    return pytest.param(*row, id=f"{fault}-{mode}")


def normal_answer(text: str, mode: str) -> tuple[str, str]:
    """The source and answer of a turn without a fault."""
    if text == GREETING:
        return (
            ("local_fallback", CANNED) if mode == "local_only" else ("openai_realtime", heard(text))
        )
    return ("openai_realtime", heard(text)) if mode == "cloud_only" else ("local_ai", echo(text))


def entity(hass: HomeAssistant, key: str, domain: str = "sensor") -> str:
    """The entity id of one of the agent's sensors, by its key."""
    return next(
        e.entity_id
        for e in er.async_get(hass).entities.values()
        if e.platform == DOMAIN and e.domain == domain and e.unique_id.endswith(f"_{key}")
    )


def sensor(hass: HomeAssistant, key: str, domain: str = "sensor") -> str:
    """The state of one of the agent's sensors, by its key."""
    state = hass.states.get(entity(hass, key, domain))
    assert state is not None
    return state.state


def used_sensors(mode: str) -> list[str]:
    """The health sensors of the backends an agent in ``mode`` uses."""
    return {"hybrid": [OLLAMA, OPENAI], "local_only": [OLLAMA], "cloud_only": [OPENAI]}[mode]


def open_fds() -> int:
    """File descriptors of this process: sockets of Alice, the simulators and HA's clients."""
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def entry_overrides(realtime_server: RealtimeTestServer) -> dict[str, Any]:
    """Every entry here has an OpenAI key, pointed at the test server."""
    return openai_connection(realtime_server)


async def add_calendar(hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An exposed local calendar, Arbete (its .ics in the test's folder)."""
    monkeypatch.setattr(
        "homeassistant.components.local_calendar.STORAGE_PATH",
        str(tmp_path / "local_calendar.{key}.ics"),
    )
    entry = MockConfigEntry(
        domain="local_calendar", data={"calendar_name": "Arbete", "storage_key": "arbete"}
    )
    entry.add_to_hass(hass)
    await async_setup(hass, entry)
    async_expose_entity(hass, conversation.DOMAIN, "calendar.arbete", True)
    return "calendar.arbete"


@pytest.mark.parametrize(
    ("fault_id", "mode", "expected_source", "error", "answer", "down"),
    [_param(row) for row in ROWS],
)
async def test_fault(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
    fault_id: str,
    mode: str,
    expected_source: str,
    error: str | None,
    answer: str,
    down: str | None,
) -> None:
    """One fault in one mode: answer, event, health, no leak, and the next turn works."""
    # A Realtime handshake that hangs gives up quickly (Alice's 10 s, made short).
    monkeypatch.setattr(alice_coordinator, "CONNECT_TIMEOUT", CONNECT_TIMEOUT)
    fault = FAULTS[fault_id]
    rig = Rig(hass, ollama_server, realtime_server)
    if fault.calendar:
        rig.calendar = await add_calendar(hass, tmp_path, monkeypatch)
        _script_calendar_turns(rig)
    options = {
        CONF_MODE: mode,
        CONF_THINK_TIMEOUT: THINK_TIMEOUT,
        CONF_FAST_BUDGET: FAST_BUDGET,
        **fault.options,
    }
    set_agent(hass, mock_config_entry, **options)
    await async_setup(hass, mock_config_entry)
    # Warm up in one conversation: the sessions and pools a normal turn keeps are open,
    # and the health sensors have seen each backend answer.
    cid = (await converse(hass, GREETING)).conversation_id
    await converse(hass, THINK, cid)
    # The health probe checks a failed cloud over OpenAI's REST API (models.list): open
    # that client's keep-alive connection too, as the first probe would. (A local-only
    # agent's entry has no OpenAI client at all.)
    openai = mock_config_entry.runtime_data.coordinator.openai
    assert (openai is None) == (mode == "local_only")
    if openai is not None:
        await openai.models.list()
    await hass.async_block_till_done(wait_background_tasks=True)
    for key in used_sensors(mode):
        assert sensor(hass, key, "binary_sensor") == "on", key
    tasks_before, fds_before = alice_tasks(set()), open_fds()
    responses = async_capture_events(hass, EVENT_RESPONSE)
    tool_results = async_capture_events(hass, EVENT_TOOL_RESULT)

    await run(fault.inject, rig)
    async with asyncio.timeout(HANG_GUARD):
        result = await converse(hass, fault.text, cid)

    # 1. A clear answer, in Swedish.
    expected = answer or _prefix(SV_MESSAGES[error or ""])
    assert_swedish(speech(result), expected, error)
    assert source(result) == expected_source
    # 2. The turn's source and error are in its event.
    assert [(e.data["source"], e.data["error"]) for e in responses] == [(expected_source, error)]
    if fault.calendar:
        assert [e.data["status"] for e in tool_results] == ["error"]
    # 3. Health: off while it failed; on by itself once the fault is gone. (The probe
    # alone does not do it: it runs only after FAILURES_BEFORE_DOWN failures in a row.)
    await hass.async_block_till_done()
    if down is not None:  # off, saying why
        off = hass.states.get(entity(hass, OPENAI if "openai" in down else OLLAMA, "binary_sensor"))
        assert off is not None
        assert (off.state, off.attributes["last_error"]) == ("off", down)
    await run(fault.clear, rig)
    await async_wait_probe(hass, periods=2)
    recovery = await converse(hass, fault.text, cid)
    await hass.async_block_till_done(wait_background_tasks=True)
    recovered = (source(recovery), responses[-1].data["error"])
    for key in used_sensors(mode):
        health = hass.states.get(entity(hass, key, "binary_sensor"))
        assert health is not None
        assert health.state == "on", (key, health.attributes, recovered)
    # 4. Nothing leaked: the same tasks, and no more descriptors than before the faulty
    # turn. No slack: the warm-up opened the keep-alive connections and the conversation's
    # Realtime session, which the recovery turn reuses or replaces one for one.
    assert sorted(alice_tasks(set())) == sorted(tasks_before)
    assert open_fds() <= fds_before
    # 5. The next turn is a normal one.
    normal_source, normal = normal_answer(fault.text, mode)
    if fault.calendar:
        normal_source, normal = expected_source, CALENDAR_EMPTY
    assert source(recovery) == normal_source
    assert speech(recovery).startswith(normal)
    assert responses[-1].data["error"] is None


# --- the Wyoming satellite --------------------------------------------------------------

UTTERANCE: Final = "sv_tand_lampan_i_koket.wav"
TRANSCRIPT: Final = "Tänd lampan i köket"
GARBAGE: Final = b"\x00\xff not a wyoming event {{{\n"


def _garbage_during_tts(satellite: SatelliteTestServer) -> None:
    """Answer the answer's text (once) with bytes that are not a Wyoming event."""
    handle = satellite.handle
    sent = False

    async def garbling(handler: Any, event: Any) -> bool:
        nonlocal sent
        if event.type == "synthesize" and not sent:
            sent = True
            handler.writer.write(GARBAGE)
            await handler.writer.drain()
        return await handle(handler, event)

    satellite.handle = garbling  # type: ignore[method-assign]


SATELLITE_FAULTS: Final[dict[str, Callable[[SatelliteTestServer], None]]] = {
    "satellite-no-played": lambda satellite: setattr(satellite, "send_played", False),
    "satellite-garbage": _garbage_during_tts,
}


def satellite_state(hass: HomeAssistant) -> str:
    """The state of the Wyoming satellite entity."""
    return hass.states.async_all("assist_satellite")[0].state


@pytest.mark.parametrize("mode", ["hybrid", "cloud_only"])
@pytest.mark.parametrize("fault_id", list(SATELLITE_FAULTS))
async def test_satellite_fault(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    speech_server: SpeechTestServer,
    fault_id: str,
    mode: str,
) -> None:
    """A satellite that never says played, or sends garbage: the turn ends, the next works."""
    # Home Assistant waits 3 s before it reconnects to a satellite that went away.
    monkeypatch.setattr("homeassistant.components.wyoming.assist_satellite._RESTART_SECONDS", 0)
    # ... and ends a turn without "played" 2 s after the audio's end: keep the answer short.
    speech_server.ms_per_char = 5.0
    await setup_voice(hass, satellite, ollama_server, openai_server, **{CONF_MODE: mode})
    openai_server.add_rule(Reply(text="Nu är det tänt i köket."), after_tool_output=True)
    openai_server.script_transcripts(TRANSCRIPT)
    warm = await satellite.speak(pcm(UTTERANCE))
    async with asyncio.timeout(HANG_GUARD):
        await warm.played.wait()
    await hass.async_block_till_done()
    tasks_before, fds_before = alice_tasks(set()), open_fds()
    responses = async_capture_events(hass, EVENT_RESPONSE)
    controller = satellite._controller

    SATELLITE_FAULTS[fault_id](satellite)
    openai_server.script_transcripts(TRANSCRIPT)
    turn = await satellite.speak(pcm(UTTERANCE))
    if fault_id == "satellite-garbage":
        await until(lambda: satellite._controller is not controller, "no reconnection")
    else:
        await until(lambda: "audio-stop" in turn.types, f"no answer: {turn.types}")
    # Not stuck: Alice's status is idle again; without "played" Home Assistant's satellite
    # gives up after the audio. (After a reconnection it stays "responding" until the next
    # run: core's TTS timeout belongs to the old run loop, not Alice's business.)
    await until(lambda: sensor(hass, "voice_status") == "idle", sensor(hass, "voice_status"))
    if fault_id == "satellite-no-played":
        await until(lambda: satellite_state(hass) == "idle", satellite_state(hass))

    # 1. The answer was Swedish, and the pipeline ended (idle, not stuck).
    assert turn.transcript == TRANSCRIPT
    assert turn.synthesize
    assert_swedish(turn.synthesize, "", None)
    # 2. The turn is in its event.
    assert [e.data["error"] for e in responses] == [None]
    assert responses[0].data["source"] in ("ha_local_intents", "openai_realtime")
    # 3. Health: the cloud (speech) stays connected.
    await hass.async_block_till_done()
    assert sensor(hass, OPENAI, "binary_sensor") == "on"
    # 4. Nothing leaked once the satellite is itself again.
    satellite.send_played = True
    openai_server.script_transcripts(TRANSCRIPT)
    again = await satellite.speak(pcm(UTTERANCE))
    async with asyncio.timeout(HANG_GUARD):
        await again.played.wait()
    await hass.async_block_till_done()
    assert sorted(alice_tasks(set())) == sorted(tasks_before)
    assert open_fds() <= fds_before  # no slack (see test_fault)
    # 5. The next turn worked.
    assert again.transcript == TRANSCRIPT
    assert again.audio
    assert responses[-1].data["error"] is None


async def until(predicate: Callable[[], bool], stuck: str) -> None:
    """Wait until ``predicate()`` holds; fail with ``stuck`` if it does not in time."""
    try:
        async with asyncio.timeout(HANG_GUARD):
            while not predicate():  # noqa: ASYNC110 - states of Home Assistant and a peer
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"stuck: {stuck}")
