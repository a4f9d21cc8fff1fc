"""The slot extractors' vocabulary: Swedish and English words and keyword patterns.

What words mean, kept apart from the code that cuts phrases out of a text
(:mod:`.slot_phrases` and the ``slot_*`` extractors), so that teaching the
router a new room, colour or verb is an edit here. Everything is in the slot
normal form (:func:`.text.normalize_for_slots`: lower case, no punctuation).

* places: :data:`SV_AREAS`, :data:`EN_AREAS` (rooms and parts of a home);
* where a phrase ends: :data:`DETERMINERS`, :data:`STOP_AFTER_NAME`,
  :data:`PRONOUNS`, :data:`TIME_WORDS`, :data:`DEVICE_STOP`,
  :data:`WEATHER_NOT_LOCATION`;
* device control: :data:`COLORS`, the keyword patterns that pick a device
  action (:data:`VERB_PATTERNS`; timers, lists, broadcasts, docking), the
  words that open a question (:data:`QUERY_START`) and kinds of device
  (:data:`COVER_WORDS_RE`, :data:`LEVEL_WORDS_RE`, :data:`LIGHT_WORDS_RE`);
* mail: :data:`UNREAD_RE`.

Patterns here only recognise words; those that cut a phrase out (capture
groups, anchors) live with their extractor. This module is data, one word a
line, and so exempt from the 600-line limit on modules.
"""

import re
from typing import Final

from .numbers import MONTHS, WEEKDAYS

# --- places -----------------------------------------------------------------------

