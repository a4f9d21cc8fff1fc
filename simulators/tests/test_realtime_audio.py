"""Tests for the Realtime simulator's input audio: transcription sessions, server VAD, ASR."""

import asyncio
import base64
from collections.abc import AsyncIterator
import json
from typing import Any, cast

from openai import AsyncOpenAI
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime import RealtimeTranscriptionSessionCreateResponse
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
import pytest
from websockets.exceptions import ConnectionClosedError

from simulators.realtime import RealtimeTestServer, Reply, Transcript
from simulators.realtime_audio import (
    AudioInputRecord,
    frame_level,
    silence,
    speech_floor,
    tone,
    word_deltas,
)

TRANSCRIBE = {"intent": "transcription"}
TRANSCRIPTION = {"model": "gpt-4o-mini-transcribe", "language": "sv"}
MANUAL_SESSION: dict[str, Any] = {
    "type": "transcription",
    "audio": {"input": {"transcription": TRANSCRIPTION, "turn_detection": None}},
}
VAD = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 300}
SPEECH = tone(500, amplitude=4000) + silence(100)


@pytest.fixture
async def conn(client: AsyncOpenAI) -> AsyncIterator[AsyncRealtimeConnection]:
    """A transcription session without turn detection."""
    async with client.realtime.connect(extra_query=TRANSCRIBE) as connection:
        await recv_until(connection, "session.created")
        await send(connection, {"type": "session.update", "session": MANUAL_SESSION})
        await recv_until(connection, "session.updated")
        yield connection


def dump(event: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", event.to_dict())


async def send(connection: AsyncRealtimeConnection, event: dict[str, Any]) -> None:
    await connection.send_raw(json.dumps(event))


async def append(connection: AsyncRealtimeConnection, audio: bytes, chunk_ms: int = 100) -> None:
    size = chunk_ms * 48
    for offset in range(0, len(audio), size):
        chunk = base64.b64encode(audio[offset : offset + size]).decode()
        await send(connection, {"type": "input_audio_buffer.append", "audio": chunk})


async def recv_until(
    connection: AsyncRealtimeConnection, event_type: str
) -> list[RealtimeServerEvent]:
    events: list[RealtimeServerEvent] = []
    async with asyncio.timeout(10):
        while True:
            event = await connection.recv()
            events.append(event)
            if event.type == event_type:
                return events


async def drain(connection: AsyncRealtimeConnection, received: list[str]) -> None:
    async with asyncio.timeout(10):
        async for event in connection:
            received.append(event.type)  # noqa: PERF401 - keep what came before an error


def types(events: list[RealtimeServerEvent]) -> list[str]:
    return [event.type for event in events]


async def test_transcription_session_is_created_by_intent(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    async with client.realtime.connect(extra_query=TRANSCRIBE) as connection:
        created = (await recv_until(connection, "session.created"))[-1]
    session = dump(created)["session"]
    RealtimeTranscriptionSessionCreateResponse.model_validate(session)
    assert session["type"] == "transcription"
    assert session["object"] == "realtime.transcription_session"
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24_000}
    assert server.handshakes[0].query == {"intent": "transcription"}
    assert server.handshakes[0].model is None


async def test_unknown_intent_is_refused(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    async with client.realtime.connect(extra_query={"intent": "translation"}) as connection:
        error = await connection.recv()
        assert error.type == "error"
        assert error.error.param == "intent"
        with pytest.raises(ConnectionClosedError):
            await connection.recv()
    assert server.connections[0].close_code == 1008


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        pytest.param({"audio": {}}, "missing_required_parameter", "session.type", id="no-type"),
        pytest.param({"type": "realtime"}, "invalid_value", "session.type", id="realtime-type"),
        pytest.param(
            {"type": "transcription", "instructions": "x"},
            "unknown_parameter",
            "session.instructions",
            id="instructions",
        ),
        pytest.param(
            {"type": "transcription", "audio": {"output": {"voice": "marin"}}},
            "unknown_parameter",
            "session.audio.output",
            id="audio-output",
        ),
        pytest.param(
            {"type": "transcription", "input_audio_transcription": TRANSCRIPTION},
            "unknown_parameter",
            "session.input_audio_transcription",
            id="beta-shape",
        ),
        pytest.param(
            {"type": "transcription", "audio": {"input": {"transcription": {"model": "tts-1"}}}},
            "invalid_value",
            "session.audio.input.transcription.model",
            id="bad-model",
        ),
        pytest.param(
            {"type": "transcription", "audio": {"input": {"transcription": {"lang": "sv"}}}},
            "unknown_parameter",
            "session.audio.input.transcription.lang",
            id="transcription-key",
        ),
        pytest.param(
            {"type": "transcription", "audio": {"input": {"turn_detection": {"type": "vad"}}}},
            "invalid_value",
            "session.audio.input.turn_detection",
            id="vad-type",
        ),
        pytest.param(
            {
                "type": "transcription",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "eagerness": "low"}}},
            },
            "unknown_parameter",
            "session.audio.input.turn_detection.eagerness",
            id="vad-key",
        ),
        pytest.param(
            {
                "type": "transcription",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}},
            },
            "invalid_value",
            "session.audio.input.turn_detection.threshold",
            id="threshold",
        ),
        pytest.param(
            {"type": "transcription", "audio": {"input": {"noise_reduction": {"type": "x"}}}},
            "invalid_value",
            "session.audio.input.noise_reduction.type",
            id="noise-reduction",
        ),
        pytest.param(
            {"type": "transcription", "audio": {"input": {"format": {"type": "pcm16"}}}},
            "invalid_value",
            "session.audio.input.format.type",
            id="preview-format",
        ),
        pytest.param(
            {"type": "transcription", "include": ["logprobs"]},
            "invalid_value",
            "session.include",
            id="include",
        ),
        pytest.param(
            {
                "type": "transcription",
                "audio": {"input": {"transcription": {"model": "gpt-realtime-whisper"}}},
            },
            "invalid_value",
            "session.audio.input.turn_detection",
            id="whisper-with-vad",
        ),
    ],
)
async def test_transcription_session_update_rejected(
    client: AsyncOpenAI, session: dict[str, Any], code: str, param: str
) -> None:
    async with client.realtime.connect(extra_query=TRANSCRIBE) as connection:
        await recv_until(connection, "session.created")
        await send(connection, {"type": "session.update", "event_id": "evt_1", "session": session})
        error = (await recv_until(connection, "error"))[-1]
        assert error.type == "error"
        assert (error.error.code, error.error.param, error.error.event_id) == (
            code,
            param,
            "evt_1",
        )
        # Recoverable: a valid update is still applied.
        await send(connection, {"type": "session.update", "session": MANUAL_SESSION})
        updated = (await recv_until(connection, "session.updated"))[-1]
    assert dump(updated)["session"]["audio"]["input"]["turn_detection"] is None


