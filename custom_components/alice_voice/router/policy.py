"""The routing policy: classify an utterance, then decide fast, think or hybrid.

Routing policy, applied in this order to the classifier's ranking (after the
ASR confidence scaling described below):

1. **Unknown** - the input has no words (empty, whitespace, emoji, symbols), none
   of its words was seen in training and the character n-grams do not make the
   model at least 95 % sure of an intent (keyboard mash, binary garbage), or the
   top intent is ``UNKNOWN``: path ``think``, reason ``unknown_intent`` (the
   classification's origin says which: ``Origin.EMPTY_INPUT``,
   ``Origin.OUT_OF_VOCABULARY`` or ``Origin.MODEL``).
2. **Context follow-up** - the context names a previous intent (see below) that a
   follow-up can continue (anything but GREETING/ACKNOWLEDGMENT/CLARIFICATION/
   UNKNOWN), the utterance is elliptical, and the classifier does not say
   something else with near certainty (its top intent is the previous one, or
   its top confidence is below ``follow_up_override``, 0.99). Elliptical: at
   most 6 words, and either a bare adjustment ("lite till", "lite varmare",
   "a bit more"), or a fragment marked by its first words ("och", "än",
   "men", "samma", "and", "what about", "how about", "same"...) or last words
   ("också", "med", "too", "as well"...) whose other words hold no question
   word, request verb or courtesy ("och vad är klockan", "och tänd i hallen"
   and "och tack" are requests of their own). The intent is the
   previous one, its confidence ``max(p(previous), confidence_threshold)``, the
   path that intent's path, reason ``context_follow_up`` (origin
   ``Origin.CONTEXT_FOLLOW_UP``).
3. **Hybrid** - the top intent is a fast intent, the runner-up a think intent,
   together they hold at least ``hybrid_mass`` (0.9) of the probability, and the
   top is not decisive: below ``confidence_threshold`` or less than
   ``hybrid_margin`` (0.25) ahead of the runner-up. Path ``hybrid`` (answer fast,
   think in parallel), reason ``uncertain_margin``. This is checked before the
   low-confidence rule on purpose: a split between one fast and one think intent
   is confident about the pair, just not about which of the two.
4. **Low confidence** - top confidence below ``confidence_threshold`` (0.85):
   path ``think``, reason ``low_confidence``.
5. Otherwise a fast intent goes ``fast`` (reason ``simple_intent``) and a think
   intent goes ``think`` (reason ``complex_intent``).

The reported intent is always the classifier's top intent (or the followed
intent), with its slots, so the think path gets the best guess too.

Context (``context``, a mapping; every key optional, unknown keys and values of
the wrong type are ignored):

* ``previous_intent``: intent name of the previous turn ("DEVICE_CONTROL");
* ``conversation_history``: list of dicts with ``intent`` and/or ``text``, most
  recent last; the most recent valid ``intent`` is used when
  ``previous_intent`` is absent;
* ``now``: ISO 8601 string or ``datetime``; dates and times in slots are
  resolved against it (default: the current time);
* ``time_zone``: IANA name ("Europe/Stockholm"); default the zone of ``now``, or
  UTC; an aware ``now`` is converted to it;
* ``language``: "sv"/"en" (or a tag such as "sv-SE"), used when detection is
  undecided.

Audio features (``audio_features``, a mapping; all optional):

* ``confidence``: ASR confidence 0..1; every intent confidence is multiplied by
  it, so a poor transcript falls below the threshold and goes ``think``;
* ``language``: "sv-SE"/"en-US"..., used like ``context["language"]``;
* anything else (``duration_ms``...) is accepted and ignored.

Language: the ``language`` argument wins when given ("sv"/"en"/"sv-SE"...);
otherwise it is detected from the words, and ties go to the audio/context
language hint, then to Swedish.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
import datetime as dt
import logging
import math
import re
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .intents import (
    FAST_INTENTS,
    FOLLOWABLE_INTENTS,
    THINK_INTENTS,
    Intent,
    Origin,
    RoutePath,
    RouteReason,
    estimate_latency_ms,
    parse_intent,
    path_of,
)
from .model import RouterModel
from .slot_types import JSONValue, SlotContext, Slots
from .slots import extract_slots
from .text import detect_language, language_hint, normalize_for_slots, tokens_for_model

_LOGGER = logging.getLogger(__name__)

DEFAULT_CONFIDENCE_THRESHOLD: Final = 0.85
DEFAULT_HYBRID_MASS: Final = 0.9
DEFAULT_HYBRID_MARGIN: Final = 0.25
DEFAULT_FOLLOW_UP_OVERRIDE: Final = 0.99
MAX_ALTERNATIVES: Final = 3
MAX_FOLLOW_UP_WORDS: Final = 6
#: A sentence with no known word is UNKNOWN unless the model is at least this sure.
OUT_OF_VOCABULARY_OVERRIDE: Final = 0.95
#: Origins that mean the classifier found no intent at all.
_NO_INTENT_ORIGINS: Final = frozenset({Origin.EMPTY_INPUT, Origin.OUT_OF_VOCABULARY})

_FOLLOW_UP_START_RE: Final = re.compile(
    r"^(?:och|än|men|samma|också|även|likaså|sen|samt|eller|and|what\s+about|how\s+about|"
    r"same|also|then|or|plus)\b"
)
#: Words that make a marked fragment a new request of its own ("och vad är klockan").
_SELF_CONTAINED_WORDS: Final = frozenset(
    """
    vad vilken vilket vilka hur när var vart vem varför är har kan ska tänd släck stäng
    öppna sätt slå starta stoppa pausa spela boka skicka skriv mejla maila svara läs
    visa kolla påminn planera lägg flytta ring hjälp berätta säg höj sänk lås fortsätt
    avbryt ställ ändra aktivera tack hej
    what when how where who which why is are do does can could will turn switch set
    play pause stop start open close lock unlock book schedule send email write reply
    read show check remind plan add put move call help tell say raise lower dim make
    cancel find thanks thank hi hello bye
    """.split()  # noqa: SIM905 - a word list reads best as text
)
_FOLLOW_UP_END_RE: Final = re.compile(r"\b(?:också|med|likaså|too|as\s+well|also)$")
_ADJUST_RE: Final = re.compile(
    r"^(?:(?:lite|ännu|mycket|något|bara|a|bit|little|lot|much|even|some|just|slightly)\s+)*"
    r"(?:till|mer|mindre|högre|lägre|varmare|kallare|ljusare|mörkare|starkare|svagare|"
    r"more|less|higher|lower|warmer|cooler|colder|brighter|darker|louder|quieter)$"
)


@dataclass(frozen=True, slots=True)
class Alternative:
    """An intent and its confidence."""

    intent: Intent
    confidence: float

    def to_dict(self) -> dict[str, JSONValue]:
        """Return ``{"intent", "confidence"}`` with the confidence rounded to 4 decimals."""
        return {"intent": str(self.intent), "confidence": round(self.confidence, 4)}


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classifier (plus the follow-up rule) made of an utterance.

    Attributes:
        intent: the chosen intent.
        confidence: its confidence, 0..1.
        alternatives: the next intents by confidence (at most 3), without ``intent``.
        language: "sv" or "en".
        ranking: every intent with its model probability, best first.
        origin: how the intent was chosen (see :class:`~.intents.Origin`).
        text: the normalised text the model saw.
    """

    intent: Intent
    confidence: float
    alternatives: tuple[Alternative, ...]
    language: str
    ranking: tuple[Alternative, ...] = ()
    origin: Origin = Origin.MODEL
    text: str = ""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The router's decision for one utterance; ``to_dict()`` is the API body."""

    intent: Intent
    confidence: float
    path: RoutePath
    reason: RouteReason
    estimated_latency_ms: int
    slots: Slots = field(default_factory=dict)
    alternatives: tuple[Alternative, ...] = ()
    language: str = "sv"

    def to_dict(self) -> dict[str, JSONValue]:
        """Return exactly the JSON body of the routing API."""
        return {
            "intent": {
                "name": str(self.intent),
                "confidence": round(self.confidence, 4),
                "slots": dict(self.slots),
            },
            "routing_decision": {
                "path": str(self.path),
                "reason": str(self.reason),
                "estimated_latency_ms": self.estimated_latency_ms,
            },
            "alternatives": [alternative.to_dict() for alternative in self.alternatives],
        }


