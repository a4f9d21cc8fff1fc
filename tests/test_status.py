"""The status tracker that entities and diagnostics read."""

from custom_components.alice_voice.status import AliceVoiceStatus, BackendState, VoiceState


def test_listeners_and_snapshot() -> None:
    status = AliceVoiceStatus()
    calls: list[str] = []
    remove = status.add_listener(lambda: calls.append("changed"))

    status.turn_started("agent")
    assert status.agent("agent").state == VoiceState.PROCESSING
    status.backend_failed("ollama", "ollama_unreachable")
    status.backend_failed("ollama", "ollama_timeout")
    health = status.backend("ollama")
    assert health.state == BackendState.DOWN
    assert health.consecutive_failures == 2
    assert health.last_error == "ollama_timeout"
    status.turn_finished("agent", duration_ms=12.5, error="ollama_timeout")
    assert status.agent("agent").errors == 1
    assert len(calls) == 4

    remove()
    remove()  # twice is harmless
    status.backend_ok("ollama")
    assert len(calls) == 4
    assert status.backend("ollama").consecutive_failures == 0

    snapshot = status.as_dict()
    assert snapshot["backends"]["ollama"]["state"] == "ok"
    assert isinstance(snapshot["backends"]["ollama"]["last_error_at"], str)
    assert snapshot["agents"]["agent"]["last_turn_ms"] == 12.5
    assert snapshot["agents"]["agent"]["state"] == "error"
