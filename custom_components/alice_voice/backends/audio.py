"""Audio processing for voice turns: VAD, features, resampling, a bounded buffer.

Home Assistant hands speech-to-text 16 kHz, 16-bit, mono PCM
(:data:`INPUT_RATE`). Per turn the STT entity feeds it to an
:class:`UtteranceAnalyzer`, which runs the :class:`VoiceActivityDetector`
(start/end of speech, :mod:`.audio_vad`), keeps the turn's audio in an
:class:`UtteranceBuffer` (bounded, in memory only, zeroed after the turn) and at
the end computes :class:`AudioFeatures` for the router (:mod:`.audio_features`).
:class:`Resampler` converts the same audio to the 24 kHz OpenAI Realtime expects.

No Home Assistant here: numpy, ``webrtcvad`` (the ``webrtcvad-wheels`` package)
and ``wyoming``'s converter.
"""

from typing import Final

from wyoming.audio import AudioChunk, AudioChunkConverter

from .audio_features import AudioFeatures, compute_features
from .audio_vad import (
    DEFAULT_VAD_SETTINGS,
    FRAME_MS,
    INPUT_RATE,
    SAMPLE_WIDTH,
    VadEvent,
    VadSettings,
    VoiceActivityDetector,
    aggressiveness,
)

__all__ = [
    "DEFAULT_VAD_SETTINGS",
    "FRAME_MS",
    "INPUT_RATE",
    "REALTIME_RATE",
    "AudioFeatures",
    "Resampler",
    "UtteranceAnalyzer",
    "UtteranceBuffer",
    "VadEvent",
    "VadSettings",
    "VoiceActivityDetector",
    "aggressiveness",
    "compute_features",
]

REALTIME_RATE: Final = 24_000
"""OpenAI Realtime audio: PCM16 LE mono at 24 kHz."""

DEFAULT_MAX_MS: Final = 60_000
"""The longest utterance kept for one turn (60 s, 1.92 MB at 16 kHz)."""


class Resampler:
    """Resample one PCM16 mono stream (16 kHz → 24 kHz by default).

    Wraps ``wyoming.audio.AudioChunkConverter``, which keeps ``audioop.ratecv``
    state between chunks: use one instance per stream, so that chunk borders
    leave no clicks and the output length tracks the input exactly.
    """

    def __init__(self, from_rate: int = INPUT_RATE, to_rate: int = REALTIME_RATE) -> None:
        """Initialize for one stream."""
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError("sample rates must be positive")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._converter = AudioChunkConverter(rate=to_rate, width=SAMPLE_WIDTH, channels=1)
        self._odd = b""  # a dangling byte of a sample split across chunks

    def convert(self, pcm: bytes) -> bytes:
        """Resample the next chunk of the stream (any length; a split sample is carried over)."""
        data = self._odd + pcm
        cut = len(data) - len(data) % SAMPLE_WIDTH
        self._odd = data[cut:]
        if cut == 0:
            return b""
        chunk = AudioChunk(rate=self.from_rate, width=SAMPLE_WIDTH, channels=1, audio=data[:cut])
        return self._converter.convert(chunk).audio


class UtteranceBuffer:
    """One turn's audio, in memory, at most ``max_ms`` long; never written to disk."""

    def __init__(self, max_ms: int = DEFAULT_MAX_MS, rate: int = INPUT_RATE) -> None:
        """Initialize an empty buffer holding at most ``max_ms`` of PCM16 mono at ``rate``."""
        if max_ms < 0 or rate <= 0:
            raise ValueError("max_ms must not be negative and rate must be positive")
        self._rate = rate
        self._max_bytes = max_ms * rate // 1000 * SAMPLE_WIDTH
        self._buffer: bytearray | None = bytearray()
        self._truncated = False

    @property
    def duration_ms(self) -> int:
        """How much audio is held, in milliseconds."""
        if self._buffer is None:
            return 0
        return len(self._buffer) // SAMPLE_WIDTH * 1000 // self._rate

    @property
    def truncated(self) -> bool:
        """Whether audio was dropped because the buffer was full."""
        return self._truncated

    @property
    def released(self) -> bool:
        """Whether :meth:`release` was called."""
        return self._buffer is None

    def append(self, pcm: bytes) -> bool:
        """Append ``pcm``; ``False`` when some of it was dropped (full) or the buffer is released."""
        if self._buffer is None:
            return False
        room = self._max_bytes - len(self._buffer)
        if len(pcm) <= room:
            self._buffer += pcm
            return True
        self._buffer += pcm[:room]
        self._truncated = True
        return False

    def audio(self) -> bytes:
        """A copy of the audio held (empty once released)."""
        return b"" if self._buffer is None else bytes(self._buffer)

    def release(self) -> None:
        """Overwrite the audio with zeros and drop it; later appends return ``False``."""
        if self._buffer is not None:
            self._buffer[:] = bytes(len(self._buffer))
            self._buffer = None


class UtteranceAnalyzer:
    """One turn's audio analysis: VAD events while streaming, features at the end.

    :meth:`feed` each chunk as it arrives (the returned events can be forwarded as
    voice started/stopped); stop reading once :attr:`speech_ended`; then
    :meth:`finish` returns the :class:`AudioFeatures` and drops the audio.
    """

    def __init__(
        self, settings: VadSettings = DEFAULT_VAD_SETTINGS, *, max_ms: int = DEFAULT_MAX_MS
    ) -> None:
        """Initialize for one turn of :data:`INPUT_RATE` audio."""
        self._vad = VoiceActivityDetector(settings)
        self._buffer = UtteranceBuffer(max_ms)

    @property
    def vad(self) -> VoiceActivityDetector:
        """The detector (``speech_start_ms``, ``speech_end_ms``, ``in_speech``, ``speech_ms``)."""
        return self._vad

    @property
    def truncated(self) -> bool:
        """Whether the turn was longer than ``max_ms`` (features cover the first ``max_ms``)."""
        return self._buffer.truncated

    @property
    def speech_ended(self) -> bool:
        """True once speech was heard and then ``hangover_ms`` of silence (stop reading)."""
        return self._vad.speech_end_ms is not None and not self._vad.in_speech

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Buffer ``pcm`` (dropped beyond ``max_ms``) and return the VAD events it caused."""
        self._buffer.append(pcm)
        return self._vad.process(pcm)

    def finish(self) -> AudioFeatures:
        """Close the VAD, compute the turn's features and release (zero) the audio."""
        self._vad.finish()
        try:
            return compute_features(self._buffer.audio(), INPUT_RATE, speech_ms=self._vad.speech_ms)
        finally:
            self._buffer.release()
