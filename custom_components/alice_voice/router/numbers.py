"""Swedish and English number words, ordinals, months and weekdays."""

from functools import lru_cache
import re
from typing import Final

_SV_ONES: Final = {
    "noll": 0,
    "en": 1,
    "ett": 1,
    "ena": 1,
    "två": 2,
    "tre": 3,
    "fyra": 4,
    "fem": 5,
    "sex": 6,
    "sju": 7,
    "åtta": 8,
    "nio": 9,
}
_SV_TEENS: Final = {
    "tio": 10,
    "elva": 11,
    "tolv": 12,
    "tretton": 13,
    "fjorton": 14,
    "femton": 15,
    "sexton": 16,
    "sjutton": 17,
    "arton": 18,
    "aderton": 18,
    "nitton": 19,
}
_SV_TENS: Final = {
    "tjugo": 20,
    "tjuge": 20,
    "trettio": 30,
    "tretti": 30,
    "fyrtio": 40,
    "förtio": 40,
    "fyrti": 40,
    "förti": 40,
    "femtio": 50,
    "femti": 50,
    "sextio": 60,
    "sexti": 60,
    "sjuttio": 70,
    "sjutti": 70,
    "åttio": 80,
    "åtti": 80,
    "nittio": 90,
    "nitti": 90,
}
_EN_SMALL: Final = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS: Final = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}

_SV_ORDINAL_ONES: Final = {
    "första": 1,
    "förste": 1,
    "andra": 2,
    "andre": 2,
    "tredje": 3,
    "fjärde": 4,
    "femte": 5,
    "sjätte": 6,
    "sjunde": 7,
    "åttonde": 8,
    "nionde": 9,
}
_SV_ORDINAL_TEENS: Final = {
    "tionde": 10,
    "elfte": 11,
    "tolfte": 12,
    "trettonde": 13,
    "fjortonde": 14,
    "femtonde": 15,
    "sextonde": 16,
    "sjuttonde": 17,
    "artonde": 18,
    "adertonde": 18,
    "nittonde": 19,
    "tjugonde": 20,
    "trettionde": 30,
}
_EN_ORDINAL_SMALL: Final = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}


def _build_sv_ordinals() -> dict[str, int]:
    out = {**_SV_ORDINAL_ONES, **_SV_ORDINAL_TEENS}
    for prefix, tens in (("tjugo", 20), ("tjuge", 20), ("trettio", 30), ("tretti", 30)):
        for word, value in _SV_ORDINAL_ONES.items():
            if tens + value <= 31:
                out[prefix + word] = tens + value
    return out


def _build_en_ordinals() -> dict[str, int]:
    out = dict(_EN_ORDINAL_SMALL)
    for prefix, tens in (("twenty", 20), ("thirty", 30)):
        for word, value in _EN_ORDINAL_SMALL.items():
            if value < 10 and tens + value <= 31:
                out[f"{prefix}-{word}"] = tens + value
                out[f"{prefix} {word}"] = tens + value
                out[prefix + word] = tens + value
    return out


SV_ORDINALS: Final = _build_sv_ordinals()
EN_ORDINALS: Final = _build_en_ordinals()
ORDINAL_WORDS: Final = {**SV_ORDINALS, **EN_ORDINALS}

