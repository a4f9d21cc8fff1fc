"""The think path: the local Ollama model with Home Assistant's tools.

A bounded tool loop: each round streams one assistant message from Ollama
into the chat log (so the Assist pipeline can start speaking early), Home
Assistant runs the tool calls as they arrive, and the next round sends the
results back, until the model answers without calling a tool. If no answer
text has arrived within the agent's think budget, Alice says she is checking
(a phrase the listener hears and the model never sees), and the answer follows.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
import json
from typing import Any, Final

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
from homeassistant.helpers.json import json_dumps

from ..backends.ollama import (
    ChatChunk,
    ModelInfo,
    OllamaError,
    OllamaModelNotFoundError,
    OllamaTimeoutError,
    format_keep_alive,
    think_value,
)
from ..claims import ClaimCheck
from ..const import LOGGER, MAX_TOOL_ITERATIONS, Backend
from ..coordinator import AliceVoiceCoordinator
from ..errors import AliceVoiceTurnError, ollama_turn_error
from ..guardrails import Guardrails
from ..helpers import host_of
from ..llm_data import LLMDataProvider
from ..models import ThinkSettings, Turn
from ..phrases import phrase
from ..results import model_answer
from . import Step
from .tool_specs import ToolSpecs


def convert_content(content: conversation.Content) -> dict[str, Any]:
    """Turn one chat-log entry into an Ollama message."""
    if isinstance(content, conversation.ToolResultContent):
        return {
            "role": "tool",
            "tool_name": content.tool_name,
            "content": json_dumps({"data": content.result.data, "error": content.result.error}),
        }
    if isinstance(content, conversation.AssistantContent):
        message: dict[str, Any] = {"role": "assistant", "content": content.content or ""}
        if content.tool_calls:
            message["tool_calls"] = [
                {"function": {"name": call.tool_name, "arguments": call.tool_args}}
                for call in content.tool_calls
            ]
        return message
    # System and user content: prior thinking is not sent back, it only costs tokens.
    return {"role": content.role, "content": content.content or ""}


def trim_history(messages: list[dict[str, Any]], max_turns: int) -> list[dict[str, Any]]:
    """Keep the system prompt and the last ``max_turns`` turns before the current one.

    A turn starts at a user message, so the cut never separates a tool call
    from its result. ``max_turns`` < 1 keeps everything.
    """
    if max_turns < 1:
        return messages
    user_indexes = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if len(user_indexes) <= max_turns + 1:
        return messages
    start = user_indexes[-(max_turns + 1)]
    head = [m for m in messages[:1] if m["role"] == "system"]
    return head + messages[start:]


def strip_filler(messages: list[dict[str, Any]], filler: str) -> None:
    """Remove the filler from the start of the assistant's messages (this turn's or earlier)."""
    for message in messages:
        if message["role"] == "assistant" and message["content"].startswith(filler):
            message["content"] = message["content"][len(filler) :]


#: A whole think turn may take this many times the time allowed between two chunks.
TURN_TIMEOUT_FACTOR: Final = 4


@dataclass(slots=True)
class ThinkResult:
    """What one run of the tool loop did."""

    tools_used: list[str] = field(default_factory=list)
    first_text_at: float | None = None  # loop time of the first answer text


class ToolLoop:
    """The local model's tool loop over one chat log."""

    def __init__(
        self, coordinator: AliceVoiceCoordinator, settings: ThinkSettings, tool_specs: ToolSpecs
    ) -> None:
        """Initialize with the coordinator (its Ollama client), settings and tool specs."""
        self.coordinator = coordinator
        self.settings = settings
        self.tool_specs = tool_specs

    def _error(self, err: OllamaError) -> AliceVoiceTurnError:
        if isinstance(err, OllamaModelNotFoundError):
            # Removed from the server since the model was looked up: tell the user how to fix it.
            self.coordinator.report_model_missing(self.settings.model)
        return ollama_turn_error(
            err, host=host_of(self.coordinator.ollama.host), model=self.settings.model
        )

    async def async_run(
        self,
        agent_id: str,
        chat_log: conversation.ChatLog,
        *,
        budget: float | None = None,
        filler: str | None = None,
        should_stop: Callable[[], bool] | None = None,
        claims: ClaimCheck | None = None,
        on_text: Callable[[float], None] | None = None,
    ) -> ThinkResult:
        """Run the loop until the model answers; raise AliceVoiceTurnError on failure.

        ``filler`` is streamed when the first round has no answer text after
        ``budget`` seconds. ``should_stop`` is asked after each round (a
        guardrail may have taken the turn over). ``claims`` holds answer text
        back until a tool has acted (see :mod:`..claims`).
        """
        settings = self.settings
        try:
            info = await self.coordinator.async_model_info(settings.model)
        except OllamaError as err:
            raise self._error(err) from err
        tools: list[dict[str, Any]] | None = None
        if chat_log.llm_api is not None and info.supports_tools:
            tools = self.tool_specs.specs(
                chat_log.llm_api.tools, chat_log.llm_api.custom_serializer
            )
        result = ThinkResult()
        try:
            # However steadily the model streams, a turn ends: a stream that never
            # finishes is cut after this many times the time allowed between chunks.
            async with asyncio.timeout(settings.timeout * TURN_TIMEOUT_FACTOR):
                return await self._async_rounds(
                    agent_id,
                    chat_log,
                    info,
                    tools,
                    result,
                    budget=budget,
                    filler=filler,
                    should_stop=should_stop,
                    claims=claims,
                    on_text=on_text,
                )
        except TimeoutError as err:
            LOGGER.warning("The model %s did not finish its answer in time", settings.model)
            raise self._error(
                OllamaTimeoutError("the answer did not finish in time", model=settings.model)
            ) from err

    async def _async_rounds(
        self,
        agent_id: str,
        chat_log: conversation.ChatLog,
        info: ModelInfo,
        tools: list[dict[str, Any]] | None,
        result: ThinkResult,
        *,
        budget: float | None,
        filler: str | None,
        should_stop: Callable[[], bool] | None,
        claims: ClaimCheck | None,
        on_text: Callable[[float], None] | None,
    ) -> ThinkResult:
        settings = self.settings
        for rounds in range(1, MAX_TOOL_ITERATIONS + 1):
            messages = trim_history(
                [convert_content(c) for c in chat_log.content], settings.max_history
            )
            if filler:
                # The filler was for the listener: the model does not see it as its words.
                strip_filler(messages, f"{filler} ")
            stream = self.coordinator.ollama.chat(
                settings.model,
                messages,
                tools=tools,
                think=think_value(info, settings.think_level),
                keep_alive=format_keep_alive(settings.keep_alive),
                options=settings.model_options,
                chunk_timeout=settings.timeout,
            )
            added = 0
            try:
                deltas = self._deltas(
                    stream,
                    result,
                    tools_allowed=tools is not None,
                    budget=budget if rounds == 1 else None,
                    filler=filler,
                    claims=claims,
                    on_text=on_text,
                )
                async for content in chat_log.async_add_delta_content_stream(agent_id, deltas):
                    added += 1
                    self._record(content, result)
            except OllamaError as err:
                raise self._error(err) from err
            # Done when the model answered without tools, or went quiet.
            if not added or not chat_log.unresponded_tool_results:
                return result
            if should_stop is not None and should_stop():
                return result
        LOGGER.warning(
            "The model %s kept calling tools for %d rounds; stopping",
            settings.model,
            MAX_TOOL_ITERATIONS,
        )
        raise AliceVoiceTurnError("tool_loop", {"rounds": str(MAX_TOOL_ITERATIONS)})

    @staticmethod
    def _record(
        content: conversation.AssistantContent | conversation.ToolResultContent, result: ThinkResult
    ) -> None:
        if isinstance(content, conversation.ToolResultContent):
            result.tools_used.append(content.tool_name)
            if content.result.error:
                LOGGER.warning(
                    "Tool %s failed: %s",
                    content.tool_name,
                    json.dumps(content.result.data, default=str)[:300],
                )

    @staticmethod
    async def _deltas(
        stream: AsyncIterator[ChatChunk],
        result: ThinkResult,
        *,
        tools_allowed: bool,
        budget: float | None = None,
        filler: str | None = None,
        claims: ClaimCheck | None = None,
        on_text: Callable[[float], None] | None = None,
    ) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
        """Turn Ollama chunks into chat-log deltas (one assistant message).

        ``on_text`` is told when the first words go out (the filler counts).
        """
        yield {"role": "assistant"}
        loop = asyncio.get_running_loop()

        def first_words() -> None:
            if on_text is not None:
                on_text(loop.time())

        deadline = None if budget is None or not filler else loop.time() + budget
        held: list[str] | None = [] if claims is not None and claims.holds() else None
        called = False
        iterator = aiter(stream)
        while True:
            next_chunk = asyncio.ensure_future(anext(iterator, None))
            try:
                if deadline is not None:
                    done, _ = await asyncio.wait({next_chunk}, timeout=deadline - loop.time())
                    if not done:
                        # Over budget without answer text: say something now.
                        deadline = None
                        first_words()
                        yield {"content": f"{filler} "}
                chunk = await next_chunk
            finally:
                next_chunk.cancel()
            if chunk is None:
                if held and claims is not None:
                    text = claims.release("".join(held), with_tool_calls=called)
                    if result.first_text_at is None:
                        result.first_text_at = loop.time()
                    first_words()
                    yield {"content": text}
                return
            delta: conversation.AssistantContentDeltaDict = {}
            if chunk.thinking:
                delta["thinking_content"] = chunk.thinking
            if chunk.content and held is not None:
                held.append(chunk.content)  # said once it is known to be true
            elif chunk.content:
                delta["content"] = chunk.content
                deadline = None
                if result.first_text_at is None:
                    result.first_text_at = loop.time()
                first_words()
            if chunk.tool_calls:
                deadline = None
                called = True
                if tools_allowed:
                    delta["tool_calls"] = [
                        llm.ToolInput(tool_name=call.name, tool_args=call.arguments)
                        for call in chunk.tool_calls
                    ]
                else:
                    LOGGER.warning(
                        "Ignoring tool calls from a model that was offered no tools: %s",
                        ", ".join(call.name for call in chunk.tool_calls),
                    )
            if delta:
                yield delta


