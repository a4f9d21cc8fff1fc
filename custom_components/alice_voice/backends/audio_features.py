"""Per-utterance audio features for the router, computed with numpy.

:func:`compute_features` summarises one turn's PCM16 mono audio as
:class:`AudioFeatures`; :meth:`AudioFeatures.as_dict` is what the router gets as
``audio_features`` (it reads ``duration_ms`` and ``speaking_rate``, 1.0 = normal).

* ``energy_level``: RMS over the whole clip in dBFS (a full-scale square wave is
  0, a full-scale sine -3); digital silence and anything quieter is -96.
* ``speech_ms``: the VAD's voiced time when given, otherwise an energy gate: the
  30 ms frames louder than :data:`GATE_DBFS`. A gate, not a speech detector: a
  loud hum counts.
* ``speaking_rate``: syllable nuclei a second of voiced time, over
  :data:`NORMAL_SYLLABLES_PER_SECOND` (4, a normal conversational rate). Nuclei are
  the peaks of the 300-2500 Hz energy envelope (25 ms windows every 10 ms,
  smoothed over 50 ms) in frames above the gate, within 20 dB of the loudest
  peak, separated by a dip of at least 2 dB and by 80 ms (after de Jong &
  Wempe, 2009). 0.0 without speech.
* ``clipping_ratio``: the share of samples with ``|x| >= 32000`` (near full scale).
* ``silence_ratio``: ``1 - speech_ms / duration_ms`` (1.0 for an empty clip).
"""

from dataclasses import asdict, dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .audio_vad import FRAME_MS, INPUT_RATE, SAMPLE_WIDTH

SILENCE_DBFS: Final = -96.0
"""The energy level of digital silence (the floor of 16-bit audio)."""

GATE_DBFS: Final = -45.0
"""Frames louder than this count as voiced when no VAD result is given."""

CLIP_LEVEL: Final = 32_000
"""Samples at or above this magnitude count as clipped."""

NORMAL_SYLLABLES_PER_SECOND: Final = 4.0
"""Syllable nuclei a second of normal conversational speech (speaking_rate 1.0)."""

_BAND_HZ: Final = (300.0, 2500.0)
_WINDOW_MS: Final = 25
_HOP_MS: Final = 10
_SMOOTH_HOPS: Final = 5
_PEAK_RANGE_DB: Final = 20.0
_MIN_DIP_DB: Final = 2.0
_MIN_PEAK_GAP_MS: Final = 80
_FULL_SCALE: Final = 32768.0

type _Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AudioFeatures:
    """What one utterance sounded like (see the module docstring for each value)."""

    duration_ms: int
    speech_ms: int
    energy_level: float
    speaking_rate: float
    clipping_ratio: float
    silence_ratio: float

    def as_dict(self) -> dict[str, float | int]:
        """The features as the router's ``audio_features`` mapping."""
        return asdict(self)


def compute_features(
    pcm: bytes, rate: int = INPUT_RATE, *, speech_ms: int | None = None
) -> AudioFeatures:
    """Compute the features of PCM16 mono ``pcm``; ``speech_ms`` from the VAD when known."""
    samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // SAMPLE_WIDTH).astype(np.float64)
    duration_ms = samples.size * 1000 // rate
    if samples.size == 0:
        return AudioFeatures(0, 0, SILENCE_DBFS, 0.0, 0.0, 1.0)
    if speech_ms is None:
        speech_ms = _gated_speech_ms(samples, rate)
    speech_ms = min(max(speech_ms, 0), duration_ms)
    speaking_rate = 0.0
    if speech_ms > 0:
        nuclei = _syllable_nuclei(samples, rate)
        speaking_rate = nuclei / (speech_ms / 1000.0) / NORMAL_SYLLABLES_PER_SECOND
    return AudioFeatures(
        duration_ms=duration_ms,
        speech_ms=speech_ms,
        energy_level=round(_dbfs(float(np.sqrt(np.mean(samples**2)))), 2),
        speaking_rate=round(speaking_rate, 3),
        clipping_ratio=round(float(np.mean(np.abs(samples) >= CLIP_LEVEL)), 4),
        silence_ratio=round(1.0 - speech_ms / duration_ms, 4) if duration_ms else 1.0,
    )


def _dbfs(rms: float) -> float:
    """An RMS sample value in dBFS, floored at :data:`SILENCE_DBFS`."""
    if rms <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * float(np.log10(rms / _FULL_SCALE)))


def _frame_dbfs(frames: _Floats) -> _Floats:
    """The RMS level in dBFS of each row of ``frames``, floored at :data:`SILENCE_DBFS`."""
    power = np.mean(frames**2, axis=1) / _FULL_SCALE**2
    levels: _Floats = 10.0 * np.log10(np.maximum(power, 10 ** (SILENCE_DBFS / 10)))
    return levels


def _gated_speech_ms(samples: _Floats, rate: int) -> int:
    """Voiced time by the energy gate: whole 30 ms frames louder than :data:`GATE_DBFS`."""
    size = rate * FRAME_MS // 1000
    count = samples.size // size
    if count == 0:
        return 0
    levels = _frame_dbfs(samples[: count * size].reshape(count, size))
    return int(np.count_nonzero(levels > GATE_DBFS)) * FRAME_MS


def _syllable_nuclei(samples: _Floats, rate: int) -> int:
    """Count syllable nuclei: peaks of the speech-band energy envelope (module docstring)."""
    window = rate * _WINDOW_MS // 1000
    hop = rate * _HOP_MS // 1000
    if samples.size < window:
        return 0
    frames = np.lib.stride_tricks.sliding_window_view(samples, window)[::hop]
    voiced = _frame_dbfs(frames) > GATE_DBFS
    nfft = 1 << (window - 1).bit_length()
    power = np.abs(np.fft.rfft(frames * np.hanning(window), n=nfft, axis=1)) ** 2
    freqs = np.fft.rfftfreq(nfft, 1.0 / rate)
    band = (freqs >= _BAND_HZ[0]) & (freqs <= _BAND_HZ[1])
    energy = np.convolve(power[:, band].sum(axis=1), np.ones(_SMOOTH_HOPS) / _SMOOTH_HOPS, "same")
    envelope = 10.0 * np.log10(energy + 1e-9)
    inner = envelope[1:-1]
    is_peak = (inner >= envelope[:-2]) & (inner > envelope[2:]) & voiced[1:-1]
    candidates = np.flatnonzero(is_peak) + 1
    if candidates.size == 0:
        return 0
    candidates = candidates[envelope[candidates] >= envelope[candidates].max() - _PEAK_RANGE_DB]
    min_gap = _MIN_PEAK_GAP_MS // _HOP_MS
    kept: list[int] = []
    for index in candidates.tolist():
        if kept:
            last = kept[-1]
            dip = float(envelope[last : index + 1].min())
            separate = index - last >= min_gap and (
                min(envelope[last], envelope[index]) - dip >= _MIN_DIP_DB
            )
            if not separate:
                if envelope[index] > envelope[last]:
                    kept[-1] = index
                continue
        kept.append(index)
    return len(kept)
