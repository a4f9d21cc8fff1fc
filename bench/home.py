"""A real, in-process Home Assistant with the simulated backends, for the benchmarks.

:class:`BenchHome` builds Home Assistant with pytest-homeassistant-custom-component's
``async_test_home_assistant`` (no pytest needed), a Swedish demo home, and agents:
Alice (config entry + ``conversation`` subentry) and core's ``ollama``, both pointed
at the same simulated Ollama (and Alice at the simulated OpenAI Realtime).

The simulated servers run on their own event loop in a thread (:class:`ServerThread`),
so their work does not count as Home Assistant's event-loop lag.

:meth:`BenchHome.converse` talks to an agent the way the Assist pipeline does: it
opens the chat session and chat log with a delta listener, then calls
``conversation.async_converse``; the listener timestamps the first streamed
answer text and the first sentence ready for TTS.

``BenchHome(http=True)`` also serves Home Assistant's HTTP API and websocket on a
free 127.0.0.1 port, and :meth:`BenchHome.websocket` connects an authenticated
client (:class:`BenchWebSocket`) to it over TCP, as a dashboard would.
"""

# The repository's (empty) custom_components package, before Home Assistant puts its
# testing config dir, with a custom_components of its own, first on sys.path. Alice
# herself is imported only when she is set up (see BenchHome.add_alice).
import custom_components  # noqa: F401  # isort: skip

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
import json
import logging
import re
import socket
import sys
import threading
import time
import types
from typing import Any, Final, Self
from unittest.mock import patch

import aiohttp
from aiohttp import web
from homeassistant import loader
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
    async_should_expose,
)
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_LLM_HASS_API, Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    chat_session,
    device_registry as dr,
    entity_registry as er,
    intent,
    llm,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_test_home_assistant,
    mock_storage,
)

from bench.real_ollama import OllamaProxy
from simulators.ollama import CostModel, OllamaTestServer
from simulators.realtime import RealtimeTestServer


def _stub_turbojpeg() -> None:
    """Let core's ``camera`` (imported by ``ollama`` through ``ai_task``) import.

    ``PyTurboJPEG`` is not in the dev requirements; the benchmarks never encode JPEG.
    """
    try:
        import turbojpeg  # noqa: F401
    except ImportError:
        stub = types.ModuleType("turbojpeg")

        class TurboJPEG:
            """Placeholder for the class camera creates once at import."""

            def __init__(self, *args: object, **kwargs: object) -> None:
                """Nothing to load."""

        stub.TurboJPEG = TurboJPEG  # type: ignore[attr-defined]
        sys.modules["turbojpeg"] = stub


_stub_turbojpeg()

OPENAI_KEY: Final = "sk-bench-0123456789"
DEMO_PLATFORMS: Final = [
    Platform.LIGHT,
    Platform.SWITCH,
    Platform.COVER,
    Platform.FAN,
    Platform.CLIMATE,
    Platform.LOCK,
    Platform.SENSOR,
    Platform.WEATHER,
]
# Demo lights -> Swedish areas (the device of each light is put in the area).
LIGHT_AREAS: Final = {
    "light.kitchen_lights": "Kök",
    "light.bed_light": "Sovrum",
    "light.living_room_rgbww_lights": "Vardagsrum",
    "light.office_rgbw_lights": "Kontor",
    "light.entrance_color_white_lights": "Hall",
    "light.ceiling_lights": "Matsal",
}
# A sentence is ready for TTS once it ends: . ! ? or … followed by a space or the end.
SENTENCE_END: Final = re.compile(r"[.!?…](\s|$)")
PIPELINE_STREAM_CHARS: Final = 60  # homeassistant.components.assist_pipeline STREAM_RESPONSE_CHARS
HTTP_HOST: Final = "127.0.0.1"  # BenchHome.start_http serves here only


