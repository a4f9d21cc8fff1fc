"""Ollama backend: streaming chat over the official ``ollama`` AsyncClient.

No Home Assistant imports. The integration converts Home Assistant's chat log
into plain Ollama messages, calls :meth:`OllamaBackend.chat`, and turns the
:class:`ChatChunk` stream back into chat-log deltas.

Every failure leaves this module as an :class:`OllamaError` subclass whose
``reason`` is a stable key (``cannot_connect``, ``invalid_auth``,
``model_not_found``, ``timeout``, ``bad_stream``, ``server_error``), so callers
can map it to a translated message without parsing strings. Error texts never
contain the API key.
"""

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
import json
import logging
import ssl
from typing import Any, Final, Literal

import httpx
import ollama

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 60.0
"""Seconds to wait for the next streamed chunk (or a whole non-streamed reply)."""
DEFAULT_CONNECT_TIMEOUT: Final = 10.0

type ThinkValue = bool | Literal["low", "medium", "high"]
type KeepAlive = int | str


class OllamaError(Exception):
    """A failure talking to Ollama."""

    reason: str = "unknown"

    def __init__(self, message: str, *, model: str | None = None) -> None:
        """Initialize with a message that is safe to log (no secrets)."""
        super().__init__(message)
        self.model = model


class OllamaConnectionError(OllamaError):
    """Ollama cannot be reached."""

    reason = "cannot_connect"


class OllamaAuthError(OllamaError):
    """Ollama (or a proxy in front of it) rejected the credentials."""

    reason = "invalid_auth"


class OllamaModelNotFoundError(OllamaError):
    """The model is not installed on the Ollama server."""

    reason = "model_not_found"


class OllamaTimeoutError(OllamaError):
    """Ollama did not answer in time."""

    reason = "timeout"


class OllamaStreamError(OllamaError):
    """The reply stream was malformed or ended before it was done."""

    reason = "bad_stream"


class OllamaResponseError(OllamaError):
    """Ollama answered with an error."""

    reason = "server_error"

    def __init__(self, message: str, *, status_code: int, model: str | None = None) -> None:
        """Initialize with the HTTP status (-1 for an error inside the stream)."""
        super().__init__(message, model=model)
        self.status_code = status_code


@dataclass(slots=True, frozen=True)
class ToolCall:
    """A tool call requested by the model, with repaired arguments."""

    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass(slots=True, frozen=True)
class ChatMetrics:
    """Timing and token counts from the final chunk (durations in ns)."""

    total_duration: int | None = None
    load_duration: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration: int | None = None
    eval_count: int | None = None
    eval_duration: int | None = None


@dataclass(slots=True)
class ChatChunk:
    """One streamed piece of an assistant message."""

    content: str = ""
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    done: bool = False
    done_reason: str | None = None
    metrics: ChatMetrics | None = None


@dataclass(slots=True, frozen=True)
class ModelInfo:
    """What a model can do, from ``/api/show``."""

    name: str
    capabilities: frozenset[str]
    context_length: int | None = None

    @property
    def supports_tools(self) -> bool:
        """Whether the model accepts ``tools``."""
        return "tools" in self.capabilities

    @property
    def supports_thinking(self) -> bool:
        """Whether the model accepts ``think``."""
        return "thinking" in self.capabilities


def format_keep_alive(seconds: int) -> KeepAlive:
    """Return ``keep_alive`` as Ollama wants it.

    A negative value keeps the model loaded forever and must be sent as the
    integer -1 (``"-1s"`` is rejected); anything else as a duration string.
    """
    return -1 if seconds < 0 else f"{seconds}s"


def think_value(model: ModelInfo, level: str) -> ThinkValue | None:
    """Map a thinking level (off/low/medium/high) to what the model accepts.

    gpt-oss honours only "low", "medium" and "high" and ignores booleans, so
    "off" becomes "low" there. Other thinking models take booleans. A model
    that cannot think gets no ``think`` at all (Ollama answers 400 otherwise).
    """
    if not model.supports_thinking:
        return None
    if model.name.startswith("gpt-oss"):
        return "low" if level == "off" else _level(level)
    return level != "off"


def _level(level: str) -> Literal["low", "medium", "high"]:
    match level:
        case "medium":
            return "medium"
        case "high":
            return "high"
        case _:
            return "low"


