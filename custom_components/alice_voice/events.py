"""Alice's bus events, typed: what she heard (``alice_voice_intent``) and how she answered.

Automations and blueprints trigger on them; :mod:`.logbook` describes them.
Neither carries what was said unless the agent's "put the words in events"
option is on, and neither ever carries a key.

``alice_voice_intent`` is fired once a turn is routed; ``alice_voice_tool_result``
each time a model's tool call has run; ``alice_voice_response`` in the loop
iteration after the turn's answer (or failure) is returned, so the answer never
waits for automations. A device command Home Assistant's intents carried out
before routing fires its ``alice_voice_intent`` then too, just before the
response. Latencies are in milliseconds, up to the answer's return.
"""

import json
from typing import Any, Final, NotRequired, TypedDict

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from homeassistant.util.event_type import EventType

from .models import Turn


class IntentEventData(TypedDict):
    """``alice_voice_intent``: how a turn was routed."""

    agent_id: str
    intent: str
    confidence: float
    path: str
    reason: str
    language: str
    slots: dict[str, Any]
    conversation_id: str | None
    device_id: str | None
    satellite_id: str | None
    route_ms: float
    text: NotRequired[str]


class LatencyData(TypedDict):
    """A turn's latencies in milliseconds (None when it did not get that far)."""

    route: float | None
    first_text: float | None
    total: float


class ResponseEventData(TypedDict):
    """``alice_voice_response``: who answered a turn, how fast, and whether it worked."""

    agent_id: str
    source: str
    success: bool
    error: str | None  # the message's translation key
    fallback_from: str | None  # the backend that failed before another answered
    escalated: bool  # the cloud handed the turn to the local model
    unconfirmed_claim: bool  # a model claimed an action no tool did; Alice said so instead
    speculative: bool  # the answer was begun from the audio before the transcript was done
    tools: list[str]
    conversation_id: str | None
    device_id: str | None
    satellite_id: str | None
    latency_ms: LatencyData
    text: NotRequired[str]
    response: NotRequired[str | None]


class ToolResultEventData(TypedDict):
    """``alice_voice_tool_result``: one tool call a model made, and how it went."""

    agent_id: str | None  # None when another agent called one of Alice's tools
    tool: str
    status: str  # "ok" or "error"
    result: str  # a short summary: what was done or found, never a message body
    execution_time_ms: float


#: Slots that hold what was said (a message, its subject, a search, a list item): they
#: are in ``alice_voice_intent`` only when the agent's "put the words in events" option is on.
WORDS_SLOTS: Final = frozenset({"message", "subject", "query", "artist", "item"})

EVENT_INTENT: Final[EventType[IntentEventData]] = EventType("alice_voice_intent")
EVENT_RESPONSE: Final[EventType[ResponseEventData]] = EventType("alice_voice_response")
EVENT_TOOL_RESULT: Final[EventType[ToolResultEventData]] = EventType("alice_voice_tool_result")
MAX_SUMMARY_CHARS: Final = 200


def fire_intent(hass: HomeAssistant, turn: Turn) -> None:
    """Fire ``alice_voice_intent`` for a routed turn."""
    decision = turn.decision
    assert decision is not None
    data: IntentEventData = {
        "agent_id": turn.entity_id,
        "intent": decision.intent,
        "confidence": round(decision.confidence, 4),
        "path": decision.path,
        "reason": decision.reason,
        "language": decision.language,
        "slots": {
            name: value
            for name, value in decision.slots.items()
            if turn.agent.event_transcripts or name not in WORDS_SLOTS
        },
        "conversation_id": turn.conversation_id,
        "device_id": turn.user_input.device_id,
        "satellite_id": turn.user_input.satellite_id,
        "route_ms": round(turn.route_ms or 0.0, 3),
    }
    if turn.agent.event_transcripts:
        data["text"] = turn.user_input.text
    hass.bus.async_fire(EVENT_INTENT, data, context=turn.user_input.context)


def fire_response(
    hass: HomeAssistant, turn: Turn, result: conversation.ConversationResult | None
) -> None:
    """Fire ``alice_voice_response`` for a finished turn."""
    data: ResponseEventData = {
        "agent_id": turn.entity_id,
        "source": turn.source,
        "success": turn.error is None,
        "error": turn.error,
        "fallback_from": turn.fallback_from,
        "escalated": turn.escalated,
        "unconfirmed_claim": turn.unconfirmed_claim,
        "speculative": turn.speculative,
        "tools": list(turn.tools_used),
        "conversation_id": turn.conversation_id,
        "device_id": turn.user_input.device_id,
        "satellite_id": turn.user_input.satellite_id,
        "latency_ms": {
            "route": round(turn.route_ms, 3) if turn.route_ms is not None else None,
            "first_text": round(turn.elapsed_ms(turn.first_text_at), 1)
            if turn.first_text_at is not None
            else None,
            "total": round(turn.total_ms, 1),
        },
    }
    if turn.agent.event_transcripts:
        data["text"] = turn.user_input.text
        if result is not None:
            data["response"] = result.response.speech.get("plain", {}).get("speech")
    hass.bus.async_fire(EVENT_RESPONSE, data, context=turn.user_input.context)


def summarize_result(result: llm.ToolResult) -> str:
    """A short summary of a tool's result for events: its own summary, or what it did."""
    data = result.data
    for key in ("summary", "message"):
        if isinstance(text := data.get(key), str):
            return text[:MAX_SUMMARY_CHARS]
    if isinstance(inner := data.get("data"), dict) and isinstance(
        success := inner.get("success"), list
    ):
        # Home Assistant's intent tools: the targets they acted on.
        names = [str(t.get("name")) for t in success if isinstance(t, dict)]
        return f"{data.get('response_type', '')}: {', '.join(names)}"[:MAX_SUMMARY_CHARS]
    return json.dumps(data, default=str, ensure_ascii=False)[:MAX_SUMMARY_CHARS]


def fire_tool_result(
    hass: HomeAssistant,
    *,
    agent_id: str | None,
    tool: str,
    result: llm.ToolResult,
    execution_time_ms: float,
    context: Context | None,
) -> None:
    """Fire ``alice_voice_tool_result`` for one tool call."""
    data: ToolResultEventData = {
        "agent_id": agent_id,
        "tool": tool,
        "status": "error" if result.error else "ok",
        "result": summarize_result(result),
        "execution_time_ms": round(execution_time_ms, 1),
    }
    hass.bus.async_fire(EVENT_TOOL_RESULT, data, context=context)
