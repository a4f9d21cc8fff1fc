"""Config entry migration: from the first schema (1.1) to 1.2, and a newer major version refused."""

from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alice_voice import async_migrate_entry
from custom_components.alice_voice.config_flow import AliceVoiceConfigFlow
from custom_components.alice_voice.const import (
    CONF_OLLAMA_URL,
    CONF_SATELLITES,
    CONF_STT_MODEL,
    CONF_VAD_HANGOVER,
    CONF_VAD_SENSITIVITY,
    DOMAIN,
)
from simulators.ollama import OllamaTestServer

from .common import AGENT_ID, state_of

#: An agent as the first schema (1.1) stored it: no voice options yet.
FIRST_SCHEMA_AGENT: dict[str, Any] = {
    "language": "en",
    "mode": "local_only",
    "local_model": "qwen3:8b",
    "think_level": "medium",
    "realtime_model": "gpt-realtime",
    "realtime_voice": "cedar",
    "confidence_threshold": 0.9,
    "keep_alive": 600,
    "max_history": 20,
    "num_ctx": 4096,
    "think_timeout": 30.0,
    "fast_budget": 300,
    "think_budget": 2000,
    "event_transcripts": True,
    "temperature": 0.5,
    "max_tokens": 1024,
    "prompt": "Du heter Alice.",
    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
}
VOICE_DEFAULTS: dict[str, Any] = {
    CONF_SATELLITES: [],
    CONF_STT_MODEL: "gpt-4o-mini-transcribe",
    CONF_VAD_SENSITIVITY: 0.7,
    CONF_VAD_HANGOVER: 300,
}


def make_entry(
    ollama_server: OllamaTestServer, version: int, minor_version: int, *agents: dict[str, Any]
) -> MockConfigEntry:
    """An entry of the given schema version with the given agents (and a non-agent subentry)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Alice Voice (test)",
        data={CONF_OLLAMA_URL: ollama_server.url},
        version=version,
        minor_version=minor_version,
        subentries_data=[
            *(
                ConfigSubentryData(
                    data=agent,
                    subentry_type="conversation",
                    title="Alice" if index == 0 else f"Alice {index}",
                    unique_id=None,
                )
                for index, agent in enumerate(agents)
            ),
            ConfigSubentryData(
                data={"keep": "me"}, subentry_type="ai_task_data", title="Task", unique_id=None
            ),
        ],
    )


def agents_data(entry: MockConfigEntry) -> list[dict[str, Any]]:
    """The agents' data, in order."""
    return [
        dict(subentry.data)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == "conversation"
    ]


def test_the_current_schema_is_1_2() -> None:
    """The flow creates 1.2 entries (what the migration brings older ones to)."""
    assert (AliceVoiceConfigFlow.VERSION, AliceVoiceConfigFlow.MINOR_VERSION) == (1, 2)


async def test_first_schema_is_migrated_and_loads(
    hass: HomeAssistant, setup_ha: None, ollama_server: OllamaTestServer
) -> None:
    """1.1 -> 1.2: each agent gets the voice options' defaults; what it had is kept."""
    chose_a_voice_option = {**FIRST_SCHEMA_AGENT, CONF_STT_MODEL: "whisper-1"}
    entry = make_entry(ollama_server, 1, 1, FIRST_SCHEMA_AGENT, chose_a_voice_option)
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 2)
    assert agents_data(entry) == [
        {**FIRST_SCHEMA_AGENT, **VOICE_DEFAULTS},
        {**FIRST_SCHEMA_AGENT, **VOICE_DEFAULTS, CONF_STT_MODEL: "whisper-1"},
    ]
    other = next(s for s in entry.subentries.values() if s.subentry_type == "ai_task_data")
    assert dict(other.data) == {"keep": "me"}
    assert state_of(hass, AGENT_ID) != "unavailable"


async def test_migrated_defaults_are_not_shared(
    hass: HomeAssistant, setup_ha: None, ollama_server: OllamaTestServer
) -> None:
    """Two migrated agents get their own satellite lists, not one shared default object."""
    entry = make_entry(ollama_server, 1, 1, FIRST_SCHEMA_AGENT, FIRST_SCHEMA_AGENT)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    first, second = agents_data(entry)
    assert first[CONF_SATELLITES] == second[CONF_SATELLITES] == []
    assert first[CONF_SATELLITES] is not second[CONF_SATELLITES]


async def test_current_schema_is_left_alone(
    hass: HomeAssistant, setup_ha: None, ollama_server: OllamaTestServer
) -> None:
    """A 1.2 entry is not migrated; a later 1.x (a downgrade in the same major) still loads."""
    for minor in (2, 3):
        entry = make_entry(ollama_server, 1, minor, FIRST_SCHEMA_AGENT)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        assert (entry.version, entry.minor_version) == (1, minor)
        assert agents_data(entry) == [FIRST_SCHEMA_AGENT]  # untouched
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.mark.parametrize("minor_version", [1, 2])
async def test_newer_major_version_fails_cleanly(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    minor_version: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry written by a future Alice Voice (2.x) is refused, not misread."""
    entry = make_entry(ollama_server, 2, minor_version, FIRST_SCHEMA_AGENT)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert (entry.version, entry.minor_version) == (2, minor_version)
    assert agents_data(entry) == [FIRST_SCHEMA_AGENT]
    assert hass.states.get(AGENT_ID) is None
    assert "higher than the current version" in caplog.text
    assert ollama_server.requests == []  # nothing was set up


async def test_migration_refuses_a_newer_major_version_itself(
    hass: HomeAssistant, ollama_server: OllamaTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant refuses 2.x before migrating; Alice's migration would refuse it too."""
    entry = make_entry(ollama_server, 2, 1, FIRST_SCHEMA_AGENT)
    entry.add_to_hass(hass)
    assert await async_migrate_entry(hass, entry) is False
    assert (entry.version, entry.minor_version) == (2, 1)
    assert agents_data(entry) == [FIRST_SCHEMA_AGENT]
    assert "a newer release wrote it" in caplog.text
