"""OpenAI Realtime (GA) client: warm sessions per conversation with typed, HA-free turn events.

:class:`RealtimeBackend` is what the integration uses: :meth:`~RealtimeBackend.respond`
runs a text turn and :meth:`~RealtimeBackend.submit_tool_outputs` answers the function
calls it made, each as an async iterator of :data:`~.realtime_types.RealtimeEvent` (text,
transcript and audio deltas, function calls, and a final
:class:`~.realtime_types.RealtimeResponseDone`); failures raise a subclass of
:class:`~.realtime_types.RealtimeError` and discard the session, so the next turn
reconnects. Iterate turns with :func:`contextlib.aclosing` so that an abandoned turn
cancels its response at once.

A new session knows nothing: callers pass the conversation so far as ``history`` and the
session is sent the messages it has not seen. The work is split over:

* :mod:`.realtime_pool` - one warm session per conversation key, renewal and idle close;
* :mod:`.realtime_session` - one WebSocket session: handshake, reader, sending;
* :mod:`.realtime_stream` - server events of one response to typed turn events;
* :mod:`.realtime_errors` - failures, close codes and ``error`` events to exceptions;
* :mod:`.realtime_types` - events, settings and errors, without the SDK.
"""

from collections.abc import AsyncGenerator, Mapping, Sequence
import contextlib
import logging
from typing import Any, Final

from openai import AsyncOpenAI

from .realtime_pool import SessionPool
from .realtime_session import RealtimeSession
from .realtime_stream import response_events
from .realtime_types import (
    ContextMessage,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeEvent,
    RealtimeResponseDone,
    RealtimeSessionConfig,
    RealtimeSessionExpired,
)

__all__ = ["RealtimeBackend"]

_LOGGER: Final = logging.getLogger(__name__)

DEFAULT_IDLE_TIMEOUT: Final = 120.0
DEFAULT_SESSION_MAX_AGE: Final = 55 * 60.0
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_FIRST_DELTA_TIMEOUT: Final = 10.0
DEFAULT_STREAM_TIMEOUT: Final = 30.0


