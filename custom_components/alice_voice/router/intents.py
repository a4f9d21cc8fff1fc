"""Intent, origin, path and reason vocabularies of the router, and latency estimates.

Estimated latency (``RouteDecision.estimated_latency_ms``) is a planning figure for
the caller (e.g. whether to play an earcon), not a measurement:

* local fast intents (``DEVICE_CONTROL``, ``TIME_DATE``): 50 ms, Home Assistant
  answers them without any model;
* ``WEATHER``: 100 ms, a Home Assistant weather entity;
* conversational fast intents (``GREETING``, ``ACKNOWLEDGMENT``, ``CLARIFICATION``,
  ``SIMPLE_QUESTION``): 300 ms, one short answer from the fast (cloud) model;
* think intents: 2000 ms for the first tool call plus 500 ms per extra tool the
  intent usually needs (see ``THINK_TOOLS``), e.g. ``CALENDAR_COMPLEX`` (calendar
  and mail) 2500 ms, ``MULTI_STEP_WORKFLOW`` 3000 ms; ``UNKNOWN`` and
  low-confidence decisions on a fast intent use the 2000 ms base;
* hybrid: 300 ms, the time to the first (fast) answer while the think path runs.
"""

from enum import StrEnum
from typing import Final


class Intent(StrEnum):
    """Everything the router can classify an utterance as."""

    GREETING = "GREETING"
    ACKNOWLEDGMENT = "ACKNOWLEDGMENT"
    CLARIFICATION = "CLARIFICATION"
    SIMPLE_QUESTION = "SIMPLE_QUESTION"
    WEATHER = "WEATHER"
    TIME_DATE = "TIME_DATE"
    DEVICE_CONTROL = "DEVICE_CONTROL"
    CALENDAR_QUERY = "CALENDAR_QUERY"
    CALENDAR_CREATE = "CALENDAR_CREATE"
    CALENDAR_COMPLEX = "CALENDAR_COMPLEX"
    EMAIL_ANALYSIS = "EMAIL_ANALYSIS"
    EMAIL_SEND = "EMAIL_SEND"
    SPOTIFY_SEARCH = "SPOTIFY_SEARCH"
    TASK_PLANNING = "TASK_PLANNING"
    MULTI_STEP_WORKFLOW = "MULTI_STEP_WORKFLOW"
    UNKNOWN = "UNKNOWN"


class Origin(StrEnum):
    """How the classifier arrived at its intent (``Classification.origin``).

    Attributes:
        MODEL: the classifier's top intent.
        EMPTY_INPUT: no words at all (empty, whitespace, emoji, symbols): ``UNKNOWN``.
        OUT_OF_VOCABULARY: no word seen in training and the model not near-certain:
            ``UNKNOWN``.
        CONTEXT_FOLLOW_UP: an elliptical follow-up: the previous turn's intent.
        GREETING_WORDS: nothing but greeting words and the assistant's name ("hej",
            "hallå alice", "alice", "good morning"): ``GREETING``.
        COMPOUND: read clause by clause: several requests in one utterance, or one
            request among greetings and thanks (see :mod:`.compound`).
    """

    MODEL = "model"
    EMPTY_INPUT = "empty_input"
    OUT_OF_VOCABULARY = "out_of_vocabulary"
    CONTEXT_FOLLOW_UP = "context_follow_up"
    GREETING_WORDS = "greeting_words"
    COMPOUND = "compound"


class RoutePath(StrEnum):
    """Where an utterance goes."""

    FAST = "fast"
    THINK = "think"
    HYBRID = "hybrid"


class RouteReason(StrEnum):
    """Why the router chose the path (the ``reason`` of a decision)."""

    SIMPLE_INTENT = "simple_intent"
    COMPLEX_INTENT = "complex_intent"
    LOW_CONFIDENCE = "low_confidence"
    UNKNOWN_INTENT = "unknown_intent"
    UNCERTAIN_MARGIN = "uncertain_margin"
    CONTEXT_FOLLOW_UP = "context_follow_up"
    #: Not the router's: Home Assistant's intent matcher recognised a device command
    #: before routing (the engine's device-first step).
    HA_INTENT_MATCH = "ha_intent_match"


