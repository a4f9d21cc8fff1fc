"""The intent router on its own: policy, ASR-style input, follow-ups, bad input.

No Home Assistant here: the router is plain Python + numpy.
"""

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from custom_components.alice_voice.router import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    FAST_INTENTS,
    THINK_INTENTS,
    Intent,
    IntentRouter,
    ModelLoadError,
    Origin,
    RouteDecision,
    RoutePath,
    RouteReason,
    RouterModel,
)
from custom_components.alice_voice.router.features import FeatureConfig, word_hash
from custom_components.alice_voice.router.intents import estimate_latency_ms, parse_intent

NOW = "2026-11-25T10:00:00+01:00"  # a Wednesday
ZONE = "Europe/Stockholm"


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    """The shipped model (loaded once for the module)."""
    return IntentRouter()


def _route(router: IntentRouter, text: str, **context: object) -> RouteDecision:
    return router.route(text, context={"now": NOW, "time_zone": ZONE, **context})


def test_importable_from_repo_root_and_loads_shipped_model() -> None:
    """`IntentRouter()` with no arguments loads the weights shipped in the package."""
    router = IntentRouter()
    assert router.confidence_threshold == DEFAULT_CONFIDENCE_THRESHOLD == 0.85
    assert set(router.model.labels) == set(Intent)
    # The shipped file stays small.
    shipped = Path(__file__).parents[1] / "custom_components/alice_voice/router/model.npz"
    assert shipped.stat().st_size < 2 * 1024 * 1024


def test_intents_split_into_fast_and_think() -> None:
    """Every intent but UNKNOWN is exactly one of fast or think."""
    assert FAST_INTENTS.isdisjoint(THINK_INTENTS)
    assert FAST_INTENTS | THINK_INTENTS | {Intent.UNKNOWN} == set(Intent)
    assert Intent.DEVICE_CONTROL in FAST_INTENTS
    assert Intent.CALENDAR_CREATE in THINK_INTENTS


@pytest.mark.parametrize(
    ("text", "intent", "path", "reason"),
    [
        ("tänd lampan i köket", Intent.DEVICE_CONTROL, RoutePath.FAST, RouteReason.SIMPLE_INTENT),
        ("släck allt i vardagsrummet", Intent.DEVICE_CONTROL, RoutePath.FAST, None),
        ("hej alice", Intent.GREETING, RoutePath.FAST, RouteReason.SIMPLE_INTENT),
        ("tack så mycket", Intent.ACKNOWLEDGMENT, RoutePath.FAST, None),
        ("vad är klockan", Intent.TIME_DATE, RoutePath.FAST, None),
        ("blir det regn imorgon", Intent.WEATHER, RoutePath.FAST, None),
        ("vad har jag i kalendern imorgon", Intent.CALENDAR_QUERY, RoutePath.THINK, None),
        (
            "boka möte med anna imorgon klockan tio",
            Intent.CALENDAR_CREATE,
            RoutePath.THINK,
            RouteReason.COMPLEX_INTENT,
        ),
        ("skicka ett mejl till erik om fakturan", Intent.EMAIL_SEND, RoutePath.THINK, None),
        ("spela lugn jazz på spotify", Intent.SPOTIFY_SEARCH, RoutePath.THINK, None),
        ("turn off the kitchen lights", Intent.DEVICE_CONTROL, RoutePath.FAST, None),
        ("what time is it", Intent.TIME_DATE, RoutePath.FAST, None),
        ("schedule a meeting with anna tomorrow at 2:30 pm", Intent.CALENDAR_CREATE, None, None),
        ("do i have any unread emails from my boss", Intent.EMAIL_ANALYSIS, None, None),
    ],
)
def test_routes_sv_and_en(
    router: IntentRouter,
    text: str,
    intent: Intent,
    path: RoutePath | None,
    reason: RouteReason | None,
) -> None:
    """Typical Swedish and English utterances get the right intent and path."""
    decision = _route(router, text)
    assert decision.intent is intent, decision
    expected_path = path or (RoutePath.FAST if intent in FAST_INTENTS else RoutePath.THINK)
    assert decision.path is expected_path, decision
    if reason is not None:
        assert decision.reason is reason
    assert decision.confidence >= router.confidence_threshold


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("eh tänd lampan i köket", Intent.DEVICE_CONTROL),
        ("alltså öh kan du släcka i sovrummet", Intent.DEVICE_CONTROL),
        ("TÄND LAMPAN I KÖKET!!!", Intent.DEVICE_CONTROL),
        ("um what's the weather like tomorrow", Intent.WEATHER),
        ("ehm boka ett möte med anna på fredag", Intent.CALENDAR_CREATE),
    ],
)
def test_asr_style_input(router: IntentRouter, text: str, intent: Intent) -> None:
    """Lower case, no punctuation and filler words do not change the intent."""
    assert _route(router, text).intent is intent


