"""Which backends a run uses: the simulated ones, or the user's own (``--ollama-url``, ``--openai``).

Only two scenarios switch: ``think`` runs on a real Ollama (``--ollama-url URL
[--model M]``) and ``cloud`` on the real OpenAI API (``--openai``, the key from
``OPENAI_API_KEY``). Everything else always runs on the simulators. The report's
header line and every row's note say which numbers are simulated and which real.

This module imports nothing heavy: the command-line test imports it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
import os
import re
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .harness import ScenarioResult

type Kind = Literal["ollama", "openai"]

DEFAULT_MODEL: Final = "gpt-oss:20b"  # Alice's default local model (const.DEFAULT_LOCAL_MODEL)
OPENAI_KEY_ENV: Final = "OPENAI_API_KEY"
OPENAI_DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
# The scenarios that can run on a real backend, and the backend each needs.
SWITCHABLE: Final[dict[str, Kind]] = {"think": "ollama", "cloud": "openai"}
# The model backends each scenario talks to (router and fast_local use none: the
# router is local, device commands are answered by Home Assistant's intents).
USES: Final[dict[str, tuple[Kind, ...]]] = {
    "think": ("ollama",),
    "cloud": ("openai",),
    "voice": ("ollama", "openai"),
    "load": ("ollama",),
    "hud": ("ollama",),
}
FLAG: Final[dict[Kind, str]] = {"ollama": "--ollama-url URL", "openai": "--openai"}
NAME: Final[dict[Kind, str]] = {"ollama": "Ollama", "openai": "OpenAI"}
# What an OpenAI key looks like on a command line (never accepted there).
KEY_LIKE: Final = re.compile(r"(?:^|=)sk-[A-Za-z0-9_-]{8,}")


def http_url(value: str) -> str:
    """``value`` as an http(s) URL with a host and no trailing slash; ValueError if not."""
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http:// or https:// URL with a host: {value!r}")
    if parts.username or parts.password:
        raise ValueError("a URL with a user name or password is not accepted")
    try:
        _ = parts.port  # raises on a port that is not a number or out of range
    except ValueError as err:
        raise ValueError(f"bad port in {value!r}") from err
    if parts.query or parts.fragment:
        raise ValueError(f"a URL with a query or fragment is not accepted: {value!r}")
    return text.rstrip("/")


def openai_key() -> str | None:
    """The OpenAI API key from the environment (None when it is not set or empty)."""
    return os.environ.get(OPENAI_KEY_ENV, "").strip() or None


def redact(text: str) -> str:
    """``text`` with the OpenAI key from the environment, if any, blanked out."""
    key = openai_key()
    return text.replace(key, "[OPENAI_API_KEY]") if key and len(key) >= 8 else text


@dataclass(slots=True, frozen=True)
class Backends:
    """The backends of a run; None or False means simulated."""

    ollama_url: str | None = None
    model: str = DEFAULT_MODEL
    openai: bool = False
    openai_base_url: str | None = None  # None: OpenAI's own API

    @property
    def any_real(self) -> bool:
        """Whether some backend is the user's own."""
        return self.ollama_url is not None or self.openai

    def real(self, kind: Kind) -> bool:
        """Whether ``kind`` is the user's own backend."""
        return self.ollama_url is not None if kind == "ollama" else self.openai

    def describe(self, kind: Kind) -> str:
        """``Ollama: real, http://…, gpt-oss:20b`` or ``OpenAI: simulated``."""
        if not self.real(kind):
            return f"{NAME[kind]}: simulated"
        if kind == "ollama":
            return f"Ollama: real, {self.ollama_url}, {self.model}"
        return f"OpenAI: real, {self.openai_base_url or OPENAI_DEFAULT_BASE_URL}"

    def header(self) -> str:
        """The report's line saying which numbers are simulated and which are real."""
        where = "; ".join(self.describe(kind) for kind in ("ollama", "openai"))
        if not self.any_real:
            return f"Backends: {where} (every number is from the simulated backends)."
        switched = ", ".join(f"{s} ({NAME[k]})" for s, k in SWITCHABLE.items() if self.real(k))
        return f"Backends: {where}. Real numbers only in: {switched}; every other is simulated."

    def scenario_note(self, name: str) -> str:
        """What a scenario's rows were measured on, e.g. ``real Ollama``; "" if no backend."""
        kinds = USES.get(name, ())
        if not kinds:
            return ""
        parts = [
            f"real {NAME[k]}"
            if SWITCHABLE.get(name) == k and self.real(k)
            else f"simulated {NAME[k]}"
            for k in kinds
        ]
        return ", ".join(parts)

    def default_scenarios(self, names: Iterable[str]) -> list[str]:
        """The scenarios a run without ``--only`` runs.

        Every one on the simulators; with a real backend given, only the scenarios
        that can run on one (the others are skipped with a note row).
        """
        ordered = list(names)
        if not self.any_real:
            return ordered
        return [n for n in ordered if n in SWITCHABLE]

    def skip_reason(self, name: str, *, explicit: bool) -> str | None:
        """Why ``name`` is not run in this run, or None to run it.

        With a real backend given, a switchable scenario whose backend was not given
        is skipped unless it was named with ``--only`` (then it runs simulated).
        """
        kind = SWITCHABLE.get(name)
        if not self.any_real or explicit or kind is None or self.real(kind):
            return None
        return (
            f"skipped: no real {NAME[kind]} given ({FLAG[kind]}); "
            f"--only {name} runs it on the simulator"
        )

    def tag(self, result: ScenarioResult) -> None:
        """Append what the rows were measured on to every row's note."""
        note = self.scenario_note(result.name)
        if not note:
            return
        for metric in result.metrics:
            metric.note = f"{metric.note}; {note}" if metric.note else note

    def as_dict(self) -> dict[str, object]:
        """JSON form (never the key)."""
        return {
            "ollama": {"real": True, "url": self.ollama_url, "model": self.model}
            if self.ollama_url
            else {"real": False},
            "openai": {
                "real": True,
                "base_url": self.openai_base_url or OPENAI_DEFAULT_BASE_URL,
                "key_from": OPENAI_KEY_ENV,
            }
            if self.openai
            else {"real": False},
        }
