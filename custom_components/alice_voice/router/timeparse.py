"""Resolve Swedish and English date and time phrases against "now".

Input is text in the slot normal form (:func:`.text.normalize_for_slots`).
Both languages' patterns are tried (they barely overlap), so mixed input works.

Dates:

* relative days: "idag", "imorgon"/"i morgon"/"imorrn", "i övermorgon",
  "igår", "ikväll", "inatt", "i eftermiddag", "today", "tomorrow",
  "the day after tomorrow", "tonight", "yesterday", "om 3 dagar", "in 3 days";
* weekdays: "på fredag"/"fredag"/"on friday"/"this friday" is the next such day
  after today (today's own weekday means a week ahead); "nästa tisdag",
  "tisdag nästa vecka", "next tuesday" is that day in next (ISO) week;
  "i fredags", "förra fredagen", "last friday" is the previous one;
* "nästa vecka"/"next week" is next week's Monday, "i helgen"/"this weekend" the
  coming Saturday (today when it is already the weekend), "nästa helg"/"next
  weekend" next week's Saturday, "nästa månad"/"next month" the 1st of next month;
* calendar dates: "den femte december", "5 december", "den 5:e december",
  "december 5th", "5th of december", "dec 5", "5/12" (day/month), ISO
  "2026-12-05"; without a year the next such date from today on; "den 5:e",
  "the 5th": that day this month, or next month if it has passed.

Times:

* "kl 14", "klockan 14:30", "kl. 13.30", "klockan nio", "14:30", "at 3",
  "at 2:30 pm", "3 pm", "at five", "five o'clock", "noon", "midnight";
* as a recogniser writes them, without a colon: "kl 14 30", "klockan fjorton",
  "klockan fjorton trettio", "at two thirty", "2 30 pm"; bare "14 30" and
  "fjorton trettio" (an hour past noon: unmistakably a time);
* Swedish clock phrases: "halv tre" (2:30), "kvart över tre" (3:15), "kvart i fyra"
  (3:45), "fem i halv fyra" (3:25), "tio över fem" ...; English "half past two",
  "quarter past three", "quarter to four", "ten past five";
* a 12-hour reading ("halv tre", "at 3", "kl 7") is resolved by an explicit
  am/pm or part of day ("på morgonen", "bitti", "i eftermiddag", "ikväll",
  "in the morning", "tonight"...), else by preferring daytime: the reading that
  falls in 08:00-19:59 ("halv tre" -> 14:30, "kl 9" -> 09:00, "kl 7" -> 19:00).
"""

from collections.abc import Iterable
from dataclasses import dataclass
import datetime as dt
import re
from typing import Final

from .numbers import MONTHS, ORDINAL_WORDS, WEEKDAYS, ordinal_value, parse_number, word_number

_DAYTIME_START: Final = 8 * 60
_DAYTIME_END: Final = 20 * 60


@dataclass(frozen=True, slots=True)
class DateTimeMatch:
    """A resolved date and/or time and the phrases they came from."""

    date: dt.date | None = None
    time: dt.time | None = None
    date_text: str | None = None
    time_text: str | None = None
    part_of_day: str | None = None


def _alternation(words: Iterable[str]) -> str:
    """Return a regex alternation of ``words``, longest first."""
    return "|".join(sorted((re.escape(word) for word in words), key=len, reverse=True))


_MONTH: Final = _alternation(MONTHS)
_WEEKDAY: Final = _alternation(WEEKDAYS)
_ORDINAL_WORD: Final = _alternation(ORDINAL_WORDS)
_DAY_DIGITS: Final = r"\d{1,2}(?::?e|:?a|st|nd|rd|th)?"
_DAY: Final = rf"(?:{_DAY_DIGITS}|{_ORDINAL_WORD})"
_HOUR_WORDS: Final = [
    "ett",
    "en",
    "två",
    "tre",
    "fyra",
    "fem",
    "sex",
    "sju",
    "åtta",
    "nio",
    "tio",
    "elva",
    "tolv",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]
