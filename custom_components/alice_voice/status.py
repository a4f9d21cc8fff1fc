"""What each agent is doing and how its turns went: the HUD's data.

One :class:`AgentStatusTracker` per config entry. The engine reports into it
(a turn started, the first words are out, the turn is done); the status
entities, the card's websocket subscription and diagnostics read it, and are
told of every change through :meth:`AgentStatusTracker.async_add_listener`.

Per agent it keeps the voice state, the last turn (:class:`TurnSummary`),
latencies over the last :data:`WINDOW` turns (for p50/p95), how often each
path was taken, and the error count. Error fields hold translation keys,
never exception texts, and what was said is kept only when the agent's "put
the words in events" option allows it.
"""

import asyncio
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
import math
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, callback

WINDOW: Final = 100  # turns the latency percentiles look back over


class VoiceState(StrEnum):
    """What an agent is doing (the assist_satellite words, plus error)."""

    IDLE = "idle"
    LISTENING = "listening"
    PROCESSING = "processing"
    RESPONDING = "responding"
    ERROR = "error"


class Latency(StrEnum):
    """The latencies Alice measures per turn."""

    ROUTER = "router"  # classifying and routing
    FAST = "fast"  # to the first words, on a fast turn
    THINK = "think"  # to the first words, on a think turn (or an escalated one)
    END_TO_END = "end_to_end"  # the whole turn


class PathUse(StrEnum):
    """What path-usage percentages count."""

    FAST = "fast"
    THINK = "think"
    HYBRID = "hybrid"
    ESCALATED = "escalated"  # a hybrid turn the cloud handed to the local model


@dataclass(slots=True, frozen=True, kw_only=True)
class TurnSummary:
    """One finished turn, as the HUD shows it."""

    intent: str | None
    confidence: float | None
    path: str | None
    reason: str | None
    source: str
    tools: tuple[str, ...]
    error: str | None
    escalated: bool
    fallback_from: str | None
    latency_ms: dict[str, float]
    text: str | None = None  # only with the agent's "words in events" option
    response: str | None = None  # likewise
    #: How a voice turn was spoken (numbers only: duration, speaking rate, level, ...).
    audio: dict[str, float | int] | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class LatencyWindow:
    """The last :data:`WINDOW` values of one latency, with percentiles."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        """Start empty."""
        self._values: deque[float] = deque(maxlen=WINDOW)

    def add(self, value: float) -> None:
        """Record one turn's value (ms)."""
        self._values.append(value)

    def __len__(self) -> int:
        """How many values the window holds."""
        return len(self._values)

    @property
    def last(self) -> float | None:
        """The newest value."""
        return self._values[-1] if self._values else None

    def percentile(self, percent: float) -> float | None:
        """The nearest-rank percentile (None while empty)."""
        if not self._values:
            return None
        ordered = sorted(self._values)
        rank = max(1, math.ceil(percent / 100 * len(ordered)))
        return ordered[rank - 1]

    def values(self) -> list[float]:
        """The values, oldest first."""
        return list(self._values)


