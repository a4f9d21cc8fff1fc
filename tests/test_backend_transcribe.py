"""Tests for Realtime speech to text against the local Realtime server and the real SDK."""

import asyncio
from collections.abc import AsyncIterator, Callable
import logging
import ssl
from typing import Any

from openai import AsyncOpenAI
from openai.types.realtime import RealtimeTranscriptionSessionCreateRequest
import pytest

from custom_components.alice_voice.backends.realtime_types import (
    RealtimeAuthError,
    RealtimeConnectionError,
    RealtimeSessionExpired,
    RealtimeTimeoutError,
)
from custom_components.alice_voice.backends.transcribe import (
    CHUNK_BYTES,
    RealtimeTranscriber,
    TranscriptionError,
    TranscriptionSettings,
)
from simulators.realtime import DropMode, RealtimeTestServer, Transcript
from simulators.realtime_audio import silence, tone

from .common import closed

MANUAL = TranscriptionSettings()
VAD = TranscriptionSettings(server_vad=True, silence_duration_ms=300)
BYTES_PER_MS = 48
SPEECH = tone(600, amplitude=4000) + silence(200)

type TranscriberFactory = Callable[..., RealtimeTranscriber]


@pytest.fixture
async def make_transcriber(client: AsyncOpenAI) -> AsyncIterator[TranscriberFactory]:
    """Build transcribers (on ``client`` unless another is passed); all closed afterwards."""
    made: list[RealtimeTranscriber] = []

    def factory(
        settings: TranscriptionSettings = MANUAL, sdk: AsyncOpenAI | None = None, **kwargs: Any
    ) -> RealtimeTranscriber:
        transcriber = RealtimeTranscriber(sdk or client, settings, **kwargs)
        made.append(transcriber)
        return transcriber

    yield factory
    for transcriber in made:
        await transcriber.cancel()


async def feed(stt: RealtimeTranscriber, audio: bytes, chunk_ms: int = 20) -> None:
    """Append ``audio`` in microphone-sized chunks."""
    size = chunk_ms * BYTES_PER_MS
    for offset in range(0, len(audio), size):
        await stt.append(audio[offset : offset + size])


async def until(predicate: Callable[[], bool]) -> None:
    """Wait until ``predicate()`` holds (events arrive asynchronously)."""
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110 - a flag the transcriber's reader sets
            await asyncio.sleep(0.005)


async def test_committed_utterance_returns_scripted_transcript(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts("Tänd lampan i köket")
    async with make_transcriber() as stt:
        await feed(stt, SPEECH)
        assert stt.speech_stopped is False
        assert await stt.finish() == "Tänd lampan i köket"

    record = await closed(server)
    assert record.closed_by == "client"
    assert record.handshake.query == {"intent": "transcription"}
    assert record.session["type"] == "transcription"
    assert record.audio.rate == 24_000
    assert record.audio.received_bytes == len(SPEECH)
    assert record.audio.committed_ms == [len(SPEECH) / BYTES_PER_MS]
    assert record.audio.transcripts == ["Tänd lampan i köket"]
    assert record.client_event_types[0] == "session.update"
    assert record.client_event_types[-1] == "input_audio_buffer.commit"
    # A transcription session never answers.
    assert not [t for t in record.server_event_types if t.startswith("response.")]


async def test_session_update_is_a_ga_transcription_session(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    settings = TranscriptionSettings(
        model="gpt-4o-transcribe",
        language="sv",
        prompt="Hemautomation: lampor, köket",
        server_vad=True,
        silence_duration_ms=700,
        noise_reduction="far_field",
    )
    async with make_transcriber(settings) as stt:
        await stt.finish()

    session = server.client_events("session.update")[0]["session"]
    # The payload is what the SDK's own model of a transcription session accepts.
    RealtimeTranscriptionSessionCreateRequest.model_validate(session)
    assert session == {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24_000},
                "transcription": {
                    "model": "gpt-4o-transcribe",
                    "language": "sv",
                    "prompt": "Hemautomation: lampor, köket",
                },
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 700,
                },
                "noise_reduction": {"type": "far_field"},
            }
        },
    }
    # The server accepted it (no error) and applied it.
    record = await closed(server)
    assert "error" not in record.server_event_types
    assert record.session["audio"]["input"]["transcription"]["model"] == "gpt-4o-transcribe"
    assert MANUAL.session_payload()["audio"]["input"]["turn_detection"] is None


