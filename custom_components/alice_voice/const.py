"""Constants for the Alice Voice integration."""

from enum import StrEnum
import logging
from typing import Any, Final

DOMAIN: Final = "alice_voice"
LOGGER = logging.getLogger(__package__)

# --- Config entry: the connections -------------------------------------------
CONF_OLLAMA_URL: Final = "ollama_url"
CONF_OLLAMA_API_KEY: Final = "ollama_api_key"
CONF_OPENAI_API_KEY: Final = "openai_api_key"
CONF_OPENAI_BASE_URL: Final = "openai_base_url"
SECTION_ADVANCED: Final = "advanced"

DEFAULT_OLLAMA_URL: Final = "http://127.0.0.1:11434"

# --- Conversation subentry: one agent ------------------------------------------
SUBENTRY_CONVERSATION: Final = "conversation"

CONF_LANGUAGE: Final = "language"
CONF_MODE: Final = "mode"
CONF_LOCAL_MODEL: Final = "local_model"
CONF_THINK_LEVEL: Final = "think_level"
CONF_REALTIME_MODEL: Final = "realtime_model"
CONF_REALTIME_VOICE: Final = "realtime_voice"
CONF_PROMPT: Final = "prompt"
CONF_CONFIDENCE_THRESHOLD: Final = "confidence_threshold"
CONF_KEEP_ALIVE: Final = "keep_alive"
CONF_MAX_HISTORY: Final = "max_history"
CONF_NUM_CTX: Final = "num_ctx"
CONF_THINK_TIMEOUT: Final = "think_timeout"
CONF_FAST_BUDGET: Final = "fast_budget"
CONF_THINK_BUDGET: Final = "think_budget"
CONF_EVENT_TRANSCRIPTS: Final = "event_transcripts"
CONF_DEFAULT_CALENDAR: Final = "default_calendar"
CONF_MODE_BEFORE_PRIVACY: Final = "mode_before_privacy"  # restored when privacy goes off
CONF_TEMPERATURE: Final = "temperature"  # the local model's sampling temperature
CONF_MAX_TOKENS: Final = "max_tokens"  # Ollama's num_predict: the longest answer, thinking included
SECTION_VOICE: Final = "voice"
CONF_SATELLITES: Final = "satellites"  # assist_satellite entities given the agent's pipeline
CONF_STT_MODEL: Final = "stt_model"
CONF_VAD_SENSITIVITY: Final = "vad_sensitivity"
CONF_VAD_HANGOVER: Final = "vad_hangover"  # ms of silence that end speech
CONF_SPECULATE: Final = "speculative_answer"  # the STT's session begins the fast answer


class Language(StrEnum):
    """Languages an agent speaks."""

    SWEDISH = "sv"
    ENGLISH = "en"


class AgentMode(StrEnum):
    """Which backends an agent may use (not to be confused with the router's path)."""

    HYBRID = "hybrid"
    CLOUD_ONLY = "cloud_only"
    LOCAL_ONLY = "local_only"


class ThinkLevel(StrEnum):
    """Reasoning effort for the local model (gpt-oss takes low, medium or high)."""

    OFF = "off"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


REALTIME_MODELS: Final = (
    "gpt-realtime",
    "gpt-realtime-mini",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-2.1-mini",
)
REALTIME_VOICES: Final = (
    "marin",
    "cedar",
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
)

DEFAULT_NAME: Final = "Alice"
DEFAULT_LOCAL_MODEL: Final = "gpt-oss:20b"
DEFAULT_REALTIME_MODEL: Final = "gpt-realtime"
DEFAULT_REALTIME_VOICE: Final = "marin"
DEFAULT_CONFIDENCE_THRESHOLD: Final = 0.85
DEFAULT_KEEP_ALIVE: Final = -1  # seconds; negative keeps the model loaded
DEFAULT_MAX_HISTORY: Final = 50  # turns (user messages) kept in the prompt
DEFAULT_NUM_CTX: Final = 8192
DEFAULT_THINK_TIMEOUT: Final = 60.0  # seconds without a streamed chunk
DEFAULT_FAST_BUDGET: Final = 300  # ms to the fast path's first text, then fall back
DEFAULT_THINK_BUDGET: Final = 2000  # ms to the think path's first text, then "jag kollar…"

DEFAULT_CONVERSATION_OPTIONS: Final[dict[str, Any]] = {
    CONF_LANGUAGE: Language.SWEDISH.value,
    CONF_MODE: AgentMode.HYBRID.value,
    CONF_LOCAL_MODEL: DEFAULT_LOCAL_MODEL,
    CONF_THINK_LEVEL: ThinkLevel.LOW.value,
    CONF_REALTIME_MODEL: DEFAULT_REALTIME_MODEL,
    CONF_REALTIME_VOICE: DEFAULT_REALTIME_VOICE,
    CONF_CONFIDENCE_THRESHOLD: DEFAULT_CONFIDENCE_THRESHOLD,
    CONF_KEEP_ALIVE: DEFAULT_KEEP_ALIVE,
    CONF_MAX_HISTORY: DEFAULT_MAX_HISTORY,
    CONF_NUM_CTX: DEFAULT_NUM_CTX,
    CONF_THINK_TIMEOUT: DEFAULT_THINK_TIMEOUT,
    CONF_FAST_BUDGET: DEFAULT_FAST_BUDGET,
    CONF_THINK_BUDGET: DEFAULT_THINK_BUDGET,
    CONF_EVENT_TRANSCRIPTS: False,
    CONF_TEMPERATURE: 0.3,
    CONF_MAX_TOKENS: 2048,
    CONF_SATELLITES: [],
    CONF_STT_MODEL: "gpt-4o-mini-transcribe",
    CONF_VAD_SENSITIVITY: 0.7,
    CONF_VAD_HANGOVER: 300,
    CONF_SPECULATE: True,
}

#: The languages Alice's speech entities take, as a pipeline may name them.
SPEECH_LANGUAGES: Final = ("sv", "sv-SE", "en", "en-US", "en-GB")
#: OpenAI's transcription models, for the agent's speech-to-text.
STT_MODELS: Final = ("gpt-4o-mini-transcribe", "gpt-4o-transcribe", "whisper-1")
#: OpenAI's speech model for the agent's text-to-speech (its voice is the Realtime voice).
TTS_MODEL: Final = "gpt-4o-mini-tts"


class Source(StrEnum):
    """Who produced an answer (every response carries one)."""

    OPENAI_REALTIME = "openai_realtime"
    LOCAL_AI = "local_ai"
    HA_LOCAL_INTENTS = "ha_local_intents"
    LOCAL_FALLBACK = "local_fallback"
    OPENAI_FALLBACK = "openai_fallback"


class Backend(StrEnum):
    """Alice's backends (the coordinator tracks the health of each)."""

    OLLAMA = "ollama"
    OPENAI = "openai"


FAILURES_BEFORE_DOWN: Final = 3  # consecutive failures before a backend is skipped
PROBE_INTERVAL: Final = 30.0  # seconds between health probes of a backend that is down
REALTIME_IDLE_TIMEOUT: Final = 120.0  # seconds before an idle Realtime session closes
SESSION_TTL: Final = 300.0  # seconds a satellite's conversation state is kept

# --- Limits --------------------------------------------------------------------
MAX_TOOL_ITERATIONS: Final = 10  # core ollama/anthropic bound
MAX_INPUT_CHARS: Final = 4000  # longer input is refused with a clear message
CONNECT_TIMEOUT: Final = 10.0  # seconds, validation and setup
