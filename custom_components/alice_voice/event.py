"""An event entity per agent, so automations built in the UI can trigger on what Alice does.

Event types: ``intent_recognized`` (a turn was routed), ``response`` (a turn
was answered, or failed), ``tool_result`` (a model's tool call ran) and
``fallback`` (another backend answered after one failed). The attributes are
the bus event's data (:mod:`.events`), which carries the words only when the
agent's "put the words in events" option is on.
"""

from collections.abc import Mapping
from typing import Any, Final, override

from homeassistant.components.event import EventEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import EntityPlatformState
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .entity import AliceVoiceEntity, agent_subentries
from .events import EVENT_INTENT, EVENT_RESPONSE, EVENT_TOOL_RESULT
from .models import AliceVoiceConfigEntry

PARALLEL_UPDATES = 0
CONVERSATION_DOMAIN: Final = "conversation"

INTENT_RECOGNIZED: Final = "intent_recognized"
RESPONSE: Final = "response"
TOOL_RESULT: Final = "tool_result"
FALLBACK: Final = "fallback"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliceVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each agent's event entity."""
    for subentry in agent_subentries(entry):
        async_add_entities([AliceEvents(entry, subentry)], config_subentry_id=subentry.subentry_id)


class AliceEvents(AliceVoiceEntity, EventEntity):
    """What one agent just did."""

    _attr_translation_key = "activity"
    _attr_event_types = [INTENT_RECOGNIZED, RESPONSE, TOOL_RESULT, FALLBACK]

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize."""
        super().__init__(entry, subentry)
        self._attr_unique_id = f"{subentry.subentry_id}_activity"
        self._agent_entity_id: str | None = None

    @override
    async def async_added_to_hass(self) -> None:
        """Listen to Alice's bus events for this agent."""
        await super().async_added_to_hass()
        self._agent_entity_id = er.async_get(self.hass).async_get_entity_id(
            CONVERSATION_DOMAIN, DOMAIN, self.subentry.subentry_id
        )
        for event_type, handler in (
            (EVENT_INTENT, self._intent),
            (EVENT_RESPONSE, self._response),
            (EVENT_TOOL_RESULT, self._tool_result),
        ):
            self.async_on_remove(
                self.hass.bus.async_listen(event_type, handler, event_filter=self._mine)
            )

    @callback
    def _mine(self, data: Mapping[str, Any]) -> bool:
        return bool(data.get("agent_id") == self._agent_entity_id)

    @callback
    def _fire(self, event_type: str, data: Mapping[str, Any]) -> None:
        # In the next loop iteration: the turn that fired the bus event is not kept
        # waiting for this entity's state to be written.
        self.hass.loop.call_soon(self._write_event, event_type, dict(data))

    @callback
    def _write_event(self, event_type: str, data: dict[str, Any]) -> None:
        if self._platform_state is not EntityPlatformState.ADDED:  # removed meanwhile
            return
        self._trigger_event(event_type, data)
        self.async_write_ha_state()

    @callback
    def _intent(self, event: Event[Any]) -> None:
        self._fire(INTENT_RECOGNIZED, event.data)

    @callback
    def _response(self, event: Event[Any]) -> None:
        self._fire(RESPONSE, event.data)
        if event.data.get("fallback_from"):
            self._fire(FALLBACK, event.data)

    @callback
    def _tool_result(self, event: Event[Any]) -> None:
        self._fire(TOOL_RESULT, event.data)
