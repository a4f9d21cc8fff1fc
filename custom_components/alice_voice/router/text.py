"""Text normalisation and language detection shared by the classifier and the slots.

Two normal forms:

* :func:`normalize_for_model` is what the classifier sees: NFKC, case-folded,
  a colon or point between digits a space ("14:30" -> "14 30"), apostrophes and
  colons inside words dropped ("what's" -> "whats", "tv:n" -> "tvn"), every
  other non-alphanumeric character a space; then the spoken clean-up of
  :mod:`.spoken` (fillers and stutters removed, a wake word or greeting before
  a request and a polite tail after it set apart); then numbers by their digit
  shape however they were said (:func:`.numbers.number_shapes`: "14",
  "fjorton" -> "00", so "22 grader", "tjugotvå grader" and "19 grader" share
  features); truncated to :data:`MAX_MODEL_CHARS` characters at a word
  boundary. :func:`spoken_tokens` also returns what was set apart.
* :func:`normalize_for_slots` keeps digits, ``%``, ``°``, and ``:``, ``.``,
  apostrophes and hyphens inside words, so that "kl 13.30", "5:e", "50%",
  "e-post" and "friday's" survive; it gets the same spoken clean-up (numbers
  stay as said: the extractors read number words) and is truncated to
  :data:`MAX_SLOT_CHARS`.

Both are bounded: the input is cut to a few thousand characters before any
work is done, so a 20 000-character input costs no more than a long sentence.
"""

import re
from typing import Final
import unicodedata

from .numbers import number_shapes
from .spoken import FILLERS, SpokenWords, clean_words

__all__ = [
    "FILLERS",
    "MAX_MODEL_CHARS",
    "MAX_SLOT_CHARS",
    "SpokenWords",
    "detect_language",
    "language_hint",
    "normalize_for_model",
    "normalize_for_slots",
    "spoken_tokens",
    "tokens_for_model",
]

#: Characters of (normalised) text the classifier looks at.
MAX_MODEL_CHARS: Final = 300
#: Characters of (normalised) text the slot extractors look at.
MAX_SLOT_CHARS: Final = 400
#: Raw characters looked at before normalisation (NFKC may expand some).
_MAX_RAW_CHARS: Final = 2000

_INNER_MARK_RE: Final = re.compile(r"(?<=\w)['’´`:](?=\w)")
_NON_WORD_RE: Final = re.compile(r"[\W_]+")
_CLOCK_MARK_RE: Final = re.compile(r"(?<=\d)[:.](?=\d)")
_SLOT_DROP_RE: Final = re.compile(r"[^\w%°:.'’\-/+@]+")
_SLOT_DOT_RE: Final = re.compile(r"(?<!\w)[.:]|[.:](?!\w)")
_SLOT_EDGE_RE: Final = re.compile(r"(?<!\w)['’\-/+]|['’\-/+](?!\w)")

SWEDISH_WORDS: Final = frozenset(
    [
        "och",
        "att",
        "det",
        "som",
        "en",
        "ett",
        "är",
        "på",
        "för",
        "med",
        "till",
        "av",
        "inte",
        "jag",
        "du",
        "han",
        "hon",
        "vi",
        "ni",
        "de",
        "den",
        "har",
        "kan",
        "ska",
        "skall",
        "vill",
        "var",
        "vad",
        "hur",
        "när",
        "vem",
        "vilken",
        "vilka",
        "vilket",
        "varför",
        "mig",
        "dig",
        "oss",
        "er",
        "min",
        "mitt",
        "mina",
        "din",
        "ditt",
        "dina",
        "sin",
        "sitt",
        "sina",
        "här",
        "där",
        "nu",
        "då",
        "också",
        "även",
        "bara",
        "mycket",
        "lite",
        "mer",
        "mest",
        "alla",
        "allt",
        "inget",
        "ingen",
        "någon",
        "något",
        "imorgon",
        "idag",
        "igår",
        "ikväll",
        "övermorgon",
        "morgon",
        "kväll",
        "natt",
        "dag",
        "vecka",
        "helgen",
        "klockan",
        "kl",
        "timme",
        "minuter",
        "sekunder",
        "tack",
        "hej",
        "hejsan",
        "tja",
        "tjena",
        "hallå",
        "god",
        "snälla",
        "okej",
        "ja",
        "nej",
        "jo",
        "tänd",
        "släck",
        "stäng",
        "öppna",
        "sätt",
        "slå",
        "starta",
        "stoppa",
        "pausa",
        "höj",
        "sänk",
        "spela",
        "lägg",
        "boka",
        "skicka",
        "skriv",
        "mejla",
        "maila",
        "svara",
        "läs",
        "visa",
        "kolla",
        "påminn",
        "planera",
        "hjälp",
        "flytta",
        "ställ",
        "dra",
        "lås",
        "vrid",
        "gör",
        "blir",
        "bli",
        "finns",
        "ut",
        "upp",
        "ner",
        "av",
        "om",
        "från",
        "efter",
        "innan",
        "sen",
        "sedan",
        "eller",
        "men",
        "så",
        "går",
        "kommer",
        "behöver",
        "lampan",
        "lampor",
        "lamporna",
        "ljuset",
        "köket",
        "vardagsrummet",
        "sovrummet",
        "hallen",
        "badrummet",
        "fläkten",
        "värmen",
        "volymen",
        "musiken",
        "låt",
        "låten",
        "vädret",
        "regna",
        "väder",
        "kalendern",
        "möte",
        "mötet",
        "mejl",
        "mejlet",
        "inköpslistan",
        "timer",
        "timern",
        "datum",
        "veckodag",
        "måndag",
        "tisdag",
        "onsdag",
        "torsdag",
        "fredag",
        "lördag",
        "söndag",
    ]
)

