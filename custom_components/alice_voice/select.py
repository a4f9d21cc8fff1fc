"""The agent's mode as a select: hybrid, cloud only or local only.

Changing it changes the agent's settings (the subentry), and the entry
reloads with the new mode, as when the agent's form is saved. The "privacy:
local only" switch (:mod:`.switch`) is the same setting.
"""

from typing import override

from homeassistant.components.select import SelectEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_MODE, CONF_MODE_BEFORE_PRIVACY, AgentMode
from .entity import AliceVoiceEntity, agent_subentries
from .models import AliceVoiceConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliceVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each agent's mode select."""
    for subentry in agent_subentries(entry):
        async_add_entities(
            [AgentModeSelect(entry, subentry)], config_subentry_id=subentry.subentry_id
        )


class AgentModeSelect(AliceVoiceEntity, SelectEntity):
    """Which backends the agent may use."""

    _attr_entity_category = EntityCategory.CONFIG
    _attr_translation_key = "mode"
    _attr_options = [mode.value for mode in AgentMode]

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize."""
        super().__init__(entry, subentry)
        self._attr_unique_id = f"{self.subentry.subentry_id}_mode"

    @property
    @override
    def current_option(self) -> str:
        """The agent's mode."""
        return self.agent.mode.value

    @override
    async def async_select_option(self, option: str) -> None:
        """Save the new mode (the entry reloads with it)."""
        set_mode(self.hass, self.entry, self.subentry.subentry_id, AgentMode(option))


def set_mode(
    hass: HomeAssistant, entry: AliceVoiceConfigEntry, subentry_id: str, mode: AgentMode
) -> None:
    """Save ``mode`` as the agent's; remember the mode that local-only privacy replaces."""
    subentry = entry.subentries[subentry_id]
    data = {**subentry.data, CONF_MODE: mode.value}
    previous = subentry.data.get(CONF_MODE, AgentMode.HYBRID.value)
    if mode is AgentMode.LOCAL_ONLY and previous != AgentMode.LOCAL_ONLY:
        data[CONF_MODE_BEFORE_PRIVACY] = previous
    hass.config_entries.async_update_subentry(entry, subentry, data=data)
