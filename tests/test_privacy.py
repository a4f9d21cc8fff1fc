"""Privacy: secrets never leak, local_only stays local, transcripts stay out unless allowed.

Every path runs against the protocol-faithful simulators with distinctive
secrets (the OpenAI key, the Ollama key, a Google Mail access and refresh
token) and every library logging at DEBUG; then every place a user, an
automation or a support request can read is searched for them: log records
(message, arguments, exception text), the diagnostics, every bus event, every
state, the HUD's websocket push and the monitoring views.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import json
import logging
import sys
from typing import Any, ClassVar

from homeassistant.components import assist_pipeline, conversation
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import CONF_LLM_HASS_API, MATCH_ALL
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, intent, issue_registry as ir, llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.alice_voice.const import (
    CONF_EVENT_TRANSCRIPTS,
    CONF_LANGUAGE,
    CONF_MODE,
    CONF_OLLAMA_API_KEY,
    CONF_OLLAMA_URL,
    CONF_OPENAI_API_KEY,
    CONF_OPENAI_BASE_URL,
    CONF_SATELLITES,
    DEFAULT_CONVERSATION_OPTIONS,
    DOMAIN,
    SUBENTRY_CONVERSATION,
)
from custom_components.alice_voice.logbook import async_describe_events
from custom_components.alice_voice.tools.mail import DATA_GMAIL_API_URL
from simulators.gmail import SCOPE_READONLY, GmailTestServer, Mail
from simulators.ollama import OllamaTestServer, ScriptedReply
from simulators.realtime import RealtimeTestServer, Reply
from simulators.satellite import SatelliteTestServer
from simulators.speech import SpeechTestServer

from .common import async_setup, converse, source, speech
from .test_tools_mail import StandInAuth, google_mail_integration
from .test_voice import pcm

__all__ = ["google_mail_integration"]  # google_mail as a bare integration, for this module

OPENAI_SECRET = "sk-proj-PRIVACYopenaiQx7f3c9e1d"
OLLAMA_SECRET = "ollama-PRIVACYollamaKw82b5a0"
GMAIL_ACCESS = "ya29.PRIVACYgmailAccessZt4419"
GMAIL_REFRESH = "1//PRIVACYgmailRefreshMn7730"
#: The secrets, and the distinctive middle of each (a partly masked key still leaks).
SECRETS = (
    OPENAI_SECRET,
    OLLAMA_SECRET,
    GMAIL_ACCESS,
    GMAIL_REFRESH,
    "PRIVACYopenai",
    "PRIVACYollama",
    "PRIVACYgmailAccess",
    "PRIVACYgmailRefresh",
)
ACCOUNT = "alice@example.com"
LOGGERS = (
    "custom_components.alice_voice",
    "homeassistant",
    "openai",
    "ollama",
    "httpx",
    "httpcore",
    "websockets",
    "aiohttp",
    "wyoming",
)

DEVICE = "tänd lampan i köket"
GREETING = "hej"
THINK_MAIL = "har jag fått något viktigt mejl idag"
THINK = "vad har jag i kalendern imorgon"
QUESTION = "vad är huvudstaden i frankrike"


def leaks(text: str) -> list[str]:
    """The secrets found in ``text``."""
    return [secret for secret in SECRETS if secret in text]


def dump(value: Any) -> str:
    """Everything in ``value``, as text (whatever cannot be JSON is its repr)."""
    return json.dumps(value, default=repr, ensure_ascii=False)


@pytest.fixture(autouse=True)
def debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Everything logs at DEBUG, the level a user turns on to report a problem."""
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)


