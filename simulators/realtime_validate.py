"""Vocabulary and validation of the Realtime simulator: what the GA server accepts.

Client mistakes become :class:`ProtocolError`, which the server sends back as a recoverable
``error`` event (``unknown_parameter``, ``missing_required_parameter``, ``invalid_value``),
with the ``param`` the GA server names. Realtime sessions (``session.type: "realtime"``) and
transcription sessions (``"transcription"``, opened with ``?intent=transcription``) take
different ``session.update`` shapes; both follow the ``openai`` 3.10 SDK types
(``RealtimeSessionCreateRequest``, ``RealtimeTranscriptionSessionCreateRequest``).
"""

import base64
import binascii
from collections.abc import Mapping
import copy
import itertools
import secrets
from typing import Any, Final, Literal

type JsonDict = dict[str, Any]
type DropMode = Literal["close_1011", "abort"]

SAMPLE_RATE: Final = 24_000
VOICES: Final = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
TRANSCRIPTION_MODELS: Final = (
    "whisper-1",
    "gpt-transcribe",
    "gpt-live-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-transcribe",
    "gpt-4o-transcribe-diarize",
    "gpt-realtime-whisper",
)
TRANSCRIPTION_EVENT_TYPES: Final = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
)

SESSION_KEYS: Final = frozenset(
    {
        "type",
        "model",
        "instructions",
        "output_modalities",
        "audio",
        "tools",
        "tool_choice",
        "max_output_tokens",
        "truncation",
        "tracing",
        "include",
        "prompt",
        "reasoning",
    }
)
RESPONSE_KEYS: Final = frozenset(
    {
        "conversation",
        "instructions",
        "tools",
        "tool_choice",
        "output_modalities",
        "max_output_tokens",
        "metadata",
        "input",
        "audio",
        "prompt",
        "reasoning",
    }
)
_AUDIO_INPUT_KEYS: Final = frozenset(
    {"format", "transcription", "noise_reduction", "turn_detection"}
)
_AUDIO_OUTPUT_KEYS: Final = frozenset({"format", "voice", "speed"})

_TRANSCRIPTION_SESSION_KEYS: Final = frozenset({"type", "audio", "include"})
_TRANSCRIPTION_KEYS: Final = frozenset(
    {"model", "language", "prompt", "delay", "keywords", "languages"}
)
_VAD_KEYS: Final[dict[str, frozenset[str]]] = {
    "server_vad": frozenset(
        {
            "type",
            "threshold",
            "prefix_padding_ms",
            "silence_duration_ms",
            "idle_timeout_ms",
            "create_response",
            "interrupt_response",
        }
    ),
    "semantic_vad": frozenset({"type", "eagerness", "create_response", "interrupt_response"}),
}

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """Return a unique id shaped like the API's (``event_…``, ``item_…``, ``resp_…``)."""
    return f"{prefix}_{secrets.token_hex(6)}{next(_ids):06x}"


class ProtocolError(Exception):
    """A client mistake, sent back as a recoverable ``error`` event."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        """Initialize the error."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.error_type = error_type


def unknown_parameter(param: str) -> ProtocolError:
    """Return the error for a key the API does not know."""
    return ProtocolError("unknown_parameter", f"Unknown parameter: '{param}'.", param=param)


def missing(param: str) -> ProtocolError:
    """Return the error for a required key that is missing."""
    return ProtocolError(
        "missing_required_parameter", f"Missing required parameter: '{param}'.", param=param
    )


def invalid(param: str, message: str) -> ProtocolError:
    """Return the error for a value the API refuses."""
    return ProtocolError("invalid_value", message, param=param)


def merge(target: JsonDict, update: Mapping[str, Any]) -> None:
    """Apply a partial update: objects merge key by key, ``format`` and the rest replace."""
    for key, value in update.items():
        if (
            isinstance(value, dict)
            and isinstance(target.get(key), dict)
            and key not in ("format", "turn_detection")
        ):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def validate_modalities(value: Any, param: str) -> None:
    """Check ``output_modalities``: exactly ``["audio"]`` or ``["text"]``."""
    if value not in (["audio"], ["text"], ("audio",), ("text",)):
        raise invalid(param, "Invalid modalities: expected ['audio'] or ['text'].")


def validate_max_tokens(value: Any, param: str) -> None:
    """Check ``max_output_tokens``: 1-4096 or ``"inf"``."""
    if value == "inf" or value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4096:
        raise invalid(param, "Expected an integer between 1 and 4096, or 'inf'.")