#: Swedish rooms and parts of a home, bare and definite ("kök", "köket").
SV_AREAS: Final = frozenset(
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
#: Endings of Swedish compounds that name a room ("tvrummet", "sommarköket").
SV_AREA_SUFFIXES: Final = ("rummet", "rum", "köket", "hallen", "våningen", "stugan")
#: English rooms and parts of a home, longest phrases first.
EN_AREAS: Final = (
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
#: :data:`EN_AREAS` as a regex alternation.
EN_AREA_ALT: Final = "|".join(re.escape(area) for area in EN_AREAS)

# --- where a phrase ends ----------------------------------------------------------

#: Words that may open a noun phrase ("min", "the", "hela").
DETERMINERS: Final = frozenset(
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
#: Words that end a name (prepositions, conjunctions, time words, courtesy).
STOP_AFTER_NAME: Final = frozenset(
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
#: Pronouns: never a name ("boka möte med mig").
PRONOUNS: Final = frozenset(
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
#: Days, months and parts of the day: never a name or a place.
TIME_WORDS: Final = frozenset(
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

# --- device control ---------------------------------------------------------------

#: Colours a light can be set to.
COLORS: Final = frozenset(
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
#: Covers (blinds, doors, gates): "höj persiennen" opens, not increases.
COVER_WORDS_RE: Final = re.compile(
    r"(persienn|gardin|rullgardin|markis|jalusi|solskydd|förhänge|port|dörr|fönster|lucka|"
    r"blind|shade|curtain|shutter|awning|garage door|gate|window|cover)"
)
#: Things turned up and down rather than opened and closed.
LEVEL_WORDS_RE: Final = re.compile(r"\b(?:volym|volume|värme|heat|ljud|sound|temperatur)")
#: Lights: "starta lampan" means turn it on.
LIGHT_WORDS_RE: Final = re.compile(r"\b(?:lamp|ljus|light|belysning)")
#: Timers, then what is done to one (status, decrease... checked in that order).
TIMER_RE: Final = re.compile(
    r"\w*(?:timer|timern|timers|timrar|timrarna|tidur|tiduret|tiduren|äggklocka|äggklockan|"
    r"nedräkning|nedräkningen|countdown)\b"
)
TIMER_STATUS_RE: Final = re.compile(
    r"\b(?:kvar|status|hur\s+lång|hur\s+mycket|how\s+long|how\s+much|left|remaining)\b"
)
TIMER_INCREASE_RE: Final = re.compile(
    r"\b(?:lägg\s+till|lägg\s+på|öka|förläng|add|increase|extend)\b"
)
TIMER_DECREASE_RE: Final = re.compile(
    r"\b(?:(?:ta|dra)\s+(?:bort|av)\s+\S+\s+(?:minut|sekund|timm)|minska|korta|"
    r"take\s+\S+\s+(?:minutes?|seconds?|hours?)|remove\s+\S+\s+(?:minutes?|seconds?|hours?)|"
    r"decrease|subtract|shorten|reduce)"
)
TIMER_CANCEL_RE: Final = re.compile(
    r"\b(?:stäng\s+av|stoppa|avbryt|ta\s+bort|radera|döda|cancel|stop|delete|remove|"
    r"turn\s+off|kill|clear)\b"
)
TIMER_PAUSE_RE: Final = re.compile(r"\b(?:pausa|pause|frys|hold)\b")
TIMER_RESUME_RE: Final = re.compile(
    r"\b(?:fortsätt|återuppta|starta\s+om|continue|resume|unpause|restart)\b"
)
#: Shopping and to-do lists, then removing and checking off items.
LIST_RE: Final = re.compile(r"\w*(?:lista|listan|listor|list|lappen)\b|\bshopping\b|\bgroceries\b")
LIST_REMOVE_RE: Final = re.compile(r"\b(?:ta\s+bort|stryk|radera|remove|delete|take)\b")
LIST_COMPLETE_RE: Final = re.compile(
    r"\b(?:bocka\s+av|bocka|markera|check\s+off|check|cross\s+off|tick\s+off|complete|mark)\b"
)
#: Announcing a message on every speaker.
BROADCAST_RE: Final = re.compile(
    r"\b(?:meddela\s+(?:alla|hela|i)|utropa|annonsera|ropa\s+ut|sänd|skicka\s+ut|"
    r"säg\s+(?:till|åt)\s+(?:alla|hela|barnen|familjen|\w+\s+i\s+högtalar\w*)|"
    r"säg\s+i\s+högtalar\w*|broadcast|announce|tell\s+(?:everyone|everybody|the\s+house|the\s+kids)|"
    r"let\s+everyone\s+know|call\s+everyone)\b"
)
#: Sending a vacuum back to its dock.
RETURN_RE: Final = re.compile(
    r"\b(?:skicka|kör|åk|gå|köra)\s+(?:\w+\s+)?(?:tillbaka|hem)\b|"
    r"\btill\s+(?:laddstation\w*|laddare\w*|docka\w*|basen|bas)\b|\bdocka\b|"
    r"\bladda\s+\w*dammsugar\w*|\b(?:return|send)\b.*\b(?:dock|base|charger|home)\b|"
    r"\bgo\s+home\b|\bdock\s+the\b"
)
#: First words of a question about a device ("är dörren låst").
QUERY_START: Final = frozenset(
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
#: Verbs that set a value ("sätt", "set"): with a number or colour, ``set``.
SET_VERB_RE: Final = re.compile(
    r"\b(?:sätt|sätta|ställ|ställa|ställ\s+in|ändra|justera|dimra|dimma|färga|byt|gör|"
    r"set|change|adjust|dim|make|turn|put|switch)\b"
)
#: A value in words: "till max", "full brightness".
TARGET_WORD_RE: Final = re.compile(
    r"\b(?:till|på|to|at)\s+(?:max|maximum|min|minimum|högsta|lägsta|full|fullt|halva|"
    r"the\s+(?:max|highest|lowest|maximum|minimum))\b|\b(?:max|maximal|minsta|full)\s+"
    r"(?:ljusstyrka|brightness)\b|\bto\s+max\b"
)
#: Verb phrases and the action each means; the earliest in the text wins.
VERB_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
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
#: Words that end a device name (prepositions, particles, states, courtesy).
DEVICE_STOP: Final = frozenset(
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

# --- mail and weather -------------------------------------------------------------

#: Unread (or new) mail.
UNREAD_RE: Final = re.compile(r"\b(?:olästa|oläst|nya|unread|new)\b")
#: Words after "i"/"in" that are not a place ("i morgon", "in the").
WEATHER_NOT_LOCATION: Final = frozenset(
    {
        *TIME_WORDS,
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
        # a preposition or the weather itself ends a place ("i umeå på lördag",
        # "vad blir det för väder i göteborg")
        "i",
        "på",
        "för",
        "till",
        "om",
        "och",
        "in",
        "on",
        "at",
        "for",
        "to",
        "and",
        "väder",
        "vädret",
        "weather",
    }
)
