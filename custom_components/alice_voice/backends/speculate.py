"""A fast answer begun from the user's audio before the transcript is ready.

The speech-to-text session that transcribes an utterance can be a Realtime
*conversation* session with input transcription on (see
:class:`~.transcribe.RealtimeTranscriber`): when the utterance ends, the audio is
committed and ``response.create`` follows at once, so the model answers from the
audio while the transcription model is still writing it down. A
:class:`SpeculativeAnswer` is that response. The transcriber feeds it the
response's server events; whoever claims it (the conversation turn, when the
router sends the turn to the fast cloud path with the very same session settings)
streams it as typed turn events with :meth:`~SpeculativeAnswer.stream`. Unclaimed,
it is cancelled with :meth:`~SpeculativeAnswer.discard`, and at the latest
:data:`UNCLAIMED_TTL` seconds after the transcript: the server stops generating
and the connection is closed.

Nothing here decides whether the answer may be used; that is the router's and the
engine's job. No Home Assistant imports.
"""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
import contextlib
from dataclasses import replace
import logging
import time
from typing import Any, Final

from openai.types.realtime.realtime_server_event import RealtimeServerEvent

from .realtime_errors import closed_error
from .realtime_session import Closed
from .realtime_stream import response_events
from .realtime_types import (
    RealtimeConnectionError,
    RealtimeError,
    RealtimeEvent,
    RealtimeSessionConfig,
)

__all__ = ["UNCLAIMED_TTL", "SpeculativeAnswer"]

_LOGGER: Final = logging.getLogger(__name__)

UNCLAIMED_TTL: Final = 15.0
"""Seconds an answer waits for its turn after the transcript before it is cancelled."""

DEFAULT_STREAM_TIMEOUT: Final = 30.0

# Background closes, referenced until they end (the loop keeps only weak references).
_CLOSING: set[asyncio.Task[None]] = set()


class SpeculativeAnswer:
    """One response the Realtime session began from the audio of an utterance.

    Attributes:
        model: The Realtime model that answers (the conversation session's).
        config: The session settings the answer is made with (instructions, voice,
            tools); :meth:`fits` compares them with what the turn would send.
        key: What the answer belongs to, for logs (the STT entity).
        events: The response's server events, then a :class:`~.realtime_session.Closed`.
        requested_at: ``time.monotonic()`` when ``response.create`` was sent.
    """

    def __init__(
        self,
        *,
        model: str,
        config: RealtimeSessionConfig,
        key: str,
        spawn: Callable[[Coroutine[Any, Any, None]], object] | None = None,
    ) -> None:
        """Prepare an answer; the transcriber requests it when the utterance ends.

        ``spawn`` runs :meth:`discard`'s close in the background (Home Assistant
        passes its own task creation, so that it knows about the work); a plain
        asyncio task by default.
        """
        self.model = model
        self._spawn = spawn
        self.config = config
        self.key = key
        self.events: asyncio.Queue[RealtimeServerEvent | Closed] = asyncio.Queue()
        self.requested_at: float | None = None
        self._send_cancel: Callable[[], Awaitable[None]] | None = None
        self._close_link: Callable[[], Awaitable[None]] | None = None
        self._in_flight = False
        self._expired = False
        self._claimed = False
        self._closed = False
        self._discarded = False
        self._expiry: asyncio.TimerHandle | None = None

    # --- The transcriber's side ---------------------------------------------------------

    def bind(
        self, *, send_cancel: Callable[[], Awaitable[None]], close: Callable[[], Awaitable[None]]
    ) -> None:
        """Attach the connection: how to cancel the response and close the session."""
        self._send_cancel = send_cancel
        self._close_link = close

    def requested(self) -> None:
        """``response.create`` was sent."""
        self.requested_at = time.monotonic()
        self._in_flight = True

    def feed(self, event: RealtimeServerEvent) -> None:
        """Queue one of the response's server events."""
        if event.type == "response.done":
            self._in_flight = False
        self.events.put_nowait(event)

    def lost(self, error: BaseException | None, *, expired: bool) -> None:
        """The connection ended (``error`` as for :func:`~.realtime_errors.closed_error`)."""
        self._in_flight = False
        self._expired = expired
        self.events.put_nowait(Closed(error))

    def handed_over(self) -> None:
        """The transcript is out: the answer waits for its turn, for a while."""
        if not self._closed and not self._claimed:
            self._expiry = asyncio.get_running_loop().call_later(UNCLAIMED_TTL, self._expire)

    # --- The turn's side ----------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether the answer can still be claimed (not claimed, cancelled or closed)."""
        return not (self._claimed or self._closed or self._discarded)

    def fits(self, config: RealtimeSessionConfig) -> bool:
        """Whether a turn with ``config`` would be answered exactly as this answer was.

        The input audio settings (transcription, turn detection) do not count.
        """
        return replace(self.config, transcription=None, turn_detection=None) == replace(
            config, transcription=None, turn_detection=None
        )

    def closed_error(self, error: BaseException | None) -> RealtimeError:
        """The error for an answer whose connection ended."""
        return closed_error(error, expired=self._expired)

    async def stream(
        self, *, first_delta_timeout: float, stream_timeout: float = DEFAULT_STREAM_TIMEOUT
    ) -> AsyncGenerator[RealtimeEvent]:
        """Claim the answer and yield it as turn events; the session closes afterwards.

        Args:
            first_delta_timeout: Seconds allowed from now to the first delta.
            stream_timeout: Seconds allowed between two events once the answer streams.

        Yields:
            Deltas, then one :class:`~.realtime_types.RealtimeResponseDone`.

        Raises:
            RealtimeConnectionError: The answer was already claimed or cancelled, or its
                connection was lost.
            RealtimeError: As for :func:`~.realtime_stream.response_events`.
        """
        if not self.available:
            raise RealtimeConnectionError(
                "The speculative answer was already used or cancelled", code="speculation_gone"
            )
        self._claimed = True
        self._cancel_expiry()
        if self.requested_at is not None:
            _LOGGER.debug(
                "%s: speculative answer claimed %.3f s after it was requested",
                self.key,
                time.monotonic() - self.requested_at,
            )
        try:
            async with contextlib.aclosing(
                response_events(
                    self,
                    first_delta_timeout=first_delta_timeout,
                    stream_timeout=stream_timeout,
                    new_session=False,
                )
            ) as events:
                async for event in events:
                    yield event
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the response if it is still generating and close the session (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._cancel_expiry()
        send_cancel, self._send_cancel = self._send_cancel, None
        close, self._close_link = self._close_link, None
        if self._in_flight and send_cancel is not None:
            await send_cancel()
        if close is not None:
            await close()

    def discard(self) -> None:
        """Cancel the answer in the background: it is not, or cannot be, used."""
        if self._closed or self._discarded:
            return
        self._discarded = True
        if not self._claimed:
            _LOGGER.debug("%s: speculative answer discarded", self.key)
        if self._spawn is not None:
            self._spawn(self.close())
            return
        task = asyncio.get_running_loop().create_task(
            self.close(), name="alice_voice speculative answer close"
        )
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)

    def _expire(self) -> None:
        self._expiry = None
        if self.available:
            _LOGGER.debug("%s: speculative answer never claimed; cancelling it", self.key)
            self.discard()

    def _cancel_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
