"""The config flow: connections, reauth, reconfigure and agent subentries."""

from collections.abc import AsyncIterator
from typing import Any

from homeassistant import config_entries
from homeassistant.const import CONF_LLM_HASS_API, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alice_voice.const import (
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DEFAULT_CALENDAR,
    CONF_EVENT_TRANSCRIPTS,
    CONF_FAST_BUDGET,
    CONF_KEEP_ALIVE,
    CONF_LANGUAGE,
    CONF_LOCAL_MODEL,
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_MODE,
    CONF_NUM_CTX,
    CONF_OLLAMA_API_KEY,
    CONF_OLLAMA_URL,
    CONF_OPENAI_API_KEY,
    CONF_OPENAI_BASE_URL,
    CONF_PROMPT,
    CONF_REALTIME_MODEL,
    CONF_REALTIME_VOICE,
    CONF_SATELLITES,
    CONF_SPECULATE,
    CONF_STT_MODEL,
    CONF_TEMPERATURE,
    CONF_THINK_BUDGET,
    CONF_THINK_LEVEL,
    CONF_THINK_TIMEOUT,
    CONF_VAD_HANGOVER,
    CONF_VAD_SENSITIVITY,
    DEFAULT_CONVERSATION_OPTIONS,
    DOMAIN,
    SECTION_ADVANCED,
    SECTION_VOICE,
    SUBENTRY_CONVERSATION,
)
from simulators.ollama import OllamaTestServer
from simulators.realtime import RealtimeTestServer

from .common import entry_state

DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing listens


@pytest.fixture
async def openai_server(socket_enabled: None) -> AsyncIterator[RealtimeTestServer]:
    """An OpenAI-compatible server that validates keys on GET /v1/models."""
    server = RealtimeTestServer.instant(api_keys=["sk-good"])
    await server.start()
    yield server
    await server.stop()