MONTHS: Final = {
    "januari": 1,
    "january": 1,
    "jan": 1,
    "februari": 2,
    "february": 2,
    "feb": 2,
    "mars": 3,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "maj": 5,
    "may": 5,
    "juni": 6,
    "june": 6,
    "jun": 6,
    "juli": 7,
    "july": 7,
    "jul": 7,
    "augusti": 8,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "oktober": 10,
    "october": 10,
    "okt": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

WEEKDAYS: Final = {
    "måndag": 0,
    "monday": 0,
    "tisdag": 1,
    "tuesday": 1,
    "onsdag": 2,
    "wednesday": 2,
    "torsdag": 3,
    "thursday": 3,
    "fredag": 4,
    "friday": 4,
    "lördag": 5,
    "saturday": 5,
    "söndag": 6,
    "sunday": 6,
}

_ORDINAL_DIGITS_RE: Final = re.compile(r"^(\d{1,2})(?::?e|:?a|st|nd|rd|th)?$")


@lru_cache(maxsize=4096)
def word_number(word: str) -> int | None:
    """Return the value of one Swedish or English number word ("tjugotvå", "twelve")."""
    if word in _SV_ONES:
        return _SV_ONES[word]
    if word in _SV_TEENS:
        return _SV_TEENS[word]
    if word in _SV_TENS:
        return _SV_TENS[word]
    if word in _EN_SMALL:
        return _EN_SMALL[word]
    if word in _EN_TENS:
        return _EN_TENS[word]
    if word in {"hundra", "etthundra", "hundred"}:
        return 100
    if word.startswith("hundra") and len(word) > 6:
        rest = word_number(word[6:])
        return None if rest is None or rest >= 100 else 100 + rest
    for prefix, tens in _SV_TENS.items():
        if word.startswith(prefix) and len(word) > len(prefix):
            ones = _SV_ONES.get(word[len(prefix) :])
            if ones is not None and ones > 0:
                return tens + ones
    if "-" in word:
        head, _, tail = word.partition("-")
        if head in _EN_TENS and tail in _EN_SMALL and 0 < _EN_SMALL[tail] < 10:
            return _EN_TENS[head] + _EN_SMALL[tail]
    return None


def parse_number(tokens: list[str], index: int) -> tuple[float, int] | None:
    """Parse a number starting at ``tokens[index]``.

    Returns (value, tokens consumed) for digits ("22", "20.5", "20,5") and
    number words, including English two-word forms ("twenty one").
    """
    if index >= len(tokens):
        return None
    token = tokens[index].rstrip("%°")
    if re.fullmatch(r"\d+(?:[.,]\d+)?", token):
        return float(token.replace(",", ".")), 1
    value = word_number(token)
    if value is None:
        return None
    if value in _EN_TENS.values() and index + 1 < len(tokens):
        nxt = _EN_SMALL.get(tokens[index + 1])
        if token in _EN_TENS and nxt is not None and 0 < nxt < 10:
            return float(value + nxt), 2
    return float(value), 1


def ordinal_value(word: str) -> int | None:
    """Return the day number of an ordinal ("5:e", "femte", "5th", "fifth"), or None."""
    match = _ORDINAL_DIGITS_RE.match(word)
    if match:
        return int(match.group(1))
    return ORDINAL_WORDS.get(word)


#: Number words that are also ordinary words ("en lampa", "this one"): a number only
#: before a unit ("en timme", "one minute").
_ARTICLE_NUMBERS: Final = frozenset({"en", "ett", "ena", "one"})
#: Ordinals that also mean something else ("andra" is "other", "second" a unit).
_AMBIGUOUS_ORDINALS: Final = frozenset({"första", "förste", "andra", "andre", "first", "second"})
_UNITS: Final = frozenset(
    """
    minut minuter minuten minuterna timme timmar timmen timmarna halvtimme sekund sekunder
    grad grader graderna procent dag dagar dygn vecka veckor månad månader år kvart
    minute minutes hour hours second seconds degree degrees percent day days week weeks
    month months year years
    """.split()  # noqa: SIM905 - a word list reads best as text
)
_HUNDREDS: Final = frozenset({"hundra", "hundred"})
_DIGIT_ORDINAL_RE: Final = re.compile(r"^\d+(?:(e|a|te|de)|(st|nd|rd|th))$")
_DIGITS_RE: Final = re.compile(r"\d")


def _shape(value: int) -> str:
    """The digit shape of a number: 14 -> "00", 2026 -> "0000"."""
    return "0" * len(str(value))


def _word_value(tokens: list[str], index: int) -> tuple[int, int] | None:
    """Value and length of a spoken number at ``tokens[index]`` ("tjugo en", "tre hundra")."""
    token = tokens[index]
    nxt = tokens[index + 1] if index + 1 < len(tokens) else ""
    if token in _ARTICLE_NUMBERS and nxt not in _UNITS:
        return None
    value = word_number(token)
    if value is None:
        return None
    used = 1
    if 1 <= value <= 9 and nxt in _HUNDREDS:
        value, used = value * 100, 2
    elif value in _EN_TENS.values() or value in _SV_TENS.values():
        ones = word_number(nxt) if nxt else None
        if ones is not None and 0 < ones < 10:
            value, used = value + ones, 2
    return value, used


def number_shapes(tokens: list[str]) -> list[str]:
    """Replace numbers in classifier tokens by their digit shape, however they were said.

    "fjorton", "14" and "tjugo en" / "21" / "twenty one" all become "00", so the
    classifier sees "klockan fjorton" as "klockan 14" and "tjugoen grader" as "21
    grader". Digits become zeros ("2026" -> "0000"); an ordinal becomes "0e" in
    Swedish ("femte", "5:e") and "0th" in English ("fifth", "5th"), except the
    ambiguous "första", "andra", "first", "second"; "en", "ett" and "one" count
    only before a unit ("en timme"). Other words are kept.
    """
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if _DIGITS_RE.search(token):
            ordinal = _DIGIT_ORDINAL_RE.match(token)
            if ordinal:
                out.append("0e" if ordinal.group(1) else "0th")
            else:
                out.append(_DIGITS_RE.sub("0", token))
            index += 1
            continue
        spoken = _word_value(tokens, index)
        if spoken is not None:
            out.append(_shape(spoken[0]))
            index += spoken[1]
            continue
        if token in ORDINAL_WORDS and token not in _AMBIGUOUS_ORDINALS:
            out.append("0e" if token in SV_ORDINALS else "0th")
        else:
            out.append(token)
        index += 1
    return out
