"""OpenAI Realtime (GA) client: a warm session pool with typed, Home Assistant-free turn events.

One WebSocket session is kept per conversation key (an HA conversation id or a satellite
id) and reused, so a follow-up turn pays no new handshake. Sessions are closed after
``idle_timeout`` seconds without a turn, replaced before a turn once older than
``session_max_age`` (the API caps sessions at 60 minutes) and discarded after any error, so
the next turn reconnects. A new session knows nothing: callers pass the conversation so far
as ``history`` and the backend adds the messages the session has not seen.

Each turn is an async iterator of :data:`RealtimeEvent` (text, transcript and audio deltas,
function calls, and a final :class:`RealtimeResponseDone`); failures raise a subclass of
:class:`RealtimeError`. Iterate turns with :func:`contextlib.aclosing` so that an abandoned
turn cancels its response at once.

Server events are dispatched on their ``type`` string: the SDK does not validate events,
and an unknown type arrives as the first class of its union with the right ``type``.
"""

import asyncio
import base64
import binascii
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
import inspect
import itertools
import json
import logging
import time
from typing import Any, Final, cast, override

from openai import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncOpenAI,
    AuthenticationError,
    OpenAIError,
    PermissionDeniedError,
)
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from openai.types.websocket_connection_options import WebSocketConnectionOptions
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .realtime_types import (
    AUDIO_FORMAT,
    SAMPLE_RATE,
    ContextMessage,
    RealtimeAudioDelta,
    RealtimeAuthError,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeEvent,
    RealtimeFunctionCall,
    RealtimeResponseDone,
    RealtimeResponseError,
    RealtimeSessionConfig,
    RealtimeSessionExpired,
    RealtimeStats,
    RealtimeTextDelta,
    RealtimeTimeoutError,
    RealtimeTool,
    RealtimeUsage,
)

__all__ = [
    "AUDIO_FORMAT",
    "SAMPLE_RATE",
    "ContextMessage",
    "RealtimeAudioDelta",
    "RealtimeAuthError",
    "RealtimeBackend",
    "RealtimeConnectionError",
    "RealtimeError",
    "RealtimeEvent",
    "RealtimeFunctionCall",
    "RealtimeResponseDone",
    "RealtimeResponseError",
    "RealtimeSessionConfig",
    "RealtimeSessionExpired",
    "RealtimeStats",
    "RealtimeTextDelta",
    "RealtimeTimeoutError",
    "RealtimeTool",
    "RealtimeUsage",
    "validate_api_key",
]

_LOGGER = logging.getLogger(__name__)


DEFAULT_IDLE_TIMEOUT: Final = 120.0
DEFAULT_SESSION_MAX_AGE: Final = 55 * 60.0
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_FIRST_DELTA_TIMEOUT: Final = 10.0
DEFAULT_STREAM_TIMEOUT: Final = 30.0
_SETTLE_TIMEOUT: Final = 5.0  # waiting for a cancelled response to end before a new turn
_CLOSE_TIMEOUT: Final = 5.0
_MAX_KEYS_IN_STATS: Final = 32

_CLOSE_CODE_MESSAGES: Final = {
    1001: "the server is going away",
    1006: "the connection was lost",
    1009: "a message was larger than the size limit",
    1011: "the server hit an internal error",
}


# --- Errors ------------------------------------------------------------------------------


# --- Internals ---------------------------------------------------------------------------


