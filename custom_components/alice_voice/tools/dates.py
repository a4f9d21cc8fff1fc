"""Dates and times as the models write them, in Home Assistant's time zone.

Models send ISO 8601 ("2026-12-04T14:00:00", with or without an offset,
"2026-12-04 14:00", a bare date "2026-12-04") or repeat the user's words
("imorgon kl 14", "nästa tisdag halv tre", "tomorrow at 2 pm", "på fredag").
:func:`parse_when` reads all of them: ISO first, then the router's Swedish and
English phrase parser against Home Assistant's clock. Naive times are local
(``dt_util.get_default_time_zone()``); a date without a time stays a date
(a whole day). Anything else is a :class:`ToolError` the model can correct.

Free time (:func:`free_slots`) is plain interval arithmetic over local days.
"""

from collections.abc import Iterable
import datetime as dt
import re
from typing import Final

from homeassistant.util import dt as dt_util

from ..router.text import normalize_for_slots
from ..router.timeparse import parse_datetime
from . import ToolError

type When = dt.datetime | dt.date

BAD_DATE: Final = "calendar_bad_date"
END_BEFORE_START: Final = "calendar_end_before_start"
ONE_DAY: Final = dt.timedelta(days=1)

_ISO_DATE_START_RE: Final = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")
_CLOCK_RE: Final = re.compile(r"^\s*(?:kl\.?\s*|klockan\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*$", re.I)


def combine(date: dt.date, time: dt.time) -> dt.datetime:
    """``date`` at ``time`` in Home Assistant's time zone."""
    return dt.datetime.combine(date, time, tzinfo=dt_util.get_default_time_zone())


def start_of_day(date: dt.date) -> dt.datetime:
    """Local midnight at the start of ``date``."""
    return dt_util.start_of_local_day(date)


def as_datetime(when: When) -> dt.datetime:
    """A local datetime: a date means its midnight."""
    if isinstance(when, dt.datetime):
        return dt_util.as_local(when)
    return start_of_day(when)


def parse_when(value: str, *, now: dt.datetime, day: dt.date | None = None) -> When:
    """Read a date or date and time, resolved against ``now``.

    Args:
        value: ISO 8601 or a Swedish or English phrase.
        now: The current local time (relative phrases count from it).
        day: The date of a time given alone ("kl 15", "15:00"); default today.

    Returns:
        An aware local datetime, or a date when no time was given.

    Raises:
        ToolError: ``calendar_bad_date`` when nothing usable is in ``value``.
    """
    text = value.strip()
    if (date := dt_util.parse_date(text)) is not None:
        return date
    try:
        parsed = dt_util.parse_datetime(text)
    except ValueError:  # "2026-02-30T10:00"
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt_util.get_default_time_zone())
        return dt_util.as_local(parsed)
    if not _ISO_DATE_START_RE.match(text):  # a broken ISO date must not become "today"
        found = parse_datetime(normalize_for_slots(text), now)
        if found.time is not None:
            return combine(found.date or day or now.date(), found.time)
        if found.date is not None:
            return found.date
    raise ToolError(BAD_DATE, {"value": value})


def parse_clock(value: str) -> dt.time:
    """Read a clock time of day: "08:00", "8", "17.30", "kl 17"."""
    match = _CLOCK_RE.match(value)
    hour = int(match.group(1)) if match else 24
    minute = int(match.group(2) or 0) if match else 0
    if hour > 23 or minute > 59:
        raise ToolError(BAD_DATE, {"value": value})
    return dt.time(hour, minute)


def end_of_span(start: When, end: When | None, default: dt.timedelta) -> When:
    """The end of an event or range that starts at ``start``.

    A missing end is ``default`` later. For a timed start an end date means the
    end of that day; for an all-day start the end is the last day, inclusive
    (the result is the day after it, as calendars store it).

    Raises:
        ToolError: ``calendar_end_before_start`` unless the end is after the start.
    """
    if end is None:
        return start + default
    result: When
    if isinstance(start, dt.datetime):
        result = end if isinstance(end, dt.datetime) else start_of_day(end + ONE_DAY)
        later = result > start
    else:
        result = (end.date() if isinstance(end, dt.datetime) else end) + ONE_DAY
        later = result > start
    if not later:
        raise ToolError(END_BEFORE_START, {"start": format_when(start), "end": format_when(end)})
    return result


