"""A protocol-faithful OpenAI Realtime (GA) server for tests, benchmarks and the dev instance.

The server speaks the GA WebSocket protocol (``protocols.md`` §1) on 127.0.0.1 so that the
real ``openai`` SDK can drive it::

    async with RealtimeTestServer.instant() as server:
        server.add_rule(Reply(text="Klockan är tre."), user_text="klockan")
        client = AsyncOpenAI(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            ...

What it does, in short:

* ``GET /v1/realtime?model=…`` checks the bearer key and the model, then sends
  ``session.created`` first. A bad key is rejected either with HTTP 401 before the upgrade or
  with an ``invalid_api_key`` error event and a close (``bad_key_mode``).
* ``session.update`` is validated like the GA server does (``session.type`` required, preview
  shapes rejected, ``audio/pcm`` at 24 kHz) and acknowledged with the full merged session.
* The input audio buffer with server VAD and asynchronous input transcription
  (:mod:`.realtime_audio`), conversation items (kept server-side), ``response.create`` with
  the full GA event sequence in text, audio and function-call variants, ``response.cancel``,
  barge-in and the 60-minute session cap are all implemented.
* ``?intent=transcription`` opens a transcription session (``session.type:
  "transcription"``): audio in, transcripts out, never a response. What the server hears is
  scripted per committed utterance with :meth:`RealtimeTestServer.script_transcripts`.
* Replies are scripted with :class:`Rule` objects (first match wins) and a Swedish default;
  validation of client events lives in :mod:`.realtime_validate`.
* Latency (handshake, time to first delta, delta interval) and faults (HTTP status at the
  upgrade, error events, dropped connections, oversized frames, unknown events, session
  expiry) are configurable per server and changeable between tests.
* Everything is recorded: handshakes (headers without the key), every client event in
  order, server events, close codes and ``GET /v1/models`` calls.

Run it standalone with ``python -m simulators.realtime --port 8765``.
"""

import argparse
import asyncio
import base64
import binascii
from collections import deque
from collections.abc import Callable, Mapping, Sequence
import contextlib
import copy
from dataclasses import dataclass, field, replace
import functools
import json
import logging
import math
import re
import time
from types import TracebackType
from typing import Any, Final, Literal, Self

from aiohttp import WSMsgType, web

from .realtime_audio import (
    BYTES_PER_MS_PCM,
    MIN_COMMIT_MS,
    AudioInputRecord,
    InputAudio,
    Transcript,
    bytes_per_ms,
    tone,
    transcribe,
    transcription_session,
)
from .realtime_validate import (
    RESPONSE_KEYS,
    SAMPLE_RATE,
    SESSION_KEYS,
    VOICES,
    DropMode,
    JsonDict,
    ProtocolError,
    check_transcription_event,
    check_transcription_session,
    invalid,
    merge,
    missing,
    new_id,
    unknown_parameter,
    validate_audio,
    validate_item,
    validate_max_tokens,
    validate_modalities,
    validate_tool_choice,
    validate_tools,
    validate_transcription_update,
)

__all__ = [
    "BYTES_PER_MS_PCM",
    "DEFAULT_API_KEY",
    "MIN_COMMIT_MS",
    "REALTIME_MODELS",
    "SAMPLE_RATE",
    "UNKNOWN_EVENT_TYPE",
    "VOICES",
    "AudioInputRecord",
    "BadKeyMode",
    "ClientEventRecord",
    "ConnectionRecord",
    "DropMode",
    "Faults",
    "FunctionCall",
    "HandshakeRecord",
    "JsonDict",
    "ProtocolError",
    "RealtimeTestServer",
    "Reply",
    "ReplySource",
    "ResponseRequest",
    "Rule",
    "Transcript",
    "default_reply",
    "main",
]

_LOGGER = logging.getLogger(__name__)

type BadKeyMode = Literal["http", "event"]

DEFAULT_API_KEY: Final = "sk-test-alice-0123456789"
REALTIME_MODELS: Final = (
    "gpt-realtime",
    "gpt-realtime-mini",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-2.1-mini",
    "gpt-4o-realtime-preview",
    "gpt-4o-mini-realtime-preview",
)
# Latency defaults model a real round trip; tests use RealtimeTestServer.instant().
DEFAULT_HANDSHAKE_DELAY: Final = 0.150
DEFAULT_FIRST_DELTA_DELAY: Final = 0.250
DEFAULT_DELTA_INTERVAL: Final = 0.020
DEFAULT_SESSION_MAX_AGE: Final = 60 * 60.0

MAX_CLIENT_MESSAGE: Final = 16 * 1024 * 1024  # the API takes appends of up to 15 MiB
OVERSIZED_FRAME_BYTES: Final = 1024 * 1024 + 64 * 1024  # over the SDK's 1 MiB max_size
UNKNOWN_EVENT_TYPE: Final = "response.alice_test.unknown_event"

_CLIENT_EVENT_TYPES: Final = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
)