async def start(hass: HomeAssistant) -> str:
    """Open the user step and return the flow id."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result["flow_id"]


async def test_user_flow_local_only(
    hass: HomeAssistant, setup_ha: None, ollama_server: OllamaTestServer
) -> None:
    """An Ollama URL is enough: the entry gets a Swedish agent with defaults."""
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_OLLAMA_URL: f" {ollama_server.url}/ ", CONF_OPENAI_API_KEY: ""}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    host = ollama_server.url.removeprefix("http://")
    assert result["title"] == f"Alice Voice ({host})"
    assert result["data"] == {CONF_OLLAMA_URL: ollama_server.url}
    entry = result["result"]
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_CONVERSATION
    assert subentry.title == "Alice"
    assert subentry.data == {
        **DEFAULT_CONVERSATION_OPTIONS,
        CONF_LANGUAGE: "sv",
        CONF_LLM_HASS_API: ["assist"],
    }
    await hass.async_block_till_done()
    assert entry.state is config_entries.ConfigEntryState.LOADED
    assert hass.states.get("conversation.alice") is not None


async def test_user_flow_english_home_with_openai(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """An English home gets an English agent; the OpenAI key and base URL are checked."""
    hass.config.language = "en"
    ollama_server.api_key = "ollama-key"
    flow_id = await start(hass)
    data = {
        CONF_OLLAMA_URL: ollama_server.url,
        CONF_OLLAMA_API_KEY: "ollama-key",
        CONF_OPENAI_API_KEY: "sk-good",
        CONF_OPENAI_BASE_URL: openai_server.base_url,
    }
    result = await hass.config_entries.flow.async_configure(flow_id, data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == data
    (subentry,) = result["result"].subentries.values()
    assert subentry.data[CONF_LANGUAGE] == "en"
    assert openai_server.models_requests == [(True, 200)]
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        pytest.param({CONF_OLLAMA_URL: "not a url"}, CONF_OLLAMA_URL, "invalid_url", id="bad-url"),
        pytest.param(
            {CONF_OLLAMA_URL: DEAD_URL}, CONF_OLLAMA_URL, "cannot_connect", id="no-ollama"
        ),
        pytest.param(
            {CONF_OLLAMA_API_KEY: "wrong"}, CONF_OLLAMA_API_KEY, "invalid_auth", id="ollama-key"
        ),
        pytest.param(
            {CONF_OPENAI_BASE_URL: "ftp//nope"}, CONF_OPENAI_BASE_URL, "invalid_url", id="bad-base"
        ),
        pytest.param(
            {CONF_OPENAI_API_KEY: "sk-wrong"}, CONF_OPENAI_API_KEY, "invalid_auth", id="openai-key"
        ),
        pytest.param(
            {CONF_OPENAI_BASE_URL: f"{DEAD_URL}/v1"},
            CONF_OPENAI_BASE_URL,
            "cannot_connect",
            id="no-openai",
        ),
    ],
)
async def test_user_flow_errors_then_recover(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    change: dict[str, str],
    field: str,
    error: str,
) -> None:
    """Each failure shows its own error on its field, and fixing it creates the entry."""
    ollama_server.api_key = "ollama-key"
    good = {
        CONF_OLLAMA_URL: ollama_server.url,
        CONF_OLLAMA_API_KEY: "ollama-key",
        CONF_OPENAI_API_KEY: "sk-good",
        CONF_OPENAI_BASE_URL: openai_server.base_url,
    }
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {**good, **change})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}

    result = await hass.config_entries.flow.async_configure(flow_id, good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_unknown_errors(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """Servers that answer, but not as expected, give "unknown"."""
    flow_id = await start(hass)
    # The OpenAI server has no /api/tags; the Ollama server has no /v1/models.
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_OLLAMA_URL: openai_server.base_url.removesuffix("/v1"),
            CONF_OPENAI_API_KEY: "sk-good",
            CONF_OPENAI_BASE_URL: f"{ollama_server.url}/v1",
        },
    )
    assert result["errors"] == {CONF_OLLAMA_URL: "unknown", CONF_OPENAI_API_KEY: "unknown"}


async def test_duplicate_is_aborted(
    hass: HomeAssistant,
    setup_ha: None,
    init_integration: MockConfigEntry,
    ollama_server: OllamaTestServer,
) -> None:
    """The same Ollama server cannot be added twice."""
    flow_id = await start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_OLLAMA_URL: f"{ollama_server.url}/"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    "entry_overrides", [{CONF_OLLAMA_API_KEY: "old", CONF_OPENAI_API_KEY: "sk-old"}]
)
async def test_reauth(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A rejected key starts reauth; a wrong key is refused; the right ones reload the entry."""
    ollama_server.api_key = "new"
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_OPENAI_BASE_URL: openai_server.base_url},
    )
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is config_entries.ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == config_entries.SOURCE_REAUTH
    assert flow["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_OLLAMA_API_KEY: "still-wrong", CONF_OPENAI_API_KEY: "sk-good"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_OLLAMA_API_KEY: "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_OLLAMA_API_KEY: "new", CONF_OPENAI_API_KEY: "sk-good"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == {
        CONF_OLLAMA_URL: ollama_server.url,
        CONF_OPENAI_BASE_URL: openai_server.base_url,
        CONF_OLLAMA_API_KEY: "new",
        CONF_OPENAI_API_KEY: "sk-good",
    }
    await hass.async_block_till_done()
    assert entry_state(mock_config_entry) is config_entries.ConfigEntryState.LOADED


async def test_reconfigure(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """Reconfigure validates, then updates and reloads the entry."""
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_OLLAMA_URL: DEAD_URL}
    )
    assert result["errors"] == {CONF_OLLAMA_URL: "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_OLLAMA_URL: ollama_server.url,
            CONF_OPENAI_API_KEY: "sk-good",
            CONF_OPENAI_BASE_URL: openai_server.base_url,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data[CONF_OPENAI_API_KEY] == "sk-good"
    await hass.async_block_till_done()
    assert init_integration.state is config_entries.ConfigEntryState.LOADED


async def test_reconfigure_onto_another_entry_is_aborted(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Reconfigure cannot point two entries at the same server."""
    other = MockConfigEntry(domain=DOMAIN, data={CONF_OLLAMA_URL: "http://10.0.0.2:11434"})
    other.add_to_hass(hass)
    result = await other.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_OLLAMA_URL: init_integration.data[CONF_OLLAMA_URL]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# --- agent subentries -------------------------------------------------------------------

AGENT_INPUT: dict[str, Any] = {
    CONF_LANGUAGE: "en",
    CONF_MODE: "local_only",
    CONF_LOCAL_MODEL: "qwen3:8b",
    CONF_THINK_LEVEL: "off",
    CONF_REALTIME_MODEL: "gpt-realtime-mini",
    CONF_REALTIME_VOICE: "cedar",
    CONF_PROMPT: "",
    CONF_LLM_HASS_API: ["assist"],
    CONF_DEFAULT_CALENDAR: "calendar.arbete",
    SECTION_ADVANCED: {
        CONF_CONFIDENCE_THRESHOLD: 0.9,
        CONF_TEMPERATURE: 0.5,
        CONF_MAX_TOKENS: 512.0,
        CONF_KEEP_ALIVE: 600.0,
        CONF_MAX_HISTORY: 10.0,
        CONF_NUM_CTX: 16384.0,
        CONF_THINK_TIMEOUT: 45.0,
        CONF_FAST_BUDGET: 250.0,
        CONF_THINK_BUDGET: 1500.0,
        CONF_EVENT_TRANSCRIPTS: True,
    },
    SECTION_VOICE: {
        CONF_SATELLITES: ["assist_satellite.koket"],
        CONF_STT_MODEL: "gpt-4o-transcribe",
        CONF_VAD_SENSITIVITY: 0.5,
        CONF_VAD_HANGOVER: 450.0,
        CONF_SPECULATE: False,
    },
}
AGENT_DATA: dict[str, Any] = {
    CONF_LANGUAGE: "en",
    CONF_MODE: "local_only",
    CONF_LOCAL_MODEL: "qwen3:8b",
    CONF_THINK_LEVEL: "off",
    CONF_REALTIME_MODEL: "gpt-realtime-mini",
    CONF_REALTIME_VOICE: "cedar",
    CONF_LLM_HASS_API: ["assist"],
    CONF_DEFAULT_CALENDAR: "calendar.arbete",
    CONF_CONFIDENCE_THRESHOLD: 0.9,
    CONF_TEMPERATURE: 0.5,
    CONF_MAX_TOKENS: 512,
    CONF_KEEP_ALIVE: 600,
    CONF_MAX_HISTORY: 10,
    CONF_NUM_CTX: 16384,
    CONF_THINK_TIMEOUT: 45.0,
    CONF_FAST_BUDGET: 250,
    CONF_THINK_BUDGET: 1500,
    CONF_EVENT_TRANSCRIPTS: True,
    CONF_SATELLITES: ["assist_satellite.koket"],
    CONF_STT_MODEL: "gpt-4o-transcribe",
    CONF_VAD_SENSITIVITY: 0.5,
    CONF_VAD_HANGOVER: 450,
    CONF_SPECULATE: False,
}


async def start_agent_flow(
    hass: HomeAssistant, entry: MockConfigEntry
) -> config_entries.SubentryFlowResult:
    """Open the "add agent" form."""
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CONVERSATION), context={"source": config_entries.SOURCE_USER}
    )


async def test_add_agent(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """A second agent with an installed model is created at once, stored flat."""
    result = await start_agent_flow(hass, init_integration)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "set_options"
    assert result["data_schema"] is not None
    schema_keys = {str(key) for key in result["data_schema"].schema}
    assert {CONF_NAME, CONF_LOCAL_MODEL, SECTION_ADVANCED} <= schema_keys

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Alice engelska", **AGENT_INPUT}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Alice engelska"
    assert result["data"] == AGENT_DATA
    await hass.async_block_till_done()
    assert hass.states.get("conversation.alice_engelska") is not None


async def test_add_agent_downloads_missing_model(
    hass: HomeAssistant, init_integration: MockConfigEntry, ollama_server: OllamaTestServer
) -> None:
    """A model that is not installed is pulled, with progress, before saving."""
    result = await start_agent_flow(hass, init_integration)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Nemo", **AGENT_INPUT, CONF_LOCAL_MODEL: "mistral-nemo:12b"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "download"
    assert result["description_placeholders"] == {"model": "mistral-nemo:12b"}
    await hass.async_block_till_done(wait_background_tasks=True)

    result = await hass.config_entries.subentries.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_LOCAL_MODEL] == "mistral-nemo:12b"
    assert ("/api/pull", {"model": "mistral-nemo:12b", "insecure": False, "stream": True}) in (
        ollama_server.requests
    )
    await hass.async_block_till_done()


async def test_failed_download_aborts(
    hass: HomeAssistant, init_integration: MockConfigEntry, ollama_server: OllamaTestServer
) -> None:
    """A failed pull aborts with the model's name."""
    ollama_server.pull_error = "pull model manifest: file does not exist"
    result = await start_agent_flow(hass, init_integration)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Nemo", **AGENT_INPUT, CONF_LOCAL_MODEL: "nemo:404"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done(wait_background_tasks=True)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "download_failed"
    assert result["description_placeholders"] == {"model": "nemo:404"}


async def test_reconfigure_agent(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Changing an agent shows its current values and reloads with the new ones."""
    subentry = next(iter(init_integration.subentries.values()))
    result = await init_integration.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["type"] is FlowResultType.FORM
    assert CONF_NAME not in {str(key) for key in result["data_schema"].schema}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**AGENT_INPUT, CONF_PROMPT: "Var kort.", CONF_LLM_HASS_API: []}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    expected = {**AGENT_DATA, CONF_PROMPT: "Var kort."}
    del expected[CONF_LLM_HASS_API]
    assert dict(init_integration.subentries[subentry.subentry_id].data) == expected
    await hass.async_block_till_done()
    assert init_integration.state is config_entries.ConfigEntryState.LOADED


async def test_agent_flow_needs_a_loaded_entry(
    hass: HomeAssistant, setup_ha: None, mock_config_entry: MockConfigEntry
) -> None:
    """Agents cannot be added while the entry is not loaded."""
    result = await start_agent_flow(hass, mock_config_entry)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_agent_flow_when_ollama_is_gone(
    hass: HomeAssistant, init_integration: MockConfigEntry, ollama_server: OllamaTestServer
) -> None:
    """The form needs the model list: without Ollama it aborts clearly."""
    await ollama_server.stop()
    result = await start_agent_flow(hass, init_integration)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"
