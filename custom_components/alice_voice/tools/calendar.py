"""Calendar tools: find events, book, find free time and move, on any calendar entity.

The tools reach Home Assistant's calendars through :mod:`.calendar_access`
(exposed calendars, the calendar to use, reading and updating events);
booking itself is ``calendar.create_event``. Only calendars exposed to the
assistant are read or written; the tools are offered only when there is one
(booking and moving only when one of them can). Dates are read by
:mod:`.dates`; every failure is a translated :class:`~.ToolError` the model
can act on (ask which calendar, fix a date).
"""

import datetime as dt
from typing import Any, Final, cast, override

from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.components.calendar.const import (
    CREATE_EVENT_SERVICE,
    DOMAIN as CALENDAR_DOMAIN,
    EVENT_DESCRIPTION,
    EVENT_END_DATE,
    EVENT_END_DATETIME,
    EVENT_LOCATION,
    EVENT_START_DATE,
    EVENT_START_DATETIME,
    EVENT_SUMMARY,
    CalendarEntityFeature,
)
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, llm
from homeassistant.util import dt as dt_util
import probatio

from ..helpers import async_localized_message
from . import AliceTool, ToolError, tool_language
from .calendar_access import (
    Calendar,
    Event,
    async_read_events,
    async_update_event,
    bookable_calendar,
    calendar_entity,
    chosen_calendars,
    exposed_calendars,
)
from .dates import (
    ONE_DAY,
    as_datetime,
    combine,
    day_of,
    end_of_span,
    format_span,
    format_when,
    free_slots,
    parse_clock,
    parse_range,
    parse_when,
    start_of_day,
)

MAX_EVENTS: Final = 20
MAX_SLOTS: Final = 10
MAX_RANGE: Final = dt.timedelta(days=92)
MOVE_RANGE: Final = dt.timedelta(days=30)
ONE_HOUR: Final = dt.timedelta(hours=1)
READ_ONLY: Final = llm.ToolAnnotations(
    read_only=True, destructive=False, idempotent=True, open_world=False
)
NAMES: Final = probatio.All(cv.ensure_list, [cv.string])

# Parameter descriptions: short, with examples a small model can copy.
_FORMS: Final = "ISO 8601 ('2026-12-04T14:00', '2026-12-04') or the user's words"
_START: Final = f"Start of the range: {_FORMS} ('imorgon', 'nästa vecka'). Default: now."
_END: Final = "End of the range, same forms; a date includes that whole day."
_FIND_END: Final = f"{_END} Default: the end of the start day (24 h after a start time)."
_QUERY: Final = "Only events whose title, place or notes have these words, e.g. 'tandläkare'."
_BOOK_START: Final = f"Start: {_FORMS} ('imorgon kl 14'). A date alone books an all-day event."
_BOOK_END: Final = "End, same forms ('kl 15'); all-day: the last day. Default: start + 1 hour."
_NEW_START: Final = (
    f"New start: {_FORMS} ('fredag kl 10'). A time alone keeps the day, a date alone the time."
)
_WHEN: Final = "When the event is now, e.g. 'imorgon'. Default: the next 30 days."


def _calendar_help(names: list[str], default: str) -> str:
    return f"Calendar name or entity id, one of: {', '.join(names)}. Default: {default}."


def _has_words(query: str, *texts: str | None) -> bool:
    """Whether every word of ``query`` occurs in ``texts`` (case-insensitive)."""
    haystack = " ".join(text for text in texts if text).casefold()
    return all(word in haystack for word in query.casefold().split())