@dataclass(slots=True)
class AgentStatus:
    """One agent (conversation subentry): its state, its last turn and its history."""

    state: VoiceState = VoiceState.IDLE
    last: TurnSummary | None = None
    latency: dict[Latency, LatencyWindow] = field(
        default_factory=lambda: {kind: LatencyWindow() for kind in Latency}
    )
    paths: Counter[PathUse] = field(default_factory=Counter)
    turns: int = 0
    errors: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None

    def path_share(self, path: PathUse) -> float | None:
        """The share of routed turns that took ``path``, in percent (None before any)."""
        routed = sum(self.paths[p] for p in (PathUse.FAST, PathUse.THINK, PathUse.HYBRID))
        return round(100 * self.paths[path] / routed, 1) if routed else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly snapshot (diagnostics, the card)."""
        return {
            "state": self.state,
            "turns": self.turns,
            "errors": self.errors,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "last": jsonable(asdict(self.last)) if self.last else None,
            "latency_ms": {
                kind: {
                    "last": window.last,
                    "p50": window.percentile(50),
                    "p95": window.percentile(95),
                    "recent": window.values()[-30:],
                }
                for kind, window in self.latency.items()
            },
            "path_share": {path: self.path_share(path) for path in PathUse},
        }


@dataclass(slots=True)
class AgentStatusTracker:
    """The agents of one config entry, the satellites they talk to, and who listens."""

    agents: dict[str, AgentStatus] = field(default_factory=dict)
    satellites: dict[str, VoiceState] = field(default_factory=dict)
    satellite_agents: dict[str, str] = field(default_factory=dict)  # satellite -> its agent
    _listeners: list[Callable[[str], None]] = field(default_factory=list)
    _turn_listeners: list[Callable[[str], None]] = field(default_factory=list)
    _state_pending: set[str] = field(default_factory=set)  # state moves not told yet

    @callback
    def async_add_listener(
        self, listener: Callable[[str], None], *, turns_only: bool = False
    ) -> CALLBACK_TYPE:
        """Call ``listener(agent_or_satellite_id)`` on every change; return the unsubscriber.

        With ``turns_only`` it is called only when a turn finishes or a satellite
        appears, not on the voice state's moves (processing, responding) within a
        turn: what most status entities show changes only then, and a fast turn
        should not pay for rewriting them.
        """
        listeners = self._turn_listeners if turns_only else self._listeners
        listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return remove

    def _notify(self, key: str, *, state_only: bool = False) -> None:
        if state_only:
            self._notify_state_soon(key)
            return
        self._state_pending.discard(key)
        for listener in list(self._listeners):
            listener(key)
        for listener in list(self._turn_listeners):
            listener(key)

    def _notify_state_soon(self, key: str) -> None:
        """Tell the state's listeners in the next loop iteration, once however often it moved.

        A fast turn moves through processing and responding without waiting for the
        voice state sensor to be rewritten at each step.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a plain unit test): tell them now
            for listener in list(self._listeners):
                listener(key)
            return
        if key not in self._state_pending:
            self._state_pending.add(key)
            loop.call_soon(self._flush_state, key)

    def _flush_state(self, key: str) -> None:
        if key in self._state_pending:
            self._state_pending.discard(key)
            for listener in list(self._listeners):
                listener(key)

    def agent(self, agent_id: str) -> AgentStatus:
        """Return the status of agent ``agent_id`` (its subentry id)."""
        if (status := self.agents.get(agent_id)) is None:
            status = self.agents[agent_id] = AgentStatus()
        return status

    def _set_state(self, agent_id: str, state: VoiceState) -> None:
        status = self.agent(agent_id)
        if status.state is not state:
            status.state = state
            self._notify(agent_id, state_only=True)

    @callback
    def turn_started(self, agent_id: str) -> None:
        """An agent started a turn."""
        self._set_state(agent_id, VoiceState.PROCESSING)

    @callback
    def responding(self, agent_id: str) -> None:
        """The agent's first words are out."""
        self._set_state(agent_id, VoiceState.RESPONDING)

    @callback
    def turn_finished(self, agent_id: str, summary: TurnSummary) -> None:
        """An agent finished a turn (``summary.error`` holds the message key if it failed)."""
        status = self.agent(agent_id)
        status.turns += 1
        status.last = summary
        for kind, value in summary.latency_ms.items():
            status.latency[Latency(kind)].add(value)
        if summary.path is not None:
            status.paths[PathUse(summary.path)] += 1
        if summary.escalated:
            status.paths[PathUse.ESCALATED] += 1
        if summary.error is None:
            status.state = VoiceState.IDLE
        else:
            status.state = VoiceState.ERROR
            status.errors += 1
            status.last_error = summary.error
            status.last_error_at = summary.at
        self._notify(agent_id)

    @callback
    def satellite_seen(self, satellite_id: str, agent_id: str) -> None:
        """A satellite talked to agent ``agent_id`` (it gets a status sensor)."""
        if self.satellite_agents.get(satellite_id) != agent_id:
            self.satellite_agents[satellite_id] = agent_id
            self._notify(satellite_id)

    @callback
    def satellite_state(self, satellite_id: str, state: VoiceState) -> None:
        """A satellite that talks to Alice changed state."""
        if self.satellites.get(satellite_id) is not state:
            self.satellites[satellite_id] = state
            self._notify(satellite_id, state_only=True)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly snapshot (for diagnostics)."""
        return {name: status.as_dict() for name, status in self.agents.items()}


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its datetimes as ISO strings and its tuples as lists."""
    return {
        key: value.isoformat()
        if isinstance(value, datetime)
        else list(value)
        if isinstance(value, tuple)
        else value
        for key, value in data.items()
    }