@dataclass(frozen=True, slots=True)
class RouteContext:
    """The parsed, validated ``context`` and ``audio_features`` of one call."""

    previous_intent: Intent | None = None
    now: dt.datetime | None = None
    language_hint: str | None = None
    asr_confidence: float = 1.0

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
        confidence = audio.get("confidence")
        asr = 1.0
        if isinstance(confidence, int | float) and not isinstance(confidence, bool):
            value = float(confidence)
            if not math.isnan(value):
                asr = min(1.0, max(0.0, value))
        return cls(
            previous_intent=previous,
            now=_parse_now(ctx.get("now"), ctx.get("time_zone")),
            language_hint=hint,
            asr_confidence=asr,
        )


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


def _is_elliptical(text: str, words: int) -> bool:
    """Whether ``text`` (model-normalised) is a fragment that continues the last turn."""
    if not 0 < words <= MAX_FOLLOW_UP_WORDS:
        return False
    if _ADJUST_RE.match(text):
        return True
    start = _FOLLOW_UP_START_RE.search(text)
    end = _FOLLOW_UP_END_RE.search(text)
    if not start and not end:
        return False
    rest = text[start.end() if start else 0 : end.start() if end else len(text)].split()
    return _SELF_CONTAINED_WORDS.isdisjoint(rest)


