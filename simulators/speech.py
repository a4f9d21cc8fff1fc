"""A protocol-faithful OpenAI audio REST server (speech and transcriptions) for tests and benchmarks.

It serves on 127.0.0.1 the two endpoints the ``openai`` 3.10 SDK calls for audio, as core Home
Assistant's ``openai_conversation`` uses them (STT uploads the whole utterance; TTS requests one
message at a time); point ``AsyncOpenAI(base_url=server.base_url, api_key=server.api_key)`` here.

* ``POST /v1/audio/speech`` (JSON) checks the bearer key, model, voice, input length (4096),
  format and speed with OpenAI's error bodies, then streams chunked audio as it is
  "synthesized": ``first_byte_s``, then ``per_char_s`` per character, a few characters a
  chunk. The audio is deterministic, ``ms_per_char`` (÷ ``speed``) per character: a shaped tone
  per letter, silence otherwise. ``pcm`` is PCM16 LE mono 24 kHz, ``wav`` the same behind a
  streaming header, ``mp3`` silent MPEG frames as long; ``opus``/``aac``/``flac`` and
  ``stream_format: "sse"`` are not simulated (400).
* ``POST /v1/audio/transcriptions`` (multipart) answers ``json`` or ``text``, scripted by the
  SHA-256 of the file or of its WAV payload (:meth:`SpeechTestServer.script_transcript`), in
  ``transcription_overhead_s`` + ``per_audio_second_s`` per second of WAV audio.
* :class:`Faults` per endpoint: an HTTP status (429 with the rate-limit body, 5xx), a
  connection dropped mid-body, or a stall. Every request is recorded with monotonic times.
* Standalone: ``python -m simulators.speech --port 8766``.
"""

import argparse
import asyncio
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass, field
import functools
import hashlib
import io
import math
import struct
import time
from typing import Any, Final, Self
import wave

from aiohttp import web

type JsonDict = dict[str, Any]

DEFAULT_API_KEY: Final = "sk-test-alice-0123456789"
SAMPLE_RATE: Final = 24_000
MAX_INPUT_CHARS: Final = 4096
SPEECH_MODELS: Final = ("gpt-4o-mini-tts", "tts-1", "tts-1-hd")
VOICES: Final = (
    *("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx"),
    *("nova", "sage", "shimmer", "verse", "marin", "cedar"),
)
TRANSCRIPTION_MODELS: Final = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
CONTENT_TYPES: Final = {"pcm": "audio/pcm", "wav": "audio/wav", "mp3": "audio/mpeg"}
CHARS_PER_CHUNK: Final = 8
# One MPEG-1 Layer III frame, 128 kbit/s, 44.1 kHz, mono, all-zero side info: silence.
_MP3_FRAME: Final = b"\xff\xfb\x90\xc4" + bytes(413)
_MP3_FRAME_S: Final = 1152 / 44_100
_SERVER_ERROR: Final = "The server had an error while processing your request. Sorry about that!"
_CORRUPT: Final = "Audio file might be corrupted or unsupported"
_INVALID: Final = "invalid_request_error"
_MISSING: Final = "missing_required_parameter"


class _ApiError(Exception):
    """An OpenAI error answered instead of the result (``invalid_request_error`` 400 unless told)."""

    def __init__(
        self, message: str, param: str | None, code: str | None = "invalid_value", **kw: Any
    ) -> None:
        super().__init__(message)
        self.param, self.code = param, code
        self.status: int = kw.get("status", 400)
        self.type: str = kw.get("type", _INVALID)
        self.headers: dict[str, str] = kw.get("headers", {})

    def response(self) -> web.Response:
        error = {"message": str(self), "type": self.type, "param": self.param, "code": self.code}
        return web.json_response({"error": error}, status=self.status, headers=self.headers)