#: Hours past noon as said on a 24-hour clock ("klockan fjorton", "at fourteen thirty").
_AFTERNOON_HOUR_WORDS: Final = [
    "tretton",
    "fjorton",
    "femton",
    "sexton",
    "sjutton",
    "arton",
    "aderton",
    "nitton",
    "tjugo",
    "tjugoett",
    "tjugoen",
    "tjugotvå",
    "tjugotre",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "twenty-one",
    "twenty-two",
    "twenty-three",
]
_HOUR: Final = rf"(?:\d{{1,2}}|{_alternation([*_HOUR_WORDS, *_AFTERNOON_HOUR_WORDS])})"
#: Minutes said as a number after the hour ("fjorton trettio", "two forty five", "8 15").
_SPOKEN_MINUTE: Final = (
    r"(?:\d{2}|[a-zåäö]+(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine)\b)?)"
)
_MINUTE_WORDS: Final = _alternation(
    ("kvart", "quarter", "fem", "tio", "tjugo", "tjugofem", "five", "ten", "twenty", "twenty-five")
)
_DAY_ONLY_ORDINALS: Final = _alternation(
    word
    for word in ORDINAL_WORDS
    if word not in {"första", "förste", "andra", "andre", "first", "second"}
)
_UNIT_AFTER: Final = (
    r"(?!\s*(?:minut|timm|sekund|grad|procent|%|°|min\b|h\b|dag|vecko|år|"
    r"minute|hour|second|degree|percent|day|week|year))"
)

_RELATIVE_DAYS: Final[tuple[tuple[str, int, str | None], ...]] = (
    (r"(?:the\s+)?day\s+after\s+tomorrow", 2, None),
    (r"(?:i\s+)?över(?:morgon|morron|morrn|morn)", 2, None),
    (r"(?:i\s+)?förrgår|the\s+day\s+before\s+yesterday", -2, None),
    (r"(?:i\s*morgon|i\s*morron|i\s*morrn|i\s*morn)\s+bitti", 1, "morning"),
    (r"i\s*morgon|i\s*morron|i\s*morrn|i\s*morn|tomorrow|tmrw", 1, None),
    (r"i\s*dag|today", 0, None),
    (r"i\s*går|yesterday", -1, None),
    (r"i\s*kväll|ikväl|tonight|this\s+evening", 0, "evening"),
    (r"i\s*natt|tonight", 0, "night"),
    (r"i\s+eftermiddag|this\s+afternoon", 0, "afternoon"),
    (r"i\s+förmiddag|i\s+morse|this\s+morning", 0, "morning"),
)
_RELATIVE_RE: Final = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), offset, part) for pattern, offset, part in _RELATIVE_DAYS
)
_IN_DAYS_RE: Final = re.compile(
    r"\b(?:om|in)\s+(\w+)\s+(dagar|dag|days|day|veckor|vecka|weeks|week)\b"
)
_NEXT_WEEK_RE: Final = re.compile(r"\b(?:nästa\s+vecka|next\s+week|veckan\s+efter)\b")
_THIS_WEEK_RE: Final = re.compile(
    r"\b(?:den\s+här\s+veckan|denna\s+vecka|i\s+veckan|this\s+week)\b"
)
_WEEKEND_RE: Final = re.compile(
    r"\b(?:(nästa|next)\s+(?:helg|weekend)|i\s+helgen|till\s+helgen|på\s+helgen|"
    r"(?:this|the)\s+weekend|över\s+helgen)\b"
)
_NEXT_MONTH_RE: Final = re.compile(r"\b(?:nästa\s+månad|next\s+month)\b")
_WEEKDAY_NEXT_RE: Final = re.compile(
    rf"\b(?:nästa|next)\s+({_WEEKDAY})(?:en)?\b|\b({_WEEKDAY})(?:en)?\s+(?:nästa\s+vecka|next\s+week)\b"
)
_WEEKDAY_LAST_RE: Final = re.compile(
    rf"\bi\s+({_WEEKDAY})s\b|\b(?:förra|last)\s+({_WEEKDAY})(?:en)?\b"
)
_WEEKDAY_RE: Final = re.compile(
    rf"\b(?:(?:på|on|this|den\s+här|denna|nu\s+på)\s+)?({_WEEKDAY})(?:en)?\b"
)
_ISO_DATE_RE: Final = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DAY_MONTH_RE: Final = re.compile(
    rf"\b(?:(?:den|the|on\s+the)\s+)?({_DAY})\s+(?:of\s+)?({_MONTH})\b(?:\s+(\d{{4}})\b)?"
)
_MONTH_DAY_RE: Final = re.compile(rf"\b({_MONTH})\s+(?:the\s+)?({_DAY})\b(?:\s*(\d{{4}})\b)?")
_SLASH_DATE_RE: Final = re.compile(r"\b(\d{1,2})/(\d{1,2})\b(?!/)")
_DAY_ONLY_RE: Final = re.compile(
    rf"\b(?:den|the|on\s+the|for\s+the)\s+({_DAY_DIGITS}|{_DAY_ONLY_ORDINALS})\b{_UNIT_AFTER}"
)

