"""One Realtime WebSocket session: open it, pump its events, send to it, close it.

:func:`open_session` performs the handshake (``client.realtime.connect()`` up to
``session.created``) and maps its failures to :class:`~.realtime_types.RealtimeError`.
The :class:`RealtimeSession` it returns owns the connection: a reader task queues every
server event for the turn in progress and keeps track of the session's state (a response
in flight, audio produced, expired, closed), and its send helpers add event ids, apply the
session config only when it changed and seed the conversation messages the session has
not seen. Pooling, idle timers and turns are left to the callers.
"""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
import contextlib
from dataclasses import dataclass
import json
import logging
import time
from typing import Any, Final, cast, override

from openai import AsyncOpenAI, OpenAIError
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from openai.types.websocket_connection_options import WebSocketConnectionOptions
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from .realtime_errors import (
    close_description,
    closed_error,
    connect_failed_error,
    connect_timeout_error,
    handshake_status_error,
    session_refused_error,
    unexpected_event_error,
)
from .realtime_types import ContextMessage, RealtimeError, RealtimeSessionConfig

# One logger for the whole Realtime client, whichever module logs.
_LOGGER: Final = logging.getLogger(f"{__package__}.realtime")

_SETTLE_TIMEOUT: Final = 5.0  # waiting for a cancelled response to end before a new turn
_CLOSE_TIMEOUT: Final = 5.0


class RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """Hands websockets a logger that never writes the ``Authorization`` header.

    websockets logs every handshake header at debug level, the bearer key included.
    """

    @override
    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if len(args) >= 2 and str(args[0]).lower() == "authorization":
            args = (args[0], "<redacted>", *args[2:])
        super().log(level, msg, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class Closed:
    """Queued by the reader when the connection has ended.

    Attributes:
        error: What ended it (see :func:`~.realtime_errors.close_description`).
    """

    error: BaseException | None


class RealtimeSession:
    """An open Realtime session, its event queue and what it has been told.

    Attributes:
        key: The conversation key the session serves.
        conn: The SDK connection.
        session_id: The server's session id, for logs.
        created_at: ``time.monotonic()`` when ``session.created`` arrived.
        events: Server events (and a final :class:`Closed`) for the turn in progress.
        reader: The task filling ``events``.
        applied: The ``session`` payload last sent with ``session.update``.
        seen: The conversation messages the session holds, counting repeats.
        audio_produced: Whether the session has spoken (its voice is fixed from then on).
        closed: Whether the connection has ended.
        expired: Whether the server announced ``session_expired``.
        discarded: Whether the pool has let go of the session (it is closing).
        in_flight: Whether a response is being generated.
        settled: Set while no response is in flight.
        ignored_event_ids: Ids of client events whose ``error`` answers are dropped.
        idle_handle: The pool's idle timer, while one runs.
    """

    def __init__(
        self,
        *,
        key: str,
        conn: AsyncRealtimeConnection,
        session_id: str | None,
        event_ids: Iterator[int],
        on_lost: Callable[[RealtimeSession], None],
    ) -> None:
        """Start reading ``conn``.

        Args:
            key: The conversation key.
            conn: A connection that has received ``session.created``.
            session_id: The server's session id.
            event_ids: Numbers for client event ids (shared by a pool's sessions).
            on_lost: Called when the connection ends while the session is not discarded.
        """
        self.key = key
        self.conn = conn
        self.session_id = session_id
        self.created_at = time.monotonic()
        self.events: asyncio.Queue[RealtimeServerEvent | Closed] = asyncio.Queue()
        self.applied: dict[str, Any] | None = None
        self.seen: Counter[ContextMessage] = Counter()
        self.audio_produced = False
        self.closed = False
        self.expired = False
        self.discarded = False
        self.in_flight = False
        self.settled = asyncio.Event()
        self.settled.set()
        self.ignored_event_ids: set[str] = set()
        self.idle_handle: asyncio.TimerHandle | None = None
        self._event_ids = event_ids
        self._on_lost = on_lost
        self.reader = asyncio.get_running_loop().create_task(
            self._read(), name=f"alice_voice realtime reader {key}"
        )

    # --- State --------------------------------------------------------------------------

    def unusable_reason(self, config: RealtimeSessionConfig, max_age: float) -> str | None:
        """Return why the session cannot serve a turn with ``config``, or ``None``."""
        if self.expired:
            return "session expired"
        if self.closed:
            return "connection closed"
        if self.in_flight:
            return "previous response did not end"
        if time.monotonic() - self.created_at >= max_age:
            return "maximum age reached"
        if (
            self.audio_produced
            and self.applied is not None
            and self.applied["audio"]["output"]["voice"] != config.voice
        ):
            return "voice changed after audio output"
        return None

    def closed_error(self, error: BaseException | None) -> RealtimeError:
        """Return the error for a turn that found this session's connection closed."""
        return closed_error(error, expired=self.expired)

    def begin_response(self) -> None:
        """Mark a response as in flight (``response.create`` was sent)."""
        self.in_flight = True
        self.settled.clear()

    async def settle(self) -> None:
        """Wait (a while) for a response cancelled by an abandoned turn to end."""
        if not self.in_flight or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_SETTLE_TIMEOUT):
                await self.settled.wait()

    def drain(self) -> None:
        """Drop events left from earlier turns (late acks, ignored errors)."""
        while not self.events.empty():
            item = self.events.get_nowait()
            if isinstance(item, Closed):
                self.closed = True
            elif item.type == "error":
                _LOGGER.debug("Realtime error between turns for %s: %s", self.key, item.error.code)

    # --- Sending ------------------------------------------------------------------------

    async def send(self, event: dict[str, Any], *, event_id: str | None = None) -> None:
        """Send a client event with an ``alice_…`` event id.

        Raises:
            RealtimeConnectionError: The connection is closed.
            RealtimeSessionExpired: The connection closed after ``session_expired``.
        """
        event_id = event_id or self._new_event_id(event["type"].rsplit(".", 1)[-1])
        payload = {"type": event["type"], "event_id": event_id}
        payload.update((k, v) for k, v in event.items() if k != "type")
        if self.closed:
            raise self.closed_error(None)
        try:
            await self.conn.send_raw(json.dumps(payload, ensure_ascii=False))
        except (ConnectionClosed, OSError, OpenAIError) as err:
            raise self.closed_error(err) from err
        _LOGGER.debug("Realtime %s -> %s", self.key, event["type"])

    async def send_item(self, item: dict[str, Any]) -> None:
        """Add ``item`` to the conversation (``conversation.item.create``)."""
        await self.send({"type": "conversation.item.create", "item": item})

    async def apply_config(self, config: RealtimeSessionConfig) -> None:
        """Send ``session.update`` if the config differs from the one applied."""
        payload = config.session_payload()
        if payload == self.applied:
            return
        await self.send({"type": "session.update", "session": payload})
        self.applied = payload

    async def send_history(self, history: Sequence[ContextMessage]) -> None:
        """Add the messages of ``history`` the session has not seen, in order."""
        missing = missing_messages(self.seen, history)
        for message in missing:
            await self.send_item(message.as_item())
            self.seen[message] += 1
        if missing:
            _LOGGER.debug("Seeded Realtime session for %s with %d messages", self.key, len(missing))

    async def send_cancel(self) -> None:
        """Send ``response.cancel``; a connection that is gone is ignored."""
        # If the response ends meanwhile, the server answers response_cancel_not_active:
        # register the id first, the answer can arrive before send() returns.
        event_id = self._new_event_id("cancel")
        self.ignored_event_ids.add(event_id)
        with contextlib.suppress(RealtimeError):
            await self.send({"type": "response.cancel"}, event_id=event_id)

    def _new_event_id(self, kind: str) -> str:
        return f"alice_{kind}_{next(self._event_ids)}"

    # --- Reading and closing ------------------------------------------------------------

    async def _read(self) -> None:
        """Pump server events into the queue and track the session state."""
        error: BaseException | None = None
        try:
            async for event in self.conn:
                if event.type == "response.done":
                    self.in_flight = False
                    self.settled.set()
                elif event.type == "response.output_audio.delta":
                    self.audio_produced = True
                elif event.type == "error":
                    if event.error.code == "session_expired":
                        self.expired = True
                    elif event.error.event_id in self.ignored_event_ids:
                        _LOGGER.debug("Ignoring Realtime %s for a late cancel", event.error.code)
                        continue
                self.events.put_nowait(event)
        except (ConnectionClosed, OpenAIError, OSError, ValueError) as err:
            error = err
        finally:
            self.closed = True
            self.settled.set()
            self.events.put_nowait(Closed(error))
            if not self.discarded:
                _LOGGER.debug(
                    "Realtime session for %s ended: %s", self.key, close_description(error)
                )
                self._on_lost(self)

    async def close(self, *, cancel_response: bool = False) -> None:
        """Close the connection and stop the reader.

        Args:
            cancel_response: Send ``response.cancel`` first if a response is in flight, so
                the server stops generating at once.
        """
        if cancel_response and self.in_flight and not self.closed:
            await self.send_cancel()
        await close_quietly(self.conn)
        if not self.reader.done():
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


