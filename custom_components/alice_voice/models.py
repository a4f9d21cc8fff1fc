"""Alice's data: an agent's settings, a turn in progress, and a loaded entry's runtime data."""

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
import time
from typing import TYPE_CHECKING, Any

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_LLM_HASS_API

from .const import (
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DEFAULT_CALENDAR,
    CONF_EVENT_TRANSCRIPTS,
    CONF_FAST_BUDGET,
    CONF_KEEP_ALIVE,
    CONF_LANGUAGE,
    CONF_LOCAL_MODEL,
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_MODE,
    CONF_NUM_CTX,
    CONF_PROMPT,
    CONF_REALTIME_MODEL,
    CONF_REALTIME_VOICE,
    CONF_SATELLITES,
    CONF_SPECULATE,
    CONF_STT_MODEL,
    CONF_TEMPERATURE,
    CONF_THINK_BUDGET,
    CONF_THINK_LEVEL,
    CONF_THINK_TIMEOUT,
    CONF_VAD_HANGOVER,
    CONF_VAD_SENSITIVITY,
    DEFAULT_CONVERSATION_OPTIONS,
    AgentMode,
    Backend,
    Source,
)
from .router import RouteDecision

if TYPE_CHECKING:
    from .backends.speculate import SpeculativeAnswer
    from .coordinator import AliceVoiceCoordinator
    from .engine import AliceVoiceEngine
    from .metrics import Metrics
    from .router import IntentRouter
    from .status import AgentStatusTracker
    from .voice import VoiceHub


@dataclass(slots=True, frozen=True, kw_only=True)
class ThinkSettings:
    """The agent options the think path (the local model) uses."""

    model: str
    think_level: str
    keep_alive: int  # seconds; negative keeps the model loaded
    max_history: int
    num_ctx: int
    timeout: float  # seconds without a streamed chunk
    temperature: float
    max_tokens: int  # num_predict; 0 = no cap

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ThinkSettings:
        """Read the settings from a subentry's data, with defaults."""
        values = {**DEFAULT_CONVERSATION_OPTIONS, **options}
        return cls(
            model=str(values[CONF_LOCAL_MODEL]),
            think_level=str(values[CONF_THINK_LEVEL]),
            keep_alive=int(values[CONF_KEEP_ALIVE]),
            max_history=int(values[CONF_MAX_HISTORY]),
            num_ctx=int(values[CONF_NUM_CTX]),
            timeout=float(values[CONF_THINK_TIMEOUT]),
            temperature=float(values[CONF_TEMPERATURE]),
            max_tokens=int(values[CONF_MAX_TOKENS]),
        )

    @property
    def model_options(self) -> dict[str, Any]:
        """Ollama's ``options`` for a turn: context, temperature and the answer's cap."""
        options: dict[str, Any] = {"num_ctx": self.num_ctx, "temperature": self.temperature}
        if self.max_tokens > 0:
            options["num_predict"] = self.max_tokens
        return options


@dataclass(slots=True, frozen=True, kw_only=True)
class VoiceSettings:
    """The agent options of its voice: speech-to-text, endpointing and satellites."""

    stt_model: str
    vad_sensitivity: float  # 0..1
    vad_hangover_ms: int  # silence that ends speech
    satellites: tuple[str, ...]  # assist_satellite entities set to the agent's pipeline
    speculate: bool  # the STT's Realtime session begins the fast answer (hybrid mode)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> VoiceSettings:
        """Read the settings from a subentry's data, with defaults."""
        values = {**DEFAULT_CONVERSATION_OPTIONS, **options}
        satellites = values[CONF_SATELLITES]
        return cls(
            stt_model=str(values[CONF_STT_MODEL]),
            vad_sensitivity=min(1.0, max(0.0, float(values[CONF_VAD_SENSITIVITY]))),
            vad_hangover_ms=max(30, int(values[CONF_VAD_HANGOVER])),
            satellites=tuple(str(s) for s in satellites) if isinstance(satellites, list) else (),
            speculate=bool(values[CONF_SPECULATE]),
        )


