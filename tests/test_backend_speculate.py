"""Speculative answers: a Realtime session that transcribes an utterance and begins answering it.

Against the local Realtime server, through the real SDK: the transcriber opens a
conversation session with input transcription, commits the utterance, asks for
the answer at once, and hands the connection to the answer when the transcript
is out.
"""

import asyncio
from collections.abc import AsyncIterator
import contextlib

from openai import AsyncOpenAI
import pytest

from custom_components.alice_voice.backends import speculate
from custom_components.alice_voice.backends.realtime_types import (
    RealtimeConnectionError,
    RealtimeEvent,
    RealtimeResponseDone,
    RealtimeResponseError,
    RealtimeSessionConfig,
    RealtimeTextDelta,
    RealtimeTimeoutError,
    RealtimeTool,
)
from custom_components.alice_voice.backends.speculate import SpeculativeAnswer
from custom_components.alice_voice.backends.transcribe import (
    RealtimeTranscriber,
    TranscriptionError,
    TranscriptionSettings,
)
from simulators.realtime import RealtimeTestServer, Reply
from simulators.realtime_audio import silence, tone

from .common import closed

MODEL = "gpt-realtime"
CONFIG = RealtimeSessionConfig(instructions="Du är Alice. Svara kort.", voice="marin")
SETTINGS = TranscriptionSettings(model="gpt-4o-mini-transcribe", language="sv")
SPEECH = tone(600, amplitude=4000) + silence(200)  # 800 ms at 24 kHz


def new_answer(config: RealtimeSessionConfig = CONFIG) -> SpeculativeAnswer:
    """An answer for the transcriber to begin."""
    return SpeculativeAnswer(model=MODEL, config=config, key="stt.alice")


async def transcribe(client: AsyncOpenAI, answer: SpeculativeAnswer, audio: bytes = SPEECH) -> str:
    """One utterance through a transcriber that begins ``answer``."""
    async with RealtimeTranscriber(client, SETTINGS, answer=answer) as stt:
        await stt.append(audio)
        return await stt.finish()


async def collect(events: AsyncIterator[RealtimeEvent]) -> list[RealtimeEvent]:
    """Every event of a stream."""
    async with contextlib.aclosing(events) as stream:  # type: ignore[type-var]
        return [event async for event in stream]