def repair_tool_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Repair common small-model mistakes in tool arguments.

    Drops empty values (they fail intent slot matching) and decodes lists and
    objects that the model sent as JSON strings (as core's Ollama agent does).
    """
    repaired: dict[str, Any] = {}
    for key, value in arguments.items():
        if value is None or value == "":
            continue
        repaired[key] = _decode_json_string(value)
    return repaired


def _decode_json_string(value: Any) -> Any:
    if isinstance(value, str) and (
        (value.startswith("[") and value.endswith("]"))
        or (value.startswith("{") and value.endswith("}"))
    ):
        with contextlib.suppress(json.JSONDecodeError):
            return json.loads(value)
    return value


class OllamaBackend:
    """A thin, typed wrapper around ``ollama.AsyncClient``."""

    def __init__(
        self,
        host: str,
        *,
        api_key: str | None = None,
        verify: ssl.SSLContext | bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        """Create the client.

        Pass a ready ``ssl.SSLContext`` as ``verify`` when running inside an
        event loop: building a default context loads certificates from disk.
        """
        self.host = host
        headers = {"Authorization": f"Bearer {api_key.strip()}"} if api_key else None
        self._client = ollama.AsyncClient(
            host=host,
            headers=headers,
            verify=verify,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
        )
        self._model_info: dict[str, ModelInfo] = {}

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()  # type: ignore[no-untyped-call]

    async def list_models(self) -> list[str]:
        """Return the names of the installed models."""
        try:
            response = await self._client.list()
        except Exception as err:
            raise map_error(err) from err
        return [model.model for model in response.models if model.model]

    async def model_info(self, model: str) -> ModelInfo:
        """Return (and cache) what ``model`` can do."""
        if (cached := self._model_info.get(model)) is not None:
            return cached
        try:
            response = await self._client.show(model)
        except Exception as err:
            raise map_error(err, model=model) from err
        context_length: int | None = None
        for key, value in (response.modelinfo or {}).items():
            if key.endswith(".context_length") and isinstance(value, int):
                context_length = value
        info = ModelInfo(
            name=model,
            capabilities=frozenset(response.capabilities or ()),
            context_length=context_length,
        )
        self._model_info[model] = info
        return info

    def forget_model(self, model: str) -> None:
        """Drop what is cached about ``model`` (it was removed from the server)."""
        self._model_info.pop(model, None)

    async def pull(self, model: str) -> None:
        """Download ``model``; returns when Ollama reports success."""
        stream: AsyncIterator[ollama.ProgressResponse] | None = None
        try:
            stream = await self._client.pull(model, stream=True)
            async for progress in stream:
                _LOGGER.debug("Pulling %s: %s", model, progress.status)
        except Exception as err:
            raise map_error(err, model=model) from err
        finally:
            await _close(stream)

    async def loaded_models(self) -> set[str]:
        """Return the models loaded in memory now (``/api/ps``)."""
        try:
            response = await self._client.ps()
        except Exception as err:
            raise map_error(err) from err
        return {name for m in response.models if (name := m.model or m.name)}

    async def warm(self, model: str, *, keep_alive: KeepAlive, num_ctx: int | None = None) -> None:
        """Load ``model`` into memory (an empty chat), so a turn pays no load time.

        ``num_ctx`` must be the context size the turns will ask for: Ollama reloads
        a model whose runner was started with another one.
        """
        options = {"num_ctx": num_ctx} if num_ctx else None
        try:
            await self._client.chat(
                model=model, messages=[], keep_alive=keep_alive, options=options
            )
        except Exception as err:
            raise map_error(err, model=model) from err

    async def chat(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        think: ThinkValue | None = None,
        keep_alive: KeepAlive | None = None,
        options: Mapping[str, Any] | None = None,
        chunk_timeout: float | None = None,
    ) -> AsyncIterator[ChatChunk]:
        """Stream one assistant message.

        Yields content and thinking as it arrives; tool calls arrive whole.
        The last chunk has ``done=True`` and the metrics. A stream that ends
        without a ``done`` chunk raises :class:`OllamaStreamError`; waiting
        longer than ``chunk_timeout`` seconds for the first or any next chunk
        raises :class:`OllamaTimeoutError`.
        """
        done = False
        stream: AsyncIterator[ollama.ChatResponse] | None = None
        try:
            async with asyncio.timeout(chunk_timeout):
                stream = await self._client.chat(
                    model=model,
                    messages=list(messages),
                    tools=list(tools) if tools else None,
                    stream=True,
                    think=think,
                    keep_alive=keep_alive,
                    options=dict(options) if options else None,
                )
            while not done:
                # Errors such as 404 (unknown model) raise on the first chunk.
                async with asyncio.timeout(chunk_timeout):
                    response = await anext(stream, None)
                if response is None:
                    break
                chunk = _convert_chunk(response)
                done = chunk.done
                yield chunk
            # Read to the end so the client finishes its HTTP stream cleanly.
            async with asyncio.timeout(chunk_timeout):
                _rest = [response async for response in stream]
        except Exception as err:
            raise map_error(err, model=model) from err
        finally:
            await _close(stream)
        if not done:
            raise OllamaStreamError("the reply ended before it was done", model=model)


async def _close(stream: AsyncIterator[Any] | None) -> None:
    """Release a client stream now rather than when it is garbage-collected.

    After an error the client's line iterator is left open; one turn of the
    event loop lets its finalizer close it before the caller moves on.
    """
    if stream is None:
        return
    with contextlib.suppress(Exception):
        await stream.aclose()  # type: ignore[attr-defined]
    await asyncio.sleep(0)


def _convert_chunk(response: ollama.ChatResponse) -> ChatChunk:
    message = response.message
    chunk = ChatChunk(
        content=message.content or "",
        thinking=message.thinking or "",
        tool_calls=[
            ToolCall(
                name=call.function.name,
                arguments=repair_tool_arguments(call.function.arguments or {}),
                id=getattr(call, "id", None),
            )
            for call in message.tool_calls or ()
        ],
        done=bool(response.done),
        done_reason=response.done_reason,
    )
    if chunk.done:
        chunk.metrics = ChatMetrics(
            total_duration=response.total_duration,
            load_duration=response.load_duration,
            prompt_eval_count=response.prompt_eval_count,
            prompt_eval_duration=response.prompt_eval_duration,
            eval_count=response.eval_count,
            eval_duration=response.eval_duration,
        )
    return chunk


def map_error(err: BaseException, *, model: str | None = None) -> OllamaError:
    """Turn any client-side failure into an :class:`OllamaError`."""
    if isinstance(err, OllamaError):
        return err
    if isinstance(err, ollama.ResponseError):
        status = err.status_code
        text = str(err.error)
        if status in (401, 403):
            return OllamaAuthError(f"authentication failed ({status})", model=model)
        if status == 404 and model is not None and "not found" in text:
            return OllamaModelNotFoundError(f"model '{model}' not found", model=model)
        return OllamaResponseError(text, status_code=status, model=model)
    if isinstance(err, httpx.TimeoutException | TimeoutError):
        return OllamaTimeoutError("Ollama did not answer in time", model=model)
    if isinstance(err, httpx.ConnectError | ConnectionError | OSError):
        return OllamaConnectionError("cannot connect to Ollama", model=model)
    if isinstance(
        err,
        # Bad JSON, a chunk of the wrong shape (pydantic's ValidationError is a
        # ValueError), or a connection that broke off mid-stream.
        ValueError | TypeError | KeyError | AttributeError | httpx.RemoteProtocolError,
    ):
        return OllamaStreamError(f"malformed reply: {type(err).__name__}", model=model)
    if isinstance(err, httpx.HTTPError):
        return OllamaConnectionError(f"HTTP error: {type(err).__name__}", model=model)
    _LOGGER.debug("Unexpected Ollama client error", exc_info=err)
    return OllamaError(f"unexpected error: {type(err).__name__}", model=model)


__all__ = [
    "ChatChunk",
    "ChatMetrics",
    "KeepAlive",
    "ModelInfo",
    "OllamaAuthError",
    "OllamaBackend",
    "OllamaConnectionError",
    "OllamaError",
    "OllamaModelNotFoundError",
    "OllamaResponseError",
    "OllamaStreamError",
    "OllamaTimeoutError",
    "ThinkValue",
    "ToolCall",
    "format_keep_alive",
    "map_error",
    "repair_tool_arguments",
    "think_value",
]
