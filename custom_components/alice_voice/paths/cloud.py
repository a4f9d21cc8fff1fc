"""The cloud path: OpenAI Realtime answers, streamed into the chat log.

Text in, text out (the voice path adds audio later). Sessions are kept warm
per conversation by the coordinator's Realtime pool, so a second turn pays no
handshake. Home Assistant's tools can be offered as function calls; their
results go back as ``function_call_output`` items followed by one
``response.create``. On the hybrid path the model gets one more tool,
``escalate_to_local``: calling it hands the turn to the local model.

A voice turn may bring a fast answer that the STT's Realtime session began from
the audio (:class:`~..backends.speculate.SpeculativeAnswer`). The fast step
streams that answer instead of asking again when it was made with the very
settings the step would send and the conversation has no earlier messages (the
speculating session knew none); otherwise it is cancelled. If it fails before
its first words, the step asks again on a warm session.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
from homeassistant.helpers.json import json_dumps
import probatio

from ..backends.realtime_types import (
    ContextMessage,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeEvent,
    RealtimeFunctionCall,
    RealtimeSessionConfig,
    RealtimeSessionExpired,
    RealtimeTextDelta,
    RealtimeTimeoutError,
    RealtimeTool,
)
from ..claims import ClaimCheck
from ..const import LOGGER, MAX_TOOL_ITERATIONS, AgentMode, Backend, Source
from ..coordinator import AliceVoiceCoordinator
from ..errors import realtime_turn_error
from ..guardrails import LIVE_CONTEXT_SUFFIX, Guardrails
from ..llm_data import LLMDataProvider
from ..metrics import ErrorCounter
from ..models import AgentConfig, Turn
from ..results import model_answer
from . import PathKind, Step
from .cloud_context import CloudContext

if TYPE_CHECKING:
    from ..backends.realtime import RealtimeBackend
    from ..backends.speculate import SpeculativeAnswer

ESCALATE_TOOL_NAME: Final = "escalate_to_local"
ESCALATE_TOOL: Final = RealtimeTool(
    name=ESCALATE_TOOL_NAME,
    description=(
        "Hand the request to the home's local assistant. Call it at once, before saying "
        "anything, when answering needs the home's devices, calendar, e-mail, music, "
        "personal data, several steps, or anything you cannot answer from the "
        "instructions alone."
    ),
    parameters={
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "Why, in a few words."}},
        "required": [],
    },
)


@dataclass(slots=True)
class CloudResult:
    """What one cloud turn did."""

    escalated: bool = False
    tools_used: list[str] = field(default_factory=list)
    first_text_at: float | None = None


def realtime_tool(tool: llm.Tool, custom_serializer: Callable[[Any], Any] | None) -> RealtimeTool:
    """Describe a Home Assistant tool in Realtime's flat shape."""
    return RealtimeTool(
        name=tool.name,
        description=tool.description or "",
        parameters=probatio.to_openapi(
            tool.parameters, custom_serializer=custom_serializer, openapi_version="3.1.0"
        ),
    )


def history_of(chat_log: conversation.ChatLog) -> list[ContextMessage]:
    """The text conversation so far (what a fresh session needs to know)."""
    history: list[ContextMessage] = []
    for content in chat_log.content:
        if isinstance(content, conversation.UserContent) and content.content:
            history.append(ContextMessage("user", content.content))
        elif isinstance(content, conversation.AssistantContent) and content.content:
            history.append(ContextMessage("assistant", content.content))
    return history


def tool_outputs(chat_log: conversation.ChatLog) -> list[tuple[str, str]]:
    """The results of the last round's tool calls, as function_call_output strings."""
    outputs: list[tuple[str, str]] = []
    for content in reversed(chat_log.content):
        if not isinstance(content, conversation.ToolResultContent):
            break
        data: Any = content.result.data
        if content.result.error:
            data = {"error": True, **(data if isinstance(data, dict) else {"data": data})}
        outputs.insert(0, (content.tool_call_id, json_dumps(data)))
    return outputs


