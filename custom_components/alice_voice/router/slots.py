"""Rule-based slot extraction for the think intents, device control and weather.

Slots are extracted from the slot normal form of the utterance
(:func:`.text.normalize_for_slots`: lower case, punctuation dropped, fillers
removed) and are JSON-serialisable. Every intent has a fixed set of core keys,
present with ``None`` when not found; extra keys appear only when found.

* ``DEVICE_CONTROL``: ``action``, ``area``, ``device``, ``value``; extras
  ``area_normalized`` (Swedish definite form stripped: "köket" -> "kök"),
  ``unit`` ("%", "°"), ``color``, ``item`` (shopping/to-do lists), ``message``
  (broadcast), ``duration_seconds`` (timers). ``action`` is one of
  :data:`DEVICE_ACTIONS`.
* ``CALENDAR_QUERY`` / ``CALENDAR_CREATE`` / ``CALENDAR_COMPLEX``: ``attendee``,
  ``date`` ("YYYY-MM-DD"), ``time`` ("HH:MM"), ``datetime`` (ISO 8601 with the
  offset of the time zone, only when both date and time are known),
  ``date_text``, ``time_text`` (the phrases as said); extras ``attendees`` (when
  several), ``part_of_day``.
* ``EMAIL_SEND``: ``recipient``, ``subject`` (phrases as said, "the invoice");
  extra ``message`` ("säg att jag blir sen" -> "jag blir sen").
* ``EMAIL_ANALYSIS``: ``sender``; extra ``unread`` (true).
* ``SPOTIFY_SEARCH``: ``query``, ``area``; extras ``media_player``, ``artist``.
* ``WEATHER``: ``location``, ``date``.
* Every other intent: no slots (``{}``).
"""

from collections.abc import Callable
from dataclasses import dataclass
import datetime as dt
import re
from typing import Final

from .intents import Intent
from .numbers import MONTHS, WEEKDAYS, parse_number, word_number
from .timeparse import parse_datetime

type JSONValue = str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None
type Slots = dict[str, JSONValue]

DEVICE_ACTIONS: Final = (
    "turn_on",
    "turn_off",
    "open",
    "close",
    "lock",
    "unlock",
    "set",
    "increase",
    "decrease",
    "start",
    "stop",
    "pause",
    "resume",
    "next",
    "previous",
    "mute",
    "query",
    "return_to_base",
    "add_item",
    "remove_item",
    "complete_item",
    "broadcast",
    "timer_start",
    "timer_cancel",
    "timer_pause",
    "timer_resume",
    "timer_status",
    "timer_increase",
    "timer_decrease",
)


@dataclass(frozen=True, slots=True)
class SlotContext:
    """What slot extraction needs besides the text."""

    now: dt.datetime
    language: str


# --- vocabularies ------------------------------------------------------------------

_SV_AREAS: Final = frozenset(
    [
        "kök",
        "köket",
        "vardagsrum",
        "vardagsrummet",
        "sovrum",
        "sovrummet",
        "badrum",
        "badrummet",
        "hall",
        "hallen",
        "kontor",
        "kontoret",
        "arbetsrum",
        "arbetsrummet",
        "garage",
        "garaget",
        "tvättstuga",
        "tvättstugan",
        "källare",
        "källaren",
        "vind",
        "vinden",
        "övervåning",
        "övervåningen",
        "nedervåning",
        "nedervåningen",
        "bottenvåning",
        "bottenvåningen",
        "trädgård",
        "trädgården",
        "altan",
        "altanen",
        "balkong",
        "balkongen",
        "uteplats",
        "uteplatsen",
        "veranda",
        "verandan",
        "barnrum",
        "barnrummet",
        "gästrum",
        "gästrummet",
        "matsal",
        "matsalen",
        "entré",
        "entrén",
        "entren",
        "bastu",
        "bastun",
        "förråd",
        "förrådet",
        "allrum",
        "allrummet",
        "lekrum",
        "lekrummet",
        "tvättrum",
        "tvättrummet",
        "klädkammare",
        "klädkammaren",
        "gym",
        "gymmet",
        "toalett",
        "toaletten",
        "groventré",
        "groventrén",
        "hobbyrum",
        "hobbyrummet",
        "uterum",
        "uterummet",
        "trapphus",
        "trapphuset",
        "trappan",
        "biorum",
        "biorummet",
        "gillestuga",
        "gillestugan",
        "vindsrum",
        "vindsrummet",
        "friggebod",
        "friggeboden",
        "carport",
        "carporten",
        "poolen",
        "pool",
        "gästtoaletten",
        "gästtoalett",
        "tvrummet",
        "huset",
        "lägenheten",
        "stugan",
        "attefallshuset",
    ]
)
_SV_AREA_SUFFIXES: Final = ("rummet", "rum", "köket", "hallen", "våningen", "stugan")
_SV_AREA_ADJECTIVES: Final = frozenset({"lilla", "stora", "övre", "nedre", "gamla", "nya"})
_EN_AREAS: Final = (
    "master bedroom",
    "guest bedroom",
    "living room",
    "dining room",
    "family room",
    "guest room",
    "kids room",
    "kid's room",
    "kids' room",
    "laundry room",
    "utility room",
    "home office",
    "first floor",
    "second floor",
    "ground floor",
    "top floor",
    "front yard",
    "back yard",
    "tv room",
    "kitchen",
    "bedroom",
    "bathroom",
    "office",
    "study",
    "hallway",
    "hall",
    "nursery",
    "den",
    "garage",
    "basement",
    "attic",
    "garden",
    "backyard",
    "patio",
    "porch",
    "deck",
    "balcony",
    "playroom",
    "laundry",
    "lounge",
    "sunroom",
    "upstairs",
    "downstairs",
    "entryway",
    "entrance",
    "foyer",
    "pantry",
    "gym",
    "sauna",
    "library",
    "loft",
    "cellar",
    "shed",
    "toilet",
    "mudroom",
    "house",
)
_EN_AREA_ALT: Final = "|".join(re.escape(area) for area in _EN_AREAS)
_EN_AREA_RE: Final = re.compile(
    rf"\b(?:in|on|at|from|into|for)\s+(?:the\s+|my\s+|our\s+)?({_EN_AREA_ALT}|\w+\s+room)\b"
)
_EN_BARE_AREA_RE: Final = re.compile(r"\b(upstairs|downstairs)\b")
_SV_AREA_RE: Final = re.compile(
    r"\b(?:i|på|inne\s+i|ute\s+på|uppe\s+på|nere\s+i|uppe\s+i|nere\s+på)\s+(?:hela\s+)?"
    r"(?:(lilla|stora|övre|nedre|gamla|nya)\s+)?([\w:-]+)"
)

