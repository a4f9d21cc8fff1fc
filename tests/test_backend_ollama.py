"""The HA-free Ollama backend against the protocol-faithful test server."""

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypedDict, Unpack

import httpx
import pytest

from custom_components.alice_voice.backends.ollama import (
    ChatChunk,
    KeepAlive,
    ModelInfo,
    OllamaAuthError,
    OllamaBackend,
    OllamaConnectionError,
    OllamaError,
    OllamaModelNotFoundError,
    OllamaResponseError,
    OllamaStreamError,
    OllamaTimeoutError,
    ThinkValue,
    ToolCall,
    format_keep_alive,
    map_error,
    repair_tool_arguments,
    think_value,
)
from simulators.ollama import CostModel, OllamaTestServer, ScriptedReply

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def backend(ollama_server: OllamaTestServer) -> AsyncIterator[OllamaBackend]:
    """A backend pointed at the test server."""
    backend = OllamaBackend(ollama_server.url, timeout=5)
    yield backend
    await backend.close()


class ChatOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`OllamaBackend.chat` the tests pass."""

    tools: Sequence[Mapping[str, Any]] | None
    think: ThinkValue | None
    keep_alive: KeepAlive | None
    options: Mapping[str, Any] | None
    chunk_timeout: float | None


async def collect(
    backend: OllamaBackend, model: str = "gpt-oss:20b", **kwargs: Unpack[ChatOptions]
) -> list[ChatChunk]:
    return [c async for c in backend.chat(model, [{"role": "user", "content": "hej"}], **kwargs)]


def test_keep_alive_format() -> None:
    assert format_keep_alive(-1) == -1
    assert format_keep_alive(-30) == -1
    assert format_keep_alive(0) == "0s"
    assert format_keep_alive(300) == "300s"


@pytest.mark.parametrize(
    ("name", "caps", "level", "expected"),
    [
        ("gpt-oss:20b", {"thinking"}, "medium", "medium"),
        ("gpt-oss:20b", {"thinking"}, "off", "low"),
        ("gpt-oss:120b", {"thinking"}, "nonsense", "low"),
        ("qwen3:8b", {"thinking"}, "off", False),
        ("qwen3:8b", {"thinking"}, "high", True),
        ("llama3.2", {"tools"}, "high", None),
    ],
)
def test_think_value(name: str, caps: set[str], level: str, expected: object) -> None:
    assert think_value(ModelInfo(name, frozenset(caps)), level) == expected


def test_repair_tool_arguments() -> None:
    assert repair_tool_arguments(
        {"name": "lampan", "area": "", "brightness": None, "domain": '["light"]', "raw": "[oops"}
    ) == {"name": "lampan", "domain": ["light"], "raw": "[oops"}


async def test_models_and_info_are_cached(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    assert "gpt-oss:20b" in await backend.list_models()
    info = await backend.model_info("gpt-oss:20b")
    again = await backend.model_info("gpt-oss:20b")
    assert info is again
    assert info.supports_tools
    assert info.supports_thinking
    assert info.context_length == 131072
    assert [p for p, _ in ollama_server.requests].count("/api/show") == 1
    with pytest.raises(OllamaModelNotFoundError) as err:
        await backend.model_info("nope:1b")
    assert err.value.model == "nope:1b"
    assert err.value.reason == "model_not_found"


async def test_chat_streams_thinking_tools_and_metrics(
    backend: OllamaBackend, ollama_server: OllamaTestServer
) -> None:
    ollama_server.reply_always(
        ScriptedReply(
            thinking="Hmm.",
            tool_calls=[{"name": "spela", "arguments": {"query": "jazz", "area": ""}}],
            content=["Spelar ", "jazz."],
        )
    )
    chunks = await collect(backend, think="low", keep_alive=-1, tools=[{"type": "function"}])
    assert [c.thinking for c in chunks if c.thinking] == ["Hmm."]
    assert [c.content for c in chunks if c.content] == ["Spelar ", "jazz."]
    calls = [call for c in chunks for call in c.tool_calls]
    assert calls == [ToolCall(name="spela", arguments={"query": "jazz"})]
    final = chunks[-1]
    assert final.done
    assert final.done_reason == "stop"
    assert final.metrics is not None
    assert final.metrics.prompt_eval_count and final.metrics.prompt_eval_count > 0
    assert final.metrics.eval_count and final.metrics.eval_count > 0
    request = ollama_server.chat_requests[0]
    assert request.body["think"] == "low"
    assert request.body["stream"] is True


async def test_warm_and_pull(backend: OllamaBackend, ollama_server: OllamaTestServer) -> None:
    await backend.warm("gpt-oss:20b", keep_alive="10m")
    (request,) = ollama_server.load_requests
    assert request.messages == []
    assert request.body["keep_alive"] == "10m"
    assert "gpt-oss:20b" in ollama_server.loaded

    await backend.pull("phi4:14b")
    assert "phi4:14b" in await backend.list_models()
    ollama_server.pull_error = "no such model"
    with pytest.raises(OllamaError):
        await backend.pull("nope:1b")


async def test_cold_load_costs_time(ollama_server: OllamaTestServer) -> None:
    """The simulated server pays the load time once; the metrics say so."""
    ollama_server.cost = CostModel(load_time=0.2)
    backend = OllamaBackend(ollama_server.url)
    try:
        cold = (await collect(backend))[-1].metrics
        warm = (await collect(backend))[-1].metrics
    finally:
        await backend.close()
    assert cold is not None and warm is not None
    assert cold.load_duration is not None and cold.load_duration >= 200_000_000
    assert warm.load_duration is not None and warm.load_duration < cold.load_duration


@pytest.mark.parametrize(
    ("reply", "error", "reason"),
    [
        pytest.param(ScriptedReply(status=500), OllamaResponseError, "server_error", id="500"),
        pytest.param(
            ScriptedReply(content="a b c", error_after=1),
            OllamaResponseError,
            "server_error",
            id="mid",
        ),
        pytest.param(
            ScriptedReply(content="a b c", truncate_after=1),
            OllamaStreamError,
            "bad_stream",
            id="cut",
        ),
        pytest.param(
            ScriptedReply(content="a b", raw_line_after=(1, "[]")),
            OllamaStreamError,
            "bad_stream",
            id="not-an-object",
        ),
        pytest.param(
            ScriptedReply(content="x", first_token_delay=2),
            OllamaTimeoutError,
            "timeout",
            id="slow",
        ),
    ],
)
async def test_chat_failures(
    backend: OllamaBackend,
    ollama_server: OllamaTestServer,
    reply: ScriptedReply,
    error: type[OllamaError],
    reason: str,
) -> None:
    ollama_server.reply_always(reply)
    with pytest.raises(error) as err:
        await collect(backend, chunk_timeout=0.3)
    assert err.value.reason == reason


async def test_request_errors(ollama_server: OllamaTestServer) -> None:
    backend = OllamaBackend(ollama_server.url)
    try:
        with pytest.raises(OllamaModelNotFoundError):
            await collect(backend, model="nope:1b")
        with pytest.raises(OllamaResponseError) as err:
            await collect(backend, model="gemma3:4b", tools=[{"type": "function"}])
        assert err.value.status_code == 400
        with pytest.raises(OllamaResponseError):
            await collect(backend, model="llama3.2:latest", think=True)
    finally:
        await backend.close()

    ollama_server.api_key = "secret"
    backend = OllamaBackend(ollama_server.url, api_key="wrong")
    try:
        with pytest.raises(OllamaAuthError) as auth:
            await backend.list_models()
        assert "wrong" not in str(auth.value)
    finally:
        await backend.close()

    dead = OllamaBackend("http://127.0.0.1:9", connect_timeout=2)
    try:
        with pytest.raises(OllamaConnectionError):
            await dead.list_models()
        with pytest.raises(OllamaConnectionError):
            await collect(dead)
    finally:
        await dead.close()


async def test_warm_unknown_model(backend: OllamaBackend) -> None:
    with pytest.raises(OllamaModelNotFoundError):
        await backend.warm("nope:1b", keep_alive=-1)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RuntimeError("surprise"), OllamaError),
        (httpx.DecodingError("bad gzip"), OllamaConnectionError),
        (httpx.ReadTimeout("slow"), OllamaTimeoutError),
        (KeyError("message"), OllamaStreamError),
    ],
)
def test_map_error(error: Exception, expected: type[OllamaError]) -> None:
    mapped = map_error(error, model="m")
    assert type(mapped) is expected
    assert mapped.model == "m"