def _check(ok: bool, param: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not ok:
        listed = ", ".join(repr(v) for v in allowed)
        raise _ApiError(f"Invalid value: {value!r}. Supported values are: {listed}.", param)


@dataclass(slots=True, kw_only=True)
class Faults:
    """Failures injected into one endpoint's requests until cleared (``count``: how many more).

    ``status``: answer with this HTTP status and OpenAI's error body (429 = rate limit);
    ``drop_after_chunks`` / ``stall_after_chunks``: abort the connection, or send nothing more
    until the server stops, after this many body chunks (transcriptions: instead of answering).
    """

    status: int | None = None
    drop_after_chunks: int | None = None
    stall_after_chunks: int | None = None
    count: int | None = None

    def take(self) -> bool:
        """Whether the faults apply to the next request (and use one of ``count``)."""
        faults = (self.status, self.drop_after_chunks, self.stall_after_chunks)
        if faults == (None, None, None) or self.count == 0:
            return False
        self.count = None if self.count is None else self.count - 1
        return True


@dataclass(slots=True, kw_only=True)
class SpeechRecord:
    """One ``POST /v1/audio/speech``; times are ``time.monotonic()``."""

    time: float
    body: JsonDict
    auth_valid: bool
    status: int = 200
    first_byte: float | None = None  # when the first audio chunk was written
    finished: float | None = None  # when the last chunk was written
    audio_bytes: int = 0  # body bytes sent
    fault: str | None = None  # "dropped" or "stalled" when a fault cut the body

    @property
    def text(self) -> str:
        """The ``input`` text."""
        return str(self.body.get("input", ""))


@dataclass(slots=True, kw_only=True)
class TranscriptionRecord:
    """One ``POST /v1/audio/transcriptions``."""

    time: float
    auth_valid: bool
    fields: dict[str, str] = field(default_factory=dict)  # form fields but the file
    filename: str | None = None
    file_sha256: str | None = None
    pcm_sha256: str | None = None  # of the WAV ``data`` payload
    audio_seconds: float = 0.0
    text: str | None = None
    status: int = 200
    finished: float | None = None
    fault: str | None = None  # "dropped" or "stalled"


def audio_hash(data: bytes) -> str:
    """The key :attr:`SpeechTestServer.transcripts` uses for a file or PCM payload."""
    return hashlib.sha256(data).hexdigest()


def parse_wav(data: bytes) -> tuple[int, int, int, bytes]:
    """Return ``(rate, channels, width, pcm)`` of a PCM WAV file (streaming sizes allowed).

    Raises:
        ValueError: Not a PCM WAV file.
    """
    try:
        with wave.open(io.BytesIO(data)) as wav:
            pcm = wav.readframes(wav.getnframes())
            return wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), pcm
    except (wave.Error, EOFError) as err:
        raise ValueError(str(err)) from err


@functools.lru_cache(maxsize=256)
def _letter(char: str, samples: int) -> bytes:
    """A Hann-shaped tone for a letter (pitch from the letter), silence for anything else."""
    if not char.isalnum():
        return bytes(2 * samples)
    step = 2 * math.pi * (150.0 + (ord(char.lower()) % 24) * 15.0) / SAMPLE_RATE
    shape = [6000 * math.sin(math.pi * i / samples) ** 2 for i in range(samples)]
    return struct.pack(f"<{samples}h", *(int(a * math.sin(step * i)) for i, a in enumerate(shape)))


def synthesize(text: str, *, ms_per_char: float, speed: float = 1.0) -> bytes:
    """Deterministic PCM16 24 kHz "speech" for ``text``: ``ms_per_char / speed`` per character."""
    samples = max(1, round(SAMPLE_RATE * ms_per_char / 1000 / speed))
    return b"".join(_letter(char, samples) for char in text)


def _wav_header(rate: int = SAMPLE_RATE) -> bytes:  # sizes unknown while streaming: 0xFFFFFFFF
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 0xFFFFFFFF, b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16, b"data"),
        0xFFFFFFFF,
    )