_DETERMINERS: Final = frozenset(
    [
        "alla",
        "all",
        "allt",
        "den",
        "det",
        "de",
        "dom",
        "min",
        "mitt",
        "mina",
        "din",
        "ditt",
        "vår",
        "vårt",
        "våra",
        "hela",
        "någon",
        "något",
        "några",
        "lite",
        "the",
        "my",
        "our",
        "your",
        "all",
        "every",
        "each",
        "both",
        "a",
        "an",
        "some",
        "any",
        "this",
        "that",
        "these",
        "those",
    ]
)
_STOP_AFTER_NAME: Final = frozenset(
    [
        "om",
        "angående",
        "ang",
        "gällande",
        "rörande",
        "och",
        "att",
        "med",
        "som",
        "där",
        "i",
        "på",
        "för",
        "från",
        "till",
        "kl",
        "klockan",
        "imorgon",
        "idag",
        "ikväll",
        "inatt",
        "igår",
        "övermorgon",
        "nästa",
        "förra",
        "den",
        "denna",
        "detta",
        "efter",
        "innan",
        "vid",
        "runt",
        "kring",
        "halv",
        "kvart",
        "ang",
        "eller",
        "men",
        "så",
        "då",
        "nu",
        "sen",
        "about",
        "regarding",
        "re",
        "saying",
        "that",
        "and",
        "with",
        "to",
        "telling",
        "asking",
        "for",
        "from",
        "on",
        "in",
        "at",
        "today",
        "tomorrow",
        "tonight",
        "yesterday",
        "next",
        "last",
        "this",
        "the",
        "after",
        "before",
        "around",
        "by",
        "or",
        "but",
        "so",
        "then",
        "now",
        "please",
        "tack",
        "snälla",
    ]
)
_PRONOUNS: Final = frozenset(
    [
        "mig",
        "dig",
        "honom",
        "henne",
        "oss",
        "er",
        "dem",
        "dom",
        "sig",
        "varandra",
        "me",
        "you",
        "him",
        "her",
        "us",
        "them",
        "myself",
        "everyone",
        "everybody",
        "alla",
        "ingen",
        "nobody",
    ]
)
_TIME_WORDS: Final = frozenset(
    {
        *WEEKDAYS,
        *MONTHS,
        "morgon",
        "imorgon",
        "eftermiddag",
        "förmiddag",
        "kväll",
        "natt",
        "helgen",
        "veckan",
        "vecka",
        "dag",
        "morgonen",
        "kvällen",
        "week",
        "weekend",
        "morning",
        "afternoon",
        "evening",
        "night",
    }
)

_COLORS: Final = frozenset(
    [
        "röd",
        "rött",
        "röda",
        "blå",
        "blått",
        "blåa",
        "grön",
        "grönt",
        "gröna",
        "gul",
        "gult",
        "gula",
        "vit",
        "vitt",
        "vita",
        "varmvitt",
        "varmvit",
        "kallvitt",
        "kallvit",
        "lila",
        "rosa",
        "orange",
        "turkos",
        "cerise",
        "red",
        "blue",
        "green",
        "yellow",
        "white",
        "purple",
        "pink",
        "orange",
        "warm",
        "cool",
        "turquoise",
    ]
)
_COVER_WORDS_RE: Final = re.compile(
    r"(persienn|gardin|rullgardin|markis|jalusi|solskydd|förhänge|port|dörr|fönster|lucka|"
    r"blind|shade|curtain|shutter|awning|garage door|gate|window|cover)"
)

