"""The pool of warm Realtime sessions, one per conversation key.

:class:`SessionPool` hands out the session for a key, reusing it while it is usable and
replacing it once it is expired, closed, older than ``session_max_age`` (the API caps
sessions at 60 minutes) or its voice must change after it has spoken. Work on one key is
serialized with :meth:`SessionPool.locked`. A session is closed after ``idle_timeout``
seconds without a turn, forgotten as soon as its connection ends while idle, and closed in
the background when discarded (after any error), so the next turn reconnects.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Mapping
import contextlib
import itertools
import logging
from typing import Any, Final

from openai import AsyncOpenAI

from .realtime_session import RealtimeSession, open_session
from .realtime_types import RealtimeConnectionError, RealtimeSessionConfig

# One logger for the whole Realtime client, whichever module logs.
_LOGGER: Final = logging.getLogger(f"{__package__}.realtime")


class SessionPool:
    """Warm Realtime sessions keyed by conversation, with their idle timers."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        websocket_connection_options: Mapping[str, Any],
        idle_timeout: float,
        session_max_age: float,
        connect_timeout: float,
    ) -> None:
        """Initialize an empty pool; sessions open on :meth:`acquire`.

        Args:
            client: The SDK client.
            model: The Realtime model, fixed per session.
            websocket_connection_options: Options for ``websockets``.
            idle_timeout: Seconds without a turn before a session is closed.
            session_max_age: Seconds after which a session is replaced before its next turn.
            connect_timeout: Seconds for the handshake and ``session.created``.
        """
        self._client = client
        self._model = model
        self._ws_options = dict(websocket_connection_options)
        self._idle_timeout = idle_timeout
        self._session_max_age = session_max_age
        self._connect_timeout = connect_timeout
        self._sessions: dict[str, RealtimeSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._event_ids = itertools.count(1)
        self._closed = False

    @contextlib.asynccontextmanager
    async def locked(self, key: str) -> AsyncIterator[None]:
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

    async def current(self, key: str) -> RealtimeSession | None:
        """Return the pooled session for ``key`` (if any), ready for the next request.

        Stops its idle timer, waits for a cancelled response to end and drops the events
        left from earlier turns. The session may still turn out closed or busy.
        """
        session = self._sessions.get(key)
        if session is not None:
            self.cancel_idle(session)
            await session.settle()
            session.drain()
        return session

    async def acquire(
        self, key: str, config: RealtimeSessionConfig
    ) -> tuple[RealtimeSession, bool]:
        """Return a usable session for ``key`` and whether it is new.

        Raises:
            RealtimeConnectionError: The pool is closed or the session could not be opened.
            RealtimeAuthError: The API key was rejected.
        """
        if self._closed:
            raise RealtimeConnectionError("The Realtime backend is closed", code="closed")
        session = await self.current(key)
        if session is not None:
            reason = session.unusable_reason(config, self._session_max_age)
            if reason is None:
                return session, False
            _LOGGER.debug("Replacing Realtime session for %s: %s", key, reason)
            self.discard(session)
        session = await open_session(
            self._client,
            key=key,
            model=self._model,
            websocket_connection_options=self._ws_options,
            connect_timeout=self._connect_timeout,
            event_ids=self._event_ids,
            on_lost=self._on_lost,
            spawn=self.spawn,
        )
        self._sessions[key] = session
        return session, True

    def discard(self, session: RealtimeSession, *, cancel_response: bool = False) -> None:
        """Forget a session now and close it in the background.

        With ``cancel_response``, a ``response.cancel`` is sent before closing (after a
        timeout, so the server stops generating at once).
        """
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]
        self.cancel_idle(session)
        if session.discarded:
            return
        session.discarded = True
        self.spawn(session.close(cancel_response=cancel_response))

    def schedule_idle(self, session: RealtimeSession) -> None:
        """(Re)start the idle timer of a session that just finished a turn."""
        self.cancel_idle(session)
        if session.closed or session.discarded:
            return
        session.idle_handle = asyncio.get_running_loop().call_later(
            self._idle_timeout, self._on_idle, session
        )

    def cancel_idle(self, session: RealtimeSession) -> None:
        """Stop the idle timer of a session about to be used."""
        if session.idle_handle is not None:
            session.idle_handle.cancel()
            session.idle_handle = None

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` in the background; :meth:`close` waits for it."""

        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Close every session, refuse new ones and wait for background work."""
        self._closed = True
        for session in list(self._sessions.values()):
            self.discard(session)
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.wait(pending)

    def _on_idle(self, session: RealtimeSession) -> None:
        session.idle_handle = None
        if self._sessions.get(session.key) is not session:
            return
        if (lock := self._locks.get(session.key)) is not None and lock.locked():
            self.schedule_idle(session)
            return
        _LOGGER.debug("Closing idle Realtime session for %s", session.key)
        self.discard(session)

    def _on_lost(self, session: RealtimeSession) -> None:
        if self._sessions.get(session.key) is session and not session.in_flight:
            # Idle: forget it now; a running turn discards it itself.
            self.discard(session)
