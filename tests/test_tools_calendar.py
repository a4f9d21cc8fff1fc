"""Alice's calendar tools on real Home Assistant calendars.

The calendars are ``local_calendar`` entries (their .ics files in the test's
temporary folder) and the ``demo`` calendars (which cannot create or change
events). The tools are called through the public tool API
(``Tool.async_call`` with an ``llm.LLMContext``) and, once the ``llm`` platform
is in the tree, by the simulated local model in an Alice turn. What they did
is read back with ``calendar.get_events``.

The clock stands at Thursday 2026-12-03 10:00 in Stockholm.
"""

from collections.abc import Iterator
from dataclasses import dataclass
import datetime as dt
import importlib.util
from pathlib import Path
from typing import Any, cast, override
from unittest.mock import patch
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.components.calendar.const import DATA_COMPONENT, CalendarEntityFeature
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_LLM_HASS_API, Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from homeassistant.util import dt as dt_util
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alice_voice.const import CONF_DEFAULT_CALENDAR, CONF_LANGUAGE
from custom_components.alice_voice.models import CURRENT_TURN, AgentConfig, Turn
from custom_components.alice_voice.tools import ToolError
from custom_components.alice_voice.tools.calendar import async_get_calendar_tools
from custom_components.alice_voice.tools.dates import (
    calendar_value,
    format_span,
    free_slots,
    parse_clock,
    parse_when,
)
from simulators.ollama import OllamaTestServer, ScriptedReply

from .common import async_setup, converse, set_agent, speech

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=STOCKHOLM)  # a Thursday
ARBETE = "calendar.arbete"
FAMILJ = "calendar.familj"
DEMO = "calendar.calendar_1"  # "Future Event" at 10:30-11:30, read only

FIND = "alice_voice__calendar_find_events"
CREATE = "alice_voice__calendar_create_event"
FREE = "alice_voice__calendar_free_slots"
MOVE = "alice_voice__calendar_move_event"


def local(day: int, hour: int, minute: int = 0) -> str:
    """An ISO time in December 2026, Stockholm, as calendar.get_events writes it."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=STOCKHOLM).isoformat()


def context(language: str = "sv") -> llm.LLMContext:
    """An LLM context as another conversation agent builds it."""
    return llm.LLMContext(
        platform="test",
        context=Context(),
        language=language,
        assistant=conversation.DOMAIN,
        device_id=None,
    )


def tools(hass: HomeAssistant, language: str = "sv") -> dict[str, llm.Tool]:
    """The calendar tools offered now, by name."""
    return {tool.name: tool for tool in async_get_calendar_tools(hass, context(language))}


@dataclass(frozen=True, slots=True)
class Outcome:
    """A tool's result, its data as the JSON object it is."""

    error: bool
    data: dict[str, Any]


async def call_kept(
    hass: HomeAssistant, tool: llm.Tool, args: dict[str, Any], language: str = "sv"
) -> Outcome:
    """Call a tool the way an agent does."""
    result = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args=args), context(language)
    )
    assert isinstance(result, llm.ToolResult)
    return Outcome(result.error, dict(result.data))


async def call(hass: HomeAssistant, name: str, language: str = "sv", **args: Any) -> Outcome:
    """Call an offered calendar tool."""
    return await call_kept(hass, tools(hass, language)[name], args, language)


async def events(
    hass: HomeAssistant, entity_id: str, start: str = local(1, 0), end: str = local(31, 0)
) -> list[dict[str, Any]]:
    """The events of a calendar, read with Home Assistant's own service."""
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": entity_id, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    calendars = cast("dict[str, dict[str, list[dict[str, Any]]]]", response)
    return calendars[entity_id]["events"]


async def book(hass: HomeAssistant, entity_id: str, summary: str, start: str, end: str) -> None:
    """Put an event in a calendar with Home Assistant's own service."""
    times = (
        {"start_date_time": start, "end_date_time": end}
        if "T" in start
        else {"start_date": start, "end_date": end}
    )
    await hass.services.async_call(
        "calendar",
        "create_event",
        {"entity_id": entity_id, "summary": summary, **times},
        blocking=True,
    )