def log_leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every log record that holds a secret: message, arguments or exception."""
    formatter = logging.Formatter()
    found = []
    for record in caplog.records:
        parts = [record.getMessage(), repr(record.args), repr(record.msg)]
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        if secrets := leaks("\n".join(parts)):
            found.append(f"{record.name} {record.levelname}: {secrets} in {record.getMessage()!r}")
    return found


def capture_all_events(hass: HomeAssistant) -> list[Event[Any]]:
    """Every event fired on the bus from now on."""
    events: list[Event[Any]] = []

    @callback
    def record(event: Event[Any]) -> None:
        events.append(event)

    hass.bus.async_listen(MATCH_ALL, record)
    return events


async def drain(client: MockHAClientWebSocket) -> list[dict[str, Any]]:
    """Every message the websocket pushed so far (a ping's pong marks the end)."""
    await client.send_json_auto_id({"type": "ping"})
    messages: list[dict[str, Any]] = []
    while (message := await client.receive_json())["type"] != "pong":
        messages.append(message)
    return messages


async def pipeline_debug(
    hass: HomeAssistant, client: MockHAClientWebSocket
) -> list[dict[str, Any]]:
    """The debug record of every run of Alice's pipeline (Settings → Voice assistants → Debug)."""
    (pipeline,) = [p for p in assist_pipeline.async_get_pipelines(hass) if p.name == "Alice"]
    await client.send_json_auto_id(
        {"type": "assist_pipeline/pipeline_debug/list", "pipeline_id": pipeline.id}
    )
    listed = await client.receive_json()
    assert listed["success"]
    runs = []
    for run in listed["result"]["pipeline_runs"]:
        await client.send_json_auto_id(
            {
                "type": "assist_pipeline/pipeline_debug/get",
                "pipeline_id": pipeline.id,
                "pipeline_run_id": run["pipeline_run_id"],
            }
        )
        got = await client.receive_json()
        assert got["success"]
        runs.append(got["result"])
    return runs


# --- the servers, all with their own secret -------------------------------------------


@pytest.fixture
async def private_ollama(socket_enabled: None) -> AsyncIterator[OllamaTestServer]:
    """Ollama behind a bearer key."""
    async with OllamaTestServer(api_key=OLLAMA_SECRET) as server:
        yield server


@pytest.fixture
async def private_openai(
    socket_enabled: None, tts_cache: None
) -> AsyncIterator[tuple[RealtimeTestServer, SpeechTestServer]]:
    """OpenAI (Realtime and the audio endpoints) accepting only the secret key."""
    speech_server = SpeechTestServer(api_key=OPENAI_SECRET)
    server = RealtimeTestServer.instant(api_keys=[OPENAI_SECRET], mount=speech_server.add_routes)
    async with server:
        yield server, speech_server


@pytest.fixture
async def private_gmail(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncIterator[GmailTestServer]:
    """Gmail accepting only the secret access token, and a google_mail entry holding it."""
    mail = Mail(sender="Anna <anna@example.com>", subject="Faktura", text="Betala senast fredag.")
    async with GmailTestServer(account=ACCOUNT, mails=[mail], token=GMAIL_ACCESS) as server:
        hass.data[DATA_GMAIL_API_URL] = server.base_url
        entry = MockConfigEntry(
            domain="google_mail",
            title=ACCOUNT,
            unique_id=ACCOUNT,
            data={
                "auth_implementation": "google_mail",
                "token": {
                    "access_token": GMAIL_ACCESS,
                    "refresh_token": GMAIL_REFRESH,
                    "token_type": "Bearer",
                    "scope": SCOPE_READONLY,
                },
            },
        )
        entry.add_to_hass(hass)
        entry.mock_state(hass, ConfigEntryState.LOADED)
        entry.runtime_data = StandInAuth(GMAIL_ACCESS)
        yield server


def alice_entry(
    hass: HomeAssistant,
    ollama: OllamaTestServer,
    openai_base_url: str,
    **options: Any,
) -> MockConfigEntry:
    """Alice with both keys, one Swedish agent with the Assist tools."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Alice Voice (privacy)",
        data={
            CONF_OLLAMA_URL: ollama.url,
            CONF_OLLAMA_API_KEY: OLLAMA_SECRET,
            CONF_OPENAI_API_KEY: OPENAI_SECRET,
            CONF_OPENAI_BASE_URL: openai_base_url,
        },
        subentries_data=[
            ConfigSubentryData(
                data={
                    **DEFAULT_CONVERSATION_OPTIONS,
                    CONF_LANGUAGE: "sv",
                    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
                    **options,
                },
                subentry_type=SUBENTRY_CONVERSATION,
                title="Alice",
                unique_id=None,
            )
        ],
    )
    entry.add_to_hass(hass)
    return entry


# --- 1. secrets never leak -------------------------------------------------------------


async def test_secrets_never_leak(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    private_ollama: OllamaTestServer,
    private_openai: tuple[RealtimeTestServer, SpeechTestServer],
    private_gmail: GmailTestServer,
    satellite: SatelliteTestServer,
    get_diagnostics: Callable[[MockConfigEntry], Awaitable[dict[str, Any]]],
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every path, every failure; no secret in logs, diagnostics, events, states or views."""
    realtime, speech_server = private_openai
    events = capture_all_events(hass)

    wyoming = MockConfigEntry(
        domain="wyoming", data={"host": "127.0.0.1", "port": satellite.port}, title="Köket"
    )
    wyoming.add_to_hass(hass)
    await async_setup(hass, wyoming)
    satellite_id = er.async_get(hass).async_get_entity_id(
        "assist_satellite", "wyoming", f"{wyoming.entry_id}-assist_satellite"
    )
    assert satellite_id is not None
    entry = alice_entry(
        hass, private_ollama, realtime.base_url, **{CONF_SATELLITES: [satellite_id]}
    )
    await async_setup(hass, entry)
    await satellite.wait_controlled()
    hud = await hass_ws_client(hass)
    await hud.send_json_auto_id({"type": "alice_voice/subscribe"})
    assert (await hud.receive_json())["success"]

    answers: list[conversation.ConversationResult] = []

    async def say(text: str) -> conversation.ConversationResult:
        answers.append(await converse(hass, text))
        return answers[-1]

    # A device command (HA's intents); the time (the cloud, told the home's time).
    assert source(await say(DEVICE)) == "ha_local_intents"
    assert source(await say("vad är klockan")) == "openai_realtime"
    # A think turn whose model reads the mail (the Gmail token is used).
    private_ollama.add_rule(ScriptedReply(content="Du har ett mejl från Anna."), after_tool=True)
    private_ollama.add_rule(
        ScriptedReply(tool_calls=[{"name": "alice_voice__mail_search", "arguments": {}}]),
        user="mejl",
    )
    mail_turn = await say(THINK_MAIL)
    assert speech(mail_turn) == "Du har ett mejl från Anna."
    tokens = {request.token for request in private_gmail.requests}
    assert tokens == {GMAIL_ACCESS}  # the tool read the mail, with the secret token
    # A cloud turn (Realtime), and a think turn without tools.
    realtime.add_rule(Reply(text="Hej hej!"))
    assert source(await say(GREETING)) == "openai_realtime"
    assert source(await say(THINK)) == "local_ai"
    # A voice turn: satellite → Alice's STT (Realtime transcription) → TTS (speech REST).
    realtime.script_transcripts("Tänd lampan i köket")
    heard = await satellite.speak(pcm("sv_tand_lampan_i_koket.wav"))
    async with asyncio.timeout(20):
        await heard.played.wait()
    assert heard.transcript == "Tänd lampan i köket"
    assert speech_server.speech_texts
    # The classify service.
    decision = await hass.services.async_call(
        DOMAIN, "classify", {"text": THINK}, blocking=True, return_response=True
    )
    assert decision is not None
    assert leaks(dump(decision)) == []
    # Failures: the cloud rejects the key (Alice's canned greeting answers), then Ollama
    # does; each starts reauth.
    realtime.set_faults(handshake_status=401)
    assert source(await say("hej där")) == "local_fallback"
    private_ollama.api_key = "ollama-rotated"
    failed = await say(THINK)
    await hass.async_block_till_done()
    assert "API-nyckeln" in speech(failed)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]

    # Where a user, an automation or a support request can look.
    client = await hass_client()
    views = {
        path: await (await client.get(path)).text()
        for path in (
            "/api/alice_voice/metrics",
            "/api/alice_voice/health",
            "/api/alice_voice/diagnostics/latency",
        )
    }
    diagnostics = await get_diagnostics(entry)
    hud_messages = await drain(hud)
    pipeline_runs = await pipeline_debug(hass, hud)
    states = {state.entity_id: dict(state.attributes) for state in hass.states.async_all()}
    issues = [issue.to_json() for issue in ir.async_get(hass).issues.values()]
    describers = logbook_describers(hass)
    logbook = [describers[str(e.event_type)](e) for e in events if e.event_type in describers]
    # What the models were sent: the prompt, the history, the tools' results.
    to_models = [body for _, body in private_ollama.requests] + realtime.client_events()

    assert log_leaks(caplog) == []
    assert leaks(dump(diagnostics)) == []
    assert [
        (event.event_type, found) for event in events if (found := leaks(dump(event.data)))
    ] == []
    assert {
        entity: found for entity, attrs in states.items() if (found := leaks(dump(attrs)))
    } == {}
    assert leaks(dump(hud_messages)) == []
    assert {path: found for path, text in views.items() if (found := leaks(text))} == {}
    assert leaks(dump(flows)) == []
    assert leaks(dump(pipeline_runs)) == []
    assert leaks(dump(issues)) == []
    assert leaks(dump(logbook)) == []
    assert leaks(dump([speech(answer) for answer in answers])) == []
    assert leaks(dump(to_models)) == []
    # The checks saw what they search: the turns left events, logs and HUD pushes behind.
    assert any(event.event_type == "alice_voice_response" for event in events)
    assert any(record.name.startswith("custom_components.alice_voice") for record in caplog.records)
    assert len(hud_messages) > 1
    assert logbook
    assert to_models
    assert any(event["type"] == "tts-end" for run in pipeline_runs for event in run["events"])

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_unload(wyoming.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(ScriptedReply(status=401, error=f"bad key {OLLAMA_SECRET}"), id="401"),
        pytest.param(ScriptedReply(status=500, error=f"proxy: Bearer {OLLAMA_SECRET}"), id="500"),
        pytest.param(
            ScriptedReply(content="Jo", error_after=1, error=f"key={OLLAMA_SECRET}"),
            id="mid-stream",
        ),
    ],
)
async def test_a_server_echoing_the_key_does_not_leak_it(
    hass: HomeAssistant,
    setup_ha: None,
    private_ollama: OllamaTestServer,
    get_diagnostics: Callable[[MockConfigEntry], Awaitable[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
    reply: ScriptedReply,
) -> None:
    """A proxy that quotes the key in its error: Alice passes the error on, never the key."""
    entry = alice_entry(hass, private_ollama, "http://127.0.0.1:9/v1", **{CONF_MODE: "local_only"})
    events = capture_all_events(hass)
    await async_setup(hass, entry)
    private_ollama.reply_always(reply)

    result = await converse(hass, THINK)

    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert log_leaks(caplog) == []
    assert leaks(dump(await get_diagnostics(entry))) == []
    assert [(e.event_type, found) for e in events if (found := leaks(dump(e.data)))] == []
    assert leaks(speech(result)) == []
    states = {s.entity_id: dict(s.attributes) for s in hass.states.async_all()}
    assert {
        entity: found for entity, attrs in states.items() if (found := leaks(dump(attrs)))
    } == {}


# --- 2. local_only opens no other socket ------------------------------------------------


class _Connects:
    """``socket.connect`` audit events, recorded while ``recording`` is set.

    An audit hook cannot be removed, so one is added per process and records
    only while a test asks it to.
    """

    hooked = False
    recording = False
    addresses: ClassVar[list[Any]] = []

    @classmethod
    def audit(cls, event: str, args: tuple[Any, ...]) -> None:
        if cls.recording and event == "socket.connect":
            cls.addresses.append(args[1])


@pytest.fixture
def connects() -> Iterator[list[Any]]:
    """Every address a socket connects to while the test runs (in any thread)."""
    if not _Connects.hooked:
        sys.addaudithook(_Connects.audit)
        _Connects.hooked = True
    _Connects.addresses.clear()
    _Connects.recording = True
    try:
        yield _Connects.addresses
    finally:
        _Connects.recording = False


async def test_local_only_connects_only_to_ollama(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    connects: list[Any],
) -> None:
    """With an OpenAI key and a reachable cloud, a local_only agent talks to Ollama alone."""
    entry = alice_entry(hass, ollama_server, realtime_server.base_url, **{CONF_MODE: "local_only"})
    # The simulated Ollama takes no key here: the one in the entry is sent and ignored.
    ollama_server.add_rule(ScriptedReply(content="Nu är det tänt i sovrummet."), after_tool=True)
    ollama_server.add_rule(
        ScriptedReply(tool_calls=[{"name": "intent__HassTurnOn", "arguments": {"area": "Sovrum"}}]),
        user="sovrummet",
    )
    await async_setup(hass, entry)

    answers = [
        await converse(hass, text)
        for text in (
            DEVICE,
            GREETING,
            "vad är klockan",
            QUESTION,
            THINK,
            "kan du vara snäll och tända lampan i sovrummet åt mig, det är så mörkt",
        )
    ]
    await hass.async_block_till_done(wait_background_tasks=True)

    ollama = ("127.0.0.1", ollama_server.port)
    assert ollama in connects  # the hook saw the connections there were
    elsewhere = [
        address
        for address in connects
        if isinstance(address, tuple) and tuple(address[:2]) != ollama
    ]
    assert elsewhere == []
    assert realtime_server.handshake_count == 0
    assert realtime_server.models_requests == []
    assert [source(answer) for answer in answers] == [
        "ha_local_intents",
        "local_fallback",
        "ha_local_intents",
        "local_ai",
        "local_ai",
        "local_ai",
    ]
    assert speech(answers[-1]) == "Nu är det tänt i sovrummet."
    assert await hass.config_entries.async_unload(entry.entry_id)


# --- 3. transcripts stay out of events and the logbook unless allowed -------------------


MAIL = "skicka ett mejl till anna och säg att jag blir sen till middagen"
MUSIC = "spela lugn jazz i köket"
TURNS = {  # what the user says -> what Alice answers
    DEVICE: "Tände lamporna",
    THINK: "Imorgon har du tandläkaren klockan nio.",
    QUESTION: "Huvudstaden i Frankrike är Paris.",
    MAIL: "Vilken adress har Anna?",
    MUSIC: "Vilken högtalare vill du använda?",
}
#: Parts of what was said that the router picks out as slots: the mail's message, the search.
SLOT_WORDS = ("jag blir sen till middagen", "lugn jazz")


@pytest.mark.parametrize("opted_in", [False, True], ids=["default", "opted-in"])
async def test_transcripts_only_when_opted_in(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    hass_ws_client: WebSocketGenerator,
    get_diagnostics: Callable[[MockConfigEntry], Awaitable[dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
    opted_in: bool,
) -> None:
    """Words and answers reach Alice's events, states and HUD only with event_transcripts."""
    options = {CONF_EVENT_TRANSCRIPTS: True} if opted_in else {}
    entry = alice_entry(hass, ollama_server, realtime_server.base_url, **options)
    ollama_server.api_key = OLLAMA_SECRET
    realtime_server.api_keys.add(OPENAI_SECRET)
    for text, answer in TURNS.items():
        ollama_server.add_rule(ScriptedReply(content=answer), user=text)
    realtime_server.add_rule(Reply(text=TURNS[QUESTION]))
    await async_setup(hass, entry)
    alice_entities = {
        e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    hud = await hass_ws_client(hass)
    await hud.send_json_auto_id({"type": "alice_voice/subscribe"})
    assert (await hud.receive_json())["success"]
    events = capture_all_events(hass)

    answers = {text: await converse(hass, text) for text in TURNS}
    await hass.async_block_till_done()  # the activity entity writes its state

    assert {text: speech(answer) for text, answer in answers.items()} == TURNS
    assert [source(answer) for answer in answers.values()] == [
        "ha_local_intents",
        "local_ai",
        "openai_realtime",
        "local_ai",
        "local_ai",
    ]
    mine = [
        event
        for event in events
        if str(event.event_type).startswith(f"{DOMAIN}_")
        or (event.event_type == "state_changed" and event.data["entity_id"] in alice_entities)
    ]
    assert {event.event_type for event in mine} >= {
        "alice_voice_intent",
        "alice_voice_response",
        "state_changed",
    }
    describers = logbook_describers(hass)
    logbook = [
        describers[str(event.event_type)](event)["message"]
        for event in mine
        if event.event_type in describers
    ]
    hud_text = dump(await drain(hud))
    diagnostics = dump(await get_diagnostics(entry))
    said = [*TURNS, *TURNS.values(), *SLOT_WORDS]
    if not opted_in:
        assert [(e.event_type, w) for e in mine for w in said if w in dump(e.data)] == []
        assert [(message, w) for message in logbook for w in said if w in message] == []
        assert [w for w in said if w in hud_text] == []
        assert [w for w in said if w in diagnostics] == []
    else:
        responses = [e.data for e in mine if e.event_type == "alice_voice_response"]
        assert [(r["text"], r["response"]) for r in responses] == list(TURNS.items())
        intents = [e.data["text"] for e in mine if e.event_type == "alice_voice_intent"]
        assert intents == list(TURNS)
        slots = [e.data["slots"] for e in mine if e.event_type == "alice_voice_intent"]
        assert slots[3]["message"] == SLOT_WORDS[0]
        assert slots[4]["query"] == SLOT_WORDS[1]
        activity = dump([e.data for e in mine if e.event_type == "state_changed"])
        assert [w for w in said if w not in activity] == []
        assert TURNS[QUESTION] in hud_text
    # Never at INFO or above, whatever the option (debug logs are the user's own choice).
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert [(message, w) for message in loud for w in said if w in message] == []
    assert await hass.config_entries.async_unload(entry.entry_id)


def logbook_describers(hass: HomeAssistant) -> dict[str, Callable[[Event[Any]], dict[str, Any]]]:
    """Alice's logbook describers, by event type."""
    found: dict[str, Callable[[Event[Any]], dict[str, Any]]] = {}

    def describe(domain: str, event_type: Any, describer: Any) -> None:
        found[str(event_type)] = describer

    async_describe_events(hass, describe)
    return found
