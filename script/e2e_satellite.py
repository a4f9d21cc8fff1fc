"""A voice turn end to end: the real ``wyoming-satellite``, a real Home Assistant and Alice.

Called by ``script/e2e_satellite`` (which makes the satellite's venv). The simulated
OpenAI (Realtime transcription hears "Tänd lampan i köket", ``/v1/audio/speech``
speaks) and Ollama (``--demo``) run on 127.0.0.1; ``hass`` starts in a temporary
folder seeded with ``script/dev.py``'s functions. Alice is added through her config
flow, the satellite through the Wyoming config flow, and Alice gets it through her
agent's reconfigure flow (voice option ``satellites``), so she sets its pipeline.
The satellite's microphone and wake word are ``script/e2e_satellite_io.py``: once
Home Assistant is connected, the wake word fires, the satellite sends
``run-pipeline {asr→tts}`` and streams the recorded utterance. It passes when the
satellite plays over 0.2 s of the answer within 60 s, got the transcript, and the
kitchen light went on. Only what it started is stopped (also on failure, Ctrl-C).
"""

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp
import dev  # script/dev.py: seeding, login, websocket client and the simulated Ollama

REPO = dev.REPO
sys.path.insert(0, str(REPO))

from custom_components.alice_voice.const import (  # noqa: E402 - after sys.path
    CONF_OLLAMA_URL,
    CONF_OPENAI_API_KEY,
    CONF_OPENAI_BASE_URL,
    CONF_SATELLITES,
    DOMAIN,
    SECTION_VOICE,
    SUBENTRY_CONVERSATION,
)
from simulators.realtime import RealtimeTestServer  # noqa: E402
from simulators.speech import SpeechTestServer  # noqa: E402

SATELLITE_PYTHON = os.environ.get(
    "ALICE_E2E_SATELLITE_PYTHON", str(REPO / ".e2e-satellite-venv" / "bin" / "python")
)
IO_SCRIPT = REPO / "script" / "e2e_satellite_io.py"
UTTERANCE_WAV = REPO / "tests" / "data" / "voice" / "sv_tand_lampan_i_koket.wav"
TRANSCRIPT = "Tänd lampan i köket"
SATELLITE_NAME = "Köket"
KITCHEN_LIGHT = "light.kitchen_lights"
TIMEOUT = float(os.environ.get("ALICE_E2E_TIMEOUT", "240"))
AUDIO_WITHIN = 60.0  # seconds from the wake word to the answer's audio
MIN_AUDIO_BYTES = int(22050 * 2 * 0.2)  # 0.2 s at the satellite's 22.05 kHz 16-bit mono
KEEP = os.environ.get("ALICE_E2E_KEEP") == "1"

CONFIGURATION = """\
# Written by script/e2e_satellite for one run; the folder is temporary.
homeassistant:
  name: Alice Satellite E2E
  time_zone: UTC
  country: SE
  language: sv

logger:
  default: warning
  logs:
    custom_components.alice_voice: info
    homeassistant.components.wyoming: debug

api:
conversation:
assist_pipeline:
demo:
"""


class E2EError(Exception):
    """A check failed; the message says which and why."""


def say(message: str) -> None:
    """Print a line of the test's own output."""
    print(f"\033[1;36m[e2e-satellite]\033[0m {message}", flush=True)


def check(condition: object, message: str) -> None:
    """Fail the run with ``message`` unless ``condition`` holds."""
    if not condition:
        raise E2EError(message)


