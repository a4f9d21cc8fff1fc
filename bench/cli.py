"""The command line of ``script/bench`` (``python -m bench.run``).

Kept apart from :mod:`bench.run` and free of heavy imports, so that it can be
tested without Home Assistant: :func:`parse_args` takes the scenario names.
"""

import argparse
from collections.abc import Sequence
import os
from pathlib import Path
import sys
from typing import Final, NoReturn

from .backends import DEFAULT_MODEL, KEY_LIKE, OPENAI_KEY_ENV, Backends, http_url, openai_key
from .harness import RESULTS_DIR

DESCRIPTION: Final = (
    "Run the benchmarks: Alice against Home Assistant's own agents, on simulated "
    "backends or on your own (--ollama-url, --openai)."
)
EXIT_USAGE: Final = 2  # argparse's status for a bad command line


def _url(value: str) -> str:
    try:
        return http_url(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def build_parser(names: Sequence[str]) -> argparse.ArgumentParser:
    """The parser; ``names`` are the scenarios, in the table's order."""
    parser = argparse.ArgumentParser(prog="script/bench", description=DESCRIPTION)
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
    real = parser.add_argument_group(
        "your own hardware",
        "Run the think scenario on your Ollama and/or the cloud scenario on OpenAI; "
        "with either, a run without --only runs just those two.",
    )
    real.add_argument(
        "--ollama-url",
        type=_url,
        metavar="URL",
        help="a real Ollama server (http:// or https://) for the think scenario, "
        "Alice's and core ollama's",
    )
    real.add_argument(
        "--model",
        metavar="M",
        help=f"the model on that server for both agents (default {DEFAULT_MODEL}; "
        "it must be pulled already)",
    )
    real.add_argument(
        "--openai",
        action="store_true",
        help=f"the cloud scenario on the real OpenAI API; the key is read from "
        f"{OPENAI_KEY_ENV} (never from the command line)",
    )
    real.add_argument(
        "--openai-base-url",
        type=_url,
        metavar="URL",
        help="another OpenAI-compatible base URL (a proxy), with --openai",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    return parser


def _refuse(message: str) -> NoReturn:
    print(f"script/bench: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def parse_args(
    argv: Sequence[str] | None, names: Sequence[str]
) -> tuple[argparse.Namespace, Backends]:
    """Parse the command line; exit with status 2 and a message on a bad one.

    An argument that looks like an API key (or is the key in ``OPENAI_API_KEY``) is
    refused before argparse could echo it in an error message.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    key = openai_key()
    if any(KEY_LIKE.search(a) or (key and len(key) >= 8 and key in a) for a in arguments):
        _refuse(
            f"an API key on the command line is refused (it would end up in the shell's "
            f"history and the process list): put it in the environment variable "
            f"{OPENAI_KEY_ENV} and pass --openai"
        )
    parser = build_parser(names)
    args = parser.parse_args(arguments)
    if args.model is not None and args.ollama_url is None:
        parser.error("--model needs --ollama-url (the simulated Ollama has its own model)")
    if args.openai_base_url is not None and not args.openai:
        parser.error("--openai-base-url needs --openai")
    if args.model is not None and not args.model.strip():
        parser.error("--model must not be empty")
    if args.openai and key is None:
        parser.error(
            f"--openai needs the OpenAI API key in the environment variable {OPENAI_KEY_ENV} "
            f"(it is never taken from the command line): "
            f"{OPENAI_KEY_ENV}=… script/bench --openai"
        )
    backends = Backends(
        ollama_url=args.ollama_url,
        model=(args.model or DEFAULT_MODEL).strip(),
        openai=bool(args.openai),
        openai_base_url=args.openai_base_url,
    )
    return args, backends


def child_arguments(backends: Backends) -> list[str]:
    """The options that give a scenario's child process the same backends (no key)."""
    out: list[str] = []
    if backends.ollama_url is not None:
        out += ["--ollama-url", backends.ollama_url, "--model", backends.model]
    if backends.openai:
        out.append("--openai")
        if backends.openai_base_url is not None:
            out += ["--openai-base-url", backends.openai_base_url]
    return out
