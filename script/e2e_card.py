"""Browser test of the Alice Voice card: real Home Assistant, headless Chromium.

Called by ``script/e2e_card`` (which installs Chromium and Playwright). Steps:

1. A fresh temporary config folder, seeded with ``script/dev.py``'s functions
   (HTTP on a free 127.0.0.1 port, onboarding done, the admin login, Alice with
   the words allowed in the HUD, the demo devices), a YAML dashboard holding the
   card twice (full and compact), and the simulated Ollama (``--demo``).
2. ``hass`` starts; the script logs in, waits for Alice and puts the demo
   devices in their Swedish areas, then talks to her over the REST API
   (``POST /api/conversation/process``) and reads her HUD picture over the
   websocket API, as the card does.
3. Chromium opens the dashboard: the card must show the status, the route, the
   intent, the latency and the words of that turn; a turn taken while the page is
   open must appear without a reload; the visual editor must offer Alice. The
   English labels and the dark theme are checked in a second context.
   Screenshots are written to ``e2e-artifacts/``.
4. The page is loaded ``ALICE_E2E_RELOADS`` (20) more times, half of them with
   an empty cache: the card must be defined and show its content every time
   (the registration race of ``testing.md`` §5 would leave "Custom element
   doesn't exist").

Only the processes it started are stopped. On failure it prints why, the end of
Home Assistant's log, keeps the temporary folder and exits 1.
"""

import asyncio
import contextlib
from dataclasses import dataclass, field
import json
import math
import os
from pathlib import Path
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp
import dev  # script/dev.py: seeding, login and the simulated Ollama
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

