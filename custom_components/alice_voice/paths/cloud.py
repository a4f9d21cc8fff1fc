"""The cloud path: OpenAI Realtime answers, streamed into the chat log.

Text in, text out (the voice path adds audio later). Sessions are kept warm
per conversation by the coordinator's Realtime pool, so a second turn pays no
handshake. Home Assistant's tools can be offered as function calls; their
results go back as ``function_call_output`` items followed by one
``response.create``. On the hybrid path the model gets one more tool,
``escalate_to_local``: calling it hands the turn to the local model.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
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
    RealtimeTool,
)
from ..claims import ClaimCheck
from ..const import LOGGER, MAX_TOOL_ITERATIONS, Backend
from ..coordinator import AliceVoiceCoordinator
from ..errors import realtime_turn_error
from ..guardrails import LIVE_CONTEXT_SUFFIX, Guardrails
from ..llm_data import LLMDataProvider
from ..metrics import ErrorCounter
from ..models import Turn
from ..results import model_answer
from . import Step
from .cloud_context import CloudContext

if TYPE_CHECKING:
    from ..backends.realtime import RealtimeBackend

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


async def async_run_realtime(
    backend: RealtimeBackend,
    turn: Turn,
    chat_log: conversation.ChatLog,
    *,
    config: RealtimeSessionConfig,
    first_delta_timeout: float,
) -> CloudResult:
    """Answer the turn on Realtime, running tool calls through the chat log.

    Raises a RealtimeError on failure. Returns with ``escalated`` set if the
    model called ``escalate_to_local``; nothing of that call enters the log
    (closing the stream cancels the cloud's response).
    """
    result = CloudResult()
    key = chat_log.conversation_id
    events: AsyncIterator[RealtimeEvent] = backend.respond(
        key,
        turn.user_input.text,
        config=config,
        history=history_of(chat_log),
        first_delta_timeout=first_delta_timeout,
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
        if step.escalate:
            tools.append(ESCALATE_TOOL)
        config = RealtimeSessionConfig(
            instructions=await self.context.async_instructions(
                prompt=agent.prompt,
                language=agent.language,
                escalate=step.escalate,
                with_devices=step.tools,
            ),
            output_modality="text",
            voice=agent.realtime_voice,
            tools=tuple(tools),
        )
        turn.on_cloud = True
        try:
            result = await async_run_realtime(
                backend, turn, chat_log, config=config, first_delta_timeout=step.budget
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