def test_low_confidence_goes_think() -> None:
    """Below the threshold the decision is think/low_confidence, even for a fast intent."""
    strict = IntentRouter(confidence_threshold=0.9999999)
    decision = strict.route("tack så mycket")
    assert decision.intent is Intent.ACKNOWLEDGMENT
    assert decision.path is RoutePath.THINK
    assert decision.reason is RouteReason.LOW_CONFIDENCE
    assert decision.estimated_latency_ms == estimate_latency_ms(
        Intent.ACKNOWLEDGMENT, RoutePath.THINK
    )


def test_poor_asr_confidence_lowers_confidence(router: IntentRouter) -> None:
    """The transcript's own confidence scales the intent confidence down."""
    sure = router.route("tänd lampan i köket")
    unsure = router.route("tänd lampan i köket", audio_features={"confidence": 0.5})
    assert unsure.confidence == pytest.approx(sure.confidence * 0.5, abs=1e-4)
    assert unsure.path is RoutePath.THINK
    assert unsure.reason is RouteReason.LOW_CONFIDENCE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙂🙂🙂",
        "?!.,;",
        "qwxzptk vbnmrt zzkq",
        "\x00\x01\x02 \ufffd",
    ],
)
def test_unknown_input_goes_think(router: IntentRouter, text: str) -> None:
    """Empty, symbols and keyboard mash are unknown: think, reason unknown_intent."""
    decision = router.route(text)
    assert decision.intent is Intent.UNKNOWN
    assert decision.path is RoutePath.THINK
    assert decision.reason is RouteReason.UNKNOWN_INTENT
    assert decision.slots == {}


def test_wrong_types_and_huge_input_never_raise(router: IntentRouter) -> None:
    """Non-strings and very long input are handled, not raised."""
    assert router.route(None).intent is Intent.UNKNOWN  # type: ignore[arg-type]
    assert router.route(42).intent is Intent.UNKNOWN  # type: ignore[arg-type]
    assert router.route(b"t\xc3\xa4nd lampan i k\xc3\xb6ket").intent is (  # type: ignore[arg-type]
        Intent.DEVICE_CONTROL
    )
    # 20 000 characters: a valid decision, and the model sees a truncated text.
    huge = "tänd lampan i köket " * 1_000
    assert len(huge) == 20_000
    decision = router.route(huge)
    assert decision.path in set(RoutePath)
    assert isinstance(decision.to_dict(), dict)
    assert len(router.classify(huge).text) < 2_000
    garbage = bytes(range(256)).decode("latin-1") * 10
    assert router.route(garbage).path is RoutePath.THINK


def test_mixed_languages(router: IntentRouter) -> None:
    """Mixed Swedish and English still gets a valid decision with a language."""
    decision = router.route("kan du turn on lampan i kitchen please")
    assert decision.language in {"sv", "en"}
    assert decision.intent is Intent.DEVICE_CONTROL


def test_malformed_context_is_ignored(router: IntentRouter) -> None:
    """Context and audio features of the wrong shape are ignored, not fatal."""
    plain = router.route("tänd lampan i köket")
    for context in (
        "nonsense",
        {"previous_intent": 7, "now": "not a date", "time_zone": "Mars/Olympus"},
        {"conversation_history": "x", "language": 3},
        {"conversation_history": [1, {"intent": "NOPE"}, {"text": "hej"}]},
    ):
        decision = router.route(
            "tänd lampan i köket",
            context=context,  # type: ignore[arg-type]
            audio_features={"confidence": "high", "language": None},
        )
        assert decision.intent is plain.intent
        assert decision.path is plain.path
    nan = router.route("tänd lampan i köket", audio_features={"confidence": float("nan")})
    assert nan.confidence == pytest.approx(plain.confidence)
    assert router.route("hej", audio_features={"confidence": True}).intent is Intent.GREETING