class _RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """Hands websockets a logger that never writes the ``Authorization`` header.

    websockets logs every handshake header at debug level, the bearer key included.
    """

    @override
    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if len(args) >= 2 and str(args[0]).lower() == "authorization":
            args = (args[0], "<redacted>", *args[2:])
        super().log(level, msg, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class _Closed:
    """Queued by the reader when the connection has ended."""

    error: BaseException | None


@dataclass(slots=True, eq=False, kw_only=True)
class _Session:
    key: str
    conn: AsyncRealtimeConnection
    session_id: str | None
    created_at: float
    events: asyncio.Queue[RealtimeServerEvent | _Closed] = field(default_factory=asyncio.Queue)
    reader: asyncio.Task[None] | None = None
    applied: dict[str, Any] | None = None
    seen: Counter[ContextMessage] = field(default_factory=Counter)
    audio_produced: bool = False
    closed: bool = False
    expired: bool = False
    discarded: bool = False
    in_flight: bool = False
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    ignored_event_ids: set[str] = field(default_factory=set)
    idle_handle: asyncio.TimerHandle | None = None
    turns: int = 0


type ClientSource = AsyncOpenAI | Callable[[], AsyncOpenAI | Awaitable[AsyncOpenAI]]


def _close_description(error: BaseException | None) -> str:
    if isinstance(error, ConnectionClosed):
        frame = error.sent if error.sent is not None else error.rcvd
        if frame is not None:
            detail = _CLOSE_CODE_MESSAGES.get(frame.code, frame.reason or "closed")
            return f"connection closed with code {frame.code} ({detail})"
        return "the connection was lost"
    if error is not None:
        return f"connection failed ({type(error).__name__})"
    return "the server closed the connection"


def _close_code(error: BaseException | None) -> str | None:
    if isinstance(error, ConnectionClosed):
        frame = error.sent if error.sent is not None else error.rcvd
        return f"close_{frame.code}" if frame is not None else "close_1006"
    return None


def _parse_arguments(raw: str) -> tuple[dict[str, Any], bool]:
    if not raw.strip():
        return {}, True
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}, False
    if isinstance(parsed, dict):
        return parsed, True
    return {}, False


def _missing_messages(
    seen: Counter[ContextMessage], history: Sequence[ContextMessage]
) -> list[ContextMessage]:
    """Return the history messages a session has not seen, in order.

    Messages are matched by role and text, counting repeats, so the same history can be
    passed on every turn.
    """
    remaining = Counter(seen)
    missing: list[ContextMessage] = []
    for message in history:
        if remaining[message] > 0:
            remaining[message] -= 1
        else:
            missing.append(message)
    return missing


# --- Backend -----------------------------------------------------------------------------