@pytest.fixture
async def clock(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Stockholm time, Thursday 2026-12-03 10:00."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to(NOW)


@pytest.fixture
def ics_folder(tmp_path: Path) -> Iterator[Path]:
    """Local calendars keep their .ics files in the test's own folder."""
    with patch(
        "homeassistant.components.local_calendar.STORAGE_PATH",
        str(tmp_path / "local_calendar.{key}.ics"),
    ):
        yield tmp_path


async def add_local_calendar(hass: HomeAssistant, name: str, *, expose: bool = True) -> str:
    """Set up a local calendar; return its entity id."""
    entry = MockConfigEntry(
        domain="local_calendar", data={"calendar_name": name, "storage_key": name.lower()}
    )
    entry.add_to_hass(hass)
    await async_setup(hass, entry)
    entity_id = f"calendar.{name.lower()}"
    assert hass.states.get(entity_id) is not None
    async_expose_entity(hass, conversation.DOMAIN, entity_id, expose)
    return entity_id


async def add_demo_calendars(hass: HomeAssistant) -> None:
    """The demo calendars: read only; Calendar 1 is exposed."""
    entry = MockConfigEntry(domain="demo")
    entry.add_to_hass(hass)
    with patch(
        "homeassistant.components.demo.COMPONENTS_WITH_CONFIG_ENTRY_DEMO_PLATFORM",
        [Platform.CALENDAR],
    ):
        await async_setup(hass, entry)
    async_expose_entity(hass, conversation.DOMAIN, DEMO, True)


@pytest.fixture
async def arbete(hass: HomeAssistant, setup_ha: None, clock: None, ics_folder: Path) -> str:
    """One exposed local calendar, Arbete."""
    return await add_local_calendar(hass, "Arbete")


@pytest.fixture
async def two_calendars(hass: HomeAssistant, arbete: str) -> tuple[str, str]:
    """Arbete and Familj, both exposed."""
    return arbete, await add_local_calendar(hass, "Familj")


def message(result: Outcome) -> str:
    """The translated failure the model reads."""
    assert result.error is True, result.data
    return str(result.data["message"])


# --- which tools are offered ----------------------------------------------------------------


async def test_no_tools_without_an_exposed_calendar(
    hass: HomeAssistant, setup_ha: None, clock: None, ics_folder: Path
) -> None:
    assert tools(hass) == {}
    await add_local_calendar(hass, "Privat", expose=False)
    assert tools(hass) == {}

    await add_demo_calendars(hass)
    # Demo calendars can only be read: no booking, no moving.
    assert set(tools(hass)) == {FIND, FREE}

    await add_local_calendar(hass, "Arbete")
    offered = tools(hass)
    assert set(offered) == {FIND, FREE, CREATE, MOVE}
    # The calendars the model may name are in the parameter descriptions; Privat is not.
    schema = probatio.to_openapi(
        offered[CREATE].parameters,
        custom_serializer=llm.selector_serializer,
        openapi_version="3.1.0",
    )
    assert "Arbete, Calendar 1." in schema["properties"]["calendar"]["description"]
    assert "Privat" not in str(schema)
    assert schema["required"] == ["summary", "start"]
    assert schema["properties"]["attendees"]["type"] == "array"
    assert schema["properties"]["all_day"]["type"] == "boolean"


async def test_unavailable_calendar_is_left_out(hass: HomeAssistant, arbete: str) -> None:
    state = hass.states.get(arbete)
    assert state is not None
    hass.states.async_set(arbete, "unavailable", state.attributes)
    assert tools(hass) == {}


async def test_tool_schemas_convert_for_the_models(hass: HomeAssistant, arbete: str) -> None:
    """Every parameter has a type and a description a small model can follow."""
    for tool in tools(hass).values():
        schema = probatio.to_openapi(
            tool.parameters, custom_serializer=llm.selector_serializer, openapi_version="3.1.0"
        )
        for name, spec in schema["properties"].items():
            assert spec["type"] in {"string", "integer", "boolean", "array"}, (tool.name, name)
            assert spec["description"], (tool.name, name)
        assert tool.description
        assert tool.integration == "alice_voice"


# --- booking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected_start", "expected_end"),
    [
        pytest.param("2026-12-04T14:00:00", local(4, 14), local(4, 15), id="iso-naive"),
        pytest.param("2026-12-04T14:00:00+01:00", local(4, 14), local(4, 15), id="iso-offset"),
        pytest.param("2026-12-04T13:00:00Z", local(4, 14), local(4, 15), id="iso-utc"),
        pytest.param("2026-12-04 14:00", local(4, 14), local(4, 15), id="iso-space"),
        pytest.param("imorgon kl 14", local(4, 14), local(4, 15), id="imorgon-kl-14"),
        pytest.param("tomorrow at 2 pm", local(4, 14), local(4, 15), id="tomorrow-2-pm"),
        pytest.param(
            "nästa tisdag halv tre", local(8, 14, 30), local(8, 15, 30), id="nasta-tisdag"
        ),
        pytest.param("på fredag", "2026-12-04", "2026-12-05", id="pa-fredag-all-day"),
        pytest.param("2026-12-04", "2026-12-04", "2026-12-05", id="date-all-day"),
    ],
)
async def test_booking_with_each_date_form(
    hass: HomeAssistant, arbete: str, start: str, expected_start: str, expected_end: str
) -> None:
    """Without an end, a meeting lasts an hour and a date alone a whole day."""
    result = await call(hass, CREATE, summary="Möte med Anna", start=start, attendees=["Anna"])

    assert result.error is False, result.data
    (event,) = await events(hass, arbete)
    assert event["summary"] == "Möte med Anna"
    assert (event["start"], event["end"]) == (expected_start, expected_end)
    assert event["description"] == "Deltagare: Anna"
    assert result.data["summary"].startswith("Booked 'Möte med Anna' ")
    assert result.data["summary"].endswith(" in Arbete")
    assert result.data["event"]["attendees"] == ["Anna"]