@dataclass(slots=True, frozen=True, kw_only=True)
class AgentConfig:
    """One agent's settings, read from its conversation subentry."""

    subentry_id: str
    title: str
    language: str
    mode: AgentMode
    prompt: str | None
    llm_apis: list[str] | str | None
    think: ThinkSettings
    realtime_model: str
    realtime_voice: str
    confidence_threshold: float
    fast_budget: float  # seconds to the fast path's first text
    think_budget: float  # seconds to the think path's first text
    event_transcripts: bool
    default_calendar: str | None  # the calendar entity bookings go to when none is named
    voice: VoiceSettings

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> AgentConfig:
        """Read the agent's options, with defaults for anything missing."""
        values: Mapping[str, Any] = {**DEFAULT_CONVERSATION_OPTIONS, **subentry.data}
        return cls(
            subentry_id=subentry.subentry_id,
            title=subentry.title,
            language=str(values[CONF_LANGUAGE]),
            mode=AgentMode(values[CONF_MODE]),
            prompt=values.get(CONF_PROMPT) or None,
            llm_apis=values.get(CONF_LLM_HASS_API),
            think=ThinkSettings.from_options(values),
            realtime_model=str(values[CONF_REALTIME_MODEL]),
            realtime_voice=str(values[CONF_REALTIME_VOICE]),
            confidence_threshold=float(values[CONF_CONFIDENCE_THRESHOLD]),
            fast_budget=float(values[CONF_FAST_BUDGET]) / 1000,
            think_budget=float(values[CONF_THINK_BUDGET]) / 1000,
            event_transcripts=bool(values[CONF_EVENT_TRANSCRIPTS]),
            default_calendar=values.get(CONF_DEFAULT_CALENDAR) or None,
            voice=VoiceSettings.from_options(values),
        )


@dataclass(slots=True, frozen=True)
class PendingAction:
    """An action waiting for the user's "yes": an HA intent or a tool call, and the question."""

    name: str  # the intent (HassTurnOff) or the tool (alice_voice__mail_send)
    args: dict[str, Any]  # the intent's slots or the tool's arguments
    question: str  # what Alice asks, in the agent's language
    tool: bool = False


@dataclass(slots=True)
class Turn:
    """One turn in progress: what was said, how it was routed, and what happened."""

    agent: AgentConfig
    entity_id: str
    user_input: conversation.ConversationInput
    key: str  # the satellite, device or conversation whose state the turn shares
    conversation_id: str | None = None  # the chat log's (new on a first turn)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None  # when the answer was returned
    decision: RouteDecision | None = None
    source: Source = Source.LOCAL_FALLBACK
    on_cloud: bool = False  # a cloud model is asking for tool calls right now
    pending: PendingAction | None = None  # a guardrail wants a "yes" first
    escalated: bool = False  # the cloud handed the turn to the local model
    fallback_from: Backend | None = None
    route_ms: float | None = None
    ha_recognized_nothing: bool = False  # HA's matcher found no intent at all in the text
    first_text_at: float | None = None
    tools_used: list[str] = field(default_factory=list)
    error: str | None = None  # the translation key of the failure
    llm_data: bool = False  # the chat log has the agent's prompt and tools
    live_context: bool = False  # ... with the home's live state in the prompt
    unconfirmed_claim: bool = False  # a model claimed an action no tool did (not passed on)
    on_first_text: Callable[[], None] | None = None  # told once, when the first words are out
    audio_features: dict[str, float | int] | None = None  # how a voice turn was spoken
    speculation: SpeculativeAnswer | None = None  # a fast answer begun from the audio
    speculative: bool = False  # the answer is that one

    def elapsed_ms(self, at: float | None = None) -> float:
        """Milliseconds from the start of the turn to ``at`` (default now)."""
        return ((at if at is not None else time.monotonic()) - self.started) * 1000

    @property
    def total_ms(self) -> float:
        """Milliseconds from the start of the turn to its answer (so far, if unfinished)."""
        return self.elapsed_ms(self.finished)

    def text_started(self, at: float | None = None) -> None:
        """Record when the first answer text arrived (the first call wins)."""
        if self.first_text_at is None:
            self.first_text_at = at if at is not None else time.monotonic()
            if self.on_first_text is not None:
                self.on_first_text()


#: The turn Alice's engine is running in this task (tools read the agent and satellite).
CURRENT_TURN: ContextVar[Turn | None] = ContextVar("alice_voice_turn", default=None)


def current_turn() -> Turn | None:
    """The Alice turn being answered, or None outside one (another agent's tool call)."""
    return CURRENT_TURN.get()


@dataclass(slots=True, kw_only=True)
class AliceVoiceData:
    """What a loaded Alice Voice entry owns."""

    coordinator: AliceVoiceCoordinator
    router: IntentRouter
    engine: AliceVoiceEngine
    status: AgentStatusTracker
    metrics: Metrics
    voice: VoiceHub


type AliceVoiceConfigEntry = ConfigEntry[AliceVoiceData]
