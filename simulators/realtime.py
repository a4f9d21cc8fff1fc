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
* The input audio buffer, conversation items (kept server-side), ``response.create`` with the
  full GA event sequence in text, audio and function-call variants, ``response.cancel``,
  barge-in and the 60-minute session cap are all implemented.
* Replies are scripted with :class:`Rule` objects (first match wins) and a Swedish default.
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
from collections.abc import Callable, Mapping, Sequence
import contextlib
import copy
from dataclasses import dataclass, field
import itertools
import json
import logging
import math
import re
import secrets
import struct
import time
from types import TracebackType
from typing import Any, Final, Literal, Self

from aiohttp import WSMsgType, web

_LOGGER = logging.getLogger(__name__)

type JsonDict = dict[str, Any]
type BadKeyMode = Literal["http", "event"]
type DropMode = Literal["close_1011", "abort"]

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
VOICES: Final = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)

# Latency defaults model a real round trip; tests use RealtimeTestServer.instant().
DEFAULT_HANDSHAKE_DELAY: Final = 0.150
DEFAULT_FIRST_DELTA_DELAY: Final = 0.250
DEFAULT_DELTA_INTERVAL: Final = 0.020
DEFAULT_SESSION_MAX_AGE: Final = 60 * 60.0

SAMPLE_RATE: Final = 24_000
BYTES_PER_MS_PCM: Final = SAMPLE_RATE * 2 // 1000  # PCM16 mono
BYTES_PER_MS_G711: Final = 8
MIN_COMMIT_MS: Final = 100
MAX_CLIENT_MESSAGE: Final = 16 * 1024 * 1024  # the API takes appends of up to 15 MiB
OVERSIZED_FRAME_BYTES: Final = 1024 * 1024 + 64 * 1024  # over the SDK's 1 MiB max_size
UNKNOWN_EVENT_TYPE: Final = "response.alice_test.unknown_event"

_SESSION_KEYS: Final = frozenset(
    {
        "type",
        "model",
        "instructions",
        "output_modalities",
        "audio",
        "tools",
        "tool_choice",
        "max_output_tokens",
        "truncation",
        "tracing",
        "include",
        "prompt",
        "reasoning",
    }
)
_RESPONSE_KEYS: Final = frozenset(
    {
        "conversation",
        "instructions",
        "tools",
        "tool_choice",
        "output_modalities",
        "max_output_tokens",
        "metadata",
        "input",
        "audio",
        "prompt",
        "reasoning",
    }
)
_AUDIO_INPUT_KEYS: Final = frozenset(
    {"format", "transcription", "noise_reduction", "turn_detection"}
)
_AUDIO_OUTPUT_KEYS: Final = frozenset({"format", "voice", "speed"})
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

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    """Return a unique id shaped like the API's (``event_…``, ``item_…``, ``resp_…``)."""
    return f"{prefix}_{secrets.token_hex(6)}{next(_ids):06x}"


class ProtocolError(Exception):
    """A client mistake, sent back as a recoverable ``error`` event."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        """Initialize the error."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.error_type = error_type


def _unknown_parameter(param: str) -> ProtocolError:
    return ProtocolError("unknown_parameter", f"Unknown parameter: '{param}'.", param=param)


def _missing(param: str) -> ProtocolError:
    return ProtocolError(
        "missing_required_parameter", f"Missing required parameter: '{param}'.", param=param
    )


