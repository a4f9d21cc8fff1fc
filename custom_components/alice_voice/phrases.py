"""Everything Alice says or tells a model in the agent's language, in one place.

Home Assistant's translation files hold only what their schema allows (config,
services, entities, exceptions, issues): turn errors are in ``exceptions`` and
spoken through :func:`.helpers.async_localized_message`. Alice's own spoken
phrases, the default instructions and the texts of the cloud's instructions
are not UI strings: they follow the agent's language, not the user's, and
live here. Unknown languages get Swedish.
"""

from typing import Final

from .const import Language

PHRASES: Final[dict[str, dict[str, str]]] = {
    Language.SWEDISH: {
        "acknowledgment": "Varsågod!",
        "action_disarm": "larma av",
        "action_open": "öppna",
        "action_unlock": "låsa upp",
        "checking": "Jag kollar det åt dig, ett ögonblick bara. Svaret kommer strax.",
        "clarification": "Förlåt, jag förstod inte riktigt. Kan du säga det på ett annat sätt?",
        "confirm_unlock": "Vill du verkligen {action} {names}? Säg ja eller nej.",
        "confirmed": "Klart.",
        "date": "Idag är det {weekday} den {day} {month}.",
        "declined": "Okej, jag låter bli.",
        "greeting": "Hej! Vad kan jag hjälpa dig med?",
        "time": "Klockan är {time}.",
        "action_book": "boka mötet",
        "action_calendar": "ändra i kalendern",
        "action_mail": "skicka mejlet",
        "action_music": "spela musiken",
        "action_device": "göra det",
        "action_all": "göra allt det där",
        "not_done": "Jag kunde inte {action}, det blev aldrig gjort.",
        "not_done_because": "Jag kunde inte {action}: {reason}.",
        "confirm_mail": "Ska jag skicka mejlet till {to} med ämnet ”{subject}”? Säg ja eller nej.",
        "mail_sent": "Mejlet är skickat.",
    },
    Language.ENGLISH: {
        "acknowledgment": "You're welcome!",
        "action_disarm": "disarm",
        "action_open": "open",
        "action_unlock": "unlock",
        "checking": "Let me check that for you, just a moment. The answer is on its way.",
        "clarification": "Sorry, I didn't quite get that. Could you say it another way?",
        "confirm_unlock": "Do you really want me to {action} {names}? Say yes or no.",
        "confirmed": "Done.",
        "date": "Today is {weekday}, {month} {day}.",
        "declined": "Okay, I'll leave it.",
        "greeting": "Hi! What can I do for you?",
        "time": "It is {time}.",
        "action_book": "book the meeting",
        "action_calendar": "change the calendar",
        "action_mail": "send the e-mail",
        "action_music": "play the music",
        "action_device": "do that",
        "action_all": "do all of that",
        "not_done": "I couldn't {action}, it was never actually done.",
        "not_done_because": "I couldn't {action}: {reason}.",
        "confirm_mail": "Shall I send the e-mail to {to} with the subject “{subject}”? Say yes or no.",
        "mail_sent": "The e-mail is sent.",
    },
}

WEEKDAYS: Final[dict[str, tuple[str, ...]]] = {
    Language.SWEDISH: ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    Language.ENGLISH: (
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ),
}
MONTHS: Final[dict[str, tuple[str, ...]]] = {
    Language.SWEDISH: (
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ),
    Language.ENGLISH: (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}

DEFAULT_PROMPTS: Final[dict[str, str]] = {
    Language.SWEDISH: (
        "Du är Alice, röstassistenten i ett svenskt hem. Svara alltid på svenska, "
        "kort och naturligt, som när man pratar: en eller två meningar, utan listor, "
        "rubriker, markdown eller emojier, eftersom svaret läses upp. "
        "Använd verktygen för att styra och läsa av hemmet, och gissa aldrig på ett "
        "läge som du kan läsa av. Säg vad du har gjort när du har gjort det. "
        "Är något oklart, ställ en kort följdfråga i stället för att gissa. "
        "Skriv tider som man säger dem, till exempel ”kvart över tre”, och "
        "temperaturer som ”tjugoen grader”."
    ),
    Language.ENGLISH: (
        "You are Alice, the voice assistant of a home. Always answer in English, "
        "briefly and naturally, the way people talk: one or two sentences, with no "
        "lists, headings, markdown or emoji, because your answer is read aloud. "
        "Use the tools to control and read the home, and never guess a state that "
        "you can read. Say what you did once you have done it. If something is "
        "unclear, ask a short follow-up question instead of guessing."
    ),
}

#: What the cloud model is told around the agent's instructions (see paths/cloud_context).
CLOUD_TEXTS: Final[dict[str, dict[str, str]]] = {
    Language.SWEDISH: {
        "now": "Just nu: {weekday} {date}, klockan {time} ({zone}).",
        "weather": "Vädret enligt hemmets väderstation ({name}): {condition}, {temperature}{unit}{extra}.",
        "forecast": " Prognos: {days}",
        "no_weather": "Hemmet har ingen väderstation; säg det om någon frågar om vädret.",
        "devices": "Enheter i hemmet (namn, typ, rum: läge):",
        "escalate": (
            "Om svaret kräver hemmets enheter, kalender, mejl, musik, personliga uppgifter "
            "eller flera steg: anropa verktyget escalate_to_local direkt, utan att säga något."
        ),
        "short": "Svara på svenska, kort, med en eller två meningar som ska läsas upp.",
    },
    Language.ENGLISH: {
        "now": "Right now: {weekday} {date}, {time} ({zone}).",
        "weather": "Weather from the home's weather station ({name}): {condition}, {temperature}{unit}{extra}.",
        "forecast": " Forecast: {days}",
        "no_weather": "The home has no weather station; say so if asked about the weather.",
        "devices": "Devices in the home (name, type, room: state):",
        "escalate": (
            "If the answer needs the home's devices, calendar, e-mail, music, personal "
            "data or several steps: call the escalate_to_local tool at once, without speaking."
        ),
        "short": "Answer in English, briefly, in one or two sentences that will be read aloud.",
    },
}


def _of[T](table: dict[str, T], language: str) -> T:
    return table.get(language, table[Language.SWEDISH])


def phrase(language: str, key: str, **placeholders: str) -> str:
    """One of Alice's spoken phrases in ``language``, with its placeholders filled in."""
    text = _of(PHRASES, language)[key]
    return text.format(**placeholders) if placeholders else text


def weekday(language: str, index: int) -> str:
    """The name of weekday ``index`` (0 is Monday)."""
    return _of(WEEKDAYS, language)[index]


def month(language: str, number: int) -> str:
    """The name of month ``number`` (1 is January)."""
    return _of(MONTHS, language)[number - 1]


def default_prompt(language: str) -> str:
    """Alice's default instructions in ``language``."""
    return _of(DEFAULT_PROMPTS, language)


def cloud_text(language: str, key: str) -> str:
    """A text of the cloud model's instructions in ``language`` (a format string)."""
    return _of(CLOUD_TEXTS, language)[key]
