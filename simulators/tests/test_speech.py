"""Tests for the OpenAI audio test server, driven by the real openai SDK (and raw aiohttp)."""

import asyncio
from collections.abc import AsyncIterator
import io
from pathlib import Path
import subprocess
import sys
import time
from typing import Any
import wave

import aiohttp
import httpx2
from openai import (
    APIConnectionError,
    AsyncOpenAI,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
)
import pytest

from simulators.fixtures import sdk_client
from simulators.speech import (
    DEFAULT_API_KEY,
    SAMPLE_RATE,
    Faults,
    SpeechTestServer,
    audio_hash,
    parse_wav,
    synthesize,
)

TEXT = "Hej! Lampan i köket är tänd nu, och musiken spelar i vardagsrummet."
BYTES_PER_CHAR = 2 * SAMPLE_RATE * 60 // 1000  # 60 ms of PCM16 mono at 24 kHz


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[SpeechTestServer]:
    """A running server without artificial latency."""
    async with SpeechTestServer() as srv:
        yield srv


@pytest.fixture
async def client(server: SpeechTestServer) -> AsyncIterator[AsyncOpenAI]:
    """An SDK client pointed at the server."""
    async with sdk_client(server) as sdk:
        yield sdk


async def speak(client: AsyncOpenAI, text: str = TEXT, **kwargs: Any) -> bytes:
    """Stream one speech request to its end."""
    params: dict[str, Any] = {
        "model": "gpt-4o-mini-tts",
        "voice": "marin",
        "response_format": "pcm",
        **kwargs,
    }
    async with (
        asyncio.timeout(10),
        client.audio.speech.with_streaming_response.create(input=text, **params) as response,
    ):
        return b"".join([chunk async for chunk in response.iter_bytes()])


