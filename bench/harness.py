"""The benchmark harness: results, statistics, the scenario registry and the report.

A scenario is one async function registered with :func:`scenario`; it gets a
:class:`Context` (options such as ``--quick``) and returns a :class:`ScenarioResult`
holding :class:`Metric` rows. Adding a scenario is one decorated function in a
module imported by :mod:`bench.scenarios`.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
import math
import os
from pathlib import Path
import platform
import statistics
import sys
from typing import Any, Final, Literal

from .backends import Backends

type Verdict = Literal["PASS", "MISS", "info"]
type Comparison = Literal["<", "<=", "==", "info"]

RESULTS_DIR: Final = Path(__file__).parent / "results"


@dataclass(slots=True, kw_only=True)
class Metric:
    """One row of the table.

    ``value`` is Alice's figure, ``peer`` the same measure for the peer agent
    (None where there is none). With a peer, ``ratio`` = value / peer and the
    target applies to the ratio; without one it applies to the value.
    """

    scenario: str
    name: str
    value: float | None
    unit: str = "ms"
    peer: float | None = None
    peer_name: str | None = None
    target: float | None = None
    compare: Comparison = "info"
    target_on: Literal["value", "ratio"] = "value"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Alice / peer, when both are known and the peer is not zero."""
        if self.value is None or self.peer is None or self.peer == 0:
            return None
        return self.value / self.peer

    @property
    def verdict(self) -> Verdict:
        """PASS or MISS against the target; ``info`` for rows without one."""
        if self.compare == "info" or self.target is None:
            return "info"
        subject = self.ratio if self.target_on == "ratio" else self.value
        if subject is None or math.isnan(subject):
            return "MISS"
        if self.compare == "<":
            ok = subject < self.target
        elif self.compare == "<=":
            ok = subject <= self.target
        else:
            ok = subject == self.target
        return "PASS" if ok else "MISS"

    @property
    def target_text(self) -> str:
        """The target as written in the table, e.g. ``ratio ≤ 1.10``."""
        if self.compare == "info" or self.target is None:
            return ""
        symbol = {"<": "<", "<=": "≤", "==": "="}[self.compare]
        if self.target_on == "ratio":
            return f"ratio {symbol} {self.target:g}"
        return f"{symbol} {_number(self.target)} {self.unit}".rstrip()

    def as_dict(self) -> dict[str, Any]:
        """JSON form, with the derived ratio and verdict."""
        data = asdict(self)
        data.update(ratio=self.ratio, verdict=self.verdict, target_text=self.target_text)
        return data


@dataclass(slots=True)
class ScenarioResult:
    """What one scenario measured."""

    name: str
    title: str
    metrics: list[Metric] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    def add(self, name: str, value: float | None, **kwargs: Any) -> Metric:
        """Add a row to this scenario."""
        metric = Metric(scenario=self.name, name=name, value=value, **kwargs)
        self.metrics.append(metric)
        return metric

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "title": self.title,
            "seconds": round(self.seconds, 2),
            "error": self.error,
            "metrics": [m.as_dict() for m in self.metrics],
            "details": self.details,
        }


@dataclass(slots=True, frozen=True)
class Context:
    """Run options every scenario can read."""

    quick: bool = False
    load_seconds: float = 60.0
    seed: int = 1
    backends: Backends = field(default_factory=Backends)  # simulated unless --ollama-url / --openai


type ScenarioFunc = Callable[[Context], Awaitable[ScenarioResult]]


@dataclass(slots=True, frozen=True)
class Scenario:
    """A registered scenario."""

    name: str
    title: str
    func: ScenarioFunc
    order: int


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, title: str, *, order: int) -> Callable[[ScenarioFunc], ScenarioFunc]:
    """Register a scenario; ``order`` sorts the table (the issue's numbering)."""

    def register(func: ScenarioFunc) -> ScenarioFunc:
        SCENARIOS[name] = Scenario(name, title, func, order)
        return func

    return register


# --- statistics ----------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (linear interpolation); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99, max of ``values`` (for the JSON details)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def ms(seconds: float) -> float:
    """Seconds to milliseconds."""
    return seconds * 1000.0


# --- memory ----------------------------------------------------------------------------


def proc_status_kib(field_name: str) -> int | None:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM); None off Linux."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field_name}:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# --- machine info and report ------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU, cores, Python, Home Assistant version and the date of the run."""
    from datetime import UTC, datetime

    from homeassistant.const import __version__ as ha_version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "home_assistant": ha_version,
        "platform": platform.platform(),
    }


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "–"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _with_unit(value: float | None, unit: str) -> str:
    text = _number(value)
    return text if text == "–" or not unit else f"{text} {unit}"


def markdown_table(results: Iterable[ScenarioResult]) -> str:
    """The report table: scenario, metric, Alice, peer, ratio, target, verdict."""
    lines = [
        "| Scenario | Metric | Alice | Peer | Ratio | Target | Verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        if result.error:
            lines.append(f"| {result.title} | (failed) | {result.error} | | | | MISS |")
        for metric in result.metrics:
            peer = _with_unit(metric.peer, metric.unit) if metric.peer is not None else ""
            if metric.peer is not None and metric.peer_name:
                peer = f"{peer} ({metric.peer_name})"
            ratio = f"{metric.ratio:.2f}" if metric.ratio is not None else ""
            verdict = metric.verdict
            name = f"{metric.name} — {metric.note}" if metric.note else metric.name
            lines.append(
                f"| {result.title} | {name} | {_with_unit(metric.value, metric.unit)} | {peer} "
                f"| {ratio} | {metric.target_text} | {'' if verdict == 'info' else verdict} |"
            )
    return "\n".join(lines)


def verdict_counts(results: Iterable[ScenarioResult]) -> dict[str, int]:
    """How many rows passed and missed (a failed scenario counts as one miss)."""
    counts = {"PASS": 0, "MISS": 0}
    for result in results:
        if result.error:
            counts["MISS"] += 1
        for metric in result.metrics:
            if metric.verdict != "info":
                counts[metric.verdict] += 1
    return counts
