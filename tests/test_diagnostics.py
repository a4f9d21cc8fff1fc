"""Diagnostics redact every secret."""

import json

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alice_voice.const import CONF_OLLAMA_API_KEY, CONF_OPENAI_API_KEY


@pytest.mark.parametrize(
    "entry_overrides",
    [{CONF_OLLAMA_API_KEY: "ollama-secret-123", CONF_OPENAI_API_KEY: "sk-secret-456"}],
)
async def test_diagnostics_redact_keys(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> None:
    """Keys never appear; settings and health do."""
    assert await async_setup_component(hass, "diagnostics", {})
    data = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    text = json.dumps(data)
    assert "ollama-secret-123" not in text
    assert "sk-secret-456" not in text
    assert data["entry"]["data"][CONF_OLLAMA_API_KEY] == "**REDACTED**"
    assert data["entry"]["data"][CONF_OPENAI_API_KEY] == "**REDACTED**"
    (agent,) = data["agents"].values()
    assert agent["title"] == "Alice"
    assert agent["options"]["local_model"] == "gpt-oss:20b"
    assert data["backends"]["ollama"]["state"] == "ok"
    assert data["backends"]["openai"]["state"] == "unknown"  # no cloud call at setup
    # The router's model was loaded once, off the event loop, and the time is reported.
    assert data["router"]["model_load_ms"] > 0
    assert data["router"]["model_bytes"] > 1_000_000