@dataclass
class Run:
    """What one run started and where it keeps its files."""

    workdir: Path
    instance: dev.Instance
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ollama_url: str = ""
    alice_entry: str = ""
    started: float = field(default_factory=time.monotonic)
    timings: dict[str, float] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        """A file in the run's folder."""
        return self.workdir / name

    def mark(self, name: str) -> None:
        """Remember how long the run took to reach this point."""
        self.timings[name] = time.monotonic() - self.started

    def start(self, name: str, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start a process in its own process group, its output in ``<name>.log``."""
        with self.path(f"{name}.log").open("wb") as output:
            process = subprocess.Popen(
                args,
                cwd=REPO,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,
            )
        self.processes[name] = process
        return process

    def stop(self) -> None:
        """Stop what this run started, the satellite and its helpers first."""
        for name in reversed(self.processes):
            process = self.processes[name]
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if process.poll() is not None:
                    break
                with contextlib.suppress(ProcessLookupError):
                    if os.getpgid(process.pid) == process.pid:  # the satellite's helpers too
                        os.killpg(process.pid, sig)
                    else:
                        process.send_signal(sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
                if process.poll() is None and sig == signal.SIGTERM:
                    say(f"{name} did not stop within 30 s; killing it")

    def print_logs(self, lines: int = 40) -> None:
        """The end of each process's output (after a failure)."""
        for path in (self.path(f"{name}.log") for name in self.processes):
            if tail := read_text(path).splitlines()[-lines:]:
                print(f"----- last {len(tail)} lines of {path} -----", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)


# --- Home Assistant over HTTP -------------------------------------------------------------


@dataclass
class Hass:
    """The admin's REST and websocket API of the started Home Assistant."""

    base: str
    session: aiohttp.ClientSession
    token: str
    ws: dev.Websocket | None = None

    async def rest(self, method: str, path: str, body: Any = None) -> Any:
        """One REST call; the JSON answer, or a clear error."""
        async with self.session.request(
            method,
            f"{self.base}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=aiohttp.ClientTimeout(30),
        ) as response:
            answer = await response.json(content_type=None)
            check(response.status == 200, f"{method} {path}: HTTP {response.status} {answer}")
        return answer

    async def call(self, message_type: str, **data: Any) -> Any:
        """One websocket command; its result."""
        assert self.ws is not None
        return await self.ws.call(message_type, **data)

    async def state(self, entity_id: str) -> str | None:
        """An entity's state, or None."""
        with contextlib.suppress(E2EError):
            return str((await self.rest("GET", f"/api/states/{entity_id}"))["state"])
        return None

    async def flow(self, kind: str, start: dict[str, Any], answers: Any) -> dict[str, Any]:
        """A config ("") or subentry ("subentries/") flow; ``answers``: the input, or form → input."""
        base = f"/api/config/config_entries/{kind}flow"
        form = await self.rest("POST", base, start)
        check(form.get("type") == "form", f"{base} {start}: expected a form, got {form}")
        user_input = answers(form) if callable(answers) else answers
        result: dict[str, Any] = await self.rest("POST", f"{base}/{form['flow_id']}", user_input)
        check(not result.get("errors"), f"{base} {start}: the form says {result.get('errors')}")
        return result

    async def entities(self, entry_id: str) -> dict[str, str]:
        """The entity ids of a config entry, by unique id."""
        entities = await self.call("config/entity_registry/list")
        return {
            e["unique_id"]: e["entity_id"] for e in entities if e["config_entry_id"] == entry_id
        }


def suggested(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """What a serialized form suggests (sections nested): the input of a user who keeps it."""
    values: dict[str, Any] = {}
    for item in fields:
        if item.get("type") == "expandable":
            values[item["name"]] = suggested(item["schema"])
        elif (value := (item.get("description") or {}).get("suggested_value")) is not None:
            values[item["name"]] = value
    return values


async def wait_until[T](what: str, probe: Callable[[], Awaitable[T]], within: float) -> T:
    """Await ``probe()`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := await probe():
            return result
        await asyncio.sleep(0.25)
    raise E2EError(f"{what}: not within {within:.0f} s")


def read_text(path: Path) -> str:
    """A file's text, or "" when it is not there (yet)."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_text(encoding="utf-8", errors="replace")
    return ""


async def add_alice(hass: Hass, ollama_url: str, openai: RealtimeTestServer) -> str:
    """Alice's entry through her config flow, with the simulators; its id once loaded."""
    connections = {
        CONF_OLLAMA_URL: ollama_url,
        CONF_OPENAI_API_KEY: openai.api_key,
        CONF_OPENAI_BASE_URL: openai.base_url,
    }
    result = await hass.flow("", {"handler": DOMAIN}, connections)
    check(result.get("type") == "create_entry", f"Alice's config flow ended with {result}")

    async def loaded() -> bool:
        entries = await hass.rest("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
        state = entries[0]["state"] if entries else "missing"
        check(state not in ("setup_error", "failed_unload"), f"Alice's entry: {entries}")
        return state == "loaded"

    await wait_until("Alice's entry loaded", loaded, within=60)
    return str(result["result"]["entry_id"])


def start_satellite(run: Run, port: int) -> None:
    """The real wyoming-satellite, with this script's microphone, wake word and speaker."""

    def command(*args: object) -> str:
        return shlex.join([SATELLITE_PYTHON, str(IO_SCRIPT), *(str(a) for a in args)])

    trigger = run.path("wake.trigger")
    run.start(
        "satellite",
        [
            *(SATELLITE_PYTHON, "-m", "wyoming_satellite", "--debug", "--no-zeroconf"),
            *("--name", SATELLITE_NAME, "--uri", f"tcp://127.0.0.1:{port}"),
            *("--mic-command", command("mic", UTTERANCE_WAV, trigger)),
            *("--wake-command", command("wake", trigger), "--wake-word-name", "e2e_trigger"),
            *("--snd-command", command("save", run.path("heard.raw"))),
            *("--transcript-command", command("save", run.path("transcript.txt"))),
            *("--synthesize-command", command("save", run.path("answer.txt"))),
        ],
    )


async def add_satellite(hass: Hass, port: int) -> tuple[str, str]:
    """The satellite through the Wyoming config flow; its assist_satellite and select entities."""
    result = await hass.flow("", {"handler": "wyoming"}, {"host": "127.0.0.1", "port": port})
    check(result.get("type") == "create_entry", f"the Wyoming config flow ended with {result}")
    entry_id = str(result["result"]["entry_id"])

    async def entities() -> tuple[str, str] | None:
        found = await hass.entities(entry_id)
        satellite = found.get(f"{entry_id}-assist_satellite")
        select = next((e for u, e in found.items() if u.endswith("-pipeline")), None)
        return (satellite, select) if satellite and select else None

    return await wait_until("the satellite's entities", entities, within=20) or ("", "")


async def give_alice_the_satellite(hass: Hass, entry_id: str, satellite: str) -> None:
    """Set the agent's voice option ``satellites`` through the subentry's reconfigure flow."""
    subentries = await hass.call("config_entries/subentries/list", entry_id=entry_id)
    agent = next(s for s in subentries if s["subentry_type"] == SUBENTRY_CONVERSATION)

    def answers(form: dict[str, Any]) -> dict[str, Any]:
        user_input = suggested(form["data_schema"])
        user_input.setdefault(SECTION_VOICE, {})[CONF_SATELLITES] = [satellite]
        return user_input

    handler = {"handler": [entry_id, SUBENTRY_CONVERSATION], "subentry_id": agent["subentry_id"]}
    result = await hass.flow("subentries/", handler, answers)
    check(
        result.get("type") == "abort" and result.get("reason") == "reconfigure_successful",
        f"the agent's reconfigure flow ended with {result}",
    )


async def last_pipeline_run(hass: Hass, name: str) -> dict[str, Any]:
    """What the last run of the pipeline ``name`` heard and answered (its debug events)."""
    pipelines = (await hass.call("assist_pipeline/pipeline/list"))["pipelines"]
    pipeline_id = next(p["id"] for p in pipelines if p["name"] == name)
    debug = await hass.call("assist_pipeline/pipeline_debug/list", pipeline_id=pipeline_id)
    if not (runs := debug["pipeline_runs"]):
        return {}
    run_id = runs[-1]["pipeline_run_id"]
    get = "assist_pipeline/pipeline_debug/get"
    events = (await hass.call(get, pipeline_id=pipeline_id, pipeline_run_id=run_id))["events"]
    summary: dict[str, Any] = {"events": [e["type"] for e in events]}
    for event in events:
        data = event.get("data") or {}
        if event["type"] == "stt-end":
            summary["transcript"] = data.get("stt_output", {}).get("text")
        elif event["type"] == "intent-end":
            speech = data.get("intent_output", {}).get("response", {}).get("speech", {})
            summary["answer"] = speech.get("plain", {}).get("speech")
        elif event["type"] == "error":
            summary["error"] = f"{data.get('code')}: {data.get('message')}"
    return summary


# --- the test ------------------------------------------------------------------------------


async def prepare_home(
    run: Run, session: aiohttp.ClientSession, openai: RealtimeTestServer
) -> Hass:
    """Wait for hass, log in, add Alice and put the demo devices in their areas."""
    await dev.wait_ready(session, run.processes["hass"], run.instance, within=120)
    run.mark("hass answers")
    hass = Hass(run.instance.base, session, await dev.login(session, run.instance))
    run.alice_entry = await add_alice(hass, run.ollama_url, openai)
    run.mark("Alice loaded")
    alice = await dev.seed_home(session, hass.token, run.instance, wait_for=("Kitchen Lights",))
    check(alice.get("agent"), f"Alice has no conversation agent: {alice}")
    return hass


async def connect_satellite(run: Run, hass: Hass) -> str:
    """Start the satellite, add it, give it to Alice; the name of the pipeline it runs."""
    port = dev.free_port()
    say(f"starting wyoming-satellite {SATELLITE_NAME!r} on tcp://127.0.0.1:{port}")
    start_satellite(run, port)

    async def listening() -> bool:
        check(run.processes["satellite"].poll() is None, "wyoming-satellite exited")
        return dev.port_in_use(port)

    await wait_until("wyoming-satellite listening", listening, within=30)
    satellite, select = await add_satellite(hass, port)
    say(f"Home Assistant added the satellite: {satellite} (its pipeline: {select})")
    await give_alice_the_satellite(hass, run.alice_entry, satellite)

    async def assigned() -> str | None:
        state = await hass.state(select)
        return state if state and state.startswith("Alice") else None

    pipeline = await wait_until("Alice's pipeline on the satellite", assigned, within=30)
    say(f"Alice set {select} to her pipeline {pipeline!r}")

    async def connected() -> bool:
        # The satellite logs this when Home Assistant sends run-satellite.
        return "Waiting for wake word" in read_text(run.path("satellite.log"))

    await wait_until("Home Assistant connected to the satellite", connected, within=30)
    run.mark("satellite connected")
    return str(pipeline)


async def voice_turn(run: Run, hass: Hass, pipeline: str) -> None:
    """Say the wake word and the command; check what the satellite plays and the light."""
    # Off first: Alice must switch it on.
    await hass.rest("POST", "/api/services/light/turn_off", {"entity_id": KITCHEN_LIGHT})
    say(f"wake word: the satellite streams {UTTERANCE_WAV.name} ({TRANSCRIPT!r})")
    run.path("wake.trigger").touch()
    woke = time.monotonic()
    heard = run.path("heard.raw")

    def size() -> int:
        return heard.stat().st_size if heard.exists() else 0

    async def answer_heard() -> bool:
        check(run.processes["satellite"].poll() is None, "wyoming-satellite exited")
        return size() > MIN_AUDIO_BYTES

    try:
        await wait_until("the answer's audio at the satellite", answer_heard, AUDIO_WITHIN)
    except E2EError as err:
        summary = await last_pipeline_run(hass, pipeline)
        raise E2EError(f"{err}; the pipeline's last run: {summary or 'none'}") from err
    first_audio = time.monotonic() - woke
    last, still = -1, 0
    while still < 4 and time.monotonic() - woke < AUDIO_WITHIN:  # until the answer has played
        still, last = (still + 1 if size() == last else 0), size()
        await asyncio.sleep(0.25)
    run.mark("answer played")
    summary = await last_pipeline_run(hass, pipeline)
    light = await hass.state(KITCHEN_LIGHT)
    transcript = read_text(run.path("transcript.txt")).strip()
    answer = read_text(run.path("answer.txt")).strip()
    say(f"the satellite got the transcript {transcript!r} and the answer {answer!r}")
    say(f"  it played {size() / 44100:.2f} s of audio ({size()} bytes at 22.05 kHz, 16-bit mono)")
    say(f"  wake word -> first audio {first_audio:.1f} s; {KITCHEN_LIGHT} is {light}")
    say(f"  pipeline {pipeline!r}: {' '.join(events := summary.get('events', []))}")
    check(events[1:2] == ["stt-start"], "the pipeline did not start at speech-to-text")
    check(transcript.casefold() == TRANSCRIPT.casefold(), f"expected {TRANSCRIPT!r}")
    check(summary.get("transcript") == transcript, f"the pipeline's last run: {summary}")
    check("error" not in summary, f"the pipeline reported an error: {summary.get('error')}")
    check(answer and answer == summary.get("answer"), f"spoken {answer!r}; the run: {summary}")
    check(light == "on", f"{KITCHEN_LIGHT} is {light}, expected on")


async def main_async(run: Run) -> None:
    """Start the simulated OpenAI, then run the test against the started hass."""
    speech = SpeechTestServer()
    openai = RealtimeTestServer(mount=speech.add_routes, record_server_events=False)
    openai.input_audio_transcript = TRANSCRIPT
    async with openai, aiohttp.ClientSession() as session:
        say(f"simulated OpenAI (Realtime transcription, speech) on {openai.base_url}")
        (run.path("configuration.yaml")).write_text(CONFIGURATION, encoding="utf-8")
        say(f"starting Home Assistant on {run.instance.base} (config: {run.workdir})")
        run.start(
            "hass",
            [str(dev.VENV_BIN / "hass"), "-c", str(run.workdir), "--skip-pip"],
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        hass = await prepare_home(run, session, openai)
        async with session.ws_connect(f"{hass.base}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": hass.token})
            check((await ws.receive_json())["type"] == "auth_ok", "websocket auth failed")
            hass.ws = dev.Websocket(ws)
            pipeline = await connect_satellite(run, hass)
            await voice_turn(run, hass, pipeline)
        check(speech.speech_texts, "the simulated OpenAI was never asked to speak")


def main() -> int:
    """Run the test; 0 on success."""
    if not Path(SATELLITE_PYTHON).exists():
        say(f"no satellite Python at {SATELLITE_PYTHON}: run script/e2e_satellite, which makes it")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="alice-e2e-satellite-"))
    instance = dev.Instance(
        config=workdir, port=dev.free_port(), user="admin", password=secrets.token_urlsafe(12)
    )
    run = Run(workdir, instance)
    ok = False
    try:
        run.processes["ollama"], run.ollama_url = dev.start_simulated_ollama()
        say(f"simulated Ollama (--demo) on {run.ollama_url}")
        dev.seed_http(instance)
        dev.seed_onboarding(instance)
        dev.seed_user(instance, quiet=True)
        asyncio.run(asyncio.wait_for(main_async(run), TIMEOUT))
        ok = True
    except (Exception, SystemExit) as err:
        expected = isinstance(err, (E2EError, SystemExit, TimeoutError))
        reason = f"{type(err).__name__}: {err}" if not expected else err
        if isinstance(err, TimeoutError):
            reason = f"timed out after {TIMEOUT:.0f} s"
        print(f"\033[1;31m[e2e-satellite] FAILED:\033[0m {reason}", file=sys.stderr)
        run.print_logs()
        if not expected:
            raise
    finally:
        run.stop()
        if ok and not KEEP:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"kept the temporary folder: {workdir}")
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.timings.items())
    say(f"{'passed' if ok else 'failed'} in {time.monotonic() - run.started:.1f} s ({timings})")
    return 0 if ok else 1


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
