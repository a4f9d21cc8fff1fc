"""What each agent is doing and how its last turn went, for entities and diagnostics.

One :class:`AgentStatusTracker` per config entry. The engine reports into it;
entities subscribe with :meth:`AgentStatusTracker.async_add_listener` and write
their state when it changes. Backend health is the coordinator's
(:mod:`.coordinator`). Error fields hold translation keys, never exception
texts, so nothing secret can reach an entity's state.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from homeassistant.core import CALLBACK_TYPE, callback


class VoiceState(StrEnum):
    """What an agent is doing (the assist_satellite words, plus error)."""

    IDLE = "idle"
    PROCESSING = "processing"
    RESPONDING = "responding"
    ERROR = "error"


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
class AgentStatusTracker:
    """The agents of one config entry, and who listens to them."""

    agents: dict[str, AgentStatus] = field(default_factory=dict)
    _listeners: list[Callable[[], None]] = field(default_factory=list)

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` on every change; return a function that unsubscribes."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def agent(self, agent_id: str) -> AgentStatus:
        """Return the status of agent ``agent_id``."""
        return self.agents.setdefault(agent_id, AgentStatus())

    @callback
    def turn_started(self, agent_id: str) -> None:
        """An agent started a turn."""
        self.agent(agent_id).state = VoiceState.PROCESSING
        self._notify()

    @callback
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
        return {name: jsonable(asdict(status)) for name, status in self.agents.items()}


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its datetimes as ISO strings."""
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in data.items()
    }