def _invalid(param: str, message: str) -> ProtocolError:
    return ProtocolError("invalid_value", message, param=param)


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
    """

    handshake_status: int | None = None
    response_error_code: str | None = None
    drop_mid_response: DropMode | None = None
    drop_after_deltas: int = 1
    oversized_frame: bool = False
    unknown_events: bool = False
    rest_status: int | None = None
    drop_on_client_event: DropMode | None = None


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
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    audio_buffer: bytearray = field(default_factory=bytearray)
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


def _tone(ms: int, phase: int, frequency: float = 440.0, amplitude: int = 2000) -> bytes:
    samples = SAMPLE_RATE * ms // 1000
    return struct.pack(
        f"<{samples}h",
        *(
            int(amplitude * math.sin(2 * math.pi * frequency * (phase + i) / SAMPLE_RATE))
            for i in range(samples)
        ),
    )


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
        input_audio_transcript: What the server "hears" in committed input audio.
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
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Initialize the server (call :meth:`start` to bind it)."""
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
                        "item_id": _new_id("item"),
                    },
                )
            if conn.active is not None:
                conn.active.cancel_reason = "turn_detected"
                conn.active.cancel.set()

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
            session_id=_new_id("sess"),
            opened_at=time.monotonic(),
        )
        record.session = _default_session(session_model, record.session_id, self.session_max_age)
        self.connections.append(record)
        conn = _Connection(record=record, ws=ws, request=request)
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
        if not model:
            await self._send_error(
                conn, "missing_required_parameter", "Missing model.", param="model"
            )
            await self._close(conn, 1008, b"missing model")
            return
        if model not in self.models:
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
        payload = {"type": event["type"], "event_id": _new_id("event")}
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
        match event.get("type"):
            case "session.update":
                await self._session_update(conn, event)
            case "input_audio_buffer.append":
                self._append_audio(conn, event)
            case "input_audio_buffer.commit":
                await self._commit_audio(conn)
            case "input_audio_buffer.clear":
                conn.audio_buffer.clear()
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
                raise _invalid("type", "output_audio_buffer.clear is only supported for WebRTC.")
            case None:
                raise _missing("type")
            case other:
                raise _invalid(
                    "type",
                    f"Invalid value: '{other}'. Supported values are: "
                    + ", ".join(f"'{name}'" for name in _CLIENT_EVENT_TYPES)
                    + ".",
                )

    # session.update

    async def _session_update(self, conn: _Connection, event: JsonDict) -> None:
        update = event.get("session")
        if not isinstance(update, dict):
            raise _missing("session")
        if "type" not in update:
            raise _missing("session.type")
        if update["type"] != "realtime":
            raise _invalid("session.type", "The session type cannot be changed.")
        for key in update:
            if key not in _SESSION_KEYS:
                raise _unknown_parameter(f"session.{key}")
        if "model" in update and update["model"] != conn.record.session["model"]:
            raise _invalid("session.model", "The model cannot be changed during a session.")
        if "instructions" in update and not isinstance(update["instructions"], str | None):
            raise _invalid("session.instructions", "Expected a string.")
        if "output_modalities" in update:
            _validate_modalities(update["output_modalities"], "session.output_modalities")
        if "tools" in update:
            _validate_tools(update["tools"], "session.tools")
        if "tool_choice" in update:
            _validate_tool_choice(update["tool_choice"], "session.tool_choice")
        if "max_output_tokens" in update:
            _validate_max_tokens(update["max_output_tokens"], "session.max_output_tokens")
        merged = copy.deepcopy(conn.record.session)
        if "audio" in update:
            _validate_audio(update["audio"], "session.audio")
            new_voice = ((update["audio"] or {}).get("output") or {}).get("voice")
            old_voice = merged["audio"]["output"]["voice"]
            if new_voice is not None and new_voice != old_voice and conn.audio_sent:
                raise ProtocolError(
                    "cannot_update_voice",
                    "Cannot update a session's voice after the model has responded with audio.",
                    param="session.audio.output.voice",
                )
            _merge(merged["audio"], update["audio"] or {})
        for key, value in update.items():
            if key not in ("audio", "type"):
                merged[key] = copy.deepcopy(value)
        conn.record.session = merged
        await self._send(conn, {"type": "session.updated", "session": merged})

    # audio buffer

    def _bytes_per_ms(self, conn: _Connection) -> int:
        fmt = conn.record.session["audio"]["input"].get("format") or {}
        return (
            BYTES_PER_MS_PCM if fmt.get("type", "audio/pcm") == "audio/pcm" else BYTES_PER_MS_G711
        )

    def _append_audio(self, conn: _Connection, event: JsonDict) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            raise _missing("audio")
        try:
            conn.audio_buffer.extend(base64.b64decode(audio, validate=True))
        except binascii.Error as err:
            raise _invalid("audio", "Invalid base64 audio.") from err

    async def _commit_audio(self, conn: _Connection) -> None:
        buffered_ms = len(conn.audio_buffer) // self._bytes_per_ms(conn)
        if buffered_ms < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
            )
        item: JsonDict = {
            "id": _new_id("item"),
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        conn.audio_buffer.clear()
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
        transcription = conn.record.session["audio"]["input"].get("transcription")
        if transcription and self.input_audio_transcript is not None:
            await self._send(
                conn,
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item["id"],
                    "content_index": 0,
                    "transcript": self.input_audio_transcript,
                    "usage": {"type": "duration", "seconds": buffered_ms / 1000},
                },
            )

    # conversation items

    def _find_item(self, conn: _Connection, item_id: Any) -> JsonDict:
        if not isinstance(item_id, str):
            raise _missing("item_id")
        for item in conn.record.conversation:
            if item["id"] == item_id:
                return item
        raise _invalid("item_id", f"Item with item_id not found: {item_id}")

    async def _create_item(self, conn: _Connection, event: JsonDict) -> None:
        item = event.get("item")
        if not isinstance(item, dict):
            raise _missing("item")
        item = _validate_item(item, conn.record.conversation)
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
                raise _invalid("previous_item_id", f"Item with id '{previous}' not found.")
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
            raise _invalid("response_id", f"Response '{response_id}' is not active.")
        active.cancel_reason = "client_cancelled"
        active.cancel.set()

    async def _response_create(self, conn: _Connection, event: JsonDict) -> None:
        raw_params = event.get("response") or {}
        if not isinstance(raw_params, dict):
            raise _invalid("response", "Expected an object.")
        params: JsonDict = raw_params
        for key in params:
            if key not in _RESPONSE_KEYS:
                raise _unknown_parameter(f"response.{key}")
        if conn.active is not None:
            raise ProtocolError(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress: "
                f"{conn.active.id}. Wait until the response is finished before creating a new one.",
            )
        session = conn.record.session
        modalities: Any = params.get("output_modalities", session["output_modalities"])
        _validate_modalities(modalities, "response.output_modalities")
        tools = params.get("tools", session["tools"]) or []
        _validate_tools(tools, "response.tools")
        tool_choice = params.get("tool_choice", session["tool_choice"])
        _validate_tool_choice(tool_choice, "response.tool_choice")
        max_tokens = params.get("max_output_tokens", session["max_output_tokens"])
        _validate_max_tokens(max_tokens, "response.max_output_tokens")
        conversation = params.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            raise _invalid("response.conversation", "Expected 'auto' or 'none'.")
        out_of_band = conversation == "none"
        if "input" in params:
            if not isinstance(params["input"], list):
                raise _invalid("response.input", "Expected an array of items.")
            if not all(isinstance(it, dict) for it in params["input"]):
                raise _invalid("response.input", "Expected an array of items.")
            items = [_validate_item(it, [], check_call_ids=False) for it in params["input"]]
        else:
            items = list(conn.record.conversation)
        user_text = next(
            (
                _item_text(item, self.input_audio_transcript)
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
        active = _ActiveResponse(id=_new_id("resp"))
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
                "id": _new_id("item"),
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
                    pcm = _tone(self.audio_ms_per_delta, audio_bytes // 2)
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
                "id": _new_id("item"),
                "object": "realtime.item",
                "type": "function_call",
                "status": "in_progress",
                "name": call.name,
                "call_id": call.call_id or _new_id("call"),
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
            _item_text(it, self.input_audio_transcript) for it in request.items
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


# --- Validation helpers -------------------------------------------------------------------


def _merge(target: JsonDict, update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and key != "format":
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _validate_modalities(value: Any, param: str) -> None:
    if value not in (["audio"], ["text"], ("audio",), ("text",)):
        raise _invalid(param, "Invalid modalities: expected ['audio'] or ['text'].")


def _validate_max_tokens(value: Any, param: str) -> None:
    if value == "inf" or value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4096:
        raise _invalid(param, "Expected an integer between 1 and 4096, or 'inf'.")


def _validate_tools(tools: Any, param: str) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _invalid(param, "Expected an array of tools.")
    for index, tool in enumerate(tools):
        where = f"{param}[{index}]"
        if not isinstance(tool, dict):
            raise _invalid(where, "Expected an object.")
        if tool.get("type") != "function":
            raise _invalid(f"{where}.type", "Only function tools are supported here.")
        for key in tool:
            if key not in ("type", "name", "description", "parameters"):
                raise _unknown_parameter(f"{where}.{key}")
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise _missing(f"{where}.name")
        if "parameters" in tool and not isinstance(tool["parameters"], dict):
            raise _invalid(f"{where}.parameters", "Expected a JSON schema object.")


def _validate_tool_choice(value: Any, param: str) -> None:
    if value in ("auto", "none", "required"):
        return
    if (
        isinstance(value, dict)
        and value.get("type") == "function"
        and isinstance(value.get("name"), str)
    ):
        return
    raise _invalid(param, "Expected 'auto', 'none', 'required' or a function.")


def _validate_format(value: Any, param: str) -> None:
    if not isinstance(value, dict):
        raise _invalid(
            param,
            f"Invalid format {value!r}: expected an object like {{'type': 'audio/pcm', 'rate': 24000}}.",
        )
    kind = value.get("type")
    if kind == "audio/pcm":
        if value.get("rate", SAMPLE_RATE) != SAMPLE_RATE:
            raise _invalid(f"{param}.rate", "Only 24000 Hz is supported for audio/pcm.")
    elif kind not in ("audio/pcmu", "audio/pcma"):
        raise _invalid(f"{param}.type", f"Invalid audio format type: {kind!r}.")


def _validate_audio(audio: Any, param: str) -> None:
    if audio is None:
        return
    if not isinstance(audio, dict):
        raise _invalid(param, "Expected an object.")
    for key in audio:
        if key not in ("input", "output"):
            raise _unknown_parameter(f"{param}.{key}")
    audio_in = audio.get("input") or {}
    audio_out = audio.get("output") or {}
    for key in audio_in:
        if key not in _AUDIO_INPUT_KEYS:
            raise _unknown_parameter(f"{param}.input.{key}")
    for key in audio_out:
        if key not in _AUDIO_OUTPUT_KEYS:
            raise _unknown_parameter(f"{param}.output.{key}")
    for section, where in ((audio_in, "input"), (audio_out, "output")):
        if "format" in section:
            _validate_format(section["format"], f"{param}.{where}.format")
    detection = audio_in.get("turn_detection")
    if detection is not None and (
        not isinstance(detection, dict)
        or detection.get("type") not in ("server_vad", "semantic_vad")
    ):
        raise _invalid(
            f"{param}.input.turn_detection", "Expected null, server_vad or semantic_vad."
        )
    voice = audio_out.get("voice")
    if voice is not None and voice not in VOICES and not isinstance(voice, dict):
        raise _invalid(f"{param}.output.voice", f"Invalid voice {voice!r}.")
    speed = audio_out.get("speed")
    if speed is not None and not (isinstance(speed, int | float) and 0.25 <= speed <= 1.5):
        raise _invalid(f"{param}.output.speed", "Expected a speed between 0.25 and 1.5.")


_CONTENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "user": ("input_text", "input_audio", "input_image"),
    "system": ("input_text",),
    "assistant": ("output_text", "output_audio"),
}


def _validate_item(
    item: JsonDict, conversation: list[JsonDict], *, check_call_ids: bool = True
) -> JsonDict:
    item = copy.deepcopy(item)
    kind = item.get("type")
    if kind == "message":
        role = item.get("role")
        if role not in _CONTENT_TYPES:
            raise _invalid("item.role", f"Invalid role {role!r}.")
        content = item.get("content")
        if not isinstance(content, list) or not content:
            raise _missing("item.content")
        for index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in _CONTENT_TYPES[role]:
                allowed = ", ".join(_CONTENT_TYPES[role])
                raise _invalid(
                    f"item.content[{index}].type",
                    f"Content type for {role} messages must be one of: {allowed}.",
                )
            if part["type"] in ("input_text", "output_text") and not isinstance(
                part.get("text"), str
            ):
                raise _missing(f"item.content[{index}].text")
            if part["type"] == "input_audio" and isinstance(part.get("audio"), str):
                try:
                    base64.b64decode(part["audio"], validate=True)
                except binascii.Error as err:
                    raise _invalid(f"item.content[{index}].audio", "Invalid base64 audio.") from err
    elif kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            raise _missing("item.call_id")
        if not isinstance(item.get("output"), str):
            raise _invalid("item.output", "The output must be a string.")
        if check_call_ids and not any(
            it.get("type") == "function_call" and it.get("call_id") == item["call_id"]
            for it in conversation
        ):
            raise _invalid(
                "item.call_id", f"Tool call ID '{item['call_id']}' not found in conversation."
            )
    elif kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            if not isinstance(item.get(key), str):
                raise _missing(f"item.{key}")
    else:
        raise _invalid("item.type", f"Invalid item type {kind!r}.")
    if check_call_ids and any(it["id"] == item.get("id") for it in conversation):
        raise _invalid("item.id", f"Item with id '{item['id']}' already exists.")
    item.setdefault("id", _new_id("item"))
    item["object"] = "realtime.item"
    item.setdefault("status", "completed")
    return item


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
