"""The routing policy: classify an utterance, then decide fast, think or hybrid.

What the classifier reads is the request: :func:`.text.spoken_tokens` drops
fillers and stutters, sets a leading wake word or greeting ("hej alice", "okej
alice", "god morgon alice") and a polite tail ("tack", "är du snäll",
"please") apart when a request comes with them, and writes numbers by their
digit shape however they were said ("klockan fjorton" reads as "klockan 14");
see :mod:`.spoken` and :func:`.numbers.number_shapes`. The greeting said
before a request is kept as ``prefix`` of the decision, for the answer. The
slots are read from the same request (numbers as said).

Routing policy, applied in this order to the classifier's ranking (after the
transcript scaling described below):

1. **Unknown** - the input has no words (empty, whitespace, emoji, symbols), none
   of its words was seen in training and the character n-grams do not make the
   model at least 95 % sure of an intent (keyboard mash), at least a tenth of
   its characters are control characters (binary garbage), or the top intent
   is ``UNKNOWN``: path ``think``, reason ``unknown_intent`` (the
   classification's origin says which: ``Origin.EMPTY_INPUT``,
   ``Origin.OUT_OF_VOCABULARY`` or ``Origin.MODEL``).
   Nothing but greeting words and the name ("hej", "hallå alice", "alice",
   "good morning", :func:`.spoken.is_greeting`) is ``GREETING``, confidence 1,
   whatever the model says (``Origin.GREETING_WORDS``).
2. **Context follow-up** - the context names a previous intent (see below) that a
   follow-up can continue (anything but GREETING/ACKNOWLEDGMENT/CLARIFICATION/
   UNKNOWN), the utterance is elliptical, and the classifier does not say
   something else with near certainty (its top intent for the fragment, marker
   words left out, is the previous one, or its top confidence is below
   ``follow_up_override``, 0.99). Elliptical: at
   most 6 words, and either a bare adjustment ("lite till", "lite varmare",
   "a bit more"), or a fragment marked by its first words ("och", "än",
   "men", "samma", "and", "what about", "how about", "same"...) or last words
   ("också", "med", "too", "as well"...) whose other words hold no question
   word, request verb or courtesy ("och vad är klockan", "och tänd i hallen"
   and "och tack" are requests of their own). The intent is the
   previous one, its confidence ``max(p(previous), confidence_threshold)``, the
   path that intent's path, reason ``context_follow_up`` (origin
   ``Origin.CONTEXT_FOLLOW_UP``). A polite tail does not stop a fragment from
   being elliptical ("lite till tack").
3. **Clauses** - otherwise an utterance with a request after "och", "sen",
   "and", "then"... is read clause by clause (:mod:`.compound`): when every
   clause's top intent has at least ``CLAUSE_CONFIDENCE`` (0.5), two device
   commands, or requests of different kinds ("tänd i köket och boka möte med
   anna imorgon") are ``MULTI_STEP_WORKFLOW`` (think, every tool: never half
   done), calendar and mail requests ``CALENDAR_COMPLEX``, and one request
   among thanks or greetings ("tack och släck i hallen") that request; the
   confidence is the least sure request clause's (origin ``Origin.COMPOUND``).
4. **Hybrid** - the top intent is a fast intent, the runner-up a think intent,
   together they hold at least ``hybrid_mass`` (0.9) of the probability, and the
   top is not decisive: below ``confidence_threshold`` or less than
   ``hybrid_margin`` (0.25) ahead of the runner-up. Path ``hybrid`` (answer fast,
   think in parallel), reason ``uncertain_margin``. This is checked before the
   low-confidence rule on purpose: a split between one fast and one think intent
   is confident about the pair, just not about which of the two.
5. **Low confidence** - top confidence below ``confidence_threshold`` (0.85):
   path ``think``, reason ``low_confidence``.
6. Otherwise a fast intent goes ``fast`` (reason ``simple_intent``) and a think
   intent goes ``think`` (reason ``complex_intent``).

The reported intent is always the classifier's top intent (or the followed or
clause-read intent), with its slots, so the think path gets the best guess too.

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

Audio features (``audio_features``, a mapping; all optional): every intent
confidence is multiplied by how far the transcript is trusted
(:meth:`.context.RouteContext.transcript_reliability`), so a poor transcript
falls below the threshold and goes ``think``:

* ``confidence``: ASR confidence 0..1, the base of that factor;
* ``duration_ms``: with the number of words, ×0.8 when they do not fit (more
  than 6 words a second, or fewer than 0.5 a second over 2.5 s or more);
* ``speaking_rate``: 1.0 = normal; ×0.9 outside 0.5-2.0;
* ``language``: "sv-SE"/"en-US"..., used like ``context["language"]``;
* anything else (``energy_level``...) is accepted and ignored.

Language: the ``language`` argument wins when given ("sv"/"en"/"sv-SE"...);
otherwise it is detected from the words, and ties go to the audio/context
language hint, then to Swedish.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
import datetime as dt
import logging
import re
from typing import Final

from .compound import combined_intent, split_clauses
from .context import RouteContext
from .intents import (
    FAST_INTENTS,
    FOLLOWABLE_INTENTS,
    THINK_INTENTS,
    Intent,
    Origin,
    RoutePath,
    RouteReason,
    estimate_latency_ms,
    path_of,
)
from .model import RouterModel
from .slot_types import JSONValue, SlotContext, Slots
from .slots import extract_slots
from .spoken import is_greeting
from .text import detect_language, language_hint, normalize_for_slots, spoken_tokens

_LOGGER = logging.getLogger(__name__)

DEFAULT_CONFIDENCE_THRESHOLD: Final = 0.85
DEFAULT_HYBRID_MASS: Final = 0.9
DEFAULT_HYBRID_MARGIN: Final = 0.25
DEFAULT_FOLLOW_UP_OVERRIDE: Final = 0.99
MAX_ALTERNATIVES: Final = 3
MAX_FOLLOW_UP_WORDS: Final = 6
#: A sentence with no known word is UNKNOWN unless the model is at least this sure.
OUT_OF_VOCABULARY_OVERRIDE: Final = 0.95
#: Input with at least this share of control characters is binary garbage.
BINARY_SHARE: Final = 0.1
_MAX_SCANNED_CHARS: Final = 2000
_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
#: Origins that mean the classifier found no intent at all.
_NO_INTENT_ORIGINS: Final = frozenset({Origin.EMPTY_INPUT, Origin.OUT_OF_VOCABULARY})
#: Intents that ask for something (not a greeting, thanks, clarification or nothing).
_REQUEST_INTENTS: Final = (FAST_INTENTS | THINK_INTENTS) - {
    Intent.GREETING,
    Intent.ACKNOWLEDGMENT,
    Intent.CLARIFICATION,
}
#: A clause's intent counts in a compound reading only when the model gives it this much.
CLAUSE_CONFIDENCE: Final = 0.5

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
#: A polite ending, left out when deciding whether a fragment is elliptical ("lite till tack").
_POLITE_END_RE: Final = re.compile(
    r"(?<=\w)\s+(?:tack(?:\s+så\s+mycket)?|tusen\s+tack|snälla|är\s+du\s+snäll|please|thanks|"
    r"thank\s+you)$"
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
        text: the normalised text the model saw (the request).
        prefix: the wake word, name or greeting said before the request
            ("god morgon alice"), case-folded; empty when there was none.
    """

    intent: Intent
    confidence: float
    alternatives: tuple[Alternative, ...]
    language: str
    ranking: tuple[Alternative, ...] = ()
    origin: Origin = Origin.MODEL
    text: str = ""
    prefix: str = ""


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
    #: The wake word or greeting said before the request ("hej alice"), for the answer.
    prefix: str = ""

    def to_dict(self) -> dict[str, JSONValue]:
        """Return exactly the JSON body of the routing API (``prefix`` is not part of it)."""
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


