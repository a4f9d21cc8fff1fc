"""The coordinator: owns the Ollama and OpenAI clients and knows how healthy they are.

It is the entry's single source of truth about its backends:

* **Clients** - it builds them (through :mod:`.clients`), holds the Realtime
  session pools (one per Realtime model) and closes everything on unload.
  OpenAI's is built only when an agent may use the cloud: an entry whose
  agents are all ``local_only`` never loads the SDK, even with a key.
* **Setup check** - the first refresh asks Ollama for its models; a rejected
  key starts re-authentication, an unreachable or unwell server retries later,
  anything that is not Ollama is a configuration error.
* **Sticky health** - turns report each backend's successes and failures. A
  backend that fails :data:`.const.FAILURES_BEFORE_DOWN` times in a row is
  skipped by the engine (no timeout paid per turn) and probed every
  :data:`.const.PROBE_INTERVAL` seconds until it answers again.
* **Keep-warm** - agents that keep their model loaded (keep-alive -1) get it
  loaded at start and again whenever Ollama has dropped it; a turn likely to
  think pre-warms its model while it is routed.
* **Missing models** - an agent whose local model is not on the server (found
  by the check at setup, keep-warm or a turn) gets a fixable repair issue
  (:mod:`.repairs`); the models are checked again at each probe until it is there.

Entities that show backend health are :class:`CoordinatorEntity`s of it: it
notifies its listeners whenever a backend's state changes.
"""

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import time
from typing import TYPE_CHECKING, Any, override

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util.ssl import get_default_context

from .backends.ollama import ModelInfo, OllamaError, OllamaModelNotFoundError, format_keep_alive
from .clients import (
    ConnectionCheckError,
    Problem,
    async_build_openai,
    async_check_ollama,
    async_check_openai,
    build_ollama,
)
from .const import (
    CONF_OPENAI_API_KEY,
    CONNECT_TIMEOUT,
    DOMAIN,
    FAILURES_BEFORE_DOWN,
    LOGGER,
    PROBE_INTERVAL,
    REALTIME_IDLE_TIMEOUT,
    SUBENTRY_CONVERSATION,
    AgentMode,
    Backend,
)
from .errors import AUTH_FAILURES
from .metrics import ErrorCounter, Metrics
from .models import AgentConfig, AliceVoiceConfigEntry
from .repairs import async_model_found, async_model_missing
from .status import jsonable

if TYPE_CHECKING:
    import openai

    from .backends.realtime import RealtimeBackend


class BackendState(StrEnum):
    """Health of a backend."""

    UNKNOWN = "unknown"
    OK = "ok"
    DOWN = "down"


@dataclass(slots=True)
class BackendHealth:
    """Health of one backend."""

    state: BackendState = BackendState.UNKNOWN
    consecutive_failures: int = 0
    last_error: str | None = None  # a translation key, never an exception text
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None