_PARTS_OF_DAY: Final = (
    (
        re.compile(r"\b(?:på\s+morgonen|på\s+morron|bitti|förmiddag(?:en)?|morning)\b"),
        "morning",
    ),
    (
        re.compile(r"\b(?:eftermiddag(?:en)?|afternoon)\b"),
        "afternoon",
    ),
    (
        re.compile(r"\b(?:kväll(?:en)?|i\s*kväll|evening|tonight)\b"),
        "evening",
    ),
    (re.compile(r"\b(?:natt(?:en)?|i\s*natt|night)\b"), "night"),
)

_SV_REL_HALF_RE: Final = re.compile(
    rf"\b(?:(?:kl|klockan)\s+)?({_MINUTE_WORDS}|\d{{1,2}})\s+(över|i)\s+halv\s+({_HOUR})\b{_UNIT_AFTER}"
)
_SV_HALF_RE: Final = re.compile(rf"\b(?:(?:kl|klockan)\s+)?halv\s+({_HOUR})\b{_UNIT_AFTER}")
_REL_RE: Final = re.compile(
    rf"\b(?:(?:kl|klockan|at)\s+)?({_MINUTE_WORDS}|half)\s+(?:minutes\s+)?"
    rf"(över|i|past|after|to|before)\s+({_HOUR})\b{_UNIT_AFTER}"
    rf"|\b(?:(?:kl|klockan|at)\s+)?(\d{{1,2}})\s+(?:minuter\s+|minutes\s+)?"
    rf"(över|past|after)\s+({_HOUR})\b{_UNIT_AFTER}"
)
_CLOCK_DIGITS_RE: Final = re.compile(
    r"\b(?:kl\.?|klockan|at|by|around|vid|@)\s+(\d{1,2})(?:[:.](\d{2}))?(?:\s*(a\s*m|p\s*m|am|pm))?\b(?![.:]\d)"
    + _UNIT_AFTER
)
_AMPM_RE: Final = re.compile(r"\b(\d{1,2})(?:[:.\s](\d{2}))?\s*(am|pm|a\s*m|p\s*m)\b")
#: An hour and its minutes as said, without a colon: "kl 14 30", "klockan fjorton trettio",
#: "at two thirty"; or bare, when unmistakable: "14 30", "fjorton trettio".
_SPOKEN_CLOCK_RE: Final = re.compile(
    rf"\b(?:kl\.?|klockan|at|around|by|vid)\s+({_HOUR})\s+({_SPOKEN_MINUTE})"
    rf"(?:\s*(a\s*m|p\s*m|am|pm))?\b{_UNIT_AFTER}"
)
_BARE_CLOCK_RE: Final = re.compile(
    rf"(?<![\d.:/-])\b(\d{{1,2}}|{_alternation(_AFTERNOON_HOUR_WORDS)})\s+({_SPOKEN_MINUTE})\b"
    rf"(?![.:/-]?\d){_UNIT_AFTER}"
)
_CLOCK_WORD_RE: Final = re.compile(
    rf"\b(?:(?:kl|klockan|at|around|by)\s+({_HOUR})(?:\s+(?:o'?clock|oclock))?|({_HOUR})\s+(?:o'?clock|oclock))\b{_UNIT_AFTER}"
)
_HHMM_RE: Final = re.compile(r"\b([01]?\d|2[0-3])[:.]([0-5]\d)\b(?![.:]\d)")
_NOON_RE: Final = re.compile(r"\b(?:noon|midday|mitt\s+på\s+dagen|lunchtid)\b")
_MIDNIGHT_RE: Final = re.compile(r"\b(?:midnight|midnatt)\b")

_MINUTE_VALUES: Final = {
    "kvart": 15,
    "quarter": 15,
    "half": 30,
    "fem": 5,
    "tio": 10,
    "tjugo": 20,
    "tjugofem": 25,
    "five": 5,
    "ten": 10,
    "twenty": 20,
    "twenty-five": 25,
    "twenty five": 25,
}


def _hour_value(word: str) -> int | None:
    if word.isdigit():
        value = int(word)
        return value if 0 <= value <= 24 else None
    return word_number(word)


def _minute_value(word: str) -> int | None:
    if word in _MINUTE_VALUES:
        return _MINUTE_VALUES[word]
    if word.isdigit():
        value = int(word)
        return value if 0 < value < 60 else None
    return None


