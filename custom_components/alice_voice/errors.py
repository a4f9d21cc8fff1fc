"""Turn failures, each with a translation key for the spoken message.

A path that fails raises :class:`AliceVoiceTurnError`. Its ``key`` names the
message (``exceptions.<key>.message`` in the translations), ``backend`` the
backend whose health the failure counts against (if any), and
``fallback_ok`` whether another path may still answer the turn.
"""

from typing import Final

from homeassistant.components import conversation

from .backends.ollama import OllamaError
from .backends.realtime_types import RealtimeAuthError, RealtimeError, RealtimeTimeoutError
from .const import Backend


class AliceVoiceTurnError(Exception):
    """A turn failed; ``key`` names the message in ``exceptions.<key>.message``."""

    def __init__(
        self,
        key: str,
        placeholders: dict[str, str] | None = None,
        *,
        backend: Backend | None = None,
        fallback_ok: bool = False,
    ) -> None:
        """Initialize with a translation key and its placeholders (no secrets)."""
        super().__init__(key)
        self.key = key
        self.placeholders = placeholders or {}
        self.backend = backend
        self.fallback_ok = fallback_ok

    def __str__(self) -> str:
        """Return the key and placeholders, safe for logs."""
        if not self.placeholders:
            return self.key
        details = ", ".join(f"{k}={v}" for k, v in sorted(self.placeholders.items()))
        return f"{self.key} ({details})"


class PromptError(Exception):
    """Home Assistant refused the LLM setup (a prompt that does not render, say)."""

    def __init__(self, result: conversation.ConversationResult) -> None:
        """Keep Home Assistant's own answer to the failure."""
        super().__init__("prompt_error")
        self.result = result


#: Ollama failure reason -> translation key.
OLLAMA_ERROR_KEYS: Final = {
    "cannot_connect": "ollama_unreachable",
    "invalid_auth": "ollama_invalid_auth",
    "model_not_found": "model_not_found",
    "timeout": "ollama_timeout",
    "bad_stream": "ollama_bad_stream",
    "server_error": "ollama_error",
}
#: Failures that say the server is unwell (a missing model or a garbled reply does not).
OLLAMA_HEALTH_REASONS: Final = frozenset(
    {"cannot_connect", "invalid_auth", "timeout", "server_error"}
)
#: Local failures the cloud may retry (input errors and tool loops are not among them).
OLLAMA_RETRYABLE: Final = frozenset(
    {"cannot_connect", "timeout", "server_error", "bad_stream", "model_not_found", "unknown"}
)
#: Keys that mean a key was rejected: the entry needs re-authentication.
AUTH_FAILURES: Final = frozenset({"ollama_invalid_auth", "openai_invalid_auth"})


def ollama_turn_error(err: OllamaError, *, host: str, model: str) -> AliceVoiceTurnError:
    """Turn an Ollama failure into a turn error with the right message."""
    return AliceVoiceTurnError(
        OLLAMA_ERROR_KEYS.get(err.reason, "ollama_error"),
        {"host": host, "model": err.model or model},
        backend=Backend.OLLAMA if err.reason in OLLAMA_HEALTH_REASONS else None,
        fallback_ok=err.reason in OLLAMA_RETRYABLE,
    )


def realtime_turn_error(err: RealtimeError) -> AliceVoiceTurnError:
    """Turn a Realtime failure into a turn error; another path may always answer."""
    key = "openai_unreachable"
    if isinstance(err, RealtimeAuthError):
        key = "openai_invalid_auth"
    elif isinstance(err, RealtimeTimeoutError):
        key = "openai_timeout"
    return AliceVoiceTurnError(key, backend=Backend.OPENAI, fallback_ok=True)
