"""What a voice turn's speech-to-text leaves for the conversation turn that follows.

Home Assistant's pipeline hands the conversation agent only the transcript. The
STT entity records the utterance's audio features (duration, speaking rate, ...)
with the transcript it produced; the engine takes them back when a turn arrives
with that transcript, so the router sees how the words were spoken. Features are
numbers only: neither audio nor text is kept, and a record expires after
:data:`FEATURES_TTL` seconds or when taken.
"""

from collections import deque
from dataclasses import dataclass
import time
from typing import Final

#: How long (s) an utterance's features wait for their conversation turn.
FEATURES_TTL: Final = 15.0
#: Utterances remembered at once (one per satellite talking at the same moment).
MAX_PENDING: Final = 16


@dataclass(slots=True, frozen=True)
class _Utterance:
    transcript: str
    features: dict[str, float | int]
    at: float


class VoiceHub:
    """Hands each utterance's audio features from the STT entity to the turn."""

    def __init__(self) -> None:
        """Initialize with nothing pending."""
        self._pending: deque[_Utterance] = deque(maxlen=MAX_PENDING)

    def record(self, transcript: str, features: dict[str, float | int]) -> None:
        """Remember ``features`` for the turn that will carry ``transcript``."""
        if transcript.strip():
            self._pending.append(_Utterance(_key(transcript), features, time.monotonic()))

    def take(self, text: str) -> dict[str, float | int] | None:
        """The features of the utterance transcribed as ``text`` (once), or None."""
        now = time.monotonic()
        while self._pending and now - self._pending[0].at > FEATURES_TTL:
            self._pending.popleft()
        key = _key(text)
        for utterance in reversed(self._pending):
            if utterance.transcript == key:
                self._pending.remove(utterance)
                return utterance.features
        return None

    def clear(self) -> None:
        """Forget everything (the entry unloads)."""
        self._pending.clear()


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()