# --- device control: action patterns ------------------------------------------------

_TIMER_RE: Final = re.compile(
    r"\w*(?:timer|timern|timers|timrar|timrarna|tidur|tiduret|tiduren|äggklocka|äggklockan|"
    r"nedräkning|nedräkningen|countdown)\b"
)
_TIMER_STATUS_RE: Final = re.compile(
    r"\b(?:kvar|status|hur\s+lång|hur\s+mycket|how\s+long|how\s+much|left|remaining)\b"
)
_TIMER_INCREASE_RE: Final = re.compile(
    r"\b(?:lägg\s+till|lägg\s+på|öka|förläng|add|increase|extend)\b"
)
_TIMER_DECREASE_RE: Final = re.compile(
    r"\b(?:(?:ta|dra)\s+(?:bort|av)\s+\S+\s+(?:minut|sekund|timm)|minska|korta|"
    r"take\s+\S+\s+(?:minutes?|seconds?|hours?)|remove\s+\S+\s+(?:minutes?|seconds?|hours?)|"
    r"decrease|subtract|shorten|reduce)"
)
_TIMER_CANCEL_RE: Final = re.compile(
    r"\b(?:stäng\s+av|stoppa|avbryt|ta\s+bort|radera|döda|cancel|stop|delete|remove|"
    r"turn\s+off|kill|clear)\b"
)
_TIMER_PAUSE_RE: Final = re.compile(r"\b(?:pausa|pause|frys|hold)\b")
_TIMER_RESUME_RE: Final = re.compile(
    r"\b(?:fortsätt|återuppta|starta\s+om|continue|resume|unpause|restart)\b"
)
_LIST_RE: Final = re.compile(r"\w*(?:lista|listan|listor|list|lappen)\b|\bshopping\b|\bgroceries\b")
_LIST_ADD_RE: Final = re.compile(
    r"\b(?:lägg\s+till|lägg|skriv\s+upp|sätt\s+upp|skriv\s+in|skriv|för\s+upp|sätt|notera|"
    r"add|put|write\s+down|write|stick|jot\s+down)\s+(.+?)\s+(?:på|i|till|to|on|onto|in)\s+"
    r"(?:min\s+|mina\s+|vår\s+|den\s+|the\s+|my\s+|our\s+)?\w*\s?(?:lista|listan|list|lappen)\b"
)
_LIST_REMOVE_RE: Final = re.compile(r"\b(?:ta\s+bort|stryk|radera|remove|delete|take)\b")
_LIST_COMPLETE_RE: Final = re.compile(
    r"\b(?:bocka\s+av|bocka|markera|check\s+off|check|cross\s+off|tick\s+off|complete|mark)\b"
)
_BROADCAST_RE: Final = re.compile(
    r"\b(?:meddela\s+(?:alla|hela|i)|utropa|annonsera|ropa\s+ut|sänd|skicka\s+ut|"
    r"säg\s+(?:till|åt)\s+(?:alla|hela|barnen|familjen|\w+\s+i\s+högtalar\w*)|"
    r"säg\s+i\s+högtalar\w*|broadcast|announce|tell\s+(?:everyone|everybody|the\s+house|the\s+kids)|"
    r"let\s+everyone\s+know|call\s+everyone)\b"
)
_RETURN_RE: Final = re.compile(
    r"\b(?:skicka|kör|åk|gå|köra)\s+(?:\w+\s+)?(?:tillbaka|hem)\b|"
    r"\btill\s+(?:laddstation\w*|laddare\w*|docka\w*|basen|bas)\b|\bdocka\b|"
    r"\bladda\s+\w*dammsugar\w*|\b(?:return|send)\b.*\b(?:dock|base|charger|home)\b|"
    r"\bgo\s+home\b|\bdock\s+the\b"
)
_QUERY_START: Final = frozenset(
    [
        "är",
        "hur",
        "vilka",
        "vilken",
        "vilket",
        "vad",
        "finns",
        "har",
        "var",
        "vem",
        "står",
        "brinner",
        "lyser",
        "lever",
        "is",
        "are",
        "was",
        "were",
        "how",
        "what",
        "whats",
        "what's",
        "which",
        "who",
        "where",
        "where's",
        "who's",
        "how's",
        "does",
        "did",
        "do",
        "any",
        "has",
        "have",
        "tell",
        "check",
        "kolla",
    ]
)
_SET_VERB_RE: Final = re.compile(
    r"\b(?:sätt|sätta|ställ|ställa|ställ\s+in|ändra|justera|dimra|dimma|färga|byt|gör|"
    r"set|change|adjust|dim|make|turn|put|switch)\b"
)
_TARGET_WORD_RE: Final = re.compile(
    r"\b(?:till|på|to|at)\s+(?:max|maximum|min|minimum|högsta|lägsta|full|fullt|halva|"
    r"the\s+(?:max|highest|lowest|maximum|minimum))\b|\b(?:max|maximal|minsta|full)\s+"
    r"(?:ljusstyrka|brightness)\b|\bto\s+max\b"
)