def make_wav(pcm: bytes, rate: int = 16_000, channels: int = 1) -> bytes:
    """A WAV file as Home Assistant's OpenAI STT entity builds it (``wave`` module)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


# --- speech ----------------------------------------------------------------------------------


async def test_speech_is_deterministic_pcm(server: SpeechTestServer, client: AsyncOpenAI) -> None:
    audio = await speak(client, instructions="Tala svenska.", speed=1.0)

    assert audio == synthesize(TEXT, ms_per_char=60.0)
    assert len(audio) == len(TEXT) * BYTES_PER_CHAR
    assert audio != bytes(len(audio))  # letters are tones, not silence
    [record] = server.speech_requests
    assert record.status == 200
    assert record.auth_valid
    assert record.text == TEXT
    assert record.body == {
        "model": "gpt-4o-mini-tts",
        "voice": "marin",
        "input": TEXT,
        "response_format": "pcm",
        "instructions": "Tala svenska.",
        "speed": 1.0,
    }
    assert record.audio_bytes == len(audio)
    assert record.fault is None
    assert server.speech_texts == [TEXT]


async def test_speed_shortens_the_audio(client: AsyncOpenAI) -> None:
    assert len(await speak(client, speed=2.0)) == len(TEXT) * BYTES_PER_CHAR // 2


async def test_speech_streams_before_synthesis_ends(
    server: SpeechTestServer, client: AsyncOpenAI
) -> None:
    """With a synthesis cost, the first chunk arrives while the rest is still synthesized."""
    server.per_char_s = 0.01  # about 0.7 s for the text, 0.08 s a chunk
    arrivals: list[float] = []
    async with (
        asyncio.timeout(10),
        client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="cedar", input=TEXT, response_format="pcm"
        ) as response,
    ):
        assert response.headers["content-type"] == "audio/pcm"
        assert response.headers["transfer-encoding"] == "chunked"
        async for chunk in response.iter_bytes():
            assert chunk
            if not arrivals:
                # The server has not finished: the body is still being produced.
                assert server.speech_requests[0].finished is None
            arrivals.append(time.monotonic())

    record = server.speech_requests[0]
    assert record.first_byte is not None
    assert record.finished is not None
    assert record.time < record.first_byte < arrivals[0] < record.finished <= arrivals[-1]
    assert len(arrivals) > 1


async def test_first_byte_latency_delays_the_headers(
    server: SpeechTestServer, client: AsyncOpenAI
) -> None:
    server.first_byte_s = 0.05
    await speak(client, "Hej")

    record = server.speech_requests[0]
    assert record.first_byte is not None
    assert record.first_byte - record.time >= 0.04


async def test_wav_and_mp3(server: SpeechTestServer, client: AsyncOpenAI) -> None:
    wav_bytes = await speak(client, "Hej hopp", response_format="wav", model="tts-1")
    assert wav_bytes[:4] == b"RIFF"
    assert wav_bytes[4:8] == b"\xff\xff\xff\xff"  # streaming: size unknown
    rate, channels, width, pcm = parse_wav(wav_bytes)
    assert (rate, channels, width) == (SAMPLE_RATE, 1, 2)
    assert pcm == synthesize("Hej hopp", ms_per_char=60.0)

    mp3 = await speak(client, "Hej hopp", response_format="mp3", model="tts-1-hd")
    frame = 417  # 128 kbit/s at 44.1 kHz
    assert mp3[:2] == b"\xff\xfb"
    assert len(mp3) % frame == 0
    assert len(mp3) // frame == 19  # 0.48 s of 26.1 ms frames, rounded up
    assert [r.body.get("response_format") for r in server.speech_requests] == ["wav", "mp3"]


async def test_custom_voice_is_accepted(client: AsyncOpenAI) -> None:
    assert await speak(client, "Hej", voice={"id": "voice_1234"})


async def test_wrong_key_is_rejected_like_openai(server: SpeechTestServer) -> None:
    wrong = "sk-wrong-key-0000000000000000"
    async with AsyncOpenAI(api_key=wrong, base_url=server.base_url, max_retries=0) as sdk:
        with pytest.raises(AuthenticationError) as caught:
            await speak(sdk)

    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "invalid_request_error"
    assert wrong not in caught.value.message  # masked, as OpenAI does
    assert "sk-" in caught.value.message
    assert [(r.auth_valid, r.status) for r in server.speech_requests] == [(False, 401)]


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        pytest.param({"model": "tts-2"}, "model", "invalid_value", id="model"),
        pytest.param({"voice": "bob"}, "voice", "invalid_value", id="voice"),
        pytest.param({"input": "a" * 4097}, "input", "string_above_max_length", id="too-long"),
        pytest.param({"speed": 5.0}, "speed", "invalid_value", id="speed"),
        pytest.param({"response_format": "ogg"}, "response_format", "invalid_value", id="format"),
        pytest.param(
            {"response_format": "opus"}, "response_format", "invalid_value", id="not-simulated"
        ),
        pytest.param(
            {"stream_format": "sse"}, "stream_format", "unsupported_value", id="sse-not-simulated"
        ),
    ],
)
async def test_invalid_speech_requests(
    server: SpeechTestServer,
    client: AsyncOpenAI,
    changes: dict[str, Any],
    param: str,
    code: str,
) -> None:
    changes = dict(changes)
    text = changes.pop("input", TEXT)
    with pytest.raises(BadRequestError) as caught:
        await speak(client, text, **changes)

    assert caught.value.code == code
    assert caught.value.param == param
    assert server.speech_requests[0].status == 400


async def test_input_of_4096_characters_is_accepted(client: AsyncOpenAI) -> None:
    assert len(await speak(client, "a" * 4096)) == 4096 * BYTES_PER_CHAR


async def test_missing_parameter_and_bad_json(server: SpeechTestServer) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    url = f"{server.base_url}/audio/speech"
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(url, json={"model": "tts-1", "voice": "alloy"}) as response:
            assert response.status == 400
            error = (await response.json())["error"]
        async with session.post(url, data=b"{not json") as response:
            assert response.status == 400

    assert error["code"] == "missing_required_parameter"
    assert error["param"] == "input"


# --- faults -----------------------------------------------------------------------------------


async def test_server_error_and_rate_limit(server: SpeechTestServer, client: AsyncOpenAI) -> None:
    server.speech_faults = Faults(status=500, count=1)
    with pytest.raises(InternalServerError) as server_error:
        await speak(client)
    assert await speak(client, "Hej")  # count=1: only the first request failed

    server.speech_faults = Faults(status=429)
    with pytest.raises(RateLimitError) as rate_limited:
        await speak(client)

    assert server_error.value.status_code == 500
    assert isinstance(server_error.value.body, dict)
    assert server_error.value.body["type"] == "server_error"
    assert rate_limited.value.code == "rate_limit_exceeded"
    assert rate_limited.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert [r.status for r in server.speech_requests] == [500, 200, 429]


async def listen(
    client: AsyncOpenAI, received: list[bytes], got: asyncio.Event | None = None
) -> None:
    """Stream a speech request, keeping the chunks received before any error."""
    async with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="marin", input=TEXT, response_format="pcm"
    ) as response:
        async for chunk in response.iter_bytes():
            received.append(chunk)
            if got is not None:
                got.set()


async def test_drop_mid_body(server: SpeechTestServer, client: AsyncOpenAI) -> None:
    server.speech_faults = Faults(drop_after_chunks=2)
    received: list[bytes] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        await listen(client, received)

    assert sum(map(len, received)) == 2 * 8 * BYTES_PER_CHAR  # two chunks of 8 characters
    assert server.speech_requests[0].fault == "dropped"


async def test_stall_keeps_the_connection_open(
    server: SpeechTestServer, client: AsyncOpenAI
) -> None:
    server.speech_faults = Faults(stall_after_chunks=1)
    received: list[bytes] = []
    got = asyncio.Event()
    task = asyncio.create_task(listen(client, received, got))
    await server.wait_for(lambda: any(r.fault == "stalled" for r in server.speech_requests))
    async with asyncio.timeout(5):
        await got.wait()  # the chunk sent before the stall
    assert not task.done()
    await server.stop()  # releases the stall: the connection is dropped
    with pytest.raises(httpx2.RemoteProtocolError):
        async with asyncio.timeout(5):
            await task
    assert sum(map(len, received)) == 8 * BYTES_PER_CHAR


# --- transcriptions ------------------------------------------------------------------------------


async def test_transcription_scripted_by_file_or_payload_hash(
    server: SpeechTestServer, client: AsyncOpenAI
) -> None:
    pcm = bytes(range(256)) * 125  # 1 s at 16 kHz
    wav_file = make_wav(pcm)
    server.script_transcript(wav_file, "Tänd i köket")
    server.script_transcript(pcm * 2, "Släck i hallen")

    by_file = await client.audio.transcriptions.create(
        model="gpt-4o-mini-transcribe",
        file=("a.wav", wav_file),
        response_format="json",
        language="sv",
        prompt="Alice",
    )
    by_payload = await client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", make_wav(pcm * 2, rate=32_000))
    )
    unknown = await client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.wav", make_wav(pcm[::-1]))
    )

    assert (by_file.text, by_payload.text, unknown.text) == (
        "Tänd i köket",
        "Släck i hallen",
        server.default_transcript,
    )
    first, second, third = server.transcription_requests
    assert first.fields == {
        "model": "gpt-4o-mini-transcribe",
        "language": "sv",
        "prompt": "Alice",
        "response_format": "json",
    }
    assert first.filename == "a.wav"
    assert first.file_sha256 == audio_hash(wav_file)
    assert first.pcm_sha256 == audio_hash(pcm)
    assert (first.audio_seconds, second.audio_seconds) == (1.0, 1.0)
    assert third.text == server.default_transcript
    assert by_file.usage is not None
    assert by_file.usage.type == "tokens"
    assert by_payload.usage is not None
    assert by_payload.usage.type == "duration"


async def test_transcription_as_text_and_of_other_formats(
    server: SpeechTestServer, client: AsyncOpenAI
) -> None:
    server.script_transcript(b"OggS fake", "Hej")
    text = await client.audio.transcriptions.create(
        model="whisper-1", file=("a.ogg", b"OggS fake"), response_format="text"
    )
    assert text == "Hej\n"
    assert server.transcription_requests[0].audio_seconds == 0.0  # not WAV: no duration


async def test_transcription_cost_follows_the_audio_duration(
    server: SpeechTestServer, client: AsyncOpenAI
) -> None:
    server.per_audio_second_s = 0.1
    await client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", make_wav(bytes(32_000 * 2)))
    )
    record = server.transcription_requests[0]
    assert record.audio_seconds == 2.0
    assert record.finished is not None
    assert record.finished - record.time >= 0.19


@pytest.mark.parametrize(
    ("model", "data", "param", "code"),
    [
        pytest.param("whisper-2", make_wav(bytes(3200)), "model", "invalid_value", id="model"),
        pytest.param("whisper-1", b"RIFF....WAVEjunk", "file", "invalid_value", id="corrupt"),
        pytest.param("whisper-1", b"", "file", "invalid_value", id="empty"),
        pytest.param("whisper-1", make_wav(bytes(320)), "file", "audio_too_short", id="short"),
    ],
)
async def test_invalid_transcriptions(
    server: SpeechTestServer, client: AsyncOpenAI, model: str, data: bytes, param: str, code: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.audio.transcriptions.create(model=model, file=("a.wav", data))
    assert (caught.value.param, caught.value.code) == (param, code)
    assert server.transcription_requests[0].status == 400


async def test_transcription_format_and_auth(server: SpeechTestServer, client: AsyncOpenAI) -> None:
    wav_file = make_wav(bytes(3200))
    with pytest.raises(BadRequestError):
        await client.audio.transcriptions.create(
            model="whisper-1", file=("a.wav", wav_file), response_format="srt"
        )
    async with AsyncOpenAI(api_key="sk-nope", base_url=server.base_url, max_retries=0) as sdk:
        with pytest.raises(AuthenticationError):
            await sdk.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_file))
    assert [r.status for r in server.transcription_requests] == [400, 401]


async def test_transcription_faults(server: SpeechTestServer, client: AsyncOpenAI) -> None:
    wav_file = make_wav(bytes(3200))
    server.transcription_faults = Faults(status=503, count=1)
    with pytest.raises(InternalServerError):
        await client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_file))
    server.transcription_faults = Faults(drop_after_chunks=0, count=1)
    with pytest.raises(APIConnectionError):
        await client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_file))
    server.transcription_faults = Faults(stall_after_chunks=0, count=1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_file))
    ok = await client.audio.transcriptions.create(model="whisper-1", file=("a.wav", wav_file))

    assert ok.text == server.default_transcript
    assert [r.fault for r in server.transcription_requests] == [None, "dropped", "stalled", None]


# --- command line ---------------------------------------------------------------------------------


def test_command_line_server(socket_enabled: None) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "simulators.speech", "--port", "0", "--first-byte-s", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
        finally:
            process.terminate()
    assert line.startswith("OpenAI audio test server on http://127.0.0.1:")
    assert DEFAULT_API_KEY in line