class FindEventsTool(AliceTool):
    """Events in a range, optionally in one calendar and matching a text."""

    name = "alice_voice__calendar_find_events"
    title = "Find calendar events"
    description = (
        "Find events in the user's calendars, e.g. 'what do I have tomorrow?', "
        "'when is the dentist?'. All-day events give their first and last day."
    )
    annotations = READ_ONLY

    def __init__(self, names: list[str]) -> None:
        """Describe the parameters with the calendars' ``names``."""
        self.parameters = probatio.Schema(
            {
                probatio.Optional("start", description=_START): cv.string,
                probatio.Optional("end", description=_FIND_END): cv.string,
                probatio.Optional("calendar", description=_calendar_help(names, "all")): cv.string,
                probatio.Optional("query", description=_QUERY): cv.string,
            }
        )

    @override
    async def async_run(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> dict[str, Any]:
        """Read the events of the chosen calendars."""
        calendars = chosen_calendars(hass, llm_context, args.get("calendar"))
        first, last = parse_range(
            args.get("start"),
            args.get("end"),
            now=dt_util.now(),
            timed_default=ONE_DAY,
            longest=MAX_RANGE,
        )
        events = await async_read_events(hass, llm_context, calendars, first, last)
        if query := args.get("query"):
            events = [e for e in events if _has_words(query, e.summary, e.location, e.description)]
        shown = events[:MAX_EVENTS]
        summary = f"{len(events)} events {format_when(first)} – {format_when(last)}"
        if shown:
            summary += ": " + "; ".join(event.text() for event in shown[:5])
        return {
            "start": format_when(first),
            "end": format_when(last),
            "count": len(events),
            "events": [event.as_dict() for event in shown],
            "summary": summary,
        }


class CreateEventTool(AliceTool):
    """Book an event."""

    name = "alice_voice__calendar_create_event"
    title = "Create a calendar event"
    description = (
        "Book a new event in a calendar. Without an end it lasts one hour (all-day: one "
        "day). Without a calendar the default is used; if the user must choose, the "
        "answer lists the calendars."
    )
    annotations = llm.ToolAnnotations(
        read_only=False, destructive=False, idempotent=False, open_world=False
    )

    def __init__(self, names: list[str]) -> None:
        """Describe the parameters with the calendars' ``names``."""
        self.parameters = probatio.Schema(
            {
                probatio.Required("summary", description="Title, e.g. 'Möte med Anna'."): cv.string,
                probatio.Required("start", description=_BOOK_START): cv.string,
                probatio.Optional("end", description=_BOOK_END): cv.string,
                probatio.Optional("all_day", description="True for all day."): cv.boolean,
                probatio.Optional("location", description="Where, e.g. 'Kontoret'."): cv.string,
                probatio.Optional("description", description="Notes."): cv.string,
                probatio.Optional("attendees", description="Names, e.g. ['Anna', 'Bo']."): NAMES,
                probatio.Optional(
                    "calendar", description=_calendar_help(names, "the default calendar")
                ): cv.string,
            }
        )

    @override
    async def async_run(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> dict[str, Any]:
        """Book the event with ``calendar.create_event``."""
        calendar = bookable_calendar(hass, llm_context, args.get("calendar"))
        now = dt_util.now()
        start = parse_when(args["start"], now=now)
        if args.get("all_day") and isinstance(start, dt.datetime):
            start = start.date()
        end_value = parse_when(args["end"], now=now, day=day_of(start)) if args.get("end") else None
        end = end_of_span(start, end_value, ONE_HOUR if isinstance(start, dt.datetime) else ONE_DAY)
        data: dict[str, Any] = {ATTR_ENTITY_ID: calendar.entity_id, EVENT_SUMMARY: args["summary"]}
        if location := args.get("location"):
            data[EVENT_LOCATION] = location
        notes = [args["description"]] if args.get("description") else []
        names = [part.strip() for name in args.get("attendees", []) for part in name.split(",")]
        if names := list(dict.fromkeys(name for name in names if name)):
            language = tool_language(llm_context)
            placeholders = {"names": ", ".join(names)}
            notes.append(
                await async_localized_message(hass, language, "calendar_attendees", placeholders)
            )
        if notes:
            data[EVENT_DESCRIPTION] = "\n\n".join(notes)
        timed = isinstance(start, dt.datetime)
        data[EVENT_START_DATETIME if timed else EVENT_START_DATE] = start.isoformat()
        data[EVENT_END_DATETIME if timed else EVENT_END_DATE] = end.isoformat()
        await hass.services.async_call(
            CALENDAR_DOMAIN, CREATE_EVENT_SERVICE, data, blocking=True, context=llm_context.context
        )
        event = Event(calendar, args["summary"], start, end, location)
        return {
            "event": {**event.as_dict(), "attendees": names},
            "summary": f"Booked '{event.summary}' {format_span(start, end)} in {calendar.name}",
        }


class FreeSlotsTool(AliceTool):
    """Free time across calendars, within working hours."""

    name = "alice_voice__calendar_free_slots"
    title = "Find free time"
    description = (
        "Find free time in the user's calendars within working hours, e.g. 'when am I "
        "free tomorrow?' or to suggest a meeting time. All-day events do not count as busy."
    )
    annotations = READ_ONLY

    def __init__(self, names: list[str]) -> None:
        """Describe the parameters with the calendars' ``names``."""
        calendars = f"Calendars to check, from: {', '.join(names)}. Default: all."
        duration = probatio.All(probatio.Coerce(int), probatio.Range(min=5, max=1440))
        self.parameters = probatio.Schema(
            {
                probatio.Optional("calendars", description=calendars): NAMES,
                probatio.Optional("start", description=_START): cv.string,
                probatio.Optional(
                    "end", description=f"{_END} Default: the end of the start day."
                ): (cv.string),
                probatio.Optional(
                    "duration_minutes", default=60, description="Shortest free time, minutes."
                ): duration,
                probatio.Optional("day_start", default="08:00", description="Day starts, HH:MM."): (
                    cv.string
                ),
                probatio.Optional("day_end", default="18:00", description="Day ends, HH:MM."): (
                    cv.string
                ),
            }
        )

    @override
    async def async_run(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> dict[str, Any]:
        """Subtract the busy times from the working hours of each day."""
        calendars = chosen_calendars(hass, llm_context, args.get("calendars"))
        day_start, day_end = parse_clock(args["day_start"]), parse_clock(args["day_end"])
        if day_end <= day_start:
            raise ToolError(
                "calendar_end_before_start", {"start": args["day_start"], "end": args["day_end"]}
            )
        now = dt_util.now()
        first, last = parse_range(
            args.get("start"), args.get("end"), now=now, timed_default=None, longest=MAX_RANGE
        )
        # Nothing in the past: from now on, starting on the next quarter hour.
        quarter = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=-now.minute % 15)
        first = max(first, quarter)
        events = (
            await async_read_events(hass, llm_context, calendars, first, last)
            if first < last
            else []
        )
        slots = free_slots(
            [(as_datetime(e.start), as_datetime(e.end)) for e in events if not e.all_day],
            first,
            last,
            day_start=day_start,
            day_end=day_end,
            minimum=dt.timedelta(minutes=args["duration_minutes"]),
            limit=MAX_SLOTS,
        )
        spans = ", ".join(format_span(start, end) for start, end in slots)
        return {
            "calendars": [calendar.name for calendar in calendars],
            "free_slots": [{"start": format_when(s), "end": format_when(e)} for s, e in slots],
            "all_day_events": [event.as_dict() for event in events if event.all_day],
            "summary": f"Free {spans}"
            if spans
            else f"No free time {format_when(first)} – {format_when(last)}",
        }


class MoveEventTool(AliceTool):
    """Move an event to a new time."""

    name = "alice_voice__calendar_move_event"
    title = "Move a calendar event"
    description = (
        "Move an existing calendar event to a new time. It keeps its length unless a new "
        "end is given."
    )
    annotations = llm.ToolAnnotations(
        read_only=False, destructive=True, idempotent=True, open_world=False
    )

    def __init__(self, names: list[str]) -> None:
        """Describe the parameters with the calendars' ``names``."""
        self.parameters = probatio.Schema(
            {
                probatio.Required("event", description="Words of its title, e.g. 'möte Anna'."): (
                    cv.string
                ),
                probatio.Required("new_start", description=_NEW_START): cv.string,
                probatio.Optional("new_end", description="Default: the same length."): cv.string,
                probatio.Optional("when", description=_WHEN): cv.string,
                probatio.Optional("calendar", description=_calendar_help(names, "all")): cv.string,
            }
        )

    @override
    async def async_run(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> dict[str, Any]:
        """Find the event nearest ``when`` and update it on its calendar."""
        calendars = chosen_calendars(hass, llm_context, args.get("calendar"))
        now = dt_util.now()
        when = parse_when(args["when"], now=now) if args.get("when") else None
        first = start_of_day(day_of(when)) if when is not None else now
        last = start_of_day(day_of(when) + ONE_DAY) if when is not None else now + MOVE_RANGE
        query = args["event"]
        found: list[tuple[Calendar, CalendarEntity, CalendarEvent]] = []
        for calendar in calendars:
            if (entity := calendar_entity(hass, calendar.entity_id)) is not None:
                found.extend(
                    (calendar, entity, event)
                    for event in await entity.async_get_events(hass, first, last)
                    if _has_words(query, event.summary)
                )
        if not found:
            placeholders = {"event": query, "start": format_when(first), "end": format_when(last)}
            raise ToolError("calendar_event_not_found", placeholders)
        target = when if isinstance(when, dt.datetime) else now
        calendar, entity, event = min(
            found,
            key=lambda item: (
                item[2].summary.casefold() != query.strip().casefold(),
                abs(item[2].start_datetime_local - target),
            ),
        )
        if not calendar.supports(CalendarEntityFeature.UPDATE_EVENT) or not event.uid:
            raise ToolError("calendar_cannot_update", {"calendar": calendar.name})
        start = parse_when(args["new_start"], now=now, day=day_of(event.start))
        if not event.all_day and not isinstance(start, dt.datetime):
            start = combine(start, event.start_datetime_local.time())
        length = cast("dt.timedelta", event.end - event.start)  # type: ignore[operator]
        if event.all_day and isinstance(start, dt.datetime):
            length = ONE_HOUR
        new_end = (
            parse_when(args["new_end"], now=now, day=day_of(start)) if args.get("new_end") else None
        )
        end = end_of_span(start, new_end, length)
        await async_update_event(entity, event, start, end)
        moved = Event(calendar, event.summary, start, end, event.location)
        return {
            "event": moved.as_dict(),
            "summary": f"Moved '{event.summary}' from {format_span(event.start, event.end)} "
            f"to {format_span(start, end)} in {calendar.name}",
        }


@callback
def async_get_calendar_tools(hass: HomeAssistant, llm_context: llm.LLMContext) -> list[llm.Tool]:
    """The calendar tools for ``llm_context``: none without an exposed calendar."""
    if not (calendars := exposed_calendars(hass, llm_context)):
        return []
    names = [calendar.name for calendar in calendars]
    tools: list[llm.Tool] = [FindEventsTool(names), FreeSlotsTool(names)]
    if any(c.supports(CalendarEntityFeature.CREATE_EVENT) for c in calendars):
        tools.append(CreateEventTool(names))
    if any(c.supports(CalendarEntityFeature.UPDATE_EVENT) for c in calendars):
        tools.append(MoveEventTool(names))
    return tools
