"""A real Ollama server for the think scenario (``script/bench --ollama-url URL``).

:class:`OllamaProxy` listens on 127.0.0.1 and passes every request through to
the real server unchanged, streaming each response back as it arrives; on the
way it records, as the simulator does, every request body, and from the final
chunk (``done: true``) of every chat the server's own ``prompt_eval_count``
(tokens evaluated after Ollama's cache) and ``eval_count`` (tokens generated).
Alice and core's ``ollama`` are both pointed at the proxy, so both pay its
(small) cost. It runs on the bench's server thread, as the simulators do.

:meth:`OllamaProxy.drop` makes the server drop the model the way Ollama's API
offers (``/api/chat`` with no messages and ``keep_alive: 0``) and waits until
``/api/ps`` no longer lists it.
"""

import asyncio
import contextlib
from dataclasses import dataclass
import json
import time
from typing import Any, Final

import aiohttp
from aiohttp import web

type Json = dict[str, Any]

# Headers that belong to one hop, or that aiohttp sets itself.
HOP_HEADERS: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "content-encoding",
    }
)
CONNECT_TIMEOUT: Final = 10.0
DROP_TIMEOUT: Final = 60.0  # seconds for the server to report the model unloaded


class BackendError(RuntimeError):
    """The real server cannot serve the benchmark (unreachable, model missing)."""


@dataclass(slots=True, frozen=True)
class ChatCounts:
    """The final chunk's counts of one chat request (None where the server left one out)."""

    model: str
    prompt_eval_count: int | None
    eval_count: int | None


def _base_name(model: str) -> str:
    return model if ":" in model else f"{model}:latest"


class OllamaProxy:
    """A recording pass-through proxy to a real Ollama server."""

    def __init__(self, upstream: str) -> None:
        """Configure; :meth:`start` listens on a free 127.0.0.1 port."""
        self.upstream = upstream.rstrip("/")
        self.requests: list[tuple[str, Json]] = []  # (path, body) of every request
        self.counts: list[ChatCounts] = []  # one per chat with messages
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def url(self) -> str:
        """The proxy's URL, for Alice and core's ``ollama``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def session(self) -> aiohttp.ClientSession:
        """The client session to the real server."""
        assert self._session is not None, "start the proxy first"
        return self._session

    async def start(self) -> None:
        """Listen on 127.0.0.1."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
            auto_decompress=True,
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening and close the client session."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- the real server's state -------------------------------------------------------

    async def check(self, model: str) -> Json:
        """The server's version and ``model``'s capabilities; BackendError if unusable."""
        try:
            async with self.session.get(f"{self.upstream}/api/version") as response:
                response.raise_for_status()
                version = (await response.json(content_type=None)).get("version")
            async with self.session.post(
                f"{self.upstream}/api/show", json={"model": model}
            ) as response:
                if response.status == 404:
                    raise BackendError(
                        f"model {model!r} is not on {self.upstream}: pull it there first "
                        f"(ollama pull {model}); the bench never downloads models"
                    )
                response.raise_for_status()
                shown = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise BackendError(f"cannot use Ollama at {self.upstream}: {err}") from err
        capabilities = list(shown.get("capabilities") or [])
        if capabilities and "tools" not in capabilities:
            raise BackendError(
                f"model {model!r} cannot call tools ({', '.join(capabilities)}): "
                "the think scenario needs a model with tool calling"
            )
        return {"version": version, "capabilities": capabilities}

    async def loaded(self, model: str) -> bool:
        """Whether ``/api/ps`` lists ``model``."""
        async with self.session.get(f"{self.upstream}/api/ps") as response:
            response.raise_for_status()
            running = (await response.json(content_type=None)).get("models") or []
        wanted = _base_name(model)
        return any(
            _base_name(str(entry.get(key) or "")) == wanted
            for entry in running
            for key in ("name", "model")
        )

    async def drop(self, model: str) -> float:
        """Make the server unload ``model`` now; return the seconds until ``/api/ps`` agrees."""
        started = time.perf_counter()
        body = {"model": model, "messages": [], "keep_alive": 0}
        async with self.session.post(f"{self.upstream}/api/chat", json=body) as response:
            response.raise_for_status()
            await response.read()
        while await self.loaded(model):
            if time.perf_counter() - started > DROP_TIMEOUT:
                raise BackendError(f"{self.upstream} still lists {model} {DROP_TIMEOUT:.0f} s on")
            await asyncio.sleep(0.1)
        return time.perf_counter() - started

    # --- pass-through ------------------------------------------------------------------

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Json = {}
        if raw:
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw)
                body = parsed if isinstance(parsed, dict) else {}
        self.requests.append((request.path, body))
        counted = request.path in ("/api/chat", "/api/generate") and bool(
            body.get("messages") or body.get("prompt")
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self.session.request(
            request.method,
            f"{self.upstream}{request.path_qs}",
            data=raw or None,
            headers=headers,
        ) as upstream:
            response = web.StreamResponse(
                status=upstream.status,
                reason=upstream.reason,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS},
            )
            await response.prepare(request)
            pending = b""
            async for data in upstream.content.iter_any():
                await response.write(data)
                if counted:
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        self._count(line, str(body.get("model") or ""))
            if counted and pending.strip():
                self._count(pending, str(body.get("model") or ""))
            await response.write_eof()
            return response

    def _count(self, line: bytes, model: str) -> None:
        try:
            chunk = json.loads(line)
        except ValueError:
            return
        if not isinstance(chunk, dict) or not chunk.get("done"):
            return
        prompt = chunk.get("prompt_eval_count")
        generated = chunk.get("eval_count")
        self.counts.append(
            ChatCounts(
                model=str(chunk.get("model") or model),
                prompt_eval_count=prompt if isinstance(prompt, int) else None,
                eval_count=generated if isinstance(generated, int) else None,
            )
        )