@dataclass(slots=True, frozen=True)
class Settings:
    """The simulated backends' settings: one set serves every agent in a run."""

    load_time: float = 3.0
    prompt_tokens_per_s: float = 1000.0
    first_token: float = 0.05
    tokens_per_s: float = 40.0
    prompt_cache: bool = True
    cache_slots: int = 16
    handshake: float = 0.150
    first_delta: float = 0.250
    delta_interval: float = 0.020

    def cost(self) -> CostModel:
        """The Ollama cost model."""
        return CostModel(
            load_time=self.load_time,
            prompt_tokens_per_s=self.prompt_tokens_per_s,
            first_token=self.first_token,
            tokens_per_s=self.tokens_per_s,
            prompt_cache=self.prompt_cache,
            cache_slots=self.cache_slots,
        )


class ServerThread:
    """An event loop in a daemon thread that runs the simulated servers."""

    def __init__(self) -> None:
        """Start the thread."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    async def run[T](self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the servers' loop and await its result from another loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def call[T](self, func: Callable[[], T]) -> T:
        """Call ``func`` on the servers' loop (mutating a server safely)."""

        async def wrapper() -> T:
            return func()

        return await self.run(wrapper())

    def close(self) -> None:
        """Stop the loop and the thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


@dataclass(slots=True)
class TurnTiming:
    """One timed turn (seconds from the call of ``async_converse``)."""

    total: float
    first_text: float | None
    first_sentence: float | None
    first_answer_sentence: float | None
    # When HA's Assist pipeline would let TTS speak the first sentence: it starts
    # streaming text to TTS only after 60 characters, or when a tool call follows text
    # (assist_pipeline STREAM_RESPONSE_CHARS); otherwise TTS gets the answer at the end.
    pipeline_first_sentence: float
    # CPU time of Home Assistant's event-loop thread during the turn (in a sequential
    # run, the turn's own work; the simulated servers run in another thread).
    loop_cpu: float
    speech: str
    source: str | None
    success: bool
    conversation_id: str
    streamed: bool


@dataclass(slots=True)
class LoopLag:
    """Measures event-loop lag: a task sleeping ``interval`` and recording the overshoot."""

    interval: float = 0.010
    samples: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, time.perf_counter() - before - self.interval))


def free_port(host: str = HTTP_HOST) -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _http_store(port: int) -> dict[str, Any]:
    """The ``http`` store's content: 127.0.0.1 only, no pending trial config.

    Since 2026.x the HTTP settings live in ``.storage/http`` (YAML is migrated
    once, as a pending trial that is reverted later), so the bench gives
    Home Assistant a stable stored config, the way ``script/dev.py`` seeds one.
    """
    return {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {
            "stable": {
                "server_host": [HTTP_HOST],
                "server_port": port,
                "cors_allowed_origins": [],
                "login_attempts_threshold": -1,
                "ip_ban_enabled": False,
                "ssl_profile": "modern",
                "use_x_frame_options": True,
                "created_at": "2026-01-01T00:00:00+00:00",
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    }


class BenchWebSocket:
    """An authenticated client of Home Assistant's websocket API, over TCP.

    Made by :meth:`BenchHome.websocket`; it timestamps each frame as it arrives.
    """

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap a connected websocket (before authentication)."""
        self._session = session
        self._ws = ws
        self._next_id = 1
        self._pending: deque[tuple[float, dict[str, Any]]] = deque()
        self.coalesce = False  # whether Home Assistant may put several messages in a frame
        self.frames = 0
        self.bytes_received = 0  # characters of every frame's text (JSON: about bytes)

    def next_id(self) -> int:
        """A message id not used yet on this connection."""
        message_id = self._next_id
        self._next_id += 1
        return message_id

    async def send_json(self, message: dict[str, Any]) -> None:
        """Send one command."""
        await self._ws.send_str(json.dumps(message))

    async def _frame(self) -> tuple[float, list[dict[str, Any]]]:
        frame = await self._ws.receive()
        arrived = time.perf_counter()
        if frame.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"websocket closed: {frame.type.name} {frame.extra or ''}")
        self.frames += 1
        self.bytes_received += len(frame.data)
        data = json.loads(frame.data)
        return arrived, data if isinstance(data, list) else [data]

    async def receive(self) -> tuple[float, list[dict[str, Any]]]:
        """The next frame: ``time.perf_counter()`` on its arrival and its messages.

        The timestamp is taken as soon as aiohttp hands the frame over, before it
        is parsed. A frame holds one message, or a list of them with coalescing
        on (``supported_features``). Messages a :meth:`receive_json` left over
        come first, with their frame's time.
        """
        if self._pending:
            arrived = self._pending[0][0]
            messages = [message for _, message in self._pending]
            self._pending.clear()
            return arrived, messages
        return await self._frame()

    async def receive_json(self) -> dict[str, Any]:
        """The next message (the rest of a coalesced frame waits for the next call)."""
        if not self._pending:
            arrived, messages = await self._frame()
            self._pending.extend((arrived, message) for message in messages)
        return self._pending.popleft()[1]

    async def close(self) -> None:
        """Close the websocket and the session (again is harmless)."""
        if not self._ws.closed:
            await self._ws.close()
        if not self._session.closed:
            await self._session.close()


