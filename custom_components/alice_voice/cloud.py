"""The cloud path: OpenAI Realtime answers, streamed into the chat log.

Text in, text out (the voice path adds audio later). Sessions are kept warm
per conversation key by :class:`RealtimeBackend`, so a second turn pays no
handshake. Home Assistant tools can be offered as function calls; their
results go back as ``function_call_output`` items followed by one
``response.create``. In the hybrid path the model gets one more tool,
``escalate_to_local``: calling it hands the turn to the local model.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import conversation
from homeassistant.helpers import llm
from homeassistant.helpers.json import json_dumps
import probatio

from .backends.realtime_types import (
    ContextMessage,
    RealtimeEvent,
    RealtimeFunctionCall,
    RealtimeResponseDone,
    RealtimeSessionConfig,
    RealtimeTextDelta,
    RealtimeTool,
    RealtimeUsage,
)
from .const import MAX_TOOL_ITERATIONS

if TYPE_CHECKING:
    from .backends.realtime import RealtimeBackend

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
    escalation_reason: str | None = None
    rounds: int = 0
    tools_used: list[str] = field(default_factory=list)
    new_session: bool = False
    first_text_at: float | None = None
    usage: list[RealtimeUsage] = field(default_factory=list)


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


class CloudPath:
    """Run a turn on OpenAI Realtime."""

    def __init__(self, backend: RealtimeBackend) -> None:
        """Initialize with the backend for the agent's Realtime model."""
        self.backend = backend

    async def async_run(
        self,
        agent_id: str,
        key: str,
        text: str,
        chat_log: conversation.ChatLog,
        *,
        config: RealtimeSessionConfig,
        first_delta_timeout: float,
        should_stop: Callable[[], bool] | None = None,
    ) -> CloudResult:
        """Answer ``text``; raise a RealtimeError on failure.

        Home Assistant tools in ``config.tools`` run through ``chat_log`` (its
        LLM API guards them). Returns with ``escalated`` set if the model
        called ``escalate_to_local``; nothing of that call enters the log.
        """
        result = CloudResult()
        events: AsyncIterator[RealtimeEvent] = self.backend.respond(
            key,
            text,
            config=config,
            history=history_of(chat_log),
            first_delta_timeout=first_delta_timeout,
        )
        for _ in range(MAX_TOOL_ITERATIONS):
            result.rounds += 1
            async with contextlib.aclosing(events) as stream:  # type: ignore[type-var]
                async for content in chat_log.async_add_delta_content_stream(
                    agent_id, self._deltas(stream, result)
                ):
                    if isinstance(content, conversation.ToolResultContent):
                        result.tools_used.append(content.tool_name)
            if result.escalated:
                # Closing the stream above cancelled the cloud's response.
                return result
            if not chat_log.unresponded_tool_results or (should_stop and should_stop()):
                return result
            events = self.backend.submit_tool_outputs(
                key, _tool_outputs(chat_log), first_delta_timeout=first_delta_timeout
            )
        return result

    @staticmethod
    async def _deltas(
        stream: AsyncIterator[RealtimeEvent], result: CloudResult
    ) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
        yield {"role": "assistant"}
        loop = asyncio.get_running_loop()
        async for event in stream:
            if isinstance(event, RealtimeTextDelta):
                if event.text:
                    if result.first_text_at is None:
                        result.first_text_at = loop.time()
                    yield {"content": event.text}
            elif isinstance(event, RealtimeFunctionCall):
                if event.name == ESCALATE_TOOL_NAME:
                    result.escalated = True
                    result.escalation_reason = str(event.arguments.get("reason") or "") or None
                    return
                yield {
                    "tool_calls": [
                        llm.ToolInput(
                            tool_name=event.name, tool_args=event.arguments, id=event.call_id
                        )
                    ]
                }
            elif isinstance(event, RealtimeResponseDone):
                result.new_session = result.new_session or event.new_session
                if event.usage is not None:
                    result.usage.append(event.usage)


def _tool_outputs(chat_log: conversation.ChatLog) -> list[tuple[str, str]]:
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


__all__ = [
    "ESCALATE_TOOL",
    "ESCALATE_TOOL_NAME",
    "CloudPath",
    "CloudResult",
    "history_of",
    "realtime_tool",
]
