"""What a voice turn's speech-to-text leaves for the conversation turn that follows.

Home Assistant's pipeline hands the conversation agent only the transcript. The
STT entity records the utterance's audio features (duration, speaking rate, ...)
with the transcript it produced; the engine takes them back when a turn arrives
with that transcript, so the router sees how the words were spoken. Features are
numbers only: neither audio nor text is kept, and a record expires after
:data:`FEATURES_TTL` seconds or when taken.

A record may also carry the fast answer the STT's Realtime session began from the
audio (:class:`~.backends.speculate.SpeculativeAnswer`): the turn takes it with the
features, and an answer nobody takes is cancelled when its record goes.
"""

from collections import deque
from dataclasses import dataclass
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .backends.speculate import SpeculativeAnswer

#: How long (s) an utterance's features wait for their conversation turn.
FEATURES_TTL: Final = 15.0
#: Utterances remembered at once (one per satellite talking at the same moment).
MAX_PENDING: Final = 16


@dataclass(slots=True, frozen=True)
class Heard:
    """What the STT entity left for the turn that carries its transcript."""

    transcript: str
    features: dict[str, float | int]
    at: float
    answer: SpeculativeAnswer | None = None

    def drop(self) -> None:
        """Cancel the answer, if any (nobody will take it)."""
        if self.answer is not None:
            self.answer.discard()


class VoiceHub:
    """Hands each utterance's audio features (and begun answer) from the STT to the turn."""

    def __init__(self) -> None:
        """Initialize with nothing pending."""
        self._pending: deque[Heard] = deque()

    def record(
        self,
        transcript: str,
        features: dict[str, float | int],
        answer: SpeculativeAnswer | None = None,
    ) -> None:
        """Remember ``features`` (and ``answer``) for the turn that will carry ``transcript``."""
        if not transcript.strip():
            if answer is not None:
                answer.discard()
            return
        self._pending.append(Heard(_key(transcript), features, time.monotonic(), answer))
        while len(self._pending) > MAX_PENDING:
            self._pending.popleft().drop()

    def take(self, text: str) -> Heard | None:
        """What the utterance transcribed as ``text`` left (once), or None."""
        if not self._pending:  # a typed turn, or no satellite: nothing to look up
            return None
        now = time.monotonic()
        while self._pending and now - self._pending[0].at > FEATURES_TTL:
            self._pending.popleft().drop()
        key = _key(text)
        for heard in reversed(self._pending):
            if heard.transcript == key:
                self._pending.remove(heard)
                return heard
        return None

    def clear(self) -> None:
        """Forget everything, cancelling any answer begun (the entry unloads)."""
        while self._pending:
            self._pending.popleft().drop()


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()
