"""Focus the think path: send the local model only the tools and context a turn needs.

Every prompt token costs time on a local model before the first word (about a
millisecond each on a typical GPU box), and Home Assistant's Assist API sends
every tool and an overview of every exposed entity. When the router is sure of
a think intent, the turn gets only its tool family:

* calendar and planning intents: calendar, to-do and date tools, no devices;
* mail intents: mail and date tools, no devices;
* music: media tools and the live context, with the device overview;
* device control (a command Home Assistant's own intents did not match): the
  device tools and the overview, without calendar, to-do and mail tools.

Anything else (unknown, low confidence, several steps, an escalation from the
cloud) keeps everything.

A question about the home's current state gets the live context up front (see
:func:`wants_live_context`), so the model answers in one round. So does a focus that would leave no tool at all.
Names are matched on their last part, so namespaced tools of merged APIs
("assist__intent__HassTurnOn") are recognised too.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import re
from typing import Final

from homeassistant.components.homeassistant.llm import DYNAMIC_CONTEXT_PROMPT
from homeassistant.helpers import llm

_CALENDAR: Final = ("calendar__", "todo__", "calendar", "todo", "getdatetime")
_MAIL: Final = ("google_mail", "gmail", "mail", "getdatetime")
_MEDIA: Final = ("media_player__", "hassmedia", "spotify", "getlivecontext", "getdatetime")
_NOT_DEVICE: Final = ("calendar", "todo__", "todo_", "mail")

#: Home Assistant's device overview in the Assist prompt: its instructions, the
#: "Static Context" line and the YAML list of exposed entities that follows.
_DEVICE_OVERVIEW_RE: Final = re.compile(
    re.escape(DYNAMIC_CONTEXT_PROMPT) + r"\nStatic Context:[^\n]*\n(?:(?:- |  )[^\n]*(?:\n|$))*"
)


@dataclass(frozen=True, slots=True)
class Focus:
    """What one kind of turn needs."""

    keep: tuple[str, ...] = ()  # tool name fragments to keep (empty: keep all)
    drop: tuple[str, ...] = ()  # tool name fragments to drop
    devices: bool = True  # whether the device overview stays in the prompt


FOCUS: Final[dict[str, Focus]] = {
    "CALENDAR_QUERY": Focus(keep=_CALENDAR, devices=False),
    "CALENDAR_CREATE": Focus(keep=_CALENDAR, devices=False),
    "CALENDAR_COMPLEX": Focus(keep=_CALENDAR + _MAIL, devices=False),
    "TASK_PLANNING": Focus(keep=_CALENDAR, devices=False),
    "EMAIL_ANALYSIS": Focus(keep=_MAIL, devices=False),
    "EMAIL_SEND": Focus(keep=_MAIL, devices=False),
    "SPOTIFY_SEARCH": Focus(keep=_MEDIA),
    "DEVICE_CONTROL": Focus(drop=_NOT_DEVICE),
}


def _matches(name: str, fragments: Sequence[str]) -> bool:
    lowered = name.lower()
    return any(fragment in lowered for fragment in fragments)


def focus_tools(intent: str | None, tools: Sequence[llm.Tool]) -> list[llm.Tool]:
    """Return the tools a turn with ``intent`` needs (all of them when unsure)."""
    focus = FOCUS.get(intent or "")
    if focus is None:
        return list(tools)
    kept = [
        tool
        for tool in tools
        if (not focus.keep or _matches(tool.name, focus.keep))
        and not _matches(tool.name, focus.drop)
    ]
    return kept or list(tools)


def focus_prompt(intent: str | None, prompt: str) -> str:
    """Return ``prompt`` without the device overview when the turn has no use for it."""
    focus = FOCUS.get(intent or "")
    if focus is None or focus.devices:
        return prompt
    return without_device_overview(prompt)


def without_device_overview(prompt: str, replacement: str = "") -> str:
    """Return ``prompt`` with Home Assistant's static device overview replaced."""
    return _DEVICE_OVERVIEW_RE.sub(lambda _: replacement, prompt, count=1)


def wants_live_context(intent: str | None, slots: Mapping[str, object]) -> bool:
    """Whether a think turn is about the home's current state.

    Questions about devices ("vilka lampor är tända?", action ``query``), device
    turns whose action the router could not tell ("hur ser det ut hemma?") and
    weather questions that Home Assistant's intents did not answer. For these
    the live context is fetched before the model starts and takes the static
    overview's place in the system prompt: the model answers in one round
    instead of first asking for it, and the prompt up to the question stays
    the same while the home's states do (a local model reuses its evaluation).
    """
    if intent == "WEATHER":
        return True
    return intent == "DEVICE_CONTROL" and slots.get("action") in {None, "query"}
