"""Alice's status sensors: voice state, last route, intent and source, latencies, usage, errors.

Per agent, on its device. Every sensor is pushed by the agent's status
tracker (never polled) and writes its state only when something changed.
Latency sensors show the last turn's value, with the p50 and p95 of the last
100 turns as attributes; the noisy ones are disabled by default. Satellites
that talk to Alice get a voice-state sensor each, on the agent's device,
following their assist_satellite entity.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_state_change_event

from .const import Source
from .entity import AliceVoiceStatusEntity, agent_device, agent_subentries
from .models import AliceVoiceConfigEntry
from .router import Intent, RoutePath
from .status import AgentStatus, Latency, PathUse, VoiceState

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class AliceSensorDescription(SensorEntityDescription):
    """A status sensor: what it shows of the agent's status."""

    value_fn: Callable[[AgentStatus], str | int | float | None]
    attributes_fn: Callable[[AgentStatus], Mapping[str, Any]] | None = None


def _latency(kind: Latency, *, enabled: bool) -> AliceSensorDescription:
    return AliceSensorDescription(
        key=f"{kind}_latency",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1 if kind is not Latency.ROUTER else 3,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=enabled,
        value_fn=lambda status: status.latency[kind].last,
        attributes_fn=lambda status: {
            "p50": status.latency[kind].percentile(50),
            "p95": status.latency[kind].percentile(95),
            "turns": len(status.latency[kind]),
        },
    )


def _path_share(path: PathUse, *, enabled: bool) -> AliceSensorDescription:
    return AliceSensorDescription(
        key=f"{path}_share",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=enabled,
        value_fn=lambda status: status.path_share(path),
    )


SENSORS: tuple[AliceSensorDescription, ...] = (
    AliceSensorDescription(
        key="voice_status",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in VoiceState],
        value_fn=lambda status: status.state,
        attributes_fn=lambda status: {
            "last_error": status.last_error,
            "last_audio": status.last.audio if status.last else None,
        },
    ),
    AliceSensorDescription(
        key="last_route",
        device_class=SensorDeviceClass.ENUM,
        options=[path.value for path in RoutePath],
        value_fn=lambda status: status.last.path if status.last else None,
        attributes_fn=lambda status: {
            "reason": status.last.reason if status.last else None,
            "escalated": status.last.escalated if status.last else None,
        },
    ),
    AliceSensorDescription(
        key="last_intent",
        device_class=SensorDeviceClass.ENUM,
        # Entity states are lower case (the translation keys must be).
        options=[intent.value.lower() for intent in Intent],
        value_fn=lambda status: (
            status.last.intent.lower() if status.last and status.last.intent else None
        ),
        attributes_fn=lambda status: {
            "confidence": status.last.confidence if status.last else None
        },
    ),
    AliceSensorDescription(
        key="last_source",
        device_class=SensorDeviceClass.ENUM,
        options=[source.value for source in Source],
        value_fn=lambda status: status.last.source if status.last else None,
        attributes_fn=lambda status: {
            "fallback_from": status.last.fallback_from if status.last else None,
            "tools": list(status.last.tools) if status.last else [],
        },
    ),
    _latency(Latency.ROUTER, enabled=False),
    _latency(Latency.FAST, enabled=True),
    _latency(Latency.THINK, enabled=True),
    _latency(Latency.END_TO_END, enabled=True),
    _path_share(PathUse.FAST, enabled=True),
    _path_share(PathUse.THINK, enabled=True),
    _path_share(PathUse.HYBRID, enabled=True),
    _path_share(PathUse.ESCALATED, enabled=False),
    AliceSensorDescription(
        key="errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: status.errors,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliceVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each agent's status sensors, and a sensor per satellite that talks to it."""
    for subentry in agent_subentries(entry):
        async_add_entities(
            [AliceStatusSensor(entry, subentry, description) for description in SENSORS],
            config_subentry_id=subentry.subentry_id,
        )
    satellites: dict[str, SatelliteStatusSensor] = {}

    @callback
    def add_satellites(_key: str) -> None:
        for satellite_id, agent_id in entry.runtime_data.status.satellite_agents.items():
            if satellite_id in satellites:
                continue
            subentry = entry.subentries[agent_id]
            sensor = satellites[satellite_id] = SatelliteStatusSensor(entry, subentry, satellite_id)
            async_add_entities([sensor], config_subentry_id=agent_id)

    entry.async_on_unload(entry.runtime_data.status.async_add_listener(add_satellites))
    add_satellites("")


class AliceStatusSensor(AliceVoiceStatusEntity, SensorEntity):
    """One figure of an agent's status."""

    entity_description: AliceSensorDescription

    def __init__(
        self,
        entry: AliceVoiceConfigEntry,
        subentry: ConfigSubentry,
        description: AliceSensorDescription,
    ) -> None:
        """Initialize from the description."""
        super().__init__(entry, subentry, description.key)
        self.entity_description = description
        self._attr_extra_state_attributes = {}

    @property
    @override
    def shows_voice_state(self) -> bool:
        return self.entity_description.key == "voice_status"

    @override
    async def async_added_to_hass(self) -> None:
        """Show the figure the agent has now, then follow it."""
        self._refresh()
        await super().async_added_to_hass()

    @override
    def _refresh(self) -> bool:
        """Take the figure and its attributes from the status; whether they changed."""
        status = self.status
        value = self.entity_description.value_fn(status)
        attributes_fn = self.entity_description.attributes_fn
        attributes = dict(attributes_fn(status)) if attributes_fn else {}
        if value == self._attr_native_value and attributes == self._attr_extra_state_attributes:
            return False
        self._attr_native_value = value
        self._attr_extra_state_attributes = attributes
        return True


#: assist_satellite states -> Alice's voice states.
SATELLITE_STATES = {
    "idle": VoiceState.IDLE,
    "listening": VoiceState.LISTENING,
    "processing": VoiceState.PROCESSING,
    "responding": VoiceState.RESPONDING,
}


class SatelliteStatusSensor(SensorEntity):
    """The voice state of a satellite that talks to Alice, on the agent's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "satellite_status"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [state.value for state in VoiceState]

    def __init__(
        self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry, satellite_id: str
    ) -> None:
        """Follow ``satellite_id`` (an assist_satellite entity id)."""
        self.entry = entry
        self.satellite_id = satellite_id
        self._attr_unique_id = f"{subentry.subentry_id}_satellite_{satellite_id}"
        self._attr_device_info = agent_device(subentry)
        self._attr_translation_placeholders = {"satellite": satellite_id.split(".", 1)[-1]}

    @property
    @override
    def native_value(self) -> str | None:
        """The satellite's state as Alice knows it."""
        state = self.entry.runtime_data.status.satellites.get(self.satellite_id)
        return state.value if state is not None else None

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the satellite's state and the tracker."""
        await super().async_added_to_hass()
        status = self.entry.runtime_data.status

        @callback
        def satellite_changed(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is not None and (state := SATELLITE_STATES.get(new.state)) is not None:
                status.satellite_state(self.satellite_id, state)

        @callback
        def tracker_changed(key: str) -> None:
            if key == self.satellite_id:
                self.async_write_ha_state()

        self.async_on_remove(
            async_track_state_change_event(self.hass, self.satellite_id, satellite_changed)
        )
        self.async_on_remove(status.async_add_listener(tracker_changed))
        if (current := self.hass.states.get(self.satellite_id)) is not None and (
            state := SATELLITE_STATES.get(current.state)
        ) is not None:
            status.satellite_state(self.satellite_id, state)
