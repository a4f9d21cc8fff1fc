"""Setting up, unloading and reloading Alice Voice."""

import logging

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alice_voice.const import (
    CONF_LANGUAGE,
    CONF_OLLAMA_API_KEY,
    CONF_OLLAMA_URL,
    CONF_OPENAI_API_KEY,
    DOMAIN,
)
from custom_components.alice_voice.status import BackendState
from simulators.ollama import OllamaTestServer

DEAD_URL = "http://127.0.0.1:9"


@pytest.mark.parametrize("entry_overrides", [{CONF_OLLAMA_URL: DEAD_URL}])
async def test_ollama_unreachable_at_setup_retries(
    hass: HomeAssistant,
    setup_ha: None,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No Ollama: the entry is not ready, says why, and HA keeps running."""
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason is not None
    assert "127.0.0.1:9" in mock_config_entry.reason
    assert hass.states.get("conversation.alice") is None


@pytest.mark.parametrize(
    ("status", "state"),
    [
        pytest.param(500, ConfigEntryState.SETUP_RETRY, id="server-error"),
        pytest.param(429, ConfigEntryState.SETUP_RETRY, id="rate-limited"),
        pytest.param(404, ConfigEntryState.SETUP_ERROR, id="not-ollama"),
    ],
)
async def test_error_status_at_setup(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    status: int,
    state: ConfigEntryState,
) -> None:
    """5xx and 429 retry; another 4xx means the URL is not Ollama."""

    async def broken_tags(request: object) -> object:
        from aiohttp import web

        return web.json_response({"error": "nope"}, status=status)

    ollama_server._tags = broken_tags  # type: ignore[method-assign,assignment]
    await ollama_server.stop()
    await ollama_server.start()  # routes bind the handler at start
    hass.config_entries.async_update_entry(
        mock_config_entry, data={CONF_OLLAMA_URL: ollama_server.url}
    )

    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is state


@pytest.mark.parametrize("entry_overrides", [{CONF_OLLAMA_API_KEY: "old-key"}])
async def test_rejected_key_at_setup_starts_reauth(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """401 at setup: auth failed, a reauth flow, and the key is not logged."""
    ollama_server.api_key = "new-key"
    with caplog.at_level(logging.DEBUG):
        assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]
    assert "old-key" not in caplog.text


async def test_setup_unload_and_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ollama_server: OllamaTestServer,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The agent has its own device; unloading closes the backend; changes reload."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.status.backend("ollama").state == BackendState.OK
    assert entry.runtime_data.openai is None
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

    backend = entry.runtime_data.ollama
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert backend._client._client.is_closed  # the HTTP pool is closed


@pytest.mark.parametrize("entry_overrides", [{CONF_OPENAI_API_KEY: "sk-test"}])
async def test_openai_client_is_built(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """With a key, the entry owns an OpenAI client (no cloud call at setup)."""
    client = init_integration.runtime_data.openai
    assert client is not None
    assert client.api_key == "sk-test"
    assert client.max_retries == 0


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
    assert [e.entity_id for e in entities] == ["conversation.alice"]