async def test_booking_summary_and_details(hass: HomeAssistant, arbete: str) -> None:
    """End, place, notes and attendees (also as one string) reach the calendar."""
    result = await call(
        hass,
        CREATE,
        language="en",
        summary="Planning",
        start="2026-12-04T14:00",
        end="kl 16",
        location="Kontoret",
        description="Bring the plan.",
        attendees="Anna, Bo",
        calendar="arbete",
    )

    assert result.data["summary"] == "Booked 'Planning' 2026-12-04 14:00–16:00 in Arbete"
    assert result.data["event"] == {
        "calendar": "Arbete",
        "summary": "Planning",
        "start": "2026-12-04 14:00",
        "end": "2026-12-04 16:00",
        "all_day": False,
        "location": "Kontoret",
        "attendees": ["Anna", "Bo"],
    }
    (event,) = await events(hass, arbete)
    assert event["end"] == local(4, 16)
    assert event["location"] == "Kontoret"
    assert event["description"] == "Bring the plan.\n\nAttendees: Anna, Bo"


async def test_all_day_booking_over_several_days(hass: HomeAssistant, arbete: str) -> None:
    """``all_day`` drops the time; an all-day end is the last day, inclusive."""
    result = await call(
        hass, CREATE, summary="Semester", start="2026-12-21T09:00", end="2026-12-23", all_day=True
    )

    assert result.data["summary"] == "Booked 'Semester' 2026-12-21–2026-12-23 in Arbete"
    (event,) = await events(hass, arbete)
    assert (event["start"], event["end"]) == ("2026-12-21", "2026-12-24")


async def test_several_calendars_and_none_chosen(
    hass: HomeAssistant, two_calendars: tuple[str, str]
) -> None:
    """The model is told to ask which calendar, with the choices, in the user's language."""
    result = await call(hass, CREATE, summary="Möte", start="imorgon kl 14")
    assert message(result) == (
        "Vilken kalender ska händelsen läggas i? Be användaren välja en av: Arbete, Familj. "
        "Anropa sedan verktyget igen med den kalendern."
    )
    assert result.data["error"] == "calendar_choose"

    result = await call(hass, CREATE, language="en", summary="Möte", start="imorgon kl 14")
    assert "choose one of: Arbete, Familj." in message(result)

    result = await call(hass, CREATE, summary="Möte", start="imorgon kl 14", calendar="Familj")
    assert result.error is False
    assert len(await events(hass, two_calendars[1])) == 1
    assert await events(hass, two_calendars[0]) == []