_VERB_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"\b(?:lås|låsa|regla)\s+upp\b|\bunlock\b"), "unlock"),
    (re.compile(r"\b(?:lås|låsa|låser|regla|lock)\b"), "lock"),
    (re.compile(r"\b(?:pausa|pause)\b"), "pause"),
    (
        re.compile(
            r"\b(?:fortsätt|återuppta|spela\s+upp\s+igen|starta\s+igen|resume|unpause|continue)\b"
        ),
        "resume",
    ),
    (re.compile(r"\b(?:nästa|hoppa\s+över|skippa|byt\s+låt|next|skip)\b"), "next"),
    (
        re.compile(
            r"\b(?:föregående|förra\s+låten|gå\s+tillbaka|backa|spola\s+tillbaka|spela\s+om|"
            r"previous|go\s+back|last\s+(?:song|track)|rewind|replay)\b"
        ),
        "previous",
    ),
    (re.compile(r"\b(?:tysta|stäng\s+av\s+ljudet|ljudlöst|mute|silence)\b"), "mute"),
    (
        re.compile(
            r"\b(?:släck|släcka|släcker|slack|slå\s+av|slå\s+ifrån|stäng\s+av|stänga\s+av|"
            r"stänger\s+av|knäpp\s+av|koppla\s+ur|koppla\s+från|avaktivera|inaktivera|"
            r"turn\s+off|switch\s+off|power\s+off|shut\s+off|deactivate|disable|kill)\b"
            r"|\b(?:turn|switch|power)\s+(?:\w+\s+){1,5}?off\b|\boff\b(?:\s+please)?$"
        ),
        "turn_off",
    ),
    (
        re.compile(
            r"\b(?:tänd|tända|tänder|tand|slå\s+på|slå\s+till|sätt\s+på|sätta\s+på|knäpp\s+på|"
            r"koppla\s+på|koppla\s+in|aktivera|sätt\s+igång|kör\s+igång|dra\s+igång|"
            r"sätt\s+fart\s+på|turn\s+on|switch\s+on|power\s+on|activate|enable|light\s+up)\b"
            r"|\b(?:turn|switch|power)\s+(?:\w+\s+){1,5}?on\b|\bon\b(?:\s+please)?$"
        ),
        "turn_on",
    ),
    (
        re.compile(
            r"\b(?:öppna|öppnar|dra\s+upp|rulla\s+upp|hissa\s+upp|fäll\s+upp|dra\s+isär|"
            r"dra\s+undan|veckla\s+upp|open|raise|roll\s+up)\b"
        ),
        "open",
    ),
    (
        re.compile(
            r"\b(?:stäng|stänga|stänger|dra\s+ner|dra\s+ned|rulla\s+ner|rulla\s+ned|"
            r"hissa\s+ner|fäll\s+ner|dra\s+för|dra\s+igen|slå\s+igen|mörklägg|tillslut|"
            r"close|shut|lower|roll\s+down|pull\s+down)\b"
        ),
        "close",
    ),
    (
        re.compile(
            r"\b(?:höj|höja|öka|skruva\s+upp|vrid\s+upp|högre|ljusare|varmare|starkare|"
            r"(?:volume|sound|volymen)\s+up|"
            r"snabbare|mer|turn\s+(?:\w+\s+)?up|increase|brighten|warmer|louder|higher|brighter|"
            r"faster|more)\b"
        ),
        "increase",
    ),
    (
        re.compile(
            r"\b(?:sänk|sänka|minska|skruva\s+ner|vrid\s+ner|lägre|mörkare|svalare|kallare|"
            r"(?:volume|sound|volymen)\s+down|"
            r"tystare|svagare|långsammare|dimma|dimra|turn\s+(?:\w+\s+)?down|decrease|dim|"
            r"quieter|cooler|colder|softer|lower|darker|slower|less)\b"
        ),
        "decrease",
    ),
    (
        re.compile(r"\b(?:starta|start|dammsug|dammsuga|vacuum|clean|kör|run)\b"),
        "start",
    ),
    (re.compile(r"\b(?:stoppa|stop|avbryt|halt)\b"), "stop"),
)
_ACTION_VERB_END_RE: Final = re.compile(
    r"^(?:kan\s+du\s+|could\s+you\s+|can\s+you\s+|would\s+you\s+|please\s+|snälla\s+)?"
)
_DEVICE_STOP: Final = frozenset(
    [
        "i",
        "på",
        "av",
        "till",
        "med",
        "och",
        "tack",
        "snälla",
        "för",
        "från",
        "upp",
        "ner",
        "ned",
        "igen",
        "in",
        "ut",
        "lite",
        "låst",
        "låsta",
        "olåst",
        "öppen",
        "öppet",
        "öppna",
        "stängd",
        "stängt",
        "stängda",
        "tänd",
        "tänt",
        "tända",
        "släckt",
        "släckta",
        "igång",
        "klar",
        "klart",
        "på",
        "av",
        "ute",
        "inne",
        "hemma",
        "nu",
        "just",
        "grann",
        "mycket",
        "bit",
        "little",
        "lot",
        "more",
        "less",
        "in",
        "on",
        "off",
        "to",
        "at",
        "please",
        "for",
        "from",
        "up",
        "down",
        "with",
        "and",
        "by",
        "now",
        "still",
        "locked",
        "unlocked",
        "open",
        "closed",
        "shut",
        "running",
        "finished",
        "done",
        "on",
        "off",
        "home",
    ]
)