async def test_interim_accumulates_deltas(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts("Spela jazz i vardagsrummet")
    server.transcribe_delay_s = 0.05
    async with make_transcriber() as stt:
        await feed(stt, SPEECH)
        assert stt.interim == ""
        assert await stt.finish() == "Spela jazz i vardagsrummet"
        assert stt.interim == "Spela jazz i vardagsrummet"

    record = await closed(server)
    deltas = [
        event["delta"]
        for event in record.server_events
        if event["type"] == "conversation.item.input_audio_transcription.delta"
    ]
    assert deltas == ["Spela", " jazz", " i", " vardagsrummet"]


async def test_server_vad_ends_the_utterance_after_silence(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts("Vad är klockan")
    async with make_transcriber(VAD) as stt:
        await feed(stt, silence(400) + tone(800, amplitude=4000) + silence(600))
        await until(lambda: stt.speech_stopped)
        assert await stt.finish() == "Vad är klockan"

    record = await closed(server)
    # The server committed the turn: the client did not.
    assert "input_audio_buffer.commit" not in record.client_event_types
    types = record.server_event_types
    assert types.index("input_audio_buffer.speech_started") < types.index(
        "input_audio_buffer.speech_stopped"
    )
    assert types.index("input_audio_buffer.speech_stopped") < types.index(
        "input_audio_buffer.committed"
    )
    # Speech from 400 ms (less 300 ms padding) until 300 ms of silence after 1200 ms.
    assert record.audio.speech == [(100, 1500)]
    assert record.audio.received_bytes == (400 + 800 + 600) * BYTES_PER_MS


async def test_server_vad_commits_speech_still_going_on(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts("Släck allt")
    async with make_transcriber(VAD) as stt:
        await feed(stt, tone(500, amplitude=4000))
        assert await stt.finish() == "Släck allt"
        assert stt.speech_stopped is False
    record = await closed(server)
    assert record.client_event_types[-1] == "input_audio_buffer.commit"
    assert "input_audio_buffer.speech_stopped" not in record.server_event_types


async def test_server_vad_silence_only_is_empty(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts("never heard")
    async with make_transcriber(VAD) as stt:
        await feed(stt, silence(1000))
        assert await stt.finish() == ""
    record = await closed(server)
    assert "input_audio_buffer.commit" not in record.client_event_types
    assert record.audio.transcripts == []
    assert len(server.transcript_queue) == 1


@pytest.mark.parametrize(
    ("audio", "commits"),
    [
        pytest.param(b"", 0, id="nothing"),
        pytest.param(silence(50), 1, id="under-100ms"),
        pytest.param(silence(500), 1, id="silence"),
    ],
)
async def test_no_speech_is_empty(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory, audio: bytes, commits: int
) -> None:
    async with make_transcriber() as stt:
        await feed(stt, audio)
        assert await stt.finish() == ""
    record = await closed(server)
    assert record.client_event_types.count("input_audio_buffer.commit") == commits
    assert record.audio.received_bytes == len(audio)


async def test_commit_empty_answer_is_not_an_error(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    async with make_transcriber() as stt:
        await feed(stt, silence(50))
        assert await stt.finish() == ""
    errors = [e for e in (await closed(server)).server_events if e["type"] == "error"]
    assert [e["error"]["code"] for e in errors] == ["input_audio_buffer_commit_empty"]


async def test_audio_is_sent_in_pieces_of_at_most_100_ms(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    audio = tone(1000, amplitude=4000)
    async with make_transcriber() as stt:
        await stt.append(audio[:3])  # half a sample is held back until it is complete
        await stt.append(audio[3:])
        await stt.finish()
    record = await closed(server)
    appends = server.client_events("input_audio_buffer.append")
    assert len(appends) == 11
    assert all(len(event["audio"]) <= (CHUNK_BYTES + 2) // 3 * 4 for event in appends)
    assert record.audio.received_bytes == len(audio)


async def test_http_401_is_an_auth_error(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    sdk = AsyncOpenAI(api_key="sk-revoked", base_url=server.base_url, max_retries=0)
    try:
        with pytest.raises(RealtimeAuthError) as exc_info:
            await make_transcriber(sdk=sdk).start()
    finally:
        await sdk.close()
    assert exc_info.value.code == "http_401"
    assert server.connection_count == 0


async def test_invalid_api_key_event_is_an_auth_error(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.bad_key_mode = "event"
    sdk = AsyncOpenAI(api_key="sk-revoked", base_url=server.base_url, max_retries=0)
    try:
        with pytest.raises(RealtimeAuthError) as exc_info:
            async with make_transcriber(sdk=sdk):
                pass
    finally:
        await sdk.close()
    assert exc_info.value.code == "invalid_api_key"
    assert (await closed(server)).client_events == []


async def test_other_handshake_failures_are_connection_errors(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.set_faults(handshake_status=503)
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await make_transcriber().start()
    assert exc_info.value.code == "http_503"

    server.clear_faults()
    server.handshake_delay = 30
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await make_transcriber(TranscriptionSettings(connect_timeout=0.1)).start()
    assert exc_info.value.code == "timeout"


@pytest.mark.parametrize(
    ("mode", "code"),
    [
        pytest.param("close_1011", "close_1011", id="1011"),
        pytest.param("abort", "close_1006", id="abort"),
    ],
)
async def test_drop_mid_transcription_is_a_connection_error(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory, mode: DropMode, code: str
) -> None:
    server.script_transcripts(Transcript(text="Tänd lampan i köket", drop=mode))
    async with make_transcriber() as stt:
        await feed(stt, SPEECH)
        with pytest.raises(RealtimeConnectionError) as exc_info:
            await stt.finish()
        assert stt.interim == "Tänd"
        # Nothing more can be sent on a lost connection.
        with pytest.raises(RealtimeConnectionError):
            await stt.append(SPEECH)
    assert exc_info.value.code == code


async def test_failed_transcription_is_a_transcription_error(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts(Transcript(text="x", failed_code="audio_unintelligible"))
    async with make_transcriber() as stt:
        await feed(stt, SPEECH)
        with pytest.raises(TranscriptionError) as exc_info:
            await stt.finish()
    assert exc_info.value.code == "audio_unintelligible"

    # The same as a standing fault.
    server.set_faults(transcription_failed_code="server_error")
    async with make_transcriber() as stt:
        await feed(stt, SPEECH)
        with pytest.raises(TranscriptionError) as exc_info:
            await stt.finish()
    assert exc_info.value.code == "server_error"


async def test_rejected_session_update_is_a_transcription_error(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    async with make_transcriber(TranscriptionSettings(model="gpt-4o-mini-tts")) as stt:
        with pytest.raises(TranscriptionError) as exc_info:
            await stt.finish()
        with pytest.raises(TranscriptionError):
            await stt.append(SPEECH)
    assert exc_info.value.code == "invalid_value"
    assert server.connections[0].client_event_types == ["session.update"]


async def test_result_timeout(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts(Transcript(text="Sent", delay=30))
    async with make_transcriber(TranscriptionSettings(result_timeout=0.1)) as stt:
        await feed(stt, SPEECH)
        with pytest.raises(RealtimeTimeoutError) as exc_info:
            await stt.finish()
    assert exc_info.value.code == "timeout"
    # The connection was closed at once, the transcription still running.
    assert (await closed(server)).closed_by == "client"


async def test_transcribe_delay_scales_with_audio(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts("Hej")
    server.transcribe_delay_s = 60  # a minute per second of audio: never in time
    async with make_transcriber(TranscriptionSettings(result_timeout=0.1)) as stt:
        await feed(stt, SPEECH)
        with pytest.raises(RealtimeTimeoutError):
            await stt.finish()


async def test_cancel_closes_the_socket(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    stt = make_transcriber()
    await stt.start()
    await feed(stt, SPEECH)
    await stt.cancel()
    await stt.cancel()
    record = await closed(server)
    assert record.closed_by == "client"
    assert record.close_code == 1000
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await stt.append(SPEECH)
    assert exc_info.value.code == "cancelled"
    with pytest.raises(RealtimeConnectionError):
        await stt.start()


async def test_cancel_while_waiting_for_the_transcript(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts(Transcript(text="Sent", delay=30))
    stt = make_transcriber()
    await stt.start()
    await feed(stt, SPEECH)
    finish = asyncio.create_task(stt.finish())
    await server.wait_for(
        lambda: "input_audio_buffer.commit" in server.connections[0].client_event_types
    )
    await stt.cancel()
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await finish
    assert exc_info.value.code == "cancelled"
    assert (await closed(server)).closed_by == "client"


async def test_context_manager_closes_on_error(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    async def utterance() -> None:
        async with make_transcriber() as stt:
            await feed(stt, SPEECH)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await utterance()
    assert (await closed(server)).closed_by == "client"
    assert [task for task in asyncio.all_tasks() if "transcription" in task.get_name()] == []


async def test_ssl_context_is_accepted_for_plain_ws(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts("Hej")
    context = ssl.create_default_context()
    async with make_transcriber(ssl=context) as stt:
        await feed(stt, SPEECH)
        assert await stt.finish() == "Hej"


async def test_api_key_never_logged(
    server: RealtimeTestServer,
    make_transcriber: TranscriberFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-top-secret-stt-key"
    server.api_keys.add(secret)
    server.script_transcripts("Tänd lampan")
    sdk = AsyncOpenAI(api_key=secret, base_url=server.base_url, max_retries=0)
    try:
        async with make_transcriber(sdk=sdk) as stt:
            await feed(stt, SPEECH)
            assert await stt.finish() == "Tänd lampan"
        server.api_keys.discard(secret)
        with pytest.raises(RealtimeAuthError):
            await make_transcriber(sdk=sdk).start()
    finally:
        await sdk.close()

    messages = [record.getMessage() for record in caplog.records]
    assert secret not in caplog.text
    assert any("Authorization: <redacted>" in message for message in messages)
    # Interim transcripts are logged at debug level only.
    interim = [r for r in caplog.records if "Tänd" in r.getMessage()]
    assert interim
    assert all(record.levelno == logging.DEBUG for record in interim)


async def test_connection_refused_is_a_connection_error(
    socket_enabled: None, make_transcriber: TranscriberFactory
) -> None:
    gone = RealtimeTestServer.instant()
    await gone.start()
    base_url = gone.base_url
    await gone.stop()
    sdk = AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
    try:
        with pytest.raises(RealtimeConnectionError) as exc_info:
            await make_transcriber(sdk=sdk).start()
    finally:
        await sdk.close()
    assert exc_info.value.code == "connect_failed"


async def test_connection_lost_while_streaming(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    async with make_transcriber() as stt:
        server.set_faults(drop_on_client_event="abort")
        await feed(stt, SPEECH)
        with pytest.raises(RealtimeConnectionError) as exc_info:
            await stt.finish()
    assert exc_info.value.code == "close_1006"


async def test_session_expired_while_transcribing(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    server.script_transcripts(Transcript(text="Sent", delay=30))
    async with make_transcriber() as stt:
        await feed(stt, SPEECH)
        finish = asyncio.create_task(stt.finish())
        await server.wait_for(
            lambda: "input_audio_buffer.commit" in server.connections[0].client_event_types
        )
        await server.expire_sessions()
        with pytest.raises(RealtimeSessionExpired):
            await finish


async def test_start_is_idempotent_and_required(
    server: RealtimeTestServer, make_transcriber: TranscriberFactory
) -> None:
    stt = make_transcriber(TranscriptionSettings(language=""))
    with pytest.raises(RuntimeError):
        await stt.finish()
    with pytest.raises(RuntimeError):
        await stt.append(SPEECH)
    await stt.start()
    await stt.start()
    assert await stt.finish() == ""
    assert server.handshake_count == 1
    # Without a language the model detects it.
    session = server.client_events("session.update")[0]["session"]
    assert session["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe"}