async def test_realtime_session_refuses_transcription_update(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await recv_until(connection, "session.created")
        await send(connection, {"type": "session.update", "session": MANUAL_SESSION})
        error = (await recv_until(connection, "error"))[-1]
    assert error.type == "error"
    assert error.error.param == "session.type"
    assert "transcription session update event to a realtime session" in error.error.message


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"type": "response.create"}, id="response"),
        pytest.param(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Hej"}],
                },
            },
            id="item",
        ),
    ],
)
async def test_transcription_session_never_responds(
    server: RealtimeTestServer, conn: AsyncRealtimeConnection, event: dict[str, Any]
) -> None:
    await send(conn, event)
    error = (await recv_until(conn, "error"))[-1]
    assert error.type == "error"
    assert error.error.code == "invalid_value"
    assert error.error.param == "type"


async def test_commit_transcribes_word_by_word(
    server: RealtimeTestServer, conn: AsyncRealtimeConnection
) -> None:
    server.script_transcripts("Tänd lampan i köket", Transcript(text="Släck", deltas=1))
    await append(conn, SPEECH)
    await send(conn, {"type": "input_audio_buffer.commit"})
    events = await recv_until(conn, "conversation.item.input_audio_transcription.completed")
    assert types(events) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        *["conversation.item.input_audio_transcription.delta"] * 4,
        "conversation.item.input_audio_transcription.completed",
    ]
    completed = dump(events[-1])
    item_id = dump(events[0])["item_id"]
    assert completed["item_id"] == item_id
    assert completed["content_index"] == 0
    assert completed["transcript"] == "Tänd lampan i köket"
    assert "".join(dump(e)["delta"] for e in events[3:7]) == "Tänd lampan i köket"
    assert completed["usage"]["type"] == "tokens"
    assert completed["usage"]["input_token_details"]["audio_tokens"] == 6

    await append(conn, SPEECH)
    await send(conn, {"type": "input_audio_buffer.commit"})
    events = await recv_until(conn, "conversation.item.input_audio_transcription.completed")
    assert types(events).count("conversation.item.input_audio_transcription.delta") == 1
    # Nothing scripted is left: the server hears nothing.
    await append(conn, SPEECH)
    await send(conn, {"type": "input_audio_buffer.commit"})
    events = await recv_until(conn, "conversation.item.input_audio_transcription.completed")
    assert dump(events[-1])["transcript"] == ""
    assert "conversation.item.input_audio_transcription.delta" not in types(events)

    record = server.connections[0].audio
    assert record.transcripts == ["Tänd lampan i köket", "Släck", ""]
    assert record.received_bytes == 3 * len(SPEECH)
    assert record.rate == 24_000
    assert record.committed_ms == [600.0, 600.0, 600.0]


