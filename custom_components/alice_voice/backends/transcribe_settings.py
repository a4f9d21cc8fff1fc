"""How an utterance is transcribed over the Realtime API: the session settings.

:class:`TranscriptionSettings` builds the ``session`` of a GA transcription
session, or of a conversation session that also answers (see
:mod:`.speculate`). No Home Assistant imports.
"""

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from openai.types.realtime.realtime_transcription_session_audio_input_param import (
    RealtimeTranscriptionSessionAudioInputParam,
)
from openai.types.realtime.realtime_transcription_session_create_request_param import (
    RealtimeTranscriptionSessionCreateRequestParam,
)

from .realtime_types import SAMPLE_RATE

if TYPE_CHECKING:
    from .speculate import SpeculativeAnswer

__all__ = ["TranscriptionSettings"]

_VAD_THRESHOLD: Final = 0.5
_VAD_PREFIX_PADDING_MS: Final = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptionSettings:
    """How an utterance is transcribed.

    Attributes:
        model: The transcription model (``gpt-4o-mini-transcribe``, ``gpt-4o-transcribe``,
            ``whisper-1``, …).
        language: ISO-639-1 language of the speech (``""``: let the model detect it).
        prompt: Optional guidance for the model (words to expect, style).
        server_vad: ``False``: the caller ends the utterance (its own endpointing) and
            :meth:`RealtimeTranscriber.finish` commits; ``True``: the server's VAD ends it
            after ``silence_duration_ms`` of silence.
        silence_duration_ms: Silence that ends the utterance with ``server_vad``.
        noise_reduction: ``near_field`` or ``far_field`` input filtering, off when ``None``.
        connect_timeout: Seconds for the handshake and ``session.created``.
        result_timeout: Seconds from :meth:`RealtimeTranscriber.finish` to the transcript.
    """

    model: str = "gpt-4o-mini-transcribe"
    language: str = "sv"
    prompt: str | None = None
    server_vad: bool = False
    silence_duration_ms: int = 500
    noise_reduction: Literal["near_field", "far_field"] | None = None
    connect_timeout: float = 10.0
    result_timeout: float = 10.0

    def session_payload(self) -> RealtimeTranscriptionSessionCreateRequestParam:
        """Build the ``session`` of the ``session.update`` (GA transcription session)."""
        audio_input: RealtimeTranscriptionSessionAudioInputParam = {
            "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
            "transcription": {"model": self.model},
            "turn_detection": (
                {
                    "type": "server_vad",
                    "threshold": _VAD_THRESHOLD,
                    "prefix_padding_ms": _VAD_PREFIX_PADDING_MS,
                    "silence_duration_ms": self.silence_duration_ms,
                }
                if self.server_vad
                else None
            ),
        }
        if self.language:
            audio_input["transcription"]["language"] = self.language
        if self.prompt:
            audio_input["transcription"]["prompt"] = self.prompt
        if self.noise_reduction is not None:
            audio_input["noise_reduction"] = {"type": self.noise_reduction}
        return {"type": "transcription", "audio": {"input": audio_input}}

    def answering_payload(self, answer: SpeculativeAnswer) -> dict[str, Any]:
        """Build the ``session`` of a conversation session that transcribes and answers."""
        transcription = dict(self.session_payload()["audio"]["input"]["transcription"])
        payload = replace(answer.config, transcription=transcription).session_payload()
        if self.noise_reduction is not None:
            payload["audio"]["input"]["noise_reduction"] = {"type": self.noise_reduction}
        return payload
