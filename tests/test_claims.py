"""No phantom actions: Alice passes on "it's done" only when a tool did it in that turn."""

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.alice_voice.const import CONF_MODE
from custom_components.alice_voice.events import EVENT_RESPONSE, EVENT_TOOL_RESULT
from simulators.ollama import ChatRequest, OllamaTestServer, ScriptedReply
from simulators.realtime import RealtimeTestServer, Reply

from .common import async_setup, converse, openai_connection, set_agent, speech, state_of

# HA's own intents miss it ("förrådet" is no area), so the local model gets the turn.
STORE_ROOM = "tänd lampan i förrådet"
KITCHEN = "kan du vara snäll och tända lampan i köket åt mig, det är så mörkt"
TURN_ON_KITCHEN = {"name": "intent__HassTurnOn", "arguments": {"area": "Kök", "domain": ["light"]}}


@pytest.fixture
async def local_agent(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> MockConfigEntry:
    """A local-only agent over the demo home."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    return mock_config_entry


@pytest.mark.usefixtures("local_agent")
async def test_a_claim_without_a_tool_is_not_passed_on(
    hass: HomeAssistant, ollama_server: OllamaTestServer
) -> None:
    """The model says it is done without calling a tool: Alice says it was not."""
    responses = async_capture_events(hass, EVENT_RESPONSE)
    ollama_server.reply_always(ScriptedReply(content="Klart, nu är lampan tänd!"))
    result = await converse(hass, STORE_ROOM)
    assert speech(result) == "Jag kunde inte göra det, det blev aldrig gjort."
    assert responses[0].data["unconfirmed_claim"] is True
    assert responses[0].data["success"] is True  # she answered, truthfully


@pytest.mark.usefixtures("local_agent")
async def test_a_claim_after_a_failed_tool_says_why(
    hass: HomeAssistant, ollama_server: OllamaTestServer
) -> None:
    """The tool failed and the model says it worked: Alice gives the tool's reason."""

    def reply(request: ChatRequest) -> ScriptedReply:
        if request.after_tool_result:
            assert request.tool_results[0]["error"] is True
            return ScriptedReply(content="Nu är lampan i förrådet tänd.")
        return ScriptedReply(
            tool_calls=[{"name": "intent__HassTurnOn", "arguments": {"area": "Förrådet"}}]
        )

    ollama_server.reply_always(reply)
    result = await converse(hass, STORE_ROOM)
    assert speech(result).startswith("Jag kunde inte göra det: ")
    assert "tänd" not in speech(result)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("Vilken lampa menar du?", id="a-question"),
        pytest.param("Tyvärr hittar jag ingen lampa i förrådet.", id="a-refusal"),
    ],
)
@pytest.mark.usefixtures("local_agent")
async def test_questions_and_refusals_pass(
    hass: HomeAssistant, ollama_server: OllamaTestServer, answer: str
) -> None:
    """Asking back or saying no claims nothing: it is said as it came."""
    responses = async_capture_events(hass, EVENT_RESPONSE)
    ollama_server.reply_always(ScriptedReply(content=answer))
    assert speech(await converse(hass, STORE_ROOM)) == answer
    assert responses[0].data["unconfirmed_claim"] is False


@pytest.mark.usefixtures("local_agent")
async def test_a_claim_after_a_real_action_streams(
    hass: HomeAssistant, demo_home: dict[str, str], ollama_server: OllamaTestServer
) -> None:
    """The tool worked: the answer is passed on, and streamed as it comes."""
    ollama_server.add_rule(ScriptedReply(content=["Nu ", "är ", "det ", "tänt."]), after_tool=True)
    ollama_server.add_rule(ScriptedReply(tool_calls=[TURN_ON_KITCHEN]))
    tools = async_capture_events(hass, EVENT_TOOL_RESULT)
    result = await converse(hass, KITCHEN)
    assert speech(result) == "Nu är det tänt."
    assert state_of(hass, demo_home["kitchen_light"]) == "on"
    (called,) = tools
    assert called.data["tool"] == "intent__HassTurnOn"
    assert called.data["status"] == "ok"
    assert called.data["agent_id"] == "conversation.alice"
    assert "Kitchen Lights" in called.data["result"]
    assert called.data["execution_time_ms"] >= 0


@pytest.mark.usefixtures("local_agent")
async def test_questions_about_devices_are_not_actions(
    hass: HomeAssistant, ollama_server: OllamaTestServer
) -> None:
    """A state question answered from the live context is no claim of an action."""
    ollama_server.reply_always(ScriptedReply(content="Lampan i köket är släckt."))
    result = await converse(hass, "är lampan i köket tänd")
    assert speech(result) == "Lampan i köket är släckt."


async def test_the_cloud_cannot_claim_either(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """cloud_only: the cloud model says the light is on without calling a tool."""
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, **openai_connection(realtime_server)},
    )
    set_agent(hass, mock_config_entry, **{CONF_MODE: "cloud_only"})
    await async_setup(hass, mock_config_entry)
    realtime_server.add_rule(Reply(text="Klart! Lampan i förrådet lyser nu."))
    result = await converse(hass, STORE_ROOM)
    assert speech(result) == "Jag kunde inte göra det, det blev aldrig gjort."