async def test_fallback_to_input_audio_transcript(
    server: RealtimeTestServer, conn: AsyncRealtimeConnection
) -> None:
    server.input_audio_transcript = "Vad är klockan"
    server.script_transcripts("Först")
    texts = []
    for _ in range(2):
        await append(conn, SPEECH)
        await send(conn, {"type": "input_audio_buffer.commit"})
        events = await recv_until(conn, "conversation.item.input_audio_transcription.completed")
        texts.append(dump(events[-1])["transcript"])
    assert texts == ["Först", "Vad är klockan"]


async def test_transcription_is_asynchronous(
    server: RealtimeTestServer, conn: AsyncRealtimeConnection
) -> None:
    server.script_transcripts("Hej")
    server.transcribe_delay_s = 0.5  # 0.3 s for 600 ms of audio
    await append(conn, SPEECH)
    await send(conn, {"type": "input_audio_buffer.commit"})
    await send(conn, {"type": "input_audio_buffer.clear"})
    events = await recv_until(conn, "conversation.item.input_audio_transcription.completed")
    # The server went on with the next event while transcribing.
    assert types(events).index("input_audio_buffer.cleared") < types(events).index(
        "conversation.item.input_audio_transcription.delta"
    )


async def test_failed_transcription(
    server: RealtimeTestServer, conn: AsyncRealtimeConnection
) -> None:
    server.script_transcripts(Transcript(text="Hej", failed_code="audio_unintelligible"))
    await append(conn, SPEECH)
    await send(conn, {"type": "input_audio_buffer.commit"})
    failed = (await recv_until(conn, "conversation.item.input_audio_transcription.failed"))[-1]
    error = dump(failed)["error"]
    assert error["type"] == "transcription_error"
    assert error["code"] == "audio_unintelligible"
    assert server.connections[0].audio.failures == ["audio_unintelligible"]


async def test_drop_mid_transcription_fault(
    server: RealtimeTestServer, conn: AsyncRealtimeConnection
) -> None:
    server.script_transcripts("Tänd lampan i köket")
    server.set_faults(drop_mid_transcription="close_1011")
    await append(conn, SPEECH)
    await send(conn, {"type": "input_audio_buffer.commit"})
    received: list[str] = []
    with pytest.raises(ConnectionClosedError):
        await drain(conn, received)
    assert received.count("conversation.item.input_audio_transcription.delta") == 1
    assert "conversation.item.input_audio_transcription.completed" not in received
    assert server.connections[0].close_code == 1011


