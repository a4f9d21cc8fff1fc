"""The voice hub: what an STT leaves for the turn that carries its transcript."""

import pytest

from custom_components.alice_voice import voice
from custom_components.alice_voice.backends.realtime_types import RealtimeSessionConfig
from custom_components.alice_voice.backends.speculate import SpeculativeAnswer
from custom_components.alice_voice.voice import MAX_PENDING, VoiceHub


def answer() -> SpeculativeAnswer:
    """An answer that was never bound to a connection."""
    return SpeculativeAnswer(model="gpt-realtime", config=RealtimeSessionConfig(), key="stt.x")


async def test_the_turn_takes_features_and_answer_once() -> None:
    hub = VoiceHub()
    begun = answer()
    hub.record("Hej  Alice", {"duration_ms": 800}, begun)
    heard = hub.take("hej alice")  # spacing and case do not matter
    assert heard is not None
    assert heard.features == {"duration_ms": 800}
    assert heard.answer is begun
    assert begun.available
    assert hub.take("hej alice") is None


async def test_an_empty_transcript_cancels_its_answer() -> None:
    hub = VoiceHub()
    begun = answer()
    hub.record("  ", {"duration_ms": 800}, begun)
    assert not begun.available
    assert hub.take("") is None


async def test_too_many_utterances_drop_the_oldest_answer() -> None:
    hub = VoiceHub()
    answers = [answer() for _ in range(MAX_PENDING + 1)]
    for index, begun in enumerate(answers):
        hub.record(f"fras {index}", {}, begun)
    assert not answers[0].available
    assert all(begun.available for begun in answers[1:])
    assert hub.take("fras 0") is None
    assert hub.take(f"fras {MAX_PENDING}") is not None


async def test_expired_utterances_cancel_their_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = VoiceHub()
    begun = answer()
    hub.record("hej", {}, begun)
    hub.record("hallå", {})  # features only
    monkeypatch.setattr(voice, "FEATURES_TTL", -1.0)  # everything recorded is old now
    assert hub.take("hallå") is None
    assert not begun.available


async def test_clear_cancels_every_answer() -> None:
    hub = VoiceHub()
    answers = [answer(), answer()]
    hub.record("ett", {}, answers[0])
    hub.record("två", {}, answers[1])
    hub.record("tre", {})
    hub.clear()
    assert not any(begun.available for begun in answers)
    assert hub.take("tre") is None