async def _deltas(
    stream: AsyncIterator[RealtimeEvent], result: CloudResult, turn: Turn, claims: ClaimCheck
) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    """Turn Realtime events into chat-log deltas (one assistant message).

    Answer text is held back while the turn has yet to prove it acted (see
    :mod:`..claims`).
    """
    yield {"role": "assistant"}
    loop = asyncio.get_running_loop()
    held: list[str] | None = [] if claims.holds() else None
    called = False
    async for event in stream:
        if isinstance(event, RealtimeTextDelta):
            if event.text and held is not None:
                held.append(event.text)
            elif event.text:
                if result.first_text_at is None:
                    result.first_text_at = loop.time()
                    turn.text_started(result.first_text_at)
                yield {"content": event.text}
        elif isinstance(event, RealtimeFunctionCall):
            if event.name == ESCALATE_TOOL_NAME:
                result.escalated = True
                return
            called = True
            yield {
                "tool_calls": [
                    llm.ToolInput(tool_name=event.name, tool_args=event.arguments, id=event.call_id)
                ]
            }
    if held:
        if result.first_text_at is None:
            result.first_text_at = loop.time()
            turn.text_started(result.first_text_at)
        yield {"content": claims.release("".join(held), with_tool_calls=called)}


async def _speculated(
    answer: SpeculativeAnswer,
    ask_again: Callable[[], AsyncIterator[RealtimeEvent]],
    turn: Turn,
    first_delta_timeout: float,
) -> AsyncGenerator[RealtimeEvent]:
    """The speculative answer's events; a fresh response if it fails before any text.

    Over budget is over budget: a timeout is not asked again (the turn falls back).
    """
    yielded = False
    turn.speculative = True
    try:
        async with contextlib.aclosing(
            answer.stream(first_delta_timeout=first_delta_timeout)
        ) as events:
            async for event in events:
                yielded = True
                yield event
    except RealtimeError as err:
        if yielded or isinstance(err, RealtimeTimeoutError):
            raise
        LOGGER.debug("The speculative answer failed (%s); asking again", err.code)
    else:
        return
    turn.speculative = False
    async with contextlib.aclosing(ask_again()) as events:  # type: ignore[type-var]
        async for event in events:
            yield event


async def async_run_realtime(
    backend: RealtimeBackend,
    turn: Turn,
    chat_log: conversation.ChatLog,
    *,
    config: RealtimeSessionConfig,
    first_delta_timeout: float,
    speculation: SpeculativeAnswer | None = None,
) -> CloudResult:
    """Answer the turn on Realtime, running tool calls through the chat log.

    ``speculation`` is an answer already begun for this turn with ``config``
    (it makes no tool calls: it is offered none). Raises a RealtimeError on
    failure. Returns with ``escalated`` set if the model called
    ``escalate_to_local``; nothing of that call enters the log (closing the
    stream cancels the cloud's response).
    """
    result = CloudResult()
    key = chat_log.conversation_id

    def respond() -> AsyncIterator[RealtimeEvent]:
        return backend.respond(
            key,
            turn.user_input.text,
            config=config,
            history=history_of(chat_log),
            first_delta_timeout=first_delta_timeout,
        )

    events = (
        respond()
        if speculation is None
        else _speculated(speculation, respond, turn, first_delta_timeout)
    )
    claims = ClaimCheck(turn, chat_log)
    for _ in range(MAX_TOOL_ITERATIONS):
        async with contextlib.aclosing(events) as stream:  # type: ignore[type-var]
            async for content in chat_log.async_add_delta_content_stream(
                turn.entity_id, _deltas(stream, result, turn, claims)
            ):
                if isinstance(content, conversation.ToolResultContent):
                    result.tools_used.append(content.tool_name)
        if result.escalated or not chat_log.unresponded_tool_results or turn.pending:
            return result
        events = backend.submit_tool_outputs(
            key, tool_outputs(chat_log), first_delta_timeout=first_delta_timeout
        )
    return result


