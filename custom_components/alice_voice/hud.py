"""The HUD's live picture: every agent's status, the satellites and the backends' health.

:func:`hud_snapshot` builds it from the loaded entries; :data:`SIGNAL_HUD` is
sent whenever any part of it changes (a turn starts, the first words go out, a
turn ends, a satellite changes state, a backend's health changes, an entry is
set up or unloaded), so the card's websocket subscription
(:mod:`.websocket_api`) pushes it at once instead of polling.
"""

from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import DOMAIN, SUBENTRY_CONVERSATION
from .models import AgentConfig, AliceVoiceConfigEntry

SIGNAL_HUD: Final = f"{DOMAIN}_hud"


@callback
def async_hud_changed(hass: HomeAssistant) -> None:
    """Tell the HUD's subscribers that something changed."""
    async_dispatcher_send(hass, SIGNAL_HUD)


@callback
def async_connect_hud(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> None:
    """Send :data:`SIGNAL_HUD` on every change of the entry's status and health."""
    data = entry.runtime_data
    entry.async_on_unload(data.status.async_add_listener(lambda _key: async_hud_changed(hass)))
    entry.async_on_unload(data.coordinator.async_add_listener(lambda: async_hud_changed(hass)))
    entry.async_on_unload(lambda: async_hud_changed(hass))
    async_hud_changed(hass)


def agent_entity_ids(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> dict[str, str]:
    """Subentry id -> the agent's conversation entity id."""
    registry = er.async_get(hass)
    ids: dict[str, str] = {}
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_CONVERSATION:
            continue
        entity_id = registry.async_get_entity_id("conversation", DOMAIN, subentry.subentry_id)
        if entity_id is not None:
            ids[subentry.subentry_id] = entity_id
    return ids


@callback
def hud_snapshot(hass: HomeAssistant, agent: str | None = None) -> dict[str, Any]:
    """The HUD's picture, of every agent or of the one whose entity id is ``agent``."""
    agents: dict[str, Any] = {}
    satellites: dict[str, str] = {}
    backends: dict[str, Any] = {}
    entry: AliceVoiceConfigEntry
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        data = entry.runtime_data
        entity_ids = agent_entity_ids(hass, entry)
        for subentry_id, entity_id in entity_ids.items():
            if agent is not None and entity_id != agent:
                continue
            config = AgentConfig.from_subentry(entry.subentries[subentry_id])
            agents[entity_id] = {
                "entity_id": entity_id,
                "title": config.title,
                "language": config.language,
                "mode": config.mode,
                "budgets_ms": {
                    "fast": round(config.fast_budget * 1000),
                    "think": round(config.think_budget * 1000),
                },
                **data.status.agent(subentry_id).as_dict(),
            }
        satellites.update(data.status.satellites)
        if agent is None or agent in entity_ids.values():
            backends = data.coordinator.data.as_dict()
    return {"agents": agents, "satellites": satellites, "backends": backends}