class BenchHome:
    """Home Assistant, a Swedish demo home, the simulated servers and the agents."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        http: bool = False,
        mount: Callable[[web.Application], None] | None = None,
        ollama_url: str | None = None,
        openai_key: str | None = None,
        openai_base_url: str | None = None,
    ) -> None:
        """Configure; enter with ``async with``.

        ``http``: serve Home Assistant's HTTP API and websocket on a free
        127.0.0.1 port (see :meth:`start_http`, :meth:`websocket`).
        ``mount``: serve more OpenAI endpoints on the simulated Realtime server's
        port (e.g. ``SpeechTestServer.add_routes``: one base URL for all of them).
        ``ollama_url``: a real Ollama instead of the simulated one, reached through a
        recording :class:`~bench.real_ollama.OllamaProxy` (``self.proxy``).
        ``openai_key`` (``openai_base_url``): the real OpenAI API for Alice instead of
        the simulated Realtime server (None: OpenAI's own base URL).
        """
        self.settings = settings or Settings()
        self.serve_http = http
        self.mount = mount
        self.servers = ServerThread()
        self.ollama: OllamaTestServer | None = None
        self.realtime: RealtimeTestServer | None = None
        self.proxy = OllamaProxy(ollama_url) if ollama_url else None
        self._openai = (openai_key, openai_base_url) if openai_key else None
        self.alice_entries: list[MockConfigEntry] = []
        self._stack = contextlib.AsyncExitStack()
        self._hass: HomeAssistant | None = None
        self._filler: str | None = None
        self.http_url: str | None = None  # set by start_http

    @property
    def hass(self) -> HomeAssistant:
        """The running Home Assistant."""
        assert self._hass is not None, "enter the BenchHome first"
        return self._hass

    async def __aenter__(self) -> Self:
        """Start the servers and Home Assistant with the demo home."""
        logging.getLogger("homeassistant").setLevel(logging.ERROR)
        settings = self.settings

        async def start_servers() -> tuple[OllamaTestServer | None, RealtimeTestServer]:
            ollama = None if self.proxy else OllamaTestServer(cost=settings.cost())
            realtime = RealtimeTestServer(
                api_keys=[OPENAI_KEY],
                handshake_delay=settings.handshake,
                first_delta_delay=settings.first_delta,
                delta_interval=settings.delta_interval,
                record_server_events=False,
                mount=self.mount,
            )
            for server in (ollama, self.proxy, realtime):
                if server is not None:
                    await server.start()
            return ollama, realtime

        self.ollama, self.realtime = await self.servers.run(start_servers())
        if not self.serve_http:
            # Storage in memory: nothing (pipelines, registries) is written to, or read
            # from, the shared test config folder, so every run starts the same.
            self._stack.enter_context(mock_storage())
        hass = await self._stack.enter_async_context(async_test_home_assistant())
        self._hass = hass
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # enable custom_components
        hass.config.language = "sv"
        hass.config.country = "SE"
        await hass.config.async_set_time_zone("Europe/Stockholm")
        if self.serve_http:
            await self.start_http()  # before conversation, which depends on http
        assert await async_setup_component(hass, "homeassistant", {})
        assert await async_setup_component(hass, "conversation", {})
        await self._demo_home()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop Home Assistant, the servers and the thread."""
        hass = self._hass
        if hass is not None:
            for entry in list(hass.config_entries.async_entries()):
                with contextlib.suppress(Exception):
                    await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            await hass.async_stop(force=True)
        await self._stack.aclose()

        async def stop_servers() -> None:
            if self.ollama is not None:
                await self.ollama.stop()
            if self.proxy is not None:
                await self.proxy.stop()
            if self.realtime is not None:
                await self.realtime.stop()

        await self.servers.run(stop_servers())
        self.servers.close()

    async def _demo_home(self) -> None:
        hass = self.hass
        entry = MockConfigEntry(domain="demo")
        entry.add_to_hass(hass)
        with patch(
            "homeassistant.components.demo.COMPONENTS_WITH_CONFIG_ENTRY_DEMO_PLATFORM",
            DEMO_PLATFORMS,
        ):
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        areas = ar.async_get(hass)
        entities = er.async_get(hass)
        devices = dr.async_get(hass)
        for entity_id, area_name in LIGHT_AREAS.items():
            area = areas.async_get_area_by_name(area_name) or areas.async_create(area_name)
            registered = entities.async_get(entity_id)
            if registered is None or registered.device_id is None:
                continue
            devices.async_update_device(registered.device_id, area_id=area.id)
        async_expose_entity(hass, conversation.DOMAIN, "weather.demo_weather_south", True)

    def exposed_entities(self) -> list[str]:
        """Entity ids exposed to conversation agents."""
        return sorted(
            state.entity_id
            for state in self.hass.states.async_all()
            if async_should_expose(self.hass, conversation.DOMAIN, state.entity_id)
        )

    # --- HTTP and websocket ------------------------------------------------------------

    async def start_http(self) -> str:
        """Serve Home Assistant's HTTP API and websocket on a free 127.0.0.1 port.

        Called on entering a ``BenchHome(http=True)``, before ``conversation``
        (which depends on ``http``, as Alice does) would set ``http`` up with
        whatever the test config dir has stored. From here on Home Assistant's
        storage is kept in memory (``mock_storage``): the ``http`` store is seeded
        with this port, and nothing (users, tokens, registries) is written to the
        shared test config dir. Serving starts at once, as it would on
        ``EVENT_HOMEASSISTANT_START``; Home Assistant's stop (``__aexit__``) stops
        the server. Returns the URL.
        """
        hass = self.hass
        assert "http" not in hass.config.components, "use BenchHome(http=True)"
        port = free_port()
        self._stack.enter_context(mock_storage({"http": _http_store(port)}))
        assert await async_setup_component(hass, "http", {})
        assert await async_setup_component(hass, "websocket_api", {})
        assert hass.http.server_port == port, "the http config was not the bench's"
        # The test instance is already running, so the start event that would serve
        # (http waits for it, or for the frontend) has been and gone: start it here.
        await hass.http.start()
        self.http_url = f"http://{HTTP_HOST}:{port}"
        return self.http_url

    async def websocket(self, *, coalesce: bool = True) -> BenchWebSocket:
        """A websocket client connected to ``/api/websocket`` over TCP, authenticated.

        It logs in as an administrator with a fresh access token, the way a
        dashboard does, and, like the frontend's library (home-assistant-js-websocket),
        asks for coalesced messages as its first command (``supported_features``,
        id 1) unless ``coalesce`` is False. Close it (``await client.close()``)
        before leaving the ``BenchHome``; it is closed then anyway.
        """
        hass = self.hass
        url = self.http_url
        assert url is not None, "use BenchHome(http=True)"
        user = await hass.auth.async_create_user("Alice bench", group_ids=[GROUP_ID_ADMIN])
        refresh_token = await hass.auth.async_create_refresh_token(user, f"{url}/")
        access_token = hass.auth.async_create_access_token(refresh_token)
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(f"{url}/api/websocket", max_msg_size=0)
            client = BenchWebSocket(session, ws)
            required = await client.receive_json()
            assert required.get("type") == "auth_required", required
            await client.send_json({"type": "auth", "access_token": access_token})
            answer = await client.receive_json()
            assert answer.get("type") == "auth_ok", answer
            if coalesce:
                message_id = client.next_id()
                await client.send_json(
                    {
                        "id": message_id,
                        "type": "supported_features",
                        "features": {"coalesce_messages": 1},
                    }
                )
                answer = await client.receive_json()
                assert answer.get("id") == message_id, answer
                assert answer.get("success"), answer
                client.coalesce = True
        except BaseException:
            await session.close()
            raise
        self._stack.push_async_callback(client.close)
        return client

    # --- agents ------------------------------------------------------------------------

    @property
    def openai_real(self) -> bool:
        """Whether Alice talks to the real OpenAI API (not the simulated Realtime)."""
        return self._openai is not None

    @property
    def ollama_url(self) -> str:
        """The Ollama both agents use: the simulated one, or the proxy to a real one."""
        if self.proxy is not None:
            return self.proxy.url
        assert self.ollama is not None, "enter the BenchHome first"
        return self.ollama.url

    async def add_alice(self, **options: Any) -> str:
        """Set up an Alice entry with one Swedish agent (Assist tools on); return its id."""
        # Imported here, not at the top: the load benchmark measures Alice's memory,
        # her imports (openai, ollama, numpy) included, from before this point.
        from custom_components.alice_voice.const import (
            CONF_LANGUAGE,
            CONF_MODE,
            CONF_OLLAMA_URL,
            CONF_OPENAI_API_KEY,
            CONF_OPENAI_BASE_URL,
            DEFAULT_CONVERSATION_OPTIONS,
            DOMAIN,
            SUBENTRY_CONVERSATION,
        )

        assert self.realtime is not None
        hass = self.hass
        openai: dict[str, str] = {
            CONF_OPENAI_API_KEY: OPENAI_KEY,
            CONF_OPENAI_BASE_URL: self.realtime.base_url,
        }
        if self._openai is not None:
            key, base_url = self._openai
            openai = {CONF_OPENAI_API_KEY: key} | (
                {CONF_OPENAI_BASE_URL: base_url} if base_url else {}
            )
        data = {
            **DEFAULT_CONVERSATION_OPTIONS,
            CONF_LANGUAGE: "sv",
            CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
            CONF_MODE: "local_only",
            **options,
        }
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Alice Voice (bench)",
            data={CONF_OLLAMA_URL: self.ollama_url, **openai},
            version=1,
            minor_version=1,
            subentries_data=[
                ConfigSubentryData(
                    data=data,
                    subentry_type=SUBENTRY_CONVERSATION,
                    title="Alice",
                    unique_id=None,
                )
            ],
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        self.alice_entries.append(entry)
        return self._agent_entity(entry, DOMAIN)

    async def add_core_ollama(self, model: str, **options: Any) -> str:
        """Set up core's ``ollama`` with one agent on ``model`` (Assist tools on)."""
        hass = self.hass
        data = {
            "model": model,
            CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
            "keep_alive": -1,
            "num_ctx": 8192,
            "max_history": 20,
            "think": True,
            **options,
        }
        entry = MockConfigEntry(
            domain="ollama",
            title="Ollama (bench)",
            data={"url": self.ollama_url},
            version=3,
            minor_version=3,
            subentries_data=[
                ConfigSubentryData(
                    data=data, subentry_type="conversation", title="Ollama", unique_id=None
                )
            ],
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return self._agent_entity(entry, "ollama")

    def _agent_entity(self, entry: MockConfigEntry, platform: str) -> str:
        subentry_id = next(iter(entry.subentries))
        entity_id = er.async_get(self.hass).async_get_entity_id(
            "conversation", platform, subentry_id
        )
        assert entity_id is not None, f"no conversation entity for {platform}"
        return entity_id

    async def drop_local_model(self, model: str) -> None:
        """Ollama drops ``model`` (keep_alive ran out, a restart, another model's memory).

        A real server is asked to (``keep_alive: 0``) and the drop waits for it.
        """
        if self.proxy is not None:
            await self.servers.run(self.proxy.drop(model))
            return
        assert self.ollama is not None
        ollama = self.ollama
        await self.servers.call(lambda: ollama.unload(model))

    async def let_time_pass(self, seconds: float) -> None:
        """Run the timers due in ``seconds`` now, then wait for what they started.

        Simulates an idle home between turns without waiting for it: Alice's
        periodic jobs (health probes, keeping her model loaded) get their turn.
        """
        async_fire_time_changed(self.hass, dt_util.utcnow() + timedelta(seconds=seconds))
        await self.hass.async_block_till_done(wait_background_tasks=True)

    async def filler(self) -> str:
        """Alice's "checking" phrase, spoken when the think path is over its budget."""
        if self._filler is None:
            if not self.alice_entries:
                return "\x00"  # no Alice, no filler
            from custom_components.alice_voice.phrases import phrase

            self._filler = phrase("sv", "checking")
        return self._filler

    # --- turns -------------------------------------------------------------------------

    async def converse(
        self, agent_id: str, text: str, conversation_id: str | None = None
    ) -> TurnTiming:
        """One turn as the Assist pipeline runs it, with the TTS-relevant timestamps."""
        hass = self.hass
        filler = (await self.filler()).strip()
        marks: dict[str, float] = {}
        content: list[str] = []
        role: str | None = None
        characters = 0

        def listener(_chat_log: conversation.ChatLog, delta: dict[str, Any]) -> None:
            nonlocal role, characters
            if new_role := delta.get("role"):
                role = new_role
            if role != "assistant":
                return
            now = time.perf_counter()
            piece = delta.get("content")
            # The Assist pipeline's rule for starting to stream text to TTS.
            if "pipeline_stream" not in marks and (
                (characters > 0 and delta.get("tool_calls"))
                or (piece and characters + len(piece) > PIPELINE_STREAM_CHARS)
            ):
                marks["pipeline_stream"] = now
            if not piece:
                return
            characters += len(piece)
            marks.setdefault("first_text", now)
            content.append(piece)
            so_far = "".join(content)
            if "first_sentence" not in marks and SENTENCE_END.search(so_far):
                marks["first_sentence"] = now
            answer = so_far.lstrip()
            if answer.startswith(filler):
                answer = answer[len(filler) :]
            if "first_answer" not in marks and SENTENCE_END.search(answer):
                marks["first_answer"] = now

        context = Context()
        cpu_started = time.thread_time()
        started = time.perf_counter()
        with (
            chat_session.async_get_chat_session(hass, conversation_id) as session,
            conversation.async_get_chat_log(
                hass,
                session,
                conversation.ConversationInput(
                    text=text,
                    context=context,
                    conversation_id=session.conversation_id,
                    device_id=None,
                    satellite_id=None,
                    language="sv",
                    agent_id=agent_id,
                ),
                chat_log_delta_listener=listener,
            ),
        ):
            result = await conversation.async_converse(
                hass, text, session.conversation_id, context, language="sv", agent_id=agent_id
            )
        ended = time.perf_counter()
        # What the agent does after returning its answer (status, metrics, entity
        # writes) runs in the next loop iterations: let it finish here, so that it
        # counts in this turn's CPU but not in its answer time, nor in the next turn.
        for _ in range(3):
            await asyncio.sleep(0)
        loop_cpu = time.thread_time() - cpu_started
        speech = str(result.response.speech.get("plain", {}).get("speech", ""))
        extra = result.response.speech.get("plain", {}).get("extra_data") or {}
        total = ended - started
        streamed = "first_text" in marks

        def since(key: str) -> float | None:
            # Not streamed: the whole answer is ready (for TTS) when the turn ends.
            return marks[key] - started if key in marks else (total if not streamed else None)

        first_sentence = since("first_sentence")
        first_answer = since("first_answer")
        if streamed and first_answer is None:
            first_answer = total  # no sentence end: TTS gets the text at the end
        if streamed and first_sentence is None:
            first_sentence = total
        pipeline_first = total
        if "pipeline_stream" in marks and first_sentence is not None:
            pipeline_first = max(marks["pipeline_stream"] - started, first_sentence)
        return TurnTiming(
            total=total,
            first_text=since("first_text"),
            first_sentence=first_sentence,
            first_answer_sentence=first_answer,
            pipeline_first_sentence=pipeline_first,
            loop_cpu=loop_cpu,
            speech=speech,
            source=extra.get("source") if isinstance(extra, dict) else None,
            success=result.response.response_type != intent.IntentResponseType.ERROR,
            conversation_id=result.conversation_id or session.conversation_id,
            streamed=streamed,
        )
