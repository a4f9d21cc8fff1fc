"""Slots the router extracts: calendar dates and times, mail, music, devices.

"Now" is Wednesday 25 November 2026, 10:00 in Stockholm.
"""

import datetime as dt
from typing import Any

import pytest

from custom_components.alice_voice.router import Intent, IntentRouter
from custom_components.alice_voice.router.slot_types import SlotContext
from custom_components.alice_voice.router.slots import extract_slots
from custom_components.alice_voice.router.text import normalize_for_slots
from custom_components.alice_voice.router.timeparse import parse_datetime

CONTEXT = {"now": "2026-11-25T10:00:00+01:00", "time_zone": "Europe/Stockholm"}


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    """The shipped router."""
    return IntentRouter()


def _slots(router: IntentRouter, text: str, intent: Intent) -> dict[str, Any]:
    decision = router.route(text, context=CONTEXT)
    assert decision.intent is intent, decision
    return dict(decision.slots)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("boka möte med anna imorgon", {"attendee": "anna", "date": "2026-11-26", "time": None}),
        (
            "boka möte med erik på fredag kl 9",
            {"attendee": "erik", "datetime": "2026-11-27T09:00:00+01:00", "time_text": "kl 9"},
        ),
        (
            "boka tandläkaren nästa tisdag halv tre",
            {"date": "2026-12-01", "time": "14:30", "date_text": "nästa tisdag"},
        ),
        (
            "boka middag med lisa den femte december klockan sju på kvällen",
            {"attendee": "lisa", "date": "2026-12-05", "time": "19:00", "part_of_day": "evening"},
        ),
        (
            "schedule a meeting with john tomorrow at 2:30 pm",
            {"attendee": "john", "datetime": "2026-11-26T14:30:00+01:00"},
        ),
        ("boka möte kvart i fyra på torsdag", {"date": "2026-11-26", "time": "15:45"}),
        ("lägg in träning om tre dagar kl 18", {"date": "2026-11-28", "time": "18:00"}),
        (
            "book lunch with sara next monday at noon",
            {"attendee": "sara", "date": "2026-11-30", "time": "12:00"},
        ),
        ("boka möte kl 25", {"date": None, "time": None, "datetime": None}),
    ],
)
def test_calendar_create_slots(router: IntentRouter, text: str, expected: dict[str, Any]) -> None:
    """Attendee, date and time resolved against "now" in the time zone."""
    slots = _slots(router, text, Intent.CALENDAR_CREATE)
    assert {key: slots.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("vad har jag i kalendern i övermorgon", "2026-11-27"),
        ("vad har jag i kalendern idag", "2026-11-25"),
        ("vad har jag för möten på onsdag", "2026-12-02"),  # today's weekday: next week
        ("what's on my calendar tomorrow", "2026-11-26"),
    ],
)
def test_calendar_query_dates(router: IntentRouter, text: str, date: str) -> None:
    """Relative days and weekdays in questions about the calendar."""
    assert _slots(router, text, Intent.CALENDAR_QUERY)["date"] == date


def test_several_attendees(router: IntentRouter) -> None:
    """Two people: `attendees` lists both, `attendee` is the first."""
    decision = router.route("boka ett möte med anna och erik den 5:e", context=CONTEXT)
    assert decision.slots["attendees"] == ["anna", "erik"]
    assert decision.slots["attendee"] == "anna"
    assert decision.slots["date"] == "2026-12-05"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skicka ett mejl till erik om fakturan", {"recipient": "erik", "subject": "fakturan"}),
        ("mejla anna och säg att jag blir sen", {"recipient": "anna", "message": "jag blir sen"}),
        (
            "send an email to john about the quarterly report",
            {"recipient": "john", "subject": "the quarterly report"},
        ),
    ],
)
def test_email_send_slots(router: IntentRouter, text: str, expected: dict[str, Any]) -> None:
    """Recipient, subject and message as said."""
    slots = _slots(router, text, Intent.EMAIL_SEND)
    assert {key: slots.get(key) for key in expected} == expected


def test_email_analysis_slots(router: IntentRouter) -> None:
    """Sender and unread."""
    slots = _slots(router, "har jag fått några olästa mejl från chefen", Intent.EMAIL_ANALYSIS)
    assert slots == {"sender": "chefen", "unread": True}


@pytest.mark.parametrize(
    ("text", "query", "area"),
    [
        ("spela lugn jazz i köket", "lugn jazz", "köket"),
        ("spela håkan hellström på spotify", "håkan hellström", None),
        ("play taylor swift in the living room", "taylor swift", "living room"),
    ],
)
def test_music_slots(router: IntentRouter, text: str, query: str, area: str | None) -> None:
    """The music query without the verb, the service or the room."""
    slots = _slots(router, text, Intent.SPOTIFY_SEARCH)
    assert (slots["query"], slots["area"]) == (query, area)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tänd lampan i köket",
            {"action": "turn_on", "area": "köket", "device": "lampan", "area_normalized": "kök"},
        ),
        (
            "sätt temperaturen i sovrummet till 21 grader",
            {"action": "set", "area": "sovrummet", "value": 21, "unit": "°"},
        ),
        (
            "dimra taklampan i vardagsrummet till 30 procent",
            {"action": "set", "device": "taklampan", "value": 30, "unit": "%"},
        ),
        ("släck allt i vardagsrummet", {"action": "turn_off", "area": "vardagsrummet"}),
        ("turn off the kitchen lights", {"action": "turn_off"}),
        # A change by an amount is relative; "lower ... to" a value sets it.
        ("höj värmen med två grader", {"action": "increase"}),
        ("lower the heat to nineteen degrees", {"action": "set", "value": 19}),
        ("sätt värmen på tjugoen grader", {"action": "set", "value": 21}),
    ],
)
def test_device_slots(router: IntentRouter, text: str, expected: dict[str, Any]) -> None:
    """Action, area (and its base form), device and value."""
    slots = _slots(router, text, Intent.DEVICE_CONTROL)
    assert {key: slots.get(key) for key in expected} == expected