def _fault(status: int, model: str) -> _ApiError:
    if status == 429:
        return _ApiError(
            f"Rate limit reached for {model} in organization org-alice on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
            *(None, "rate_limit_exceeded"),
            status=429,
            type="requests",
            headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "120ms"},
        )
    if status >= 500:
        return _ApiError(_SERVER_ERROR, None, None, status=status, type="server_error")
    return _ApiError("Injected fault", None, None, status=status)


type _Record = SpeechRecord | TranscriptionRecord


class SpeechTestServer:
    """A local OpenAI audio server (aiohttp) driven by the real SDK; attributes change live."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        first_byte_s: float = 0.0,
        per_char_s: float = 0.0,
        ms_per_char: float = 60.0,
        per_audio_second_s: float = 0.0,
        transcription_overhead_s: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the server; call :meth:`start` to listen."""
        self.api_key = api_key  # the one key accepted
        self.first_byte_s = first_byte_s  # before the first audio chunk of a speech request
        self.per_char_s = per_char_s  # "synthesis" per input character, paid chunk by chunk
        self.ms_per_char = ms_per_char  # audio per input character (at speed 1.0)
        self.per_audio_second_s = per_audio_second_s  # transcription per second of WAV audio
        self.transcription_overhead_s = transcription_overhead_s  # fixed, per transcription
        self.transcripts: dict[str, str] = {}  # audio_hash() of a file or WAV payload → text
        self.default_transcript = "Tänd lampan i köket"  # of any other audio
        self.speech_faults = Faults()
        self.transcription_faults = Faults()
        self.speech_requests: list[SpeechRecord] = []  # in arrival order
        self.transcription_requests: list[TranscriptionRecord] = []
        self._host = host
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._changed = asyncio.Condition()

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on ``host:port`` (port 0 = any free port)."""
        app = web.Application(client_max_size=26 * 1024 * 1024)  # OpenAI allows 25 MB files
        self.add_routes(app)
        self._stopping.clear()
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._requested_port).start()

    def add_routes(self, app: web.Application) -> None:
        """Serve the audio endpoints in ``app`` (OpenAI's API on one port, with Realtime)."""
        app.router.add_post("/v1/audio/speech", self._speech)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)

    async def stop(self) -> None:
        """Release stalled responses and stop listening."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start on entry."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop on exit."""
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        if self._runner is None:
            raise RuntimeError("Server not started")
        return int(self._runner.addresses[0][1])

    @property
    def base_url(self) -> str:
        """The base URL for ``AsyncOpenAI(base_url=…)``."""
        return f"http://{self._host}:{self.port}/v1"

    # --- scripting and records --------------------------------------------------------------
    def script_transcript(self, audio: bytes, text: str) -> str:
        """Transcribe files (or WAV payloads) equal to ``audio`` as ``text``; return the hash."""
        key = audio_hash(audio)
        self.transcripts[key] = text
        return key

    @property
    def speech_texts(self) -> list[str]:
        """The ``input`` of every speech request, in arrival order."""
        return [record.text for record in self.speech_requests]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait up to ``within`` seconds until ``predicate()`` holds (checked on every record change)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- handlers ---------------------------------------------------------------------------
    def _authorized(self, request: web.Request) -> bool:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and key.strip() == self.api_key

    def _check_auth(self, request: web.Request) -> None:
        """Raise OpenAI's 401 unless the bearer key is right (the key is masked, as OpenAI does)."""
        if self._authorized(request):
            return
        key = request.headers.get("Authorization", "").partition(" ")[2].strip()
        masked = key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 8 else "*" * len(key)
        message = f"Incorrect API key provided: {masked}. You can find your API key at https://platform.openai.com/account/api-keys."
        raise _ApiError(message, None, "invalid_api_key", status=401)

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body: Any = None
        with contextlib.suppress(ValueError):  # invalid JSON: as if nothing was sent
            body = await request.json()
        body = body if isinstance(body, dict) else {}
        record = SpeechRecord(
            time=time.monotonic(), body=body, auth_valid=self._authorized(request)
        )
        self.speech_requests.append(record)
        try:
            response = await self._speech_response(request, record, body)
        except _ApiError as err:
            response = err.response()
        record.status = response.status
        record.finished = record.finished or time.monotonic()
        await self._notify()
        return response

    def _validate_speech(self, body: JsonDict) -> None:
        for name in ("model", "input", "voice"):
            if name not in body:
                raise _ApiError(f"Missing required parameter: '{name}'.", name, _MISSING)
        model, text, voice = body["model"], body["input"], body["voice"]
        _check(model in SPEECH_MODELS, "model", model, SPEECH_MODELS)
        if not isinstance(text, str) or len(text) > MAX_INPUT_CHARS:
            length = len(text) if isinstance(text, str) else 0
            message = f"Invalid 'input': string too long. Expected a string with maximum length {MAX_INPUT_CHARS}, but got a string with length {length} instead."
            raise _ApiError(message, "input", "string_above_max_length")
        custom = isinstance(voice, dict) and isinstance(voice.get("id"), str)
        _check(custom or voice in VOICES, "voice", voice, VOICES)
        fmt = body.get("response_format") or "mp3"
        _check(fmt in CONTENT_TYPES, "response_format", fmt, tuple(CONTENT_TYPES))  # simulated
        speed = body.get("speed", 1.0)
        if not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
            message = f"Invalid 'speed': {speed!r}. Expected a value between 0.25 and 4.0."
            raise _ApiError(message, "speed")
        stream_format = body.get("stream_format") or "audio"
        _check(stream_format in ("audio", "sse"), "stream_format", stream_format, ("sse", "audio"))
        if stream_format == "sse":
            message = "The simulator streams raw audio only (stream_format 'audio')."
            raise _ApiError(message, "stream_format", "unsupported_value")

    async def _speech_response(
        self, request: web.Request, record: SpeechRecord, body: JsonDict
    ) -> web.StreamResponse:
        self._check_auth(request)
        self._validate_speech(body)
        faults = self.speech_faults if self.speech_faults.take() else Faults()
        if faults.status is not None:
            raise _fault(faults.status, body["model"])
        text, fmt = body["input"], body.get("response_format") or "mp3"
        await asyncio.sleep(self.first_byte_s)
        response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPES[fmt]})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for index, (chars, audio) in enumerate(
            self._chunks(text, fmt, float(body.get("speed", 1)))
        ):
            if index in (faults.drop_after_chunks, faults.stall_after_chunks):
                await self._cut(request, record, stall=index == faults.stall_after_chunks)
                return response
            await asyncio.sleep(self.per_char_s * chars)
            await response.write(audio)
            record.audio_bytes += len(audio)
            record.first_byte = record.first_byte or time.monotonic()
            await self._notify()
        record.finished = time.monotonic()
        await response.write_eof()
        return response

    def _chunks(self, text: str, fmt: str, speed: float) -> Iterator[tuple[int, bytes]]:
        """``(characters, payload)`` pieces: the header (free), then audio per few characters."""
        if fmt == "wav":
            yield 0, _wav_header()
        frames_sent, seconds = 0, 0.0
        for start in range(0, len(text), CHARS_PER_CHUNK):
            piece = text[start : start + CHARS_PER_CHUNK]
            if fmt == "mp3":
                seconds += len(piece) * self.ms_per_char / 1000 / speed
                frames = math.ceil(seconds / _MP3_FRAME_S) - frames_sent
                frames_sent += frames
                yield len(piece), _MP3_FRAME * frames
            else:
                yield len(piece), synthesize(piece, ms_per_char=self.ms_per_char, speed=speed)

    async def _cut(self, request: web.Request, record: _Record, *, stall: bool) -> None:
        """Drop the connection now, or (``stall``) once the server stops."""
        record.fault = "stalled" if stall else "dropped"
        await self._notify()
        if stall:
            await self._stopping.wait()
        if request.transport is not None:
            request.transport.abort()

    async def _transcriptions(self, request: web.Request) -> web.StreamResponse:
        record = TranscriptionRecord(time=time.monotonic(), auth_valid=self._authorized(request))
        self.transcription_requests.append(record)
        try:
            response = await self._transcription_response(request, record)
        except _ApiError as err:
            response = err.response()
        record.status = response.status
        record.finished = time.monotonic()
        await self._notify()
        return response

    async def _read_form(self, request: web.Request, record: TranscriptionRecord) -> bytes:
        data: bytes | None = None
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                if name == "file":
                    data, record.filename = value.file.read(), value.filename
            else:
                record.fields[name] = str(value)
        for name, present in (("file", data is not None), ("model", "model" in record.fields)):
            if not present:
                raise _ApiError(f"Missing required parameter: '{name}'.", name, _MISSING)
        model, fmt = record.fields["model"], record.fields.get("response_format", "json")
        _check(model in TRANSCRIPTION_MODELS, "model", model, TRANSCRIPTION_MODELS)
        if fmt not in ("json", "text") or record.fields.get("stream") == "true":
            message = "The simulator answers only response_format 'json' or 'text', unstreamed."
            raise _ApiError(message, "response_format", "unsupported_value")
        assert data is not None
        record.file_sha256 = audio_hash(data)
        if data[:4] == b"RIFF":
            try:
                rate, channels, width, pcm = parse_wav(data)
            except ValueError:
                raise _ApiError(_CORRUPT, "file") from None
            record.pcm_sha256 = audio_hash(pcm)
            record.audio_seconds = len(pcm) / (rate * channels * width)
            if record.audio_seconds < 0.1:
                message = "Audio file is too short. Minimum audio length is 0.1 seconds."
                raise _ApiError(message, "file", "audio_too_short")
        elif not data:
            raise _ApiError(_CORRUPT, "file")
        return data

    async def _transcription_response(
        self, request: web.Request, record: TranscriptionRecord
    ) -> web.StreamResponse:
        self._check_auth(request)
        await self._read_form(request, record)
        model = record.fields["model"]
        faults = self.transcription_faults if self.transcription_faults.take() else Faults()
        if faults.status is not None:
            raise _fault(faults.status, model)
        if (faults.drop_after_chunks, faults.stall_after_chunks) != (None, None):
            await self._cut(request, record, stall=faults.stall_after_chunks is not None)
            return web.StreamResponse()
        seconds = record.audio_seconds
        await asyncio.sleep(self.transcription_overhead_s + self.per_audio_second_s * seconds)
        text = self.transcripts.get(record.file_sha256 or "") or self.transcripts.get(
            record.pcm_sha256 or "", self.default_transcript
        )
        record.text = text
        if record.fields.get("response_format") == "text":
            return web.Response(text=text + "\n", content_type="text/plain")
        usage: JsonDict = {"type": "duration", "seconds": math.ceil(seconds)}
        if model != "whisper-1":  # token usage, about 10 audio tokens a second
            tokens = (math.ceil(seconds * 10), max(1, len(text) // 4))
            usage = {"type": "tokens", "input_tokens": tokens[0], "output_tokens": tokens[1]}
            usage["total_tokens"] = sum(tokens)
        return web.json_response({"text": text, "usage": usage})


async def _serve_forever(server: SpeechTestServer) -> None:
    async with server:
        print(f"OpenAI audio test server on {server.base_url} (key {server.api_key})", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Run the server until interrupted (with a benchmark-like cost model by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    costs = {"first_byte_s": 0.2, "per_char_s": 0.002, "per_audio_second_s": 0.05}
    for name, default in {**costs, "transcription_overhead_s": 0.3}.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=default)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(SpeechTestServer(**vars(parser.parse_args(argv)))))


if __name__ == "__main__":
    main()