REPO = dev.REPO
ARTIFACTS = REPO / "e2e-artifacts"
CHROMIUM = os.environ.get("ALICE_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
RELOADS = int(os.environ.get("ALICE_E2E_RELOADS", "20"))
TIMEOUT = float(os.environ.get("ALICE_E2E_TIMEOUT", "240"))
KEEP = os.environ.get("ALICE_E2E_KEEP") == "1"

AGENT = "conversation.alice"
DASHBOARD = "alice-test"
VIEW = "alice"
FULL = "alice-voice-card:not([compact])"
COMPACT = "alice-voice-card[compact]"
# What Alice hears: before the page is open, then while it is.
TURNS_BEFORE = ("vad är klockan", "tänd i köket")
TURN_LIVE = "släck i köket"

# The few labels the checks expect (the card's own tables are in its JS).
SV: dict[str, Any] = {
    "idle": "Vilar",
    "paths": {"fast": "Snabb", "think": "Tänk", "hybrid": "Hybrid"},
    "reasons": {"simple_intent": "enkel avsikt", "complex_intent": "komplex avsikt"},
    "DEVICE_CONTROL": "Styra enheter",
    "ok": "OK",
}
EN: dict[str, Any] = {
    "idle": "Idle",
    "paths": {"fast": "Fast", "think": "Think"},
    "DEVICE_CONTROL": "Device control",
}

CONFIGURATION = """\
# Written by script/e2e_card for one run; the folder is temporary.
homeassistant:
  name: Alice E2E
  latitude: 59.3293
  longitude: 18.0686
  elevation: 20
  unit_system: metric
  time_zone: UTC
  country: SE
  language: sv
  currency: SEK

logger:
  default: warning
  logs:
    custom_components.alice_voice: info

frontend:
api:
recorder:
conversation:
assist_pipeline:

lovelace:
  dashboards:
    {dashboard}:
      mode: yaml
      title: Alice
      icon: mdi:account-voice
      show_in_sidebar: true
      filename: {dashboard}.yaml
"""

DASHBOARD_YAML = """\
title: Alice
views:
  - title: Alice
    path: {view}
    cards:
      - type: custom:alice-voice-card
        agent: {agent}
      - type: custom:alice-voice-card
        agent: {agent}
        compact: true
"""


class E2EError(Exception):
    """A check failed; the message says which and why."""


def say(message: str) -> None:
    """Print a line of the test's own output."""
    print(f"\033[1;36m[e2e]\033[0m {message}", flush=True)


def check(condition: object, message: str) -> None:
    """Fail the run with ``message`` unless ``condition`` holds."""
    if not condition:
        raise E2EError(message)


def js_ms(value: float) -> str:
    """A latency as the card writes it (JavaScript's Math.round, below 10 s)."""
    return f"{math.floor(value + 0.5)} ms"


def squeeze(text: str) -> str:
    """Text with every run of whitespace (no-break spaces too) as one space."""
    return " ".join(text.split())


@dataclass
class Run:
    """What one run started and where it keeps its files."""

    workdir: Path
    instance: dev.Instance
    simulator: subprocess.Popen[bytes] | None = None
    hass: subprocess.Popen[bytes] | None = None
    hass_output: Path | None = None
    tokens: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    noise: list[str] = field(default_factory=list)

    @property
    def token(self) -> str:
        """The admin's access token."""
        return str(self.tokens["access_token"])

    def stop(self) -> None:
        """Stop Home Assistant and the simulator, if this run started them."""
        if self.hass is not None and self.hass.poll() is None:
            self.hass.send_signal(signal.SIGTERM)
            try:
                code = self.hass.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say("Home Assistant did not stop within 30 s; killing it")
                self.hass.kill()
                self.hass.wait(timeout=10)
            else:
                if code != 0:
                    say(f"Home Assistant stopped with exit code {code}")
        if self.simulator is not None and self.simulator.poll() is None:
            self.simulator.terminate()
            try:
                self.simulator.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.simulator.kill()
                self.simulator.wait(timeout=10)

    def print_logs(self, lines: int = 80) -> None:
        """The end of Home Assistant's output: its log, and any crash (after a failure)."""
        path = self.hass_output
        if path is None or not path.exists():
            return
        tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        print(f"----- last {len(tail)} lines of {path} -----", file=sys.stderr)
        print("\n".join(tail), file=sys.stderr)
        print("----- end of Home Assistant's output -----", file=sys.stderr)


# --- Home Assistant ----------------------------------------------------------------------


def prepare(run: Run) -> None:
    """Config files, .storage and the simulated Ollama."""
    config = run.workdir
    (config / "configuration.yaml").write_text(
        CONFIGURATION.format(dashboard=DASHBOARD), encoding="utf-8"
    )
    (config / f"{DASHBOARD}.yaml").write_text(
        DASHBOARD_YAML.format(view=VIEW, agent=AGENT), encoding="utf-8"
    )
    run.simulator, ollama_url = dev.start_simulated_ollama()
    sys.path.insert(0, str(REPO))
    from custom_components.alice_voice.const import CONF_EVENT_TRANSCRIPTS  # noqa: PLC0415 - after sys.path

    # The words in the HUD: the card shows what was said and answered.
    dev.seed(run.instance, ollama_url, {CONF_EVENT_TRANSCRIPTS: True}, quiet=True)


def start_hass(run: Run) -> None:
    """Start hass on the prepared folder, its output in ``hass.out`` there."""
    run.hass_output = run.workdir / "hass.out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with run.hass_output.open("wb") as output:
        run.hass = subprocess.Popen(
            [str(dev.VENV_BIN / "hass"), "-c", str(run.workdir), "--skip-pip"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    run.timings["hass started"] = time.monotonic()


async def hass_ready(run: Run, session: aiohttp.ClientSession) -> None:
    """Wait until hass answers, log in, wait for Alice and seed the home."""
    assert run.hass is not None
    started = run.timings.pop("hass started")
    await dev.wait_ready(session, run.hass, run.instance, within=90)
    run.timings["hass answers"] = time.monotonic() - started
    run.tokens = await dev.login_tokens(session, run.instance)
    await wait_for_alice(run, session)
    run.timings["Alice loaded"] = time.monotonic() - started
    # The kitchen light is all the turns need (the demo's media players have no device).
    alice = await dev.seed_home(session, run.token, run.instance, wait_for=("Kitchen Lights",))
    check(alice.get("agent") == AGENT, f"Alice's agent is {alice.get('agent')!r}, not {AGENT}")
    run.timings["hass ready"] = time.monotonic() - started


async def wait_for_alice(run: Run, session: aiohttp.ClientSession, within: float = 60) -> None:
    """Wait until Alice's entry is loaded and her agent has a state."""
    base, headers = run.instance.base, {"Authorization": f"Bearer {run.token}"}
    state = "missing"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with session.get(
            f"{base}/api/config/config_entries/entry",
            params={"domain": "alice_voice"},
            headers=headers,
        ) as response:
            entries = await response.json() if response.status == 200 else []
        state = entries[0]["state"] if entries else "missing"
        if state == "loaded":
            async with session.get(f"{base}/api/states/{AGENT}", headers=headers) as response:
                if response.status == 200:
                    return
        elif state in ("setup_error", "setup_retry", "failed_unload"):
            reason = entries[0].get("reason") or "see the log"
            raise E2EError(f"Alice's entry did not load ({state}): {reason}")
        await asyncio.sleep(0.25)
    raise E2EError(f"Alice was not ready within {within:.0f} s (entry: {state})")


async def converse(run: Run, session: aiohttp.ClientSession, text: str) -> str:
    """One turn through the REST API, as a script or a phone would; return the answer."""
    async with session.post(
        f"{run.instance.base}/api/conversation/process",
        json={"text": text, "language": "sv", "agent_id": AGENT},
        headers={"Authorization": f"Bearer {run.token}"},
        timeout=aiohttp.ClientTimeout(30),
    ) as response:
        body = await response.json()
        check(response.status == 200, f"conversation/process {text!r}: {response.status} {body}")
    speech = str(body["response"]["speech"].get("plain", {}).get("speech", ""))
    check(speech, f"Alice answered {text!r} with nothing: {body}")
    say(f"  Alice heard {text!r} and answered {speech!r}")
    return speech


async def hud_picture(run: Run, session: aiohttp.ClientSession) -> dict[str, Any]:
    """Alice's HUD picture, read over the same websocket subscription the card uses."""
    async with session.ws_connect(f"{run.instance.base}/api/websocket") as ws:
        await ws.receive_json(timeout=10)
        await ws.send_json({"type": "auth", "access_token": run.token})
        check((await ws.receive_json(timeout=10))["type"] == "auth_ok", "websocket auth failed")
        await ws.send_json({"id": 1, "type": "alice_voice/subscribe", "agent_id": AGENT})
        result = await ws.receive_json(timeout=10)
        check(result.get("success"), f"alice_voice/subscribe failed: {result}")
        event = await ws.receive_json(timeout=10)
        picture: dict[str, Any] = event["event"]
    return picture


# --- the browser -------------------------------------------------------------------------


async def new_context(
    run: Run, browser: Browser, language: str, color_scheme: str = "light"
) -> BrowserContext:
    """A logged-in browser context with the frontend in ``language``."""
    expires_in = int(run.tokens["expires_in"])
    tokens = {
        "access_token": run.token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": run.tokens["refresh_token"],
        "hassUrl": run.instance.base,
        "clientId": run.instance.client_id,
        "expires": int(time.time() * 1000) + expires_in * 1000,
    }
    context = await browser.new_context(
        viewport={"width": 1100, "height": 1000},
        locale="sv-SE" if language == "sv" else "en-US",
        color_scheme="dark" if color_scheme == "dark" else "light",
    )
    await context.add_init_script(
        f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
        f"localStorage.setItem('selectedLanguage', {json.dumps(json.dumps(language))});"
    )
    return context


def watch_noise(run: Run, page: Page) -> None:
    """Record errors and warnings that come from the card (it must make none)."""

    def on_console(message: ConsoleMessage) -> None:
        where = str(message.location.get("url", ""))
        if message.type in ("error", "warning") and (
            "alice" in message.text.lower() or "alice-voice-card" in where
        ):
            run.noise.append(f"console {message.type}: {message.text} ({where})")

    def on_page_error(error: Exception) -> None:
        if "alice" in str(error).lower():
            run.noise.append(f"page error: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)


async def open_dashboard(run: Run, page: Page) -> None:
    """Open the test dashboard and wait until both cards show content."""
    await page.goto(f"{run.instance.base}/{DASHBOARD}/{VIEW}", wait_until="domcontentloaded")
    await wait_for_cards(page)


async def wait_for_cards(page: Page, within_ms: float = 20000) -> None:
    """Both cards defined and showing Alice's picture, or a clear error."""
    try:
        for card in (FULL, COMPACT):
            await page.locator(f"{card} #content").wait_for(state="visible", timeout=within_ms)
    except Exception as err:
        # What the error cards say is in their shadow roots.
        errors = await page.locator("hui-error-card").evaluate_all(
            "cards => cards.map((card) => (card.shadowRoot ?? card).textContent.trim())"
        )
        errors = [squeeze(error) for error in errors]
        with contextlib.suppress(Exception):
            await page.screenshot(path=ARTIFACTS / "failed-load.png")
        message = await page.locator("alice-voice-card #message").all_inner_texts()
        raise E2EError(
            f"the card did not show its content within {within_ms / 1000:.0f} s"
            f" (screenshot: {ARTIFACTS.relative_to(REPO)}/failed-load.png)"
            f" (error cards: {errors or 'none'}; card message: {message or 'none'}): {err}"
        ) from err


async def text_of(page: Page, selector: str) -> str:
    """The squeezed text of one element inside the full card."""
    return squeeze(await page.locator(f"{FULL} {selector}").inner_text(timeout=5000))


async def check_card(page: Page, agent: dict[str, Any], labels: dict[str, Any]) -> None:
    """The full card shows the agent's state, route, intent, latency and words."""
    last = agent["last"]
    state = await text_of(page, "#state")
    check(state.startswith(labels["idle"]), f"status {state!r}, expected {labels['idle']!r}")
    indicator = await page.locator(FULL).get_attribute("data-state")
    check(indicator == "idle", f"the indicator is {indicator!r}, expected 'idle'")

    route = await text_of(page, "#route")
    path = labels["paths"][last["path"]]
    check(route.startswith(path), f"route {route!r}, expected it to start with {path!r}")
    if reason := labels.get("reasons", {}).get(last["reason"]):
        check(reason in route, f"route {route!r}, expected the reason {reason!r}")

    intent = await text_of(page, "#intent")
    check(labels["DEVICE_CONTROL"] in intent, f"intent {intent!r}, expected device control")
    confidence = math.floor(last["confidence"] * 100 + 0.5)
    check(str(confidence) in intent, f"intent {intent!r}, expected the confidence {confidence}")

    for kind, value in last["latency_ms"].items():
        shown = await text_of(page, f"#latency-{kind}")
        if value < 10000:
            check(shown == js_ms(value), f"{kind} latency {shown!r}, expected {js_ms(value)!r}")
    check(
        await page.locator(f"{FULL} #sparkline svg polyline").count() == 1,
        "the card has no sparkline",
    )
    compact_route = squeeze(await page.locator(f"{COMPACT} #route").inner_text(timeout=5000))
    check(compact_route == route, f"the compact card's route {compact_route!r} != {route!r}")
    check(await page.locator(f"{COMPACT} #tools").count() == 0, "the compact card shows the tools")


async def check_swedish(run: Run, browser: Browser, session: aiohttp.ClientSession) -> None:
    """The dashboard in Swedish: the turn, a live turn, the editor, screenshots."""
    context = await new_context(run, browser, "sv")
    page = await context.new_page()
    watch_noise(run, page)
    started = time.monotonic()
    await open_dashboard(run, page)
    run.timings["first load"] = time.monotonic() - started
    language = await page.evaluate("document.querySelector('home-assistant').hass.language")
    check(language == "sv", f"the frontend's language is {language!r}, expected 'sv'")

    picture = await hud_picture(run, session)
    agent = picture["agents"][AGENT]
    last = agent["last"]
    check(last["intent"] == "DEVICE_CONTROL", f"Alice routed {TURNS_BEFORE[-1]!r} as {last}")
    await check_card(page, agent, SV)
    utterance = await text_of(page, "#utterance")
    check(TURNS_BEFORE[-1] in utterance, f"utterance {utterance!r}")
    backend = await text_of(page, "#backend-ollama")
    check(backend == f"Ollama {SV['ok']}", f"Ollama's health shows {backend!r}")
    say(
        f"  card: {await text_of(page, '#state')} | {await text_of(page, '#route')} | "
        f"{await text_of(page, '#intent')} | {await text_of(page, '#latency-end_to_end')}"
    )

    # A turn while the page is open reaches the card through the subscription.
    answer = await converse(run, session, TURN_LIVE)
    turns = len(TURNS_BEFORE) + 1
    await page.locator(f"{FULL} #footer").filter(has_text=f"{turns} turer").wait_for(timeout=10000)
    check(TURN_LIVE in await text_of(page, "#utterance"), "the live turn's words are not shown")
    check(answer in await text_of(page, "#response"), "the live turn's answer is not shown")

    await check_editor(page)
    await page.locator(FULL).screenshot(path=ARTIFACTS / "alice-voice-card.png")
    await page.locator(COMPACT).screenshot(path=ARTIFACTS / "alice-voice-card-compact.png")
    await page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

    await context.close()


async def check_registration(run: Run, browser: Browser) -> None:
    """The registration race: every load must define the card and show it.

    Odd loads come with an empty cache (a new context), even ones are reloads
    from the cache. The race shows mostly on cold loads: a card defined before
    Home Assistant's app failed 4 of 8 of them and 1 of 8 reloads here.
    """
    started = time.monotonic()
    context: BrowserContext | None = None
    page: Page | None = None
    try:
        for attempt in range(1, RELOADS + 1):
            if attempt % 2:
                if context is not None:
                    await context.close()
                context = await new_context(run, browser, "sv")
                page = await context.new_page()
                watch_noise(run, page)
                await page.goto(
                    f"{run.instance.base}/{DASHBOARD}/{VIEW}", wait_until="domcontentloaded"
                )
            else:
                assert page is not None
                await page.reload(wait_until="domcontentloaded")
            assert page is not None
            try:
                await wait_for_cards(page)
            except E2EError as err:
                raise E2EError(f"load {attempt}/{RELOADS}: {err}") from err
            defined = await page.evaluate("Boolean(customElements.get('alice-voice-card'))")
            check(defined, f"load {attempt}/{RELOADS}: alice-voice-card is not defined")
            check(
                await page.locator("hui-error-card").count() == 0,
                f"load {attempt}/{RELOADS}: an error card is shown",
            )
    finally:
        if context is not None:
            await context.close()
    run.timings[f"{RELOADS} loads"] = time.monotonic() - started


async def check_editor(page: Page) -> None:
    """The visual editor offers Alice's agent and reports a changed option."""
    result = await page.evaluate(
        """() => {
        const hass = document.querySelector("home-assistant").hass;
        const Card = customElements.get("alice-voice-card");
        const stub = Card.getStubConfig(hass);
        const editor = Card.getConfigElement();
        document.body.append(editor);
        editor.hass = hass;
        editor.setConfig(stub);
        const agents = [...editor.shadowRoot.querySelectorAll("#agent option")].map((o) => o.value);
        let changed = null;
        editor.addEventListener("config-changed", (event) => (changed = event.detail.config));
        editor.shadowRoot.querySelector("#compact").click();
        const tag = editor.localName;
        editor.remove();
        return { stub, agents, changed, tag };
    }"""
    )
    check(result["tag"] == "alice-voice-card-editor", f"the editor is <{result['tag']}>")
    check(result["stub"].get("agent") == AGENT, f"the stub config is {result['stub']}")
    check(AGENT in result["agents"], f"the editor offers {result['agents']}")
    check(
        result["changed"] == {"agent": AGENT, "compact": True},
        f"the editor reported {result['changed']}",
    )


async def check_english_dark(run: Run, browser: Browser, session: aiohttp.ClientSession) -> None:
    """English labels (hass.language en) and the dark theme."""
    context = await new_context(run, browser, "en", color_scheme="dark")
    page = await context.new_page()
    watch_noise(run, page)
    await open_dashboard(run, page)
    picture = await hud_picture(run, session)
    agent = picture["agents"][AGENT]
    state = await text_of(page, "#state")
    check(state.startswith(EN["idle"]), f"English status {state!r}")
    route = await text_of(page, "#route")
    check(route.startswith(EN["paths"][agent["last"]["path"]]), f"English route {route!r}")
    await page.locator(FULL).screenshot(path=ARTIFACTS / "alice-voice-card-en-dark.png")
    await context.close()


# --- main ----------------------------------------------------------------------------------


async def main_async(run: Run) -> None:
    """The whole test, against one Home Assistant."""
    async with aiohttp.ClientSession() as session:
        await hass_ready(run, session)
        say(f"Home Assistant and Alice ready in {run.timings['hass ready']:.1f} s")
        for text in TURNS_BEFORE:
            await converse(run, session, text)

        async with async_playwright() as playwright:
            started = time.monotonic()
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            run.timings["browser launch"] = time.monotonic() - started
            try:
                say("checking the card in Swedish, a live turn, the editor, and screenshots")
                await check_swedish(run, browser, session)
                say("checking the English labels in the dark theme")
                await check_english_dark(run, browser, session)
                say(f"loading the dashboard {RELOADS} times: the card must be there every time")
                await check_registration(run, browser)
            finally:
                await browser.close()
    check(not run.noise, "the card wrote to the console:\n  " + "\n  ".join(run.noise))


def main() -> int:
    """Run the test; 0 on success."""
    if not Path(CHROMIUM).exists():
        say(f"no Chromium at {CHROMIUM}: run script/e2e_card, which installs it")
        return 1
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    workdir = Path(tempfile.mkdtemp(prefix="alice-e2e-"))
    instance = dev.Instance(
        config=workdir, port=dev.free_port(), user="admin", password=secrets.token_urlsafe(12)
    )
    run = Run(workdir=workdir, instance=instance)
    started = time.monotonic()
    ok = False
    try:
        prepare(run)
        say(f"starting Home Assistant on {run.instance.base} (config: {run.workdir})")
        start_hass(run)
        asyncio.run(asyncio.wait_for(main_async(run), TIMEOUT))
        ok = True
    except (E2EError, SystemExit, TimeoutError) as err:
        reason = f"timed out after {TIMEOUT:.0f} s" if isinstance(err, TimeoutError) else err
        print(f"\033[1;31m[e2e] FAILED:\033[0m {reason}", file=sys.stderr)
        run.print_logs()
    except Exception as err:
        print(f"\033[1;31m[e2e] FAILED:\033[0m {type(err).__name__}: {err}", file=sys.stderr)
        run.print_logs()
        raise
    finally:
        run.stop()
        if ok and not KEEP:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not ok:
            say(f"kept the temporary config folder for a look: {workdir}")
    timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.timings.items())
    say(f"{'passed' if ok else 'failed'} in {time.monotonic() - started:.1f} s ({timings})")
    if ok:
        say(f"screenshots: {ARTIFACTS.relative_to(REPO)}/")
    return 0 if ok else 1


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
