"""Which tools and context the think path sends per intent (focus.py)."""

from homeassistant.components.homeassistant.llm import DYNAMIC_CONTEXT_PROMPT
from homeassistant.helpers import llm
import probatio
import pytest

from custom_components.alice_voice.focus import focus_prompt, focus_tools, wants_live_context


class _Tool(llm.Tool):
    parameters = probatio.Schema({})

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = None

    async def async_call(
        self, hass: object, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.JsonObjectType:
        return {}


NAMES = (
    "homeassistant__GetLiveContext",
    "intent__HassTurnOn",
    "light__HassLightSet",
    "calendar__get_events",
    "todo__get_items",
    "llm__GetDateTime",
    "media_player__HassMediaSearchAndPlay",
    "intent__HassMediaPause",
    "assist__google_mail__search",
)
TOOLS = [_Tool(name) for name in NAMES]


def _names(intent: str | None) -> set[str]:
    return {tool.name for tool in focus_tools(intent, TOOLS)}


def test_calendar_gets_calendar_tools() -> None:
    """Calendar and planning: calendar, to-do and date only."""
    expected = {"calendar__get_events", "todo__get_items", "llm__GetDateTime"}
    assert _names("CALENDAR_QUERY") == expected
    assert _names("TASK_PLANNING") == expected
    assert _names("CALENDAR_COMPLEX") == expected | {"assist__google_mail__search"}


def test_mail_music_and_devices() -> None:
    """Mail, music and device commands each get their family."""
    assert _names("EMAIL_SEND") == {"assist__google_mail__search", "llm__GetDateTime"}
    assert _names("SPOTIFY_SEARCH") == {
        "media_player__HassMediaSearchAndPlay",
        "intent__HassMediaPause",
        "homeassistant__GetLiveContext",
        "llm__GetDateTime",
    }
    assert _names("DEVICE_CONTROL") == set(NAMES) - {
        "calendar__get_events",
        "todo__get_items",
        "assist__google_mail__search",
    }


@pytest.mark.parametrize("intent", [None, "UNKNOWN", "MULTI_STEP_WORKFLOW", "GREETING"])
def test_unsure_or_broad_keeps_everything(intent: str | None) -> None:
    """Unknown, multi-step and anything unlisted: every tool."""
    assert _names(intent) == set(NAMES)


def test_never_leaves_no_tools() -> None:
    """A focus that matches nothing keeps all tools rather than none."""
    only_devices = [_Tool("intent__HassTurnOn")]
    assert [t.name for t in focus_tools("EMAIL_SEND", only_devices)] == ["intent__HassTurnOn"]


PROMPT = (
    "Du är Alice.\n"
    f"{DYNAMIC_CONTEXT_PROMPT}\n"
    "Static Context: An overview of the areas and the devices in this smart home:\n"
    "- names: Kitchen Lights\n"
    "  domain: light\n"
    "  areas: Kök\n"
    "- names: Front Door\n"
    "  domain: lock\n"
    "\n"
    "When controlling Home Assistant always call the intent tools."
)


def test_prompt_loses_the_device_overview_when_not_needed() -> None:
    """Calendar turns drop the overview; device and unknown turns keep it."""
    trimmed = focus_prompt("CALENDAR_QUERY", PROMPT)
    assert "Kitchen Lights" not in trimmed
    assert "Static Context" not in trimmed
    assert trimmed.startswith("Du är Alice.\n")
    assert trimmed.endswith("When controlling Home Assistant always call the intent tools.")
    assert focus_prompt("DEVICE_CONTROL", PROMPT) == PROMPT
    assert focus_prompt(None, PROMPT) == PROMPT
    assert focus_prompt("EMAIL_SEND", "no overview here") == "no overview here"


@pytest.mark.parametrize(
    ("intent", "slots", "wanted"),
    [
        ("DEVICE_CONTROL", {"action": "query"}, True),
        ("DEVICE_CONTROL", {"action": None}, True),
        ("DEVICE_CONTROL", {}, True),
        ("DEVICE_CONTROL", {"action": "turn_on"}, False),
        ("WEATHER", {}, True),
        ("CALENDAR_QUERY", {}, False),
        (None, {}, False),
    ],
)
def test_wants_live_context(intent: str | None, slots: dict[str, object], wanted: bool) -> None:
    """State questions and weather get the live context; commands and calendars do not."""
    assert wants_live_context(intent, slots) is wanted