async def test_one_session_transcribes_and_answers(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    """The answer is asked for at the commit, streams before the transcript is out, and is used."""
    server.transcribe_delay_s = 1.0  # 0.8 s of transcription for 0.8 s of audio
    server.script_transcripts("Hej Alice")
    server.add_rule(Reply(text="Hej! Vad kan jag göra?"), user_text="Hej Alice")
    answer = new_answer()

    assert await transcribe(client, answer) == "Hej Alice"
    record = server.connections[0]
    assert not record.closed, "the connection belongs to the answer now"
    available_before = answer.available
    events = await collect(answer.stream(first_delta_timeout=5))

    text = "".join(e.text for e in events if isinstance(e, RealtimeTextDelta))
    assert text == "Hej! Vad kan jag göra?"
    assert isinstance(events[-1], RealtimeResponseDone)
    assert events[-1].status == "completed"
    assert available_before
    assert not answer.available
    record = await closed(server)
    assert record.closed_by == "client"
    assert server.connection_count == 1
    # A conversation session with the turn's settings and the agent's transcription.
    assert record.handshake.query == {"model": MODEL}
    assert record.session["type"] == "realtime"
    assert record.session["instructions"] == CONFIG.instructions
    assert record.session["output_modalities"] == ["text"]
    assert record.session["audio"]["input"]["transcription"] == {
        "model": "gpt-4o-mini-transcribe",
        "language": "sv",
    }
    assert record.session["audio"]["input"]["turn_detection"] is None
    types = record.client_event_types
    assert types.index("response.create") == types.index("input_audio_buffer.commit") + 1
    # The answer streamed while the transcription was still being made.
    served = record.server_event_types
    assert served.index("response.output_text.delta") < served.index(
        "conversation.item.input_audio_transcription.completed"
    )


async def test_discarded_answer_is_cancelled_and_closed(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    """An answer the router did not choose is stopped at the server and its session closed."""
    server.script_transcripts("Vad är en kvark?")
    server.add_rule(Reply(text="Det är en partikel.", first_delta_delay=5.0))
    answer = new_answer()
    assert await transcribe(client, answer) == "Vad är en kvark?"

    answer.discard()
    answer.discard()  # twice is harmless
    assert not answer.available
    record = await closed(server)
    assert record.client_event_types.count("response.cancel") == 1
    assert "response.output_text.delta" not in record.server_event_types
    with pytest.raises(RealtimeConnectionError) as err:
        await collect(answer.stream(first_delta_timeout=1))
    assert err.value.code == "speculation_gone"


async def test_unclaimed_answer_expires(
    server: RealtimeTestServer, client: AsyncOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody takes the answer (the turn never came): it is cancelled after a while."""
    monkeypatch.setattr(speculate, "UNCLAIMED_TTL", 0.05)
    server.script_transcripts("Hej")
    server.add_rule(Reply(text="Hej!", first_delta_delay=5.0))
    answer = new_answer()
    assert await transcribe(client, answer) == "Hej"
    record = await closed(server)
    assert "response.cancel" in record.client_event_types
    assert not answer.available


async def test_a_failed_answer_leaves_the_transcript(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    """The server refuses the answer (rate limit): the words are still transcribed."""
    server.script_transcripts("Vad är klockan?")
    server.add_rule(Reply(error_code="rate_limit_exceeded", error_message="Slow down"))
    answer = new_answer()
    assert await transcribe(client, answer) == "Vad är klockan?"
    with pytest.raises(RealtimeResponseError) as err:
        await collect(answer.stream(first_delta_timeout=5))
    assert err.value.code == "rate_limit_exceeded"
    await closed(server)


async def test_a_slow_answer_times_out(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    """A claimed answer that does not start within the budget is a timeout (the turn falls back)."""
    server.script_transcripts("Hej")
    server.add_rule(Reply(text="Hej!", first_delta_delay=5.0))
    answer = new_answer()
    assert await transcribe(client, answer) == "Hej"
    with pytest.raises(RealtimeTimeoutError):
        await collect(answer.stream(first_delta_timeout=0.1))
    record = await closed(server)
    assert "response.cancel" in record.client_event_types


async def test_failed_transcription_closes_the_answer(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    """No transcript, no answer: the session is closed with the error."""
    server.set_faults(transcription_failed_code="audio_unintelligible")
    answer = new_answer()
    with pytest.raises(TranscriptionError):
        await transcribe(client, answer)
    await closed(server)
    answer.discard()
    with pytest.raises(RealtimeConnectionError):
        await collect(answer.stream(first_delta_timeout=1))


async def test_connection_lost_before_the_claim(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    """The session drops while the answer waits: claiming it is a connection error."""
    server.script_transcripts("Hej")
    server.add_rule(Reply(text="Hej!", first_delta_delay=5.0))
    answer = new_answer()
    assert await transcribe(client, answer) == "Hej"
    await server.drop_connections()
    await closed(server)
    with pytest.raises(RealtimeConnectionError):
        await collect(answer.stream(first_delta_timeout=2))


async def test_cancelled_utterance_never_asks_for_an_answer(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    """Silence or a vanished satellite: the utterance is cancelled, nothing is answered."""
    answer = new_answer()
    async with RealtimeTranscriber(client, SETTINGS, answer=answer) as stt:
        await stt.append(SPEECH)
        await stt.cancel()
    record = await closed(server)
    assert "response.create" not in record.client_event_types
    assert "input_audio_buffer.commit" not in record.client_event_types


def test_fits_compares_what_the_model_is_told() -> None:
    """Same instructions, voice and tools fit; input audio settings do not count."""
    answer = new_answer()
    assert answer.fits(CONFIG)
    assert answer.fits(
        RealtimeSessionConfig(
            instructions=CONFIG.instructions,
            voice="marin",
            transcription={"model": "whisper-1"},
        )
    )
    assert not answer.fits(RealtimeSessionConfig(instructions="Något annat", voice="marin"))
    assert not answer.fits(RealtimeSessionConfig(instructions=CONFIG.instructions, voice="cedar"))
    assert not answer.fits(
        RealtimeSessionConfig(
            instructions=CONFIG.instructions, voice="marin", tools=(RealtimeTool(name="x"),)
        )
    )


async def test_server_vad_cannot_speculate(client: AsyncOpenAI) -> None:
    """The answer starts at Alice's own commit: the server's VAD would start its own."""
    with pytest.raises(ValueError, match="endpointing"):
        RealtimeTranscriber(client, TranscriptionSettings(server_vad=True), answer=new_answer())


async def test_no_background_task_is_left(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    """Discarding closes in the background; that close ends."""
    server.script_transcripts("Hej")
    answer = new_answer()
    assert await transcribe(client, answer) == "Hej"
    answer.discard()
    await closed(server)
    async with asyncio.timeout(5):
        while speculate._CLOSING:  # noqa: ASYNC110 - the close task removes itself
            await asyncio.sleep(0.01)


async def test_settings_changed_while_speaking_are_sent_before_the_answer(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    """The instructions tell the time: the answer is made with them as they are at the end."""
    server.script_transcripts("Vad är klockan?")
    answer = new_answer()
    now = RealtimeSessionConfig(instructions="Klockan är 10:01.", voice="marin")
    async with RealtimeTranscriber(client, SETTINGS, answer=answer) as stt:
        await stt.append(SPEECH)
        assert await stt.finish(answer_config=now) == "Vad är klockan?"
    assert answer.config == now
    assert answer.fits(now)
    await collect(answer.stream(first_delta_timeout=5))
    record = await closed(server)
    types = record.client_event_types
    assert types.count("session.update") == 2
    assert types.index("response.create") > types.index("session.update", 1)
    assert record.session["instructions"] == "Klockan är 10:01."
    assert record.session["audio"]["input"]["transcription"]["language"] == "sv"


async def test_closing_the_stream_midway_cancels_the_answer(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    """Barge-in: the turn stops listening after the first words; the rest is never made."""
    server.script_transcripts("Berätta en lång saga")
    server.add_rule(
        Reply(text="Det var en gång en liten räv som bodde i skogen.", delta_interval=0.5)
    )
    answer = new_answer()
    assert await transcribe(client, answer) == "Berätta en lång saga"
    stream = answer.stream(first_delta_timeout=5)
    first = await anext(stream)
    assert isinstance(first, RealtimeTextDelta)
    await stream.aclose()
    record = await closed(server)
    assert "response.cancel" in record.client_event_types
    assert record.server_event_types.count("response.output_text.delta") < 5  # of 11 words
    done = [e for e in record.server_events if e["type"] == "response.done"]
    assert [e["response"]["status"] for e in done] in ([], ["cancelled"])
