"""The parsed, validated ``context`` and ``audio_features`` of one routing call.

See :mod:`.policy` for what each key means. Anything malformed is ignored:
a wrong type, an unknown intent name, a bad time zone, a NaN.

How far a transcript is trusted (:meth:`RouteContext.transcript_reliability`,
the factor every intent confidence is multiplied by) comes from the audio
features: the recogniser's ``confidence`` (0..1), times
:data:`IMPLAUSIBLE_TRANSCRIPT` (0.8) when ``duration_ms`` does not fit the
number of words (more than :data:`MAX_WORDS_PER_SECOND`, 6, a second: more
words than the audio can hold; or fewer than :data:`MIN_WORDS_PER_SECOND`,
0.5, a second over at least 2.5 s: part of the speech was not recognised),
times :data:`UNUSUAL_SPEAKING_RATE` (0.9) when ``speaking_rate`` (1.0 =
normal) is outside :data:`SPEAKING_RATE_RANGE` (0.5-2.0), where recognition
slips are more likely.
"""

from collections.abc import Mapping
from dataclasses import dataclass
import datetime as dt
import math
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .intents import Intent, parse_intent
from .text import language_hint

#: Words a second of speech can hold; more in the transcript than this is implausible.
MAX_WORDS_PER_SECOND: Final = 6.0
#: Fewer words a second than this over a long recording: part of it was not recognised.
MIN_WORDS_PER_SECOND: Final = 0.5
#: Shortest recording (ms) for which few words a second counts as a lost part.
MIN_SLOW_DURATION_MS: Final = 2500.0
#: A speaking rate (1.0 = normal) outside this range makes recognition slips likely.
SPEAKING_RATE_RANGE: Final = (0.5, 2.0)
#: What an implausible transcript or speaking rate multiplies the confidence by.
IMPLAUSIBLE_TRANSCRIPT: Final = 0.8
UNUSUAL_SPEAKING_RATE: Final = 0.9


@dataclass(frozen=True, slots=True)
class RouteContext:
    """The parsed, validated ``context`` and ``audio_features`` of one call."""

    previous_intent: Intent | None = None
    now: dt.datetime | None = None
    language_hint: str | None = None
    asr_confidence: float = 1.0
    duration_ms: float | None = None
    speaking_rate: float | None = None

    @classmethod
    def parse(cls, context: object, audio_features: object = None) -> RouteContext:
        """Build from loosely typed mappings; anything malformed is ignored."""
        ctx = context if isinstance(context, Mapping) else {}
        audio = audio_features if isinstance(audio_features, Mapping) else {}
        previous = parse_intent(ctx.get("previous_intent"))
        history = ctx.get("conversation_history")
        if previous is None and isinstance(history, list | tuple):
            for item in reversed(history):
                if isinstance(item, Mapping):
                    previous = parse_intent(item.get("intent"))
                    if previous is not None:
                        break
        hint = language_hint(audio.get("language")) or language_hint(ctx.get("language"))
        confidence = _number(audio.get("confidence"))
        return cls(
            previous_intent=previous,
            now=_parse_now(ctx.get("now"), ctx.get("time_zone")),
            language_hint=hint,
            asr_confidence=1.0 if confidence is None else min(1.0, max(0.0, confidence)),
            duration_ms=_positive(audio.get("duration_ms")),
            speaking_rate=_positive(audio.get("speaking_rate")),
        )

    def transcript_reliability(self, words: int) -> float:
        """How far to trust a transcript of ``words`` words (see the module docstring)."""
        reliability = self.asr_confidence
        seconds = self.duration_ms / 1000.0 if self.duration_ms is not None else 0.0
        if self.duration_ms is not None and words and seconds > 0:  # 5e-324 ms is 0.0 s
            per_second = words / seconds
            too_slow = (
                per_second < MIN_WORDS_PER_SECOND and self.duration_ms >= MIN_SLOW_DURATION_MS
            )
            if per_second > MAX_WORDS_PER_SECOND or too_slow:
                reliability *= IMPLAUSIBLE_TRANSCRIPT
        low, high = SPEAKING_RATE_RANGE
        if self.speaking_rate is not None and not low <= self.speaking_rate <= high:
            reliability *= UNUSUAL_SPEAKING_RATE
        return reliability


def _number(value: object) -> float | None:
    """A finite int or float (not a bool), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    return None


def _positive(value: object) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _zone(name: object) -> dt.tzinfo | None:
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except ZoneInfoNotFoundError, ValueError, OSError:
        return None


def _parse_now(value: object, time_zone: object) -> dt.datetime | None:
    zone = _zone(time_zone)
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        return dt.datetime.now(zone or dt.UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone or dt.UTC)
    return moment.astimezone(zone) if zone is not None else moment
