"""Voice activity detection over a PCM16 stream, with WebRTC's VAD.

:class:`VoiceActivityDetector` cuts the stream into 30 ms frames, asks
``webrtcvad`` whether each frame is speech and turns those decisions into
``start``/``end`` events:

* **start**: the first frame of a run of voiced frames at least
  ``min_speech_ms`` long (3 frames at the default 90 ms). Shorter bursts (a
  click, a knock, a cough fragment) are debounced away and never count.
* **end**: after ``hangover_ms`` of non-speech (10 frames at the default
  300 ms) following speech. The event's ``at_ms`` is where speech stopped (the
  end of the last voiced frame); it is reported by the :meth:`process` call
  that completes the hangover, i.e. ``hangover_ms`` later in the stream. Gaps
  shorter than the hangover (pauses between words) do not end the segment.

Sensitivity (0..1, higher = more readily calls a frame speech) maps to
WebRTC's aggressiveness (0..3, higher = filters out more non-speech) as
``min(3, int((1 - sensitivity) * 4))``: above 0.75 → 0, above 0.5 → 1 (the
default 0.7), above 0.25 → 2, else 3.

WebRTC's VAD also keeps calling frames speech for up to ~180 ms after speech
stops (its own "overhang"). A frame therefore only counts as voiced when it is
also within :data:`SEGMENT_RANGE_DB` (35 dB) of the loudest frame of the open
segment (or voiced run) and of the last :data:`OVERHANG_FRAMES` frames: the
overhang over silence or quiet background noise is cut, soft consonants are
kept, and ``end`` lands where the sound stopped.

WebRTC's VAD adapts its noise model during the first 120-180 ms of a stream and
meanwhile calls steady noise or a hum speech. A run that begins in that warm-up
(:data:`WARMUP_FRAMES`) therefore only starts speech once it has lasted
``min_speech_ms`` beyond the warm-up; its ``at_ms`` is still where it began. A
steady sound that starts later in the stream can still produce one short false
segment: the VAD classifies, it does not recognise voices.
"""

from collections import deque
from dataclasses import dataclass
import math
from typing import Final, Literal

import numpy as np
import webrtcvad

INPUT_RATE: Final = 16_000
"""Home Assistant pipeline audio: 16 kHz, 16-bit signed little-endian, mono."""

SAMPLE_WIDTH: Final = 2
"""Bytes per sample (PCM16)."""

FRAME_MS: Final = 30
"""The length of one VAD frame (WebRTC accepts 10, 20 or 30 ms)."""

WARMUP_FRAMES: Final = 6
"""Frames (180 ms) at the start of a stream during which WebRTC's VAD is still adapting."""

OVERHANG_FRAMES: Final = 8
"""How long (240 ms) a loud frame keeps quieter voiced frames after it suspect (overhang)."""

SEGMENT_RANGE_DB: Final = 35.0
"""Within a segment or run, frames this much quieter than its loudest frame are not speech."""

VAD_RATES: Final = frozenset({8_000, 16_000, 32_000, 48_000})
"""The sample rates WebRTC's VAD accepts."""


def aggressiveness(sensitivity: float) -> int:
    """Map a sensitivity in 0..1 to WebRTC's aggressiveness 0..3 (see the module docstring)."""
    return min(3, max(0, int((1.0 - sensitivity) * 4)))


@dataclass(frozen=True, slots=True)
class VadSettings:
    """How eagerly speech is detected and when it is considered over.

    Attributes:
        sensitivity: 0..1; higher calls more frames speech (mapped by :func:`aggressiveness`).
        hangover_ms: Speech ends after this much non-speech (rounded up to whole 30 ms frames).
        min_speech_ms: Voiced runs shorter than this are not speech (rounded up to whole
            frames, at least one): debounces clicks and knocks.
    """

    sensitivity: float = 0.7
    hangover_ms: int = 300
    min_speech_ms: int = 90

    def __post_init__(self) -> None:
        """Reject values outside their ranges (NaN included)."""
        if not 0.0 <= self.sensitivity <= 1.0:
            raise ValueError(f"sensitivity must be within 0..1, not {self.sensitivity}")
        if self.hangover_ms < 0 or self.min_speech_ms < 0:
            raise ValueError("hangover_ms and min_speech_ms must not be negative")


DEFAULT_VAD_SETTINGS: Final = VadSettings()
"""The design's defaults: sensitivity 0.7, 300 ms hangover, 90 ms minimum speech."""


@dataclass(frozen=True, slots=True)
class VadEvent:
    """Speech started or ended at ``at_ms``, milliseconds from the stream's first sample."""

    kind: Literal["start", "end"]
    at_ms: int


