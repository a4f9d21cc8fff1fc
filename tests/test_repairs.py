"""Repair issues: a missing local model (fixed by pulling it), the router model, a gone tools API.

Issues are read from the issue registry as the Repairs dashboard reads them, and
the fix flow is driven through Home Assistant's repairs HTTP API, as the
frontend does.
"""

from http import HTTPStatus
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir, llm
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alice_voice.const import CONF_LOCAL_MODEL, DOMAIN
from simulators.ollama import ModelSpec, OllamaTestServer, ScriptedReply

from .common import async_setup, async_wait_probe, converse, entry_state, set_agent, speech

NEMO = "mistral-nemo:12b"  # not on the test server until pulled
THINK = "vad har jag i kalendern imorgon"
FIX_URL = "/api/repairs/issues/fix"


def agent_subentry_id(entry: MockConfigEntry) -> str:
    """The id of the entry's (only) agent."""
    subentry_id: str = next(iter(entry.subentries))
    return subentry_id


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    """An Alice issue, as the Repairs dashboard lists it."""
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


def alice_issues(hass: HomeAssistant) -> set[str]:
    """The ids of Alice's issues."""
    return {issue_id for domain, issue_id in ir.async_get(hass).issues if domain == DOMAIN}


# --- a missing local model -------------------------------------------------------------