def _spoken_minute(phrase: str) -> tuple[int, str] | None:
    """Minutes 10-59 said after an hour ("trettio", "forty five", "05"), and the words used."""
    words = phrase.replace("-", " ").split()
    if words and words[0].isdigit():
        value = int(words[0])
        return (value, words[0]) if len(words[0]) == 2 and value < 60 else None
    parsed = parse_number(words, 0) if words else None
    if parsed is None:
        return None
    value, used = int(parsed[0]), parsed[1]
    said = phrase if used == len(words) else words[0]
    return (value, said) if 10 <= value < 60 else None


def _spoken_clock(
    match: re.Match[str], ampm: str | None, part: str | None
) -> tuple[dt.time, str] | None:
    """Resolve an hour-and-minutes match of the spoken clock patterns."""
    hour = _hour_value(match.group(1))
    minute = _spoken_minute(match.group(2))
    if hour is None or minute is None:
        return None
    time = resolve_hour(hour, minute[0], ampm, part)
    if time is None:
        return None
    phrase = match.group(0)
    said = phrase[: match.start(2) - match.start(0)] + minute[1]
    return time, (said + phrase[match.end(2) - match.start(0) :]) if ampm else said


def resolve_hour(hour: int, minute: int, ampm: str | None, part: str | None) -> dt.time | None:
    """Turn a clock reading into a 24-hour time (see the module docstring)."""
    if not (0 <= hour <= 24 and 0 <= minute < 60):
        return None
    hour %= 24
    if ampm:
        is_pm = ampm.replace(" ", "").startswith("p")
        if hour > 12:
            return dt.time(hour, minute)
        if is_pm:
            return dt.time(hour % 12 + 12, minute)
        return dt.time(hour % 12, minute)
    if hour > 12 or hour == 0:
        return dt.time(hour, minute)
    if part in {"afternoon", "evening"}:
        return dt.time(hour % 12 + 12, minute)
    if part == "night":
        return dt.time(hour + 12 if 9 <= hour <= 11 else hour % 12, minute)
    if part == "morning":
        return dt.time(hour, minute)
    for candidate in (hour % 12, hour % 12 + 12):
        if _DAYTIME_START <= candidate * 60 + minute < _DAYTIME_END:
            return dt.time(candidate, minute)
    return dt.time(hour, minute)


def _part_of_day(text: str) -> str | None:
    for pattern, part in _PARTS_OF_DAY:
        if pattern.search(text):
            return part
    return None


def _twelve(hour: int) -> int:
    """Map hour 0 to 12 (for "halv ett" = 12:30)."""
    return 12 if hour == 0 else hour


def parse_time(text: str, part: str | None) -> tuple[dt.time, str] | None:
    """Return the first clock time in ``text`` and the phrase it came from."""
    match = _SV_REL_HALF_RE.search(text)
    if match:
        minutes = _minute_value(match.group(1))
        hour = _hour_value(match.group(3))
        if minutes is not None and hour is not None:
            base = _twelve(hour - 1) * 60 + 30
            total = base + minutes if match.group(2) == "över" else base - minutes
            time = resolve_hour(total // 60, total % 60, None, part)
            if time:
                return time, match.group(0)
    match = _SV_HALF_RE.search(text)
    if match:
        hour = _hour_value(match.group(1))
        if hour is not None and 1 <= hour <= 12:
            time = resolve_hour(_twelve(hour - 1), 30, None, part)
            if time:
                return time, match.group(0)
    match = _REL_RE.search(text)
    if match:
        minute_word, relation, hour_word = (
            match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)
        )
        minutes = _minute_value(minute_word)
        hour = _hour_value(hour_word)
        if minutes is not None and hour is not None and 1 <= hour <= 12:
            if relation in {"över", "past", "after"}:
                time = resolve_hour(hour, minutes, None, part)
            else:
                time = resolve_hour(_twelve(hour - 1), 60 - minutes, None, part)
            if time:
                return time, match.group(0)
    match = _SPOKEN_CLOCK_RE.search(text)
    if match and (found := _spoken_clock(match, match.group(3), part)):
        return found
    for pattern in (_CLOCK_DIGITS_RE, _AMPM_RE):
        match = pattern.search(text)
        if match:
            minute = int(match.group(2)) if match.group(2) else 0
            time = resolve_hour(int(match.group(1)), minute, match.group(3), part)
            if time:
                return time, match.group(0)
    match = _HHMM_RE.search(text)
    if match:
        time = resolve_hour(int(match.group(1)), int(match.group(2)), None, part)
        if time:
            return time, match.group(0)
    match = _BARE_CLOCK_RE.search(text)
    if match and (found := _spoken_clock(match, None, part)):
        return found
    match = _CLOCK_WORD_RE.search(text)
    if match:
        hour = _hour_value(match.group(1) or match.group(2))
        if hour is not None:
            time = resolve_hour(hour, 0, None, part)
            if time:
                return time, match.group(0)
    match = _NOON_RE.search(text)
    if match:
        return dt.time(12, 0), match.group(0)
    match = _MIDNIGHT_RE.search(text)
    if match:
        return dt.time(0, 0), match.group(0)
    return None


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _day_month(today: dt.date, day: int, month: int, year: int | None) -> dt.date | None:
    if year is not None:
        return _safe_date(year, month, day)
    candidate = _safe_date(today.year, month, day)
    if candidate is None or candidate < today:
        candidate = _safe_date(today.year + 1, month, day)
    return candidate


