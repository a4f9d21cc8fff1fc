"""The HUD's websocket subscription: the live picture the card draws."""

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.alice_voice.const import CONF_EVENT_TRANSCRIPTS, CONF_OLLAMA_API_KEY
from simulators.ollama import OllamaTestServer

from .common import AGENT_ID, converse

THINK = "vad har jag i kalendern imorgon"


async def _subscribe(hass: HomeAssistant, client: Any, **message: Any) -> int:
    await client.send_json_auto_id({"type": "alice_voice/subscribe", **message})
    result = await client.receive_json()
    assert result["success"], result
    return int(result["id"])


async def _until(client: Any, predicate: Any) -> dict[str, Any]:
    """Read pushed pictures until one satisfies ``predicate``; return it."""
    for _ in range(20):
        message = await client.receive_json()
        picture: dict[str, Any] = message["event"]
        if predicate(picture):
            return picture
    raise AssertionError("the picture never got there")


@pytest.mark.parametrize("entry_overrides", [{CONF_OLLAMA_API_KEY: "ollama-secret-key"}])
async def test_subscription_follows_a_turn(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A picture at once, then processing, responding and the finished turn."""
    ollama_server.api_key = "ollama-secret-key"
    client = await hass_ws_client(hass)
    await _subscribe(hass, client, agent_id=AGENT_ID)
    first = (await client.receive_json())["event"]
    agent = first["agents"][AGENT_ID]
    assert agent["state"] == "idle"
    assert agent["title"] == "Alice"
    assert agent["budgets_ms"] == {"fast": 300, "think": 2000}
    assert first["backends"]["ollama"]["state"] == "ok"

    await converse(hass, THINK)

    seen = await _until(client, lambda p: p["agents"][AGENT_ID]["turns"] == 1)
    done = seen["agents"][AGENT_ID]
    assert done["state"] == "idle"
    last = done["last"]
    assert (last["intent"], last["path"], last["reason"]) == (
        "CALENDAR_QUERY",
        "think",
        "complex_intent",
    )
    assert last["source"] == "local_ai"
    assert last["latency_ms"]["think"] > 0
    assert last["text"] is None  # the words stay out unless the agent allows them
    assert done["latency_ms"]["end_to_end"]["p50"] > 0
    assert done["path_share"]["think"] == 100.0
    assert "ollama-secret-key" not in str(seen)


@pytest.mark.parametrize("agent_overrides", [{CONF_EVENT_TRANSCRIPTS: True}])
async def test_words_with_the_agents_consent(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """With "put the words in events" on, the picture has what was said and answered."""
    client = await hass_ws_client(hass)
    await _subscribe(hass, client)
    await converse(hass, THINK)
    seen = await _until(client, lambda p: p["agents"][AGENT_ID]["turns"] == 1)
    last = seen["agents"][AGENT_ID]["last"]
    assert last["text"] == THINK
    assert last["response"] == f"Du sa: {THINK}"


async def test_unknown_agent_gets_an_empty_picture(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Subscribing to an agent that does not exist is no error: there is just nothing."""
    client = await hass_ws_client(hass)
    await _subscribe(hass, client, agent_id="conversation.nobody")
    picture = (await client.receive_json())["event"]
    assert picture == {"agents": {}, "satellites": {}, "backends": {}}