class RealtimeBackend:
    """Pool of warm Realtime sessions keyed by conversation, with a streaming turn API."""

    def __init__(
        self,
        client: ClientSource,
        *,
        model: str,
        websocket_connection_options: Mapping[str, Any] | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        session_max_age: float = DEFAULT_SESSION_MAX_AGE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        first_delta_timeout: float = DEFAULT_FIRST_DELTA_TIMEOUT,
        stream_timeout: float = DEFAULT_STREAM_TIMEOUT,
    ) -> None:
        """Initialize the backend; nothing connects before the first turn or prewarm.

        Args:
            client: An ``AsyncOpenAI`` client, or a callable returning one (or an awaitable
                of one), called once on first use.
            model: The Realtime model, fixed per session.
            websocket_connection_options: Passed to ``websockets`` (Home Assistant passes
                ``{"ssl": <context>}``; ``ssl`` is dropped for plain ``ws://`` URLs).
            idle_timeout: Seconds without a turn before a session is closed.
            session_max_age: Seconds after which a session is replaced before its next turn.
            connect_timeout: Seconds for the handshake and ``session.created``.
            first_delta_timeout: Default seconds from ``response.create`` to the first delta.
            stream_timeout: Seconds allowed between two events once a response streams.
        """
        self._client_source = client
        self._client: AsyncOpenAI | None = client if isinstance(client, AsyncOpenAI) else None
        self._model = model
        self._ws_options: dict[str, Any] = dict(websocket_connection_options or {})
        self._idle_timeout = idle_timeout
        self._session_max_age = session_max_age
        self._connect_timeout = connect_timeout
        self._first_delta_timeout = first_delta_timeout
        self._stream_timeout = stream_timeout
        self._sessions: dict[str, _Session] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._event_ids = itertools.count(1)
        self._closed = False
        self.stats = RealtimeStats()

    # --- Introspection ------------------------------------------------------------------

    @property
    def model(self) -> str:
        """The Realtime model."""
        return self._model

    @property
    def open_sessions(self) -> int:
        """Number of live pooled sessions."""
        return sum(1 for session in self._sessions.values() if not session.closed)

    def has_session(self, key: str) -> bool:
        """Whether a live session is pooled for ``key``."""
        session = self._sessions.get(key)
        return session is not None and not session.closed

    def session_id(self, key: str) -> str | None:
        """The server's session id for ``key``, if a session is pooled."""
        session = self._sessions.get(key)
        return session.session_id if session is not None else None

    # --- Public API ---------------------------------------------------------------------

    async def prewarm(self, key: str, config: RealtimeSessionConfig) -> None:
        """Open (or refresh) the session for ``key`` ahead of a turn and apply ``config``.

        Raises:
            RealtimeError: The session could not be opened.
        """
        async with self._locked(key):
            session, _ = await self._acquire(key, config)
            try:
                updated = await self._apply_config(session, config)
                await self._await_acks(session, updated=updated, items=0)
            except RealtimeError:
                self.stats.errors += 1
                self._discard(session)
                raise
            self._schedule_idle(session)

    async def add_context(
        self, key: str, messages: Sequence[ContextMessage], *, config: RealtimeSessionConfig
    ) -> int:
        """Add the messages the session for ``key`` has not seen yet; open it if needed.

        Returns:
            The number of messages sent.

        Raises:
            RealtimeError: The session could not be opened or the items not sent.
        """
        async with self._locked(key):
            session, _ = await self._acquire(key, config)
            try:
                updated = await self._apply_config(session, config)
                sent = await self._send_history(session, messages)
                await self._await_acks(session, updated=updated, items=sent)
            except RealtimeError:
                self.stats.errors += 1
                self._discard(session)
                raise
            self._schedule_idle(session)
            return sent

    async def respond(
        self,
        key: str,
        text: str,
        *,
        config: RealtimeSessionConfig,
        history: Sequence[ContextMessage] = (),
        instructions: str | None = None,
        first_delta_timeout: float | None = None,
    ) -> AsyncGenerator[RealtimeEvent]:
        """Run one text turn on the session for ``key``.

        Sends any ``session.update`` the config needs, the history messages the session
        has not seen, the user message and one ``response.create``.

        Args:
            key: Conversation key (HA conversation id or satellite id).
            text: The user's words.
            config: Session settings for this turn.
            history: The conversation before this turn (text messages in order; a trailing
                copy of ``text`` is ignored); only the messages the session has not seen
                are sent.
            instructions: Instructions for this response only.
            first_delta_timeout: Seconds allowed until the first delta.

        Yields:
            Deltas and function calls, then one :class:`RealtimeResponseDone`.

        Raises:
            RealtimeError: A subclass describing what failed; the session is discarded.
        """
        user = ContextMessage("user", text)
        if history and history[-1] == user:
            # The caller's log already holds this turn's message: send it once.
            history = history[:-1]
        response: dict[str, Any] = {}
        if instructions is not None:
            response["instructions"] = instructions
        async with self._locked(key):
            for attempt in range(2):
                session, new_session = await self._acquire(key, config)
                yielded = False
                try:
                    try:
                        await self._apply_config(session, config)
                        await self._send_history(session, history)
                        await self._send_item(session, user.as_item())
                    except RealtimeError:
                        self.stats.errors += 1
                        self._discard(session)
                        raise
                    session.seen[user] += 1
                    async with contextlib.aclosing(
                        self._stream(
                            session, response, first_delta_timeout, new_session=new_session
                        )
                    ) as stream:
                        async for event in stream:
                            yielded = True
                            yield event
                except (RealtimeConnectionError, RealtimeSessionExpired) as err:
                    # A pooled session can die just before a turn; retry once on a new one.
                    if yielded or new_session or attempt:
                        raise
                    _LOGGER.debug("Realtime session for %s was gone (%s); reconnecting", key, err)
                    continue
                return

    async def submit_tool_outputs(
        self,
        key: str,
        outputs: Sequence[tuple[str, str]],
        *,
        instructions: str | None = None,
        first_delta_timeout: float | None = None,
    ) -> AsyncGenerator[RealtimeEvent]:
        """Answer function calls: all ``function_call_output`` items, then one response.

        Args:
            key: Conversation key of the session that made the calls.
            outputs: ``(call_id, output)`` pairs; outputs are strings (usually JSON).
            instructions: Instructions for this response only.
            first_delta_timeout: Seconds allowed until the first delta.

        Yields:
            Deltas and function calls, then one :class:`RealtimeResponseDone`.

        Raises:
            RealtimeSessionExpired: The session that made the calls expired.
            RealtimeConnectionError: There is no live session for ``key``.
            RealtimeError: Any other failure; the session is discarded.
        """
        response: dict[str, Any] = {}
        if instructions is not None:
            response["instructions"] = instructions
        async with self._locked(key):
            session = self._sessions.get(key)
            if session is not None:
                self._cancel_idle(session)
                await self._settle(session)
                self._drain(session)
            if session is None or session.closed or session.in_flight:
                # The calls were made in a session that is gone: its context is lost.
                if session is not None:
                    self._discard(session)
                    if session.expired:
                        raise RealtimeSessionExpired(
                            "The Realtime session expired before the tool results were sent",
                            code="session_expired",
                        )
                raise RealtimeConnectionError(
                    "No open Realtime session to send the tool results to", code="no_session"
                )
            try:
                for call_id, output in outputs:
                    await self._send_item(
                        session,
                        {"type": "function_call_output", "call_id": call_id, "output": output},
                    )
            except RealtimeError:
                self.stats.errors += 1
                self._discard(session)
                raise
            async with contextlib.aclosing(
                self._stream(session, response, first_delta_timeout, new_session=False)
            ) as stream:
                async for event in stream:
                    yield event

    async def cancel(self, key: str) -> bool:
        """Cancel the response streaming for ``key``; return whether a cancel was sent."""
        session = self._sessions.get(key)
        if session is None or session.closed or not session.in_flight:
            return False
        return await self._send_cancel(session)

    async def close_session(self, key: str) -> None:
        """Close the session for ``key`` (the next turn reconnects)."""
        session = self._sessions.get(key)
        if session is not None:
            self._discard(session)
        await self._wait_tasks()

    async def close(self) -> None:
        """Close every session and stop background work."""
        self._closed = True
        for session in list(self._sessions.values()):
            self._discard(session)
        await self._wait_tasks()

    # --- Sessions -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _locked(self, key: str) -> AsyncIterator[None]:
        """Serialize work on one key; the lock is dropped once nobody uses it."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._lock_users[key] = self._lock_users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[key] -= 1
            if not self._lock_users[key]:
                del self._lock_users[key]
                del self._locks[key]

    async def _acquire(self, key: str, config: RealtimeSessionConfig) -> tuple[_Session, bool]:
        """Return a usable session for ``key`` and whether it is new."""
        if self._closed:
            raise RealtimeConnectionError("The Realtime backend is closed", code="closed")
        session = self._sessions.get(key)
        if session is not None:
            self._cancel_idle(session)
            await self._settle(session)
            self._drain(session)
            reason = self._unusable(session, config)
            if reason is None:
                return session, False
            _LOGGER.debug("Replacing Realtime session for %s: %s", key, reason)
            self._discard(session)
        session = await self._connect(key)
        self._sessions[key] = session
        return session, True

    def _unusable(self, session: _Session, config: RealtimeSessionConfig) -> str | None:
        if session.expired:
            return "session expired"
        if session.closed:
            return "connection closed"
        if session.in_flight:
            return "previous response did not end"
        if time.monotonic() - session.created_at >= self._session_max_age:
            return "maximum age reached"
        if (
            session.audio_produced
            and session.applied is not None
            and session.applied["audio"]["output"]["voice"] != config.voice
        ):
            return "voice changed after audio output"
        return None

    async def _settle(self, session: _Session) -> None:
        """Wait for a response cancelled by an abandoned turn to end."""
        if not session.in_flight or session.closed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_SETTLE_TIMEOUT):
                await session.settled.wait()

    def _drain(self, session: _Session) -> None:
        """Drop events left from earlier turns (late acks, ignored errors)."""
        while not session.events.empty():
            item = session.events.get_nowait()
            if isinstance(item, _Closed):
                session.closed = True
            elif item.type == "error":
                _LOGGER.debug(
                    "Realtime error between turns for %s: %s", session.key, item.error.code
                )

    async def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            source = self._client_source
            assert not isinstance(source, AsyncOpenAI)
            result = source()
            self._client = await result if inspect.isawaitable(result) else result
        return self._client

    def _connection_options(self, client: AsyncOpenAI) -> WebSocketConnectionOptions:
        options = dict(self._ws_options)
        ws_base = client.websocket_base_url
        plain = (
            str(ws_base).startswith("ws://")
            if ws_base is not None
            else client.base_url.scheme == "http"
        )
        if plain and "ssl" in options:
            options.pop("ssl")
        options.setdefault("logger", _RedactingLogger(logging.getLogger("websockets.client")))
        return cast("WebSocketConnectionOptions", options)

    async def _connect(self, key: str) -> _Session:
        client = await self._get_client()
        manager = client.realtime.connect(
            model=self._model, websocket_connection_options=self._connection_options(client)
        )
        conn: AsyncRealtimeConnection | None = None
        self.stats.handshakes += 1
        started = time.monotonic()
        _LOGGER.debug("Opening Realtime session for %s (model %s)", key, self._model)
        try:
            async with asyncio.timeout(self._connect_timeout):
                conn = await manager.enter()
                first = await conn.recv()
        except asyncio.CancelledError:
            if conn is not None:
                self._spawn(self._close_quietly(conn))
            raise
        except InvalidStatus as err:
            self.stats.errors += 1
            status = err.response.status_code
            if status in (401, 403):
                raise RealtimeAuthError(
                    f"The Realtime API rejected the API key (HTTP {status})",
                    code=f"http_{status}",
                ) from None
            raise RealtimeConnectionError(
                f"The Realtime API refused the connection (HTTP {status})", code=f"http_{status}"
            ) from None
        except TimeoutError:
            self.stats.errors += 1
            await self._close_quietly(conn)
            raise RealtimeConnectionError(
                f"Timed out connecting to the Realtime API after {self._connect_timeout:.0f} s",
                code="timeout",
            ) from None
        except (InvalidHandshake, ConnectionClosed, OSError, OpenAIError, ValueError) as err:
            self.stats.errors += 1
            await self._close_quietly(conn)
            raise RealtimeConnectionError(
                f"Could not connect to the Realtime API: {err}", code="connect_failed"
            ) from err
        if first.type == "error":
            self.stats.errors += 1
            await self._close_quietly(conn)
            code = first.error.code
            if code == "invalid_api_key":
                raise RealtimeAuthError("The Realtime API rejected the API key", code=code)
            raise RealtimeConnectionError(
                f"The Realtime API refused the session: {first.error.message}", code=code
            )
        if first.type != "session.created":
            self.stats.errors += 1
            await self._close_quietly(conn)
            raise RealtimeConnectionError(
                f"Unexpected first Realtime event {first.type!r}", code="protocol"
            )
        session_id = getattr(first.session, "id", None)
        session = _Session(
            key=key,
            conn=conn,
            session_id=session_id if isinstance(session_id, str) else None,
            created_at=time.monotonic(),
        )
        session.settled.set()
        session.reader = asyncio.get_running_loop().create_task(
            self._read(session), name=f"alice_voice realtime reader {key}"
        )
        self.stats.sessions_opened += 1
        _LOGGER.debug(
            "Realtime session %s for %s ready in %.3f s",
            session.session_id,
            key,
            time.monotonic() - started,
        )
        return session

    async def _read(self, session: _Session) -> None:
        """Pump server events into the session queue and track the session state."""
        error: BaseException | None = None
        try:
            async for event in session.conn:
                if event.type == "response.done":
                    session.in_flight = False
                    session.settled.set()
                elif event.type == "response.output_audio.delta":
                    session.audio_produced = True
                elif event.type == "error":
                    if event.error.code == "session_expired":
                        session.expired = True
                    elif event.error.event_id in session.ignored_event_ids:
                        _LOGGER.debug("Ignoring Realtime %s for a late cancel", event.error.code)
                        continue
                session.events.put_nowait(event)
        except (ConnectionClosed, OpenAIError, OSError, ValueError) as err:
            error = err
        finally:
            session.closed = True
            session.settled.set()
            session.events.put_nowait(_Closed(error))
            if not session.discarded:
                _LOGGER.debug(
                    "Realtime session for %s ended: %s", session.key, _close_description(error)
                )
                if self._sessions.get(session.key) is session and session.in_flight is False:
                    # Idle: forget it now; a running turn discards it itself.
                    self._discard(session)

    def _discard(self, session: _Session, *, cancel_response: bool = False) -> None:
        """Forget a session now and close it in the background.

        With ``cancel_response``, a ``response.cancel`` is sent before closing (after a
        timeout, so the server stops generating at once).
        """
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]
        self._cancel_idle(session)
        if session.discarded:
            return
        session.discarded = True
        self._spawn(self._close_session(session, cancel_response=cancel_response))

    async def _close_session(self, session: _Session, *, cancel_response: bool) -> None:
        if cancel_response and session.in_flight and not session.closed:
            await self._send_cancel(session)
        await self._close_quietly(session.conn)
        if session.reader is not None and not session.reader.done():
            session.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await session.reader

    async def _close_quietly(self, conn: AsyncRealtimeConnection | None) -> None:
        if conn is None:
            return
        with contextlib.suppress(ConnectionClosed, OSError, OpenAIError, TimeoutError):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await conn.close()

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wait_tasks(self) -> None:
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    def _schedule_idle(self, session: _Session) -> None:
        self._cancel_idle(session)
        if session.closed or session.discarded:
            return
        session.idle_handle = asyncio.get_running_loop().call_later(
            self._idle_timeout, self._on_idle, session
        )

    def _cancel_idle(self, session: _Session) -> None:
        if session.idle_handle is not None:
            session.idle_handle.cancel()
            session.idle_handle = None

    def _on_idle(self, session: _Session) -> None:
        session.idle_handle = None
        if self._sessions.get(session.key) is not session:
            return
        if (lock := self._locks.get(session.key)) is not None and lock.locked():
            self._schedule_idle(session)
            return
        _LOGGER.debug("Closing idle Realtime session for %s", session.key)
        self._discard(session)

    # --- Sending ------------------------------------------------------------------------

    def _event_id(self, kind: str) -> str:
        return f"alice_{kind}_{next(self._event_ids)}"

    async def _send(
        self, session: _Session, event: dict[str, Any], *, event_id: str | None = None
    ) -> str:
        event_id = event_id or self._event_id(event["type"].rsplit(".", 1)[-1])
        payload = {"type": event["type"], "event_id": event_id}
        payload.update((k, v) for k, v in event.items() if k != "type")
        if session.closed:
            raise self._closed_error(session, None)
        try:
            await session.conn.send_raw(json.dumps(payload, ensure_ascii=False))
        except (ConnectionClosed, OSError, OpenAIError) as err:
            raise self._closed_error(session, err) from err
        _LOGGER.debug("Realtime %s -> %s", session.key, event["type"])
        return event_id

    async def _apply_config(self, session: _Session, config: RealtimeSessionConfig) -> bool:
        """Send ``session.update`` if the config changed; return whether it was sent."""
        payload = config.session_payload()
        if payload == session.applied:
            return False
        await self._send(session, {"type": "session.update", "session": payload})
        session.applied = payload
        return True

    async def _await_acks(self, session: _Session, *, updated: bool, items: int) -> None:
        """Wait for ``session.updated`` and ``items`` ``conversation.item.done`` events.

        The server handles client events in order, so an error for any of them arrives
        before the last acknowledgement.
        """
        try:
            async with asyncio.timeout(self._connect_timeout):
                while updated or items > 0:
                    event = await session.events.get()
                    if isinstance(event, _Closed):
                        raise self._closed_error(session, event.error)
                    if event.type == "error":
                        raise self._error_from_event(event.error.code, event.error.message)
                    if event.type == "session.updated":
                        updated = False
                    elif event.type == "conversation.item.done":
                        items -= 1
        except TimeoutError:
            raise RealtimeTimeoutError(
                "The Realtime session did not acknowledge the update", code="ack_timeout"
            ) from None

    async def _send_item(self, session: _Session, item: dict[str, Any]) -> None:
        await self._send(session, {"type": "conversation.item.create", "item": item})

    async def _send_history(self, session: _Session, history: Sequence[ContextMessage]) -> int:
        missing = _missing_messages(session.seen, history)
        for message in missing:
            await self._send_item(session, message.as_item())
            session.seen[message] += 1
        if missing:
            _LOGGER.debug(
                "Seeded Realtime session for %s with %d messages", session.key, len(missing)
            )
        return len(missing)

    async def _send_cancel(self, session: _Session) -> bool:
        # If the response ends meanwhile, the server answers response_cancel_not_active:
        # register the id first, the answer can arrive before send() returns.
        event_id = self._event_id("cancel")
        session.ignored_event_ids.add(event_id)
        try:
            await self._send(session, {"type": "response.cancel"}, event_id=event_id)
        except RealtimeError:
            return False
        return True

    def _closed_error(self, session: _Session, error: BaseException | None) -> RealtimeError:
        if session.expired:
            return RealtimeSessionExpired(
                "The Realtime session expired (60-minute limit); the next turn reconnects",
                code="session_expired",
            )
        return RealtimeConnectionError(
            f"Realtime {_close_description(error)}", code=_close_code(error) or "closed"
        )

    # --- Streaming ----------------------------------------------------------------------

    async def _stream(
        self,
        session: _Session,
        response: dict[str, Any],
        first_delta_timeout: float | None,
        *,
        new_session: bool,
    ) -> AsyncGenerator[RealtimeEvent]:
        """Send ``response.create`` and translate the response into events."""
        first_timeout = (
            first_delta_timeout if first_delta_timeout is not None else self._first_delta_timeout
        )
        event: dict[str, Any] = {"type": "response.create"}
        if response:
            event["response"] = response
        try:
            await self._send(session, event)
        except RealtimeError:
            self.stats.errors += 1
            self._discard(session)
            raise
        session.in_flight = True
        session.settled.clear()
        session.turns += 1
        self.stats.turns += 1
        started = time.monotonic()
        first_delta: float | None = None
        response_id: str | None = None
        parts: list[str] = []
        calls: list[RealtimeFunctionCall] = []
        finished = False
        failed = False

        def mark_first() -> None:
            nonlocal first_delta
            if first_delta is None:
                first_delta = time.monotonic() - started
                self.stats.last_first_delta = first_delta
                by_key = self.stats.first_delta_by_key
                by_key.pop(session.key, None)
                by_key[session.key] = first_delta
                while len(by_key) > _MAX_KEYS_IN_STATS:
                    del by_key[next(iter(by_key))]
                _LOGGER.debug("Realtime first delta for %s after %.3f s", session.key, first_delta)

        try:
            while True:
                if first_delta is None:
                    remaining = first_timeout - (time.monotonic() - started)
                else:
                    remaining = self._stream_timeout
                try:
                    async with asyncio.timeout(max(remaining, 0)):
                        item = await session.events.get()
                except TimeoutError:
                    if first_delta is None:
                        raise RealtimeTimeoutError(
                            f"The Realtime response did not start within {first_timeout:.1f} s",
                            code="first_delta_timeout",
                        ) from None
                    raise RealtimeTimeoutError(
                        f"The Realtime response stalled for {self._stream_timeout:.1f} s",
                        code="stream_timeout",
                    ) from None
                if isinstance(item, _Closed):
                    raise self._closed_error(session, item.error)
                server_event = item
                _LOGGER.debug("Realtime %s <- %s", session.key, server_event.type)
                if server_event.type == "error":
                    if server_event.error.code == "response_cancel_not_active":
                        continue  # a cancel that crossed the end of the response
                    raise self._error_from_event(
                        server_event.error.code, server_event.error.message
                    )
                if server_event.type == "response.created":
                    response_id = server_event.response.id
                elif server_event.type == "response.output_text.delta":
                    mark_first()
                    parts.append(server_event.delta)
                    yield RealtimeTextDelta(server_event.delta)
                elif server_event.type == "response.output_audio_transcript.delta":
                    mark_first()
                    parts.append(server_event.delta)
                    yield RealtimeTextDelta(server_event.delta, transcript=True)
                elif server_event.type == "response.output_audio.delta":
                    mark_first()
                    try:
                        audio = base64.b64decode(server_event.delta, validate=True)
                    except binascii.Error:
                        _LOGGER.debug("Realtime %s: undecodable audio delta", session.key)
                        continue
                    yield RealtimeAudioDelta(audio)
                elif server_event.type == "response.function_call_arguments.delta":
                    mark_first()
                elif server_event.type == "response.function_call_arguments.done":
                    mark_first()
                    arguments, valid = _parse_arguments(server_event.arguments)
                    if not valid:
                        _LOGGER.debug("Realtime call %s had invalid arguments", server_event.name)
                    call = RealtimeFunctionCall(
                        call_id=server_event.call_id,
                        name=server_event.name,
                        arguments=arguments,
                        raw_arguments=server_event.arguments,
                        arguments_valid=valid,
                    )
                    calls.append(call)
                    yield call
                elif server_event.type == "response.done":
                    done = server_event.response
                    if response_id is not None and done.id != response_id:
                        continue
                    details = done.status_details
                    status = done.status or "completed"
                    if status == "failed":
                        error = details.error if details is not None else None
                        raise RealtimeResponseError(
                            "The Realtime response failed",
                            code=(error.code if error is not None else None) or "failed",
                        )
                    usage = done.usage
                    finished = True
                    text = "".join(parts)
                    if text:
                        session.seen[ContextMessage("assistant", text)] += 1
                    yield RealtimeResponseDone(
                        response_id=done.id,
                        status=status,
                        reason=details.reason if details is not None else None,
                        text=text,
                        function_calls=tuple(calls),
                        usage=RealtimeUsage(
                            input_tokens=usage.input_tokens or 0,
                            output_tokens=usage.output_tokens or 0,
                            total_tokens=usage.total_tokens or 0,
                        )
                        if usage is not None
                        else None,
                        first_delta_latency=first_delta,
                        new_session=new_session,
                    )
                    return
        except RealtimeError:
            failed = True
            self.stats.errors += 1
            raise
        finally:
            if failed:
                # Drop the session; stop a response that may still be generating.
                self._discard(session, cancel_response=True)
            elif not finished and session.in_flight and not session.closed:
                # The caller stopped listening: cancel, keep the session for the next turn.
                self._spawn(self._send_cancel_quietly(session))
                self._schedule_idle(session)
            else:
                self._schedule_idle(session)

    def _error_from_event(self, code: str | None, message: str) -> RealtimeError:
        if code == "invalid_api_key":
            return RealtimeAuthError("The Realtime API rejected the API key", code=code)
        if code == "session_expired":
            return RealtimeSessionExpired(
                "The Realtime session expired (60-minute limit); the next turn reconnects",
                code=code,
            )
        return RealtimeResponseError(f"Realtime error {code}: {message}", code=code)

    async def _send_cancel_quietly(self, session: _Session) -> None:
        await self._send_cancel(session)


async def validate_api_key(
    client: AsyncOpenAI, *, request_timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> None:
    """Check the client's API key with REST ``models.list()``.

    Raises:
        RealtimeAuthError: The key was rejected.
        RealtimeConnectionError: The API could not be reached or answered with an error.
    """
    try:
        await client.models.list(timeout=request_timeout)
    except (AuthenticationError, PermissionDeniedError) as err:
        raise RealtimeAuthError(
            "The OpenAI API rejected the API key", code=f"http_{err.status_code}"
        ) from None
    except APITimeoutError:
        raise RealtimeConnectionError(
            "Timed out connecting to the OpenAI API", code="timeout"
        ) from None
    except APIConnectionError as err:
        raise RealtimeConnectionError(
            "Could not connect to the OpenAI API", code="connect_failed"
        ) from err
    except APIStatusError as err:
        raise RealtimeConnectionError(
            f"The OpenAI API answered HTTP {err.status_code}", code=f"http_{err.status_code}"
        ) from None