def _day_only(today: dt.date, day: int) -> dt.date | None:
    if not 1 <= day <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(3):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def _next_week_monday(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=7 - today.weekday())


def _weekday_name(match: re.Match[str]) -> int:
    name = next(group for group in match.groups() if group)
    return WEEKDAYS[name]


def parse_date(text: str, today: dt.date) -> tuple[dt.date, str, str | None] | None:
    """Return the first date in ``text``, its phrase and an implied part of day."""
    match = _ISO_DATE_RE.search(text)
    if match:
        date = _safe_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if date:
            return date, match.group(0), None
    for pattern, day_group, month_group in ((_DAY_MONTH_RE, 1, 2), (_MONTH_DAY_RE, 2, 1)):
        match = pattern.search(text)
        if match:
            day = ordinal_value(match.group(day_group))
            month = MONTHS[match.group(month_group)]
            year = int(match.group(3)) if match.group(3) else None
            date = _day_month(today, day, month, year) if day else None
            if date:
                return date, match.group(0), None
    match = _SLASH_DATE_RE.search(text)
    if match:
        day, month = int(match.group(1)), int(match.group(2))
        date = _day_month(today, day, month, None) if 1 <= month <= 12 else None
        if date:
            return date, match.group(0), None
    for pattern, offset, part in _RELATIVE_RE:
        match = pattern.search(text)
        if match:
            return today + dt.timedelta(days=offset), match.group(0), part
    match = _IN_DAYS_RE.search(text)
    if match:
        count = 1 if match.group(1) in {"en", "ett", "a", "one"} else None
        if count is None:
            count = int(match.group(1)) if match.group(1).isdigit() else word_number(match.group(1))
        if count is not None and 0 < count <= 366:
            days = count * 7 if match.group(2).startswith(("vec", "week")) else count
            return today + dt.timedelta(days=days), match.group(0), None
    match = _WEEKDAY_NEXT_RE.search(text)
    if match:
        date = _next_week_monday(today) + dt.timedelta(days=_weekday_name(match))
        return date, match.group(0), None
    match = _WEEKDAY_LAST_RE.search(text)
    if match:
        back = (today.weekday() - _weekday_name(match)) % 7 or 7
        return today - dt.timedelta(days=back), match.group(0), None
    match = _WEEKDAY_RE.search(text)
    if match:
        ahead = (_weekday_name(match) - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead), match.group(0), None
    match = _WEEKEND_RE.search(text)
    if match:
        if match.group(1):
            return _next_week_monday(today) + dt.timedelta(days=5), match.group(0), None
        ahead = max(0, 5 - today.weekday())
        return today + dt.timedelta(days=ahead), match.group(0), None
    match = _NEXT_WEEK_RE.search(text)
    if match:
        return _next_week_monday(today), match.group(0), None
    match = _THIS_WEEK_RE.search(text)
    if match:
        return today, match.group(0), None
    match = _NEXT_MONTH_RE.search(text)
    if match:
        first = today.replace(day=1)
        return (first + dt.timedelta(days=32)).replace(day=1), match.group(0), None
    match = _DAY_ONLY_RE.search(text)
    if match:
        day = ordinal_value(match.group(1))
        date = _day_only(today, day) if day else None
        if date:
            return date, match.group(0), None
    return None


def parse_datetime(text: str, now: dt.datetime) -> DateTimeMatch:
    """Find a date and a time in ``text`` and resolve them against ``now``."""
    found_date = parse_date(text, now.date())
    implied_part = found_date[2] if found_date else None
    part = _part_of_day(text) or implied_part
    found_time = parse_time(text, part)
    return DateTimeMatch(
        date=found_date[0] if found_date else None,
        time=found_time[0] if found_time else None,
        date_text=found_date[1] if found_date else None,
        time_text=found_time[1] if found_time else None,
        part_of_day=part,
    )