class ThinkPath:
    """Answer with the local model; report its health to the coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: AliceVoiceCoordinator,
        guardrails: Guardrails,
        llm_data: LLMDataProvider,
    ) -> None:
        """Initialize."""
        self.hass = hass
        self.coordinator = coordinator
        self.guardrails = guardrails
        self.llm_data = llm_data
        self.tool_specs = ToolSpecs()  # the tools' specs, converted once for every turn

    async def async_answer(
        self, turn: Turn, chat_log: conversation.ChatLog, step: Step
    ) -> conversation.ConversationResult | None:
        """Think: None when a guardrail took the turn over, else the model's answer."""
        agent = turn.agent
        coordinator = self.coordinator
        if coordinator.is_down(Backend.OLLAMA):
            # Known to be down: fail at once, with no timeout paid.
            raise AliceVoiceTurnError(
                "ollama_unreachable",
                {"host": host_of(coordinator.ollama.host)},
                fallback_ok=True,
            )
        await self.llm_data.async_provide(
            turn, chat_log, self.guardrails.tool_guard(turn), live_context=True
        )
        try:
            result = await ToolLoop(coordinator, agent.think, self.tool_specs).async_run(
                turn.entity_id,
                chat_log,
                budget=step.budget,
                filler=phrase(agent.language, "checking"),
                should_stop=lambda: turn.pending is not None,
                claims=ClaimCheck(turn, chat_log),
                on_text=turn.text_started,
            )
        except AliceVoiceTurnError as err:
            if err.backend is not None:
                coordinator.report_failure(err.backend, err.key)
            raise
        coordinator.report_ok(Backend.OLLAMA)
        coordinator.mark_warm(agent)
        turn.tools_used.extend(result.tools_used)
        if turn.pending is not None:
            return None
        turn.text_started(result.first_text_at)
        return model_answer(turn, chat_log)