def format_when(when: When) -> str:
    """``2026-12-04 14:00`` (local) or ``2026-12-04``."""
    if isinstance(when, dt.datetime):
        return dt_util.as_local(when).strftime("%Y-%m-%d %H:%M")
    return when.isoformat()


def format_span(start: When, end: When) -> str:
    """``2026-12-04 14:00–15:00``, ``2026-12-04`` (all day) or the two ends."""
    if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
        start_day = start if not isinstance(start, dt.datetime) else start.date()
        last = (end if not isinstance(end, dt.datetime) else end.date()) - ONE_DAY
        if last <= start_day:
            return start_day.isoformat()
        return f"{start_day.isoformat()}–{last.isoformat()}"
    local_start, local_end = dt_util.as_local(start), dt_util.as_local(end)
    if local_start.date() == local_end.date():
        return f"{format_when(local_start)}–{local_end.strftime('%H:%M')}"
    return f"{format_when(local_start)} – {format_when(local_end)}"


def day_of(when: When) -> dt.date:
    """The (local) date of ``when``."""
    return dt_util.as_local(when).date() if isinstance(when, dt.datetime) else when


def parse_range(
    start_text: str | None,
    end_text: str | None,
    *,
    now: dt.datetime,
    timed_default: dt.timedelta | None,
    longest: dt.timedelta,
) -> tuple[dt.datetime, dt.datetime]:
    """A range to search, from ``start_text`` (default ``now``) to ``end_text``.

    Without an end: a date's whole day; a start time plus ``timed_default``
    (None: to the end of its day). An end date includes that whole day. The
    range is cut to at most ``longest``.
    """
    start = parse_when(start_text, now=now) if start_text else now
    end = parse_when(end_text, now=now, day=day_of(start)) if end_text else None
    if end is None and isinstance(start, dt.datetime):
        last = start + timed_default if timed_default else start_of_day(day_of(start) + ONE_DAY)
    else:
        last = as_datetime(end_of_span(start, end, ONE_DAY))
    first = as_datetime(start)
    return first, min(last, first + longest)


def calendar_value(value: str) -> When:
    """A start or end as ``calendar.get_events`` returns it: ISO datetime or date."""
    if "T" in value and (parsed := dt_util.parse_datetime(value)) is not None:
        return dt_util.as_local(parsed)
    date = dt_util.parse_date(value)
    if date is None:
        raise ToolError(BAD_DATE, {"value": value})
    return date


def free_slots(
    busy: Iterable[tuple[dt.datetime, dt.datetime]],
    start: dt.datetime,
    end: dt.datetime,
    *,
    day_start: dt.time,
    day_end: dt.time,
    minimum: dt.timedelta,
    limit: int,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The gaps of at least ``minimum`` between ``busy`` times, within working hours.

    Args:
        busy: Busy intervals (any order, may overlap).
        start: The start of the range searched.
        end: The end of the range searched.
        day_start: Working hours begin, each local day.
        day_end: Working hours end, each local day.
        minimum: The shortest gap worth returning.
        limit: Stop after this many gaps.
    """
    intervals = sorted(busy)
    slots: list[tuple[dt.datetime, dt.datetime]] = []
    day = dt_util.as_local(start).date()
    while day <= dt_util.as_local(end).date() and len(slots) < limit:
        cursor = max(start, combine(day, day_start))
        window_end = min(end, combine(day, day_end))
        for busy_start, busy_end in intervals:
            if busy_end <= cursor or busy_start >= window_end:
                continue
            if busy_start - cursor >= minimum:
                slots.append((cursor, busy_start))
            cursor = max(cursor, busy_end)
        if window_end - cursor >= minimum:
            slots.append((cursor, window_end))
        day += ONE_DAY
    return slots[:limit]
