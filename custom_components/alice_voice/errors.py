"""Turn failures, each with a translation key for the spoken message."""

from .backends.ollama import OllamaError


class AliceVoiceTurnError(Exception):
    """A turn failed; ``key`` names the message in ``exceptions.<key>.message``."""

    def __init__(
        self,
        key: str,
        placeholders: dict[str, str] | None = None,
        *,
        backend_down: str | None = None,
    ) -> None:
        """Initialize with a translation key and its placeholders (no secrets).

        ``backend_down`` names the backend (``ollama``/``openai``) whose health
        the failure counts against, if any.
        """
        super().__init__(key)
        self.key = key
        self.placeholders = placeholders or {}
        self.backend_down = backend_down

    def __str__(self) -> str:
        """Return the key and placeholders, safe for logs."""
        if not self.placeholders:
            return self.key
        details = ", ".join(f"{k}={v}" for k, v in sorted(self.placeholders.items()))
        return f"{self.key} ({details})"


# Ollama failure reason -> translation key
OLLAMA_ERROR_KEYS = {
    "cannot_connect": "ollama_unreachable",
    "invalid_auth": "ollama_invalid_auth",
    "model_not_found": "model_not_found",
    "timeout": "ollama_timeout",
    "bad_stream": "ollama_bad_stream",
    "server_error": "ollama_error",
}


# Failures that say the server is unwell (a missing model or a garbled reply does not).
OLLAMA_HEALTH_REASONS = frozenset({"cannot_connect", "invalid_auth", "timeout", "server_error"})


def ollama_turn_error(err: OllamaError, *, host: str, model: str) -> AliceVoiceTurnError:
    """Turn an Ollama failure into a turn error with the right message."""
    return AliceVoiceTurnError(
        OLLAMA_ERROR_KEYS.get(err.reason, "ollama_error"),
        {"host": host, "model": err.model or model},
        backend_down="ollama" if err.reason in OLLAMA_HEALTH_REASONS else None,
    )
