"""Speech to text over the OpenAI Realtime API (GA transcription sessions).

:class:`RealtimeTranscriber` transcribes one utterance: :meth:`~RealtimeTranscriber.start`
opens a transcription session (``/v1/realtime?intent=transcription``, then a
``session.update`` of ``type: "transcription"``), :meth:`~RealtimeTranscriber.append` streams
24 kHz PCM16 as it arrives, and :meth:`~RealtimeTranscriber.finish` commits the audio and
returns the final transcript. With ``server_vad`` the server ends the turn itself after
``silence_duration_ms`` of silence (:attr:`~RealtimeTranscriber.speech_stopped` tells the
caller to stop reading the microphone); without it the caller's own endpointing decides and
:meth:`~RealtimeTranscriber.finish` commits. Transcription runs asynchronously on the
server: deltas accumulate in :attr:`~RealtimeTranscriber.interim` and the result is the
``conversation.item.input_audio_transcription.completed`` of every committed item.

Given a :class:`~.speculate.SpeculativeAnswer`, the session is a Realtime *conversation*
session with input transcription instead: the commit is followed at once by
``response.create``, so a fast answer is being made from the audio while the transcript is
written, and when the transcript is out the connection belongs to the answer (see
:mod:`.speculate`).

Failures raise :class:`~.realtime_types.RealtimeError` subclasses: a rejected key
:class:`~.realtime_types.RealtimeAuthError`, a connection that cannot be opened or is lost
:class:`~.realtime_types.RealtimeConnectionError`, no result in time
:class:`~.realtime_types.RealtimeTimeoutError`, and a failed transcription (or any other
``error`` event) :class:`TranscriptionError`. The connection is always closed when the
utterance ends, by :meth:`~RealtimeTranscriber.finish`, :meth:`~RealtimeTranscriber.cancel`
or leaving the ``async with`` block (with an answer in flight: when the answer closes).
"""

import asyncio
import base64
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import itertools
import json
import logging
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from openai import AsyncOpenAI, OpenAIError
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
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
from .realtime_session import close_quietly, connection_options
from .realtime_types import (
    SAMPLE_RATE,
    RealtimeAuthError,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeSessionConfig,
    RealtimeSessionExpired,
    RealtimeTimeoutError,
)
from .transcribe_settings import TranscriptionSettings

if TYPE_CHECKING:
    from .speculate import SpeculativeAnswer

__all__ = ["RealtimeTranscriber", "TranscriptionError", "TranscriptionSettings"]

_LOGGER: Final = logging.getLogger(__name__)

CHUNK_BYTES: Final = SAMPLE_RATE * 2 // 10
"""Audio is sent in pieces of at most 100 ms (PCM16 mono at 24 kHz)."""


class TranscriptionError(RealtimeError):
    """The server could not transcribe the audio (``.failed``) or refused a request."""


@dataclass(slots=True)
class _Item:
    """A committed item and the outcome of its transcription."""

    transcript: str | None = None
    error: RealtimeError | None = None

    @property
    def done(self) -> bool:
        return self.transcript is not None or self.error is not None