def missing_messages(
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


def connection_options(
    client: AsyncOpenAI, options: Mapping[str, Any]
) -> WebSocketConnectionOptions:
    """Return the ``websockets`` options for ``client``'s Realtime URL.

    ``ssl`` is dropped for plain ``ws://`` URLs (Home Assistant always passes a context),
    and websockets gets a logger that redacts the API key.
    """
    result = dict(options)
    ws_base = client.websocket_base_url
    plain = (
        str(ws_base).startswith("ws://")
        if ws_base is not None
        else client.base_url.scheme == "http"
    )
    if plain and "ssl" in result:
        result.pop("ssl")
    result.setdefault("logger", RedactingLogger(logging.getLogger("websockets.client")))
    return cast("WebSocketConnectionOptions", result)


async def open_session(
    client: AsyncOpenAI,
    *,
    key: str,
    model: str,
    websocket_connection_options: Mapping[str, Any],
    connect_timeout: float,
    event_ids: Iterator[int],
    on_lost: Callable[[RealtimeSession], None],
    spawn: Callable[[Awaitable[None]], None],
) -> RealtimeSession:
    """Connect and wait for ``session.created``.

    Args:
        client: The SDK client.
        key: The conversation key the session will serve.
        model: The Realtime model.
        websocket_connection_options: Options for ``websockets``.
        connect_timeout: Seconds for the handshake and ``session.created``.
        event_ids: Numbers for client event ids.
        on_lost: See :class:`RealtimeSession`.
        spawn: Runs a coroutine in the background (closes a connection whose opening
            was cancelled).

    Raises:
        RealtimeAuthError: The API key was rejected.
        RealtimeConnectionError: The session could not be opened.
    """
    manager = client.realtime.connect(
        model=model,
        websocket_connection_options=connection_options(client, websocket_connection_options),
    )
    conn: AsyncRealtimeConnection | None = None
    started = time.monotonic()
    _LOGGER.debug("Opening Realtime session for %s (model %s)", key, model)
    try:
        async with asyncio.timeout(connect_timeout):
            conn = await manager.enter()
            first = await conn.recv()
    except asyncio.CancelledError:
        if conn is not None:
            spawn(close_quietly(conn))
        raise
    except InvalidStatus as err:
        raise handshake_status_error(err.response.status_code) from None
    except TimeoutError:
        await close_quietly(conn)
        raise connect_timeout_error(connect_timeout) from None
    except (InvalidHandshake, ConnectionClosed, OSError, OpenAIError, ValueError) as err:
        await close_quietly(conn)
        raise connect_failed_error(err) from err
    if first.type == "error":
        await close_quietly(conn)
        raise session_refused_error(first.error.code, first.error.message)
    if first.type != "session.created":
        await close_quietly(conn)
        raise unexpected_event_error(first.type)
    session_id = getattr(first.session, "id", None)
    session = RealtimeSession(
        key=key,
        conn=conn,
        session_id=session_id if isinstance(session_id, str) else None,
        event_ids=event_ids,
        on_lost=on_lost,
    )
    _LOGGER.debug(
        "Realtime session %s for %s ready in %.3f s",
        session.session_id,
        key,
        time.monotonic() - started,
    )
    return session


async def close_quietly(conn: AsyncRealtimeConnection | None) -> None:
    """Close ``conn`` (if any), ignoring any failure; give up after a few seconds."""
    if conn is None:
        return
    with contextlib.suppress(ConnectionClosed, OSError, OpenAIError, TimeoutError):
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await conn.close()
