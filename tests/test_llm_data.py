"""What a model gets for a turn: the tools and the context its intent needs (llm_data.py)."""

from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
from homeassistant.util.json import JsonObjectType
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.alice_voice.const import CONF_MODE, DOMAIN
from custom_components.alice_voice.events import EVENT_RESPONSE
from custom_components.alice_voice.llm_data import (
    Family,
    device_overview,
    focus_tools,
    tool_family,
    wants_live_context,
)
from custom_components.alice_voice.router import Intent
from simulators.ollama import OllamaTestServer

from .common import async_setup, converse, set_agent


class _Tool(llm.Tool):
    parameters = probatio.Schema({})

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = None

    async def async_call(
        self, hass: object, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> JsonObjectType:
        return {}


NAMES = (
    "homeassistant__GetLiveContext",
    "intent__HassTurnOn",
    "light__HassLightSet",
    "intent__HassStartTimer",
    "calendar__get_events",
    "todo__get_items",
    "llm__GetDateTime",
    "media_player__search_media",
    "intent__HassMediaPause",
    "intent__HassSetVolume",
    "alice_voice__calendar_create_event",
    "alice_voice__mail_send",
    "alice_voice__music_play",
    "script__boka_mote",  # the user's own script
    "script__calendar_sync",  # a script whose name sounds like a family
    "weatherbot__forecast",  # another integration's tool
)
TOOLS = [_Tool(name) for name in NAMES]
ALWAYS = {"llm__GetDateTime", "script__boka_mote", "script__calendar_sync", "weatherbot__forecast"}
CALENDAR = {"calendar__get_events", "todo__get_items", "alice_voice__calendar_create_event"}
MEDIA = {
    "media_player__search_media",
    "intent__HassMediaPause",
    "intent__HassSetVolume",
    "alice_voice__music_play",
}
DEVICES = {"intent__HassTurnOn", "light__HassLightSet", "intent__HassStartTimer"}


def _names(intent: Intent | None) -> set[str]:
    return {tool.name for tool in focus_tools(intent, TOOLS)}


def test_calendar_turns_keep_calendars_and_what_focus_cannot_judge() -> None:
    """Calendar and planning: calendar tools, and the user's scripts and others' tools."""
    assert _names(Intent.CALENDAR_QUERY) == CALENDAR | ALWAYS
    assert _names(Intent.TASK_PLANNING) == CALENDAR | ALWAYS
    assert _names(Intent.CALENDAR_CREATE) == CALENDAR | ALWAYS
    assert _names(Intent.CALENDAR_COMPLEX) == CALENDAR | ALWAYS | {"alice_voice__mail_send"}


def test_mail_music_and_devices() -> None:
    """Mail, music and device commands each keep their family."""
    assert _names(Intent.EMAIL_SEND) == ALWAYS | {"alice_voice__mail_send"}
    assert _names(Intent.SPOTIFY_SEARCH) == MEDIA | ALWAYS | {"homeassistant__GetLiveContext"}
    assert _names(Intent.DEVICE_CONTROL) == (
        DEVICES | MEDIA | ALWAYS | {"homeassistant__GetLiveContext"}
    )


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("assist__intent__HassTurnOn", Family.DEVICES),  # a merged API's namespaced name
        ("homeassistant__GetLiveContext", Family.LIVE),
        ("alice_voice__music_search", Family.MEDIA),
        ("script__boka_mote", None),
        ("google_mail__search", None),
    ],
)
def test_tool_family(name: str, family: Family | None) -> None:
    assert tool_family(name) is family


@pytest.mark.parametrize(
    "intent", [None, Intent.UNKNOWN, Intent.MULTI_STEP_WORKFLOW, Intent.GREETING]
)
def test_unsure_or_broad_keeps_everything(intent: Intent | None) -> None:
    """Unknown, multi-step and anything unlisted: every tool."""
    assert _names(intent) == set(NAMES)


def test_never_leaves_no_tools() -> None:
    """A focus that would drop every tool keeps them all rather than none."""
    only_devices = [_Tool("intent__HassTurnOn")]
    assert [t.name for t in focus_tools(Intent.EMAIL_SEND, only_devices)] == ["intent__HassTurnOn"]