async def test_server_vad_detects_speech_and_commits(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.script_transcripts("Spela musik")
    async with client.realtime.connect(extra_query=TRANSCRIBE) as connection:
        await recv_until(connection, "session.created")
        session = {"type": "transcription", "audio": {"input": {"turn_detection": VAD}}}
        await send(connection, {"type": "session.update", "session": session})
        await append(connection, silence(500) + tone(700, amplitude=4000) + silence(500), 20)
        events = await recv_until(
            connection, "conversation.item.input_audio_transcription.completed"
        )
    assert types(events)[:6] == [
        "session.updated",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    started, stopped, committed = (dump(e) for e in events[1:4])
    assert started["audio_start_ms"] == 200  # speech at 500 ms less 300 ms of padding
    assert stopped["audio_end_ms"] == 1500  # 300 ms of silence after 1200 ms
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    assert dump(events[-1])["transcript"] == "Spela musik"
    record = server.connections[0].audio
    assert record.speech == [(200, 1500)]
    # The buffer kept only the padding before the speech: 200 ms to 1500 ms.
    assert record.committed_ms == [1300.0]
    assert server.connections[0].client_event_types.count("input_audio_buffer.commit") == 0


@pytest.mark.parametrize(
    ("turn_detection", "speech_events"),
    [
        pytest.param(None, 0, id="manual"),
        pytest.param({**VAD, "threshold": 1.0}, 0, id="loud-threshold"),
        pytest.param({"type": "semantic_vad", "eagerness": "high"}, 2, id="semantic"),
    ],
)
async def test_turn_detection_settings(
    server: RealtimeTestServer,
    client: AsyncOpenAI,
    turn_detection: dict[str, Any] | None,
    speech_events: int,
) -> None:
    async with client.realtime.connect(extra_query=TRANSCRIBE) as connection:
        await recv_until(connection, "session.created")
        session = {"type": "transcription", "audio": {"input": {"turn_detection": turn_detection}}}
        await send(connection, {"type": "session.update", "session": session})
        await append(connection, tone(500, amplitude=2000) + silence(600))
        await send(connection, {"type": "input_audio_buffer.clear"})
        events = await recv_until(connection, "input_audio_buffer.cleared")
    vad = [t for t in types(events) if t.startswith("input_audio_buffer.speech_")]
    assert len(vad) == speech_events


async def test_clear_forgets_speech_in_progress(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    async with client.realtime.connect(extra_query=TRANSCRIBE) as connection:
        await recv_until(connection, "session.created")
        session = {"type": "transcription", "audio": {"input": {"turn_detection": VAD}}}
        await send(connection, {"type": "session.update", "session": session})
        await append(connection, tone(300, amplitude=4000))
        await send(connection, {"type": "input_audio_buffer.clear"})
        await append(connection, silence(1000))
        await send(connection, {"type": "input_audio_buffer.clear"})
        events = await recv_until(connection, "input_audio_buffer.cleared")
        events += await recv_until(connection, "input_audio_buffer.cleared")
    assert "input_audio_buffer.speech_started" in types(events)
    assert "input_audio_buffer.speech_stopped" not in types(events)
    assert server.connections[0].audio.committed_ms == []


async def test_realtime_session_vad_answers_the_turn(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.script_transcripts("Tänd lampan")
    server.add_rule(Reply(text="Jag tänder lampan."), user_text="lampan")
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await recv_until(connection, "session.created")
        session = {
            "type": "realtime",
            "output_modalities": ["text"],
            "audio": {"input": {"turn_detection": VAD, "transcription": TRANSCRIPTION}},
        }
        await send(connection, {"type": "session.update", "session": session})
        await append(connection, tone(500, amplitude=4000) + silence(400), 20)
        events = await recv_until(connection, "response.done")
    assert "input_audio_buffer.speech_stopped" in types(events)
    # The model hears the scripted utterance whether or not its transcript has arrived.
    text = "".join(dump(e)["delta"] for e in events if e.type == "response.output_text.delta")
    assert text == "Jag tänder lampan."


async def test_g711_audio_is_recorded_at_8_khz(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    async with client.realtime.connect(extra_query=TRANSCRIBE) as connection:
        await recv_until(connection, "session.created")
        session = {
            "type": "transcription",
            "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": VAD}},
        }
        await send(connection, {"type": "session.update", "session": session})
        loud = bytes([0x80, 0x00] * 2000)  # ±full scale in µ-law
        quiet = b"\xff" * 4000  # µ-law zero
        for audio in (loud, quiet):
            encoded = base64.b64encode(audio).decode()
            await send(connection, {"type": "input_audio_buffer.append", "audio": encoded})
        events = await recv_until(connection, "input_audio_buffer.committed")
    assert "input_audio_buffer.speech_stopped" in types(events)
    record = server.connections[0].audio
    assert record.rate == 8000
    assert record.received_bytes == 8000
    assert record.received_ms == 1000


def test_levels_and_floors() -> None:
    pcm = {"type": "audio/pcm", "rate": 24_000}
    assert frame_level(silence(10), pcm) == 0.0
    assert frame_level(tone(10, amplitude=16384), pcm) == pytest.approx(0.354, abs=0.01)
    assert frame_level(bytes([0xD5] * 80), {"type": "audio/pcma"}) < speech_floor(0.0)
    assert frame_level(bytes([0xAA] * 80), {"type": "audio/pcma"}) > speech_floor(1.0)
    assert speech_floor(0.0) < speech_floor(0.5) < speech_floor(1.0)
    assert frame_level(tone(10, amplitude=600), pcm) > speech_floor(0.5)
    assert frame_level(tone(10, amplitude=300), pcm) < speech_floor(0.5)


def test_word_deltas() -> None:
    assert word_deltas("") == []
    assert word_deltas("Tänd lampan i köket ") == ["Tänd", " lampan", " i", " köket "]
    assert word_deltas(" Hej då", 1) == [" Hej då"]
    assert word_deltas("a b c d e", 2) == ["a b c", " d e"]
    assert AudioInputRecord().rate is None