@pytest.mark.parametrize("agent_overrides", [{CONF_LOCAL_MODEL: NEMO}])
async def test_missing_model_is_fixed_by_pulling_it(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ollama_server: OllamaTestServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """The issue offers to pull the model, shows progress, and goes when the model is there."""
    issue_id = f"model_missing_{agent_subentry_id(init_integration)}"
    found = issue(hass, issue_id)
    assert found is not None
    assert found.is_fixable
    assert found.severity is ir.IssueSeverity.ERROR
    assert found.translation_key == "model_missing"
    assert found.translation_placeholders == {"model": NEMO, "agent": "Alice"}
    assert ollama_server.load_requests == []  # a missing model is not loaded in a loop

    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(FIX_URL, json={"handler": DOMAIN, "issue_id": issue_id})
    assert response.status == HTTPStatus.OK
    result: dict[str, Any] = await response.json()
    assert (result["type"], result["step_id"]) == ("form", "confirm")
    assert result["description_placeholders"] == {"model": NEMO, "agent": "Alice"}

    response = await client.post(f"{FIX_URL}/{result['flow_id']}", json={})
    result = await response.json()
    assert (result["type"], result["step_id"]) == ("progress", "download")
    assert result["progress_action"] == "download"
    assert result["description_placeholders"] == {"model": NEMO}

    # The pull ends; the flow moves on by itself (the frontend follows it).
    await hass.async_block_till_done(wait_background_tasks=True)
    response = await client.post(f"{FIX_URL}/{result['flow_id']}", json={})
    result = await response.json()
    assert result["type"] == "create_entry"
    assert ("/api/pull", {"model": NEMO, "insecure": False, "stream": True}) in (
        ollama_server.requests
    )
    assert issue(hass, issue_id) is None
    # The coordinator checked again: the model is kept warm now.
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [load.model for load in ollama_server.load_requests] == [NEMO]
    await async_wait_probe(hass)
    assert issue(hass, issue_id) is None


@pytest.mark.parametrize("agent_overrides", [{CONF_LOCAL_MODEL: NEMO}])
async def test_failed_pull_keeps_the_issue(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ollama_server: OllamaTestServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """A pull that fails aborts with the model's name; the issue stays."""
    issue_id = f"model_missing_{agent_subentry_id(init_integration)}"
    ollama_server.pull_error = "pull model manifest: file does not exist"
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(FIX_URL, json={"handler": DOMAIN, "issue_id": issue_id})
    flow_id = (await response.json())["flow_id"]
    response = await client.post(f"{FIX_URL}/{flow_id}", json={})
    assert (await response.json())["type"] == "progress"
    await hass.async_block_till_done(wait_background_tasks=True)
    response = await client.post(f"{FIX_URL}/{flow_id}", json={})
    result = await response.json()
    assert (result["type"], result["reason"]) == ("abort", "download_failed")
    assert result["description_placeholders"] == {"model": NEMO}
    assert issue(hass, issue_id) is not None


@pytest.mark.parametrize("agent_overrides", [{CONF_LOCAL_MODEL: NEMO}])
async def test_fix_flow_needs_the_entry_loaded(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """With Alice unloaded there is no client to pull with: the flow says so."""
    issue_id = f"model_missing_{agent_subentry_id(init_integration)}"
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(FIX_URL, json={"handler": DOMAIN, "issue_id": issue_id})
    result = await response.json()
    assert (result["type"], result["reason"]) == ("abort", "entry_not_loaded")
    assert issue(hass, issue_id) is not None


@pytest.mark.parametrize("agent_overrides", [{CONF_LOCAL_MODEL: NEMO}])
async def test_missing_model_issue_goes_when_the_model_shows_up(
    hass: HomeAssistant, init_integration: MockConfigEntry, ollama_server: OllamaTestServer
) -> None:
    """Pulled outside Home Assistant (``ollama pull``): the next check deletes the issue."""
    issue_id = f"model_missing_{agent_subentry_id(init_integration)}"
    await async_wait_probe(hass)
    assert issue(hass, issue_id) is not None  # still missing: still there
    ollama_server.models[NEMO] = ModelSpec(NEMO)
    await async_wait_probe(hass)
    assert issue(hass, issue_id) is None


async def test_model_removed_while_running_is_found_by_a_turn(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A turn that finds the model gone apologises and raises the issue; one that finds it clears it."""
    await async_setup(hass, mock_config_entry)
    issue_id = f"model_missing_{agent_subentry_id(mock_config_entry)}"
    assert issue(hass, issue_id) is None
    spec = ollama_server.models.pop("gpt-oss:20b")
    result = await converse(hass, THINK)
    assert speech(result)  # Alice's apology, not an exception
    found = issue(hass, issue_id)
    assert found is not None
    assert found.translation_placeholders == {"model": "gpt-oss:20b", "agent": "Alice"}

    # Back on the server: the next turn that finds it deletes the issue.
    ollama_server.models[spec.name] = spec
    ollama_server.reply_always(ScriptedReply(content="Inget i kalendern."))
    assert speech(await converse(hass, THINK)) == "Inget i kalendern."
    assert issue(hass, issue_id) is None


async def test_model_removed_while_running_is_found_by_keep_warm(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Keep-warm finds the model gone (Ollama no longer holds it); it comes back after a pull."""
    await async_setup(hass, mock_config_entry)
    issue_id = f"model_missing_{agent_subentry_id(mock_config_entry)}"
    spec = ollama_server.models.pop("gpt-oss:20b")
    ollama_server.unload()
    await async_wait_probe(hass)
    assert issue(hass, issue_id) is not None
    loads = len(ollama_server.load_requests)
    await async_wait_probe(hass)
    assert len(ollama_server.load_requests) == loads  # not loaded again while missing

    ollama_server.models[spec.name] = spec
    await async_wait_probe(hass)
    assert issue(hass, issue_id) is None
    await async_wait_probe(hass)
    assert "gpt-oss:20b" in ollama_server.loaded  # kept warm again


@pytest.mark.parametrize("agent_overrides", [{CONF_LOCAL_MODEL: NEMO}])
async def test_issue_goes_when_the_agent_changes_model(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Choosing an installed model (the entry reloads) deletes the issue."""
    issue_id = f"model_missing_{agent_subentry_id(init_integration)}"
    assert issue(hass, issue_id) is not None
    set_agent(hass, init_integration, **{CONF_LOCAL_MODEL: "qwen3:8b"})
    await hass.async_block_till_done()
    assert entry_state(init_integration) is ConfigEntryState.LOADED
    assert issue(hass, issue_id) is None


@pytest.mark.parametrize("agent_overrides", [{CONF_LOCAL_MODEL: NEMO, "mode": "cloud_only"}])
async def test_cloud_only_agent_needs_no_local_model(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An agent that never thinks locally raises no issue for its local model."""
    assert alice_issues(hass) == set()


# --- the router model --------------------------------------------------------------------


async def test_router_model_that_does_not_load_is_an_issue(
    hass: HomeAssistant,
    setup_ha: None,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Broken router weights: setup fails and an issue says what to do; a good setup clears it."""
    broken = tmp_path / "model.npz"
    broken.write_bytes(b"broken")
    monkeypatch.setattr("custom_components.alice_voice.router.model.DEFAULT_MODEL_PATH", broken)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    found = issue(hass, "router_unavailable")
    assert found is not None
    assert not found.is_fixable
    assert found.translation_key == "router_unavailable"
    assert found.learn_more_url is not None

    monkeypatch.undo()  # a reinstall
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    assert entry_state(mock_config_entry) is ConfigEntryState.LOADED
    assert issue(hass, "router_unavailable") is None


# --- an agent's tools API --------------------------------------------------------------


@pytest.mark.parametrize("agent_overrides", [{CONF_LLM_HASS_API: ["gone", llm.LLM_API_ASSIST]}])
async def test_gone_tools_api_is_an_issue_until_reconfigured(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An API that no longer exists: reconfigure the agent; then the issue goes."""
    issue_id = f"llm_api_missing_{agent_subentry_id(init_integration)}"
    found = issue(hass, issue_id)
    assert found is not None
    assert not found.is_fixable
    assert found.translation_key == "llm_api_missing"
    assert found.severity is ir.IssueSeverity.ERROR  # the agent cannot answer until fixed
    assert found.translation_placeholders == {"agent": "Alice", "api": "gone"}

    set_agent(hass, init_integration, **{CONF_LLM_HASS_API: [llm.LLM_API_ASSIST]})
    await hass.async_block_till_done()
    assert entry_state(init_integration) is ConfigEntryState.LOADED
    assert issue(hass, issue_id) is None


BROKEN_AGENT = {CONF_LLM_HASS_API: ["gone"], CONF_LOCAL_MODEL: NEMO}


@pytest.mark.parametrize("agent_overrides", [BROKEN_AGENT])
async def test_issues_go_with_their_agent(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Removing the agent (the entry reloads) removes its issues."""
    subentry_id = agent_subentry_id(init_integration)
    assert alice_issues(hass) == {f"llm_api_missing_{subentry_id}", f"model_missing_{subentry_id}"}
    assert hass.config_entries.async_remove_subentry(init_integration, subentry_id)
    await hass.async_block_till_done()
    assert alice_issues(hass) == set()


@pytest.mark.parametrize("agent_overrides", [BROKEN_AGENT])
async def test_issues_go_with_their_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Removing the entry removes its agents' issues."""
    assert len(alice_issues(hass)) == 2
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert alice_issues(hass) == set()