# --- email, music, calendar -----------------------------------------------------------

_RECIPIENT_PATTERNS: Final = (
    re.compile(
        r"\b(?:mejl|mejlet|mail|mailet|e-post|epost|e-posten|e-mail|email|meddelande|brev|"
        r"note|message|mejlen|mailen|emails|mails)\s+(?:till|to)\s+(.+)"
    ),
    re.compile(r"\b(?:svara|reply\s+to|respond\s+to|answer)\s+(?!på\b|on\b|the\b)(.+)"),
    re.compile(
        r"\b(?:mejla|maila|mejlar|mailar|e-posta|emaila|mail|email|e-mail|message)\s+"
        r"(?!ett\b|en\b|a\b|an\b|the\b|till\b|to\b)(.+)"
    ),
    re.compile(r"\b(?:till|to)\s+(.+)"),
)
_SUBJECT_RE: Final = re.compile(
    r"\b(?:om|angående|ang|gällande|rörande|about|regarding|re|concerning)\s+"
    r"(?!att\b|that\b|det\b)(.+?)(?=\s+(?:och|and|så|att|that|saying|med|with)\b|$)"
)
_MESSAGE_RE: Final = re.compile(
    r"\b(?:säg|skriv|berätta|meddela|saying|say|tell\s+\w+|om)\s+(?:att|that)\s+(.+)$"
    r"|\b(?:saying|att|that)\s+(.+)$"
)
_SENDER_RES: Final = (
    re.compile(r"\b(?:från|from)\s+(.+)"),
    re.compile(r"\bskrev\s+(\w+)\b"),
    re.compile(r"\bhar\s+(\w+)\s+(?:svarat|skrivit|mejlat|mailat|skickat)\b"),
    re.compile(r"\b(?:did|has)\s+(\w+)\s+(?:say|write|send|reply|replied|written|email|sent)\b"),
)
_UNREAD_RE: Final = re.compile(r"\b(?:olästa|oläst|nya|unread|new)\b")

_MUSIC_LEAD_RE: Final = re.compile(
    r"^(?:(?:hej\s+|hey\s+)?alice\s+)?(?:kan\s+du\s+|skulle\s+du\s+kunna\s+|vill\s+du\s+|"
    r"snälla\s+|could\s+you\s+|can\s+you\s+|would\s+you\s+|please\s+)*"
)
_MUSIC_VERB_RE: Final = re.compile(
    r"\b(?:spela\s+upp|spela|sätt\s+på|lägg\s+på|kör|jag\s+vill\s+(?:höra|lyssna\s+på)|"
    r"jag\s+skulle\s+vilja\s+(?:höra|lyssna\s+på)|lyssna\s+på|hitta|sök\s+efter|sök\s+på|"
    r"sök|leta\s+upp|play|put\s+on|i\s+want\s+to\s+(?:hear|listen\s+to)|"
    r"i'd\s+like\s+to\s+(?:hear|listen\s+to)|listen\s+to|find\s+me|find|search\s+for|"
    r"queue|shuffle)\s+"
)
_MUSIC_TAIL_RE: Final = re.compile(r"\s+(?:tack|please|snälla|för\s+mig|for\s+me)$")
_SPOTIFY_RE: Final = re.compile(r"\s+(?:på|i|från|via|on|in|from|with)\s+spotify\b")
_MEDIA_PLAYER_RE: Final = re.compile(
    r"\s+(?:på|i|on|in)\s+(?:the\s+)?(\w*högtalar\w*|tv:n|tvn|tv|teven|sonos|\w*speaker|"
    r"\w+\s+speaker|radion|stereon|stereo)$"
)
_ARTIST_RE: Final = re.compile(r"\b(?:av|med|by)\s+(.+)$")

_ATTENDEE_RES: Final = (
    re.compile(r"\b(?:med|me|with)\s+(.+)"),
    re.compile(
        r"\b(?:träffa|träffar|träffade|meet|meeting|see|seeing)\s+(?:jag\s+|vi\s+|i\s+|we\s+)?(.+)"
    ),
)
_WEATHER_LOCATION_RE: Final = re.compile(
    r"\b(?:i|in|för|for|på|at)\s+([a-zåäöéü]+(?:\s+[a-zåäöéü]+)?)"
)
_WEATHER_NOT_LOCATION: Final = frozenset(
    {
        *_TIME_WORDS,
        "dag",
        "idag",
        "morgon",
        "övermorgon",
        "natt",
        "kväll",
        "eftermiddag",
        "förmiddag",
        "helgen",
        "veckan",
        "today",
        "tomorrow",
        "tonight",
        "the",
        "a",
        "an",
        "my",
        "ute",
        "here",
        "det",
        "mig",
        "me",
        "it",
        "this",
        "that",
        "next",
    }
)


# --- helpers ------------------------------------------------------------------------