# --- Scripting --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A function call the scripted model makes.

    Attributes:
        name: The tool name (must be offered, unless the server runs with ``strict_tools=False``).
        arguments: A mapping (sent as compact JSON) or a string sent verbatim (to test bad JSON).
        call_id: The call id; generated when omitted.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None

    def arguments_json(self) -> str:
        """Return the arguments as the JSON string the API sends."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """What the scripted model answers to one ``response.create``.

    Attributes:
        text: Text (text mode) or transcript (audio mode) streamed before any calls.
        function_calls: Function calls made after the text, each as its own output item.
        deltas: Number of deltas the text is split into (default: one per word).
        first_delta_delay: Overrides the server's time to first delta for this reply.
        delta_interval: Overrides the server's delay between deltas for this reply.
        error_code: Send an ``error`` event with this code instead of a response.
        error_message: The message of that error event.
        failed_code: End the response with ``response.done`` status ``failed`` and this
            ``status_details.error.code`` (after any text).
        drop: Drop the connection mid-response (``close_1011`` or a transport ``abort``).
        drop_after_deltas: How many deltas are sent before the drop.
        oversized_frame: Send one delta larger than 1 MiB (the SDK closes with 1009).
    """

    text: str | None = None
    function_calls: Sequence[FunctionCall] = ()
    deltas: int | None = None
    first_delta_delay: float | None = None
    delta_interval: float | None = None
    error_code: str | None = None
    error_message: str = "The server had an error while processing your request."
    failed_code: str | None = None
    drop: DropMode | None = None
    drop_after_deltas: int = 1
    oversized_frame: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseRequest:
    """The context of one ``response.create``, as rules see it.

    Attributes:
        connection_id: Which connection asked.
        user_text: Text of the last user message (``input_text``, or the transcript the server
            "hears" for ``input_audio``); ``None`` without a user message.
        items: The conversation the response is based on (history or ``response.input``).
        tools: The tools offered for this response.
        tool_choice: The effective tool choice.
        instructions: The effective instructions.
        output_modalities: ``["text"]`` or ``["audio"]``.
        out_of_band: Whether the response uses ``conversation: "none"``.
    """

    connection_id: int
    user_text: str | None
    items: tuple[JsonDict, ...]
    tools: tuple[JsonDict, ...]
    tool_choice: Any
    instructions: str
    output_modalities: tuple[str, ...]
    out_of_band: bool

    @property
    def after_tool_output(self) -> bool:
        """Whether the last conversation item is a ``function_call_output``."""
        return bool(self.items) and self.items[-1].get("type") == "function_call_output"

    @property
    def tool_outputs(self) -> tuple[JsonDict, ...]:
        """The trailing ``function_call_output`` items (the answers to the last calls)."""
        outputs: list[JsonDict] = []
        for item in reversed(self.items):
            if item.get("type") != "function_call_output":
                break
            outputs.append(item)
        return tuple(reversed(outputs))

    @property
    def tool_names(self) -> frozenset[str]:
        """Names of the offered function tools."""
        return frozenset(str(tool.get("name")) for tool in self.tools)


type ReplySource = Reply | Callable[[ResponseRequest], Reply]


@dataclass(slots=True, kw_only=True)
class Rule:
    """Maps a request to a reply. Rules are tried in insertion order; the first match wins.

    Attributes:
        reply: A :class:`Reply`, or a callable building one from the request.
        user_text: Case-insensitive substring, or a compiled regex searched in the last user text.
        after_tool_output: ``False`` (default) matches only user turns, ``True`` only responses
            following tool outputs, ``None`` both. The default keeps a call-making rule from
            firing again on its own tool output.
        tool_offered: Match only when a tool with this name is offered.
        predicate: Any extra condition.
        times: How often the rule may fire (``None`` = unlimited).
        hits: How often it fired.
    """

    reply: ReplySource
    user_text: str | re.Pattern[str] | None = None
    after_tool_output: bool | None = False
    tool_offered: str | None = None
    predicate: Callable[[ResponseRequest], bool] | None = None
    times: int | None = None
    hits: int = 0

    def matches(self, request: ResponseRequest) -> bool:
        """Return whether this rule answers the request."""
        if self.times is not None and self.hits >= self.times:
            return False
        if (
            self.after_tool_output is not None
            and request.after_tool_output != self.after_tool_output
        ):
            return False
        if self.user_text is not None:
            text = request.user_text or ""
            if isinstance(self.user_text, re.Pattern):
                if self.user_text.search(text) is None:
                    return False
            elif self.user_text.casefold() not in text.casefold():
                return False
        if self.tool_offered is not None and self.tool_offered not in request.tool_names:
            return False
        return self.predicate is None or self.predicate(request)

    def build(self, request: ResponseRequest) -> Reply:
        """Count a hit and return the reply for the request."""
        self.hits += 1
        return self.reply(request) if callable(self.reply) else self.reply


def default_reply(request: ResponseRequest) -> Reply:
    """Answer when no rule matches: acknowledge tool outputs, echo user text."""
    if request.after_tool_output:
        return Reply(text="Klart.")
    if request.user_text:
        return Reply(text=f"Hej! Jag hörde: {request.user_text}")
    return Reply(text="Hej! Hur kan jag hjälpa dig?")


@dataclass(slots=True, kw_only=True)
class Faults:
    """Failures injected into every handshake or response until cleared.

    Attributes:
        handshake_status: Answer every upgrade with this HTTP status (e.g. 401, 403, 429, 500).
        response_error_code: Answer every ``response.create`` with this ``error`` event instead.
        drop_mid_response: Drop the connection mid-response (``close_1011`` or ``abort``).
        drop_after_deltas: How many deltas are sent before the drop.
        oversized_frame: Send one delta larger than 1 MiB in every response.
        unknown_events: Mix an unknown event type after ``session.created`` and into every
            response (clients must ignore it).
        rest_status: Answer ``GET /v1/models`` with this HTTP status.
        drop_on_client_event: Drop the connection when the next client event arrives (a
            connection that died while idle); one-shot, cleared when it fires.
        transcription_failed_code: Answer every transcription with ``.failed`` and this code.
        drop_mid_transcription: Drop the connection after the first transcript delta.
    """

    handshake_status: int | None = None
    response_error_code: str | None = None
    drop_mid_response: DropMode | None = None
    drop_after_deltas: int = 1
    oversized_frame: bool = False
    unknown_events: bool = False
    rest_status: int | None = None
    drop_on_client_event: DropMode | None = None
    transcription_failed_code: str | None = None
    drop_mid_transcription: DropMode | None = None


# --- Records ----------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class HandshakeRecord:
    """One ``GET /v1/realtime`` attempt, accepted or not.

    Attributes:
        time: ``time.monotonic()`` when it arrived.
        headers: Request headers; ``Authorization`` is replaced by ``<redacted>``.
        query: Query parameters.
        model: The ``model`` query parameter.
        auth_valid: Whether the bearer key was one of the valid keys.
        status: 101 when upgraded, else the HTTP status sent.
    """

    time: float
    headers: dict[str, str]
    query: dict[str, str]
    model: str | None
    auth_valid: bool
    status: int = 0


@dataclass(slots=True, kw_only=True)
class ClientEventRecord:
    """One client event as received.

    Attributes:
        time: ``time.monotonic()`` when it arrived.
        event: The parsed JSON (``{"raw": …}`` when it was not a JSON object).
    """

    time: float
    event: JsonDict

    @property
    def type(self) -> str:
        """The event type (empty if missing)."""
        return str(self.event.get("type", ""))


@dataclass(slots=True, kw_only=True)
class ConnectionRecord:
    """Everything one accepted WebSocket connection saw.

    Attributes:
        id: Sequential number (1 = first connection of this server).
        handshake: The handshake that opened it.
        session_id: The session id sent in ``session.created``.
        opened_at: ``time.monotonic()`` when upgraded.
        closed_at: When it closed (``None`` while open).
        close_code: The close code: the one the server sent when it closed (1006 for an
            aborted transport), else the one the client sent.
        closed_by: ``"server"`` or ``"client"`` once closed.
        client_events: Client events, in order.
        server_events: Server events, in order.
        session: The current session configuration.
        conversation: The server-side conversation items.
        audio: The input audio received (bytes, format, VAD turns, transcripts).
    """

    id: int
    handshake: HandshakeRecord
    session_id: str
    opened_at: float
    closed_at: float | None = None
    close_code: int | None = None
    closed_by: Literal["server", "client"] | None = None
    client_events: list[ClientEventRecord] = field(default_factory=list)
    server_events: list[JsonDict] = field(default_factory=list)
    session: JsonDict = field(default_factory=dict)
    conversation: list[JsonDict] = field(default_factory=list)
    audio: AudioInputRecord = field(default_factory=AudioInputRecord)

    @property
    def client_event_types(self) -> list[str]:
        """Types of the client events, in order."""
        return [record.type for record in self.client_events]

    @property
    def server_event_types(self) -> list[str]:
        """Types of the server events, in order."""
        return [str(event.get("type")) for event in self.server_events]

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self.closed_at is not None


# --- Server -----------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class _ActiveResponse:
    id: str
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_reason: str = "client_cancelled"
    task: asyncio.Task[None] | None = None


@dataclass(slots=True, kw_only=True)
class _Connection:
    record: ConnectionRecord
    ws: web.WebSocketResponse
    request: web.Request
    audio: InputAudio
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    active: _ActiveResponse | None = None
    audio_sent: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    closer: asyncio.Task[Any] | None = None


def _default_session(model: str, session_id: str, max_age: float) -> JsonDict:
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": (
            "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI."
        ),
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "include": None,
        "expires_at": int(time.time() + max_age),
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                "voice": "marin",
                "speed": 1.0,
            },
        },
    }


def _estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _item_text(item: JsonDict, heard: str | None) -> str:
    parts: list[str] = []
    for part in item.get("content") or []:
        match part.get("type"):
            case "input_text" | "output_text" | "text":
                parts.append(str(part.get("text") or ""))
            case "input_audio" | "output_audio" | "audio":
                transcript = part.get("transcript")
                parts.append(str(transcript) if transcript else (heard or ""))
    return " ".join(p for p in parts if p)


def _split_text(text: str, deltas: int | None) -> list[str]:
    if not text:
        return []
    if deltas is None:
        words = re.findall(r"\S+\s*", text)
        leading = text[: len(text) - len(text.lstrip())]
        chunks = words or [text]
        chunks[0] = leading + chunks[0]
        return chunks
    count = max(1, min(deltas, len(text)))
    size = math.ceil(len(text) / count)
    return [text[i : i + size] for i in range(0, len(text), size)]


class RealtimeTestServer:
    """A local OpenAI Realtime GA server (aiohttp) driven by the real SDK.

    Attributes:
        api_keys: Keys accepted as valid (mutable between tests).
        models: Known models; others are rejected with ``invalid_value``.
        handshake_delay: Seconds before an upgrade is answered.
        first_delta_delay: Seconds from ``response.created`` to the first delta.
        delta_interval: Seconds between deltas.
        session_max_age: Seconds before a session gets ``session_expired`` and close 1001
            (applies to connections opened afterwards).
        bad_key_mode: ``"http"`` answers a bad key with HTTP 401 before the upgrade,
            ``"event"`` accepts it, sends ``error invalid_api_key`` and closes.
        strict_tools: Drop scripted calls to tools that were not offered (as a real model would).
        audio_ms_per_delta: Milliseconds of audio sent with each transcript delta.
        input_audio_transcript: What the server "hears" in committed input audio when no
            scripted transcript is left (see :meth:`script_transcripts`).
        transcript_queue: Scripted transcripts, one per committed utterance.
        transcribe_delay_s: Seconds of transcription per second of committed audio before
            ``.completed`` (the cost of the ASR model; transcript deltas are spread over it).
        record_server_events: Whether to keep every server event (tests) or not (benchmarks).
        faults: The active :class:`Faults`.
        rules: The scripted :class:`Rule` list.
        handshakes: Every upgrade attempt.
        connections: Every accepted connection.
        models_requests: ``GET /v1/models`` calls as ``(auth_valid, status)``.
    """

    def __init__(
        self,
        *,
        api_keys: Sequence[str] = (DEFAULT_API_KEY,),
        models: Sequence[str] = REALTIME_MODELS,
        handshake_delay: float = DEFAULT_HANDSHAKE_DELAY,
        first_delta_delay: float = DEFAULT_FIRST_DELTA_DELAY,
        delta_interval: float = DEFAULT_DELTA_INTERVAL,
        session_max_age: float = DEFAULT_SESSION_MAX_AGE,
        bad_key_mode: BadKeyMode = "http",
        strict_tools: bool = True,
        audio_ms_per_delta: int = 100,
        record_server_events: bool = True,
        mount: Callable[[web.Application], None] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Initialize the server (call :meth:`start` to bind it).

        ``mount`` adds other OpenAI endpoints to the same app (e.g. the speech
        server's ``add_routes``), so that one base URL serves them all.
        """
        self._mount = mount
        self.api_keys: set[str] = set(api_keys)
        self._primary_key = api_keys[0] if api_keys else DEFAULT_API_KEY
        self.models: tuple[str, ...] = tuple(models)
        self.handshake_delay = handshake_delay
        self.first_delta_delay = first_delta_delay
        self.delta_interval = delta_interval
        self.session_max_age = session_max_age
        self.bad_key_mode: BadKeyMode = bad_key_mode
        self.strict_tools = strict_tools
        self.audio_ms_per_delta = audio_ms_per_delta
        self.input_audio_transcript: str | None = None
        self.transcript_queue: deque[Transcript] = deque()
        self.transcribe_delay_s = 0.0
        self.record_server_events = record_server_events
        self.faults = Faults()
        self.rules: list[Rule] = []
        self.handshakes: list[HandshakeRecord] = []
        self.connections: list[ConnectionRecord] = []
        self.models_requests: list[tuple[bool, int]] = []
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._open: dict[int, _Connection] = {}
        self._handlers: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Condition()

    @classmethod
    def instant(cls, **kwargs: Any) -> Self:
        """Build a server without artificial latency (for unit tests)."""
        kwargs.setdefault("handshake_delay", 0.0)
        kwargs.setdefault("first_delta_delay", 0.0)
        kwargs.setdefault("delta_interval", 0.0)
        return cls(**kwargs)

    # --- Lifecycle --------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        if self._port is None:
            raise RuntimeError("Server not started")
        return self._port

    @property
    def base_url(self) -> str:
        """The REST base URL for ``AsyncOpenAI(base_url=…)``."""
        return f"http://{self._host}:{self.port}/v1"

    @property
    def ws_url(self) -> str:
        """The WebSocket URL (without the model query)."""
        return f"ws://{self._host}:{self.port}/v1/realtime"

    @property
    def api_key(self) -> str:
        """The first configured key while it is valid, else any valid key."""
        if self._primary_key in self.api_keys or not self.api_keys:
            return self._primary_key
        return sorted(self.api_keys)[0]

    async def start(self) -> None:
        """Bind ``host:port`` (port 0 = any free port) and serve."""
        app = web.Application()
        app.router.add_get("/v1/realtime", self._handle_realtime)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_get("/v1/models/{model}", self._handle_model)
        if self._mount is not None:
            self._mount(app)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        _LOGGER.debug("Realtime test server listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close every connection (1001) and stop serving."""
        for conn in list(self._open.values()):
            self._cancel_response(conn)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._close(conn, 1001, b"server shutdown")
        # Handlers whose client left during the handshake delay would otherwise linger.
        if handlers := [task for task in self._handlers if not task.done()]:
            for task in handlers:
                task.cancel()
            await asyncio.wait(handlers, timeout=2)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    # --- Scripting --------------------------------------------------------------------

    def add_rule(
        self,
        reply: ReplySource,
        *,
        user_text: str | re.Pattern[str] | None = None,
        after_tool_output: bool | None = False,
        tool_offered: str | None = None,
        predicate: Callable[[ResponseRequest], bool] | None = None,
        times: int | None = None,
    ) -> Rule:
        """Append a rule (see :class:`Rule`) and return it."""
        rule = Rule(
            reply=reply,
            user_text=user_text,
            after_tool_output=after_tool_output,
            tool_offered=tool_offered,
            predicate=predicate,
            times=times,
        )
        self.rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        """Remove all rules (the default reply answers everything)."""
        self.rules.clear()

    def script_transcripts(self, *transcripts: str | Transcript) -> None:
        """Queue what the server hears: one transcript per committed utterance, in order.

        Each commit (the client's, or the VAD's at the end of speech) takes the next one;
        when none is left it hears :attr:`input_audio_transcript`, else nothing (``""``).
        A :class:`Transcript` can also script deltas, a delay or a fault.
        """
        self.transcript_queue.extend(
            Transcript(text=t) if isinstance(t, str) else t for t in transcripts
        )

    def set_faults(self, **changes: Any) -> Faults:
        """Change fields of :attr:`faults` (e.g. ``set_faults(unknown_events=True)``)."""
        for name, value in changes.items():
            if not hasattr(self.faults, name):
                raise AttributeError(f"Unknown fault: {name}")
            setattr(self.faults, name, value)
        return self.faults

    def clear_faults(self) -> None:
        """Remove all injected faults."""
        self.faults = Faults()

    async def expire_sessions(self, connection_id: int | None = None) -> None:
        """Send ``error session_expired`` and close 1001 now (all open connections or one)."""
        for conn in list(self._open.values()):
            if connection_id is None or conn.record.id == connection_id:
                await self._expire(conn)

    async def drop_connections(self, mode: DropMode = "close_1011") -> None:
        """Drop every open connection abruptly."""
        for conn in list(self._open.values()):
            await self._drop(conn, mode)

    async def barge_in(self, connection_id: int | None = None) -> None:
        """Simulate server VAD hearing speech: ``speech_started`` and a ``turn_detected`` cancel."""
        for conn in list(self._open.values()):
            if connection_id is not None and conn.record.id != connection_id:
                continue
            with contextlib.suppress(ConnectionError):
                await self._send(
                    conn,
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": 0,
                        "item_id": new_id("item"),
                    },
                )
            self._interrupt(conn)

    # --- Records ----------------------------------------------------------------------

    @property
    def handshake_count(self) -> int:
        """Number of upgrade attempts, accepted or not."""
        return len(self.handshakes)

    @property
    def connection_count(self) -> int:
        """Number of accepted WebSocket connections."""
        return len(self.connections)

    @property
    def open_connections(self) -> list[ConnectionRecord]:
        """Connections still open."""
        return [conn.record for conn in self._open.values()]

    def client_events(self, event_type: str | None = None) -> list[JsonDict]:
        """Client events of all connections in arrival order, optionally of one type."""
        records = sorted(
            (record for conn in self.connections for record in conn.client_events),
            key=lambda record: record.time,
        )
        return [r.event for r in records if event_type is None or r.type == event_type]

    def received_texts(self) -> list[str]:
        """Every text the server received: input items, instructions and response overrides."""
        texts: list[str] = []
        for event in self.client_events():
            texts.extend(_texts_in(event))
        return texts

    def received_text(self, needle: str) -> bool:
        """Whether any received text contains ``needle`` (case-insensitive)."""
        folded = needle.casefold()
        return any(folded in text.casefold() for text in self.received_texts())

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait up to ``within`` seconds until ``predicate()`` holds.

        The predicate is re-checked whenever a record changes (handshake, connection opened
        or closed, client event received).
        """
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- HTTP -------------------------------------------------------------------------

    def _check_key(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        return scheme.lower() == "bearer" and key.strip() in self.api_keys

    @staticmethod
    def _auth_error() -> JsonDict:
        return {
            "error": {
                "message": "Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }

    async def _handle_models(self, request: web.Request) -> web.Response:
        valid = self._check_key(request)
        if (fault := self.faults.rest_status) is not None:
            self.models_requests.append((valid, fault))
            return web.json_response(
                {"error": {"message": "Injected fault", "type": "server_error", "code": None}},
                status=fault,
            )
        status = 200 if valid else 401
        self.models_requests.append((valid, status))
        if not valid:
            return web.json_response(self._auth_error(), status=401)
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": model, "object": "model", "created": 1_756_000_000, "owned_by": "system"}
                    for model in self.models
                ],
            }
        )

    async def _handle_model(self, request: web.Request) -> web.Response:
        valid = self._check_key(request)
        model = request.match_info["model"]
        status = 401 if not valid else 200 if model in self.models else 404
        self.models_requests.append((valid, status))
        if status == 401:
            return web.json_response(self._auth_error(), status=401)
        if status == 404:
            return web.json_response(
                {
                    "error": {
                        "message": f"The model '{model}' does not exist",
                        "type": "invalid_request_error",
                        "param": "model",
                        "code": "model_not_found",
                    }
                },
                status=404,
            )
        return web.json_response(
            {"id": model, "object": "model", "created": 1_756_000_000, "owned_by": "system"}
        )

    async def _handle_realtime(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            return await self._upgrade(request)
        finally:
            self._handlers.discard(task)

    async def _upgrade(self, request: web.Request) -> web.StreamResponse:
        auth_valid = self._check_key(request)
        headers = {
            key: ("<redacted>" if key.lower() == "authorization" else value)
            for key, value in request.headers.items()
        }
        model = request.query.get("model")
        handshake = HandshakeRecord(
            time=time.monotonic(),
            headers=headers,
            query=dict(request.query),
            model=model,
            auth_valid=auth_valid,
        )
        self.handshakes.append(handshake)
        if self.handshake_delay > 0:
            await asyncio.sleep(self.handshake_delay)
        if (status := self.faults.handshake_status) is not None:
            handshake.status = status
            await self._notify()
            body = self._auth_error() if status in (401, 403) else {"error": {"code": str(status)}}
            return web.json_response(body, status=status)
        if not auth_valid and self.bad_key_mode == "http":
            handshake.status = 401
            await self._notify()
            return web.json_response(self._auth_error(), status=401)

        ws = web.WebSocketResponse(max_msg_size=MAX_CLIENT_MESSAGE, heartbeat=None)
        await ws.prepare(request)
        handshake.status = 101
        session_model = model if model in self.models else (model or "")
        record = ConnectionRecord(
            id=len(self.connections) + 1,
            handshake=handshake,
            session_id=new_id("sess"),
            opened_at=time.monotonic(),
        )
        if request.query.get("intent") == "transcription":
            expires_at = int(time.time() + self.session_max_age)
            record.session = transcription_session(record.session_id, expires_at)
        else:
            record.session = _default_session(
                session_model, record.session_id, self.session_max_age
            )
        self.connections.append(record)
        conn = _Connection(record=record, ws=ws, request=request, audio=InputAudio(record.audio))
        self._open[record.id] = conn
        await self._notify()
        try:
            await self._serve(conn, auth_valid=auth_valid, model=model)
        except ConnectionError:
            _LOGGER.debug("Connection %s lost", record.id)
        finally:
            # The task that closed the socket (a drop or an expiry) finishes by itself.
            if conn.active is not None and conn.active.task is not conn.closer:
                self._cancel_response(conn)
            for task in list(conn.tasks):
                if task is not conn.closer:
                    task.cancel()
            self._open.pop(record.id, None)
            record.closed_at = time.monotonic()
            if record.closed_by is None:
                record.closed_by = "client"
                record.close_code = ws.close_code
            await self._notify()
        return ws

    async def _serve(self, conn: _Connection, *, auth_valid: bool, model: str | None) -> None:
        if not auth_valid:
            error = self._auth_error()["error"]
            await self._send_error(conn, "invalid_api_key", error["message"])
            await self._close(conn, 1008, b"invalid_api_key")
            return
        intent = conn.request.query.get("intent")
        if intent not in (None, "transcription"):
            await self._send_error(
                conn,
                "invalid_value",
                f"Invalid value: '{intent}'. Supported values are: 'transcription'.",
                param="intent",
            )
            await self._close(conn, 1008, b"invalid intent")
            return
        if intent is None and not model:
            await self._send_error(
                conn, "missing_required_parameter", "Missing model.", param="model"
            )
            await self._close(conn, 1008, b"missing model")
            return
        if intent is None and model not in self.models:
            await self._send_error(
                conn,
                "invalid_value",
                f"Invalid value: '{model}'. Supported values are: {', '.join(self.models)}.",
                param="model",
            )
            await self._close(conn, 1008, b"invalid model")
            return
        await self._send(conn, {"type": "session.created", "session": conn.record.session})
        if self.faults.unknown_events:
            await self._send(conn, {"type": UNKNOWN_EVENT_TYPE, "detail": "ignore me"})
        self._spawn(conn, self._expire_after(conn, self.session_max_age))
        async for msg in conn.ws:
            if conn.record.closed_by is not None:
                break  # dropped or closed by the server: ignore what is still buffered
            if msg.type is WSMsgType.TEXT:
                await self._on_text(conn, str(msg.data))
            elif msg.type is WSMsgType.BINARY:
                conn.record.client_events.append(
                    ClientEventRecord(time=time.monotonic(), event={"binary": len(msg.data)})
                )
                await self._notify()
                await self._send_error(
                    conn, "invalid_value", "Binary frames are not supported.", param="type"
                )
            else:
                break

    def _spawn(self, conn: _Connection, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        conn.tasks.add(task)
        task.add_done_callback(conn.tasks.discard)

    # --- Sending ----------------------------------------------------------------------

    async def _send(self, conn: _Connection, event: JsonDict) -> None:
        payload = {"type": event["type"], "event_id": new_id("event")}
        payload.update((k, v) for k, v in event.items() if k != "type")
        if conn.ws.closed:
            raise ConnectionResetError("WebSocket is closed")
        async with conn.send_lock:
            await conn.ws.send_str(json.dumps(payload, ensure_ascii=False))
        if self.record_server_events:
            conn.record.server_events.append(payload)

    async def _send_error(
        self,
        conn: _Connection,
        code: str,
        message: str,
        *,
        param: str | None = None,
        client_event_id: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        await self._send(
            conn,
            {
                "type": "error",
                "error": {
                    "type": error_type,
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": client_event_id,
                },
            },
        )

    async def _expire_after(self, conn: _Connection, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._expire(conn)

    async def _expire(self, conn: _Connection) -> None:
        if conn.active is not None and conn.active.task is not asyncio.current_task():
            self._cancel_response(conn)
        with contextlib.suppress(ConnectionError):
            await self._send_error(
                conn,
                "session_expired",
                "Your session hit the maximum duration of 60 minutes.",
            )
            await self._close(conn, 1001, b"session_expired")

    async def _drop(self, conn: _Connection, mode: DropMode) -> None:
        if mode == "abort":
            conn.record.closed_by = "server"
            conn.record.close_code = 1006
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            return
        with contextlib.suppress(ConnectionError):
            await self._close(conn, 1011, b"internal error")

    async def _close(self, conn: _Connection, code: int, message: bytes) -> None:
        """Close the socket; the calling task is then never cancelled by the handler."""
        conn.closer = asyncio.current_task()
        if conn.record.closed_by is None:
            conn.record.closed_by = "server"
            conn.record.close_code = code
        await conn.ws.close(code=code, message=message)

    def _cancel_response(self, conn: _Connection) -> None:
        if conn.active is not None and conn.active.task is not None:
            conn.active.task.cancel()
        conn.active = None

    def _interrupt(self, conn: _Connection) -> None:
        """Speech started: cancel the active response (``interrupt_response``)."""
        detection = conn.record.session["audio"]["input"].get("turn_detection") or {}
        if conn.active is not None and detection.get("interrupt_response", True):
            conn.active.cancel_reason = "turn_detected"
            conn.active.cancel.set()

    # --- Client events ----------------------------------------------------------------

    async def _on_text(self, conn: _Connection, data: str) -> None:
        if (drop := self.faults.drop_on_client_event) is not None:
            self.faults.drop_on_client_event = None
            conn.record.client_events.append(
                ClientEventRecord(time=time.monotonic(), event={"dropped": data})
            )
            await self._drop(conn, drop)
            return
        try:
            event = json.loads(data)
        except ValueError:
            conn.record.client_events.append(
                ClientEventRecord(time=time.monotonic(), event={"raw": data})
            )
            await self._notify()
            await self._send_error(conn, "invalid_json", "The event is not valid JSON.")
            return
        if not isinstance(event, dict):
            event = {"raw": event}
        conn.record.client_events.append(ClientEventRecord(time=time.monotonic(), event=event))
        await self._notify()
        client_event_id = event.get("event_id")
        client_event_id = client_event_id if isinstance(client_event_id, str) else None
        try:
            await self._dispatch(conn, event)
        except ProtocolError as err:
            await self._send_error(
                conn,
                err.code,
                err.message,
                param=err.param,
                client_event_id=client_event_id,
                error_type=err.error_type,
            )

    async def _dispatch(self, conn: _Connection, event: JsonDict) -> None:
        if conn.record.session["type"] == "transcription":
            check_transcription_event(event.get("type"))
        match event.get("type"):
            case "session.update":
                await self._session_update(conn, event)
            case "input_audio_buffer.append":
                await self._append_audio(conn, event)
            case "input_audio_buffer.commit":
                await self._commit_audio(conn)
            case "input_audio_buffer.clear":
                conn.audio.clear()
                await self._send(conn, {"type": "input_audio_buffer.cleared"})
            case "conversation.item.create":
                await self._create_item(conn, event)
            case "conversation.item.retrieve":
                item = self._find_item(conn, event.get("item_id"))
                await self._send(conn, {"type": "conversation.item.retrieved", "item": item})
            case "conversation.item.delete":
                item = self._find_item(conn, event.get("item_id"))
                conn.record.conversation.remove(item)
                await self._send(conn, {"type": "conversation.item.deleted", "item_id": item["id"]})
            case "conversation.item.truncate":
                item = self._find_item(conn, event.get("item_id"))
                await self._send(
                    conn,
                    {
                        "type": "conversation.item.truncated",
                        "item_id": item["id"],
                        "content_index": event.get("content_index", 0),
                        "audio_end_ms": event.get("audio_end_ms", 0),
                    },
                )
            case "response.create":
                await self._response_create(conn, event)
            case "response.cancel":
                self._response_cancel(conn, event)
            case "output_audio_buffer.clear":
                raise invalid("type", "output_audio_buffer.clear is only supported for WebRTC.")
            case None:
                raise missing("type")
            case other:
                raise invalid(
                    "type",
                    f"Invalid value: '{other}'. Supported values are: "
                    + ", ".join(f"'{name}'" for name in _CLIENT_EVENT_TYPES)
                    + ".",
                )

    # session.update

    async def _session_update(self, conn: _Connection, event: JsonDict) -> None:
        update = event.get("session")
        if not isinstance(update, dict):
            raise missing("session")
        if "type" not in update:
            raise missing("session.type")
        kind = conn.record.session["type"]
        if update["type"] != kind:
            raise invalid(
                "session.type",
                f"Passing a {update['type']} session update event to a {kind} session is not "
                "allowed.",
            )
        if kind == "transcription":
            validate_transcription_update(update)
            merged = copy.deepcopy(conn.record.session)
            merge(merged["audio"], update.get("audio") or {})
            if "include" in update:
                merged["include"] = update["include"]
            check_transcription_session(merged)
            conn.record.session = merged
            await self._send(conn, {"type": "session.updated", "session": merged})
            return
        for key in update:
            if key not in SESSION_KEYS:
                raise unknown_parameter(f"session.{key}")
        if "model" in update and update["model"] != conn.record.session["model"]:
            raise invalid("session.model", "The model cannot be changed during a session.")
        if "instructions" in update and not isinstance(update["instructions"], str | None):
            raise invalid("session.instructions", "Expected a string.")
        if "output_modalities" in update:
            validate_modalities(update["output_modalities"], "session.output_modalities")
        if "tools" in update:
            validate_tools(update["tools"], "session.tools")
        if "tool_choice" in update:
            validate_tool_choice(update["tool_choice"], "session.tool_choice")
        if "max_output_tokens" in update:
            validate_max_tokens(update["max_output_tokens"], "session.max_output_tokens")
        merged = copy.deepcopy(conn.record.session)
        if "audio" in update:
            validate_audio(update["audio"], "session.audio")
            new_voice = ((update["audio"] or {}).get("output") or {}).get("voice")
            old_voice = merged["audio"]["output"]["voice"]
            if new_voice is not None and new_voice != old_voice and conn.audio_sent:
                raise ProtocolError(
                    "cannot_update_voice",
                    "Cannot update a session's voice after the model has responded with audio.",
                    param="session.audio.output.voice",
                )
            merge(merged["audio"], update["audio"] or {})
        for key, value in update.items():
            if key not in ("audio", "type"):
                merged[key] = copy.deepcopy(value)
        conn.record.session = merged
        await self._send(conn, {"type": "session.updated", "session": merged})

    # audio buffer

    async def _append_audio(self, conn: _Connection, event: JsonDict) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            raise missing("audio")
        try:
            data = base64.b64decode(audio, validate=True)
        except binascii.Error as err:
            raise invalid("audio", "Invalid base64 audio.") from err
        await conn.audio.append(
            data,
            conn.record.session["audio"]["input"],
            send=functools.partial(self._send, conn),
            commit=functools.partial(self._commit_audio, conn),
            on_speech=functools.partial(self._interrupt, conn),
        )

    async def _commit_audio(
        self, conn: _Connection, vad_item_id: str | None = None, audio: bytes | None = None
    ) -> None:
        """Commit the buffer: the client's commit, or the VAD's (with its item and audio)."""
        audio_input = conn.record.session["audio"]["input"]
        per_ms = bytes_per_ms(audio_input.get("format") or {})
        if audio is None:
            buffered_ms = len(conn.audio.buffer) / per_ms
            if buffered_ms < MIN_COMMIT_MS:
                raise ProtocolError(
                    "input_audio_buffer_commit_empty",
                    "Error committing input audio buffer: buffer too small. Expected at least "
                    f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of "
                    "audio.",
                )
            audio = conn.audio.take()
        item: JsonDict = {
            "id": vad_item_id or new_id("item"),
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        seconds = len(audio) / per_ms / 1000
        conn.record.audio.committed_ms.append(seconds * 1000)
        previous = conn.record.conversation[-1]["id"] if conn.record.conversation else None
        await self._send(
            conn,
            {
                "type": "input_audio_buffer.committed",
                "previous_item_id": previous,
                "item_id": item["id"],
            },
        )
        await self._add_item(conn, item, previous)
        heard = (
            self.transcript_queue.popleft()
            if self.transcript_queue
            else Transcript(text=self.input_audio_transcript or "")
        )
        heard = replace(
            heard,
            failed_code=heard.failed_code or self.faults.transcription_failed_code,
            drop=heard.drop or self.faults.drop_mid_transcription,
        )
        conn.audio.heard[item["id"]] = heard.text
        if transcription := audio_input.get("transcription"):
            self._spawn(
                conn,
                transcribe(
                    functools.partial(self._send, conn),
                    functools.partial(self._drop, conn),
                    item=item,
                    transcript=heard,
                    seconds=seconds,
                    delay_per_second=self.transcribe_delay_s,
                    model=transcription.get("model"),
                    record=conn.record.audio,
                ),
            )
        detection = audio_input.get("turn_detection") or {}
        if (
            vad_item_id is not None
            and conn.record.session["type"] == "realtime"
            and detection.get("create_response", True)
        ):
            # Server VAD answers the turn by itself (unless a response is still running).
            with contextlib.suppress(ProtocolError):
                await self._response_create(conn, {"type": "response.create"})

    # conversation items

    def _find_item(self, conn: _Connection, item_id: Any) -> JsonDict:
        if not isinstance(item_id, str):
            raise missing("item_id")
        for item in conn.record.conversation:
            if item["id"] == item_id:
                return item
        raise invalid("item_id", f"Item with item_id not found: {item_id}")

    async def _create_item(self, conn: _Connection, event: JsonDict) -> None:
        item = event.get("item")
        if not isinstance(item, dict):
            raise missing("item")
        item = validate_item(item, conn.record.conversation)
        previous = event.get("previous_item_id")
        conversation = conn.record.conversation
        if previous is None:
            previous = conversation[-1]["id"] if conversation else None
            conversation.append(item)
        elif previous == "root":
            conversation.insert(0, item)
            previous = None
        else:
            index = next((i for i, it in enumerate(conversation) if it["id"] == previous), None)
            if index is None:
                raise invalid("previous_item_id", f"Item with id '{previous}' not found.")
            conversation.insert(index + 1, item)
        await self._send(
            conn, {"type": "conversation.item.added", "previous_item_id": previous, "item": item}
        )
        await self._send(
            conn, {"type": "conversation.item.done", "previous_item_id": previous, "item": item}
        )

    async def _add_item(self, conn: _Connection, item: JsonDict, previous: str | None) -> None:
        conn.record.conversation.append(item)
        await self._send(
            conn, {"type": "conversation.item.added", "previous_item_id": previous, "item": item}
        )
        await self._send(
            conn, {"type": "conversation.item.done", "previous_item_id": previous, "item": item}
        )

    # responses

    def _response_cancel(self, conn: _Connection, event: JsonDict) -> None:
        active = conn.active
        if active is None:
            raise ProtocolError(
                "response_cancel_not_active",
                "Cancellation failed: no active response found.",
            )
        response_id = event.get("response_id")
        if response_id is not None and response_id != active.id:
            raise invalid("response_id", f"Response '{response_id}' is not active.")
        active.cancel_reason = "client_cancelled"
        active.cancel.set()

    async def _response_create(self, conn: _Connection, event: JsonDict) -> None:
        raw_params = event.get("response") or {}
        if not isinstance(raw_params, dict):
            raise invalid("response", "Expected an object.")
        params: JsonDict = raw_params
        for key in params:
            if key not in RESPONSE_KEYS:
                raise unknown_parameter(f"response.{key}")
        if conn.active is not None:
            raise ProtocolError(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress: "
                f"{conn.active.id}. Wait until the response is finished before creating a new one.",
            )
        session = conn.record.session
        modalities: Any = params.get("output_modalities", session["output_modalities"])
        validate_modalities(modalities, "response.output_modalities")
        tools = params.get("tools", session["tools"]) or []
        validate_tools(tools, "response.tools")
        tool_choice = params.get("tool_choice", session["tool_choice"])
        validate_tool_choice(tool_choice, "response.tool_choice")
        max_tokens = params.get("max_output_tokens", session["max_output_tokens"])
        validate_max_tokens(max_tokens, "response.max_output_tokens")
        conversation = params.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            raise invalid("response.conversation", "Expected 'auto' or 'none'.")
        out_of_band = conversation == "none"
        if "input" in params:
            if not isinstance(params["input"], list):
                raise invalid("response.input", "Expected an array of items.")
            if not all(isinstance(it, dict) for it in params["input"]):
                raise invalid("response.input", "Expected an array of items.")
            items = [validate_item(it, [], check_call_ids=False) for it in params["input"]]
        else:
            items = list(conn.record.conversation)
        user_text = next(
            (
                _item_text(
                    item, conn.audio.heard.get(str(item.get("id")), self.input_audio_transcript)
                )
                for item in reversed(items)
                if item.get("type") == "message" and item.get("role") == "user"
            ),
            None,
        )
        request = ResponseRequest(
            connection_id=conn.record.id,
            user_text=user_text,
            items=tuple(items),
            tools=tuple(tools),
            tool_choice=tool_choice,
            instructions=str(params.get("instructions", session["instructions"]) or ""),
            output_modalities=tuple(str(modality) for modality in modalities),
            out_of_band=out_of_band,
        )
        reply = next((r.build(request) for r in self.rules if r.matches(request)), None)
        reply = reply or default_reply(request)
        if self.faults.response_error_code is not None:
            reply = Reply(error_code=self.faults.response_error_code)
        if reply.error_code is not None:
            await self._send_error(
                conn,
                reply.error_code,
                reply.error_message,
                client_event_id=event.get("event_id"),
                error_type="server_error",
            )
            return
        active = _ActiveResponse(id=new_id("resp"))
        conn.active = active
        active.task = asyncio.get_running_loop().create_task(
            self._run_response(conn, active, request, reply, params, max_tokens)
        )

    async def _pause(self, active: _ActiveResponse, delay: float) -> bool:
        """Sleep ``delay`` seconds unless cancelled; return whether the response was cancelled."""
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await active.cancel.wait()
        else:
            await asyncio.sleep(0)
        return active.cancel.is_set()

    async def _run_response(
        self,
        conn: _Connection,
        active: _ActiveResponse,
        request: ResponseRequest,
        reply: Reply,
        params: JsonDict,
        max_tokens: Any,
    ) -> None:
        try:
            await self._stream_response(conn, active, request, reply, params, max_tokens)
        except ConnectionError:
            _LOGGER.debug("Connection %s closed while streaming", conn.record.id)
        finally:
            if conn.active is active:
                conn.active = None

    async def _stream_response(
        self,
        conn: _Connection,
        active: _ActiveResponse,
        request: ResponseRequest,
        reply: Reply,
        params: JsonDict,
        max_tokens: Any,
    ) -> None:
        session = conn.record.session
        audio_mode = request.output_modalities == ("audio",)
        faults = self.faults
        drop = reply.drop or faults.drop_mid_response
        drop_after = reply.drop_after_deltas if reply.drop else faults.drop_after_deltas
        oversized = reply.oversized_frame or faults.oversized_frame
        first_delay = (
            reply.first_delta_delay
            if reply.first_delta_delay is not None
            else self.first_delta_delay
        )
        interval = reply.delta_interval if reply.delta_interval is not None else self.delta_interval
        text = reply.text or ""
        calls = list(reply.function_calls)
        if request.tool_choice == "none":
            calls = []
        elif self.strict_tools:
            calls = [call for call in calls if call.name in request.tool_names]
        if not text and not calls:
            text = default_reply(request).text or ""
        status = "completed"
        status_details: JsonDict | None = None
        if isinstance(max_tokens, int) and _estimate_tokens(text) > max_tokens:
            text = text[: max_tokens * 4]
            calls = []
            status = "incomplete"
            status_details = {"type": "incomplete", "reason": "max_output_tokens"}

        response: JsonDict = {
            "object": "realtime.response",
            "id": active.id,
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": None if request.out_of_band else f"conv_{conn.record.session_id}",
            "output_modalities": list(request.output_modalities),
            "max_output_tokens": max_tokens,
            "audio": {"output": copy.deepcopy(session["audio"]["output"])},
            "usage": None,
            "metadata": params.get("metadata"),
        }
        await self._send(conn, {"type": "response.created", "response": copy.deepcopy(response)})
        if faults.unknown_events:
            await self._send(conn, {"type": UNKNOWN_EVENT_TYPE, "response_id": active.id})

        output: list[JsonDict] = []
        deltas_sent = 0
        audio_bytes = 0
        cancelled = await self._pause(active, first_delay)
        in_conversation = not request.out_of_band

        async def add_output(item: JsonDict) -> int:
            output_index = len(output)
            output.append(item)
            await self._send(
                conn,
                {
                    "type": "response.output_item.added",
                    "response_id": active.id,
                    "output_index": output_index,
                    "item": copy.deepcopy(item),
                },
            )
            if in_conversation:
                previous = conn.record.conversation[-1]["id"] if conn.record.conversation else None
                conn.record.conversation.append(item)
                await self._send(
                    conn,
                    {
                        "type": "conversation.item.added",
                        "previous_item_id": previous,
                        "item": copy.deepcopy(item),
                    },
                )
            return output_index

        async def finish_output(item: JsonDict, output_index: int) -> None:
            await self._send(
                conn,
                {
                    "type": "response.output_item.done",
                    "response_id": active.id,
                    "output_index": output_index,
                    "item": copy.deepcopy(item),
                },
            )
            if in_conversation:
                await self._send(
                    conn, {"type": "conversation.item.done", "item": copy.deepcopy(item)}
                )

        async def maybe_drop() -> bool:
            if drop is not None and deltas_sent >= drop_after:
                await self._drop(conn, drop)
                return True
            return False

        if text and not cancelled:
            item: JsonDict = {
                "id": new_id("item"),
                "object": "realtime.item",
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            index = await add_output(item)
            part_type = "audio" if audio_mode else "text"
            part: JsonDict = (
                {"type": part_type, "transcript": ""}
                if audio_mode
                else {"type": "text", "text": ""}
            )
            base = {
                "response_id": active.id,
                "item_id": item["id"],
                "output_index": index,
                "content_index": 0,
            }
            await self._send(conn, {"type": "response.content_part.added", **base, "part": part})
            sent: list[str] = []
            for number, chunk in enumerate(_split_text(text, reply.deltas)):
                if number and await self._pause(active, interval):
                    cancelled = True
                    break
                if oversized and number == 0:
                    await self._send(
                        conn,
                        {
                            "type": "response.output_audio.delta"
                            if audio_mode
                            else "response.output_text.delta",
                            **base,
                            "delta": "A" * OVERSIZED_FRAME_BYTES,
                        },
                    )
                if audio_mode:
                    await self._send(
                        conn,
                        {"type": "response.output_audio_transcript.delta", **base, "delta": chunk},
                    )
                    pcm = tone(self.audio_ms_per_delta, phase=audio_bytes // 2)
                    audio_bytes += len(pcm)
                    await self._send(
                        conn,
                        {
                            "type": "response.output_audio.delta",
                            **base,
                            "delta": base64.b64encode(pcm).decode(),
                        },
                    )
                    conn.audio_sent = True
                else:
                    await self._send(
                        conn, {"type": "response.output_text.delta", **base, "delta": chunk}
                    )
                sent.append(chunk)
                deltas_sent += 1
                if await maybe_drop():
                    return
            spoken = "".join(sent)
            if audio_mode:
                item["content"] = [{"type": "output_audio", "transcript": spoken}]
                final_part: JsonDict = {"type": "audio", "transcript": spoken}
            else:
                item["content"] = [{"type": "output_text", "text": spoken}]
                final_part = {"type": "text", "text": spoken}
            if not cancelled:
                if audio_mode:
                    await self._send(conn, {"type": "response.output_audio.done", **base})
                    await self._send(
                        conn,
                        {
                            "type": "response.output_audio_transcript.done",
                            **base,
                            "transcript": spoken,
                        },
                    )
                else:
                    await self._send(
                        conn, {"type": "response.output_text.done", **base, "text": spoken}
                    )
                await self._send(
                    conn, {"type": "response.content_part.done", **base, "part": final_part}
                )
            item["status"] = "incomplete" if cancelled or status == "incomplete" else "completed"
            await finish_output(item, index)

        for call in calls:
            if cancelled or await self._pause(active, interval if output else 0):
                cancelled = True
                break
            arguments = call.arguments_json()
            item = {
                "id": new_id("item"),
                "object": "realtime.item",
                "type": "function_call",
                "status": "in_progress",
                "name": call.name,
                "call_id": call.call_id or new_id("call"),
                "arguments": "",
            }
            index = await add_output(item)
            base = {
                "response_id": active.id,
                "item_id": item["id"],
                "output_index": index,
                "call_id": item["call_id"],
            }
            for chunk in _split_text(arguments, 2 if len(arguments) > 1 else 1):
                await self._send(
                    conn, {"type": "response.function_call_arguments.delta", **base, "delta": chunk}
                )
                deltas_sent += 1
                if await maybe_drop():
                    return
            await self._send(
                conn,
                {
                    "type": "response.function_call_arguments.done",
                    **base,
                    "name": call.name,
                    "arguments": arguments,
                },
            )
            item["arguments"] = arguments
            item["status"] = "completed"
            await finish_output(item, index)

        if cancelled:
            status = "cancelled"
            status_details = {"type": "cancelled", "reason": active.cancel_reason}
        elif reply.failed_code is not None:
            status = "failed"
            status_details = {
                "type": "failed",
                "error": {"type": "server_error", "code": reply.failed_code},
            }
        context_text = request.instructions + " ".join(
            _item_text(it, conn.audio.heard.get(str(it.get("id")), self.input_audio_transcript))
            for it in request.items
        )
        output_text = "".join(_item_text(it, None) + str(it.get("arguments", "")) for it in output)
        input_tokens = _estimate_tokens(context_text)
        text_out = _estimate_tokens(output_text)
        audio_out = audio_bytes // (BYTES_PER_MS_PCM * 50)  # ~20 tokens per second of audio
        response.update(
            status=status,
            status_details=status_details,
            output=copy.deepcopy(output),
            usage={
                "total_tokens": input_tokens + text_out + audio_out,
                "input_tokens": input_tokens,
                "output_tokens": text_out + audio_out,
                "input_token_details": {
                    "text_tokens": input_tokens,
                    "audio_tokens": 0,
                    "image_tokens": 0,
                    "cached_tokens": 0,
                    "cached_tokens_details": {
                        "text_tokens": 0,
                        "audio_tokens": 0,
                        "image_tokens": 0,
                    },
                },
                "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
            },
        )
        if conn.active is active:
            conn.active = None
        await self._send(conn, {"type": "response.done", "response": response})
        await self._send(
            conn,
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
                    {"name": "tokens", "limit": 40000, "remaining": 39000, "reset_seconds": 1.5},
                ],
            },
        )


def _content_texts(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    return [
        part["text"]
        for part in content
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]


def _texts_in(event: JsonDict) -> list[str]:
    """Collect the human-readable texts in a client event."""
    texts: list[str] = []
    match event.get("type"):
        case "conversation.item.create":
            item = event.get("item") or {}
            texts.extend(_content_texts(item.get("content")))
            if isinstance(item.get("output"), str):
                texts.append(item["output"])
        case "session.update":
            instructions = (event.get("session") or {}).get("instructions")
            if isinstance(instructions, str):
                texts.append(instructions)
        case "response.create":
            params = event.get("response") or {}
            if isinstance(params.get("instructions"), str):
                texts.append(params["instructions"])
            for item in params.get("input") or []:
                if isinstance(item, dict):
                    texts.extend(_content_texts(item.get("content")))
    return texts


# --- CLI ----------------------------------------------------------------------------------


async def _serve_forever(args: argparse.Namespace) -> None:
    server = RealtimeTestServer(
        api_keys=args.api_key or (DEFAULT_API_KEY,),
        handshake_delay=args.handshake_delay,
        first_delta_delay=args.first_delta_delay,
        delta_interval=args.delta_interval,
        session_max_age=args.session_max_age,
        bad_key_mode=args.bad_key_mode,
        record_server_events=False,
        host=args.host,
        port=args.port,
    )
    async with server:
        print(f"Realtime test server on {server.base_url} (key {server.api_key})", flush=True)
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", action="append", help="valid key (repeatable)")
    parser.add_argument("--handshake-delay", type=float, default=DEFAULT_HANDSHAKE_DELAY)
    parser.add_argument("--first-delta-delay", type=float, default=DEFAULT_FIRST_DELTA_DELAY)
    parser.add_argument("--delta-interval", type=float, default=DEFAULT_DELTA_INTERVAL)
    parser.add_argument("--session-max-age", type=float, default=DEFAULT_SESSION_MAX_AGE)
    parser.add_argument("--bad-key-mode", choices=("http", "event"), default="http")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args))


if __name__ == "__main__":
    main()
