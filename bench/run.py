"""Run the benchmarks: ``python -m bench.run [--quick] [--only NAME,…]`` (or ``script/bench``).

Each scenario runs in a fresh Python process (so that memory and warm caches of
one do not leak into the next), writes its result as JSON, and this process
prints the Markdown table and writes ``bench/results/latest.json`` and
``latest.md``.
"""

import argparse
import asyncio
from collections.abc import Sequence
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time
from typing import Any

from .harness import (
    RESULTS_DIR,
    SCENARIOS,
    Context,
    Metric,
    ScenarioResult,
    machine_info,
    markdown_table,
    verdict_counts,
)

CHILD_TIMEOUT = 600  # seconds one scenario may take


def _parser() -> argparse.ArgumentParser:
    from . import scenarios  # noqa: F401 - registers them

    names = sorted(SCENARIOS, key=lambda n: SCENARIOS[n].order)
    parser = argparse.ArgumentParser(prog="script/bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("ALICE_BENCH_QUICK", "") not in ("", "0"),
        help="fewer repetitions and a 10 s load test (env ALICE_BENCH_QUICK=1)",
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated scenarios to run (default all: {', '.join(names)})",
    )
    parser.add_argument(
        "--load-seconds",
        type=float,
        default=float(os.environ.get("ALICE_BENCH_LOAD_SECONDS", "0") or 0),
        help="duration of the load test (default 60, 10 with --quick)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the load mix")
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR,
        help="folder for latest.json and latest.md (default bench/results)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every scenario in this process (faster start, less isolated)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    return parser


def _context(args: argparse.Namespace) -> Context:
    load_seconds = args.load_seconds or (10.0 if args.quick else 60.0)
    return Context(quick=args.quick, load_seconds=load_seconds, seed=args.seed)


async def _run_one(name: str, ctx: Context) -> ScenarioResult:
    entry = SCENARIOS[name]
    started = time.perf_counter()
    try:
        result = await entry.func(ctx)
    except Exception as err:  # noqa: BLE001 - a failed scenario is reported, not fatal
        import traceback

        traceback.print_exc()
        result = ScenarioResult(name, entry.title, error=f"{type(err).__name__}: {err}")
    result.seconds = time.perf_counter() - started
    return result


def _from_dict(data: dict[str, Any]) -> ScenarioResult:
    metric_fields = set(Metric.__dataclass_fields__)
    result = ScenarioResult(
        data["name"],
        data["title"],
        details=data.get("details") or {},
        error=data.get("error"),
        seconds=float(data.get("seconds") or 0.0),
    )
    result.metrics = [
        Metric(**{k: v for k, v in metric.items() if k in metric_fields})
        for metric in data.get("metrics", [])
    ]
    return result


def _run_child(name: str, args: argparse.Namespace) -> ScenarioResult:
    """Run one scenario in a fresh interpreter and read its JSON back."""
    with tempfile.TemporaryDirectory(prefix="alice-bench-") as folder:
        out = Path(folder) / f"{name}.json"
        command = [sys.executable, "-m", "bench.run", "--child", name, "--child-out", str(out)]
        command += ["--seed", str(args.seed)]
        if args.quick:
            command.append("--quick")
        if args.load_seconds:
            command += ["--load-seconds", str(args.load_seconds)]
        started = time.perf_counter()
        try:
            process = subprocess.run(command, check=False, timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            return ScenarioResult(name, SCENARIOS[name].title, error="timed out")
        if not out.exists():
            return ScenarioResult(
                name,
                SCENARIOS[name].title,
                error=f"exited with {process.returncode} without a result",
                seconds=time.perf_counter() - started,
            )
        return _from_dict(json.loads(out.read_text(encoding="utf-8")))


def _write(results: Sequence[ScenarioResult], args: argparse.Namespace, seconds: float) -> str:
    from .home import Settings

    info = machine_info()
    counts = verdict_counts(results)
    settings = Settings()
    table = markdown_table(results)
    header = (
        f"Alice Voice benchmarks, {info['date']}{' (quick)' if args.quick else ''}: "
        f"{info['cpu']}, {info['cores']} cores, Python {info['python']}, "
        f"Home Assistant {info['home_assistant']}. "
        f"{counts['PASS']} PASS, {counts['MISS']} MISS, {seconds:.0f} s."
    )
    markdown = f"{header}\n\n{table}\n"
    payload = {
        "machine": info,
        "options": {
            "quick": args.quick,
            "load_seconds": _context(args).load_seconds,
            "seed": args.seed,
        },
        "backend_settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
        "summary": {**counts, "seconds": round(seconds, 1)},
        "scenarios": [r.as_dict() for r in results],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    (args.out / "latest.md").write_text(markdown, encoding="utf-8")
    return markdown


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected scenarios; print the table; 1 if a scenario could not run."""
    args = _parser().parse_args(argv)
    ctx = _context(args)
    if args.child:
        result = asyncio.run(_run_one(args.child, ctx))
        args.child_out.write_text(json.dumps(result.as_dict(), default=str), encoding="utf-8")
        return 0
    names = sorted(SCENARIOS, key=lambda n: SCENARIOS[n].order)
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in SCENARIOS]
        if unknown:
            print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        names = [n for n in names if n in wanted]
    started = time.perf_counter()
    results: list[ScenarioResult] = []
    for name in names:
        print(f"==> {SCENARIOS[name].title}", file=sys.stderr, flush=True)
        result = asyncio.run(_run_one(name, ctx)) if args.in_process else _run_child(name, args)
        print(f"    {result.seconds:.1f} s", file=sys.stderr, flush=True)
        results.append(result)
    print(_write(results, args, time.perf_counter() - started))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
