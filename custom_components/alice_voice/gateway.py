"""The voice gateway: one per config entry, it runs every turn of every agent.

A turn is routed by the intent router, then answered on one path:

* **fast, local** - device commands go to Home Assistant's own intents
  (``conversation.async_handle_intents``); a miss goes on to the think path;
* **fast, cloud** - greetings, thanks, clarifications, simple questions, the
  weather and the time go to OpenAI Realtime, which is told the local time and
  the weather entity's report;
* **think** - the local Ollama model with Home Assistant's tools;
* **hybrid** - Realtime with one extra tool, ``escalate_to_local``; calling it
  hands the turn to the think path.

The agent's mode narrows this: ``local_only`` never opens a cloud connection
(fast questions are answered by HA's intents, Alice's own phrases or Ollama),
``cloud_only`` answers everything on Realtime with HA's tools as function calls.

Fallbacks run both ways and every answer says who gave it (``source``): a
cloud failure or a fast answer over budget falls back to the local answer
(``local_fallback``); a local failure falls back to Realtime when the mode
allows it (``openai_fallback``), otherwise Alice apologises. A backend that
fails :data:`FAILURES_BEFORE_DOWN` times in a row is skipped (no timeout paid
per turn) and probed in the background until it answers again.

Guardrails (see :mod:`.guardrails`) keep sensitive devices off the cloud and
make unlocking, disarming and opening wait for a spoken "yes".
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent, llm
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util.ssl import get_default_context

from .backends.ollama import OllamaBackend, OllamaError, format_keep_alive
from .backends.realtime_types import (
    RealtimeAuthError,
    RealtimeError,
    RealtimeSessionConfig,
    RealtimeTimeoutError,
    RealtimeTool,
)
from .cloud import ESCALATE_TOOL, CloudPath, realtime_tool
from .const import (
    CONF_CONFIDENCE_THRESHOLD,
    CONF_EVENT_TRANSCRIPTS,
    CONF_FAST_BUDGET,
    CONF_LANGUAGE,
    CONF_PROMPT,
    CONF_REALTIME_MODEL,
    CONF_REALTIME_VOICE,
    CONF_ROUTE_MODE,
    CONF_THINK_BUDGET,
    CONNECT_TIMEOUT,
    DEFAULT_CONVERSATION_OPTIONS,
    DOMAIN,
    EVENT_INTENT,
    EVENT_RESPONSE,
    LOGGER,
    MAX_INPUT_CHARS,
    PROBE_INTERVAL,
    REALTIME_IDLE_TIMEOUT,
    SESSION_TTL,
    Backend,
    RouteMode,
    Source,
)
from .context import async_cloud_instructions
from .errors import AliceVoiceTurnError
from .focus import focus_prompt, focus_tools, wants_live_context, without_device_overview
from .guardrails import (
    PendingAction,
    answer_to_confirmation,
    mentions_sensitive,
    names_of,
    needs_confirmation,
    targets_sensitive,
    tool_intent,
)
from .helpers import async_localized_message, async_phrase, host_of, with_home_time
from .local import async_local_answer
from .prompts import default_prompt
from .router import IntentRouter, RouteDecision, RoutePath, RouteReason
from .status import AliceVoiceStatus
from .think import ThinkPath, ThinkSettings

if TYPE_CHECKING:
    # The OpenAI SDK is imported only by entries with a key (it is large).
    import openai

    from .backends.realtime import RealtimeBackend

CONFIRMATION_TTL: Final = 60.0  # seconds a "yes" is waited for
LIVE_CONTEXT_TOOL: Final = "homeassistant__GetLiveContext"
LIVE_CONTEXT_SUFFIX: Final = "GetLiveContext"
#: Decisions sure enough to send only the intent's tools (see :mod:`.focus`).
FOCUSED_REASONS: Final = frozenset(
    {RouteReason.SIMPLE_INTENT, RouteReason.COMPLEX_INTENT, RouteReason.CONTEXT_FOLLOW_UP}
)
# Local failures worth retrying on the cloud (a missing model is one too: the
# cloud can still answer). Input errors and tool loops are not.
CLOUD_RETRYABLE: Final = frozenset(
    {
        "ollama_unreachable",
        "ollama_timeout",
        "ollama_error",
        "ollama_bad_stream",
        "model_not_found",
        "empty_reply",
    }
)
REALTIME_ERROR_KEYS: Final = {
    RealtimeAuthError: "openai_invalid_auth",
    RealtimeTimeoutError: "openai_timeout",
}


@dataclass(slots=True, frozen=True, kw_only=True)
class AgentConfig:
    """One agent's settings, read from its subentry."""

    subentry_id: str
    title: str
    language: str
    mode: RouteMode
    prompt: str | None
    llm_apis: list[str] | str | None
    think: ThinkSettings
    realtime_model: str
    realtime_voice: str
    confidence_threshold: float
    fast_budget: float  # seconds
    think_budget: float  # seconds
    event_transcripts: bool

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> AgentConfig:
        """Read the agent's options, with defaults for anything missing."""
        values: Mapping[str, Any] = {**DEFAULT_CONVERSATION_OPTIONS, **subentry.data}
        return cls(
            subentry_id=subentry.subentry_id,
            title=subentry.title,
            language=str(values[CONF_LANGUAGE]),
            mode=RouteMode(values[CONF_ROUTE_MODE]),
            prompt=values.get(CONF_PROMPT) or None,
            llm_apis=values.get(CONF_LLM_HASS_API),
            think=ThinkSettings.from_options(values),
            realtime_model=str(values[CONF_REALTIME_MODEL]),
            realtime_voice=str(values[CONF_REALTIME_VOICE]),
            confidence_threshold=float(values[CONF_CONFIDENCE_THRESHOLD]),
            fast_budget=float(values[CONF_FAST_BUDGET]) / 1000,
            think_budget=float(values[CONF_THINK_BUDGET]) / 1000,
            event_transcripts=bool(values[CONF_EVENT_TRANSCRIPTS]),
        )