ENGLISH_WORDS: Final = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "what",
        "whats",
        "when",
        "where",
        "who",
        "whom",
        "which",
        "why",
        "how",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "have",
        "has",
        "had",
        "you",
        "your",
        "yours",
        "me",
        "my",
        "mine",
        "we",
        "our",
        "us",
        "they",
        "their",
        "them",
        "he",
        "she",
        "his",
        "her",
        "him",
        "not",
        "no",
        "yes",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "hey",
        "bye",
        "good",
        "morning",
        "evening",
        "night",
        "today",
        "tomorrow",
        "yesterday",
        "tonight",
        "week",
        "weekend",
        "next",
        "last",
        "time",
        "date",
        "day",
        "turn",
        "switch",
        "set",
        "put",
        "add",
        "play",
        "pause",
        "stop",
        "start",
        "open",
        "close",
        "lock",
        "unlock",
        "dim",
        "make",
        "send",
        "email",
        "mail",
        "write",
        "reply",
        "read",
        "check",
        "show",
        "tell",
        "find",
        "book",
        "schedule",
        "remind",
        "plan",
        "help",
        "move",
        "cancel",
        "lights",
        "light",
        "lamp",
        "kitchen",
        "living",
        "room",
        "bedroom",
        "bathroom",
        "music",
        "song",
        "volume",
        "weather",
        "rain",
        "temperature",
        "calendar",
        "meeting",
        "inbox",
        "timer",
        "list",
        "shopping",
        "some",
        "any",
        "all",
        "everything",
        "up",
        "down",
        "off",
        "there",
        "here",
        "now",
        "then",
        "also",
        "too",
        "just",
        "about",
        "again",
        "much",
        "many",
        "more",
        "less",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "im",
        "ill",
        "id",
        "dont",
        "is",
        "isnt",
        "whats",
        "thats",
    ]
)

_SWEDISH_CHARS: Final = frozenset("åäö")


def _bounded(text: str) -> str:
    """Cut raw input before normalisation, so the work stays bounded."""
    return text[:_MAX_RAW_CHARS]


def _truncate_words(text: str, limit: int) -> str:
    """Truncate ``text`` to at most ``limit`` characters at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


def _model_words(text: str) -> list[str]:
    """Case-folded words of ``text`` with the classifier's punctuation rules."""
    folded = unicodedata.normalize("NFKC", _bounded(text)).casefold()
    folded = _CLOCK_MARK_RE.sub(" ", folded)
    folded = _INNER_MARK_RE.sub("", folded)
    return _NON_WORD_RE.sub(" ", folded).split()


def _truncate_tokens(tokens: list[str]) -> list[str]:
    """Keep the tokens that fit in :data:`MAX_MODEL_CHARS` characters (at least one)."""
    out: list[str] = []
    length = -1
    for token in tokens:
        length += len(token) + 1
        if length > MAX_MODEL_CHARS:
            if not out:
                out.append(token[:MAX_MODEL_CHARS])
            break
        out.append(token)
    return out


def spoken_tokens(text: str) -> SpokenWords:
    """Return the classifier's tokens of the request in ``text``, and what was said around it.

    ``words`` are the tokens of :func:`normalize_for_model`; ``prefix`` and
    ``tail`` the wake word, greeting or polite words set apart by
    :func:`.spoken.clean_words` (case-folded, numbers as said).
    """
    spoken = clean_words(_model_words(text))
    return SpokenWords(
        tuple(_truncate_tokens(number_shapes(list(spoken.words)))), spoken.prefix, spoken.tail
    )


def tokens_for_model(text: str) -> list[str]:
    """Return the tokens of :func:`normalize_for_model` (see the module docstring)."""
    return list(spoken_tokens(text).words)


def normalize_for_model(text: str) -> str:
    """Return the classifier's normal form of ``text`` (see the module docstring)."""
    return " ".join(tokens_for_model(text))


def normalize_for_slots(text: str) -> str:
    """Return the slot extractors' normal form of ``text``."""
    folded = unicodedata.normalize("NFKC", _bounded(text)).casefold()
    folded = folded.replace("’", "'").replace("´", "'")
    folded = _SLOT_DROP_RE.sub(" ", folded)
    folded = _SLOT_DOT_RE.sub(" ", folded)
    folded = _SLOT_EDGE_RE.sub(" ", folded)
    words = clean_words(folded.split()).words
    return _truncate_words(" ".join(words), MAX_SLOT_CHARS)


def detect_language(tokens: list[str], default: str = "sv") -> str:
    """Guess whether normalised ``tokens`` are Swedish ("sv") or English ("en").

    Counts tokens in small lists of frequent Swedish and English words, and
    tokens holding å, ä or ö. Ties (including no evidence at all) go to
    ``default``.
    """
    swedish = 0.0
    english = 0.0
    for token in tokens:
        if token in SWEDISH_WORDS:
            swedish += 1.0
        elif not _SWEDISH_CHARS.isdisjoint(token):
            swedish += 0.75
        if token in ENGLISH_WORDS:
            english += 1.0
    if swedish > english:
        return "sv"
    if english > swedish:
        return "en"
    return default


def language_hint(value: object) -> str | None:
    """Map a language tag ("sv", "sv-SE", "en_US", "English"...) to "sv"/"en"."""
    if not isinstance(value, str):
        return None
    tag = value.strip().casefold()[:2]
    if tag in {"sv", "en"}:
        return tag
    return None
