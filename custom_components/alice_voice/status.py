"""What Alice is doing and how her backends are, for entities and diagnostics.

One :class:`AliceVoiceStatus` per config entry. The turn engine reports into
it; entities subscribe with :meth:`AliceVoiceStatus.add_listener` and write
their state when it changes. Error fields hold translation keys, never raw
exception texts, so nothing secret can leak into entity state.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class VoiceState(StrEnum):
    """What an agent is doing (the assist_satellite words, plus error)."""

    IDLE = "idle"
    PROCESSING = "processing"
    RESPONDING = "responding"
    ERROR = "error"


class BackendState(StrEnum):
    """Health of a backend."""

    UNKNOWN = "unknown"
    OK = "ok"
    DOWN = "down"


@dataclass(slots=True)
class BackendHealth:
    """Health of one backend (``ollama`` or ``openai``)."""

    state: BackendState = BackendState.UNKNOWN
    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None


@dataclass(slots=True)
class AgentStatus:
    """The latest turn of one agent (conversation subentry)."""

    state: VoiceState = VoiceState.IDLE
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_turn_ms: float | None = None
    last_source: str | None = None
    last_route: str | None = None
    last_intent: str | None = None
    turns: int = 0
    errors: int = 0


@dataclass(slots=True)
class AliceVoiceStatus:
    """Backend health and agent states of one config entry."""

    backends: dict[str, BackendHealth] = field(default_factory=dict)
    agents: dict[str, AgentStatus] = field(default_factory=dict)
    failures_before_down: int = 3
    _listeners: list[Callable[[], None]] = field(default_factory=list)

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` on every change; return a function that unsubscribes."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def backend(self, name: str) -> BackendHealth:
        """Return the health record of ``name``."""
        return self.backends.setdefault(name, BackendHealth())

    def agent(self, agent_id: str) -> AgentStatus:
        """Return the status of agent ``agent_id``."""
        return self.agents.setdefault(agent_id, AgentStatus())

    def is_down(self, name: str) -> bool:
        """Whether ``name`` failed often enough in a row to be skipped until a probe works."""
        health = self.backends.get(name)
        return (
            health is not None
            and health.state is BackendState.DOWN
            and health.consecutive_failures >= self.failures_before_down
        )

    def backend_ok(self, name: str) -> None:
        """Record a successful call to ``name``."""
        health = self.backend(name)
        health.state = BackendState.OK
        health.consecutive_failures = 0
        health.last_ok_at = datetime.now(UTC)
        self._notify()

    def backend_failed(self, name: str, reason: str) -> None:
        """Record a failed call to ``name`` (``reason`` is a translation key)."""
        health = self.backend(name)
        health.state = BackendState.DOWN
        health.consecutive_failures += 1
        health.last_error = reason
        health.last_error_at = datetime.now(UTC)
        self._notify()

    def turn_started(self, agent_id: str) -> None:
        """An agent started a turn."""
        self.agent(agent_id).state = VoiceState.PROCESSING
        self._notify()

    def turn_finished(
        self,
        agent_id: str,
        *,
        duration_ms: float,
        error: str | None,
        source: str | None = None,
        route: str | None = None,
        intent: str | None = None,
    ) -> None:
        """An agent finished a turn, with the error's translation key if it failed."""
        status = self.agent(agent_id)
        status.turns += 1
        status.last_turn_ms = duration_ms
        status.last_source = source
        status.last_route = route
        status.last_intent = intent
        if error is None:
            status.state = VoiceState.IDLE
        else:
            status.state = VoiceState.ERROR
            status.errors += 1
            status.last_error = error
            status.last_error_at = datetime.now(UTC)
        self._notify()

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly snapshot (for diagnostics)."""
        return {
            "backends": {name: _jsonable(asdict(h)) for name, h in self.backends.items()},
            "agents": {name: _jsonable(asdict(a)) for name, a in self.agents.items()},
        }


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in data.items()
    }