def _coerce_text(text: object) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, bytes | bytearray):
        return bytes(text[:8192]).decode("utf-8", errors="replace")
    return ""


class IntentRouter:
    """Classify utterances and route them to the fast, think or hybrid path.

    Pure Python + numpy; no Home Assistant. Loading the model reads a file, so
    construct the router (or :meth:`RouterModel.load`) in an executor; ``route``
    and ``classify`` are sub-millisecond and safe to call on the event loop.
    """

    def __init__(
        self,
        model: RouterModel | None = None,
        confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
        *,
        hybrid_mass: float = DEFAULT_HYBRID_MASS,
        hybrid_margin: float = DEFAULT_HYBRID_MARGIN,
        follow_up_override: float = DEFAULT_FOLLOW_UP_OVERRIDE,
    ) -> None:
        """Create a router; without ``model`` the shipped weights are loaded."""
        self.model = model if model is not None else RouterModel.load()
        self.confidence_threshold = float(confidence_threshold)
        self.hybrid_mass = float(hybrid_mass)
        self.hybrid_margin = float(hybrid_margin)
        self.follow_up_override = float(follow_up_override)

    # --- classification ----------------------------------------------------------

    def classify(
        self, text: str, language: str | None = None, context: Mapping[str, object] | None = None
    ) -> Classification:
        """Classify ``text`` (Swedish or English, ASR-style or typed); never raises."""
        return self._classify(_coerce_text(text), language, RouteContext.parse(context))

    def _classify(self, text: str, language: str | None, ctx: RouteContext) -> Classification:
        tokens = tokens_for_model(text)
        normalized = " ".join(tokens)
        lang = language_hint(language) or detect_language(tokens, ctx.language_hint or "sv")
        if not any(token.strip("0") for token in tokens):
            return Classification(
                Intent.UNKNOWN, 1.0, (), lang, origin=Origin.EMPTY_INPUT, text=normalized
            )
        vector = self.model.features(tokens)
        probabilities = self.model.probabilities(vector).tolist()
        ranking = tuple(
            sorted(
                (
                    Alternative(label, float(p))
                    for label, p in zip(self.model.labels, probabilities, strict=True)
                ),
                key=lambda alternative: -alternative.confidence,
            )
        )
        top = ranking[0]
        origin = Origin.MODEL
        intent, confidence = top.intent, top.confidence
        if vector.known_words == 0 and (
            top.intent is Intent.UNKNOWN or top.confidence < OUT_OF_VOCABULARY_OVERRIDE
        ):
            intent, confidence, origin = Intent.UNKNOWN, 1.0, Origin.OUT_OF_VOCABULARY
        elif (
            ctx.previous_intent in FOLLOWABLE_INTENTS
            and _is_elliptical(normalized, len(tokens))
            and (top.intent == ctx.previous_intent or top.confidence < self.follow_up_override)
        ):
            intent = ctx.previous_intent
            previous_p = next(a.confidence for a in ranking if a.intent == intent)
            confidence = max(previous_p, self.confidence_threshold)
            origin = Origin.CONTEXT_FOLLOW_UP
        alternatives = tuple(a for a in ranking if a.intent != intent)[:MAX_ALTERNATIVES]
        return Classification(
            intent, confidence, alternatives, lang, ranking, origin=origin, text=normalized
        )

    # --- routing -----------------------------------------------------------------

    def route(
        self,
        text: str,
        language: str | None = None,
        audio_features: Mapping[str, object] | None = None,
        context: Mapping[str, object] | None = None,
    ) -> RouteDecision:
        """Classify ``text`` and decide its path (see the module docstring); never raises."""
        raw = _coerce_text(text)
        ctx = RouteContext.parse(context, audio_features)
        result = self._classify(raw, language, ctx)
        scale = ctx.asr_confidence
        confidence = result.confidence * scale
        alternatives = tuple(
            Alternative(a.intent, a.confidence * scale) for a in result.alternatives
        )
        intent = result.intent
        if intent is Intent.UNKNOWN or result.origin in _NO_INTENT_ORIGINS:
            path, reason = RoutePath.THINK, RouteReason.UNKNOWN_INTENT
        elif result.origin is Origin.CONTEXT_FOLLOW_UP:
            path, reason = path_of(intent), RouteReason.CONTEXT_FOLLOW_UP
        elif self._is_hybrid(intent, confidence, alternatives):
            path, reason = RoutePath.HYBRID, RouteReason.UNCERTAIN_MARGIN
        elif confidence < self.confidence_threshold:
            path, reason = RoutePath.THINK, RouteReason.LOW_CONFIDENCE
        elif intent in FAST_INTENTS:
            path, reason = RoutePath.FAST, RouteReason.SIMPLE_INTENT
        else:
            path, reason = RoutePath.THINK, RouteReason.COMPLEX_INTENT
        return RouteDecision(
            intent=intent,
            confidence=confidence,
            path=path,
            reason=reason,
            estimated_latency_ms=estimate_latency_ms(intent, path),
            slots=self._slots(intent, raw, result.language, ctx),
            alternatives=alternatives,
            language=result.language,
        )

    def _is_hybrid(
        self, intent: Intent, confidence: float, alternatives: tuple[Alternative, ...]
    ) -> bool:
        if intent not in FAST_INTENTS or not alternatives:
            return False
        runner_up = alternatives[0]
        if runner_up.intent not in THINK_INTENTS:
            return False
        if confidence + runner_up.confidence < self.hybrid_mass:
            return False
        return (
            confidence < self.confidence_threshold
            or confidence - runner_up.confidence < self.hybrid_margin
        )

    def _slots(self, intent: Intent, raw: str, language: str, ctx: RouteContext) -> Slots:
        now = ctx.now or dt.datetime.now(dt.UTC)
        try:
            return extract_slots(intent, normalize_for_slots(raw), SlotContext(now, language))
        except Exception:
            _LOGGER.exception("Slot extraction failed for intent %s", intent)
            return {}

    # --- explanation ---------------------------------------------------------------

    def explain(self, text: str, top_n: int = 8) -> dict[str, list[tuple[str, float]]]:
        """Return, per top intent, the features that pushed it up the most.

        For the best three intents of :meth:`classify`, the ``top_n`` feature
        strings ("w|tänd", "<tä", "b|<s> tänd"...) with the largest weight
        towards that intent (already divided by the feature-count norm).
        """
        result = self.classify(text)
        tokens = result.text.split()
        intents = [a.intent for a in result.ranking[:3]] or [result.intent]
        return {str(intent): self.model.contributions(tokens, intent, top_n) for intent in intents}