def test_weather_slots(router: IntentRouter) -> None:
    """Location and date of a weather question."""
    slots = _slots(router, "hur blir vädret i göteborg imorgon", Intent.WEATHER)
    assert slots == {"location": "göteborg", "date": "2026-11-26"}
    # A preposition or the word for weather ends the place.
    slots = _slots(router, "hur blir vädret i umeå på lördag", Intent.WEATHER)
    assert slots == {"location": "umeå", "date": "2026-11-28"}
    slots = _slots(router, "vad blir det för väder i göteborg imorgon", Intent.WEATHER)
    assert slots == {"location": "göteborg", "date": "2026-11-26"}


def test_fast_intents_without_slots(router: IntentRouter) -> None:
    """Greetings and the like carry no slots."""
    assert router.route("hej alice").slots == {}


NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        # Covers go up and down: open and close, not increase and decrease.
        (Intent.DEVICE_CONTROL, "höj persiennen i köket", {"action": "open", "area": "köket"}),
        (Intent.DEVICE_CONTROL, "sänk markisen", {"action": "close", "device": "markisen"}),
        # Volume and heat are not opened: increase and decrease.
        (Intent.DEVICE_CONTROL, "öppna volymen", {"action": "increase"}),
        (Intent.DEVICE_CONTROL, "close the heat", {"action": "decrease"}),
        (Intent.DEVICE_CONTROL, "", {"action": None, "area": None, "device": None}),
        # A word of the area is not the device.
        (
            Intent.DEVICE_CONTROL,
            "tänd lilla i lilla sovrummet",
            {"area": "lilla sovrummet", "device": None, "area_normalized": "lilla sovrum"},
        ),
        # "och 5 andra" is no second name.
        (
            Intent.CALENDAR_CREATE,
            "boka möte med anna och 5 andra",
            {"attendee": "anna", "attendees": None},
        ),
        # No verb: the whole request is the query; a car is not a room.
        (Intent.SPOTIFY_SEARCH, "lugn jazz i köket", {"query": "lugn jazz", "area": "köket"}),
        (Intent.SPOTIFY_SEARCH, "spela jazz i bilen", {"query": "jazz i bilen", "area": None}),
    ],
)
def test_extractors_on_slot_text(intent: Intent, text: str, expected: dict[str, Any]) -> None:
    """The extractors on their own, whatever the classifier would say."""
    slots = extract_slots(intent, normalize_for_slots(text), SlotContext(NOW, "sv"))
    assert {key: slots.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("text", "date", "time"),
    [
        ("half past two", None, "14:30"),
        ("quarter past three", None, "15:15"),
        ("quarter to four", None, "15:45"),
        ("fem i halv fyra", None, "15:25"),
        ("tio över fem", None, "17:10"),
        ("kl 7", None, "19:00"),  # a bare 12-hour reading prefers daytime
        ("kl 9", None, "09:00"),
        ("klockan nio på morgonen", None, "09:00"),
        ("bitti klockan sex", None, "06:00"),
        ("kl. 13.30", None, "13:30"),
        ("3 pm", None, "15:00"),
        ("at five", None, "17:00"),
        ("midnight", None, "00:00"),
        ("noon", None, "12:00"),
        ("5/12", "2026-12-05", None),
        ("2026-12-05", "2026-12-05", None),
        ("dec 5", "2026-12-05", None),
        ("5th of december", "2026-12-05", None),
        ("the 5th", "2026-12-05", None),
        ("den 3:e", "2026-12-03", None),
        ("i helgen", "2026-11-28", None),
        ("nästa helg", "2026-12-05", None),
        ("nästa vecka", "2026-11-30", None),
        ("next month", "2026-12-01", None),
        ("the day after tomorrow", "2026-11-27", None),
        ("in 3 days", "2026-11-28", None),
        ("igår", "2026-11-24", None),
        ("i fredags", "2026-11-20", None),
        ("last friday", "2026-11-20", None),
        ("tisdag nästa vecka", "2026-12-01", None),
        ("i eftermiddag kl 3", "2026-11-25", "15:00"),
        # As recognisers write them: hours past noon and minutes as words, no colon.
        ("klockan fjorton", None, "14:00"),
        ("klockan fjorton trettio", None, "14:30"),
        ("kl 14 30", None, "14:30"),
        ("kl 8 15", None, "08:15"),
        ("imorgon 14 30", "2026-11-26", "14:30"),
        ("fjorton trettio på fredag", "2026-11-27", "14:30"),
        ("klockan tio tjugo", None, "10:20"),
        ("at two thirty", None, "14:30"),
        ("at two forty five", None, "14:45"),
        ("at twenty-one thirty", None, "21:30"),
        ("tomorrow 2 30 pm", "2026-11-26", "14:30"),
        # A count of minutes is no time.
        ("om 10 15 minuter", None, None),
        ("klockan tre tio minuter", None, "15:00"),
        ("blorf", None, None),
    ],
)
def test_date_and_time_phrases(text: str, date: str | None, time: str | None) -> None:
    """Swedish and English date and time phrases, resolved against "now"."""
    found = parse_datetime(text, NOW)
    assert (found.date.isoformat() if found.date else None) == date
    assert (found.time.strftime("%H:%M") if found.time else None) == time
