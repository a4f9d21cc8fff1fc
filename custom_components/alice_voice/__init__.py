"""Alice Voice: a Swedish-first hybrid voice assistant for Home Assistant.

Snappy voice, local thinking: every utterance is routed either to a fast path
(Home Assistant's own intents, or the OpenAI Realtime API) or to a local
Ollama model that thinks and uses tools.

An entry holds the connections; its coordinator owns the clients and their
health, its engine runs the turns, and each conversation subentry is an agent.
"""

from copy import deepcopy
from functools import partial

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.typing import ConfigType

from .classify import async_get_router_model, async_setup_classify
from .const import (
    CONF_SATELLITES,
    CONF_STT_MODEL,
    CONF_VAD_HANGOVER,
    CONF_VAD_SENSITIVITY,
    DEFAULT_CONVERSATION_OPTIONS,
    DOMAIN,
    LOGGER,
    SUBENTRY_CONVERSATION,
)
from .coordinator import AliceVoiceCoordinator
from .engine import AliceVoiceEngine
from .frontend import async_setup_frontend
from .hud import async_connect_hud
from .metrics import Metrics
from .models import AliceVoiceConfigEntry, AliceVoiceData
from .pipeline import async_remove_pipelines, async_sync_pipelines
from .repairs import (
    async_check_agents,
    async_delete_entry_issues,
    async_router_loaded,
    async_router_unavailable,
)
from .router import IntentRouter, ModelLoadError
from .status import AgentStatusTracker
from .views import async_setup_views
from .voice import VoiceHub
from .websocket_api import async_setup_websocket_api

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = (
    Platform.BINARY_SENSOR,
    Platform.CONVERSATION,
    Platform.EVENT,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.STT,
    Platform.SWITCH,
    Platform.TTS,
)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up what Alice shares between entries: the router's API, the HUD's websocket."""
    async_setup_classify(hass)
    async_setup_views(hass)
    async_setup_websocket_api(hass)
    await async_setup_frontend(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> bool:
    """Connect to the backends and set up the agents."""
    # The coordinator's first refresh checks Ollama (a rejected key starts
    # reauth, an unreachable server retries later) and loads the kept-warm
    # models; it closes its clients when the entry unloads or setup fails.
    metrics = Metrics()
    coordinator = AliceVoiceCoordinator(hass, entry, metrics)
    await coordinator.async_config_entry_first_refresh()
    try:
        # Loaded once per Home Assistant, in the executor, shared by every entry.
        model = await async_get_router_model(hass)
    except ModelLoadError as err:
        async_router_unavailable(hass)  # a repair issue: only a reinstall helps
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="router_unavailable"
        ) from err
    async_router_loaded(hass)
    router = IntentRouter(model=model)
    status = AgentStatusTracker()
    voice = VoiceHub()
    engine = AliceVoiceEngine(
        hass, coordinator=coordinator, router=router, status=status, metrics=metrics, voice=voice
    )
    entry.runtime_data = AliceVoiceData(
        coordinator=coordinator,
        router=router,
        engine=engine,
        status=status,
        metrics=metrics,
        voice=voice,
    )
    entry.async_on_unload(voice.clear)
    entry.async_on_unload(engine.inflight.cancel_all)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Each agent's "Alice" pipeline; satellites set up after Alice get theirs once HA runs.
    await async_sync_pipelines(hass, entry)
    if not hass.is_running:

        async def _async_assign_when_started(_: HomeAssistant) -> None:
            await async_sync_pipelines(hass, entry)

        entry.async_on_unload(async_at_started(hass, _async_assign_when_started))
    async_connect_hud(hass, entry)
    # Repairs: an agent whose tools API is gone (other integrations' APIs exist once HA runs).
    entry.async_on_unload(async_at_started(hass, partial(async_check_agents, entry=entry)))
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> bool:
    """Unload the agents; the coordinator closes the clients."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> None:
    """Remove the agents' pipelines and repair issues with the entry."""
    await async_remove_pipelines(hass, entry.entry_id)
    async_delete_entry_issues(hass, entry.entry_id)


#: Agent options added since the first schema (1.1), filled with their defaults by 1.2.
OPTIONS_SINCE_1_1 = (CONF_SATELLITES, CONF_STT_MODEL, CONF_VAD_SENSITIVITY, CONF_VAD_HANGOVER)


async def async_migrate_entry(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> bool:
    """Bring an entry from an older schema up to date; refuse a newer major version."""
    if entry.version > 1:
        # Written by a newer Alice Voice: this one cannot read it (a downgrade).
        LOGGER.error(
            "Cannot migrate Alice Voice entry %s from version %s.%s (a newer release wrote it)",
            entry.title,
            entry.version,
            entry.minor_version,
        )
        return False
    if entry.minor_version < 2:
        # 1.2: agents get the voice options' defaults; values already set are kept.
        for subentry in list(entry.subentries.values()):
            if subentry.subentry_type != SUBENTRY_CONVERSATION:
                continue
            added = {
                key: deepcopy(DEFAULT_CONVERSATION_OPTIONS[key])
                for key in OPTIONS_SINCE_1_1
                if key not in subentry.data
            }
            if added:
                hass.config_entries.async_update_subentry(
                    entry, subentry, data={**subentry.data, **added}
                )
        hass.config_entries.async_update_entry(entry, minor_version=2)
        LOGGER.debug("Migrated Alice Voice entry %s to version 1.2", entry.title)
    return True


async def _async_update_listener(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> None:
    """Reload when the connections or an agent changed."""
    await hass.config_entries.async_reload(entry.entry_id)
