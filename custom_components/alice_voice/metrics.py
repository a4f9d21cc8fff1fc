"""Alice's key figures, kept as Prometheus metrics (``GET /api/alice_voice/metrics``).

The names are the design's KPIs:

* histograms ``voice_hybrid_intent_routing_latency_ms``,
  ``voice_hybrid_fast_response_latency_ms``, ``voice_hybrid_think_response_latency_ms``
  and ``voice_hybrid_end_to_end_latency_ms`` (labelled by ``agent``);
* gauges ``voice_hybrid_fast_path_usage_percent``,
  ``voice_hybrid_think_path_usage_percent``, ``voice_hybrid_hybrid_path_usage_percent``,
  ``voice_hybrid_hybrid_escalation_rate`` (percent of routed turns) and
  ``voice_hybrid_classification_confidence`` (the last turn's), per ``agent``;
* counters ``openai_api_errors``, ``local_ai_errors`` and
  ``websocket_connection_errors``.

Pure Python, no Home Assistant: one :class:`Metrics` per config entry, fed by
the engine and the coordinator, rendered in Prometheus' text exposition
format (version 0.0.4).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


class Histogram(StrEnum):
    """The latency histograms (milliseconds)."""

    ROUTING = "voice_hybrid_intent_routing_latency_ms"
    FAST = "voice_hybrid_fast_response_latency_ms"
    THINK = "voice_hybrid_think_response_latency_ms"
    END_TO_END = "voice_hybrid_end_to_end_latency_ms"


class ErrorCounter(StrEnum):
    """The error counters."""

    OPENAI = "openai_api_errors"
    LOCAL_AI = "local_ai_errors"
    WEBSOCKET = "websocket_connection_errors"


BUCKETS: Final[dict[Histogram, tuple[float, ...]]] = {
    Histogram.ROUTING: (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    Histogram.FAST: (50, 100, 200, 300, 500, 1000, 2000, 5000),
    Histogram.THINK: (250, 500, 1000, 2000, 3000, 5000, 10000, 30000),
    Histogram.END_TO_END: (100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000),
}
HELP: Final[dict[str, str]] = {
    Histogram.ROUTING: "Time the router took to classify and route an utterance.",
    Histogram.FAST: "Time to the first words of a fast-path answer.",
    Histogram.THINK: "Time to the first words of a think-path answer.",
    Histogram.END_TO_END: "Time from the utterance to the whole answer.",
    ErrorCounter.OPENAI: "Failed calls to OpenAI.",
    ErrorCounter.LOCAL_AI: "Failed calls to the local model (Ollama).",
    ErrorCounter.WEBSOCKET: "Realtime WebSocket connections that failed or broke off.",
    "voice_hybrid_classification_confidence": "The router's confidence in the last turn.",
}
#: Path-usage gauges: name -> the share they show (see :class:`.status.PathUse`).
PATH_GAUGES: Final = {
    "voice_hybrid_fast_path_usage_percent": "fast",
    "voice_hybrid_think_path_usage_percent": "think",
    "voice_hybrid_hybrid_path_usage_percent": "hybrid",
    "voice_hybrid_hybrid_escalation_rate": "escalated",
}
HELP.update(
    {
        "voice_hybrid_fast_path_usage_percent": "Share of routed turns on the fast path, percent.",
        "voice_hybrid_think_path_usage_percent": "Share of routed turns on the think path, percent.",
        "voice_hybrid_hybrid_path_usage_percent": "Share of routed turns on the hybrid path, percent.",
        "voice_hybrid_hybrid_escalation_rate": "Share of routed turns escalated to the local model, percent.",
    }
)


@dataclass(slots=True)
class _Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.total += value
        self.count += 1
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[index] += 1


def _escape(value: str) -> str:
    """A label value escaped as the text format wants it."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels.items()) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else f"{value:.1f}"


class Metrics:
    """The metrics of one config entry."""

    def __init__(self) -> None:
        """Start with nothing observed and every counter at zero."""
        self._histograms: dict[tuple[Histogram, str], _Histogram] = {}
        self._counters: dict[ErrorCounter, int] = dict.fromkeys(ErrorCounter, 0)
        self._confidence: dict[str, float] = {}
        self._paths: dict[str, dict[str, float]] = {}

    def observe(self, histogram: Histogram, agent: str, value_ms: float) -> None:
        """Record one latency of ``agent``."""
        key = (histogram, agent)
        if (collected := self._histograms.get(key)) is None:
            collected = self._histograms[key] = _Histogram(BUCKETS[histogram])
        collected.observe(value_ms)

    def count(self, counter: ErrorCounter) -> None:
        """Count one error."""
        self._counters[counter] += 1

    def set_confidence(self, agent: str, confidence: float) -> None:
        """The router's confidence in ``agent``'s last turn."""
        self._confidence[agent] = confidence

    def set_path_usage(self, agent: str, shares: Mapping[str, float | None]) -> None:
        """``agent``'s path-usage percentages."""
        self._paths[agent] = {path: share for path, share in shares.items() if share is not None}

    def counter(self, counter: ErrorCounter) -> int:
        """The current value of ``counter``."""
        return self._counters[counter]


def render(collections: Iterable[Metrics]) -> str:
    """The metrics of every entry, in Prometheus' text exposition format."""
    every = list(collections)
    lines: list[str] = []
    for histogram in Histogram:
        lines += _header(histogram, "histogram")
        for metrics in every:
            for (name, agent), collected in sorted(metrics._histograms.items()):
                if name is histogram:
                    lines += _histogram_lines(histogram, agent, collected)
    for gauge, path in PATH_GAUGES.items():
        lines += _header(gauge, "gauge")
        for metrics in every:
            for agent, shares in sorted(metrics._paths.items()):
                if (share := shares.get(path)) is not None:
                    lines.append(f"{gauge}{_labels({'agent': agent})} {_number(share)}")
    lines += _header("voice_hybrid_classification_confidence", "gauge")
    for metrics in every:
        for agent, confidence in sorted(metrics._confidence.items()):
            labels = _labels({"agent": agent})
            lines.append(f"voice_hybrid_classification_confidence{labels} {_number(confidence)}")
    for counter in ErrorCounter:
        # The 0.0.4 text format names a counter's family by its sample: "<name>_total".
        lines += _header(f"{counter}_total", "counter", help_key=counter)
        total = sum(metrics.counter(counter) for metrics in every)
        lines.append(f"{counter}_total {_number(total)}")
    return "\n".join(lines) + "\n"


def _header(name: str, kind: str, *, help_key: str | None = None) -> Iterable[str]:
    return [f"# HELP {name} {HELP[help_key or name]}", f"# TYPE {name} {kind}"]


def _histogram_lines(name: Histogram, agent: str, collected: _Histogram) -> list[str]:
    lines = [
        f"{name}_bucket{_labels({'agent': agent, 'le': _number(bound)})} {count}"
        for bound, count in zip(collected.buckets, collected.counts, strict=True)
    ]
    lines.append(f"{name}_bucket{_labels({'agent': agent, 'le': '+Inf'})} {collected.count}")
    lines.append(f"{name}_sum{_labels({'agent': agent})} {_number(collected.total)}")
    lines.append(f"{name}_count{_labels({'agent': agent})} {collected.count}")
    return lines
