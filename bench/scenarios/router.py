"""Scenario 1: the intent router on its own (no Home Assistant)."""

import gc
import json
from pathlib import Path
import time
import tracemalloc
from typing import Final

from bench.harness import Context, ScenarioResult, ms, percentile, scenario, summary

GOLD: Final = [
    Path(__file__).parents[2] / "tests" / "data" / f"router_{kind}_{lang}.jsonl"
    for kind in ("gold", "spoken")
    for lang in ("sv", "en")
]


def gold_texts() -> list[tuple[str, str]]:
    """(text, language) of every line of the gold set and the spoken-style set."""
    texts: list[tuple[str, str]] = []
    for path in GOLD:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append((str(row["text"]), str(row.get("language") or "sv")))
    return texts


@scenario("router", "1 Router", order=1)
async def run(ctx: Context) -> ScenarioResult:
    """route() latency over the gold and spoken-style sets, model load time and memory."""
    from custom_components.alice_voice.router import IntentRouter, RouterModel

    result = ScenarioResult("router", "1 Router")
    loads = 3 if ctx.quick else 10
    load_times: list[float] = []
    for _ in range(loads):
        gc.collect()
        started = time.perf_counter()
        model = RouterModel.load()
        load_times.append(time.perf_counter() - started)
    gc.collect()
    tracemalloc.start()
    model = RouterModel.load()
    traced_current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    router = IntentRouter(model=model)
    texts = gold_texts()
    context = {
        "previous_intent": None,
        "now": "2026-11-25T10:00:00+01:00",
        "time_zone": "Europe/Stockholm",
    }
    # First pass: the router's word cache is cold, as after a restart.
    first_pass: list[float] = []
    for text, language in texts:
        started = time.perf_counter_ns()
        router.route(text, context={**context, "language": language})
        first_pass.append((time.perf_counter_ns() - started) / 1e9)
    passes = 5 if ctx.quick else 20
    timings: list[float] = []
    for _ in range(passes):
        for text, language in texts:
            started = time.perf_counter_ns()
            router.route(text, context={**context, "language": language})
            timings.append((time.perf_counter_ns() - started) / 1e9)

    result.add("route() p50", ms(percentile(timings, 50)), note=f"{len(timings)} calls")
    result.add("route() p99", ms(percentile(timings, 99)), target=1.0, compare="<")
    result.add("route() max", ms(max(timings)))
    result.add(
        "route() p99, first pass (cold word cache)",
        ms(percentile(first_pass, 99)),
        target=1.0,
        compare="<",
    )
    result.add("RouterModel.load() p50", ms(percentile(load_times, 50)))
    result.add("model arrays (nbytes)", model.nbytes / 1e6, unit="MB")
    result.add("allocated by load (tracemalloc)", traced_current / 1e6, unit="MB")
    result.add("peak while loading (tracemalloc)", traced_peak / 1e6, unit="MB")
    result.details = {
        "texts": len(texts),
        "passes": passes,
        "route_ms": {k: ms(v) if k != "n" else v for k, v in summary(timings).items()},
        "first_pass_ms": {k: ms(v) if k != "n" else v for k, v in summary(first_pass).items()},
        "load_ms": [ms(t) for t in load_times],
    }
    return result