def _number_value(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _take_name(rest: str, max_tokens: int = 2) -> str | None:
    """Take a name or noun phrase from the start of ``rest``.

    An optional determiner ("min", "the", "hela"...) and up to ``max_tokens``
    tokens, stopping at a preposition, conjunction, time word or number.
    """
    out: list[str] = []
    taken = 0
    for index, token in enumerate(rest.split()):
        if index == 0 and token in _DETERMINERS and token not in {"den", "det", "de", "dom"}:
            out.append(token)
            continue
        if token in _STOP_AFTER_NAME or token in _TIME_WORDS or token in _PRONOUNS:
            break
        if token[0].isdigit() or word_number(token) is not None:
            break
        out.append(token)
        taken += 1
        if taken >= max_tokens:
            break
    if taken == 0:
        return None
    return " ".join(out)


def _area_sv(text: str) -> str | None:
    for match in _SV_AREA_RE.finditer(text):
        adjective, word = match.group(1), match.group(2)
        if word in _SV_AREAS or (len(word) >= 5 and word.endswith(_SV_AREA_SUFFIXES)):
            return f"{adjective} {word}" if adjective else word
    for token in text.split():
        if token.endswith("s") and token[:-1] in _SV_AREAS and len(token) > 4:
            return token[:-1]
    return None


def _area_en(text: str) -> str | None:
    match = _EN_AREA_RE.search(text)
    if match:
        return match.group(1)
    match = _EN_BARE_AREA_RE.search(text)
    return match.group(1) if match else None


def find_area(text: str, language: str) -> str | None:
    """Return the area named in ``text`` ("i köket" -> "köket", "in the kitchen" -> "kitchen")."""
    first, second = (_area_sv, _area_en) if language == "sv" else (_area_en, _area_sv)
    return first(text) or second(text)


_EN_KNOWN_AREA_RE: Final = re.compile(rf"\b({_EN_AREA_ALT})\b")


def bare_area(text: str) -> str | None:
    """Return an area named without a preposition ("och hallen också", "the kitchen too")."""
    for token in text.split():
        if token in _SV_AREAS and len(token) > 3:
            return token
    match = _EN_KNOWN_AREA_RE.search(text)
    if match and match.group(1) not in {"house", "hall", "den", "deck", "study", "laundry"}:
        return match.group(1)
    return None


def normalize_area(area: str) -> str:
    """Return a base form of an area: Swedish definite endings stripped."""
    words = area.split()
    last = words[-1]
    for suffix, replacement in (("rummet", "rum"), ("rummen", "rum")):
        if last.endswith(suffix):
            words[-1] = last[: -len(suffix)] + replacement
            return " ".join(words)
    if last in _SV_AREAS:
        for suffix in ("et", "en", "n", "t"):
            base = last[: -len(suffix)]
            if last.endswith(suffix) and base in _SV_AREAS:
                words[-1] = base
                break
    return " ".join(words)


def _is_area_phrase(phrase: str) -> bool:
    return phrase in _SV_AREAS or phrase in _EN_AREAS or phrase.endswith(" room")


# --- device control ----------------------------------------------------------------


def _timer_action(text: str) -> str:
    if _TIMER_STATUS_RE.search(text):
        return "timer_status"
    if _TIMER_DECREASE_RE.search(text):
        return "timer_decrease"
    if _TIMER_INCREASE_RE.search(text):
        return "timer_increase"
    if _TIMER_CANCEL_RE.search(text):
        return "timer_cancel"
    if _TIMER_PAUSE_RE.search(text):
        return "timer_pause"
    if _TIMER_RESUME_RE.search(text):
        return "timer_resume"
    return "timer_start"


def _duration_seconds(tokens: list[str]) -> int | None:
    total = 0.0
    found = False
    index = 0
    text = " ".join(tokens)
    for phrase, seconds in (
        ("halvtimme", 1800),
        ("halv timme", 1800),
        ("half an hour", 1800),
        ("half hour", 1800),
        ("halv minut", 30),
        ("trekvart", 2700),
        ("kvart", 900),
    ):
        if phrase in text:
            total += seconds
            found = True
            text = text.replace(phrase, " ")
    tokens = text.split()
    while index < len(tokens):
        parsed = parse_number(tokens, index)
        if parsed is None and tokens[index] in {"a", "an"}:
            parsed = (1.0, 1)
        if parsed is not None and index + parsed[1] < len(tokens):
            unit = tokens[index + parsed[1]]
            factor = (
                3600
                if unit.startswith(("timm", "tim", "hour", "h"))
                else 60
                if unit.startswith(("min",))
                else 1
                if unit.startswith(("sek", "sec", "s"))
                else 0
            )
            if factor:
                total += parsed[0] * factor
                found = True
                index += parsed[1] + 1
                continue
        index += 1
    return int(total) if found and total > 0 else None


def _value(tokens: list[str]) -> tuple[int | float, str | None] | None:
    """Return a numeric value and its unit ("%", "°" or None)."""
    best: tuple[int | float, str | None] | None = None
    for index in range(len(tokens)):
        parsed = parse_number(tokens, index)
        if parsed is None:
            continue
        value, consumed = parsed
        token = tokens[index]
        after = tokens[index + consumed] if index + consumed < len(tokens) else ""
        before = tokens[index - 1] if index else ""
        if token.endswith("%") or after in {"procent", "percent", "%"}:
            return _number_value(value), "%"
        if token.endswith("°") or after.startswith(("grad", "degree", "°")):
            return _number_value(value), "°"
        if after.startswith(("minut", "sekund", "timm", "timme", "minute", "second", "hour")):
            continue
        if before in {"till", "på", "to", "at", "on"} and best is None:
            best = (_number_value(value), None)
    return best


_SPLIT_VERB_RE: Final = re.compile(r"^(?:turn|switch|power)\s+(.+?)\s+(?:on|off)$")


def _device_action(text: str, tokens: list[str]) -> tuple[str | None, int, str | None]:
    """Return the device action, the end of its verb phrase and a split-verb object.

    The object is the phrase between a split verb and its particle ("turn the
    desk fan off" -> "the desk fan"), else None.
    """
    if _TIMER_RE.search(text):
        return _timer_action(text), 0, None
    if _LIST_RE.search(text):
        if _LIST_REMOVE_RE.search(text):
            return "remove_item", 0, None
        if _LIST_COMPLETE_RE.search(text):
            return "complete_item", 0, None
        if _LIST_ADD_RE.search(text):
            return "add_item", 0, None
    if _BROADCAST_RE.search(text):
        return "broadcast", 0, None
    if _RETURN_RE.search(text):
        return "return_to_base", 0, None
    start = _ACTION_VERB_END_RE.match(text)
    first = text[start.end() :].split(" ", 1)[0] if start else tokens[0]
    if first in _QUERY_START:
        end = (start.end() if start else 0) + len(first)
        return "query", end, None
    has_value = _value(tokens) is not None or _TARGET_WORD_RE.search(text) is not None
    has_color = any(token in _COLORS for token in tokens)
    best: tuple[int, int, str, int, str] | None = None
    for priority, (pattern, verb_action) in enumerate(_VERB_PATTERNS):
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), priority, verb_action, match.end(), match.group(0))
    if best is None:
        if has_value or has_color:
            return "set", 0, None
        return None, 0, None
    _, _, action, end, verb_text = best
    split = _SPLIT_VERB_RE.match(verb_text)
    split_object = split.group(1) if split else None
    if split_object is not None:
        end = best[0] + len(verb_text.split(" ", 1)[0])
    if (
        (has_value or has_color)
        and (action in {"increase", "decrease", "turn_on", "start"} or _SET_VERB_RE.search(text))
        and action not in {"lock", "unlock", "pause", "next", "previous", "mute"}
    ):
        action = "set"
    if action in {"increase", "decrease"} and _COVER_WORDS_RE.search(text):
        action = "open" if action == "increase" else "close"
    if (
        action in {"open", "close"}
        and not _COVER_WORDS_RE.search(text)
        and re.search(r"\b(?:volym|volume|värme|heat|ljud|sound|temperatur)", text)
    ):
        action = "increase" if action == "open" else "decrease"
    if action == "start" and re.search(r"\b(?:lamp|ljus|light|belysning)", text):
        action = "turn_on"
    return action, end, split_object