def validate_tools(tools: Any, param: str) -> None:
    """Check a list of flat GA function tools."""
    if tools is None:
        return
    if not isinstance(tools, list):
        raise invalid(param, "Expected an array of tools.")
    for index, tool in enumerate(tools):
        where = f"{param}[{index}]"
        if not isinstance(tool, dict):
            raise invalid(where, "Expected an object.")
        if tool.get("type") != "function":
            raise invalid(f"{where}.type", "Only function tools are supported here.")
        for key in tool:
            if key not in ("type", "name", "description", "parameters"):
                raise unknown_parameter(f"{where}.{key}")
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise missing(f"{where}.name")
        if "parameters" in tool and not isinstance(tool["parameters"], dict):
            raise invalid(f"{where}.parameters", "Expected a JSON schema object.")


def validate_tool_choice(value: Any, param: str) -> None:
    """Check ``tool_choice``: ``auto|none|required`` or ``{type: function, name}``."""
    if value in ("auto", "none", "required"):
        return
    if (
        isinstance(value, dict)
        and value.get("type") == "function"
        and isinstance(value.get("name"), str)
    ):
        return
    raise invalid(param, "Expected 'auto', 'none', 'required' or a function.")


def validate_format(value: Any, param: str) -> None:
    """Check an audio format: ``audio/pcm`` at 24 kHz, ``audio/pcmu`` or ``audio/pcma``."""
    if not isinstance(value, dict):
        raise invalid(
            param,
            f"Invalid format {value!r}: expected an object like {{'type': 'audio/pcm', 'rate': 24000}}.",
        )
    kind = value.get("type")
    if kind == "audio/pcm":
        if value.get("rate", SAMPLE_RATE) != SAMPLE_RATE:
            raise invalid(f"{param}.rate", "Only 24000 Hz is supported for audio/pcm.")
    elif kind not in ("audio/pcmu", "audio/pcma"):
        raise invalid(f"{param}.type", f"Invalid audio format type: {kind!r}.")


def validate_audio(audio: Any, param: str) -> None:
    """Check the ``audio`` object of a realtime session."""
    if audio is None:
        return
    if not isinstance(audio, dict):
        raise invalid(param, "Expected an object.")
    for key in audio:
        if key not in ("input", "output"):
            raise unknown_parameter(f"{param}.{key}")
    validate_audio_input(audio.get("input") or {}, f"{param}.input")
    audio_out = audio.get("output") or {}
    for key in audio_out:
        if key not in _AUDIO_OUTPUT_KEYS:
            raise unknown_parameter(f"{param}.output.{key}")
    if "format" in audio_out:
        validate_format(audio_out["format"], f"{param}.output.format")
    voice = audio_out.get("voice")
    if voice is not None and voice not in VOICES and not isinstance(voice, dict):
        raise invalid(f"{param}.output.voice", f"Invalid voice {voice!r}.")
    speed = audio_out.get("speed")
    if speed is not None and not (isinstance(speed, int | float) and 0.25 <= speed <= 1.5):
        raise invalid(f"{param}.output.speed", "Expected a speed between 0.25 and 1.5.")


def validate_audio_input(audio_in: Any, param: str) -> None:
    """Check ``audio.input`` (the same shape in realtime and transcription sessions)."""
    if not isinstance(audio_in, dict):
        raise invalid(param, "Expected an object.")
    for key in audio_in:
        if key not in _AUDIO_INPUT_KEYS:
            raise unknown_parameter(f"{param}.{key}")
    if "format" in audio_in:
        validate_format(audio_in["format"], f"{param}.format")
    validate_turn_detection(audio_in.get("turn_detection"), f"{param}.turn_detection")
    validate_transcription(audio_in.get("transcription"), f"{param}.transcription")
    noise = audio_in.get("noise_reduction")
    if noise is not None:
        if not isinstance(noise, dict):
            raise invalid(f"{param}.noise_reduction", "Expected an object or null.")
        for key in noise:
            if key != "type":
                raise unknown_parameter(f"{param}.noise_reduction.{key}")
        if noise.get("type") not in ("near_field", "far_field", None):
            raise invalid(f"{param}.noise_reduction.type", "Expected 'near_field' or 'far_field'.")


def validate_turn_detection(value: Any, param: str) -> None:
    """Check ``turn_detection``: ``null``, ``server_vad`` or ``semantic_vad`` and their keys."""
    if value is None:
        return
    if not isinstance(value, dict) or value.get("type") not in _VAD_KEYS:
        raise invalid(param, "Expected null, server_vad or semantic_vad.")
    for key in value:
        if key not in _VAD_KEYS[value["type"]]:
            raise unknown_parameter(f"{param}.{key}")
    threshold = value.get("threshold")
    if threshold is not None and (
        not isinstance(threshold, int | float)
        or isinstance(threshold, bool)
        or not 0 <= threshold <= 1
    ):
        raise invalid(f"{param}.threshold", "Expected a number between 0.0 and 1.0.")
    for key in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
        ms = value.get(key)
        if ms is not None and (not isinstance(ms, int) or isinstance(ms, bool) or ms < 0):
            raise invalid(f"{param}.{key}", "Expected a non-negative integer.")
    if value.get("eagerness", "auto") not in ("low", "medium", "high", "auto"):
        raise invalid(f"{param}.eagerness", "Expected 'low', 'medium', 'high' or 'auto'.")


