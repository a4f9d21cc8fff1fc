"""The benchmark's command line (``script/bench``): real backends and the report's header.

Plain pytest, no network, no Home Assistant: ``bench.cli`` and ``bench.backends``
import nothing heavy.
"""

import pytest

from bench.backends import OPENAI_KEY_ENV, Backends, http_url
from bench.cli import child_arguments, parse_args
from bench.harness import ScenarioResult, markdown_table

NAMES = ["router", "fast_local", "think", "cloud", "voice", "load", "hud"]
FAKE_KEY = "sk-test-NOT-A-REAL-KEY-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OpenAI key in the environment unless a test sets one."""
    monkeypatch.delenv(OPENAI_KEY_ENV, raising=False)


def test_defaults_are_simulated() -> None:
    """Without options every backend is simulated and every scenario runs."""
    args, backends = parse_args([], NAMES)
    assert backends == Backends()
    assert not backends.any_real
    assert not args.quick
    assert backends.default_scenarios(NAMES) == NAMES
    assert child_arguments(backends) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://gpu-box:11434", "http://gpu-box:11434"),
        ("https://ollama.example.com/", "https://ollama.example.com"),
        ("http://192.168.1.20:11434/ollama/", "http://192.168.1.20:11434/ollama"),
    ],
)
def test_ollama_url_accepted(url: str, expected: str) -> None:
    """An http(s) URL with a host is taken, without its trailing slash."""
    _, backends = parse_args(["--ollama-url", url], NAMES)
    assert backends.ollama_url == expected
    assert backends.model == "gpt-oss:20b"
    assert backends.real("ollama")
    assert not backends.real("openai")
    assert child_arguments(backends) == ["--ollama-url", expected, "--model", "gpt-oss:20b"]


