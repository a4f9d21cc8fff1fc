"""Calendar and weather slots: a date and time (see :mod:`.timeparse`), and who or where.

* calendar intents: the attendees ("med anna och erik", "with john") and the
  date and time, with the phrases as said;
* weather: the place ("i göteborg", "in paris") and the day.
"""

import datetime as dt
import re
from typing import Final

from .slot_phrases import is_area_phrase, take_name
from .slot_types import SlotContext, Slots
from .slot_words import WEATHER_NOT_LOCATION
from .timeparse import parse_datetime

_ATTENDEE_RES: Final = (
    re.compile(r"\b(?:med|me|with)\s+(.+)"),
    re.compile(
        r"\b(?:träffa|träffar|träffade|meet|meeting|see|seeing)\s+(?:jag\s+|vi\s+|i\s+|we\s+)?(.+)"
    ),
)
#: The place after a preposition; a lookahead, so "för väder i göteborg" also finds "i göteborg".
_WEATHER_LOCATION_RE: Final = re.compile(
    r"\b(?:i|in|för|for|på|at)\s+(?=([a-zåäöéü]+(?:\s+[a-zåäöéü]+)?))"
)


def _attendees(text: str) -> list[str]:
    for pattern in _ATTENDEE_RES:
        for match in pattern.finditer(text):
            rest = match.group(1)
            first = take_name(rest, max_tokens=1)
            if first is None:
                continue
            names = [first]
            tail = rest.split()[len(first.split()) :]
            while len(tail) >= 2 and tail[0] in {"och", "and", "samt"}:
                nxt = take_name(" ".join(tail[1:]), max_tokens=1)
                if nxt is None:
                    break
                names.append(nxt)
                tail = tail[1 + len(nxt.split()) :]
            return names
    return []


def calendar_slots(text: str, context: SlotContext) -> Slots:
    """Extract calendar slots (see the module docstring)."""
    found = parse_datetime(text, context.now)
    attendees = _attendees(text)
    slots: Slots = {
        "attendee": attendees[0] if attendees else None,
        "date": found.date.isoformat() if found.date else None,
        "time": found.time.strftime("%H:%M") if found.time else None,
        "datetime": None,
        "date_text": found.date_text,
        "time_text": found.time_text,
    }
    if found.date and found.time:
        moment = dt.datetime.combine(found.date, found.time, tzinfo=context.now.tzinfo)
        slots["datetime"] = moment.isoformat()
    if len(attendees) > 1:
        slots["attendees"] = list(attendees)
    if found.part_of_day:
        slots["part_of_day"] = found.part_of_day
    return slots


def weather_slots(text: str, context: SlotContext) -> Slots:
    """Extract the place and the day of a weather question."""
    found = parse_datetime(text, context.now)
    location: str | None = None
    for match in _WEATHER_LOCATION_RE.finditer(text):
        words = [word for word in match.group(1).split() if word not in WEATHER_NOT_LOCATION]
        phrase = match.group(1).split()
        if words and words == phrase[: len(words)] and phrase[0] not in WEATHER_NOT_LOCATION:
            candidate = " ".join(words)
            if not is_area_phrase(candidate) and candidate not in {"helgen", "weekend"}:
                location = candidate
                break
    return {"location": location, "date": found.date.isoformat() if found.date else None}
