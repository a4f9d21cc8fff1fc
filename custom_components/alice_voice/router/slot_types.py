"""The types slot extraction shares: a slot's JSON value and the extractors' context."""

from dataclasses import dataclass
import datetime as dt

type JSONValue = str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None
type Slots = dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class SlotContext:
    """What slot extraction needs besides the text."""

    now: dt.datetime
    language: str
