"""Input audio of the Realtime simulator: the buffer, server VAD and transcription.

:class:`InputAudio` is one connection's ``input_audio_buffer``. With ``turn_detection`` set
(``server_vad``, or ``semantic_vad`` approximated by silence) it looks at the appended audio
in 10 ms frames: a frame is speech when its RMS level reaches a floor set by ``threshold``
(0.0 → -60 dBFS, 0.5 → -40 dBFS, 1.0 → -20 dBFS; digital silence never is). The first
speech frame sends ``input_audio_buffer.speech_started``; ``silence_duration_ms`` of
non-speech frames then send ``speech_stopped`` and commit the buffer, exactly as a client
``input_audio_buffer.commit`` would. Without ``turn_detection`` only the client commits.

:func:`transcribe` is the asynchronous transcription of one committed utterance:
``conversation.item.input_audio_transcription.delta`` word by word, then ``.completed``
(or ``.failed``), spread over a delay that models the cost of the ASR model. What the server
"hears" is scripted per utterance with :class:`Transcript` (see
``RealtimeTestServer.script_transcripts``). :class:`AudioInputRecord` keeps what a connection
received, for tests ("24 kHz, 96 000 bytes").
"""

import array
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import logging
import math
import re
import struct
import sys
from typing import Any, Final

from .realtime_validate import SAMPLE_RATE, DropMode, JsonDict, new_id

_LOGGER = logging.getLogger(__name__)

type Send = Callable[[JsonDict], Awaitable[None]]
type Commit = Callable[[str, bytes], Awaitable[None]]
type Drop = Callable[[DropMode], Awaitable[None]]

BYTES_PER_MS_PCM: Final = SAMPLE_RATE * 2 // 1000  # PCM16 mono
BYTES_PER_MS_G711: Final = 8
MIN_COMMIT_MS: Final = 100
VAD_FRAME_MS: Final = 10
DEFAULT_FORMAT: Final[JsonDict] = {"type": "audio/pcm", "rate": SAMPLE_RATE}
DEFAULT_THRESHOLD: Final = 0.5
DEFAULT_PREFIX_PADDING_MS: Final = 300
DEFAULT_SILENCE_DURATION_MS: Final = 500
# semantic_vad waits longer the less eager it is; modelled as a plain silence.
_SEMANTIC_SILENCE_MS: Final = {"low": 2000, "medium": 1000, "auto": 1000, "high": 500}


# --- Audio ------------------------------------------------------------------------------


def tone(
    ms: int,
    *,
    phase: int = 0,
    frequency: float = 440.0,
    amplitude: int = 2000,
    rate: int = SAMPLE_RATE,
) -> bytes:
    """Return ``ms`` of a sine tone as PCM16 LE mono (speech to the VAD at amplitude ≥ 500)."""
    samples = rate * ms // 1000
    return struct.pack(
        f"<{samples}h",
        *(
            int(amplitude * math.sin(2 * math.pi * frequency * (phase + i) / rate))
            for i in range(samples)
        ),
    )