def _device_name(text: str, verb_end: int, language: str, split: str | None) -> str | None:
    if verb_end <= 0:
        return None
    rest = (split if split is not None else text[verb_end:]).split()
    out: list[str] = []
    for token in rest:
        if not out and (token in _DETERMINERS or token in {"det", "den", "de"}):
            continue
        if token in _DEVICE_STOP or token[0].isdigit() or word_number(token) is not None:
            break
        if token in _COLORS or token in _QUERY_START:
            break
        out.append(token)
        if language == "sv" and not (len(out) == 1 and token.endswith("s")):
            break
        if len(out) >= 3:
            break
    if not out:
        return None
    return " ".join(out)


def device_slots(text: str, context: SlotContext) -> Slots:
    """Extract device-control slots (see the module docstring)."""
    tokens = text.split()
    slots: Slots = {"action": None, "area": None, "device": None, "value": None}
    if not tokens:
        return slots
    action, verb_end, split = _device_action(text, tokens)
    slots["action"] = action
    area = find_area(text, context.language) or bare_area(text)
    device = _device_name(text, verb_end, context.language, split)
    if device is not None and _is_area_phrase(device):
        area = area or device
        device = None
    if device is not None and area is not None and device in area.split():
        device = None
    slots["area"] = area
    slots["device"] = device
    if area is not None:
        slots["area_normalized"] = normalize_area(area)
    if action is not None and action.startswith("timer_"):
        duration = _duration_seconds(tokens)
        if duration is not None:
            slots["duration_seconds"] = duration
        return slots
    value = _value(tokens)
    if value is not None:
        slots["value"], unit = value
        if unit is not None:
            slots["unit"] = unit
    color = next((token for token in tokens if token in _COLORS), None)
    if color is not None and action == "set":
        slots["color"] = color
    if action == "add_item":
        match = _LIST_ADD_RE.search(text)
        item = match.group(1) if match else None
        if item in {"det", "den", "it", "that", "them", "dem"}:
            item = None
        slots["item"] = item
    if action == "broadcast":
        match = re.search(r"\b(?:att|that)\s+(.+)$", text)
        slots["message"] = match.group(1) if match else None
    return slots