@pytest.mark.parametrize(
    ("text", "previous", "intent"),
    [
        ("och i sovrummet?", "DEVICE_CONTROL", Intent.DEVICE_CONTROL),
        ("och i sovrummet", "DEVICE_CONTROL", Intent.DEVICE_CONTROL),
        ("lite till", "DEVICE_CONTROL", Intent.DEVICE_CONTROL),
        ("and in the bedroom", "DEVICE_CONTROL", Intent.DEVICE_CONTROL),
        ("och på fredag då", "CALENDAR_QUERY", Intent.CALENDAR_QUERY),
        ("what about tomorrow", "WEATHER", Intent.WEATHER),
    ],
)
def test_context_follow_up(router: IntentRouter, text: str, previous: str, intent: Intent) -> None:
    """An elliptical follow-up continues the previous turn's intent."""
    decision = _route(router, text, previous_intent=previous)
    assert decision.intent is intent
    assert decision.reason is RouteReason.CONTEXT_FOLLOW_UP
    assert decision.confidence >= router.confidence_threshold
    assert decision.path is (RoutePath.FAST if intent in FAST_INTENTS else RoutePath.THINK)


def test_follow_up_from_history_and_area_slot(router: IntentRouter) -> None:
    """The history's last intent counts too; the follow-up carries its own area."""
    decision = _route(
        router,
        "och i sovrummet",
        conversation_history=[{"text": "tänd lampan i köket", "intent": "DEVICE_CONTROL"}],
    )
    assert decision.intent is Intent.DEVICE_CONTROL
    assert decision.slots.get("area") == "sovrummet"


def test_self_contained_request_is_not_a_follow_up(router: IntentRouter) -> None:
    """'och vad är klockan' after a device command is a request of its own."""
    decision = _route(router, "och vad är klockan", previous_intent="DEVICE_CONTROL")
    assert decision.intent is Intent.TIME_DATE
    assert decision.reason is not RouteReason.CONTEXT_FOLLOW_UP
    # Without context the fragment is not forced into any intent.
    alone = _route(router, "och i sovrummet")
    assert alone.reason is not RouteReason.CONTEXT_FOLLOW_UP


def _fixed_model(probabilities: dict[Intent, float], words: str) -> RouterModel:
    """A model that ignores the text: softmax(bias) is ``probabilities``.

    No feature has a weight, so every utterance scores the bias; ``words`` are
    the vocabulary, so they are not out of vocabulary.
    """
    labels = tuple(Intent)
    rest = (1.0 - sum(probabilities.values())) / (len(labels) - len(probabilities))
    bias = np.log(np.array([probabilities.get(label, rest) for label in labels], np.float32))
    return RouterModel(
        labels,
        np.zeros(0, np.uint32),
        np.zeros((0, len(labels)), np.float32),
        bias,
        FeatureConfig(),
        vocabulary=np.array([word_hash(word) for word in words.split()], np.uint32),
    )


