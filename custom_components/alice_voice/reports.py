"""What a finished turn reports: its events, its summary for the HUD, its latencies.

The engine reports a turn in the loop iteration after its answer is returned,
so that neither automations nor the HUD keep the answer waiting.
"""

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant

from .events import fire_intent, fire_response
from .metrics import Histogram, Metrics
from .models import Turn
from .router import RoutePath, RouteReason
from .status import AgentStatusTracker, Latency, PathUse, TurnSummary


def turn_summary(turn: Turn, result: conversation.ConversationResult | None) -> TurnSummary:
    """The HUD's view of a finished turn; the words only when the agent allows it."""
    decision = turn.decision
    total = turn.total_ms
    latency = {Latency.END_TO_END.value: round(total, 1)}
    if decision is not None:
        latency[Latency.ROUTER.value] = round(turn.route_ms or 0.0, 3)
        thinking = decision.path is RoutePath.THINK or turn.escalated
        first = turn.elapsed_ms(turn.first_text_at) if turn.first_text_at is not None else total
        latency[(Latency.THINK if thinking else Latency.FAST).value] = round(first, 1)
    response = None
    if result is not None and turn.agent.event_transcripts:
        response = result.response.speech.get("plain", {}).get("speech")
    return TurnSummary(
        intent=decision.intent if decision else None,
        confidence=round(decision.confidence, 4) if decision else None,
        path=decision.path if decision else None,
        reason=decision.reason if decision else None,
        source=turn.source,
        tools=tuple(turn.tools_used),
        error=turn.error,
        escalated=turn.escalated,
        fallback_from=turn.fallback_from,
        latency_ms=latency,
        text=turn.user_input.text if turn.agent.event_transcripts else None,
        response=response,
        audio=turn.audio_features,
    )


HISTOGRAMS = {
    Latency.ROUTER: Histogram.ROUTING,
    Latency.FAST: Histogram.FAST,
    Latency.THINK: Histogram.THINK,
    Latency.END_TO_END: Histogram.END_TO_END,
}


def report_turn(
    hass: HomeAssistant,
    status: AgentStatusTracker,
    metrics: Metrics,
    turn: Turn,
    result: conversation.ConversationResult | None,
) -> TurnSummary:
    """Fire the finished turn's events, and put it in the agent's status and the metrics.

    A device command Home Assistant's intents carried out before routing fires its
    ``alice_voice_intent`` here, first; a routed turn fired it once it was routed.
    """
    if turn.decision is not None and turn.decision.reason is RouteReason.HA_INTENT_MATCH:
        fire_intent(hass, turn)
    fire_response(hass, turn, result)
    summary = turn_summary(turn, result)
    agent_id = turn.agent.subentry_id
    status.turn_finished(agent_id, summary)
    for kind, value in summary.latency_ms.items():
        metrics.observe(HISTOGRAMS[Latency(kind)], turn.entity_id, value)
    if summary.confidence is not None:
        metrics.set_confidence(turn.entity_id, summary.confidence)
    agent = status.agent(agent_id)
    metrics.set_path_usage(turn.entity_id, {path: agent.path_share(path) for path in PathUse})
    return summary
