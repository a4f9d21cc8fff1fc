"""Translate one Realtime response into typed turn events.

:func:`response_events` reads the server events a session's reader queued after
``response.create`` and yields :data:`~.realtime_types.RealtimeEvent`: text and transcript
deltas, decoded audio, complete function calls and a final
:class:`~.realtime_types.RealtimeResponseDone`. It enforces the time to the first delta and
the longest pause between events, and turns ``error`` events, failed responses and a lost
connection into :class:`~.realtime_types.RealtimeError`. Sending and session cleanup are
the caller's.

Server events are dispatched on their ``type`` string: the SDK does not validate events,
and an unknown type arrives as the first class of its union with the right ``type``.
"""

import asyncio
import base64
import binascii
from collections.abc import AsyncGenerator
import json
import logging
import time
from typing import Any, Final, Protocol

from openai.types.realtime.realtime_server_event import RealtimeServerEvent

from .realtime_errors import error_from_event
from .realtime_session import Closed
from .realtime_types import (
    RealtimeAudioDelta,
    RealtimeError,
    RealtimeEvent,
    RealtimeFunctionCall,
    RealtimeResponseDone,
    RealtimeResponseError,
    RealtimeTextDelta,
    RealtimeTimeoutError,
    RealtimeUsage,
)

# One logger for the whole Realtime client, whichever module logs.
_LOGGER: Final = logging.getLogger(f"{__package__}.realtime")


class ResponseSource(Protocol):
    """Where a response's server events come from: a session, or a speculative answer."""

    @property
    def key(self) -> str:
        """What the events belong to, for logs."""
        ...

    @property
    def events(self) -> asyncio.Queue[RealtimeServerEvent | Closed]:
        """Server events in order, then a :class:`Closed` when the connection ends."""
        ...

    def closed_error(self, error: BaseException | None) -> RealtimeError:
        """The error for a response whose connection ended."""
        ...


async def response_events(
    session: ResponseSource,
    *,
    first_delta_timeout: float,
    stream_timeout: float,
    new_session: bool,
) -> AsyncGenerator[RealtimeEvent]:
    """Yield the events of the response just requested on ``session``.

    Args:
        session: The session ``response.create`` was sent on (or any other source of
            that response's events).
        first_delta_timeout: Seconds allowed from now until the first delta.
        stream_timeout: Seconds allowed between two events once the response streams.
        new_session: Reported in :attr:`RealtimeResponseDone.new_session`.

    Yields:
        Deltas and function calls, then one :class:`RealtimeResponseDone`.

    Raises:
        RealtimeTimeoutError: The response did not start or stalled.
        RealtimeResponseError: The server answered with an ``error`` event or the response
            failed.
        RealtimeConnectionError: The connection was lost.
        RealtimeSessionExpired: The session expired.
        RealtimeAuthError: The server rejected the API key.
    """
    started = time.monotonic()
    first_delta: float | None = None
    response_id: str | None = None
    parts: list[str] = []
    calls: list[RealtimeFunctionCall] = []

    def mark_first() -> None:
        nonlocal first_delta
        if first_delta is None:
            first_delta = time.monotonic() - started
            _LOGGER.debug("Realtime first delta for %s after %.3f s", session.key, first_delta)

    while True:
        if first_delta is None:
            remaining = first_delta_timeout - (time.monotonic() - started)
        else:
            remaining = stream_timeout
        try:
            async with asyncio.timeout(max(remaining, 0)):
                item = await session.events.get()
        except TimeoutError:
            if first_delta is None:
                raise RealtimeTimeoutError(
                    f"The Realtime response did not start within {first_delta_timeout:.1f} s",
                    code="first_delta_timeout",
                ) from None
            raise RealtimeTimeoutError(
                f"The Realtime response stalled for {stream_timeout:.1f} s",
                code="stream_timeout",
            ) from None
        if isinstance(item, Closed):
            raise session.closed_error(item.error)
        event = item
        _LOGGER.debug("Realtime %s <- %s", session.key, event.type)
        if event.type == "error":
            if event.error.code == "response_cancel_not_active":
                continue  # a cancel that crossed the end of the response
            raise error_from_event(event.error.code, event.error.message)
        if event.type == "response.created":
            response_id = event.response.id
        elif event.type == "response.output_text.delta":
            mark_first()
            parts.append(event.delta)
            yield RealtimeTextDelta(event.delta)
        elif event.type == "response.output_audio_transcript.delta":
            mark_first()
            parts.append(event.delta)
            yield RealtimeTextDelta(event.delta, transcript=True)
        elif event.type == "response.output_audio.delta":
            mark_first()
            try:
                audio = base64.b64decode(event.delta, validate=True)
            except binascii.Error:
                _LOGGER.debug("Realtime %s: undecodable audio delta", session.key)
                continue
            yield RealtimeAudioDelta(audio)
        elif event.type == "response.function_call_arguments.delta":
            mark_first()
        elif event.type == "response.function_call_arguments.done":
            mark_first()
            arguments, valid = parse_arguments(event.arguments)
            if not valid:
                _LOGGER.debug("Realtime call %s had invalid arguments", event.name)
            call = RealtimeFunctionCall(
                call_id=event.call_id,
                name=event.name,
                arguments=arguments,
                raw_arguments=event.arguments,
                arguments_valid=valid,
            )
            calls.append(call)
            yield call
        elif event.type == "response.done":
            done = event.response
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
            yield RealtimeResponseDone(
                response_id=done.id,
                status=status,
                reason=details.reason if details is not None else None,
                text="".join(parts),
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


def parse_arguments(raw: str) -> tuple[dict[str, Any], bool]:
    """Parse function call arguments; return them and whether they were a JSON object.

    Empty arguments count as ``{}``; anything else that is not a JSON object gives ``{}``
    and ``False``.
    """
    if not raw.strip():
        return {}, True
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}, False
    if isinstance(parsed, dict):
        return parsed, True
    return {}, False
