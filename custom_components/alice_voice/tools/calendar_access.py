"""How Alice's calendar tools reach Home Assistant's calendars.

Everything goes through Home Assistant's calendar integration, so local,
Google and CalDAV calendars work alike:

* :func:`exposed_calendars` lists the calendars exposed to the assistant
  (only those are read or written); :func:`chosen_calendars` and
  :func:`bookable_calendar` pick the ones a tool call names, or the default.
* :func:`async_read_events` reads events with ``calendar.get_events``.
* Home Assistant has no service that changes an event, so
  :func:`async_update_event` does what the ``calendar/event/update`` websocket
  command does, through the calendar entity (:func:`calendar_entity` is the
  one place that reaches it).

Every failure is a translated :class:`~.ToolError` the model can act on.
"""

from dataclasses import dataclass
import datetime as dt
from operator import attrgetter
from typing import Any, cast

from homeassistant.components import conversation
from homeassistant.components.calendar import WEBSOCKET_EVENT_SCHEMA, CalendarEntity, CalendarEvent
from homeassistant.components.calendar.const import (
    DATA_COMPONENT,
    DOMAIN as CALENDAR_DOMAIN,
    EVENT_DESCRIPTION,
    EVENT_END,
    EVENT_END_DATETIME,
    EVENT_LOCATION,
    EVENT_START,
    EVENT_START_DATETIME,
    EVENT_SUMMARY,
    SERVICE_GET_EVENTS,
    CalendarEntityFeature,
)
from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.const import ATTR_ENTITY_ID, ATTR_SUPPORTED_FEATURES, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, intent, llm
import probatio

from ..models import current_turn
from . import ToolError
from .dates import ONE_DAY, When, as_datetime, calendar_value, format_span, format_when


@dataclass(frozen=True, slots=True)
class Calendar:
    """A calendar entity exposed to the assistant."""

    entity_id: str
    name: str
    names: frozenset[str]  # the name and aliases, case-folded
    features: int

    def supports(self, feature: CalendarEntityFeature) -> bool:
        """Whether the calendar can create or update events."""
        return bool(self.features & feature)

    def matches(self, wanted: str) -> bool:
        """Whether ``wanted`` is this calendar's name, an alias or its entity id."""
        key = wanted.strip().casefold()
        return key in self.names or self.entity_id in {key, f"{CALENDAR_DOMAIN}.{key}"}


@dataclass(frozen=True, slots=True)
class Event:
    """An event on a calendar."""

    calendar: Calendar
    summary: str
    start: When
    end: When
    location: str | None = None
    description: str | None = None

    @property
    def all_day(self) -> bool:
        """Whether the event lasts whole days."""
        return not isinstance(self.start, dt.datetime)

    def as_dict(self) -> dict[str, Any]:
        """The event for the model; an all-day event ends on its last day."""
        end = max(self.start, self.end - ONE_DAY) if self.all_day else self.end
        data: dict[str, Any] = {
            "calendar": self.calendar.name,
            "summary": self.summary,
            "start": format_when(self.start),
            "end": format_when(end),
            "all_day": self.all_day,
        }
        if self.location:
            data["location"] = self.location
        return data

    def text(self) -> str:
        """``2026-12-04 14:00–15:00 Möte med Anna (Arbete)``."""
        return f"{format_span(self.start, self.end)} {self.summary} ({self.calendar.name})"


@callback
def exposed_calendars(hass: HomeAssistant, llm_context: llm.LLMContext) -> list[Calendar]:
    """The available calendars exposed to the assistant, by name."""
    assistant = llm_context.assistant or conversation.DOMAIN
    registry = er.async_get(hass)
    calendars: list[Calendar] = []
    for state in sorted(hass.states.async_all(CALENDAR_DOMAIN), key=attrgetter("name")):
        if state.state == STATE_UNAVAILABLE or not async_should_expose(
            hass, assistant, state.entity_id
        ):
            continue
        aliases = intent.async_get_entity_aliases(
            hass, registry.async_get(state.entity_id), state=state
        )
        calendars.append(
            Calendar(
                entity_id=state.entity_id,
                name=state.name,
                names=frozenset(name.casefold() for name in (state.name, *aliases)),
                features=int(state.attributes.get(ATTR_SUPPORTED_FEATURES, 0)),
            )
        )
    return calendars


