"""The agent status tracker that entities, the card and diagnostics read."""

from custom_components.alice_voice.status import (
    AgentStatusTracker,
    Latency,
    LatencyWindow,
    PathUse,
    TurnSummary,
    VoiceState,
)


def summary(**changes: object) -> TurnSummary:
    values: dict[str, object] = {
        "intent": "GREETING",
        "confidence": 0.97,
        "path": "fast",
        "reason": "simple_intent",
        "source": "openai_realtime",
        "tools": (),
        "error": None,
        "escalated": False,
        "fallback_from": None,
        "latency_ms": {"router": 0.2, "fast": 250.0, "end_to_end": 300.0},
    }
    values.update(changes)
    return TurnSummary(**values)  # type: ignore[arg-type]


def test_states_listeners_and_snapshot() -> None:
    status = AgentStatusTracker()
    calls: list[str] = []
    remove = status.async_add_listener(calls.append)

    status.turn_started("agent")
    status.turn_started("agent")  # no change: nobody is told
    status.responding("agent")
    assert status.agent("agent").state is VoiceState.RESPONDING
    status.turn_finished("agent", summary(error="ollama_timeout", source="local_ai"))
    agent = status.agent("agent")
    assert (agent.state, agent.errors, agent.turns) == (VoiceState.ERROR, 1, 1)
    assert agent.last_error == "ollama_timeout"
    assert calls == ["agent", "agent", "agent"]

    remove()
    remove()  # twice is harmless
    status.turn_started("agent")
    status.turn_finished("agent", summary(path="think", latency_ms={"think": 900.0}))
    assert len(calls) == 3
    assert status.agent("agent").state is VoiceState.IDLE
    assert status.agent("agent").last_error == "ollama_timeout"  # kept until the next error

    snapshot = status.as_dict()["agent"]
    assert snapshot["state"] == "idle"
    assert snapshot["last"]["path"] == "think"
    assert snapshot["latency_ms"]["fast"]["last"] == 250.0
    assert snapshot["latency_ms"]["think"]["p50"] == 900.0
    assert snapshot["path_share"] == {"fast": 50.0, "think": 50.0, "hybrid": 0.0, "escalated": 0.0}
    assert isinstance(snapshot["last_error_at"], str)


def test_satellites() -> None:
    status = AgentStatusTracker()
    calls: list[str] = []
    status.async_add_listener(calls.append)
    status.satellite_state("assist_satellite.kok", VoiceState.LISTENING)
    status.satellite_state("assist_satellite.kok", VoiceState.LISTENING)
    assert calls == ["assist_satellite.kok"]
    assert status.satellites == {"assist_satellite.kok": VoiceState.LISTENING}


def test_latency_window_percentiles() -> None:
    window = LatencyWindow()
    assert window.percentile(50) is None
    for value in range(1, 151):  # only the last 100 stay: 51..150
        window.add(float(value))
    assert len(window) == 100
    assert window.percentile(50) == 100.0
    assert window.percentile(95) == 145.0
    assert window.last == 150.0


def test_path_share_counts_escalations_apart() -> None:
    status = AgentStatusTracker()
    assert status.agent("a").path_share(PathUse.FAST) is None
    status.turn_finished("a", summary(path="hybrid", escalated=True, latency_ms={}))
    status.turn_finished("a", summary(path="fast", latency_ms={}))
    agent = status.agent("a")
    assert agent.path_share(PathUse.HYBRID) == 50.0
    assert agent.path_share(PathUse.ESCALATED) == 50.0
    assert len(agent.latency[Latency.END_TO_END]) == 0
