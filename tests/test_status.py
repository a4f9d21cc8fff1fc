"""The agent status tracker that entities and diagnostics read."""

from custom_components.alice_voice.status import AgentStatusTracker, VoiceState


def test_listeners_and_snapshot() -> None:
    status = AgentStatusTracker()
    calls: list[str] = []
    remove = status.async_add_listener(lambda: calls.append("changed"))

    status.turn_started("agent")
    assert status.agent("agent").state == VoiceState.PROCESSING
    status.turn_finished("agent", duration_ms=12.5, error="ollama_timeout", source="local_ai")
    agent = status.agent("agent")
    assert (agent.state, agent.errors, agent.turns) == (VoiceState.ERROR, 1, 1)
    assert agent.last_error == "ollama_timeout"
    assert len(calls) == 2

    remove()
    remove()  # twice is harmless
    status.turn_started("agent")
    status.turn_finished("agent", duration_ms=3.0, error=None, route="fast", intent="GREETING")
    assert len(calls) == 2
    assert status.agent("agent").state == VoiceState.IDLE
    assert status.agent("agent").last_error == "ollama_timeout"  # kept until the next error

    snapshot = status.as_dict()
    assert snapshot["agent"]["last_turn_ms"] == 3.0
    assert snapshot["agent"]["state"] == "idle"
    assert snapshot["agent"]["last_route"] == "fast"
    assert isinstance(snapshot["agent"]["last_error_at"], str)
