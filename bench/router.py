"""The router's benchmark on its own: ``.venv/bin/python -m bench.router [--quick]``.

Per-call latency of ``IntentRouter.route`` over the gold set and the
spoken-style set (p50/p99, and the first pass with a cold word cache), the model's load time and its memory. The
same scenario is the first row group of ``script/bench``; see
:mod:`bench.scenarios.router`.
"""

from collections.abc import Sequence
import sys

from bench.run import main as run_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run only the router scenario (other ``script/bench`` options pass through)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return run_main(["--only", "router", "--out", "bench/results/router", *args])


if __name__ == "__main__":
    raise SystemExit(main())