@dataclass(slots=True)
class ConversationState:
    """What Alice remembers of a satellite's (or conversation's) recent turns."""

    previous_intent: str | None = None
    pending: PendingAction | None = None
    pending_since: float = 0.0
    touched: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class Turn:
    """One turn in progress."""

    agent: AgentConfig
    entity_id: str
    user_input: conversation.ConversationInput
    key: str
    started: float = field(default_factory=time.monotonic)
    decision: RouteDecision | None = None
    source: Source = Source.LOCAL_FALLBACK
    on_cloud: bool = False
    pending: PendingAction | None = None
    escalated: bool = False
    fallback_from: str | None = None
    route_ms: float | None = None
    first_text_at: float | None = None
    tools_used: list[str] = field(default_factory=list)
    error: str | None = None
    llm_ready: bool = False

    def elapsed_ms(self, at: float | None = None) -> float:
        """Milliseconds from the start of the turn to ``at`` (default now)."""
        return ((at if at is not None else time.monotonic()) - self.started) * 1000


class _ConverseError(Exception):
    """Home Assistant refused the LLM setup (for example a bad prompt template)."""

    def __init__(self, result: conversation.ConversationResult) -> None:
        super().__init__("converse error")
        self.result = result


@dataclass
class GuardedAPIInstance(llm.APIInstance):
    """Home Assistant's LLM API with Alice's guardrails in front of every tool call."""

    guard: Callable[[llm.ToolInput], Awaitable[None]] | None = None

    async def async_call_tool(self, tool_input: llm.ToolInput) -> llm.ToolResult:
        """Check the call against the guardrails, then run it."""
        if self.guard is not None:
            await self.guard(tool_input)
        return await super().async_call_tool(tool_input)


