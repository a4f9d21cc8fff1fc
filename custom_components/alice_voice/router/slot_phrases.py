"""Phrase pickers the slot extractors share: areas (rooms) and names.

* :func:`find_area` finds a room after a preposition ("i köket", "in the
  living room"), :func:`bare_area` one without ("och hallen också"), and
  :func:`normalize_area` strips the Swedish definite ending ("köket" -> "kök");
* :func:`take_name` takes a name or noun phrase ("anna", "min chef") from the
  start of a text, stopping at a preposition, time word or number.

The words themselves are in :mod:`.slot_words`.
"""

import re
from typing import Final

from .numbers import word_number
from .slot_words import (
    DETERMINERS,
    EN_AREA_ALT,
    EN_AREAS,
    PRONOUNS,
    STOP_AFTER_NAME,
    SV_AREA_SUFFIXES,
    SV_AREAS,
    TIME_WORDS,
)

_EN_AREA_RE: Final = re.compile(
    rf"\b(?:in|on|at|from|into|for)\s+(?:the\s+|my\s+|our\s+)?({EN_AREA_ALT}|\w+\s+room)\b"
)
_EN_BARE_AREA_RE: Final = re.compile(r"\b(upstairs|downstairs)\b")
_SV_AREA_RE: Final = re.compile(
    r"\b(?:i|på|inne\s+i|ute\s+på|uppe\s+på|nere\s+i|uppe\s+i|nere\s+på)\s+(?:hela\s+)?"
    r"(?:(lilla|stora|övre|nedre|gamla|nya)\s+)?([\w:-]+)"
)
_EN_KNOWN_AREA_RE: Final = re.compile(rf"\b({EN_AREA_ALT})\b")


def take_name(rest: str, max_tokens: int = 2) -> str | None:
    """Take a name or noun phrase from the start of ``rest``.

    An optional determiner ("min", "the", "hela"...) and up to ``max_tokens``
    tokens, stopping at a preposition, conjunction, time word or number.
    """
    out: list[str] = []
    taken = 0
    for index, token in enumerate(rest.split()):
        if index == 0 and token in DETERMINERS and token not in {"den", "det", "de", "dom"}:
            out.append(token)
            continue
        if token in STOP_AFTER_NAME or token in TIME_WORDS or token in PRONOUNS:
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


def area_sv(text: str) -> str | None:
    """Return a Swedish area after a preposition ("i köket", "uppe på vinden"), or None."""
    for match in _SV_AREA_RE.finditer(text):
        adjective, word = match.group(1), match.group(2)
        if word in SV_AREAS or (len(word) >= 5 and word.endswith(SV_AREA_SUFFIXES)):
            return f"{adjective} {word}" if adjective else word
    for token in text.split():
        if token.endswith("s") and token[:-1] in SV_AREAS and len(token) > 4:
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
    first, second = (area_sv, _area_en) if language == "sv" else (_area_en, area_sv)
    return first(text) or second(text)


def bare_area(text: str) -> str | None:
    """Return an area named without a preposition ("och hallen också", "the kitchen too")."""
    for token in text.split():
        if token in SV_AREAS and len(token) > 3:
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
    if last in SV_AREAS:
        for suffix in ("et", "en", "n", "t"):
            base = last[: -len(suffix)]
            if last.endswith(suffix) and base in SV_AREAS:
                words[-1] = base
                break
    return " ".join(words)


def is_area_phrase(phrase: str) -> bool:
    """Whether ``phrase`` names an area rather than a device or a place."""
    return phrase in SV_AREAS or phrase in EN_AREAS or phrase.endswith(" room")
