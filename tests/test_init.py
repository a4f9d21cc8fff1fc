"""Setting up, unloading and reloading Alice Voice (the setup check: test_coordinator)."""

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alice_voice.const import CONF_LANGUAGE, CONF_OLLAMA_URL, DOMAIN
from simulators.ollama import OllamaTestServer
from simulators.realtime import RealtimeTestServer

from .common import async_setup, converse, entry_state, openai_connection, source, state_of


async def test_setup_unload_and_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ollama_server: OllamaTestServer,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The agent has its own device; changes reload; unloading closes the connections."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    subentry = next(iter(entry.subentries.values()))
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, subentry.subentry_id), entry.entry_id
    )
    assert device is not None
    assert device.name == "Alice"
    assert device.entry_type is dr.DeviceEntryType.SERVICE

    # Changing an agent reloads the entry (a new runtime object).
    old_data = entry.runtime_data
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_LANGUAGE: "en"}
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_data

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry_state(entry) is ConfigEntryState.NOT_LOADED
    assert state_of(hass, "conversation.alice") == "unavailable"
    # Nothing is left open: phcc's cleanup check fails the test on a leaked task,
    # timer or socket (the Ollama client's pool, the coordinator's probe timer).


async def test_setup_with_a_key_makes_no_cloud_call(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """With an OpenAI key, setup does not touch the cloud; the first fast turn does."""
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, **openai_connection(realtime_server)},
    )
    await async_setup(hass, mock_config_entry)
    assert realtime_server.connections == []
    assert realtime_server.models_requests == []
    assert source(await converse(hass, "hej")) == "openai_realtime"
    assert realtime_server.handshake_count == 1


async def test_unload_closes_the_cloud_sessions(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A warm Realtime session is closed when the entry unloads."""
    data: dict[str, Any] = {**mock_config_entry.data, **openai_connection(realtime_server)}
    hass.config_entries.async_update_entry(mock_config_entry, data=data)
    await async_setup(hass, mock_config_entry)
    await converse(hass, "hej")
    assert len(realtime_server.open_connections) == 1
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert realtime_server.open_connections == []


async def test_other_subentry_types_get_no_agent(
    hass: HomeAssistant, setup_ha: None, ollama_server: OllamaTestServer
) -> None:
    """Only conversation subentries become agents."""
    from homeassistant.config_entries import ConfigSubentryData

    entry = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_OLLAMA_URL: ollama_server.url},
        subentries_data=[
            ConfigSubentryData(
                data={}, subentry_type="conversation", title="Alice", unique_id=None
            ),
            ConfigSubentryData(data={}, subentry_type="ai_task_data", title="Task", unique_id=None),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    agents = [e.entity_id for e in entities if e.domain == "conversation"]
    assert agents == ["conversation.alice"]
    # Every other entity belongs to that one agent's device.
    devices = {e.device_id for e in entities}
    assert len(devices) == 1