# --- calendar, email, music, weather ---------------------------------------------------


def _attendees(text: str) -> list[str]:
    for pattern in _ATTENDEE_RES:
        for match in pattern.finditer(text):
            rest = match.group(1)
            first = _take_name(rest, max_tokens=1)
            if first is None:
                continue
            names = [first]
            tail = rest.split()[len(first.split()) :]
            while len(tail) >= 2 and tail[0] in {"och", "and", "samt"}:
                nxt = _take_name(" ".join(tail[1:]), max_tokens=1)
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


def email_send_slots(text: str, context: SlotContext) -> Slots:
    """Extract recipient, subject and message of a mail to send."""
    del context
    recipient: str | None = None
    for index, pattern in enumerate(_RECIPIENT_PATTERNS):
        for match in pattern.finditer(text):
            recipient = _take_name(match.group(1), max_tokens=1 if index == 2 else 2)
            if recipient is not None:
                break
        if recipient is not None:
            break
    subject_match = _SUBJECT_RE.search(text)
    slots: Slots = {
        "recipient": recipient,
        "subject": subject_match.group(1) if subject_match else None,
    }
    message = _MESSAGE_RE.search(text)
    if message:
        slots["message"] = message.group(1) or message.group(2)
    return slots


def email_analysis_slots(text: str, context: SlotContext) -> Slots:
    """Extract the sender filter (and unread flag) of a mail question."""
    del context
    sender: str | None = None
    for pattern in _SENDER_RES:
        match = pattern.search(text)
        if match:
            sender = _take_name(match.group(1))
            if sender is not None and sender not in {"i", "jag", "idag", "today"}:
                break
            sender = None
    slots: Slots = {"sender": sender}
    if _UNREAD_RE.search(text):
        slots["unread"] = True
    return slots


def music_slots(text: str, context: SlotContext) -> Slots:
    """Extract the search query (and where to play it) of a music request."""
    query = _MUSIC_LEAD_RE.sub("", text, count=1)
    verb = _MUSIC_VERB_RE.search(query)
    if verb:
        query = query[verb.end() :]
    query = _MUSIC_TAIL_RE.sub("", query)
    query = _SPOTIFY_RE.sub("", query)
    slots: Slots = {"query": None, "area": None}
    player = _MEDIA_PLAYER_RE.search(query)
    if player:
        slots["media_player"] = player.group(1)
        query = query[: player.start()]
    area = None
    if context.language == "sv" or not re.search(r"\b(?:in|on)\b", query):
        match = re.search(r"\s+(?:i|på|inne\s+i|uppe\s+i|nere\s+i)\s+(\S+(?:\s+\S+)?)$", query)
        if match:
            area = _area_sv(match.group(0))
            if area is not None:
                query = query[: match.start()]
    if area is None:
        match = re.search(
            rf"\s+(?:in|on|at)\s+(?:the\s+|my\s+|our\s+)?({_EN_AREA_ALT}|\w+\s+room)$", query
        )
        if match:
            area = match.group(1)
            query = query[: match.start()]
    query = _SPOTIFY_RE.sub("", query).strip()
    slots["query"] = query or None
    slots["area"] = area
    artist = _ARTIST_RE.search(query)
    if artist:
        slots["artist"] = artist.group(1)
    return slots


def weather_slots(text: str, context: SlotContext) -> Slots:
    """Extract the place and the day of a weather question."""
    found = parse_datetime(text, context.now)
    location: str | None = None
    for match in _WEATHER_LOCATION_RE.finditer(text):
        words = [word for word in match.group(1).split() if word not in _WEATHER_NOT_LOCATION]
        phrase = match.group(1).split()
        if words and words == phrase[: len(words)] and phrase[0] not in _WEATHER_NOT_LOCATION:
            candidate = " ".join(words)
            if not _is_area_phrase(candidate) and candidate not in {"helgen", "weekend"}:
                location = candidate
                break
    return {"location": location, "date": found.date.isoformat() if found.date else None}


_EXTRACTORS: Final[dict[Intent, Callable[[str, SlotContext], Slots]]] = {
    Intent.DEVICE_CONTROL: device_slots,
    Intent.CALENDAR_QUERY: calendar_slots,
    Intent.CALENDAR_CREATE: calendar_slots,
    Intent.CALENDAR_COMPLEX: calendar_slots,
    Intent.EMAIL_SEND: email_send_slots,
    Intent.EMAIL_ANALYSIS: email_analysis_slots,
    Intent.SPOTIFY_SEARCH: music_slots,
    Intent.WEATHER: weather_slots,
}


def extract_slots(intent: Intent, text: str, context: SlotContext) -> Slots:
    """Return the slots of ``intent`` found in slot-normalised ``text``."""
    extractor = _EXTRACTORS.get(intent)
    if extractor is None:
        return {}
    return extractor(text, context)
