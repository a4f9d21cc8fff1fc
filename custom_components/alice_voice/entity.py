"""Base entity for Alice Voice: one device per agent (conversation subentry)."""

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity import Entity

from .const import CONF_LOCAL_MODEL, DEFAULT_LOCAL_MODEL, DOMAIN
from .models import AliceVoiceConfigEntry


class AliceVoiceEntity(Entity):
    """An entity that belongs to one Alice agent."""

    _attr_has_entity_name = True

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize the entity and its device."""
        self.entry = entry
        self.subentry = subentry
        self._attr_device_info = dr.DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer="Alice Voice",
            model=subentry.data.get(CONF_LOCAL_MODEL, DEFAULT_LOCAL_MODEL),
            entry_type=dr.DeviceEntryType.SERVICE,
        )