@pytest.mark.parametrize(
    ("top", "runner_up", "path", "reason"),
    [
        # A fast/think pair holding the mass, close together: hybrid.
        ((Intent.WEATHER, 0.55), (Intent.CALENDAR_QUERY, 0.44), "hybrid", "uncertain_margin"),
        # Confident about the fast intent but not far enough ahead: still hybrid.
        ((Intent.TIME_DATE, 0.60), (Intent.CALENDAR_QUERY, 0.395), "hybrid", "uncertain_margin"),
        # The pair does not hold 0.9 of the mass: low confidence.
        ((Intent.WEATHER, 0.50), (Intent.CALENDAR_QUERY, 0.30), "think", "low_confidence"),
        # Top is a think intent: never hybrid.
        ((Intent.CALENDAR_QUERY, 0.55), (Intent.WEATHER, 0.44), "think", "low_confidence"),
        # Two fast intents: low confidence, not hybrid.
        ((Intent.WEATHER, 0.55), (Intent.TIME_DATE, 0.44), "think", "low_confidence"),
        # Decisive: fast.
        ((Intent.WEATHER, 0.95), (Intent.CALENDAR_QUERY, 0.045), "fast", "simple_intent"),
        ((Intent.EMAIL_SEND, 0.95), (Intent.GREETING, 0.045), "think", "complex_intent"),
        ((Intent.UNKNOWN, 0.95), (Intent.GREETING, 0.045), "think", "unknown_intent"),
    ],
)
def test_routing_policy(
    top: tuple[Intent, float], runner_up: tuple[Intent, float], path: str, reason: str
) -> None:
    """The policy table of the design, on a model with a fixed distribution."""
    router = IntentRouter(model=_fixed_model(dict([top, runner_up]), "hur blir det"))
    decision = router.route("hur blir det")
    assert decision.intent is top[0]
    assert decision.confidence == pytest.approx(top[1], abs=1e-3)
    assert (str(decision.path), str(decision.reason)) == (path, reason)
    assert decision.estimated_latency_ms == estimate_latency_ms(top[0], RoutePath(path))
    assert decision.alternatives[0].intent is runner_up[0]


def test_out_of_vocabulary_is_unknown_unless_near_certain() -> None:
    """A sentence with no known word is unknown unless the model is very sure."""
    unsure = IntentRouter(model=_fixed_model({Intent.WEATHER: 0.9}, "hej"))
    assert unsure.route("blorf zibbe").intent is Intent.UNKNOWN
    assert unsure.route("hej blorf").intent is Intent.WEATHER
    sure = IntentRouter(model=_fixed_model({Intent.WEATHER: 0.99}, "hej"))
    assert sure.route("blorf zibbe").intent is Intent.WEATHER


def test_to_dict_is_exactly_the_api_body(router: IntentRouter) -> None:
    """`to_dict()` has exactly the documented keys and JSON types."""
    body = _route(router, "boka möte med anna imorgon kl 14").to_dict()
    assert set(body) == {"intent", "routing_decision", "alternatives"}
    intent = body["intent"]
    assert isinstance(intent, dict)
    assert set(intent) == {"name", "confidence", "slots"}
    assert intent["name"] == "CALENDAR_CREATE"
    assert isinstance(intent["confidence"], float)
    assert intent["slots"] == {
        "attendee": "anna",
        "date": "2026-11-26",
        "time": "14:00",
        "datetime": "2026-11-26T14:00:00+01:00",
        "date_text": "imorgon",
        "time_text": "kl 14",
    }
    decision = body["routing_decision"]
    assert decision == {"path": "think", "reason": "complex_intent", "estimated_latency_ms": 2000}
    alternatives = body["alternatives"]
    assert isinstance(alternatives, list)
    assert 1 <= len(alternatives) <= 3
    for alternative in alternatives:
        assert isinstance(alternative, dict)
        assert set(alternative) == {"intent", "confidence"}
        assert alternative["intent"] != "CALENDAR_CREATE"


def test_classify_returns_intent_confidence_alternatives(router: IntentRouter) -> None:
    """`classify` ranks intents and detects or takes the language."""
    result = router.classify("tänd lampan i köket")
    assert result.intent is Intent.DEVICE_CONTROL
    assert result.origin is Origin.MODEL
    assert result.language == "sv"
    assert 0.85 <= result.confidence <= 1.0
    assert len(result.alternatives) == 3
    assert all(a.confidence <= result.confidence for a in result.alternatives)
    assert sum(a.confidence for a in result.ranking) == pytest.approx(1.0, abs=1e-3)
    assert router.classify("turn on the lights").language == "en"
    assert router.classify("hej", language="en-US").language == "en"


