"""A protocol-faithful Ollama server for tests, benchmarks and the dev instance.

It speaks Ollama's HTTP API as documented in ``protocols.md`` §2 (the parts
Alice and core's ``ollama`` integration use): ``/``, ``/api/version``,
``/api/tags``, ``/api/show``, ``/api/ps``, ``/api/pull`` and a streaming
``/api/chat`` with compact NDJSON, ``message.role`` on every chunk, whole tool
calls with object arguments, thinking chunks and a final ``done`` chunk with
truthful counts and durations.

Replies are scripted with :class:`Rule` objects keyed on the request (the last
user text, whether tool results came back, the model, the tools offered), and
faults are part of a reply: an HTTP error before the stream, an ``{"error"}``
line inside it, a blank or malformed line, a truncated stream, slow tokens.

A :class:`CostModel` makes the server behave like a real GPU box for the
benchmarks: model load time when cold, prompt evaluation per token, time to
first token and a generation rate. The same model serves every client.

Every request is recorded (path + JSON body) for assertions.

Run standalone: ``python -m simulators.ollama --port 11434 [--demo]``.
"""

import argparse
import asyncio
from collections.abc import Callable, Iterable, Sequence
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import hashlib
import json
import re
import time
from typing import Any, Final, Self

from aiohttp import web

VERSION: Final = "0.12.11"

type Json = dict[str, Any]


#: The context size Ollama loads a model with when a request names none.
DEFAULT_NUM_CTX: Final = 4096


@dataclass(slots=True)
class ModelSpec:
    """A model the server pretends to have."""

    name: str
    capabilities: tuple[str, ...] = ("completion", "tools")
    family: str = "llama"
    parameter_size: str = "8B"
    context_length: int = 131072
    size: int = 4_900_000_000


DEFAULT_MODELS: Final = (
    ModelSpec(
        "gpt-oss:20b",
        capabilities=("completion", "tools", "thinking"),
        family="gptoss",
        parameter_size="20.9B",
        size=13_780_000_000,
    ),
    ModelSpec("llama3.2:latest", parameter_size="3.2B", size=2_019_000_000),
    ModelSpec("gemma3:4b", capabilities=("completion", "vision"), family="gemma3"),
    ModelSpec(
        "qwen3:8b",
        capabilities=("completion", "tools", "thinking"),
        family="qwen3",
        size=5_200_000_000,
    ),
)


@dataclass(slots=True)
class ScriptedReply:
    """What the server answers to one ``/api/chat`` request.

    ``content`` and ``thinking`` stream in the given pieces (a string is split
    into words). Tool calls come whole, after the thinking and before the
    content, as gpt-oss sends them.
    """

    content: str | Sequence[str] = ""
    thinking: str | Sequence[str] = ""
    tool_calls: Sequence[Json] = ()
    # Faults
    status: int | None = None  # answer this HTTP status with {"error": error} instead
    error: str = "internal error"
    error_after: int | None = None  # emit {"error": error} after this many chunks
    raw_line_after: tuple[int, str] | None = None  # inject a raw line after n chunks
    truncate_after: int | None = None  # close the stream after n chunks, no done
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    done_reason: str = "stop"


@dataclass(slots=True)
class ChatRequest:
    """A recorded ``/api/chat`` body with helpers for matching."""

    body: Json

    @property
    def model(self) -> str:
        """The requested model."""
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[Json]:
        """The messages sent."""
        messages = self.body.get("messages") or []
        return [m for m in messages if isinstance(m, dict)]

    @property
    def tools(self) -> list[Json]:
        """The tools offered."""
        return list(self.body.get("tools") or [])

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools offered."""
        return [t.get("function", {}).get("name", "") for t in self.tools]

    @property
    def last_user_text(self) -> str:
        """The content of the newest user message."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return str(message.get("content") or "")
        return ""

    @property
    def after_tool_result(self) -> bool:
        """Whether the newest message is a tool result."""
        return bool(self.messages) and self.messages[-1].get("role") == "tool"

    @property
    def tool_results(self) -> list[Json]:
        """Tool results since the newest user message, decoded when JSON."""
        results: list[Json] = []
        for message in reversed(self.messages):
            if message.get("role") == "user":
                break
            if message.get("role") == "tool":
                try:
                    results.insert(0, json.loads(message.get("content") or "null"))
                except json.JSONDecodeError:
                    results.insert(0, {"raw": message.get("content")})
        return results

    @property
    def system_prompt(self) -> str:
        """The system message, if any."""
        for message in self.messages:
            if message.get("role") == "system":
                return str(message.get("content") or "")
        return ""


