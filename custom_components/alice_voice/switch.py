"""Privacy: local only, as a switch: the agent's mode, seen from the privacy side.

On sets the mode to ``local_only`` (no connection to any cloud, ever); off
brings back the mode the agent had before. It and the mode select
(:mod:`.select`) are one setting, always in step.
"""

from typing import Any, override

from homeassistant.components.switch import SwitchEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_MODE_BEFORE_PRIVACY, AgentMode
from .entity import AliceVoiceEntity, agent_subentries
from .models import AliceVoiceConfigEntry
from .select import set_mode

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliceVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each agent's privacy switch."""
    for subentry in agent_subentries(entry):
        async_add_entities(
            [LocalOnlySwitch(entry, subentry)], config_subentry_id=subentry.subentry_id
        )


class LocalOnlySwitch(AliceVoiceEntity, SwitchEntity):
    """Whether the agent stays local only."""

    _attr_entity_category = EntityCategory.CONFIG
    _attr_translation_key = "local_only"

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize."""
        super().__init__(entry, subentry)
        self._attr_unique_id = f"{self.subentry.subentry_id}_local_only"

    @property
    @override
    def is_on(self) -> bool:
        """On when the agent is local only."""
        return self.agent.mode is AgentMode.LOCAL_ONLY

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Go local only (the entry reloads)."""
        set_mode(self.hass, self.entry, self.subentry.subentry_id, AgentMode.LOCAL_ONLY)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Go back to the mode the agent had before."""
        before = self.subentry.data.get(CONF_MODE_BEFORE_PRIVACY, AgentMode.HYBRID.value)
        mode = AgentMode(before) if before != AgentMode.LOCAL_ONLY else AgentMode.HYBRID
        set_mode(self.hass, self.entry, self.subentry.subentry_id, mode)