async def test_the_agents_default_calendar_in_an_alice_turn(
    hass: HomeAssistant, two_calendars: tuple[str, str]
) -> None:
    """In Alice's turn the agent's default calendar is used, and her language."""
    entry = MockConfigEntry(
        domain="alice_voice",
        subentries_data=[
            ConfigSubentryData(
                data={CONF_LANGUAGE: "en", CONF_DEFAULT_CALENDAR: FAMILJ},
                subentry_type="conversation",
                title="Alice",
                unique_id=None,
            )
        ],
    )
    agent = AgentConfig.from_subentry(next(iter(entry.subentries.values())))
    user_input = conversation.ConversationInput(
        text="boka",
        context=Context(),
        conversation_id=None,
        device_id=None,
        satellite_id=None,
        language="en",
        agent_id="conversation.alice",
    )
    token = CURRENT_TURN.set(
        Turn(agent=agent, entity_id="conversation.alice", user_input=user_input, key="test")
    )
    try:
        booked = await call(hass, CREATE, summary="Middag", start="imorgon kl 18", attendees=["Bo"])
        failed = await call(hass, CREATE, summary="Middag", start="snart")
        # A default calendar hidden from the assistant is not used: the user chooses.
        async_expose_entity(hass, conversation.DOMAIN, FAMILJ, False)
        await add_local_calendar(hass, "Jobb")
        choose = await call(hass, CREATE, summary="Middag", start="imorgon kl 18")
    finally:
        CURRENT_TURN.reset(token)

    assert booked.data["summary"] == "Booked 'Middag' 2026-12-04 18:00–19:00 in Familj"
    (event,) = await events(hass, FAMILJ)
    assert event["description"] == "Attendees: Bo"  # the agent speaks English
    assert message(failed).startswith('I could not read the date or time "snart".')
    assert choose.data["error"] == "calendar_choose"
    assert "choose one of: Arbete, Jobb." in message(choose)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            {"start": "imorgon kl 14", "calendar": "Hemma"},
            'Det finns ingen kalender som heter "Hemma". Kalendrarna är: Arbete, Calendar 1.',
            id="unknown-calendar",
        ),
        pytest.param(
            {"start": "imorgon kl 14", "end": "imorgon kl 13"},
            "Slutet (2026-12-04 13:00) måste vara efter starten (2026-12-04 14:00).",
            id="end-before-start",
        ),
        pytest.param(
            {"start": "2026-12-04", "end": "2026-12-02"},
            "Slutet (2026-12-02) måste vara efter starten (2026-12-04).",
            id="all-day-end-before-start",
        ),
        pytest.param(
            {"start": "någon gång"},
            'Jag kunde inte tolka datumet eller tiden "någon gång". Använd ISO 8601, '
            't.ex. 2026-12-04T14:00, eller ord som "imorgon kl 14".',
            id="unparseable",
        ),
        pytest.param(
            {"start": "2026-02-30T14:00"},
            'Jag kunde inte tolka datumet eller tiden "2026-02-30T14:00". Använd ISO 8601, '
            't.ex. 2026-12-04T14:00, eller ord som "imorgon kl 14".',
            id="impossible-iso-date",
        ),
        pytest.param(
            {"start": "imorgon kl 14", "calendar": "Calendar 1"},
            "Kalendern Calendar 1 kan inte ta emot nya händelser.",
            id="read-only-calendar",
        ),
    ],
)
async def test_booking_errors_are_translated(
    hass: HomeAssistant, arbete: str, args: dict[str, Any], expected: str
) -> None:
    await add_demo_calendars(hass)

    result = await call(hass, CREATE, summary="Möte", **args)

    assert message(result) == expected
    assert await events(hass, arbete) == []


async def test_invalid_arguments_are_reported(hass: HomeAssistant, arbete: str) -> None:
    result = await call(hass, CREATE, start="imorgon kl 14")
    assert result.data["error"] == "tool_invalid_arguments"


async def test_no_calendar_left_to_book_in(hass: HomeAssistant, arbete: str) -> None:
    """A tool kept from before the calendar went away says so, in the user's language."""
    tool, find = tools(hass)[CREATE], tools(hass)[FIND]
    async_expose_entity(hass, conversation.DOMAIN, arbete, False)

    result = await call_kept(hass, tool, {"summary": "Möte", "start": "kl 14"})
    assert message(result) == "Ingen kalender som jag får använda kan göra det."

    result = await call_kept(hass, find, {})
    assert result.data["error"] == "calendar_none"


# --- finding events -------------------------------------------------------------------------


async def test_find_events(hass: HomeAssistant, two_calendars: tuple[str, str]) -> None:
    await book(hass, ARBETE, "Möte med Anna", local(4, 14), local(4, 15))
    await book(hass, ARBETE, "Tandläkare", local(4, 8), local(4, 9))
    await book(hass, FAMILJ, "Julfest", "2026-12-04", "2026-12-05")
    await book(hass, FAMILJ, "Middag", local(5, 18), local(5, 20))
    await book(hass, ARBETE, "Frukostmöte", local(3, 8), local(3, 9))  # before now

    result = await call(hass, FIND, start="imorgon")

    assert result.error is False
    assert [e["summary"] for e in result.data["events"]] == [
        "Julfest",
        "Tandläkare",
        "Möte med Anna",
    ]
    assert result.data["events"][0] == {
        "calendar": "Familj",
        "summary": "Julfest",
        "start": "2026-12-04",
        "end": "2026-12-04",
        "all_day": True,
    }
    assert result.data["events"][2]["start"] == "2026-12-04 14:00"
    assert result.data["summary"] == (
        "3 events 2026-12-04 00:00 – 2026-12-05 00:00: 2026-12-04 Julfest (Familj); "
        "2026-12-04 08:00–09:00 Tandläkare (Arbete); "
        "2026-12-04 14:00–15:00 Möte med Anna (Arbete)"
    )

    # Default: from now, 24 hours; the breakfast meeting is over.
    result = await call(hass, FIND)
    assert (result.data["start"], result.data["end"]) == ("2026-12-03 10:00", "2026-12-04 10:00")
    assert [e["summary"] for e in result.data["events"]] == ["Julfest", "Tandläkare"]

    # One calendar, a text filter and an end date that includes its whole day.
    result = await call(
        hass, FIND, start="2026-12-04", end="2026-12-05", calendar="familj", query="MIDDAG"
    )
    assert [e["summary"] for e in result.data["events"]] == ["Middag"]
    assert result.data["end"] == "2026-12-06 00:00"

    result = await call(hass, FIND, start="i morgon", query="tandläkare")
    assert result.data["count"] == 1

    result = await call(hass, FIND, start="2026-12-20")
    assert result.data == {
        "start": "2026-12-20 00:00",
        "end": "2026-12-21 00:00",
        "count": 0,
        "events": [],
        "summary": "0 events 2026-12-20 00:00 – 2026-12-21 00:00",
    }


