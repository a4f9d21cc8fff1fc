"""Map Realtime failures to :class:`~.realtime_types.RealtimeError` subclasses.

Every way a Realtime session can fail ends up here: a refused WebSocket upgrade, a
handshake that timed out or never reached ``session.created``, a connection closed with a
WebSocket close code, and ``error`` events sent by the server. The functions only build
exceptions (with a stable ``code`` for the integration's error keys); raising them and
discarding the session is up to the caller.
"""

from typing import Final

from websockets.exceptions import ConnectionClosed

from .realtime_types import (
    RealtimeAuthError,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeResponseError,
    RealtimeSessionExpired,
)

CLOSE_CODE_MESSAGES: Final = {
    1001: "the server is going away",
    1006: "the connection was lost",
    1009: "a message was larger than the size limit",
    1011: "the server hit an internal error",
}
"""What the WebSocket close codes the Realtime API uses mean, for error messages."""

_SESSION_EXPIRED: Final = "The Realtime session expired (60-minute limit); the next turn reconnects"


def close_description(error: BaseException | None) -> str:
    """Describe how a connection ended, for logs and error messages.

    Args:
        error: What ended the reader (a ``ConnectionClosed`` with its close frames, another
            transport error), or ``None`` when the server closed the stream cleanly.
    """
    if isinstance(error, ConnectionClosed):
        frame = error.sent if error.sent is not None else error.rcvd
        if frame is not None:
            detail = CLOSE_CODE_MESSAGES.get(frame.code, frame.reason or "closed")
            return f"connection closed with code {frame.code} ({detail})"
        return "the connection was lost"
    if error is not None:
        return f"connection failed ({type(error).__name__})"
    return "the server closed the connection"


def close_code(error: BaseException | None) -> str | None:
    """Return the error code of a closed connection (``close_<code>``), if it had one."""
    if isinstance(error, ConnectionClosed):
        frame = error.sent if error.sent is not None else error.rcvd
        return f"close_{frame.code}" if frame is not None else "close_1006"
    return None


def closed_error(error: BaseException | None, *, expired: bool) -> RealtimeError:
    """Return the error for a turn that found its connection closed.

    Args:
        error: What ended the connection, as for :func:`close_description`.
        expired: Whether the server had announced ``session_expired`` first.
    """
    if expired:
        return RealtimeSessionExpired(_SESSION_EXPIRED, code="session_expired")
    return RealtimeConnectionError(
        f"Realtime {close_description(error)}", code=close_code(error) or "closed"
    )


def error_from_event(code: str | None, message: str) -> RealtimeError:
    """Return the error for a server ``error`` event received during a turn."""
    if code == "invalid_api_key":
        return RealtimeAuthError("The Realtime API rejected the API key", code=code)
    if code == "session_expired":
        return RealtimeSessionExpired(_SESSION_EXPIRED, code=code)
    return RealtimeResponseError(f"Realtime error {code}: {message}", code=code)


def handshake_status_error(status: int) -> RealtimeError:
    """Return the error for a WebSocket upgrade answered with HTTP ``status``."""
    if status in (401, 403):
        return RealtimeAuthError(
            f"The Realtime API rejected the API key (HTTP {status})", code=f"http_{status}"
        )
    return RealtimeConnectionError(
        f"The Realtime API refused the connection (HTTP {status})", code=f"http_{status}"
    )


def connect_timeout_error(seconds: float) -> RealtimeConnectionError:
    """Return the error for a handshake that did not reach ``session.created`` in time."""
    return RealtimeConnectionError(
        f"Timed out connecting to the Realtime API after {seconds:.0f} s", code="timeout"
    )


def connect_failed_error(error: BaseException) -> RealtimeConnectionError:
    """Return the error for a connection that could not be opened (refused, reset, TLS)."""
    return RealtimeConnectionError(
        f"Could not connect to the Realtime API: {error}", code="connect_failed"
    )


def session_refused_error(code: str | None, message: str) -> RealtimeError:
    """Return the error for a new connection answered with an ``error`` event.

    The server does this instead of ``session.created`` for a rejected key or model.
    """
    if code == "invalid_api_key":
        return RealtimeAuthError("The Realtime API rejected the API key", code=code)
    return RealtimeConnectionError(f"The Realtime API refused the session: {message}", code=code)


def unexpected_event_error(event_type: str) -> RealtimeConnectionError:
    """Return the error for a new connection whose first event was not ``session.created``."""
    return RealtimeConnectionError(
        f"Unexpected first Realtime event {event_type!r}", code="protocol"
    )
