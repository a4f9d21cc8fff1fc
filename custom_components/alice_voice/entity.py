"""Base entities for Alice Voice: one device per agent (conversation subentry)."""

from collections.abc import Iterator
from typing import override

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity import Entity

from .const import CONF_LOCAL_MODEL, DEFAULT_LOCAL_MODEL, DOMAIN, SUBENTRY_CONVERSATION
from .models import AgentConfig, AliceVoiceConfigEntry
from .status import AgentStatus


def agent_subentries(entry: AliceVoiceConfigEntry) -> Iterator[ConfigSubentry]:
    """The entry's agents (conversation subentries)."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_CONVERSATION:
            yield subentry


def agent_device(subentry: ConfigSubentry) -> dr.DeviceInfo:
    """The device of one agent."""
    return dr.DeviceInfo(
        identifiers={(DOMAIN, subentry.subentry_id)},
        name=subentry.title,
        manufacturer="Alice Voice",
        model=subentry.data.get(CONF_LOCAL_MODEL, DEFAULT_LOCAL_MODEL),
        entry_type=dr.DeviceEntryType.SERVICE,
    )


class AliceVoiceEntity(Entity):
    """An entity that belongs to one Alice agent; pushed, never polled."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize the entity and its device."""
        self.entry = entry
        self.subentry = subentry
        self.agent = AgentConfig.from_subentry(subentry)
        self._attr_device_info = agent_device(subentry)


class AliceVoiceStatusEntity(AliceVoiceEntity):
    """An entity that shows part of its agent's status, pushed as it changes."""

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry, key: str) -> None:
        """Initialize; ``key`` names what the entity shows (its unique id's suffix)."""
        super().__init__(entry, subentry)
        self._attr_unique_id = f"{subentry.subentry_id}_{key}"
        self._attr_translation_key = key

    @property
    def status(self) -> AgentStatus:
        """The agent's status."""
        return self.entry.runtime_data.status.agent(self.subentry.subentry_id)

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the agent's status."""
        await super().async_added_to_hass()
        status = self.entry.runtime_data.status
        self.async_on_remove(
            status.async_add_listener(self._handle_status, turns_only=not self.shows_voice_state)
        )

    @property
    def shows_voice_state(self) -> bool:
        """Whether the entity shows the voice state (it then follows every move of it)."""
        return False

    @callback
    def _handle_status(self, key: str) -> None:
        # Most of a turn's changes leave most figures as they were: write only what moved
        # (Home Assistant would drop the rest, but only after building their states).
        if key == self.subentry.subentry_id and self._refresh():
            self.async_write_ha_state()

    def _refresh(self) -> bool:
        """Take what the entity shows from the status; whether it changed."""
        return True