@pytest.mark.parametrize(
    "url",
    [
        "gpu-box:11434",
        "ftp://gpu-box",
        "http://",
        "file:///tmp/ollama",
        "http://gpu-box:notaport",
        "http://user:secret@gpu-box:11434",
        "http://gpu-box:11434/?x=1",
    ],
)
def test_ollama_url_refused(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Anything but an http(s) URL with a host is a usage error (status 2)."""
    with pytest.raises(SystemExit) as exited:
        parse_args(["--ollama-url", url], NAMES)
    assert exited.value.code == 2
    assert "--ollama-url" in capsys.readouterr().err


def test_model_option() -> None:
    """--model picks the model for both agents; it needs --ollama-url."""
    _, backends = parse_args(["--ollama-url", "http://gpu:11434", "--model", "qwen3:8b"], NAMES)
    assert backends.model == "qwen3:8b"
    with pytest.raises(SystemExit) as exited:
        parse_args(["--model", "qwen3:8b"], NAMES)
    assert exited.value.code == 2


def test_openai_without_key_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """--openai without OPENAI_API_KEY: a clear message and status 2."""
    with pytest.raises(SystemExit) as exited:
        parse_args(["--openai"], NAMES)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert OPENAI_KEY_ENV in err
    assert "--openai" in err


def test_openai_with_key_never_echoes_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key comes from the environment and goes nowhere else: not in child arguments,
    not in the header, not in the JSON form, not in any error message.
    """
    monkeypatch.setenv(OPENAI_KEY_ENV, FAKE_KEY)
    _, backends = parse_args(["--openai", "--openai-base-url", "https://proxy.local/v1"], NAMES)
    assert backends.openai
    assert backends.openai_base_url == "https://proxy.local/v1"
    assert child_arguments(backends) == ["--openai", "--openai-base-url", "https://proxy.local/v1"]
    assert FAKE_KEY not in backends.header()
    assert FAKE_KEY not in repr(backends.as_dict())
    # A bad command line after that: argparse's message must not carry the key either.
    with pytest.raises(SystemExit):
        parse_args(["--openai", "--no-such-option"], NAMES)
    out = capsys.readouterr()
    assert FAKE_KEY not in out.out + out.err


@pytest.mark.parametrize(
    "argv",
    [
        ["--openai", FAKE_KEY],
        ["--openai-key", FAKE_KEY],
        [f"--openai-api-key={FAKE_KEY}"],
    ],
)
def test_key_on_command_line_refused_without_echo(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A key on the command line is refused, and the message does not repeat it."""
    with pytest.raises(SystemExit) as exited:
        parse_args(argv, NAMES)
    assert exited.value.code == 2
    out = capsys.readouterr()
    assert FAKE_KEY not in out.out + out.err
    assert OPENAI_KEY_ENV in out.err


def test_openai_base_url_needs_openai() -> None:
    """--openai-base-url alone is a usage error."""
    with pytest.raises(SystemExit) as exited:
        parse_args(["--openai-base-url", "https://proxy.local/v1"], NAMES)
    assert exited.value.code == 2


def test_header_all_simulated() -> None:
    """Without real backends the header says every number is simulated."""
    header = Backends().header()
    assert "Ollama: simulated" in header
    assert "OpenAI: simulated" in header
    assert "real" not in header.lower().replace("every number", "")


def test_header_marks_real_ollama() -> None:
    """A real Ollama is named in the header with its URL and model; OpenAI stays simulated."""
    backends = Backends(ollama_url="http://gpu-box:11434", model="gpt-oss:20b")
    header = backends.header()
    assert "Ollama: real, http://gpu-box:11434, gpt-oss:20b" in header
    assert "OpenAI: simulated" in header
    assert backends.scenario_note("think") == "real Ollama"
    assert backends.scenario_note("load") == "simulated Ollama"
    assert backends.scenario_note("voice") == "simulated Ollama, simulated OpenAI"
    assert backends.scenario_note("router") == ""


def test_header_marks_real_openai() -> None:
    """Real OpenAI: its base URL in the header, the cloud rows marked real."""
    backends = Backends(openai=True)
    header = backends.header()
    assert "OpenAI: real, https://api.openai.com/v1" in header
    assert "Ollama: simulated" in header
    assert backends.scenario_note("cloud") == "real OpenAI"
    assert backends.scenario_note("think") == "simulated Ollama"


def test_scenarios_with_a_real_backend() -> None:
    """With a real backend only think and cloud run; the one without its backend is skipped
    (with a reason) unless named with --only.
    """
    backends = Backends(ollama_url="http://gpu-box:11434")
    assert backends.default_scenarios(NAMES) == ["think", "cloud"]
    assert backends.skip_reason("think", explicit=False) is None
    reason = backends.skip_reason("cloud", explicit=False)
    assert reason is not None
    assert "--openai" in reason
    assert backends.skip_reason("cloud", explicit=True) is None
    assert Backends().skip_reason("cloud", explicit=False) is None


def test_http_url_helper() -> None:
    """The URL check used by both URL options."""
    assert http_url(" http://h:1/ ") == "http://h:1"
    with pytest.raises(ValueError, match="http"):
        http_url("h:1")


def test_header_both_real_and_row_notes() -> None:
    """Both real: the header names both; rows are tagged after their own note."""
    backends = Backends(ollama_url="http://gpu-box:11434", model="qwen3:8b", openai=True)
    header = backends.header()
    assert "Ollama: real, http://gpu-box:11434, qwen3:8b" in header
    assert "OpenAI: real, https://api.openai.com/v1" in header
    assert "simulated" in header  # every other scenario still is
    result = ScenarioResult("think", "3 Think")
    result.add("warm: total p50", 1.0, note="a note")
    result.add("failed turns", 0, unit="")
    backends.tag(result)
    assert [m.note for m in result.metrics] == ["a note; real Ollama", "real Ollama"]
    table = markdown_table([result])
    assert "warm: total p50 — a note; real Ollama" in table
