"""Run the benchmarks: ``python -m bench.run [--quick] [--only NAME,…]`` (or ``script/bench``).

Each scenario runs in a fresh Python process (so that memory and warm caches of
one do not leak into the next), writes its result as JSON, and this process
prints the Markdown table and writes ``bench/results/latest.json`` and
``latest.md``.

With ``--ollama-url`` / ``--openai`` the think / cloud scenario runs on the
user's own backend (see :mod:`bench.backends`); the report's header says which
numbers are real.
"""

import argparse
import asyncio
from collections.abc import Sequence
import json
from pathlib import Path
import subprocess
import sys
import tempfile
import time
from typing import Any

from .backends import Backends, redact
from .cli import child_arguments, parse_args
from .harness import (
    SCENARIOS,
    Context,
    Metric,
    ScenarioResult,
    machine_info,
    markdown_table,
    verdict_counts,
)

CHILD_TIMEOUT = 600  # seconds one scenario may take
REAL_CHILD_TIMEOUT = 3600  # on a real backend: model loads, real generation


def _names() -> list[str]:
    from . import scenarios  # noqa: F401 - registers them

    return sorted(SCENARIOS, key=lambda n: SCENARIOS[n].order)


def _context(args: argparse.Namespace, backends: Backends) -> Context:
    load_seconds = args.load_seconds or (10.0 if args.quick else 60.0)
    return Context(quick=args.quick, load_seconds=load_seconds, seed=args.seed, backends=backends)


async def _run_one(name: str, ctx: Context) -> ScenarioResult:
    entry = SCENARIOS[name]
    started = time.perf_counter()
    try:
        result = await entry.func(ctx)
    except Exception as err:  # noqa: BLE001 - a failed scenario is reported, not fatal
        import traceback

        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        error = redact(f"{type(err).__name__}: {err}")
        result = ScenarioResult(name, entry.title, error=error)
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


def _run_child(name: str, args: argparse.Namespace, backends: Backends) -> ScenarioResult:
    """Run one scenario in a fresh interpreter and read its JSON back."""
    with tempfile.TemporaryDirectory(prefix="alice-bench-") as folder:
        out = Path(folder) / f"{name}.json"
        command = [sys.executable, "-m", "bench.run", "--child", name, "--child-out", str(out)]
        command += ["--seed", str(args.seed)]
        if args.quick:
            command.append("--quick")
        if args.load_seconds:
            command += ["--load-seconds", str(args.load_seconds)]
        command += child_arguments(backends)  # the key, if any, goes by the environment
        timeout = REAL_CHILD_TIMEOUT if backends.any_real else CHILD_TIMEOUT
        started = time.perf_counter()
        try:
            process = subprocess.run(command, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return ScenarioResult(name, SCENARIOS[name].title, error=f"timed out ({timeout} s)")
        if not out.exists():
            return ScenarioResult(
                name,
                SCENARIOS[name].title,
                error=f"exited with {process.returncode} without a result",
                seconds=time.perf_counter() - started,
            )
        return _from_dict(json.loads(out.read_text(encoding="utf-8")))


def _skipped(name: str, reason: str) -> ScenarioResult:
    """A scenario not run: one note row saying why."""
    result = ScenarioResult(name, SCENARIOS[name].title)
    result.add("not run", None, unit="", note=reason)
    return result


def _write(
    results: Sequence[ScenarioResult],
    args: argparse.Namespace,
    backends: Backends,
    seconds: float,
) -> str:
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
    markdown = redact(f"{header}\n{backends.header()}\n\n{table}\n")
    payload = {
        "machine": info,
        "options": {
            "quick": args.quick,
            "load_seconds": _context(args, backends).load_seconds,
            "seed": args.seed,
        },
        "backends": backends.as_dict(),
        "backend_settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
        "summary": {**counts, "seconds": round(seconds, 1)},
        "scenarios": [r.as_dict() for r in results],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(
        redact(json.dumps(payload, indent=2, ensure_ascii=False, default=str)) + "\n",
        encoding="utf-8",
    )
    (args.out / "latest.md").write_text(markdown, encoding="utf-8")
    return markdown


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected scenarios; print the table; 1 if a scenario could not run."""
    all_names = _names()
    args, backends = parse_args(argv, all_names)
    ctx = _context(args, backends)
    if args.child:
        result = asyncio.run(_run_one(args.child, ctx))
        args.child_out.write_text(
            redact(json.dumps(result.as_dict(), default=str)), encoding="utf-8"
        )
        return 0
    names = backends.default_scenarios(all_names)
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in SCENARIOS]
        if unknown:
            print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        names = [n for n in all_names if n in wanted]
    print(backends.header(), file=sys.stderr, flush=True)
    started = time.perf_counter()
    results: list[ScenarioResult] = []
    for name in names:
        print(f"==> {SCENARIOS[name].title}", file=sys.stderr, flush=True)
        if reason := backends.skip_reason(name, explicit=bool(args.only)):
            result = _skipped(name, reason)
        else:
            if args.in_process:
                result = asyncio.run(_run_one(name, ctx))
            else:
                result = _run_child(name, args, backends)
            backends.tag(result)  # each row says what it was measured on
        print(f"    {result.seconds:.1f} s", file=sys.stderr, flush=True)
        results.append(result)
    print(_write(results, args, backends, time.perf_counter() - started))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