class AliceVoiceGateway:
    """Routes and answers every turn of one config entry's agents."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        router: IntentRouter,
        ollama: OllamaBackend,
        openai_client: openai.AsyncOpenAI | None,
        status: AliceVoiceStatus,
        on_auth_failed: Callable[[], None],
    ) -> None:
        """Initialize; call :meth:`async_start` once the entry is set up."""
        self.hass = hass
        self.router = router
        self.ollama = ollama
        self.openai_client = openai_client
        self.status = status
        self._on_auth_failed = on_auth_failed
        self._realtime: dict[str, RealtimeBackend] = {}
        self._routers: dict[float, IntentRouter] = {}
        self._states: dict[str, ConversationState] = {}
        self._warm_until: dict[str, float] = {}
        self._warming: set[str] = set()
        self._keep_warm: list[AgentConfig] = []
        self._stop_probes: CALLBACK_TYPE | None = None

    # --- lifecycle -------------------------------------------------------------------

    @callback
    def async_start(self, agents: Sequence[AgentConfig] = ()) -> None:
        """Start probing: backends that are down, and the agents' local models.

        An agent that keeps its model loaded (keep-alive -1, the default) gets
        it loaded now and again whenever Ollama has dropped it (a restart, or
        another model taking its memory), so no turn pays for a cold model.
        """
        self._keep_warm = [
            agent
            for agent in agents
            if agent.think.keep_alive < 0 and agent.mode is not RouteMode.CLOUD_ONLY
        ]
        if self._keep_warm:
            self.hass.async_create_background_task(
                self._async_keep_warm(), f"{DOMAIN} keep warm", eager_start=False
            )
        self._stop_probes = async_track_time_interval(
            self.hass,
            self._async_probe,
            timedelta(seconds=PROBE_INTERVAL),
            name=f"{DOMAIN} backend probe",
            cancel_on_shutdown=True,
        )

    async def async_stop(self) -> None:
        """Stop probing and close every Realtime session."""
        if self._stop_probes is not None:
            self._stop_probes()
            self._stop_probes = None
        for backend in self._realtime.values():
            await backend.close()
        self._realtime.clear()

    def realtime(self, model: str) -> RealtimeBackend | None:
        """The Realtime backend for ``model`` (None without an OpenAI key)."""
        if self.openai_client is None:
            return None
        if (backend := self._realtime.get(model)) is None:
            from .backends.realtime import RealtimeBackend  # noqa: PLC0415 - see TYPE_CHECKING

            backend = RealtimeBackend(
                self.openai_client,
                model=model,
                websocket_connection_options={"ssl": get_default_context()},
                idle_timeout=REALTIME_IDLE_TIMEOUT,
                connect_timeout=CONNECT_TIMEOUT,
            )
            self._realtime[model] = backend
        return backend

    async def _async_probe(self, now: Any = None) -> None:
        """Try the backends that are down; bring back those that answer."""
        if self.status.is_down(Backend.OLLAMA):
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self.ollama.list_models()
            except TimeoutError, OllamaError:
                LOGGER.debug("Ollama is still down")
            else:
                LOGGER.info("Ollama answers again")
                self.status.backend_ok(Backend.OLLAMA)
        if self.status.is_down(Backend.OPENAI) and self.openai_client is not None:
            import openai  # noqa: PLC0415 - loaded already: there is a client

            try:
                await self.openai_client.with_options(timeout=CONNECT_TIMEOUT).models.list()
            except openai.AuthenticationError:
                LOGGER.warning("OpenAI rejects the API key")
            except openai.OpenAIError:
                LOGGER.debug("OpenAI is still unreachable")
            else:
                LOGGER.info("OpenAI answers again")
                self.status.backend_ok(Backend.OPENAI)
        await self._async_keep_warm()

    async def _async_keep_warm(self) -> None:
        """Load the kept-warm agents' models that Ollama does not hold now."""
        if not self._keep_warm or self.status.is_down(Backend.OLLAMA):
            return
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                loaded = await self.ollama.loaded_models()
        except TimeoutError, OllamaError:
            LOGGER.debug("Could not ask Ollama which models are loaded")
            return
        for agent in self._keep_warm:
            model = agent.think.model
            if model in loaded:
                self._mark_warm(agent)
                continue
            self._warm_until.pop(model, None)
            if model not in self._warming:
                LOGGER.debug("Loading %s, which Ollama does not hold", model)
                self._warming.add(model)
                self.hass.async_create_background_task(
                    self._async_warm(agent), f"{DOMAIN} warm {model}", eager_start=True
                )

    # --- the turn --------------------------------------------------------------------

    async def async_handle(
        self,
        agent: AgentConfig,
        entity_id: str,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Answer one turn; failures become a spoken message, never an exception."""
        key = user_input.satellite_id or user_input.device_id or chat_log.conversation_id
        turn = Turn(agent=agent, entity_id=entity_id, user_input=user_input, key=key)
        self.status.turn_started(agent.subentry_id)
        result: conversation.ConversationResult | None = None
        try:
            result = await self._async_turn(turn, chat_log)
        except _ConverseError as err:
            turn.error = "prompt_error"
            result = err.result
        except AliceVoiceTurnError as err:
            turn.error = err.key
            LOGGER.warning("%s could not answer: %s", entity_id, err)
            result = await self._async_error_result(turn, chat_log, err)
        finally:
            self._finish(turn, result)
        return result

    async def _async_turn(
        self, turn: Turn, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        text = turn.user_input.text
        if not text or not text.strip():
            raise AliceVoiceTurnError("empty_input")
        if len(text) > MAX_INPUT_CHARS:
            raise AliceVoiceTurnError("input_too_long", {"max_chars": str(MAX_INPUT_CHARS)})

        state = self._state(turn)
        if state.pending is not None:
            pending, state.pending = state.pending, None
            if time.monotonic() - state.pending_since < CONFIRMATION_TTL:
                answer = answer_to_confirmation(text)
                if answer is not None:
                    return await self._async_confirm(turn, chat_log, pending, confirmed=answer)

        routed = time.monotonic()
        decision = self._router(turn.agent).route(
            text,
            context=with_home_time(
                self.hass,
                {"previous_intent": state.previous_intent, "language": turn.agent.language},
            ),
        )
        turn.route_ms = (time.monotonic() - routed) * 1000
        turn.decision = decision
        state.previous_intent = str(decision.intent)
        self._fire_intent(turn)
        self._maybe_prewarm(turn)
        return await self._async_run(turn, chat_log)

    async def _async_run(
        self, turn: Turn, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        """Pick the path for the routed turn (see the module docstring)."""
        assert turn.decision is not None
        agent = turn.agent
        intent_name = str(turn.decision.intent)
        path = turn.decision.path

        def cloud_ok() -> bool:
            # Scans the sensitive devices' names: only when the cloud is an option.
            return self._cloud_usable(agent) and not mentions_sensitive(
                self.hass, turn.user_input.text
            )

        if agent.mode is RouteMode.CLOUD_ONLY and cloud_ok():
            budget = agent.fast_budget if path is RoutePath.FAST else agent.think_budget
            return await self._async_cloud(
                turn, chat_log, tools=True, escalate=False, budget=budget, on_failure="local"
            )
        if intent_name == "DEVICE_CONTROL":
            # Home Assistant's own intents match exactly or not at all, in
            # milliseconds, so they go first, even when the router is unsure.
            if (result := await self._async_ha_intents(turn, chat_log)) is not None:
                return result
            if turn.pending is not None:
                return await self._async_ask_confirmation(turn, chat_log)
            if path is RoutePath.FAST:
                return await self._async_think(turn, chat_log, cloud_fallback=cloud_ok())
        cloud = cloud_ok()
        if path is RoutePath.FAST:
            if cloud:
                return await self._async_cloud(
                    turn,
                    chat_log,
                    tools=False,
                    escalate=False,
                    budget=agent.fast_budget,
                    on_failure="local",
                )
            return await self._async_local_fast(turn, chat_log, fallback=False)
        if path is RoutePath.HYBRID and cloud:
            return await self._async_cloud(
                turn,
                chat_log,
                tools=False,
                escalate=True,
                budget=agent.fast_budget,
                on_failure="think",
            )
        return await self._async_think(turn, chat_log, cloud_fallback=cloud)

    # --- paths -----------------------------------------------------------------------

    async def _async_ha_intents(
        self, turn: Turn, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult | None:
        """Home Assistant's own intents; None when nothing matched."""

        def reject(result: Any) -> bool:
            # True rejects the match: unlocking and the like need a "yes" first.
            slots = {name: entity.value for name, entity in result.entities.items()}
            if states := needs_confirmation(self.hass, result.intent.name, slots):
                turn.pending = PendingAction(
                    result.intent.name, slots, names_of(states), turn.agent.language
                )
                return True
            return False

        response = await conversation.async_handle_intents(
            self.hass, turn.user_input, chat_log, intent_filter=reject
        )
        if response is None:
            return None
        speech = response.speech.get("plain", {}).get("speech") or await async_phrase(
            self.hass, turn.agent.language, "confirmed"
        )
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=turn.entity_id, content=speech)
        )
        turn.source = Source.HA_LOCAL_INTENTS
        turn.first_text_at = time.monotonic()
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )

    async def _async_local_fast(
        self, turn: Turn, chat_log: conversation.ChatLog, *, fallback: bool
    ) -> conversation.ConversationResult:
        """A fast question answered without the cloud."""
        assert turn.decision is not None
        intent_name = str(turn.decision.intent)
        if (
            intent_name in ("TIME_DATE", "WEATHER", "DEVICE_CONTROL")
            and (result := await self._async_ha_intents(turn, chat_log)) is not None
        ):
            if fallback:
                turn.source = Source.LOCAL_FALLBACK
            return result
        answer = await async_local_answer(
            self.hass, turn.agent.language, intent_name, turn.user_input.text
        )
        if answer is not None:
            turn.source = Source.LOCAL_FALLBACK
            return self._answer(turn, chat_log, answer)
        return await self._async_think(
            turn,
            chat_log,
            cloud_fallback=False,
            source=Source.LOCAL_FALLBACK if fallback else Source.LOCAL_AI,
        )

    async def _async_think(
        self,
        turn: Turn,
        chat_log: conversation.ChatLog,
        *,
        cloud_fallback: bool,
        source: Source = Source.LOCAL_AI,
    ) -> conversation.ConversationResult:
        """The local model with tools; on failure Realtime, if the mode allows."""
        agent = turn.agent
        turn.source = source
        try:
            self._check_ollama()
            await self._async_llm_data(turn, chat_log)
            await self._async_prefetch_live_context(turn, chat_log)
            think = ThinkPath(self.ollama, agent.think)
            result = await think.async_run(
                turn.entity_id,
                chat_log,
                budget=agent.think_budget,
                filler=await async_phrase(self.hass, agent.language, "checking"),
                should_stop=lambda: turn.pending is not None,
            )
        except AliceVoiceTurnError as err:
            if err.backend_down is not None:
                self.status.backend_failed(err.backend_down, err.key)
            if err.key == "ollama_invalid_auth":
                self._on_auth_failed()
            if cloud_fallback and err.key in CLOUD_RETRYABLE:
                LOGGER.warning("The local model failed (%s); answering from the cloud", err)
                turn.fallback_from = Backend.OLLAMA
                return await self._async_cloud(
                    turn,
                    chat_log,
                    tools=True,
                    escalate=False,
                    budget=agent.think_budget,
                    on_failure=None,
                    source=Source.OPENAI_FALLBACK,
                    local_error=err,
                )
            raise
        self.status.backend_ok(Backend.OLLAMA)
        self._mark_warm(agent)
        turn.tools_used.extend(result.tools_used)
        if result.first_text_at is not None:
            turn.first_text_at = result.first_text_at
        if turn.pending is not None:
            return await self._async_ask_confirmation(turn, chat_log)
        await self._async_ensure_answer(turn, chat_log)
        return conversation.async_get_result_from_chat_log(turn.user_input, chat_log)

    async def _async_cloud(
        self,
        turn: Turn,
        chat_log: conversation.ChatLog,
        *,
        tools: bool,
        escalate: bool,
        budget: float,
        on_failure: str | None,
        source: Source = Source.OPENAI_REALTIME,
        local_error: AliceVoiceTurnError | None = None,
    ) -> conversation.ConversationResult:
        """OpenAI Realtime; on failure the local answer or the think path."""
        agent = turn.agent
        backend = self.realtime(agent.realtime_model)
        assert backend is not None
        turn.source = source
        realtime_tools: list[RealtimeTool] = []
        if tools:
            await self._async_llm_data(turn, chat_log)
            if chat_log.llm_api is not None:
                realtime_tools = [
                    realtime_tool(tool, chat_log.llm_api.custom_serializer)
                    for tool in chat_log.llm_api.tools
                    if tool.name != LIVE_CONTEXT_TOOL
                ]
        if escalate:
            realtime_tools.append(ESCALATE_TOOL)
        config = RealtimeSessionConfig(
            instructions=await async_cloud_instructions(
                self.hass,
                prompt=agent.prompt,
                language=agent.language,
                escalate=escalate,
                with_devices=tools,
            ),
            output_modality="text",
            voice=agent.realtime_voice,
            tools=tuple(realtime_tools),
        )
        turn.on_cloud = True
        try:
            result = await CloudPath(backend).async_run(
                turn.entity_id,
                chat_log.conversation_id,
                turn.user_input.text,
                chat_log,
                config=config,
                first_delta_timeout=budget,
                should_stop=lambda: turn.pending is not None,
            )
        except RealtimeError as err:
            key = next(
                (k for cls, k in REALTIME_ERROR_KEYS.items() if isinstance(err, cls)),
                "openai_unreachable",
            )
            self.status.backend_failed(Backend.OPENAI, key)
            if isinstance(err, RealtimeAuthError):
                self._on_auth_failed()
            LOGGER.warning("The cloud did not answer (%s: %s)", key, type(err).__name__)
            turn.on_cloud = False
            if on_failure == "local":
                turn.fallback_from = Backend.OPENAI
                return await self._async_local_fast(turn, chat_log, fallback=True)
            if on_failure == "think":
                turn.fallback_from = Backend.OPENAI
                return await self._async_think(turn, chat_log, cloud_fallback=False)
            if local_error is not None:
                # Both failed: the message is about the local model, and so is the label.
                turn.source = Source.LOCAL_AI
                raise local_error from err
            raise AliceVoiceTurnError(key) from err
        finally:
            turn.on_cloud = False
        self.status.backend_ok(Backend.OPENAI)
        turn.tools_used.extend(result.tools_used)
        if result.escalated:
            turn.escalated = True
            return await self._async_think(turn, chat_log, cloud_fallback=False)
        if result.first_text_at is not None:
            turn.first_text_at = result.first_text_at
        if turn.pending is not None:
            return await self._async_ask_confirmation(turn, chat_log)
        await self._async_ensure_answer(turn, chat_log)
        return conversation.async_get_result_from_chat_log(turn.user_input, chat_log)

    # --- pieces ----------------------------------------------------------------------

    async def _async_llm_data(self, turn: Turn, chat_log: conversation.ChatLog) -> None:
        """Give the chat log the agent's prompt and guarded tools (once per turn)."""
        if turn.llm_ready:
            return
        agent = turn.agent
        try:
            await chat_log.async_provide_llm_data(
                turn.user_input.as_llm_context(DOMAIN),
                agent.llm_apis,
                agent.prompt or default_prompt(agent.language),
                turn.user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            raise _ConverseError(err.as_conversation_result()) from err
        focus = self._focus_intent(turn)
        if (api := chat_log.llm_api) is not None:
            chat_log.llm_api = GuardedAPIInstance(
                api=api.api,
                api_prompt=api.api_prompt,
                llm_context=api.llm_context,
                tools=focus_tools(focus, api.tools),
                custom_serializer=api.custom_serializer,
                guard=self._guard(turn),
            )
            system = chat_log.content[0]
            if isinstance(system, conversation.SystemContent):
                trimmed = focus_prompt(focus, system.content)
                if trimmed != system.content:
                    chat_log.content[0] = conversation.SystemContent(content=trimmed)
        turn.llm_ready = True

    async def _async_prefetch_live_context(
        self, turn: Turn, chat_log: conversation.ChatLog
    ) -> None:
        """Put the home's live state in front of the model when the turn asks about it.

        The live context (every exposed device with its state) takes the static
        overview's place in the system prompt, so the model answers in one round
        instead of first calling the tool (see :func:`.focus.wants_live_context`).
        """
        decision = turn.decision
        api = chat_log.llm_api
        system = chat_log.content[0]
        if decision is None or api is None or not isinstance(system, conversation.SystemContent):
            return
        if turn.escalated or not wants_live_context(str(decision.intent), decision.slots):
            return
        tool = next((t.name for t in api.tools if t.name.endswith(LIVE_CONTEXT_SUFFIX)), None)
        if tool is None:
            return
        try:
            result = await api.async_call_tool(llm.ToolInput(tool_name=tool, tool_args={}))
        except HomeAssistantError as err:
            LOGGER.debug("No live context up front: %s", err)
            return
        live = result.data.get("result") if not result.error else None
        if not isinstance(live, str):
            return
        content = without_device_overview(system.content, f"{live}\n")
        if content != system.content:
            chat_log.content[0] = conversation.SystemContent(content=content)
            turn.tools_used.append(tool)

    @staticmethod
    def _focus_intent(turn: Turn) -> str | None:
        """The intent whose tools the turn gets, or None for all (see :mod:`.focus`)."""
        decision = turn.decision
        if decision is None or turn.escalated or decision.reason not in FOCUSED_REASONS:
            return None
        return str(decision.intent)

    def _guard(self, turn: Turn) -> Callable[[llm.ToolInput], Awaitable[None]]:
        async def guard(tool_input: llm.ToolInput) -> None:
            name, args = tool_input.tool_name, tool_input.tool_args
            if turn.on_cloud and (
                name == LIVE_CONTEXT_TOOL or targets_sensitive(self.hass, name, args)
            ):
                LOGGER.warning("Refused a cloud call of %s on a sensitive device", name)
                raise HomeAssistantError(
                    "Refused: this device is controlled locally only, never through the "
                    "cloud. Tell the user so."
                )
            if states := needs_confirmation(self.hass, name, args):
                turn.pending = PendingAction(
                    tool_intent(name), dict(args), names_of(states), turn.agent.language
                )
                raise HomeAssistantError("Waiting for the user to confirm; say nothing more.")

        return guard

    async def _async_ask_confirmation(
        self, turn: Turn, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        """Ask for a "yes" before a sensitive action, and remember what to do."""
        pending = turn.pending
        assert pending is not None
        state = self._state(turn)
        state.pending, state.pending_since = pending, time.monotonic()
        language = turn.agent.language
        action = "action_open"
        if pending.intent == "HassTurnOff":
            action = "action_unlock"
        elif "disarm" in pending.intent.lower():
            action = "action_disarm"
        question = await async_phrase(
            self.hass,
            language,
            "confirm_unlock",
            {
                "action": await async_phrase(self.hass, language, action),
                "names": ", ".join(pending.entity_names),
            },
        )
        turn.source = Source.HA_LOCAL_INTENTS
        result = self._answer(turn, chat_log, question)
        result.continue_conversation = True
        return result

    async def _async_confirm(
        self,
        turn: Turn,
        chat_log: conversation.ChatLog,
        pending: PendingAction,
        *,
        confirmed: bool,
    ) -> conversation.ConversationResult:
        """Carry out (or drop) the action the user answered about."""
        language = turn.agent.language
        if not confirmed:
            turn.source = Source.LOCAL_FALLBACK
            return self._answer(turn, chat_log, await async_phrase(self.hass, language, "declined"))
        user_input = turn.user_input
        try:
            response = await intent.async_handle(
                self.hass,
                DOMAIN,
                pending.intent,
                {name: {"value": value} for name, value in pending.slots.items()},
                text_input=user_input.text,
                context=user_input.context,
                language=user_input.language,
                assistant=conversation.DOMAIN,
                device_id=user_input.device_id,
                satellite_id=user_input.satellite_id,
            )
        except intent.IntentError as err:
            LOGGER.warning("The confirmed action %s failed: %s", pending.intent, err)
            raise AliceVoiceTurnError("action_failed") from err
        turn.source = Source.HA_LOCAL_INTENTS
        turn.tools_used.append(pending.intent)
        speech = response.speech.get("plain", {}).get("speech") or await async_phrase(
            self.hass, language, "confirmed"
        )
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=turn.entity_id, content=speech)
        )
        response.async_set_speech(speech)
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )

    async def _async_ensure_answer(self, turn: Turn, chat_log: conversation.ChatLog) -> None:
        """Make sure the turn ends with something to say.

        A model may go quiet after a tool call. If Home Assistant's tools
        succeeded, Alice says she is done; otherwise it is an error.
        """
        last = chat_log.content[-1]
        if isinstance(last, conversation.AssistantContent) and last.content:
            return
        if isinstance(last, conversation.ToolResultContent) and not last.result.error:
            done = await async_phrase(self.hass, turn.agent.language, "confirmed")
            chat_log.async_add_assistant_content_without_tools(
                conversation.AssistantContent(agent_id=turn.entity_id, content=done)
            )
            return
        raise AliceVoiceTurnError("empty_reply")

    def _answer(
        self, turn: Turn, chat_log: conversation.ChatLog, text: str
    ) -> conversation.ConversationResult:
        """Answer with ``text`` and keep the chat log whole."""
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=turn.entity_id, content=text)
        )
        if turn.first_text_at is None:
            turn.first_text_at = time.monotonic()
        response = intent.IntentResponse(language=turn.user_input.language)
        response.async_set_speech(text)
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )

    async def _async_error_result(
        self, turn: Turn, chat_log: conversation.ChatLog, err: AliceVoiceTurnError
    ) -> conversation.ConversationResult:
        """Say what went wrong, in the agent's language, and keep the log whole."""
        message = await async_localized_message(
            self.hass, turn.agent.language, err.key, err.placeholders
        )
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=turn.entity_id, content=message)
        )
        response = intent.IntentResponse(language=turn.user_input.language)
        response.async_set_error(intent.IntentResponseErrorCode.UNKNOWN, message)
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )

    # --- state, health, warming --------------------------------------------------

    def _state(self, turn: Turn) -> ConversationState:
        """The satellite's (or conversation's) state, forgetting stale ones."""
        now = time.monotonic()
        # The dict is kept in order of last use, so stale states are at its front.
        while self._states:
            oldest = next(iter(self._states))
            if now - self._states[oldest].touched <= SESSION_TTL:
                break
            del self._states[oldest]
        state = self._states.pop(turn.key, None) or ConversationState()
        self._states[turn.key] = state
        state.touched = now
        return state

    def _router(self, agent: AgentConfig) -> IntentRouter:
        """A router with the agent's confidence threshold (they share the model)."""
        if agent.confidence_threshold == self.router.confidence_threshold:
            return self.router
        if (router := self._routers.get(agent.confidence_threshold)) is None:
            router = IntentRouter(
                model=self.router.model, confidence_threshold=agent.confidence_threshold
            )
            self._routers[agent.confidence_threshold] = router
        return router

    def _check_ollama(self) -> None:
        """Fail at once, with no timeout paid, while Ollama is known to be down."""
        if self.status.is_down(Backend.OLLAMA):
            raise AliceVoiceTurnError("ollama_unreachable", {"host": host_of(self.ollama.host)})

    def _cloud_usable(self, agent: AgentConfig) -> bool:
        return (
            agent.mode is not RouteMode.LOCAL_ONLY
            and self.openai_client is not None
            and not self.status.is_down(Backend.OPENAI)
        )

    def _maybe_prewarm(self, turn: Turn) -> None:
        """Load the local model while the turn is routed, if the think path is likely."""
        assert turn.decision is not None
        agent = turn.agent
        if agent.mode is RouteMode.CLOUD_ONLY and self._cloud_usable(agent):
            return
        if (
            turn.decision.path is RoutePath.FAST
            and str(turn.decision.intent) != "DEVICE_CONTROL"
            and self._cloud_usable(agent)
        ):
            return
        model = agent.think.model
        if (
            model in self._warming
            or self._warm_until.get(model, 0.0) > time.monotonic()
            or self.status.is_down(Backend.OLLAMA)
        ):
            return
        self._warming.add(model)
        self.hass.async_create_background_task(
            self._async_warm(agent), f"{DOMAIN} warm {model}", eager_start=True
        )

    async def _async_warm(self, agent: AgentConfig) -> None:
        model = agent.think.model
        try:
            await self.ollama.warm(model, keep_alive=format_keep_alive(agent.think.keep_alive))
        except OllamaError as err:
            LOGGER.debug("Could not warm %s: %s", model, err)
        else:
            self._mark_warm(agent)
        finally:
            self._warming.discard(model)

    def _mark_warm(self, agent: AgentConfig) -> None:
        keep = agent.think.keep_alive
        self._warm_until[agent.think.model] = float("inf") if keep < 0 else time.monotonic() + keep

    # --- events and status ---------------------------------------------------------

    def _fire_intent(self, turn: Turn) -> None:
        decision = turn.decision
        assert decision is not None
        data: dict[str, Any] = {
            "agent_id": turn.entity_id,
            "intent": str(decision.intent),
            "confidence": round(decision.confidence, 4),
            "path": str(decision.path),
            "reason": str(decision.reason),
            "language": decision.language,
            "slots": dict(decision.slots),
            "conversation_id": turn.user_input.conversation_id,
            "device_id": turn.user_input.device_id,
            "satellite_id": turn.user_input.satellite_id,
            "route_ms": round(turn.route_ms or 0.0, 3),
        }
        if turn.agent.event_transcripts:
            data["text"] = turn.user_input.text
        self.hass.bus.async_fire(EVENT_INTENT, data, context=turn.user_input.context)

    def _finish(self, turn: Turn, result: conversation.ConversationResult | None) -> None:
        """Label the response with its source, update the status and fire the event."""
        total_ms = turn.elapsed_ms()
        success = turn.error is None
        if result is not None:
            plain = result.response.speech.setdefault("plain", {"speech": ""})
            plain["extra_data"] = {
                "source": str(turn.source),
                "path": str(turn.decision.path) if turn.decision else None,
                "intent": str(turn.decision.intent) if turn.decision else None,
            }
        self.status.turn_finished(
            turn.agent.subentry_id,
            duration_ms=total_ms,
            error=turn.error,
            source=str(turn.source),
            route=str(turn.decision.path) if turn.decision else None,
            intent=str(turn.decision.intent) if turn.decision else None,
        )
        data: dict[str, Any] = {
            "agent_id": turn.entity_id,
            "source": str(turn.source),
            "success": success,
            "error": turn.error,
            "fallback_from": turn.fallback_from,
            "escalated": turn.escalated,
            "tools": list(turn.tools_used),
            "conversation_id": result.conversation_id if result else None,
            "device_id": turn.user_input.device_id,
            "satellite_id": turn.user_input.satellite_id,
            "latency_ms": {
                "route": round(turn.route_ms, 3) if turn.route_ms is not None else None,
                "first_text": round(turn.elapsed_ms(turn.first_text_at), 1)
                if turn.first_text_at is not None
                else None,
                "total": round(total_ms, 1),
            },
        }
        if turn.agent.event_transcripts:
            data["text"] = turn.user_input.text
            if result is not None:
                data["response"] = result.response.speech.get("plain", {}).get("speech")
        self.hass.bus.async_fire(EVENT_RESPONSE, data, context=turn.user_input.context)