@dataclass(slots=True)
class BackendsHealth:
    """The coordinator's data: the health of each backend."""

    backends: dict[Backend, BackendHealth] = field(
        default_factory=lambda: {backend: BackendHealth() for backend in Backend}
    )

    def __getitem__(self, backend: Backend) -> BackendHealth:
        """The health of ``backend``."""
        return self.backends[backend]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly snapshot (for diagnostics)."""
        return {str(name): jsonable(asdict(h)) for name, h in self.backends.items()}


def _setup_error(err: ConnectionCheckError) -> Exception:
    """The setup exception Home Assistant expects for a failed Ollama check."""
    kind: Callable[..., Exception] = ConfigEntryNotReady
    if err.problem is Problem.INVALID_AUTH:
        kind = ConfigEntryAuthFailed
    elif err.problem is Problem.NOT_OLLAMA:
        kind = ConfigEntryError
    return kind(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders=err.placeholders,
    )


class AliceVoiceCoordinator(DataUpdateCoordinator[BackendsHealth]):
    """Alice's backend clients and their health, for one config entry."""

    config_entry: AliceVoiceConfigEntry

    def __init__(self, hass: HomeAssistant, entry: AliceVoiceConfigEntry, metrics: Metrics) -> None:
        """Build the Ollama client; the first refresh checks it and builds OpenAI's."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=timedelta(seconds=PROBE_INTERVAL),
        )
        self.data = BackendsHealth()
        self.metrics = metrics
        self.ollama = build_ollama(entry.data)
        self.openai: openai.AsyncOpenAI | None = None
        self._realtime: dict[str, RealtimeBackend] = {}
        agents = [
            AgentConfig.from_subentry(subentry)
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_CONVERSATION
        ]
        # Agents that use a local model (its repair issue), and those that keep it loaded.
        self._local_agents = [agent for agent in agents if agent.mode is not AgentMode.CLOUD_ONLY]
        self._keep_warm = [agent for agent in self._local_agents if agent.think.keep_alive < 0]
        # With an OpenAI key the cloud is configured, but its SDK (about 46 MB with what it
        # imports) is loaded only when an agent may use it: never for all-local agents.
        self.cloud_configured = bool(entry.data.get(CONF_OPENAI_API_KEY))
        self._cloud_agents = any(agent.mode is not AgentMode.LOCAL_ONLY for agent in agents)
        self._models_checked = False
        self._missing_models: set[str] = set()
        self._warm_until: dict[str, float] = {}
        self._warming: set[str] = set()
        # Probes and keep-warm run whether or not an entity listens.
        self._stop_polling = self.async_add_listener(lambda: None)
        # Home Assistant does not unload entries when it stops: close the clients then,
        # so a turn in flight ends (with a spoken error) instead of being cancelled.
        self._closed = False
        entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_on_stop))

    # --- lifecycle -------------------------------------------------------------------

    @override
    async def _async_setup(self) -> None:
        """Build OpenAI's client (with a key and an agent that may use it); check Ollama."""
        if self._cloud_agents:
            self.openai = await async_build_openai(self.hass, self.config_entry.data)
        try:
            await async_check_ollama(self.ollama)
        except ConnectionCheckError as err:
            raise _setup_error(err) from err
        self.report_ok(Backend.OLLAMA)

    @override
    async def _async_update_data(self) -> BackendsHealth:
        """Probe the backends that are down, and keep the agents' models loaded."""
        await self._async_probe()
        await self._async_check_models()
        await self._async_keep_warm()
        return self.data

    @override
    async def async_shutdown(self) -> None:
        """Stop probing and close every client (once: at stop, or at unload)."""
        await super().async_shutdown()
        if self._closed:
            return
        self._closed = True
        self._stop_polling()
        # Closed pools are kept: a turn still in flight fails on them, opening nothing.
        for backend in self._realtime.values():
            await backend.close()
        await self.ollama.close()

    async def _async_on_stop(self, _: Event) -> None:
        await self.async_shutdown()

    # --- clients -----------------------------------------------------------------------

    def realtime(self, model: str) -> RealtimeBackend | None:
        """The Realtime session pool for ``model`` (None without an OpenAI key)."""
        if self.openai is None:
            return None
        if (backend := self._realtime.get(model)) is None:
            from .backends.realtime import RealtimeBackend  # noqa: PLC0415 - imported at setup

            backend = RealtimeBackend(
                self.openai,
                model=model,
                websocket_connection_options={"ssl": get_default_context()},
                idle_timeout=REALTIME_IDLE_TIMEOUT,
                connect_timeout=CONNECT_TIMEOUT,
            )
            self._realtime[model] = backend
        return backend

    async def async_model_info(self, model: str) -> ModelInfo:
        """What ``model`` can do (tools, thinking); raises OllamaError when it is missing."""
        try:
            info = await self.ollama.model_info(model)
        except OllamaModelNotFoundError:
            self._async_set_model_missing(model, missing=True)
            raise
        if model in self._missing_models:
            self._async_set_model_missing(model, missing=False)
        return info

    def model_missing(self, model: str) -> bool:
        """Whether ``model`` is known to be missing from the Ollama server."""
        return model in self._missing_models

    def report_model_missing(self, model: str) -> None:
        """A turn found ``model`` gone from the server: a repair issue, and not ready."""
        self.ollama.forget_model(model)
        self._async_set_model_missing(model, missing=True)
        self.async_update_listeners()

    # --- health --------------------------------------------------------------------------

    def is_down(self, backend: Backend) -> bool:
        """Whether ``backend`` failed often enough in a row to be skipped until a probe works."""
        health = self.data[backend]
        return (
            health.state is BackendState.DOWN
            and health.consecutive_failures >= FAILURES_BEFORE_DOWN
        )

    @callback
    def report_ok(self, backend: Backend) -> None:
        """A call to ``backend`` worked."""
        health = self.data[backend]
        changed = health.state is not BackendState.OK
        health.state = BackendState.OK
        health.consecutive_failures = 0
        health.last_ok_at = datetime.now(UTC)
        if changed:
            self.async_update_listeners()

    @callback
    def report_failure(self, backend: Backend, key: str) -> None:
        """A call to ``backend`` failed with the message ``key``; a rejected key starts reauth."""
        health = self.data[backend]
        if health.state is not BackendState.DOWN:
            # Once per outage; the probe logs the recovery ("answers again").
            LOGGER.info("%s is unavailable (%s)", backend.value, key)
        health.state = BackendState.DOWN
        health.consecutive_failures += 1
        health.last_error = key
        health.last_error_at = datetime.now(UTC)
        self.metrics.count(
            ErrorCounter.OPENAI if backend is Backend.OPENAI else ErrorCounter.LOCAL_AI
        )
        if key in AUTH_FAILURES:
            self.config_entry.async_start_reauth(self.hass)
        self.async_update_listeners()

    async def _async_probe(self) -> None:
        """Try the backends that are down; bring back those that answer.

        Any failure shows a backend as down, so it is probed from the first one on
        (skipping it in turns waits for three in a row): its health sensor comes back
        by itself when it answers again, without waiting for a turn to use it.
        """
        if self.data[Backend.OLLAMA].state is BackendState.DOWN:
            try:
                await async_check_ollama(self.ollama)
            except ConnectionCheckError as err:
                LOGGER.debug("Ollama is still down (%s)", err.problem)
            else:
                LOGGER.info("Ollama answers again")
                self.report_ok(Backend.OLLAMA)
        if self.data[Backend.OPENAI].state is BackendState.DOWN and self.openai is not None:
            try:
                await async_check_openai(self.openai)
            except ConnectionCheckError as err:
                if err.problem is Problem.INVALID_AUTH:
                    LOGGER.warning("OpenAI rejects the API key")
                else:
                    LOGGER.debug("OpenAI is still unreachable (%s)", err.problem)
            else:
                LOGGER.info("OpenAI answers again")
                self.report_ok(Backend.OPENAI)

    # --- keeping the local models loaded ---------------------------------------------

    def model_ready(self, model: str) -> bool:
        """Whether Ollama answers and holds ``model`` in memory, as far as Alice knows."""
        return (
            not self.is_down(Backend.OLLAMA) and self._warm_until.get(model, 0.0) > time.monotonic()
        )

    @callback
    def mark_warm(self, agent: AgentConfig) -> None:
        """The agent's model answered: it stays loaded for its keep-alive."""
        keep = agent.think.keep_alive
        was_ready = self.model_ready(agent.think.model)
        self._warm_until[agent.think.model] = float("inf") if keep < 0 else time.monotonic() + keep
        if not was_ready:
            self.async_update_listeners()

    @callback
    def async_prewarm(self, agent: AgentConfig) -> None:
        """Load the agent's model in the background, unless it is loaded or loading."""
        model = agent.think.model
        if (
            model in self._warming
            or model in self._missing_models
            or self.model_ready(model)
            or self.is_down(Backend.OLLAMA)
        ):
            return
        self._warming.add(model)
        self.config_entry.async_create_background_task(
            self.hass, self._async_warm(agent), f"{DOMAIN} warm {model}", eager_start=True
        )

    async def _async_keep_warm(self) -> None:
        """Load the kept-warm agents' models that Ollama does not hold now."""
        if not self._keep_warm or self.is_down(Backend.OLLAMA):
            return
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                loaded = await self.ollama.loaded_models()
        except TimeoutError, OllamaError:
            LOGGER.debug("Could not ask Ollama which models are loaded")
            return
        for agent in self._keep_warm:
            if agent.think.model in loaded:
                self.mark_warm(agent)
                continue
            LOGGER.debug("Loading %s, which Ollama does not hold", agent.think.model)
            self._warm_until.pop(agent.think.model, None)
            self.async_prewarm(agent)

    async def _async_warm(self, agent: AgentConfig) -> None:
        model = agent.think.model
        try:
            await self.ollama.warm(
                model,
                keep_alive=format_keep_alive(agent.think.keep_alive),
                num_ctx=agent.think.num_ctx,
            )
        except OllamaModelNotFoundError:
            self._async_set_model_missing(model, missing=True)
        except OllamaError as err:
            LOGGER.debug("Could not warm %s: %s", model, err)
        else:
            self.mark_warm(agent)
        finally:
            self._warming.discard(model)

    # --- missing models (repair issues) ------------------------------------------------

    async def _async_check_models(self) -> None:
        """At setup, and while a model is missing: which local models Ollama has."""
        if (
            (self._models_checked and not self._missing_models)
            or not self._local_agents
            or self.is_down(Backend.OLLAMA)
        ):
            return
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                installed = {_full_name(name) for name in await self.ollama.list_models()}
        except TimeoutError, OllamaError:
            LOGGER.debug("Could not ask Ollama which models it has")
            return
        # The first check also clears an issue left from before a reload.
        first, self._models_checked = not self._models_checked, True
        for model in {agent.think.model for agent in self._local_agents}:
            missing = _full_name(model) not in installed
            if missing or first or model in self._missing_models:
                self._async_set_model_missing(model, missing=missing)

    @callback
    def _async_set_model_missing(self, model: str, *, missing: bool) -> None:
        """Raise or clear the repair issue of each agent using ``model``."""
        if missing:
            if model not in self._missing_models:
                LOGGER.warning("The model %s is not on the Ollama server", model)
            self._missing_models.add(model)
            self._warm_until.pop(model, None)
        elif model in self._missing_models:
            LOGGER.info("The model %s is on the Ollama server now", model)
            self._missing_models.discard(model)
        for agent in self._local_agents:
            if agent.think.model != model:
                continue
            if missing:
                async_model_missing(self.hass, self.config_entry.entry_id, agent)
            else:
                async_model_found(self.hass, agent.subentry_id)


def _full_name(model: str) -> str:
    """A model's name with its tag (Ollama lists ``llama3.2`` as ``llama3.2:latest``)."""
    return model if ":" in model else f"{model}:latest"