class RealtimeTranscriber:
    """One utterance: open a transcription session, stream 24 kHz PCM16, get the transcript.

    Use it as an async context manager (which starts it and always closes it)::

        async with RealtimeTranscriber(client, settings, ssl=context) as stt:
            async for chunk in audio:
                await stt.append(chunk)
                if stt.speech_stopped:
                    break
            text = await stt.finish()
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        settings: TranscriptionSettings,
        *,
        ssl: Any = None,
        answer: SpeculativeAnswer | None = None,
    ) -> None:
        """Prepare the transcriber; nothing connects before :meth:`start`.

        Args:
            client: The ``AsyncOpenAI`` client.
            settings: Model, language and turn detection.
            ssl: An SSL context for ``wss://`` (Home Assistant's default context, so that
                no certificates are loaded in the event loop); dropped for ``ws://``.
            answer: Also begin this answer when the utterance is committed (the caller
                ends the utterance: ``server_vad`` must be off).
        """
        if answer is not None and settings.server_vad:
            raise ValueError("A speculative answer needs the caller's own endpointing")
        self._client = client
        self._settings = settings
        self._answer = answer
        self._answer_id: str | None = None  # our response.create, once sent
        self._handed_over = False  # the connection belongs to the answer
        self._ws_options: dict[str, Any] = {"ssl": ssl} if ssl is not None else {}
        self._conn: AsyncRealtimeConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._failure: RealtimeError | None = None
        self._closing = False
        self._expired = False
        self._event_ids = itertools.count(1)
        self._items: dict[str, _Item] = {}
        self._deltas: list[str] = []
        self._in_speech = False
        self._speech_stopped = False
        self._vad_commits = 0  # speech_stopped whose committed has not arrived yet
        self._updates = 0  # session.update not answered yet
        self._commit_id: str | None = None  # our commit, until answered
        self._carry = b""  # an odd byte held back until its sample is complete
        self._pending_bytes = 0  # sent since our last commit
        self._sent_bytes = 0

    # --- Public API ---------------------------------------------------------------------

    @property
    def speech_stopped(self) -> bool:
        """Whether the server VAD heard the end of speech (the caller can stop reading)."""
        return self._speech_stopped

    @property
    def interim(self) -> str:
        """The transcript deltas received so far."""
        return "".join(self._deltas)

    async def start(self) -> None:
        """Connect and configure the transcription session (idempotent).

        Raises:
            RealtimeAuthError: The API key was rejected.
            RealtimeConnectionError: The session could not be opened.
        """
        if self._conn is not None:
            return
        if self._closing:
            raise RealtimeConnectionError("The transcription was cancelled", code="cancelled")
        timeout = self._settings.connect_timeout
        options = connection_options(self._client, self._ws_options)
        manager = (
            self._client.realtime.connect(
                extra_query={"intent": "transcription"}, websocket_connection_options=options
            )
            if self._answer is None
            else self._client.realtime.connect(
                model=self._answer.model, websocket_connection_options=options
            )
        )
        conn: AsyncRealtimeConnection | None = None
        started = time.monotonic()
        _LOGGER.debug("Opening Realtime transcription session (%s)", self._settings.model)
        try:
            async with asyncio.timeout(timeout):
                conn = await manager.enter()
                first = await conn.recv()
        except asyncio.CancelledError:
            await close_quietly(conn)
            raise
        except InvalidStatus as err:
            raise handshake_status_error(err.response.status_code) from None
        except TimeoutError:
            await close_quietly(conn)
            raise connect_timeout_error(timeout) from None
        except (InvalidHandshake, ConnectionClosed, OSError, OpenAIError, ValueError) as err:
            await close_quietly(conn)
            raise connect_failed_error(err) from err
        if first.type != "session.created" or self._closing:
            await close_quietly(conn)
            if first.type == "error":
                raise session_refused_error(first.error.code, first.error.message)
            if self._closing:
                raise RealtimeConnectionError("The transcription was cancelled", code="cancelled")
            raise unexpected_event_error(first.type)
        self._conn = conn
        if self._answer is not None:
            self._answer.bind(send_cancel=self._cancel_answer, close=self._close)
        self._reader = asyncio.get_running_loop().create_task(
            self._read(conn), name="alice_voice transcription reader"
        )
        _LOGGER.debug(
            "Realtime transcription session %s ready in %.3f s",
            getattr(first.session, "id", None),
            time.monotonic() - started,
        )
        await self._update_session()

    async def append(self, pcm24k: bytes) -> None:
        """Send PCM16 LE mono 24 kHz audio (in pieces of at most 100 ms).

        Raises:
            RealtimeError: The session failed or was lost (as for :meth:`finish`).
        """
        data = self._carry + pcm24k
        whole = len(data) - len(data) % 2
        self._carry = data[whole:]
        for offset in range(0, whole, CHUNK_BYTES):
            chunk = data[offset : min(offset + CHUNK_BYTES, whole)]
            audio = base64.b64encode(chunk).decode("ascii")
            await self._send({"type": "input_audio_buffer.append", "audio": audio})
            self._pending_bytes += len(chunk)
            self._sent_bytes += len(chunk)

    async def finish(self, *, answer_config: RealtimeSessionConfig | None = None) -> str:
        """Commit the utterance (unless the server VAD did), wait for and return its text.

        The connection is closed afterwards, whatever happens, unless an answer was begun
        and the transcript is out: then the answer owns it.

        Args:
            answer_config: The answer's settings as they are now (they tell the time);
                sent before the answer is asked for if they changed while the user spoke.

        Returns:
            The transcript; ``""`` when the audio held no speech (or was too short).

        Raises:
            TranscriptionError: The transcription failed.
            RealtimeAuthError: The API key was rejected.
            RealtimeConnectionError: The connection was lost (or the utterance cancelled).
            RealtimeTimeoutError: No transcript within ``result_timeout`` seconds.
        """
        if self._conn is None and self._failure is None and not self._closing:
            raise RuntimeError("start() the transcriber first")
        started = time.monotonic()
        try:
            try:
                async with asyncio.timeout(self._settings.result_timeout):
                    if self._settings.server_vad:
                        # Answered after every append: all VAD events of the audio are in.
                        await self._update_session()
                        await self._wait(lambda: not self._updates)
                    self._raise_failure()
                    answer = self._answer
                    if answer is not None and answer_config not in (None, answer.config):
                        assert answer_config is not None
                        answer.config = answer_config
                        await self._update_session()
                    if self._needs_commit():
                        # Known before sending: the answer can come before send() returns.
                        self._commit_id = self._new_event_id("commit")
                        self._pending_bytes = 0
                        await self._send(
                            {"type": "input_audio_buffer.commit"}, event_id=self._commit_id
                        )
                        await self._request_answer()
                    await self._wait(self._finished)
            except TimeoutError:
                raise RealtimeTimeoutError(
                    "No transcript from the Realtime API within "
                    f"{self._settings.result_timeout:g} s",
                    code="timeout",
                ) from None
            text = self._result()
            if text and self._answer_id is not None:
                assert self._answer is not None
                self._handed_over = True
                self._answer.handed_over()
        finally:
            if not self._handed_over:
                await self._close()
        _LOGGER.debug(
            "Transcribed %d ms of audio (%d items) %.3f s after the end of the utterance",
            self._sent_bytes // (SAMPLE_RATE * 2 // 1000),
            len(self._items),
            time.monotonic() - started,
        )
        return text

    async def cancel(self) -> None:
        """Close the connection now (barge-in, satellite gone); safe to call repeatedly.

        Once :meth:`finish` has handed the connection to the answer, the answer closes it.
        """
        if self._handed_over:
            return
        self._closing = True
        await self._close()

    async def __aenter__(self) -> Self:
        """Start the session."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the connection."""
        await self.cancel()

    # --- Internals ----------------------------------------------------------------------

    def _needs_commit(self) -> bool:
        if self._settings.server_vad:
            # The server decides what speech is: commit only the turn it has not ended.
            return self._in_speech
        return self._pending_bytes > 0

    def _finished(self) -> bool:
        """Whether every request was answered and every item transcribed."""
        return (
            self._commit_id is None
            and not self._updates
            and not self._vad_commits
            and all(item.done for item in self._items.values())
        )

    async def _wait(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition()`` holds or the session failed."""
        while self._failure is None and not condition():
            self._changed.clear()
            await self._changed.wait()

    async def _update_session(self) -> None:
        self._updates += 1
        session = (
            dict(self._settings.session_payload())
            if self._answer is None
            else self._settings.answering_payload(self._answer)
        )
        await self._send({"type": "session.update", "session": session})

    async def _request_answer(self) -> None:
        """Begin the answer from the committed audio (with a speculative answer only)."""
        if self._answer is None or self._answer_id is not None:
            return
        # Known before sending: the answer can come before send() returns.
        self._answer_id = self._new_event_id("response")
        await self._send({"type": "response.create"}, event_id=self._answer_id)
        self._answer.requested()

    async def _cancel_answer(self) -> None:
        """Stop the answer's response (its close; a connection that is gone is ignored)."""
        if self._conn is None or self._failure is not None:
            return
        with contextlib.suppress(RealtimeError):
            await self._send({"type": "response.cancel"})

    def _result(self) -> str:
        self._raise_failure()
        texts: list[str] = []
        for item in self._items.values():
            if item.error is not None:
                raise item.error
            if item.transcript and item.transcript.strip():
                texts.append(item.transcript.strip())
        return " ".join(texts)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _new_event_id(self, kind: str) -> str:
        return f"alice_stt_{kind}_{next(self._event_ids)}"

    async def _send(self, event: dict[str, Any], *, event_id: str | None = None) -> None:
        """Send a client event with an ``alice_stt_…`` id."""
        self._raise_failure()
        conn = self._conn
        if conn is None:
            if self._closing:
                raise RealtimeConnectionError("The transcription was cancelled", code="cancelled")
            raise RuntimeError("start() the transcriber first")
        event_id = event_id or self._new_event_id(event["type"].rsplit(".", 1)[-1])
        try:
            await conn.send_raw(json.dumps({**event, "event_id": event_id}))
        except (ConnectionClosed, OSError, OpenAIError) as err:
            raise self._failure or closed_error(err, expired=self._expired) from err

    async def _read(self, conn: AsyncRealtimeConnection) -> None:
        """Follow the server events until the connection ends."""
        error: BaseException | None = None
        try:
            async for event in conn:
                self._handle(event)
                self._changed.set()
        except (ConnectionClosed, OpenAIError, OSError, ValueError) as err:
            error = err
        finally:
            if self._closing:
                lost: RealtimeError = RealtimeConnectionError(
                    "The transcription was cancelled", code="cancelled"
                )
            else:
                _LOGGER.debug("Transcription session ended: %s", close_description(error))
                lost = closed_error(error, expired=self._expired)
            self._failure = self._failure or lost
            if self._answer is not None:
                self._answer.lost(error, expired=self._expired)
            self._changed.set()

    def _handle(self, event: RealtimeServerEvent) -> None:
        if self._answer is not None and event.type.startswith("response."):
            self._answer.feed(event)
            return
        match event.type:
            case "session.updated" | "transcription_session.updated":
                # (The beta name too: an answer is an answer.)
                self._updates = max(0, self._updates - 1)
            case "input_audio_buffer.speech_started":
                self._in_speech = True
            case "input_audio_buffer.speech_stopped":
                self._in_speech = False
                self._speech_stopped = True
                self._vad_commits += 1
            case "input_audio_buffer.committed":
                if self._vad_commits:
                    self._vad_commits -= 1
                else:
                    self._commit_id = None
                    self._in_speech = False
                self._items.setdefault(event.item_id, _Item())
            case "conversation.item.input_audio_transcription.delta":
                self._deltas.append(event.delta or "")
                _LOGGER.debug("Interim transcript: %s", self.interim)
            case "conversation.item.input_audio_transcription.completed":
                self._items.setdefault(event.item_id, _Item()).transcript = event.transcript
            case "conversation.item.input_audio_transcription.failed":
                code = event.error.code or "transcription_failed"
                message = event.error.message or "The audio could not be transcribed"
                self._items.setdefault(event.item_id, _Item()).error = TranscriptionError(
                    f"Transcription failed ({code}): {message}", code=code
                )
            case "error":
                if self._answer is not None and self._answer_id is not None:
                    if event.error.event_id == self._answer_id:
                        self._answer.feed(event)  # the answer failed, not the transcript
                        return
                    if event.error.event_id is None:
                        self._answer.feed(event)  # the session failed: both did
                self._on_error(event.error.code, event.error.message, event.error.event_id)

    def _on_error(self, code: str | None, message: str, event_id: str | None) -> None:
        if code == "input_audio_buffer_commit_empty" and event_id == self._commit_id:
            # Under 100 ms left to commit: nothing more was said.
            self._commit_id = None
            return
        _LOGGER.debug("Realtime transcription error %s: %s", code, message)
        if code == "invalid_api_key":
            failure: RealtimeError = RealtimeAuthError(
                "The Realtime API rejected the API key", code=code
            )
        elif code == "session_expired":
            self._expired = True
            failure = RealtimeSessionExpired("The transcription session expired", code=code)
        else:
            failure = TranscriptionError(
                f"Realtime transcription error {code}: {message}", code=code
            )
        self._failure = self._failure or failure

    async def _close(self) -> None:
        self._closing = True
        conn, self._conn = self._conn, None
        reader, self._reader = self._reader, None
        await close_quietly(conn)
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._changed.set()