type Responder = ScriptedReply | Callable[[ChatRequest], ScriptedReply]


@dataclass(slots=True)
class Rule:
    """Answer requests that match with ``reply``.

    All given conditions must hold: ``user`` is a regex searched in the last
    user text (case-insensitive); ``after_tool`` matches on whether the newest
    message is a tool result; ``model`` on the model name; ``when`` is any
    predicate. ``times`` limits how often the rule fires (None = always).
    """

    reply: Responder
    user: str | None = None
    after_tool: bool | None = None
    model: str | None = None
    when: Callable[[ChatRequest], bool] | None = None
    times: int | None = None
    hits: int = 0

    def matches(self, request: ChatRequest) -> bool:
        """Return whether this rule answers ``request``."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.user is not None and not re.search(self.user, request.last_user_text, re.I):
            return False
        if self.after_tool is not None and request.after_tool_result != self.after_tool:
            return False
        if self.model is not None and request.model != self.model:
            return False
        return self.when is None or self.when(request)


@dataclass(slots=True)
class CostModel:
    """How long a real Ollama box would take, for benchmarks.

    Zero everywhere (the default) answers at once. Token counts are estimated
    from characters (4 characters per token).
    """

    load_time: float = 0.0  # seconds to load a cold model
    prompt_tokens_per_s: float = 0.0  # 0 = free prompt evaluation
    first_token: float = 0.0  # seconds after prompt evaluation
    tokens_per_s: float = 0.0  # 0 = instant generation
    default_keep_alive: float = 300.0  # seconds a model stays loaded
    # Ollama keeps the evaluated prompt of its last requests (one KV cache per
    # parallel slot) and evaluates only what follows the longest shared prefix.
    # Off by default: every prompt is evaluated in full.
    prompt_cache: bool = False
    cache_slots: int = 4  # prompts remembered per model when prompt_cache is on


def estimate_tokens(text: str) -> int:
    """Estimate the token count of ``text`` (about four characters a token)."""
    return max(1, (len(text) + 3) // 4) if text else 0


def _pieces(value: str | Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return re.findall(r"\S+\s*|\s+", value) if value else []
    return list(value)


def _common_prefix(first: str, second: str) -> int:
    """Length of the common prefix of two strings."""
    limit = min(len(first), len(second))
    if first[:limit] == second[:limit]:
        return limit
    low, high = 0, limit  # invariant: first[:low] == second[:low], first[:high] != second[:high]
    while high - low > 1:
        middle = (low + high) // 2
        if first[:middle] == second[:middle]:
            low = middle
        else:
            high = middle
    return low


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class OllamaTestServer:
    """An aiohttp Ollama server on 127.0.0.1."""

    def __init__(
        self,
        *,
        models: Iterable[ModelSpec] = DEFAULT_MODELS,
        api_key: str | None = None,
        cost: CostModel | None = None,
        port: int = 0,
    ) -> None:
        """Configure the server; call :meth:`start` to listen."""
        self.models = {m.name: m for m in models}
        self.api_key = api_key
        self.cost = cost or CostModel()
        self.rules: list[Rule] = []
        self.requests: list[tuple[str, Json]] = []
        self.default_reply: Responder = self._echo
        self.pull_error: str | None = None  # fail /api/pull with this message
        self.loaded: dict[str, float] = {}  # model -> monotonic expiry
        self.loaded_ctx: dict[str, int] = {}  # model -> the context size it was loaded with
        self._loading: dict[str, asyncio.Future[None]] = {}  # model -> load in progress
        self._prompt_cache: dict[str, list[str]] = {}  # model -> recent prompts, newest last
        # Per /api/chat with messages: (model, prompt tokens, tokens evaluated after the cache)
        self.prompt_evals: list[tuple[str, int, int]] = []
        self._port = port
        self._runner: web.AppRunner | None = None

    # --- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port unless one was given)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/", self._root)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_post("/api/show", self._show)
        app.router.add_post("/api/pull", self._pull)
        app.router.add_post("/api/chat", self._chat)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()

    async def stop(self) -> None:
        """Stop listening and drop open streams."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start on entry."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop on exit."""
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._runner is not None, "server not started"
        return int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:12345``."""
        return f"http://127.0.0.1:{self.port}"

    # --- scripting ---------------------------------------------------------------
    def add_rule(self, reply: Responder, **conditions: Any) -> Rule:
        """Add a rule (see :class:`Rule`); earlier rules win."""
        rule = Rule(reply=reply, **conditions)
        self.rules.append(rule)
        return rule

    def reply_always(self, reply: Responder) -> None:
        """Answer every chat request with ``reply`` (clears the rules)."""
        self.rules.clear()
        self.default_reply = reply

    @property
    def chat_requests(self) -> list[ChatRequest]:
        """Every ``/api/chat`` request with messages (not a load), oldest first."""
        return [
            ChatRequest(body)
            for path, body in self.requests
            if path == "/api/chat" and body.get("messages")
        ]

    @property
    def load_requests(self) -> list[ChatRequest]:
        """``/api/chat`` requests without messages: loads (pre-warming) and unloads."""
        return [
            ChatRequest(body)
            for path, body in self.requests
            if path == "/api/chat" and not body.get("messages")
        ]

    @staticmethod
    def _echo(request: ChatRequest) -> ScriptedReply:
        return ScriptedReply(content=f"Du sa: {request.last_user_text}")

    # --- handlers ------------------------------------------------------------------
    def _authorized(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    @staticmethod
    def _error(status: int, message: str) -> web.Response:
        return web.json_response({"error": message}, status=status)

    async def _body(self, request: web.Request) -> Json | web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError, UnicodeDecodeError:
            return self._error(400, "invalid character in request body")
        if not isinstance(body, dict):
            return self._error(400, "json: cannot unmarshal into Go value")
        self.requests.append((request.path, body))
        return body

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")

    async def _version(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, {}))
        return web.json_response({"version": VERSION})

    async def _tags(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, {}))
        if not self._authorized(request):
            return self._error(401, "unauthorized")
        models = [
            {
                "name": spec.name,
                "model": spec.name,
                "modified_at": "2026-10-01T12:00:00.000000+02:00",
                "size": spec.size,
                "digest": hashlib.sha256(spec.name.encode()).hexdigest(),
                "details": self._details(spec),
            }
            for spec in self.models.values()
        ]
        return web.json_response({"models": models})

    async def _ps(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, {}))
        now = time.monotonic()
        running = []
        for name, expiry in self.loaded.items():
            if expiry < now or name not in self.models:
                continue
            spec = self.models[name]
            expires = datetime.now(UTC) + timedelta(seconds=min(expiry - now, 10**8))
            running.append(
                {
                    "name": name,
                    "model": name,
                    "size": spec.size,
                    "digest": "0" * 64,
                    "details": self._details(spec),
                    "expires_at": expires.isoformat(),
                    "size_vram": spec.size,
                    "context_length": 8192,
                }
            )
        return web.json_response({"models": running})

    @staticmethod
    def _details(spec: ModelSpec) -> Json:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": spec.family,
            "families": [spec.family],
            "parameter_size": spec.parameter_size,
            "quantization_level": "Q4_K_M",
        }

    async def _show(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401, "unauthorized")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        name = str(body.get("model") or body.get("name") or "")
        if (spec := self.models.get(name)) is None:
            return self._error(404, f"model '{name}' not found")
        return web.json_response(
            {
                "modelfile": f"FROM {name}",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": self._details(spec),
                "model_info": {
                    "general.architecture": spec.family,
                    f"{spec.family}.context_length": spec.context_length,
                },
                "capabilities": list(spec.capabilities),
                "modified_at": "2026-10-01T12:00:00.000000+02:00",
            }
        )

    async def _pull(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        name = str(body.get("model") or "")
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        await self._write(response, {"status": "pulling manifest"})
        if self.pull_error is not None:
            await self._write(response, {"error": self.pull_error})
            await response.write_eof()
            return response
        for status in ("verifying sha256 digest", "writing manifest"):
            await self._write(response, {"status": status})
        if name and name not in self.models:
            self.models[name] = ModelSpec(name)
        await self._write(response, {"status": "success"})
        await response.write_eof()
        return response

    @staticmethod
    async def _write(response: web.StreamResponse, obj: Json) -> None:
        await response.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def _pick(self, chat: ChatRequest) -> ScriptedReply:
        for rule in self.rules:
            if rule.matches(chat):
                rule.hits += 1
                return rule.reply(chat) if callable(rule.reply) else rule.reply
        reply = self.default_reply
        return reply(chat) if callable(reply) else reply

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic_ns()
        if not self._authorized(request):
            return self._error(401, "unauthorized")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        chat = ChatRequest(body)
        name = chat.model
        if not name:
            return self._error(400, "model is required")
        if (spec := self.models.get(name)) is None:
            return self._error(404, f"model '{name}' not found")
        if chat.tools and "tools" not in spec.capabilities:
            return self._error(400, f"registry.ollama.ai/library/{name} does not support tools")
        think = body.get("think")
        if think not in (None, False) and "thinking" not in spec.capabilities:
            return self._error(400, f'"{name}" does not support thinking')
        if think not in (None, True, False, "low", "medium", "high"):
            return self._error(400, f"invalid think value: {think!r}")
        options = body.get("options") or {}
        if not isinstance(options, dict):
            return self._error(400, "json: cannot unmarshal options")
        # num_predict caps generated tokens (thinking included); <= 0 or absent: no cap.
        limit = options.get("num_predict")
        limit = limit if isinstance(limit, int) and limit > 0 else None

        num_ctx = options.get("num_ctx")
        load_ns = await self._load(
            name,
            body.get("keep_alive"),
            num_ctx if isinstance(num_ctx, int) and num_ctx > 0 else DEFAULT_NUM_CTX,
        )
        stream = body.get("stream", True) is not False

        if not chat.messages:  # load (or unload) request
            return web.json_response(
                {
                    "model": name,
                    "created_at": _now_iso(),
                    "message": {"role": "assistant", "content": ""},
                    "done_reason": "unload" if body.get("keep_alive") == 0 else "load",
                    "done": True,
                }
            )

        reply = self._pick(chat)
        if reply.status is not None:
            return self._error(reply.status, reply.error)

        prompt_tokens = estimate_tokens(json.dumps(chat.messages) + json.dumps(chat.tools))
        all_prompt_tokens = prompt_tokens
        if self.cost.prompt_cache:
            prompt_tokens = self._uncached_tokens(name, chat)
        self.prompt_evals.append((name, all_prompt_tokens, prompt_tokens))
        prompt_start = time.monotonic_ns()
        if self.cost.prompt_tokens_per_s > 0:
            await asyncio.sleep(prompt_tokens / self.cost.prompt_tokens_per_s)
        prompt_ns = time.monotonic_ns() - prompt_start
        await asyncio.sleep(self.cost.first_token + reply.first_token_delay)

        # Thinking models think unless told not to; gpt-oss ignores booleans.
        thinks = "thinking" in spec.capabilities and (think is not False or spec.family == "gptoss")
        chunks = self._chunks(reply, thinking_allowed=thinks)
        eval_start = time.monotonic_ns()
        eval_tokens = 0

        cut = False
        if not stream:
            message: Json = {"role": "assistant", "content": ""}
            for chunk in chunks:
                if limit is not None and eval_tokens >= limit:
                    cut = True
                    break
                eval_tokens += await self._generate(chunk, reply)
                for key in ("content", "thinking"):
                    if key in chunk:
                        message[key] = message.get(key, "") + chunk[key]
                if "tool_calls" in chunk:
                    message.setdefault("tool_calls", []).extend(chunk["tool_calls"])
            final = self._final(name, reply, started, load_ns, prompt_tokens, prompt_ns)
            final.update(message=message, eval_count=eval_tokens)
            if cut:
                final["done_reason"] = "length"
            final["eval_duration"] = time.monotonic_ns() - eval_start
            return web.json_response(final)

        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for index, chunk in enumerate(chunks):
            if reply.error_after is not None and index == reply.error_after:
                await self._write(response, {"error": reply.error})
                await response.write_eof()
                return response
            if reply.truncate_after is not None and index == reply.truncate_after:
                await response.write_eof()
                return response
            if reply.raw_line_after is not None and index == reply.raw_line_after[0]:
                await response.write(reply.raw_line_after[1].encode() + b"\n")
            if limit is not None and eval_tokens >= limit:
                cut = True
                break
            eval_tokens += await self._generate(chunk, reply)
            await self._write(
                response,
                {"model": name, "created_at": _now_iso(), "message": chunk, "done": False},
            )
        if not cut and reply.error_after is not None and reply.error_after >= len(chunks):
            await self._write(response, {"error": reply.error})
            await response.write_eof()
            return response
        if not cut and reply.truncate_after is not None:
            await response.write_eof()
            return response
        final = self._final(name, reply, started, load_ns, prompt_tokens, prompt_ns)
        final["eval_count"] = eval_tokens
        final["eval_duration"] = time.monotonic_ns() - eval_start
        if cut:
            final["done_reason"] = "length"
        await self._write(response, final)
        await response.write_eof()
        return response

    async def _load(self, name: str, keep_alive: Any, num_ctx: int = DEFAULT_NUM_CTX) -> int:
        """Pay the cold-load cost if ``name`` is not loaded; return ns spent.

        Requests arriving while a model loads wait for that load, as with a
        real Ollama (they do not start a second one). A request for another
        context size than the loaded runner's reloads the model, as Ollama does.
        """
        now = time.monotonic()
        start = time.monotonic_ns()
        if self.loaded_ctx.get(name, num_ctx) != num_ctx:
            self.unload(name)
        self.loaded_ctx[name] = num_ctx
        if (loading := self._loading.get(name)) is not None:
            await asyncio.shield(loading)
        elif self.loaded.get(name, 0.0) < now and self.cost.load_time > 0:
            self._prompt_cache.pop(name, None)  # a fresh load has an empty KV cache
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._loading[name] = future
            try:
                await asyncio.sleep(self.cost.load_time)
            finally:
                del self._loading[name]
                future.set_result(None)
        self.loaded[name] = time.monotonic() + self._keep_alive_seconds(keep_alive)
        return time.monotonic_ns() - start

    def unload(self, name: str | None = None) -> None:
        """Forget that ``name`` (default: every model) is loaded, as when keep_alive expires."""
        for model in [name] if name is not None else list(self.loaded):
            self.loaded.pop(model, None)
            self.loaded_ctx.pop(model, None)
            self._prompt_cache.pop(model, None)

    def _uncached_tokens(self, name: str, chat: ChatRequest) -> int:
        """Tokens of the prompt after its longest prefix shared with a cached prompt.

        The tools come first, as in the model's chat template, so that a
        follow-up round (the same prompt plus a tool call and its result)
        reuses nearly all of the previous evaluation.
        """
        prompt = json.dumps(chat.tools) + json.dumps(chat.messages)
        cache = self._prompt_cache.setdefault(name, [])
        shared = max((_common_prefix(prompt, cached) for cached in cache), default=0)
        cache.append(prompt)
        del cache[: -max(1, self.cost.cache_slots)]
        return estimate_tokens(prompt[shared:])

    def _keep_alive_seconds(self, keep_alive: Any) -> float:
        if keep_alive is None:
            return self.cost.default_keep_alive
        if isinstance(keep_alive, int | float):
            return float("inf") if keep_alive < 0 else float(keep_alive)
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", str(keep_alive))
        if not match:
            return self.cost.default_keep_alive
        value = float(match.group(1))
        unit = match.group(2) or "s"
        return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]

    @staticmethod
    def _chunks(reply: ScriptedReply, *, thinking_allowed: bool) -> list[Json]:
        chunks: list[Json] = []
        if thinking_allowed:
            chunks.extend(
                {"role": "assistant", "content": "", "thinking": piece}
                for piece in _pieces(reply.thinking)
            )
        if reply.tool_calls:
            chunks.append(
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": f"call_{index:08x}",
                            "function": {
                                "index": index,
                                "name": call["name"],
                                "arguments": call.get("arguments", {}),
                            },
                        }
                        for index, call in enumerate(reply.tool_calls)
                    ],
                }
            )
        chunks.extend({"role": "assistant", "content": piece} for piece in _pieces(reply.content))
        return chunks

    async def _generate(self, chunk: Json, reply: ScriptedReply) -> int:
        """Pay the generation cost of ``chunk``; return its token count."""
        text = chunk.get("content", "") + chunk.get("thinking", "")
        if "tool_calls" in chunk:
            text += json.dumps(chunk["tool_calls"])
        tokens = estimate_tokens(text)
        delay = reply.chunk_delay
        if self.cost.tokens_per_s > 0:
            delay += tokens / self.cost.tokens_per_s
        if delay:
            await asyncio.sleep(delay)
        return tokens

    @staticmethod
    def _final(
        name: str,
        reply: ScriptedReply,
        started: int,
        load_ns: int,
        prompt_tokens: int,
        prompt_ns: int,
    ) -> Json:
        return {
            "model": name,
            "created_at": _now_iso(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": reply.done_reason,
            "total_duration": time.monotonic_ns() - started,
            "load_duration": load_ns,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": prompt_ns,
        }


# --- a small Swedish/English demo script for the dev instance ------------------------
_AREA = r"(?:i|in)\s+(?:the\s+)?(?P<area>[\wåäö]+)"


def demo_rules() -> list[Rule]:
    """Rules that make the simulated model control lights in the dev instance.

    "Tänd i köket" / "turn on the lights in the kitchen" → ``HassTurnOn``;
    "släck …" / "turn off …" → ``HassTurnOff``; after the tool result the model
    confirms in the language it was spoken to. Everything else gets a short
    answer that says it is the simulated model.
    """

    def area_of(request: ChatRequest) -> str:
        match = re.search(_AREA, request.last_user_text, re.I)
        return _base_area(match.group("area")) if match else ""

    def turn(intent: str) -> Callable[[ChatRequest], ScriptedReply]:
        def reply(request: ChatRequest) -> ScriptedReply:
            args: Json = {"domain": ["light"]}
            if area := area_of(request):
                args["area"] = area
            return ScriptedReply(
                thinking="The user wants to control lights.",
                tool_calls=[{"name": f"intent__{intent}", "arguments": args}],
            )

        return reply

    def confirm(request: ChatRequest) -> ScriptedReply:
        failed = any(isinstance(r, dict) and r.get("error") for r in request.tool_results)
        swedish = re.search(r"[åäö]|\b(tänd|släck|och|jag)\b", request.last_user_text, re.I)
        if failed:
            return ScriptedReply(
                content="Det gick tyvärr inte." if swedish else "Sorry, that did not work."
            )
        return ScriptedReply(content="Klart!" if swedish else "Done!")

    def fallback(request: ChatRequest) -> ScriptedReply:
        if re.search(r"[åäö]|\b(vad|hur|jag|och|är)\b", request.last_user_text, re.I):
            return ScriptedReply(
                content="Jag är Alices simulerade lokala modell och kan bara tända och släcka i demon."
            )
        return ScriptedReply(
            content="I am Alice's simulated local model; in this demo I can only switch lights."
        )

    return [
        Rule(confirm, after_tool=True),
        Rule(turn("HassTurnOn"), user=r"\b(tänd|turn on|switch on)\b"),
        Rule(turn("HassTurnOff"), user=r"\b(släck|turn off|switch off)\b"),
        Rule(fallback),
    ]


def _base_area(word: str) -> str:
    """Swedish definite forms to the area's name: köket → Kök, sovrummet → Sovrum."""
    lowered = word.lower()
    for suffix, replacement in (("rummet", "rum"), ("et", ""), ("en", "")):
        if lowered.endswith(suffix) and len(lowered) > len(suffix) + 2:
            lowered = lowered[: -len(suffix)] + replacement
            break
    return lowered.capitalize()


async def _serve(port: int, demo: bool, cost: CostModel) -> None:
    server = OllamaTestServer(port=port, cost=cost)
    if demo:
        server.rules.extend(demo_rules())
    await server.start()
    print(f"Simulated Ollama listening on {server.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the server until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--demo", action="store_true", help="answer with the demo rules")
    parser.add_argument("--load-time", type=float, default=0.0)
    parser.add_argument("--prompt-tokens-per-s", type=float, default=0.0)
    parser.add_argument("--first-token", type=float, default=0.0)
    parser.add_argument("--tokens-per-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    cost = CostModel(
        load_time=args.load_time,
        prompt_tokens_per_s=args.prompt_tokens_per_s,
        first_token=args.first_token,
        tokens_per_s=args.tokens_per_s,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.demo, cost))


if __name__ == "__main__":
    main()
