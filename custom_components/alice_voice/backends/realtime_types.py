"""OpenAI Realtime turn events, session settings and errors, without the SDK.

These are what the rest of Alice sees of the Realtime API. They live apart from
:mod:`.realtime` (the client, which imports the ``openai`` SDK) so that an entry
without an OpenAI key never loads the SDK.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

SAMPLE_RATE: Final = 24_000
"""Realtime audio is PCM16 LE mono at this rate, in both directions."""

AUDIO_FORMAT: Final[dict[str, Any]] = {"type": "audio/pcm", "rate": SAMPLE_RATE}


class RealtimeError(Exception):
    """Base class for Realtime failures.

    Attributes:
        code: The API error code, or a short code for transport failures (e.g. ``http_401``).
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        """Initialize the error."""
        super().__init__(message)
        self.code = code


class RealtimeAuthError(RealtimeError):
    """The API key was rejected (HTTP 401/403 at the upgrade, or ``invalid_api_key``)."""


class RealtimeConnectionError(RealtimeError):
    """The WebSocket could not be opened or was lost."""


class RealtimeTimeoutError(RealtimeError):
    """The response did not start (first delta) or stalled within the allowed time."""


class RealtimeSessionExpired(RealtimeError):  # noqa: N818 - name from the integration's spec
    """The server ended the session (``session_expired``, 60-minute cap) during a turn."""


class RealtimeResponseError(RealtimeError):
    """The server answered a turn with an ``error`` event or a failed response."""


# --- Configuration -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RealtimeTool:
    """A function tool in the flat Realtime shape.

    Attributes:
        name: Tool name (``alice_voice__…``).
        description: What the tool does, for the model.
        parameters: JSON schema of the arguments.
    """

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )

    def as_param(self) -> dict[str, Any]:
        """Return the tool as sent in ``session.tools``."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": dict(self.parameters),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RealtimeSessionConfig:
    """Session settings; sent with ``session.update`` only when they change.

    Attributes:
        instructions: The system prompt.
        output_modality: ``"text"`` or ``"audio"`` (audio comes with a transcript).
        voice: Output voice; it cannot change after the session produced audio, so a
            different voice then opens a new session.
        tools: Offered function tools.
        tool_choice: ``auto``, ``none``, ``required`` or a tool name.
        turn_detection: ``None`` for text turns (manual ``response.create``), or a
            ``server_vad``/``semantic_vad`` mapping.
        max_output_tokens: 1-4096 or ``"inf"``.
        transcription: Input audio transcription settings (e.g.
            ``{"model": "gpt-4o-mini-transcribe", "language": "sv"}``), off when ``None``.
    """

    instructions: str = ""
    output_modality: Literal["text", "audio"] = "text"
    voice: str = "marin"
    tools: Sequence[RealtimeTool] = ()
    tool_choice: str = "auto"
    turn_detection: Mapping[str, Any] | None = None
    max_output_tokens: int | Literal["inf"] = "inf"
    transcription: Mapping[str, Any] | None = None

    def session_payload(self) -> dict[str, Any]:
        """Build the GA ``session`` object of a ``session.update``."""
        tool_choice: str | dict[str, str] = self.tool_choice
        if tool_choice not in ("auto", "none", "required"):
            tool_choice = {"type": "function", "name": self.tool_choice}
        audio_input: dict[str, Any] = {
            "format": dict(AUDIO_FORMAT),
            "turn_detection": dict(self.turn_detection) if self.turn_detection else None,
            "transcription": dict(self.transcription) if self.transcription else None,
        }
        return {
            "type": "realtime",
            "instructions": self.instructions,
            "output_modalities": [self.output_modality],
            "audio": {
                "input": audio_input,
                "output": {"format": dict(AUDIO_FORMAT), "voice": self.voice},
            },
            "tools": [tool.as_param() for tool in self.tools],
            "tool_choice": tool_choice,
            "max_output_tokens": self.max_output_tokens,
        }


@dataclass(frozen=True, slots=True)
class ContextMessage:
    """A text message of the conversation, used to seed sessions that have not seen it.

    Attributes:
        role: ``user``, ``assistant`` or ``system``.
        text: The message text, exactly as it was said or answered.
    """

    role: Literal["user", "assistant", "system"]
    text: str

    def as_item(self) -> dict[str, Any]:
        """Return the message as a GA conversation item."""
        content_type = "output_text" if self.role == "assistant" else "input_text"
        return {
            "type": "message",
            "role": self.role,
            "content": [{"type": content_type, "text": self.text}],
        }


# --- Events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RealtimeTextDelta:
    """A piece of the answer text.

    Attributes:
        text: The delta.
        transcript: ``True`` for the transcript of spoken audio (audio mode), ``False`` for
            text output (text mode).
    """

    text: str
    transcript: bool = False


@dataclass(frozen=True, slots=True)
class RealtimeAudioDelta:
    """A chunk of spoken answer.

    Attributes:
        audio: PCM16 LE mono at 24 kHz.
    """

    audio: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class RealtimeFunctionCall:
    """A complete function call; answer it with :meth:`RealtimeBackend.submit_tool_outputs`.

    Attributes:
        call_id: Id to answer with.
        name: Tool name.
        arguments: Parsed arguments (empty when they were not a JSON object).
        raw_arguments: The JSON string as sent.
        arguments_valid: Whether ``raw_arguments`` parsed as a JSON object.
    """

    call_id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str
    arguments_valid: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RealtimeUsage:
    """Token usage of a response."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RealtimeResponseDone:
    """The end of a response; always the last event of a turn.

    Attributes:
        response_id: The response id.
        status: ``completed``, ``cancelled``, ``incomplete`` or ``failed``.
        reason: ``status_details.reason`` (e.g. ``client_cancelled``, ``max_output_tokens``).
        text: The whole answer text (or transcript).
        function_calls: Calls made in this response.
        usage: Token usage, when reported.
        first_delta_latency: Seconds from ``response.create`` to the first delta.
        new_session: Whether the turn opened a new session (paid a handshake).
    """

    response_id: str | None
    status: str
    reason: str | None = None
    text: str = ""
    function_calls: tuple[RealtimeFunctionCall, ...] = ()
    usage: RealtimeUsage | None = None
    first_delta_latency: float | None = None
    new_session: bool = False


type RealtimeEvent = (
    RealtimeTextDelta | RealtimeAudioDelta | RealtimeFunctionCall | RealtimeResponseDone
)