def _is_elliptical(text: str, words: int) -> bool:
    """Whether ``text`` (model-normalised) is a fragment that continues the last turn."""
    if not 0 < words <= MAX_FOLLOW_UP_WORDS:
        return False
    text = _POLITE_END_RE.sub("", text)
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
        spoken = spoken_tokens(text)
        tokens = list(spoken.words)
        normalized = " ".join(tokens)
        prefix = " ".join(spoken.prefix)
        lang = language_hint(language) or detect_language(
            [*spoken.prefix, *tokens, *spoken.tail], ctx.language_hint or "sv"
        )
        if not any(token.strip("0") for token in tokens):
            return Classification(
                Intent.UNKNOWN, 1.0, (), lang, origin=Origin.EMPTY_INPUT, text=normalized
            )
        if len(_CONTROL_RE.findall(text[:_MAX_SCANNED_CHARS])) >= BINARY_SHARE * min(
            len(text), _MAX_SCANNED_CHARS
        ):
            return Classification(
                Intent.UNKNOWN, 1.0, (), lang, origin=Origin.OUT_OF_VOCABULARY, text=normalized
            )
        if is_greeting(tokens):
            return Classification(
                Intent.GREETING, 1.0, (), lang, origin=Origin.GREETING_WORDS, text=normalized
            )
        ranking, known_words = self._rank(tokens)
        top = ranking[0]
        origin = Origin.MODEL
        intent, confidence = top.intent, top.confidence
        if known_words == 0 and (
            top.intent is Intent.UNKNOWN or top.confidence < OUT_OF_VOCABULARY_OVERRIDE
        ):
            intent, confidence, origin = Intent.UNKNOWN, 1.0, Origin.OUT_OF_VOCABULARY
        elif (
            ctx.previous_intent in FOLLOWABLE_INTENTS
            and _is_elliptical(normalized, len(tokens))
            and self._may_follow(tokens, top, ctx.previous_intent)
        ):
            intent = ctx.previous_intent
            previous_p = next(a.confidence for a in ranking if a.intent == intent)
            confidence = max(previous_p, self.confidence_threshold)
            origin = Origin.CONTEXT_FOLLOW_UP
        elif (compound := self._read_clauses(tokens, top.intent)) is not None:
            intent, confidence, clause_ranking = compound
            ranking = clause_ranking or ranking
            origin = Origin.COMPOUND
        alternatives = tuple(a for a in ranking if a.intent != intent)[:MAX_ALTERNATIVES]
        return Classification(
            intent,
            confidence,
            alternatives,
            lang,
            ranking,
            origin=origin,
            text=normalized,
            prefix=prefix,
        )

    def _may_follow(self, tokens: list[str], top: Alternative, previous: Intent) -> bool:
        """Whether an elliptical fragment may continue ``previous`` (rule 2).

        The classifier's word on the fragment counts without its marker words
        ("och", "and", "också"...): they carry no intent of their own.
        """
        if top.intent is previous:
            return True
        text = _FOLLOW_UP_END_RE.sub("", _FOLLOW_UP_START_RE.sub("", " ".join(tokens)))
        content = text.split()
        if content and content != tokens:
            top = self._rank(content)[0][0]
        return top.intent is previous or top.confidence < self.follow_up_override

    def _rank(self, tokens: list[str]) -> tuple[tuple[Alternative, ...], int]:
        """Every intent with its model probability, best first, and the known words."""
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
        return ranking, vector.known_words

    def _read_clauses(
        self, tokens: list[str], model_intent: Intent
    ) -> tuple[Intent, float, tuple[Alternative, ...]] | None:
        """Read an utterance of several clauses (see :mod:`.compound`), or None.

        Returns the intent, its confidence (the least sure request clause) and,
        when one request stands among greetings or thanks, that clause's ranking.
        """
        clauses = split_clauses(tokens)
        if len(clauses) < 2:
            return None
        tops = [self._rank(clause)[0] for clause in clauses]
        if any(ranking[0].confidence < CLAUSE_CONFIDENCE for ranking in tops):
            return None
        intents = [ranking[0].intent for ranking in tops]
        intent = combined_intent(model_intent, intents)
        if intent is None or intent is model_intent:
            return None
        requests = [ranking for ranking in tops if ranking[0].intent in _REQUEST_INTENTS]
        confidence = min(ranking[0].confidence for ranking in requests)
        single = requests[0] if len(requests) == 1 else ()
        return intent, confidence, single

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
        scale = ctx.transcript_reliability(len(raw.split()))
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
            prefix=result.prefix,
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
