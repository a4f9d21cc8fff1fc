"""Scenario 6: ten concurrent conversations against Alice, 60 % fast and 40 % think turns.

Compared with the same mix run by a single user first: p95 per path, errors,
the resident memory Alice adds (her imports included: the baseline is read
before Alice is set up) and the event loop's lag.
"""

import asyncio
import contextlib
import gc
import random
import time
from typing import Any, Final, Self

from bench.harness import (
    Context,
    ScenarioResult,
    ms,
    percentile,
    proc_status_kib,
    scenario,
    summary,
)
from bench.home import BenchHome, LoopLag
from bench.scenarios.fast_local import COMMANDS
from bench.scenarios.think import MODEL, QUESTIONS, scripted_model

WORKERS: Final = 10
FAST_SHARE: Final = 0.6


class RssSampler:
    """Samples VmRSS every ``interval`` seconds; keeps the peak."""

    def __init__(self, interval: float = 0.05) -> None:
        """Start with the current RSS as the peak."""
        self.interval = interval
        self.peak_kib = proc_status_kib("VmRSS") or 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop sampling (taking one last sample)."""
        self.sample()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def sample(self) -> None:
        """Take one sample."""
        self.peak_kib = max(self.peak_kib, proc_status_kib("VmRSS") or 0)

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)


class GcPauses:
    """Durations of the garbage collector's runs (all threads), via ``gc.callbacks``."""

    def __init__(self) -> None:
        """Not yet listening."""
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info.get("generation", -1), time.perf_counter() - self._started))

    def __enter__(self) -> Self:
        """Start listening."""
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop listening."""
        gc.callbacks.remove(self._callback)


class Tally:
    """Turn times per path and the failures."""

    def __init__(self) -> None:
        """Start empty."""
        self.times: dict[str, list[float]] = {"fast": [], "think": []}
        self.errors: list[str] = []
        self.sources: dict[str, dict[str, int]] = {"fast": {}, "think": {}}

    async def turn(self, home: BenchHome, agent_id: str, kind: str, text: str) -> None:
        """Run and record one turn."""
        started = time.perf_counter()
        try:
            timing = await home.converse(agent_id, text)
        except Exception as err:  # noqa: BLE001 - every failure is counted, none stops the run
            self.errors.append(f"{kind}: {type(err).__name__}: {err}")
            return
        self.times[kind].append(time.perf_counter() - started)
        counts = self.sources[kind]
        counts[str(timing.source)] = counts.get(str(timing.source), 0) + 1
        if not timing.success:
            self.errors.append(f"{kind}: error response: {timing.speech[:80]}")


def _pick(rng: random.Random) -> tuple[str, str]:
    if rng.random() < FAST_SHARE:
        return "fast", rng.choice(COMMANDS)
    return "think", rng.choice(QUESTIONS)[0]


@scenario("load", "6 Load", order=6)
async def run(ctx: Context) -> ScenarioResult:
    """Single-user baseline, then WORKERS concurrent conversations for the load period."""
    result = ScenarioResult("load", "6 Load")
    # Enough single-user fast turns for a steady p95 (they take milliseconds each).
    single_fast, single_think = (30, 5) if ctx.quick else (150, 10)
    rng = random.Random(ctx.seed)
    async with BenchHome() as home:
        server = home.ollama
        assert server is not None
        await home.servers.call(lambda: scripted_model(server))
        rss = RssSampler()
        baseline_kib = rss.peak_kib
        rss.start()
        alice = await home.add_alice(mode="local_only", local_model=MODEL)
        await home.hass.async_block_till_done()
        after_setup_kib = proc_status_kib("VmRSS") or 0
        # Warm-up: load the model, fill caches.
        await home.converse(alice, QUESTIONS[0][0])
        await home.converse(alice, COMMANDS[0])

        single = Tally()
        single_lag = LoopLag()
        single_lag.start()
        plan = ["fast"] * single_fast + ["think"] * single_think
        rng.shuffle(plan)
        for kind in plan:
            text = rng.choice(COMMANDS) if kind == "fast" else rng.choice(QUESTIONS)[0]
            await single.turn(home, alice, kind, text)
        await single_lag.stop()
        await home.hass.async_block_till_done()

        loaded = Tally()
        lag = LoopLag()
        deadline = time.perf_counter() + ctx.load_seconds

        async def worker(index: int) -> None:
            worker_rng = random.Random(ctx.seed * 1000 + index)
            while time.perf_counter() < deadline:
                kind, text = _pick(worker_rng)
                await loaded.turn(home, alice, kind, text)

        async def trim_server_log() -> None:
            # The simulated server records every request; keep its memory out of Alice's.
            while True:
                await asyncio.sleep(1.0)
                await home.servers.call(server.requests.clear)

        trimmer = asyncio.get_running_loop().create_task(trim_server_log())
        server_cpu = await home.servers.call(time.thread_time)
        loop_cpu = time.thread_time()
        lag.start()
        load_started = time.perf_counter()
        with GcPauses() as gc_pauses:
            await asyncio.gather(*(worker(i) for i in range(WORKERS)))
        load_seconds = time.perf_counter() - load_started
        loop_cpu = time.thread_time() - loop_cpu
        server_cpu = await home.servers.call(time.thread_time) - server_cpu
        await lag.stop()
        trimmer.cancel()
        await rss.stop()
        await home.hass.async_block_till_done()
        # The load's agent is local only, so Alice never loaded OpenAI's SDK: what an
        # agent that may use the cloud adds (its entry builds the client at setup).
        gc.collect()
        before_cloud_kib = proc_status_kib("VmRSS") or 0
        await home.add_alice(mode="hybrid", local_model=MODEL)
        gc.collect()
        cloud_kib = (proc_status_kib("VmRSS") or 0) - before_cloud_kib

    turns = sum(len(v) for v in loaded.times.values())
    result.add(
        "turns completed",
        turns,
        unit="",
        note=f"{WORKERS} conversations, {load_seconds:.0f} s, {turns / load_seconds:.1f} turns/s",
    )
    result.add("errors", len(loaded.errors) + len(single.errors), unit="", target=0, compare="==")
    for kind in ("fast", "think"):
        result.add(
            f"{kind} p50 under load",
            ms(percentile(loaded.times[kind], 50)),
            peer=ms(percentile(single.times[kind], 50)),
            peer_name="single user",
            target_on="ratio",
        )
        result.add(
            f"{kind} p95 under load",
            ms(percentile(loaded.times[kind], 95)),
            peer=ms(percentile(single.times[kind], 95)),
            peer_name="single user",
            target=1.3,
            compare="<=",
            target_on="ratio",
        )
    result.add(
        "RSS increase, peak",
        (rss.peak_kib - baseline_kib) / 1024,
        unit="MB",
        target=80,
        compare="<=",
        note="from before Alice's setup (imports included)",
    )
    result.add("RSS increase after setup, idle", (after_setup_kib - baseline_kib) / 1024, unit="MB")
    result.add(
        "RSS added by a second entry whose agent may use the cloud",
        cloud_kib / 1024,
        unit="MB",
        note="hybrid: OpenAI's SDK, which a local-only entry never loads",
    )
    result.add("event-loop lag p99", ms(percentile(lag.samples, 99)), target=20, compare="<")
    result.add("event-loop lag max", ms(max(lag.samples, default=0.0)))
    result.add("event-loop lag p99, single user", ms(percentile(single_lag.samples, 99)))
    longest_gc = max(gc_pauses.pauses, key=lambda pause: pause[1], default=(-1, 0.0))
    result.add(
        "longest garbage collection under load",
        ms(longest_gc[1]),
        note=f"generation {longest_gc[0]}, {len(gc_pauses.pauses)} collections",
    )
    result.add(
        "event-loop thread busy under load",
        100 * loop_cpu / load_seconds,
        unit="%",
        note="CPU time of Home Assistant's loop thread / wall time",
    )
    result.add(
        "simulated servers' thread busy under load",
        100 * server_cpu / load_seconds,
        unit="%",
        note="same process: competes with the loop for the GIL",
    )
    details: dict[str, Any] = {
        "workers": WORKERS,
        "fast_share": FAST_SHARE,
        "load_seconds": load_seconds,
        "baseline_rss_mib": baseline_kib / 1024,
        "peak_rss_mib": rss.peak_kib / 1024,
        "errors": loaded.errors[:20] + single.errors[:20],
        "sources_under_load": loaded.sources,
        "sources_single_user": single.sources,
    }
    for label, tally in (("single", single), ("load", loaded)):
        for kind in ("fast", "think"):
            details[f"{label}_{kind}_ms"] = summary([ms(v) for v in tally.times[kind]])
    details["lag_ms"] = summary([ms(v) for v in lag.samples])
    result.details = details
    return result