def _listed(calendars: list[Calendar]) -> str:
    return ", ".join(calendar.name for calendar in calendars)


def _pick(calendars: list[Calendar], wanted: str) -> Calendar:
    for calendar in calendars:
        if calendar.matches(wanted):
            return calendar
    raise ToolError("calendar_unknown", {"calendar": wanted, "calendars": _listed(calendars)})


def chosen_calendars(
    hass: HomeAssistant, llm_context: llm.LLMContext, wanted: str | list[str] | None
) -> list[Calendar]:
    """The calendars named in ``wanted``, else every exposed one."""
    if not (calendars := exposed_calendars(hass, llm_context)):
        raise ToolError("calendar_none")
    if not wanted:
        return calendars
    names = [wanted] if isinstance(wanted, str) else wanted
    return list(dict.fromkeys(_pick(calendars, name) for name in names))


def bookable_calendar(
    hass: HomeAssistant, llm_context: llm.LLMContext, wanted: str | None
) -> Calendar:
    """The calendar to book in: the named one, the agent's default, or the only one."""
    calendars = exposed_calendars(hass, llm_context)
    if wanted:
        calendar = _pick(calendars, wanted)
        if not calendar.supports(CalendarEntityFeature.CREATE_EVENT):
            raise ToolError("calendar_cannot_create", {"calendar": calendar.name})
        return calendar
    creatable = [c for c in calendars if c.supports(CalendarEntityFeature.CREATE_EVENT)]
    if (turn := current_turn()) is not None and turn.agent.default_calendar:
        for calendar in creatable:
            if calendar.entity_id == turn.agent.default_calendar:
                return calendar
    if len(creatable) == 1:
        return creatable[0]
    if not creatable:
        raise ToolError("calendar_none")
    raise ToolError("calendar_choose", {"calendars": _listed(creatable)})


async def async_read_events(
    hass: HomeAssistant,
    llm_context: llm.LLMContext,
    calendars: list[Calendar],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Event]:
    """The events of ``calendars`` between ``start`` and ``end``, in start order."""
    response = await hass.services.async_call(
        CALENDAR_DOMAIN,
        SERVICE_GET_EVENTS,
        {
            ATTR_ENTITY_ID: [calendar.entity_id for calendar in calendars],
            EVENT_START_DATETIME: start.isoformat(),
            EVENT_END_DATETIME: end.isoformat(),
        },
        blocking=True,
        return_response=True,
        context=llm_context.context,
    )
    results = cast("dict[str, dict[str, list[dict[str, Any]]]]", response)
    events = [
        Event(
            calendar=calendar,
            summary=str(item.get(EVENT_SUMMARY) or ""),
            start=calendar_value(item["start"]),
            end=calendar_value(item["end"]),
            location=item.get(EVENT_LOCATION),
            description=item.get(EVENT_DESCRIPTION),
        )
        for calendar in calendars
        for item in results[calendar.entity_id]["events"]
    ]
    return sorted(events, key=lambda event: as_datetime(event.start))


def calendar_entity(hass: HomeAssistant, entity_id: str) -> CalendarEntity | None:
    """The entity behind a calendar, found as ``calendar/event/update`` finds it.

    Home Assistant has no service to change an event; its websocket command
    calls the entity's ``async_update_event``. This is the one internal access.
    """
    return hass.data[DATA_COMPONENT].get_entity(entity_id)


async def async_update_event(
    entity: CalendarEntity, event: CalendarEvent, start: When, end: When
) -> None:
    """Give ``event`` new times, as the ``calendar/event/update`` websocket command does."""
    fields: dict[str, Any] = {EVENT_START: start, EVENT_END: end, EVENT_SUMMARY: event.summary}
    if event.description:
        fields[EVENT_DESCRIPTION] = event.description
    if event.location:
        fields[EVENT_LOCATION] = event.location
    try:
        await entity.async_update_event(
            cast("str", event.uid),
            WEBSOCKET_EVENT_SCHEMA(fields),
            recurrence_id=event.recurrence_id,
        )
    except (ValueError, probatio.Invalid) as err:  # what the websocket command catches
        raise ToolError("tool_failed", {"details": str(err)}) from err