@pytest.mark.parametrize(
    ("text", "context", "intent", "origin"),
    [
        ("tänd lampan i köket", None, Intent.DEVICE_CONTROL, Origin.MODEL),
        ("🙂🙂🙂", None, Intent.UNKNOWN, Origin.EMPTY_INPUT),
        ("qwxzptk vbnmrt zzkq", None, Intent.UNKNOWN, Origin.OUT_OF_VOCABULARY),
        (
            "och i sovrummet",
            {"previous_intent": "DEVICE_CONTROL"},
            Intent.DEVICE_CONTROL,
            Origin.CONTEXT_FOLLOW_UP,
        ),
        ("hallå alice", None, Intent.GREETING, Origin.GREETING_WORDS),
        (
            "tänd i köket och boka möte med anna imorgon",
            None,
            Intent.MULTI_STEP_WORKFLOW,
            Origin.COMPOUND,
        ),
    ],
)
def test_classification_origin(
    router: IntentRouter,
    text: str,
    context: dict[str, object] | None,
    intent: Intent,
    origin: Origin,
) -> None:
    """`Classification.origin` says how the intent was chosen; the values are stable strings."""
    result = router.classify(text, context=context)
    assert (result.intent, result.origin) == (intent, origin)
    assert {str(member) for member in Origin} == {
        "model",
        "empty_input",
        "out_of_vocabulary",
        "context_follow_up",
        "greeting_words",
        "compound",
    }


def test_long_fragment_is_not_a_follow_up(router: IntentRouter) -> None:
    """A marked fragment of more than six words is a request of its own, not a follow-up."""
    decision = _route(
        router,
        "och i sovrummet och i köket och i hallen",
        previous_intent="DEVICE_CONTROL",
    )
    assert decision.reason is not RouteReason.CONTEXT_FOLLOW_UP


def test_slot_extraction_failure_is_logged_not_raised(
    router: IntentRouter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in a slot extractor costs the slots, never the decision."""

    def broken(*_: object) -> dict[str, object]:
        raise RuntimeError("boom")

    monkeypatch.setattr("custom_components.alice_voice.router.policy.extract_slots", broken)
    decision = _route(router, "tänd lampan i köket")
    assert decision.intent is Intent.DEVICE_CONTROL
    assert decision.slots == {}
    assert "Slot extraction failed" in caplog.text


def test_explain_names_features(router: IntentRouter) -> None:
    """`explain` lists the features that pushed the top intents up."""
    explanation = router.explain("tänd lampan i köket")
    assert "DEVICE_CONTROL" in explanation
    features = explanation["DEVICE_CONTROL"]
    assert features
    assert any("tänd" in name for name, _ in features)


def test_parse_intent() -> None:
    """Intent names parse case-insensitively; anything else is None."""
    assert parse_intent(" device_control ") is Intent.DEVICE_CONTROL
    assert parse_intent(Intent.GREETING) is Intent.GREETING
    assert parse_intent("nope") is None
    assert parse_intent(3) is None


def test_model_round_trip_and_bad_files(tmp_path: Path) -> None:
    """A saved model loads back identically; a broken file is a clear error."""
    model = RouterModel.load()
    copy = tmp_path / "copy.npz"
    model.save(copy)
    again = RouterModel.load(copy)
    tokens = ["tänd", "lampan"]
    assert np.allclose(
        model.probabilities(model.features(tokens)), again.probabilities(again.features(tokens))
    )
    assert again.nbytes == model.nbytes > 0
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(ModelLoadError):
        RouterModel.load(broken)
    with pytest.raises(ModelLoadError):
        RouterModel.load(tmp_path / "missing.npz")


def test_now_as_datetime_and_naive(router: IntentRouter) -> None:
    """`now` may be a datetime; a naive one takes the given time zone."""
    aware = router.route(
        "boka möte imorgon kl 9",
        context={"now": dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC), "time_zone": ZONE},
    )
    # 23:00 UTC on Dec 31 is already Jan 1 in Stockholm, so "imorgon" is Jan 2.
    assert aware.slots["date"] == "2027-01-02"
    naive = router.route(
        "boka möte imorgon kl 9", context={"now": "2026-12-31T23:00:00", "time_zone": ZONE}
    )
    assert naive.slots["datetime"] == "2027-01-01T09:00:00+01:00"


def test_unsorted_buckets_are_refused() -> None:
    """The model looks buckets up by binary search: unsorted ones are a load error."""
    labels = tuple(Intent)
    with pytest.raises(ModelLoadError):
        RouterModel(
            labels,
            np.array([5, 3], np.uint32),
            np.zeros((2, len(labels)), np.float32),
            np.zeros(len(labels), np.float32),
            FeatureConfig(),
        )