class RealtimeBackend:
    """Pool of warm Realtime sessions keyed by conversation, with a streaming turn API."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        websocket_connection_options: Mapping[str, Any] | None = None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        session_max_age: float = DEFAULT_SESSION_MAX_AGE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        first_delta_timeout: float = DEFAULT_FIRST_DELTA_TIMEOUT,
        stream_timeout: float = DEFAULT_STREAM_TIMEOUT,
    ) -> None:
        """Initialize the backend; nothing connects before the first turn.

        Args:
            client: The ``AsyncOpenAI`` client.
            model: The Realtime model, fixed per session.
            websocket_connection_options: Passed to ``websockets`` (Home Assistant passes
                ``{"ssl": <context>}``; ``ssl`` is dropped for plain ``ws://`` URLs).
            idle_timeout: Seconds without a turn before a session is closed.
            session_max_age: Seconds after which a session is replaced before its next turn.
            connect_timeout: Seconds for the handshake and ``session.created``.
            first_delta_timeout: Default seconds from ``response.create`` to the first delta.
            stream_timeout: Seconds allowed between two events once a response streams.
        """
        self._pool = SessionPool(
            client,
            model=model,
            websocket_connection_options=websocket_connection_options or {},
            idle_timeout=idle_timeout,
            session_max_age=session_max_age,
            connect_timeout=connect_timeout,
        )
        self._first_delta_timeout = first_delta_timeout
        self._stream_timeout = stream_timeout

    async def respond(
        self,
        key: str,
        text: str,
        *,
        config: RealtimeSessionConfig,
        history: Sequence[ContextMessage] = (),
        first_delta_timeout: float | None = None,
    ) -> AsyncGenerator[RealtimeEvent]:
        """Run one text turn on the session for ``key``.

        Sends any ``session.update`` the config needs, the history messages the session
        has not seen, the user message and one ``response.create``. A pooled session that
        turns out dead before anything was yielded is replaced once.

        Args:
            key: Conversation key (HA conversation id or satellite id).
            text: The user's words.
            config: Session settings for this turn.
            history: The conversation before this turn (text messages in order; a trailing
                copy of ``text`` is ignored); only the messages the session has not seen
                are sent.
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
        async with self._pool.locked(key):
            retry = True
            while True:
                session, new_session = await self._pool.acquire(key, config)
                yielded = False
                try:
                    try:
                        await session.apply_config(config)
                        await session.send_history(history)
                        await session.send_item(user.as_item())
                    except RealtimeError:
                        self._pool.discard(session)
                        raise
                    session.seen[user] += 1
                    async with contextlib.aclosing(
                        self._response(session, first_delta_timeout, new_session=new_session)
                    ) as stream:
                        async for event in stream:
                            yielded = True
                            yield event
                except (RealtimeConnectionError, RealtimeSessionExpired) as err:
                    # A pooled session can die just before a turn; retry once on a new one.
                    if yielded or new_session or not retry:
                        raise
                    retry = False
                    _LOGGER.debug("Realtime session for %s was gone (%s); reconnecting", key, err)
                    continue
                return

    async def submit_tool_outputs(
        self,
        key: str,
        outputs: Sequence[tuple[str, str]],
        *,
        first_delta_timeout: float | None = None,
    ) -> AsyncGenerator[RealtimeEvent]:
        """Answer function calls: all ``function_call_output`` items, then one response.

        Args:
            key: Conversation key of the session that made the calls.
            outputs: ``(call_id, output)`` pairs; outputs are strings (usually JSON).
            first_delta_timeout: Seconds allowed until the first delta.

        Yields:
            Deltas and function calls, then one :class:`RealtimeResponseDone`.

        Raises:
            RealtimeSessionExpired: The session that made the calls expired.
            RealtimeConnectionError: There is no live session for ``key``.
            RealtimeError: Any other failure; the session is discarded.
        """
        async with self._pool.locked(key):
            session = await self._pool.current(key)
            if session is None or session.closed or session.in_flight:
                # The calls were made in a session that is gone: its context is lost.
                if session is not None:
                    self._pool.discard(session)
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
                    await session.send_item(
                        {"type": "function_call_output", "call_id": call_id, "output": output}
                    )
            except RealtimeError:
                self._pool.discard(session)
                raise
            async with contextlib.aclosing(
                self._response(session, first_delta_timeout, new_session=False)
            ) as stream:
                async for event in stream:
                    yield event

    async def close(self) -> None:
        """Close every session and stop background work; later turns fail."""
        await self._pool.close()

    async def _response(
        self, session: RealtimeSession, first_delta_timeout: float | None, *, new_session: bool
    ) -> AsyncGenerator[RealtimeEvent]:
        """Send ``response.create``, stream the response and look after the session.

        After an error the session is discarded (with a ``response.cancel`` if it may still
        be generating). If the caller stops listening early, the response is cancelled and
        the session kept for the next turn.
        """
        try:
            await session.send({"type": "response.create"})
        except RealtimeError:
            self._pool.discard(session)
            raise
        session.begin_response()
        finished = False
        failed = False
        try:
            async with contextlib.aclosing(
                response_events(
                    session,
                    first_delta_timeout=first_delta_timeout
                    if first_delta_timeout is not None
                    else self._first_delta_timeout,
                    stream_timeout=self._stream_timeout,
                    new_session=new_session,
                )
            ) as events:
                async for event in events:
                    if isinstance(event, RealtimeResponseDone):
                        finished = True
                        if event.text:
                            session.seen[ContextMessage("assistant", event.text)] += 1
                    yield event
        except RealtimeError:
            failed = True
            raise
        finally:
            if failed:
                # Drop the session; stop a response that may still be generating.
                self._pool.discard(session, cancel_response=True)
            else:
                if not finished and session.in_flight and not session.closed:
                    # The caller stopped listening: cancel, keep the session for the next turn.
                    self._pool.spawn(session.send_cancel())
                self._pool.schedule_idle(session)