def validate_transcription(value: Any, param: str) -> None:
    """Check ``audio.input.transcription`` (``null`` turns it off)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise invalid(param, "Expected an object or null.")
    for key in value:
        if key not in _TRANSCRIPTION_KEYS:
            raise unknown_parameter(f"{param}.{key}")
    model = value.get("model")
    if model is not None and model not in TRANSCRIPTION_MODELS:
        raise invalid(
            f"{param}.model",
            f"Invalid value: '{model}'. Supported values are: "
            + ", ".join(f"'{name}'" for name in TRANSCRIPTION_MODELS)
            + ".",
        )
    for key in ("language", "prompt"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise invalid(f"{param}.{key}", "Expected a string.")


def validate_transcription_update(update: JsonDict) -> None:
    """Check the ``session`` of a ``session.update`` sent to a transcription session."""
    for key in update:
        if key not in _TRANSCRIPTION_SESSION_KEYS:
            raise unknown_parameter(f"session.{key}")
    audio = update.get("audio")
    if audio is not None:
        if not isinstance(audio, dict):
            raise invalid("session.audio", "Expected an object.")
        for key in audio:
            if key != "input":
                raise unknown_parameter(f"session.audio.{key}")
        validate_audio_input(audio.get("input") or {}, "session.audio.input")
    include = update.get("include")
    if include is not None and (
        not isinstance(include, list)
        or any(entry != "item.input_audio_transcription.logprobs" for entry in include)
    ):
        raise invalid("session.include", "Expected ['item.input_audio_transcription.logprobs'].")


def check_transcription_session(session: JsonDict) -> None:
    """Check the merged configuration of a transcription session."""
    audio_in = session["audio"]["input"]
    model = (audio_in.get("transcription") or {}).get("model")
    if model == "gpt-realtime-whisper" and audio_in.get("turn_detection") is not None:
        raise invalid(
            "session.audio.input.turn_detection",
            "gpt-realtime-whisper does not support turn detection: set it to null.",
        )


def check_transcription_event(event_type: Any) -> None:
    """Reject client events a transcription session does not take (it has no responses)."""
    if event_type is not None and event_type not in TRANSCRIPTION_EVENT_TYPES:
        raise invalid("type", f"'{event_type}' is not supported in transcription sessions.")


_CONTENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "user": ("input_text", "input_audio", "input_image"),
    "system": ("input_text",),
    "assistant": ("output_text", "output_audio"),
}


def validate_item(
    item: JsonDict, conversation: list[JsonDict], *, check_call_ids: bool = True
) -> JsonDict:
    """Check a conversation item and return a copy with its server-side fields."""
    item = copy.deepcopy(item)
    kind = item.get("type")
    if kind == "message":
        role = item.get("role")
        if role not in _CONTENT_TYPES:
            raise invalid("item.role", f"Invalid role {role!r}.")
        content = item.get("content")
        if not isinstance(content, list) or not content:
            raise missing("item.content")
        for index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in _CONTENT_TYPES[role]:
                allowed = ", ".join(_CONTENT_TYPES[role])
                raise invalid(
                    f"item.content[{index}].type",
                    f"Content type for {role} messages must be one of: {allowed}.",
                )
            if part["type"] in ("input_text", "output_text") and not isinstance(
                part.get("text"), str
            ):
                raise missing(f"item.content[{index}].text")
            if part["type"] == "input_audio" and isinstance(part.get("audio"), str):
                try:
                    base64.b64decode(part["audio"], validate=True)
                except binascii.Error as err:
                    raise invalid(f"item.content[{index}].audio", "Invalid base64 audio.") from err
    elif kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            raise missing("item.call_id")
        if not isinstance(item.get("output"), str):
            raise invalid("item.output", "The output must be a string.")
        if check_call_ids and not any(
            it.get("type") == "function_call" and it.get("call_id") == item["call_id"]
            for it in conversation
        ):
            raise invalid(
                "item.call_id", f"Tool call ID '{item['call_id']}' not found in conversation."
            )
    elif kind == "function_call":
        for key in ("call_id", "name", "arguments"):
            if not isinstance(item.get(key), str):
                raise missing(f"item.{key}")
    else:
        raise invalid("item.type", f"Invalid item type {kind!r}.")
    if check_call_ids and any(it["id"] == item.get("id") for it in conversation):
        raise invalid("item.id", f"Item with id '{item['id']}' already exists.")
    item.setdefault("id", new_id("item"))
    item["object"] = "realtime.item"
    item.setdefault("status", "completed")
    return item