class VoiceActivityDetector:
    """Streaming speech start/end detection for one audio stream (see the module docstring)."""

    def __init__(
        self, settings: VadSettings = DEFAULT_VAD_SETTINGS, rate: int = INPUT_RATE
    ) -> None:
        """Initialize for PCM16 mono at ``rate`` (8, 16, 32 or 48 kHz)."""
        if rate not in VAD_RATES:
            raise ValueError(f"the VAD takes 8, 16, 32 or 48 kHz audio, not {rate} Hz")
        self._vad = webrtcvad.Vad(aggressiveness(settings.sensitivity))
        self._rate = rate
        self._frame_bytes = rate * FRAME_MS // 1000 * SAMPLE_WIDTH
        self._min_frames = max(1, math.ceil(settings.min_speech_ms / FRAME_MS))
        self._hangover_frames = max(1, math.ceil(settings.hangover_ms / FRAME_MS))
        self._pending = bytearray()
        self._frames = 0  # frames classified so far
        self._run_start: int | None = None  # first frame of the current voiced run
        self._peak_db = -math.inf  # loudest frame of the current run or segment
        self._recent: deque[float] = deque(maxlen=OVERHANG_FRAMES)  # latest voiced levels
        self._in_speech = False
        self._last_voiced = 0  # last voiced frame of the open segment
        self._speech_frames = 0  # voiced frames inside accepted speech
        self._start_ms: int | None = None
        self._end_ms: int | None = None
        self._finished = False

    @property
    def speech_start_ms(self) -> int | None:
        """Where the first speech segment began, or ``None`` before any speech."""
        return self._start_ms

    @property
    def speech_end_ms(self) -> int | None:
        """Where the most recently closed speech segment ended, or ``None``."""
        return self._end_ms

    @property
    def in_speech(self) -> bool:
        """Whether a speech segment is open."""
        return self._in_speech

    @property
    def speech_ms(self) -> int:
        """Total voiced time inside speech segments (debounced bursts and pauses excluded)."""
        return self._speech_frames * FRAME_MS

    def process(self, pcm: bytes) -> list[VadEvent]:
        """Classify ``pcm`` (any length, odd byte counts too) and return the events it caused."""
        if self._finished:
            return []
        self._pending += pcm
        events: list[VadEvent] = []
        size = self._frame_bytes
        whole = len(self._pending) - len(self._pending) % size
        for offset in range(0, whole, size):
            frame = bytes(self._pending[offset : offset + size])
            level = -math.inf
            if voiced := bool(self._vad.is_speech(frame, self._rate)):
                level = _level_db(frame)
            if (event := self._step(voiced, level)) is not None:
                events.append(event)
        del self._pending[:whole]
        return events

    def finish(self) -> list[VadEvent]:
        """End of stream: close an open speech segment (a trailing partial frame is ignored)."""
        if self._finished:
            return []
        self._finished = True
        self._pending.clear()
        self._run_start = None
        if not self._in_speech:
            return []
        return [self._close()]

    def _step(self, voiced: bool, level: float) -> VadEvent | None:
        """Advance the state machine by one frame (``level`` in dBFS when voiced)."""
        frame = self._frames
        self._frames += 1
        tracking = self._in_speech or self._run_start is not None
        reference = max(
            self._peak_db if tracking else -math.inf, max(self._recent, default=-math.inf)
        )
        self._recent.append(level)
        if voiced and level < reference - SEGMENT_RANGE_DB:
            voiced = False  # WebRTC's overhang after a louder sound
        if self._in_speech:
            if voiced:
                self._peak_db = max(self._peak_db, level)
                self._last_voiced = frame
                self._speech_frames += 1
                return None
            if frame - self._last_voiced >= self._hangover_frames:
                return self._close()
            return None
        if not voiced:
            self._run_start = None
            return None
        if self._run_start is None:
            self._run_start, self._peak_db = frame, level
        else:
            self._peak_db = max(self._peak_db, level)
        start = self._run_start
        needed = max(self._min_frames, WARMUP_FRAMES + self._min_frames - start)
        if frame - start + 1 < needed:
            return None
        self._in_speech = True
        self._run_start = None
        self._last_voiced = frame
        self._speech_frames += frame - start + 1
        if self._start_ms is None:
            self._start_ms = start * FRAME_MS
        return VadEvent("start", start * FRAME_MS)

    def _close(self) -> VadEvent:
        """Close the open segment at the end of its last voiced frame."""
        self._in_speech = False
        self._end_ms = (self._last_voiced + 1) * FRAME_MS
        return VadEvent("end", self._end_ms)


def _level_db(frame: bytes) -> float:
    """The RMS level of a PCM16 frame in dBFS (about -100 for digital silence)."""
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    return 10.0 * math.log10(float(np.mean(samples**2)) / 32768.0**2 + 1e-10)