def silence(ms: int, *, rate: int = SAMPLE_RATE) -> bytes:
    """Return ``ms`` of digital silence as PCM16 LE mono."""
    return bytes(rate * ms // 1000 * 2)


def bytes_per_ms(fmt: JsonDict) -> int:
    """Bytes per millisecond of audio in ``fmt`` (PCM16 at 24 kHz, or 8 kHz G.711)."""
    return BYTES_PER_MS_PCM if fmt.get("type", "audio/pcm") == "audio/pcm" else BYTES_PER_MS_G711


def _ulaw_sample(byte: int) -> int:
    byte = ~byte & 0xFF
    magnitude = ((((byte & 0x0F) << 3) + 0x84) << ((byte >> 4) & 0x07)) - 0x84
    return -magnitude if byte & 0x80 else magnitude


def _alaw_sample(byte: int) -> int:
    byte ^= 0x55
    exponent = (byte >> 4) & 0x07
    magnitude = ((byte & 0x0F) << 4) + 8
    if exponent:
        magnitude = (magnitude + 0x100) << (exponent - 1)
    return magnitude if byte & 0x80 else -magnitude


_G711: Final = {
    "audio/pcmu": tuple(_ulaw_sample(b) for b in range(256)),
    "audio/pcma": tuple(_alaw_sample(b) for b in range(256)),
}


def frame_level(frame: bytes, fmt: JsonDict) -> float:
    """Return the RMS level of ``frame`` relative to full scale (0.0-1.0)."""
    table = _G711.get(fmt.get("type", "audio/pcm"))
    if table is None:
        pcm = array.array("h", frame[: len(frame) // 2 * 2])
        if sys.byteorder == "big":
            pcm.byteswap()
        samples: Any = pcm
    else:
        samples = [table[b] for b in frame]
    if not samples:
        return 0.0
    return math.sqrt(math.sumprod(samples, samples) / len(samples)) / 32768


def speech_floor(threshold: float) -> float:
    """Return the frame level at which the VAD hears speech, for a ``threshold`` of 0-1."""
    return 10 ** ((-60 + 40 * threshold) / 20)


# --- Scripting and records --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    """What the server hears in one committed utterance.

    Attributes:
        text: The transcript (``""``: the audio held no words).
        deltas: Number of ``.delta`` events carrying it (default: one per word).
        delay: Seconds from the commit to ``.completed`` (default: the server's
            ``transcribe_delay_s`` per second of audio); deltas are spread over it.
        failed_code: Send ``.failed`` with this error code instead of ``.completed``.
        failed_message: The message of that error.
        drop: Drop the connection mid-transcription (``close_1011`` or ``abort``).
        drop_after_deltas: How many deltas are sent before the drop.
    """

    text: str = ""
    deltas: int | None = None
    delay: float | None = None
    failed_code: str | None = None
    failed_message: str = "The audio could not be transcribed."
    drop: DropMode | None = None
    drop_after_deltas: int = 1


@dataclass(slots=True, kw_only=True)
class AudioInputRecord:
    """The input audio one connection received.

    Attributes:
        received_bytes: Decoded bytes of every ``input_audio_buffer.append``.
        appends: Number of appends.
        format: The session's input format at the last append.
        committed_ms: Duration of each committed utterance (client or VAD commit).
        speech: ``(audio_start_ms, audio_end_ms)`` of each utterance the VAD ended.
        transcripts: The transcripts sent with ``.completed``, in order.
        failures: Error codes sent with ``.failed``, in order.
    """

    received_bytes: int = 0
    appends: int = 0
    format: JsonDict | None = None
    committed_ms: list[float] = field(default_factory=list)
    speech: list[tuple[int, int]] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> int | None:
        """Sample rate of the received audio (24 000 for ``audio/pcm``, 8 000 for G.711)."""
        if self.format is None:
            return None
        return SAMPLE_RATE if bytes_per_ms(self.format) == BYTES_PER_MS_PCM else 8000

    @property
    def received_ms(self) -> float:
        """Milliseconds of audio received."""
        return self.received_bytes / bytes_per_ms(self.format or DEFAULT_FORMAT)


# --- The buffer and the VAD -------------------------------------------------------------


class InputAudio:
    """One connection's input audio buffer, with the server VAD.

    Attributes:
        record: What the connection received.
        buffer: Audio appended since the last commit or clear.
        heard: What a realtime model hears in each committed item (its scripted transcript).
    """

    def __init__(self, record: AudioInputRecord) -> None:
        """Start with an empty buffer."""
        self.record = record
        self.buffer = bytearray()
        self.heard: dict[str, str] = {}
        self._unanalysed = 0  # bytes at the end of the buffer the VAD has not looked at yet
        self._position = 0.0  # milliseconds of audio written during the session
        self._speech_item: str | None = None
        self._speech_start = 0.0
        self._silence_ms = 0

    @property
    def in_speech(self) -> bool:
        """Whether the VAD has heard speech that has not ended yet."""
        return self._speech_item is not None

    def buffered_ms(self, fmt: JsonDict) -> float:
        """Milliseconds of audio in the buffer."""
        return len(self.buffer) / bytes_per_ms(fmt)

    def clear(self) -> None:
        """Empty the buffer and forget any speech in progress."""
        self.buffer.clear()
        self._unanalysed = 0
        self._speech_item = None
        self._silence_ms = 0

    def take(self) -> bytes:
        """Return the buffer for a client commit and empty it."""
        audio = bytes(self.buffer)
        self.clear()
        return audio

    async def append(
        self,
        data: bytes,
        audio_input: JsonDict,
        *,
        send: Send,
        commit: Commit,
        on_speech: Callable[[], None],
    ) -> None:
        """Add appended audio; with turn detection, send VAD events and commit turns.

        Args:
            data: The decoded audio.
            audio_input: The session's ``audio.input`` configuration.
            send: Sends a server event.
            commit: Commits an utterance ``(item_id, audio)`` like a client commit.
            on_speech: Called when speech starts (a realtime session interrupts its response).
        """
        fmt = audio_input.get("format") or DEFAULT_FORMAT
        per_ms = bytes_per_ms(fmt)
        self.record.received_bytes += len(data)
        self.record.appends += 1
        self.record.format = dict(fmt)
        self.buffer.extend(data)
        detection = audio_input.get("turn_detection")
        if not detection:
            self._position += len(data) / per_ms
            self._unanalysed = 0
            return
        threshold = detection.get("threshold")
        floor = speech_floor(DEFAULT_THRESHOLD if threshold is None else threshold)
        prefix = detection.get("prefix_padding_ms")
        prefix = DEFAULT_PREFIX_PADDING_MS if prefix is None else prefix
        if detection["type"] == "semantic_vad":
            silence_ms = _SEMANTIC_SILENCE_MS.get(detection.get("eagerness") or "auto", 1000)
        else:
            silence_ms = detection.get("silence_duration_ms")
            silence_ms = DEFAULT_SILENCE_DURATION_MS if silence_ms is None else silence_ms
        frame_bytes = per_ms * VAD_FRAME_MS
        start = len(self.buffer) - len(data) - self._unanalysed
        while start + frame_bytes <= len(self.buffer):
            loud = frame_level(bytes(self.buffer[start : start + frame_bytes]), fmt) >= floor
            start += frame_bytes
            self._position += VAD_FRAME_MS
            if self._speech_item is None:
                if loud:
                    # Keep prefix_padding_ms before the speech, drop older silence.
                    cut = max(0, start - frame_bytes - prefix * per_ms)
                    del self.buffer[:cut]
                    start -= cut
                    self._speech_item = new_id("item")
                    self._speech_start = max(0.0, self._position - VAD_FRAME_MS - prefix)
                    self._silence_ms = 0
                    on_speech()
                    await send(
                        {
                            "type": "input_audio_buffer.speech_started",
                            "audio_start_ms": round(self._speech_start),
                            "item_id": self._speech_item,
                        }
                    )
                continue
            self._silence_ms = 0 if loud else self._silence_ms + VAD_FRAME_MS
            if self._silence_ms >= silence_ms:
                item_id = self._speech_item
                audio = bytes(self.buffer[:start])
                del self.buffer[:start]
                start = 0
                self._speech_item = None
                self._silence_ms = 0
                self.record.speech.append((round(self._speech_start), round(self._position)))
                await send(
                    {
                        "type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": round(self._position),
                        "item_id": item_id,
                    }
                )
                await commit(item_id, audio)
        self._unanalysed = len(self.buffer) - start


# --- Transcription ----------------------------------------------------------------------


def transcription_session(session_id: str, expires_at: int) -> JsonDict:
    """Return the default configuration of a transcription session (``session.created``)."""
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": session_id,
        "expires_at": expires_at,
        "include": None,
        "audio": {
            "input": {
                "format": dict(DEFAULT_FORMAT),
                "noise_reduction": None,
                "transcription": {"model": "gpt-4o-transcribe", "language": None, "prompt": ""},
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": DEFAULT_THRESHOLD,
                    "prefix_padding_ms": DEFAULT_PREFIX_PADDING_MS,
                    "silence_duration_ms": 200,
                },
            }
        },
    }


def word_deltas(text: str, count: int | None = None) -> list[str]:
    """Split ``text`` into deltas of whole words (``count`` of them, default one per word)."""
    if not text:
        return []
    words = re.findall(r"\s*\S+", text) or [text]
    words[-1] += text[len("".join(words)) :]
    if count is None or count >= len(words):
        return words
    size = math.ceil(len(words) / max(1, count))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def transcription_usage(model: str | None, seconds: float, text: str) -> JsonDict:
    """Return the ``usage`` of ``.completed``: duration for whisper-1, else tokens."""
    if model in (None, "whisper-1"):
        return {"type": "duration", "seconds": round(seconds, 3)}
    audio_tokens = max(1, round(seconds * 10))
    text_tokens = math.ceil(len(text) / 4)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "output_tokens": text_tokens,
        "total_tokens": audio_tokens + text_tokens,
        "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
    }


async def transcribe(
    send: Send,
    drop: Drop,
    *,
    item: JsonDict,
    transcript: Transcript,
    seconds: float,
    delay_per_second: float,
    model: str | None,
    record: AudioInputRecord,
) -> None:
    """Transcribe one committed utterance, asynchronously to everything else.

    Args:
        send: Sends a server event.
        drop: Drops the connection.
        item: The user item holding the audio; its transcript is filled in on completion.
        transcript: What the server hears, with its faults.
        seconds: Duration of the committed audio.
        delay_per_second: The server's ``transcribe_delay_s``.
        model: The transcription model (for ``usage``).
        record: The connection's audio record.
    """
    base = {"item_id": item["id"], "content_index": 0}
    chunks = word_deltas(transcript.text, transcript.deltas)
    delay = transcript.delay if transcript.delay is not None else delay_per_second * seconds
    step = delay / (len(chunks) + 1)
    try:
        for number, chunk in enumerate(chunks):
            if transcript.drop is not None and number >= transcript.drop_after_deltas:
                break
            await asyncio.sleep(step)
            await send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    **base,
                    "delta": chunk,
                }
            )
        if transcript.drop is not None:
            await drop(transcript.drop)
            return
        await asyncio.sleep(step)
        if transcript.failed_code is not None:
            record.failures.append(transcript.failed_code)
            error = {
                "type": "transcription_error",
                "code": transcript.failed_code,
                "message": transcript.failed_message,
                "param": None,
            }
            await send(
                {
                    "type": "conversation.item.input_audio_transcription.failed",
                    **base,
                    "error": error,
                }
            )
            return
        item["content"][0]["transcript"] = transcript.text
        record.transcripts.append(transcript.text)
        await send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                **base,
                "transcript": transcript.text,
                "usage": transcription_usage(model, seconds, transcript.text),
            }
        )
    except ConnectionError:
        _LOGGER.debug("Connection closed while transcribing %s", item["id"])