@pytest.mark.parametrize(
    ("intent", "slots", "wanted"),
    [
        (Intent.DEVICE_CONTROL, {"action": "query"}, True),
        (Intent.DEVICE_CONTROL, {"action": None}, True),
        (Intent.DEVICE_CONTROL, {}, True),
        (Intent.DEVICE_CONTROL, {"action": "turn_on"}, False),
        (Intent.WEATHER, {}, True),
        (Intent.CALENDAR_QUERY, {}, False),
        (Intent.UNKNOWN, {}, False),
    ],
)
def test_wants_live_context(intent: Intent, slots: dict[str, object], wanted: bool) -> None:
    """State questions and weather get the live context; commands and calendars do not."""
    assert wants_live_context(intent, slots) is wanted


# --- Home Assistant's device overview: the one internal Alice relies on -----------------


async def test_device_overview_is_where_alice_expects_it(
    hass: HomeAssistant, demo_home: dict[str, str]
) -> None:
    """The Assist API's prompt holds the overview Alice cuts out, verbatim.

    If this fails after a Home Assistant upgrade, the Assist prompt is built
    differently: calendar and mail turns would get the whole device list again
    and state questions would not get the live context up front. Fix
    ``llm_data.device_overview`` before anything else.
    """
    assert await async_setup_component(hass, "llm", {})
    context = llm.LLMContext(
        platform=DOMAIN, context=None, language="sv", assistant="conversation", device_id=None
    )
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)
    overview = device_overview(hass, context)
    assert overview is not None
    assert "Kitchen Lights" in overview
    assert overview in api.api_prompt
    assert api.api_prompt.replace(overview, "", 1).count("Kitchen Lights") == 0


# --- end to end: what the local model receives --------------------------------------------


def _tool_names(body: dict[str, Any]) -> set[str]:
    return {tool["function"]["name"] for tool in body.get("tools", [])}


@pytest.mark.parametrize(
    ("text", "has_devices"),
    [
        # Sure of a calendar question: no device tools, no device overview.
        ("vad har jag i kalendern imorgon", False),
        # Unknown: everything.
        ("plopp zibbe fnurg", True),
    ],
)
async def test_think_path_gets_only_the_tools_it_needs(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    text: str,
    has_devices: bool,
) -> None:
    """The local model gets the tools and context of the routed intent, and no more."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    await converse(hass, text)
    body = ollama_server.chat_requests[0].body
    tools = _tool_names(body)
    system = body["messages"][0]["content"]
    assert "llm__GetDateTime" in tools
    assert ("intent__HassTurnOn" in tools) is has_devices
    assert ("homeassistant__GetLiveContext" in tools) is has_devices
    assert ("Static Context" in system) is has_devices
    assert ("Kitchen Lights" in system) is has_devices
    assert system.startswith("Du är Alice")


async def test_device_command_on_the_think_path_keeps_device_tools(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A device command HA's intents miss reaches the model with the device tools."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    await converse(hass, "tänd lampan i förrådet")  # no such area: HA's intents miss
    body = ollama_server.chat_requests[0].body
    assert "intent__HassTurnOn" in _tool_names(body)
    assert "calendar__get_events" not in _tool_names(body)
    assert "Static Context" in body["messages"][0]["content"]


async def test_state_question_gets_the_live_context_up_front(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A question about the home's state reaches the model with the live state in it."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    events = async_capture_events(hass, EVENT_RESPONSE)
    await converse(hass, "vilka lampor har jag glömt att släcka")
    (first, *_) = ollama_server.chat_requests
    messages = first.body["messages"]
    system = messages[0]["content"]
    assert "Static Context" not in system  # the live context takes its place
    assert "Live Context" in system
    assert "Kitchen Lights" in system
    assert "state: 'off'" in system or "state: off" in system
    # The question comes last, after a system prompt that changes only with the states.
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "homeassistant__GetLiveContext" in events[0].data["tools"]


@pytest.mark.parametrize("agent_overrides", [{"llm_hass_api": ["no_such_api"]}])
async def test_missing_llm_api_is_said_plainly(
    hass: HomeAssistant, ollama_server: OllamaTestServer, agent_id: str
) -> None:
    """Tools that are gone (an API removed since) get a Swedish message, not a crash."""
    result = await converse(hass, "vad har jag i kalendern imorgon")
    assert "Verktygen som Alice ska använda finns inte" in str(
        result.response.speech["plain"]["speech"]
    )
    assert ollama_server.chat_requests == []


async def test_overview_stays_out_when_the_home_changes(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A device exposed between two calendar turns is left out of the second one too."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    await converse(hass, "vad har jag i kalendern imorgon")
    async_expose_entity(hass, "conversation", demo_home["garage"], True)
    await converse(hass, "vad har jag i kalendern på fredag")
    for request in ollama_server.chat_requests:
        system = request.body["messages"][0]["content"]
        assert "Kitchen Lights" not in system
        assert "Garage Door" not in system
