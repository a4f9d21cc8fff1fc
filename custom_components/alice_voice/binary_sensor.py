"""Backend health per agent: is the cloud connected, is the local model ready?

Both follow the coordinator's sticky health (:mod:`.coordinator`), so they
change when a backend fails or answers again, and recover by themselves.
"""

from typing import override

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import AgentMode, Backend
from .coordinator import AliceVoiceCoordinator, BackendState
from .entity import AliceVoiceEntity, agent_subentries
from .models import AliceVoiceConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliceVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each agent's health sensors (the cloud's only where the agent may use it)."""
    coordinator = entry.runtime_data.coordinator
    for subentry in agent_subentries(entry):
        entities: list[BinarySensorEntity] = [LocalModelReady(coordinator, entry, subentry)]
        if coordinator.cloud_configured:
            entities.append(CloudConnected(coordinator, entry, subentry))
        async_add_entities(entities, config_subentry_id=subentry.subentry_id)


class _HealthSensor(CoordinatorEntity[AliceVoiceCoordinator], AliceVoiceEntity, BinarySensorEntity):
    """A connectivity sensor of one agent, fed by the coordinator."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(
        self,
        coordinator: AliceVoiceCoordinator,
        entry: AliceVoiceConfigEntry,
        subentry: ConfigSubentry,
        key: str,
    ) -> None:
        """Initialize."""
        CoordinatorEntity.__init__(self, coordinator)
        AliceVoiceEntity.__init__(self, entry, subentry)
        self._attr_unique_id = f"{subentry.subentry_id}_{key}"
        self._attr_translation_key = key


class CloudConnected(_HealthSensor):
    """Whether OpenAI answers (and this agent may use it)."""

    def __init__(
        self,
        coordinator: AliceVoiceCoordinator,
        entry: AliceVoiceConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Initialize."""
        super().__init__(coordinator, entry, subentry, "cloud_connected")

    @property
    @override
    def is_on(self) -> bool | None:
        """On while OpenAI answers; off when it fails or the agent is local only.

        Unknown until the first call: setup does not reach out to the cloud.
        """
        if self.agent.mode is AgentMode.LOCAL_ONLY:
            return False
        state = self.coordinator.data[Backend.OPENAI].state
        return None if state is BackendState.UNKNOWN else state is BackendState.OK

    @property
    @override
    def extra_state_attributes(self) -> dict[str, str | None]:
        """Why it is off, as a message key."""
        return {"last_error": self.coordinator.data[Backend.OPENAI].last_error}


class LocalModelReady(_HealthSensor):
    """Whether Ollama answers and holds the agent's model."""

    def __init__(
        self,
        coordinator: AliceVoiceCoordinator,
        entry: AliceVoiceConfigEntry,
        subentry: ConfigSubentry,
    ) -> None:
        """Initialize."""
        super().__init__(coordinator, entry, subentry, "local_model_ready")

    @property
    @override
    def is_on(self) -> bool:
        """On while Ollama answers and the model is loaded (or just answered)."""
        health = self.coordinator.data[Backend.OLLAMA]
        if health.state is BackendState.DOWN:
            return False
        return self.coordinator.model_ready(self.agent.think.model)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, str | None]:
        """The model, and why it is off, as a message key."""
        model = self.agent.think.model
        return {
            "model": model,
            "last_error": "model_not_found"
            if self.coordinator.model_missing(model)
            else self.coordinator.data[Backend.OLLAMA].last_error,
        }