async def test_find_reads_only_exposed_calendars(hass: HomeAssistant, arbete: str) -> None:
    privat = await add_local_calendar(hass, "Privat", expose=False)
    await book(hass, privat, "Hemligt", local(4, 12), local(4, 13))
    await book(hass, arbete, "Möte", local(4, 14), local(4, 15))

    result = await call(hass, FIND, start="imorgon")
    assert [e["summary"] for e in result.data["events"]] == ["Möte"]

    result = await call(hass, FIND, start="imorgon", calendar="Privat")
    assert result.data["error"] == "calendar_unknown"
    assert "Kalendrarna är: Arbete." in message(result)


async def test_find_range_is_capped(hass: HomeAssistant, arbete: str) -> None:
    result = await call(hass, FIND, start="2026-12-04T08:00", end="2028-01-01")
    assert (result.data["start"], result.data["end"]) == ("2026-12-04 08:00", "2027-03-06 08:00")


# --- free time ------------------------------------------------------------------------------


async def test_free_slots_across_two_calendars(
    hass: HomeAssistant, two_calendars: tuple[str, str]
) -> None:
    await book(hass, ARBETE, "Standup", local(4, 9), local(4, 10))
    await book(hass, ARBETE, "Workshop", local(4, 13), local(4, 14, 30))
    await book(hass, FAMILJ, "Tandläkare", local(4, 11, 30), local(4, 12))
    await book(hass, FAMILJ, "Hämta barnen", local(4, 16), local(4, 17))
    await book(hass, FAMILJ, "Lucia", "2026-12-04", "2026-12-05")  # all day: not busy

    result = await call(hass, FREE, start="imorgon")

    assert result.error is False
    assert result.data["free_slots"] == [
        {"start": "2026-12-04 08:00", "end": "2026-12-04 09:00"},
        {"start": "2026-12-04 10:00", "end": "2026-12-04 11:30"},
        {"start": "2026-12-04 12:00", "end": "2026-12-04 13:00"},
        {"start": "2026-12-04 14:30", "end": "2026-12-04 16:00"},
        {"start": "2026-12-04 17:00", "end": "2026-12-04 18:00"},
    ]
    assert [e["summary"] for e in result.data["all_day_events"]] == ["Lucia"]
    assert result.data["calendars"] == ["Arbete", "Familj"]

    result = await call(hass, FREE, start="imorgon", duration_minutes="90")
    assert result.data["summary"] == "Free 2026-12-04 10:00–11:30, 2026-12-04 14:30–16:00"

    # Only Arbete, with other working hours.
    result = await call(
        hass, FREE, start="imorgon", calendars=["Arbete"], day_start="07:30", day_end="kl 15"
    )
    assert result.data["free_slots"] == [
        {"start": "2026-12-04 07:30", "end": "2026-12-04 09:00"},
        {"start": "2026-12-04 10:00", "end": "2026-12-04 13:00"},
    ]


async def test_free_slots_default_to_the_rest_of_today(
    hass: HomeAssistant, arbete: str, freezer: FrozenDateTimeFactory
) -> None:
    await book(hass, arbete, "Lunch", local(3, 12), local(3, 13))
    freezer.move_to(NOW + dt.timedelta(minutes=7))

    result = await call(hass, FREE)

    assert result.data["free_slots"] == [
        {"start": "2026-12-03 10:15", "end": "2026-12-03 12:00"},
        {"start": "2026-12-03 13:00", "end": "2026-12-03 18:00"},
    ]

    # Several days, capped at ten slots.
    result = await call(hass, FREE, start="2026-12-07", end="2026-12-25")
    assert len(result.data["free_slots"]) == 10
    assert result.data["free_slots"][1] == {"start": "2026-12-08 08:00", "end": "2026-12-08 18:00"}


