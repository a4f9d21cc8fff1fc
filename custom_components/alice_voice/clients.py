"""The one place that builds Alice's backend clients, checks them and names their failures.

Setup (through the coordinator), the config flow and the coordinator's health
probes all call these functions, so a connection is built and judged the same
way everywhere:

* :func:`build_ollama` / :func:`async_build_openai` make the clients, with
  Home Assistant's SSL context and HTTP client, never loading certificates or
  the (large) OpenAI SDK on the event loop;
* :func:`async_check_ollama` / :func:`async_check_openai` make one cheap call
  (the model list) and raise :class:`ConnectionCheckError`, which says what is
  wrong (:class:`Problem`), with the translation key of the message and its
  placeholders (the host, never a key).
"""

import asyncio
from collections.abc import Mapping
from enum import StrEnum
import importlib
from typing import TYPE_CHECKING, Any, Final, cast

from homeassistant.core import HomeAssistant
from homeassistant.helpers.httpx_client import get_async_client
from homeassistant.util.ssl import get_default_context

from .backends.ollama import (
    OllamaAuthError,
    OllamaBackend,
    OllamaConnectionError,
    OllamaError,
    OllamaResponseError,
    OllamaTimeoutError,
)
from .const import (
    CONF_OLLAMA_API_KEY,
    CONF_OLLAMA_URL,
    CONF_OPENAI_API_KEY,
    CONF_OPENAI_BASE_URL,
    CONNECT_TIMEOUT,
    Backend,
)
from .helpers import host_of

if TYPE_CHECKING:
    # The OpenAI SDK is imported only by entries with a key (it is large).
    import openai

REALTIME_MODULE: Final = f"{__package__}.backends.realtime"


class Problem(StrEnum):
    """What is wrong with a connection."""

    INVALID_AUTH = "invalid_auth"  # the key was rejected
    CANNOT_CONNECT = "cannot_connect"  # nothing answers, or not in time
    SERVER_ERROR = "server_error"  # it answers, but is unwell (5xx, 429)
    NOT_OLLAMA = "not_ollama"  # it answers, but not like Ollama (another 4xx)
    UNKNOWN = "unknown"  # an answer nobody expected


#: (backend, problem) -> translation key of the message (``exceptions.<key>.message``).
PROBLEM_KEYS: Final[dict[tuple[Backend, Problem], str]] = {
    (Backend.OLLAMA, Problem.INVALID_AUTH): "ollama_invalid_auth",
    (Backend.OLLAMA, Problem.CANNOT_CONNECT): "ollama_unreachable",
    (Backend.OLLAMA, Problem.SERVER_ERROR): "ollama_unreachable",
    (Backend.OLLAMA, Problem.NOT_OLLAMA): "ollama_not_ollama",
    (Backend.OLLAMA, Problem.UNKNOWN): "ollama_unreachable",
    (Backend.OPENAI, Problem.INVALID_AUTH): "openai_invalid_auth",
    (Backend.OPENAI, Problem.CANNOT_CONNECT): "openai_unreachable",
    (Backend.OPENAI, Problem.SERVER_ERROR): "openai_unreachable",
    (Backend.OPENAI, Problem.UNKNOWN): "openai_unreachable",
}


class ConnectionCheckError(Exception):
    """A backend failed its check; the message is safe to log (no secrets)."""

    def __init__(
        self,
        backend: Backend,
        problem: Problem,
        placeholders: dict[str, str] | None = None,
    ) -> None:
        """Initialize with the backend, what is wrong and the message's placeholders."""
        super().__init__(f"{backend}: {problem}")
        self.backend = backend
        self.problem = problem
        self.translation_key = PROBLEM_KEYS[backend, problem]
        self.placeholders = placeholders or {}


def build_ollama(data: Mapping[str, Any], *, timeout: float | None = None) -> OllamaBackend:
    """Ollama's client for the connection in ``data`` (safe on the event loop)."""
    extra = {} if timeout is None else {"timeout": timeout}
    return OllamaBackend(
        data[CONF_OLLAMA_URL],
        api_key=data.get(CONF_OLLAMA_API_KEY),
        verify=get_default_context(),
        connect_timeout=CONNECT_TIMEOUT,
        **extra,
    )


async def async_build_openai(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> openai.AsyncOpenAI | None:
    """OpenAI's client for the key in ``data``; None without a key.

    The SDK and Alice's Realtime client are imported in the executor: they are
    large, and a first fast turn would otherwise import them on the event loop.
    """
    if not (api_key := data.get(CONF_OPENAI_API_KEY)):
        return None
    await hass.async_add_executor_job(importlib.import_module, REALTIME_MODULE)
    import openai  # noqa: PLC0415 - imported above, off the event loop

    client = openai.AsyncOpenAI(
        api_key=api_key,
        base_url=data.get(CONF_OPENAI_BASE_URL),
        # Legacy HTTPX clients are supported at runtime only (as in core).
        http_client=cast("Any", get_async_client(hass)),
        max_retries=0,
    )
    # The client reads platform details from disk once: do it off the event loop.
    await hass.async_add_executor_job(client.platform_headers)
    return client


async def async_check_ollama(backend: OllamaBackend) -> None:
    """Ask Ollama for its models; raise :class:`ConnectionCheckError` if that fails."""
    host = {"host": host_of(backend.host)}
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await backend.list_models()
    except OllamaAuthError as err:
        raise ConnectionCheckError(Backend.OLLAMA, Problem.INVALID_AUTH, host) from err
    except OllamaResponseError as err:
        if err.status_code >= 500 or err.status_code == 429:
            raise ConnectionCheckError(Backend.OLLAMA, Problem.SERVER_ERROR, host) from err
        raise ConnectionCheckError(
            Backend.OLLAMA, Problem.NOT_OLLAMA, {**host, "status": str(err.status_code)}
        ) from err
    except (TimeoutError, OllamaConnectionError, OllamaTimeoutError) as err:
        raise ConnectionCheckError(Backend.OLLAMA, Problem.CANNOT_CONNECT, host) from err
    except OllamaError as err:
        raise ConnectionCheckError(Backend.OLLAMA, Problem.UNKNOWN, host) from err


async def async_check_openai(client: openai.AsyncOpenAI) -> None:
    """Ask OpenAI for its models; raise :class:`ConnectionCheckError` if that fails."""
    import openai  # noqa: PLC0415 - loaded already: there is a client

    try:
        await client.with_options(timeout=CONNECT_TIMEOUT).models.list()
    except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
        raise ConnectionCheckError(Backend.OPENAI, Problem.INVALID_AUTH) from err
    except openai.APIConnectionError as err:
        raise ConnectionCheckError(Backend.OPENAI, Problem.CANNOT_CONNECT) from err
    except openai.APIStatusError as err:
        problem = Problem.SERVER_ERROR if err.status_code >= 500 else Problem.UNKNOWN
        raise ConnectionCheckError(Backend.OPENAI, problem) from err
    except openai.OpenAIError as err:
        raise ConnectionCheckError(Backend.OPENAI, Problem.UNKNOWN) from err