class CloudPath:
    """Answer on OpenAI Realtime; report its health to the coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: AliceVoiceCoordinator,
        guardrails: Guardrails,
        llm_data: LLMDataProvider,
    ) -> None:
        """Initialize, with this entry's own cloud context (and forecast cache)."""
        self.hass = hass
        self.coordinator = coordinator
        self.guardrails = guardrails
        self.llm_data = llm_data
        self.context = CloudContext(hass)

    async def async_answer(
        self, turn: Turn, chat_log: conversation.ChatLog, step: Step
    ) -> conversation.ConversationResult | None:
        """Answer, or None when the model escalated or a guardrail took the turn over."""
        agent = turn.agent
        backend = self.coordinator.realtime(agent.realtime_model)
        assert backend is not None
        tools: list[RealtimeTool] = []
        if step.tools:
            await self.llm_data.async_provide(turn, chat_log, self.guardrails.tool_guard(turn))
            if (api := chat_log.llm_api) is not None:
                tools = [
                    realtime_tool(tool, api.custom_serializer)
                    for tool in api.tools
                    if not tool.name.endswith(LIVE_CONTEXT_SUFFIX)
                ]
        config = await self.async_config(agent, step, tools)
        speculation = self._speculation(turn, chat_log, config)
        turn.on_cloud = True
        try:
            result = await async_run_realtime(
                backend,
                turn,
                chat_log,
                config=config,
                first_delta_timeout=step.budget,
                speculation=speculation,
            )
        except RealtimeError as err:
            if isinstance(err, RealtimeConnectionError | RealtimeSessionExpired):
                self.coordinator.metrics.count(ErrorCounter.WEBSOCKET)
            error = realtime_turn_error(err)
            LOGGER.warning("The cloud did not answer (%s: %s)", error.key, type(err).__name__)
            self.coordinator.report_failure(Backend.OPENAI, error.key)
            raise error from err
        finally:
            turn.on_cloud = False
        self.coordinator.report_ok(Backend.OPENAI)
        turn.tools_used.extend(result.tools_used)
        if result.escalated:
            turn.escalated = True
            return None
        if turn.pending is not None:
            return None
        turn.text_started(result.first_text_at)
        return model_answer(turn, chat_log)

    async def async_speculation_config(self, agent: AgentConfig) -> RealtimeSessionConfig | None:
        """The settings of a fast answer the STT may begin from the audio, or None.

        Only a ``hybrid`` agent with the option on speculates (``cloud_only``
        answers with tools, ``local_only`` never asks the cloud), and only while
        the cloud is up. The settings are exactly those of the fast cloud step.
        """
        coordinator = self.coordinator
        if (
            not agent.voice.speculate
            or agent.mode is not AgentMode.HYBRID
            or coordinator.openai is None
            or coordinator.is_down(Backend.OPENAI)
        ):
            return None
        return await self.async_config(
            agent, Step(PathKind.CLOUD, Source.OPENAI_REALTIME, budget=agent.fast_budget)
        )

    async def async_config(
        self, agent: AgentConfig, step: Step, tools: Sequence[RealtimeTool] = ()
    ) -> RealtimeSessionConfig:
        """The session settings of ``step`` for ``agent``, with ``tools`` offered."""
        return RealtimeSessionConfig(
            instructions=await self.context.async_instructions(
                prompt=agent.prompt,
                language=agent.language,
                escalate=step.escalate,
                with_devices=step.tools,
            ),
            output_modality="text",
            voice=agent.realtime_voice,
            tools=(*tools, ESCALATE_TOOL) if step.escalate else tuple(tools),
        )

    @staticmethod
    def _speculation(
        turn: Turn, chat_log: conversation.ChatLog, config: RealtimeSessionConfig
    ) -> SpeculativeAnswer | None:
        """The turn's speculative answer if it answers this step exactly; else cancel it."""
        answer, turn.speculation = turn.speculation, None
        if answer is None:
            return None
        earlier = history_of(chat_log)
        if earlier and earlier[-1] == ContextMessage("user", turn.user_input.text):
            earlier = earlier[:-1]
        if answer.available and answer.fits(config) and not earlier:
            return answer
        LOGGER.debug(
            "Not using the speculative answer (%s)",
            "history" if earlier else "other settings" if answer.available else "gone",
        )
        answer.discard()
        return None