async def test_free_slots_errors_and_empty_results(hass: HomeAssistant, arbete: str) -> None:
    await book(hass, arbete, "Heldag", local(4, 7), local(4, 19))

    result = await call(hass, FREE, start="imorgon")
    assert result.data["free_slots"] == []
    assert result.data["summary"] == "No free time 2026-12-04 00:00 – 2026-12-05 00:00"

    result = await call(hass, FREE, start="igår")
    assert result.data["free_slots"] == []

    result = await call(hass, FREE, day_start="17:00", day_end="09:00")
    assert message(result) == "Slutet (09:00) måste vara efter starten (17:00)."

    result = await call(hass, FREE, day_start="25:00")
    assert result.data["error"] == "calendar_bad_date"

    result = await call(hass, FREE, day_start="efter lunch")
    assert result.data["error"] == "calendar_bad_date"

    result = await call(hass, FREE, calendars=["Arbete", "Jobb"])
    assert result.data["error"] == "calendar_unknown"

    result = await call(hass, FREE, duration_minutes=2)
    assert result.data["error"] == "tool_invalid_arguments"


# --- moving ---------------------------------------------------------------------------------


async def test_move_event(hass: HomeAssistant, two_calendars: tuple[str, str]) -> None:
    await book(hass, ARBETE, "Möte med Anna", local(4, 14), local(4, 15))
    await book(hass, ARBETE, "Möte med Anna och Bo", local(4, 9), local(4, 10))
    await book(hass, FAMILJ, "Möte med Anna", local(10, 14), local(10, 15))

    # A time alone keeps the day; the exact title and the nearest day win.
    result = await call(hass, MOVE, event="möte med anna", when="imorgon", new_start="kl 16")

    assert result.error is False, result.data
    assert result.data["summary"] == (
        "Moved 'Möte med Anna' from 2026-12-04 14:00–15:00 to 2026-12-04 16:00–17:00 in Arbete"
    )
    moved = [e for e in await events(hass, ARBETE) if e["summary"] == "Möte med Anna"]
    assert [(e["start"], e["end"]) for e in moved] == [(local(4, 16), local(4, 17))]

    # A date alone keeps the time; a new end changes the length. (Both ends come from
    # the same parser here: under freezegun, datetime.combine makes a FakeDatetime,
    # which Home Assistant's same-type check would tell from a parsed datetime.)
    result = await call(hass, MOVE, event="Anna och Bo", new_start="2026-12-07")
    assert result.error is False, result.data
    assert result.data["event"]["start"] == "2026-12-07 09:00"
    await call(
        hass, MOVE, event="Anna och Bo", new_start="2026-12-07T09:00", new_end="2026-12-07T11:30"
    )
    moved = [e for e in await events(hass, ARBETE) if e["summary"] == "Möte med Anna och Bo"]
    assert [(e["start"], e["end"]) for e in moved] == [(local(7, 9), local(7, 11, 30))]

    # Near a given time: the one in Familj next week.
    result = await call(
        hass, MOVE, event="Möte med Anna", when="2026-12-10T14:00", new_start="2026-12-11 08:00"
    )
    assert result.data["summary"].endswith("to 2026-12-11 08:00–09:00 in Familj")
    (event,) = await events(hass, FAMILJ)
    assert (event["start"], event["end"]) == (local(11, 8), local(11, 9))


async def test_move_all_day_event(hass: HomeAssistant, arbete: str) -> None:
    await book(hass, arbete, "Semester", "2026-12-21", "2026-12-23")

    result = await call(hass, MOVE, event="semester", new_start="2026-12-28", calendar="Arbete")
    assert result.data["event"] == {
        "calendar": "Arbete",
        "summary": "Semester",
        "start": "2026-12-28",
        "end": "2026-12-29",
        "all_day": True,
    }
    (event,) = await events(hass, arbete)
    assert (event["start"], event["end"]) == ("2026-12-28", "2026-12-30")

    # Given a time, it becomes an hour-long event.
    await call(hass, MOVE, event="semester", new_start="2026-12-28T09:00")
    (event,) = await events(hass, arbete)
    assert (event["start"], event["end"]) == (local(28, 9), local(28, 10))


async def test_move_keeps_notes_and_place(hass: HomeAssistant, arbete: str) -> None:
    await call(
        hass,
        CREATE,
        summary="Möte",
        start="imorgon kl 14",
        location="Kontoret",
        attendees=["Anna"],
    )

    await call(hass, MOVE, event="Möte", new_start="imorgon kl 15")

    (event,) = await events(hass, arbete)
    assert (event["start"], event["location"], event["description"]) == (
        local(4, 15),
        "Kontoret",
        "Deltagare: Anna",
    )


