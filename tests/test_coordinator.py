"""The coordinator: the setup check, sticky health and probes, keep-warm and pre-warming.

Health is read the way a user sees it, in the entry's diagnostics; time passes
through ``async_fire_time_changed``.
"""

from collections.abc import Awaitable, Callable
import logging
from typing import Any

from aiohttp import web
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alice_voice.const import (
    CONF_KEEP_ALIVE,
    CONF_MODE,
    CONF_OLLAMA_API_KEY,
    CONF_OLLAMA_URL,
    DOMAIN,
    FAILURES_BEFORE_DOWN,
)
from simulators.ollama import OllamaTestServer, ScriptedReply
from simulators.realtime import RealtimeTestServer

from .common import async_setup, async_wait_probe, converse, openai_connection, set_agent, source

type Diagnostics = Callable[[MockConfigEntry], Awaitable[dict[str, Any]]]

DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing listens
GREETING = "hej"
THINK = "vad har jag i kalendern imorgon"


# --- the setup check ------------------------------------------------------------------


@pytest.mark.parametrize("entry_overrides", [{CONF_OLLAMA_URL: DEAD_URL}])
async def test_ollama_unreachable_at_setup_retries(
    hass: HomeAssistant, setup_ha: None, mock_config_entry: MockConfigEntry
) -> None:
    """No Ollama: the entry is not ready, says why, and HA keeps running."""
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason is not None
    assert "127.0.0.1:9" in mock_config_entry.reason
    assert hass.states.get("conversation.alice") is None


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        pytest.param(500, ConfigEntryState.SETUP_RETRY, "can't reach", id="server-error"),
        pytest.param(429, ConfigEntryState.SETUP_RETRY, "can't reach", id="rate-limited"),
        pytest.param(404, ConfigEntryState.SETUP_ERROR, "status 404", id="not-ollama"),
    ],
)
async def test_error_status_at_setup(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    status: int,
    state: ConfigEntryState,
    reason: str,
) -> None:
    """5xx and 429 retry; another 4xx means the URL is not Ollama. Both say so."""

    async def broken_tags(request: web.Request) -> web.Response:
        return web.json_response({"error": "nope"}, status=status)

    ollama_server._tags = broken_tags  # type: ignore[method-assign]
    await ollama_server.stop()
    await ollama_server.start()  # routes bind the handler at start
    hass.config_entries.async_update_entry(
        mock_config_entry, data={CONF_OLLAMA_URL: ollama_server.url}
    )

    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is state
    assert reason in str(mock_config_entry.reason)


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


# --- sticky health ---------------------------------------------------------------------


@pytest.fixture
def entry_overrides(realtime_server: RealtimeTestServer) -> dict[str, Any]:
    """The entries below have an OpenAI key, pointed at the test server."""
    return openai_connection(realtime_server)


async def test_cloud_marked_down_is_skipped_then_restored(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
    get_diagnostics: Diagnostics,
) -> None:
    """After N failures the cloud is skipped (no connection paid); a probe brings it back."""
    await async_setup(hass, mock_config_entry)
    realtime_server.set_faults(handshake_status=500, rest_status=500)
    for _ in range(FAILURES_BEFORE_DOWN):
        assert source(await converse(hass, GREETING)) == "local_fallback"
    openai = (await get_diagnostics(mock_config_entry))["backends"]["openai"]
    assert openai["state"] == "down"
    assert openai["consecutive_failures"] == FAILURES_BEFORE_DOWN
    assert openai["last_error"] == "openai_unreachable"
    attempts = realtime_server.handshake_count

    assert source(await converse(hass, GREETING)) == "local_fallback"
    assert realtime_server.handshake_count == attempts  # skipped: no timeout paid

    await async_wait_probe(hass)  # still failing: still down, and probed
    assert (await get_diagnostics(mock_config_entry))["backends"]["openai"]["state"] == "down"
    assert realtime_server.models_requests[-1] == (True, 500)

    realtime_server.clear_faults()
    await async_wait_probe(hass, periods=2)
    assert (await get_diagnostics(mock_config_entry))["backends"]["openai"]["state"] == "ok"
    assert source(await converse(hass, GREETING)) == "openai_realtime"


async def test_ollama_marked_down_is_skipped_then_restored(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
    get_diagnostics: Diagnostics,
) -> None:
    """A local model that keeps failing is skipped in favour of the cloud, then comes back."""
    await async_setup(hass, mock_config_entry)
    ollama_server.reply_always(ScriptedReply(status=500))
    for _ in range(FAILURES_BEFORE_DOWN):
        assert source(await converse(hass, THINK)) == "openai_fallback"
    ollama = (await get_diagnostics(mock_config_entry))["backends"]["ollama"]
    assert (ollama["state"], ollama["last_error"]) == ("down", "ollama_error")
    chats = len(ollama_server.chat_requests)
    assert source(await converse(hass, THINK)) == "openai_fallback"
    assert len(ollama_server.chat_requests) == chats  # skipped

    ollama_server.reply_always(ScriptedReply(content="Tillbaka!"))
    await async_wait_probe(hass)
    assert (await get_diagnostics(mock_config_entry))["backends"]["ollama"]["state"] == "ok"
    assert source(await converse(hass, THINK)) == "local_ai"


# --- keeping the model loaded ------------------------------------------------------------


async def test_model_is_kept_warm(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """With keep-alive -1 the model is loaded at setup, and again when Ollama drops it."""
    await async_setup(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [load.model for load in ollama_server.load_requests] == ["gpt-oss:20b"]
    assert "gpt-oss:20b" in ollama_server.loaded
    # Loaded with the context size turns ask for: Ollama would reload it for another.
    assert ollama_server.load_requests[0].body["options"] == {"num_ctx": 8192}
    assert ollama_server.loaded_ctx["gpt-oss:20b"] == 8192

    # Still loaded: the periodic check loads nothing.
    await async_wait_probe(hass)
    assert len(ollama_server.load_requests) == 1

    ollama_server.unload()  # an Ollama restart, or another model took the memory
    await async_wait_probe(hass, periods=2)
    assert len(ollama_server.load_requests) == 2
    assert "gpt-oss:20b" in ollama_server.loaded
    assert ollama_server.chat_requests == []  # loading is not a turn


@pytest.mark.parametrize(
    "options",
    [{CONF_KEEP_ALIVE: 600}, {CONF_MODE: "cloud_only"}],
    ids=["keep_alive_600", "cloud_only"],
)
async def test_model_not_kept_warm_when_the_agent_does_not_want_it(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    """A keep-alive in seconds lets the model go; cloud_only does not use it."""
    set_agent(hass, mock_config_entry, **options)
    await async_setup(hass, mock_config_entry)
    ollama_server.unload()
    await async_wait_probe(hass)
    assert ollama_server.load_requests == []


@pytest.mark.parametrize("entry_overrides", [{}])
async def test_local_model_is_prewarmed(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A turn likely to think loads a model that is not kept warm while it is routed, once."""
    set_agent(hass, mock_config_entry, **{CONF_KEEP_ALIVE: 600})
    await async_setup(hass, mock_config_entry)
    await converse(hass, THINK)
    await hass.async_block_till_done(wait_background_tasks=True)
    (load,) = ollama_server.load_requests
    assert load.model == "gpt-oss:20b"
    assert load.body["keep_alive"] == "600s"
    await converse(hass, THINK)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(ollama_server.load_requests) == 1  # warm now: not loaded again
