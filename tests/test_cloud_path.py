"""The cloud path: what OpenAI Realtime is told, and what its turns leave in the chat log."""

from typing import Any

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import chat_session
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.alice_voice.const import CONF_MODE, CONF_PROMPT
from simulators.ollama import OllamaTestServer
from simulators.realtime import FunctionCall, RealtimeTestServer, Reply

from .common import async_setup, converse, openai_connection, set_agent, source, speech, state_of


@pytest.fixture
def entry_overrides(realtime_server: RealtimeTestServer) -> dict[str, Any]:
    """Every entry here has an OpenAI key, pointed at the test server."""
    return openai_connection(realtime_server)


def instructions(server: RealtimeTestServer) -> str:
    """The instructions of the session's last update."""
    return str(server.client_events("session.update")[-1]["session"]["instructions"])


async def test_cloud_is_told_time_and_weather(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    realtime_server: RealtimeTestServer,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Weather and time questions get HA's weather, its forecast and the local time."""
    await async_setup(hass, mock_config_entry)
    result = await converse(hass, "hur blir vädret imorgon")
    assert source(result) == "openai_realtime"
    told = instructions(realtime_server)
    assert told.startswith("Du är Alice")
    assert "Just nu:" in told
    assert "Demo Weather South" in told
    assert "Prognos:" in told
    # A fast turn has no tools, so no devices and no escalation either.
    assert "Kitchen Lights" not in told
    assert "escalate_to_local" not in told


async def test_cloud_only_is_told_the_home_without_sensitive_devices(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    realtime_server: RealtimeTestServer,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """With tools, the cloud gets an overview of the home: lights yes, locks and garages no."""
    set_agent(
        hass, mock_config_entry, **{CONF_MODE: "cloud_only", CONF_PROMPT: "Du heter {{ 'Alice' }}."}
    )
    await async_setup(hass, mock_config_entry)
    await converse(hass, "vad har jag i kalendern imorgon")
    told = instructions(realtime_server)
    assert told.startswith("Du heter Alice.")
    assert "Kitchen Lights (light, Kök): off" in told
    assert "Front Door" not in told
    assert "Garage Door" not in told


async def test_chat_log_of_a_cloud_tool_turn(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    realtime_server: RealtimeTestServer,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """A cloud_only turn that calls Home Assistant's light intent, then answers."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "cloud_only"})
    await async_setup(hass, mock_config_entry)
    realtime_server.add_rule(
        Reply(function_calls=[FunctionCall("intent__HassTurnOn", {"name": "Kitchen Lights"})])
    )
    realtime_server.add_rule(Reply(text="Nu lyser det i köket."), after_tool_output=True)

    result = await converse(hass, "tänd lampan i köket")

    assert speech(result) == "Nu lyser det i köket."
    assert state_of(hass, demo_home["kitchen_light"]) == "on"
    # The tool's result went back to the cloud as a function_call_output.
    outputs = [
        event["item"]
        for event in realtime_server.client_events("conversation.item.create")
        if event["item"]["type"] == "function_call_output"
    ]
    assert len(outputs) == 1
    assert '"response_type":"action_done"' in outputs[0]["output"].replace(" ", "")
    with (
        chat_session.async_get_chat_session(hass, result.conversation_id) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        assert chat_log.content[1:] == snapshot(exclude=props("created", "id", "tool_call_id"))