async def test_move_on_a_calendar_that_cannot_change_events(
    hass: HomeAssistant, arbete: str
) -> None:
    await add_demo_calendars(hass)

    result = await call(hass, MOVE, event="future event", new_start="kl 15")
    assert message(result) == "Kalendern Calendar 1 låter mig inte ändra dess händelser."

    result = await call(hass, MOVE, language="en", event="future event", new_start="kl 15")
    assert message(result) == "The calendar Calendar 1 does not let me change its events."


async def test_move_errors(hass: HomeAssistant, arbete: str) -> None:
    await book(hass, arbete, "Möte", local(4, 14), local(4, 15))
    # A calendar state without an entity behind it is skipped.
    hass.states.async_set("calendar.spoke", "off", {"friendly_name": "Spöke"})
    async_expose_entity(hass, conversation.DOMAIN, "calendar.spoke", True)

    result = await call(hass, MOVE, event="Lunch", new_start="kl 15")
    assert message(result) == (
        'Jag hittade ingen händelse som matchar "Lunch" mellan 2026-12-03 10:00 och '
        "2027-01-02 10:00."
    )

    result = await call(hass, MOVE, event="Möte", when="idag", new_start="kl 15")
    assert result.data["error"] == "calendar_event_not_found"

    result = await call(hass, MOVE, event="Möte", new_start="kl 13", new_end="kl 12")
    assert result.data["error"] == "calendar_end_before_start"

    result = await call(hass, MOVE, event="Möte", new_start="snart")
    assert result.data["error"] == "calendar_bad_date"
    (event,) = await events(hass, arbete)
    assert event["start"] == local(4, 14)


class BrokenCalendar(CalendarEntity):
    """A calendar whose changes fail the way a library error does."""

    _attr_name = "Trasig"
    _attr_supported_features = CalendarEntityFeature.UPDATE_EVENT

    @property
    @override
    def event(self) -> CalendarEvent | None:
        return None

    @override
    async def async_get_events(
        self, hass: HomeAssistant, start_date: dt.datetime, end_date: dt.datetime
    ) -> list[CalendarEvent]:
        start = NOW + dt.timedelta(hours=2)
        end = start + dt.timedelta(hours=1)
        return [
            CalendarEvent(start=start, end=end, summary="Möte", uid="m1"),
            CalendarEvent(start=start, end=end, summary="Lunch"),  # no uid: cannot change
        ]

    @override
    async def async_update_event(
        self,
        uid: str,
        event: dict[str, Any],
        recurrence_id: str | None = None,
        recurrence_range: str | None = None,
    ) -> None:
        raise ValueError("Recurrence not found")


async def test_move_fails_in_the_calendar(hass: HomeAssistant, arbete: str) -> None:
    await hass.data[DATA_COMPONENT].async_add_entities([BrokenCalendar()])
    async_expose_entity(hass, conversation.DOMAIN, "calendar.trasig", True)

    result = await call(hass, MOVE, event="Möte", new_start="kl 15", calendar="Trasig")
    assert message(result) == "Verktyget misslyckades: Recurrence not found."

    result = await call(hass, MOVE, event="Lunch", new_start="kl 15")
    assert message(result) == "Kalendern Trasig låter mig inte ändra dess händelser."


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-04T14:00:00", dt.datetime(2026, 12, 4, 14, tzinfo=STOCKHOLM)),
        ("2026-12-04T14:00:00-05:00", dt.datetime(2026, 12, 4, 20, tzinfo=STOCKHOLM)),
        ("2026-12-04", dt.date(2026, 12, 4)),
        ("imorgon kl 14", dt.datetime(2026, 12, 4, 14, tzinfo=STOCKHOLM)),
        ("Nästa tisdag halv tre", dt.datetime(2026, 12, 8, 14, 30, tzinfo=STOCKHOLM)),
        ("tomorrow at 2 pm", dt.datetime(2026, 12, 4, 14, tzinfo=STOCKHOLM)),
        ("på fredag", dt.date(2026, 12, 4)),
        ("15:30", dt.datetime(2026, 12, 3, 15, 30, tzinfo=STOCKHOLM)),
    ],
)
async def test_parse_when(
    hass: HomeAssistant, clock: None, text: str, expected: dt.datetime | dt.date
) -> None:
    parsed = parse_when(text, now=dt_util.now())
    assert parsed == expected
    assert isinstance(parsed, dt.datetime) == isinstance(expected, dt.datetime)
    if isinstance(parsed, dt.datetime):
        assert parsed.utcoffset() == dt.timedelta(hours=1)


