"""Device-control slots: the action, the device, the area and a value.

``DEVICE_CONTROL`` covers everything Home Assistant does on its own, so the
action is one of: ``turn_on``, ``turn_off``, ``open``, ``close``, ``lock``,
``unlock``, ``set``, ``increase``, ``decrease``, ``start``, ``stop``,
``pause``, ``resume``, ``next``, ``previous``, ``mute``, ``query``,
``return_to_base`` (vacuums), ``add_item``, ``remove_item``, ``complete_item``
(shopping and to-do lists), ``broadcast``, and the timer actions
``timer_start``, ``timer_cancel``, ``timer_pause``, ``timer_resume``,
``timer_status``, ``timer_increase``, ``timer_decrease`` (or None).

Timers, lists, broadcasts and docking are recognised by their keywords first;
a question word at the start makes the action ``query``; otherwise the earliest
verb of :data:`.slot_words.VERB_PATTERNS` wins, and a value or colour turns a
setting verb into ``set``. The device is the noun phrase after the verb: one
word in Swedish, where compounds carry the meaning ("taklampan"), up to three
in English ("the desk fan").
"""

import re
from typing import Final

from .numbers import parse_number, word_number
from .slot_phrases import bare_area, find_area, is_area_phrase, normalize_area
from .slot_types import SlotContext, Slots
from .slot_words import (
    BROADCAST_RE,
    COLORS,
    COVER_WORDS_RE,
    DETERMINERS,
    DEVICE_STOP,
    LEVEL_WORDS_RE,
    LIGHT_WORDS_RE,
    LIST_COMPLETE_RE,
    LIST_RE,
    LIST_REMOVE_RE,
    QUERY_START,
    RETURN_RE,
    SET_VERB_RE,
    TARGET_WORD_RE,
    TIMER_CANCEL_RE,
    TIMER_DECREASE_RE,
    TIMER_INCREASE_RE,
    TIMER_PAUSE_RE,
    TIMER_RE,
    TIMER_RESUME_RE,
    TIMER_STATUS_RE,
    VERB_PATTERNS,
)

_LIST_ADD_RE: Final = re.compile(
    r"\b(?:lägg\s+till|lägg|skriv\s+upp|sätt\s+upp|skriv\s+in|skriv|för\s+upp|sätt|notera|"
    r"add|put|write\s+down|write|stick|jot\s+down)\s+(.+?)\s+(?:på|i|till|to|on|onto|in)\s+"
    r"(?:min\s+|mina\s+|vår\s+|den\s+|the\s+|my\s+|our\s+)?\w*\s?(?:lista|listan|list|lappen)\b"
)
_ACTION_VERB_END_RE: Final = re.compile(
    r"^(?:kan\s+du\s+|could\s+you\s+|can\s+you\s+|would\s+you\s+|please\s+|snälla\s+)?"
)
#: A change by an amount, not to a value: "höj värmen med två grader", "raise it by 5".
_BY_AMOUNT_RE: Final = re.compile(r"\b(?:med|by)\s+(?:\d+|[a-zåäö]+(?:-[a-z]+)?)\b")
_SPLIT_VERB_RE: Final = re.compile(r"^(?:turn|switch|power)\s+(.+?)\s+(?:on|off)$")


def _number_value(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _timer_action(text: str) -> str:
    if TIMER_STATUS_RE.search(text):
        return "timer_status"
    if TIMER_DECREASE_RE.search(text):
        return "timer_decrease"
    if TIMER_INCREASE_RE.search(text):
        return "timer_increase"
    if TIMER_CANCEL_RE.search(text):
        return "timer_cancel"
    if TIMER_PAUSE_RE.search(text):
        return "timer_pause"
    if TIMER_RESUME_RE.search(text):
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


def _device_action(text: str, tokens: list[str]) -> tuple[str | None, int, str | None]:
    """Return the device action, the end of its verb phrase and a split-verb object.

    The object is the phrase between a split verb and its particle ("turn the
    desk fan off" -> "the desk fan"), else None.
    """
    if TIMER_RE.search(text):
        return _timer_action(text), 0, None
    if LIST_RE.search(text):
        if LIST_REMOVE_RE.search(text):
            return "remove_item", 0, None
        if LIST_COMPLETE_RE.search(text):
            return "complete_item", 0, None
        if _LIST_ADD_RE.search(text):
            return "add_item", 0, None
    if BROADCAST_RE.search(text):
        return "broadcast", 0, None
    if RETURN_RE.search(text):
        return "return_to_base", 0, None
    start = _ACTION_VERB_END_RE.match(text)
    first = text[start.end() :].split(" ", 1)[0] if start else tokens[0]
    if first in QUERY_START:
        end = (start.end() if start else 0) + len(first)
        return "query", end, None
    has_value = _value(tokens) is not None or TARGET_WORD_RE.search(text) is not None
    has_color = any(token in COLORS for token in tokens)
    best: tuple[int, int, str, int, str] | None = None
    for priority, (pattern, verb_action) in enumerate(VERB_PATTERNS):
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
    if action in {"increase", "decrease"} and COVER_WORDS_RE.search(text):
        action = "open" if action == "increase" else "close"
    if (
        action in {"open", "close"}
        and not COVER_WORDS_RE.search(text)
        and LEVEL_WORDS_RE.search(text)
    ):
        action = "increase" if action == "open" else "decrease"
    relative = action in {"increase", "decrease"} and _BY_AMOUNT_RE.search(text)
    if (
        (has_value or has_color)
        and not relative
        and (action in {"increase", "decrease", "turn_on", "start"} or SET_VERB_RE.search(text))
        and action not in {"lock", "unlock", "pause", "next", "previous", "mute"}
    ):
        action = "set"
    if action == "start" and LIGHT_WORDS_RE.search(text):
        action = "turn_on"
    return action, end, split_object


def _device_name(text: str, verb_end: int, language: str, split: str | None) -> str | None:
    if verb_end <= 0:
        return None
    rest = (split if split is not None else text[verb_end:]).split()
    out: list[str] = []
    for token in rest:
        if not out and (token in DETERMINERS or token in {"det", "den", "de"}):
            continue
        if token in DEVICE_STOP or token[0].isdigit() or word_number(token) is not None:
            break
        if token in COLORS or token in QUERY_START:
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
    if device is not None and is_area_phrase(device):
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
    color = next((token for token in tokens if token in COLORS), None)
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