FAST_INTENTS: Final = frozenset(
    {
        Intent.GREETING,
        Intent.ACKNOWLEDGMENT,
        Intent.CLARIFICATION,
        Intent.SIMPLE_QUESTION,
        Intent.WEATHER,
        Intent.TIME_DATE,
        Intent.DEVICE_CONTROL,
    }
)
THINK_INTENTS: Final = frozenset(
    {
        Intent.CALENDAR_QUERY,
        Intent.CALENDAR_CREATE,
        Intent.CALENDAR_COMPLEX,
        Intent.EMAIL_ANALYSIS,
        Intent.EMAIL_SEND,
        Intent.SPOTIFY_SEARCH,
        Intent.TASK_PLANNING,
        Intent.MULTI_STEP_WORKFLOW,
    }
)

#: Intents a short elliptical follow-up ("och i sovrummet?") can continue.
FOLLOWABLE_INTENTS: Final = frozenset(
    (FAST_INTENTS | THINK_INTENTS) - {Intent.GREETING, Intent.ACKNOWLEDGMENT, Intent.CLARIFICATION}
)

LOCAL_FAST_LATENCY_MS: Final = 50
WEATHER_LATENCY_MS: Final = 100
CLOUD_FAST_LATENCY_MS: Final = 300
HYBRID_LATENCY_MS: Final = 300
THINK_BASE_LATENCY_MS: Final = 2000
THINK_EXTRA_TOOL_LATENCY_MS: Final = 500

#: How many tools a think intent usually calls (the first is in the base latency).
THINK_TOOLS: Final[dict[Intent, int]] = {
    Intent.CALENDAR_QUERY: 1,
    Intent.CALENDAR_CREATE: 1,
    Intent.CALENDAR_COMPLEX: 2,
    Intent.EMAIL_ANALYSIS: 1,
    Intent.EMAIL_SEND: 1,
    Intent.SPOTIFY_SEARCH: 1,
    Intent.TASK_PLANNING: 2,
    Intent.MULTI_STEP_WORKFLOW: 3,
}

FAST_LATENCY_MS: Final[dict[Intent, int]] = {
    Intent.DEVICE_CONTROL: LOCAL_FAST_LATENCY_MS,
    Intent.TIME_DATE: LOCAL_FAST_LATENCY_MS,
    Intent.WEATHER: WEATHER_LATENCY_MS,
    Intent.GREETING: CLOUD_FAST_LATENCY_MS,
    Intent.ACKNOWLEDGMENT: CLOUD_FAST_LATENCY_MS,
    Intent.CLARIFICATION: CLOUD_FAST_LATENCY_MS,
    Intent.SIMPLE_QUESTION: CLOUD_FAST_LATENCY_MS,
}


def path_of(intent: Intent) -> RoutePath:
    """Return the path an intent takes when the router is sure of it."""
    return RoutePath.FAST if intent in FAST_INTENTS else RoutePath.THINK


def estimate_latency_ms(intent: Intent, path: RoutePath) -> int:
    """Return the planning latency of handling ``intent`` on ``path``."""
    if path is RoutePath.HYBRID:
        return HYBRID_LATENCY_MS
    if path is RoutePath.FAST:
        return FAST_LATENCY_MS.get(intent, CLOUD_FAST_LATENCY_MS)
    tools = THINK_TOOLS.get(intent, 1)
    return THINK_BASE_LATENCY_MS + THINK_EXTRA_TOOL_LATENCY_MS * (tools - 1)


def parse_intent(value: object) -> Intent | None:
    """Return the intent named by ``value`` (case-insensitive), or None."""
    if isinstance(value, Intent):
        return value
    if not isinstance(value, str):
        return None
    try:
        return Intent(value.strip().upper())
    except ValueError:
        return None