async def test_time_alone_takes_the_given_day(hass: HomeAssistant, clock: None) -> None:
    assert parse_when("kl 9", now=dt_util.now(), day=dt.date(2026, 12, 24)) == dt.datetime(
        2026, 12, 24, 9, tzinfo=STOCKHOLM
    )


def test_clock_and_calendar_values() -> None:
    assert parse_clock("8") == dt.time(8)
    assert parse_clock("17.30") == dt.time(17, 30)
    assert parse_clock("klockan 9") == dt.time(9)
    with pytest.raises(ToolError):
        parse_clock("8:75")
    with pytest.raises(ToolError) as err:
        calendar_value("tomorrow")
    assert err.value.key == "calendar_bad_date"
    assert calendar_value("2026-12-04") == dt.date(2026, 12, 4)


async def test_spans_and_free_slots(hass: HomeAssistant, clock: None) -> None:
    start = dt.datetime(2026, 12, 4, 22, tzinfo=STOCKHOLM)
    assert (
        format_span(start, start + dt.timedelta(hours=3)) == "2026-12-04 22:00 – 2026-12-05 01:00"
    )
    assert format_span(dt.date(2026, 12, 4), dt.date(2026, 12, 4)) == "2026-12-04"

    day = dt.datetime(2026, 12, 4, tzinfo=STOCKHOLM)
    busy = [
        (day.replace(hour=10), day.replace(hour=12)),
        (day.replace(hour=11), day.replace(hour=13)),  # overlaps the first
        (day.replace(hour=6), day.replace(hour=7)),  # before working hours
    ]
    slots = free_slots(
        busy,
        day,
        day + dt.timedelta(days=2),
        day_start=dt.time(9),
        day_end=dt.time(17),
        minimum=dt.timedelta(hours=1),
        limit=10,
    )
    assert [(s.strftime("%d %H"), e.strftime("%d %H")) for s, e in slots] == [
        ("04 09", "04 10"),
        ("04 13", "04 17"),
        ("05 09", "05 17"),
    ]


# --- end to end through Alice ---------------------------------------------------------------


@pytest.mark.skipif(
    not importlib.util.find_spec("custom_components.alice_voice.llm"),
    reason="llm platform not yet in the tree",
)
async def test_booking_end_to_end(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
    ics_folder: Path,
) -> None:
    """ "hej alice boka möte med anna imorgon kl 14": the model books it, then finds it."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    arbete = await add_local_calendar(hass, "Arbete")
    await add_local_calendar(hass, "Familj")
    set_agent(
        hass,
        mock_config_entry,
        **{CONF_DEFAULT_CALENDAR: arbete, CONF_LLM_HASS_API: [llm.LLM_API_ASSIST]},
    )
    await async_setup(hass, mock_config_entry)
    ollama_server.add_rule(
        ScriptedReply(content="Jag har bokat mötet med Anna i morgon klockan 14."),
        user="boka",
        after_tool=True,
    )
    ollama_server.add_rule(
        ScriptedReply(
            tool_calls=[
                {
                    "name": CREATE,
                    "arguments": {
                        "summary": "Möte med Anna",
                        "start": "imorgon kl 14",
                        "attendees": ["Anna"],
                    },
                }
            ]
        ),
        user="boka",
    )
    ollama_server.add_rule(
        ScriptedReply(content="I morgon har du möte med Anna klockan 14."),
        user="vad har jag",
        after_tool=True,
    )
    ollama_server.add_rule(
        ScriptedReply(tool_calls=[{"name": FIND, "arguments": {"start": "imorgon"}}]),
        user="vad har jag",
    )

    result = await converse(hass, "hej alice boka möte med anna imorgon kl 14")

    assert speech(result) == "Jag har bokat mötet med Anna i morgon klockan 14."
    assert CREATE in ollama_server.chat_requests[0].tool_names
    tomorrow = dt_util.now().date() + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time(14), tzinfo=STOCKHOLM)
    (event,) = await events(
        hass, arbete, start.isoformat(), (start + dt.timedelta(days=1)).isoformat()
    )
    assert event["summary"] == "Möte med Anna"
    assert (event["start"], event["end"]) == (
        start.isoformat(),
        (start + dt.timedelta(hours=1)).isoformat(),
    )
    assert "Anna" in event["description"]

    result = await converse(hass, "vad har jag imorgon", result.conversation_id)

    assert speech(result) == "I morgon har du möte med Anna klockan 14."
    found = ollama_server.chat_requests[-1].tool_results[-1]
    assert "Möte med Anna" in str(found)
