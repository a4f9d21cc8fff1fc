"""Run Alice's dev instance: a real Home Assistant on 127.0.0.1 with Alice and demo devices.

Called by ``script/develop``. Before starting ``hass`` it seeds ``config/.storage``:
HTTP bound to 127.0.0.1, onboarding done, the admin user, and config entries for
Alice Voice (connections from the environment), the demo devices and a local
calendar. Once Home Assistant answers, it logs in as the admin and, over the
websocket API, puts the demo devices in Swedish-named areas and creates an
"Alice" Assist pipeline. Then it waits; Ctrl-C stops Home Assistant cleanly.

With no ``OLLAMA_URL`` and nothing listening on 127.0.0.1:11434 it starts the
project's simulated Ollama (scripted answers that switch the demo lights), unless
``ALICE_DEV_SIMULATE=0``: then Alice's entry waits for Ollama and says so.
"""

import asyncio
import base64
from collections.abc import Collection
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import bcrypt
from homeassistant.util.ulid import ulid_now

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config"
VENV_BIN = Path(sys.executable).parent

DEFAULT_OLLAMA = "http://127.0.0.1:11434"


@dataclass(frozen=True, slots=True)
class Instance:
    """A Home Assistant on 127.0.0.1: its config folder, port and admin login.

    ``script/e2e_card`` seeds and drives its own throwaway instance with the
    functions below; ``script/develop`` uses :data:`DEV`.
    """

    config: Path
    port: int
    user: str
    password: str

    @property
    def storage(self) -> Path:
        """The .storage folder."""
        return self.config / ".storage"

    @property
    def base(self) -> str:
        """The URL Home Assistant answers on."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def client_id(self) -> str:
        """The OAuth client id the login uses (the frontend's own)."""
        return f"{self.base}/"


DEV = Instance(
    config=CONFIG,
    port=int(os.environ.get("ALICE_DEV_PORT", "8123")),
    user=os.environ.get("ALICE_DEV_USER", "admin"),
    password=os.environ.get("ALICE_DEV_PASSWORD", "alice-dev"),
)

# Demo device name -> (area, Swedish name)
DEVICES = {
    "Kitchen Lights": ("Kök", "Taklampa"),
    "Kitchen": ("Kök", "Köksradio"),
    "Ceiling Lights": ("Vardagsrum", "Taklampa"),
    "Living Room RGBWW Lights": ("Vardagsrum", "Golvlampa"),
    "Decorative Lights": ("Vardagsrum", "Ljusslinga"),
    "Living Room": ("Vardagsrum", "Högtalare"),
    "Bed Light": ("Sovrum", "Sänglampa"),
    "Office RGBW Lights": ("Sovrum", "Läslampa"),
    "AC": ("Sovrum", "Fläkt"),
    "Bedroom": ("Sovrum", "TV"),
}
AREAS = ("Kök", "Vardagsrum", "Sovrum", "Hall")


def say(message: str) -> None:
    """Print a line of the script's own output."""
    print(f"\033[1;35m[develop]\033[0m {message}", flush=True)


def now_iso() -> str:
    """The current time, as HA's storage writes it."""
    return datetime.now(UTC).isoformat()


def read_store(instance: Instance, key: str) -> dict[str, Any] | None:
    """Return a .storage file's content, or None."""
    path = instance.storage / key
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def write_store(
    instance: Instance, key: str, version: int, minor: int, data: dict[str, Any]
) -> None:
    """Write a .storage file in Home Assistant's format."""
    instance.storage.mkdir(parents=True, exist_ok=True)
    payload = {"version": version, "minor_version": minor, "key": key, "data": data}
    (instance.storage / key).write_text(
        json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8"
    )


def port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- seeding ------------------------------------------------------------------------------


def seed_http(instance: Instance) -> None:
    """Bind to 127.0.0.1 only, with no pending trial config (see testing.md)."""
    write_store(
        instance,
        "http",
        2,
        2,
        {
            "stable": {
                "server_host": ["127.0.0.1"],
                "server_port": instance.port,
                "cors_allowed_origins": ["https://cast.home-assistant.io"],
                "login_attempts_threshold": -1,
                "ip_ban_enabled": True,
                "ssl_profile": "modern",
                "use_x_frame_options": True,
                "created_at": "2026-01-01T00:00:00+00:00",
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    )


def seed_onboarding(instance: Instance) -> None:
    """Skip onboarding: its core_config step would add integrations that need the internet."""
    write_store(
        instance, "onboarding", 4, 1, {"done": ["user", "core_config", "analytics", "integration"]}
    )


def seed_user(instance: Instance, *, quiet: bool = False) -> None:
    """Create the admin login, or reset its password to the requested one."""
    store = read_store(instance, "auth_provider.homeassistant")
    users = store["data"]["users"] if store else []
    existing = next((u for u in users if u["username"] == instance.user), None)
    if existing is not None and bcrypt.checkpw(
        instance.password.encode(), base64.b64decode(existing["password"])
    ):
        return
    command = "change_password" if existing else "add"
    if not quiet:
        say(f"{'updating' if existing else 'creating'} the login {instance.user!r}")
    subprocess.run(
        [
            str(VENV_BIN / "hass"),
            "--script",
            "auth",
            "-c",
            str(instance.config),
            command,
            instance.user,
            instance.password,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _entry(domain: str, title: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "created_at": now_iso(),
        "data": data,
        "disabled_by": None,
        "discovery_keys": {},
        "domain": domain,
        "entry_id": ulid_now(),
        "minor_version": 1,
        "modified_at": now_iso(),
        "options": {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": title,
        "unique_id": None,
        "version": 1,
        **extra,
    }


def seed_config_entries(
    instance: Instance, ollama_url: str, agent_options: dict[str, Any] | None = None
) -> None:
    """Upsert the Alice Voice, demo and local calendar entries.

    ``agent_options`` change a new agent's defaults (the e2e test lets the card
    show the words).
    """
    sys.path.insert(0, str(REPO))
    from custom_components.alice_voice.const import (  # noqa: PLC0415 - after sys.path
        CONF_LANGUAGE,
        CONF_OLLAMA_URL,
        CONF_OPENAI_API_KEY,
        CONF_OPENAI_BASE_URL,
        DEFAULT_CONVERSATION_OPTIONS,
        DOMAIN,
    )

    store = read_store(instance, "core.config_entries")
    entries: list[dict[str, Any]] = store["data"]["entries"] if store else []
    by_domain = {entry["domain"]: entry for entry in entries}

    alice_data: dict[str, Any] = {CONF_OLLAMA_URL: ollama_url}
    if key := os.environ.get("OPENAI_API_KEY"):
        alice_data[CONF_OPENAI_API_KEY] = key
    if base := os.environ.get("OPENAI_BASE_URL"):
        alice_data[CONF_OPENAI_BASE_URL] = base
    if (alice := by_domain.get(DOMAIN)) is None:
        alice = _entry(DOMAIN, "Alice Voice (dev)", alice_data)
        entries.append(alice)
    else:
        alice["data"] = alice_data
        alice["modified_at"] = now_iso()
    if not alice["subentries"]:
        alice["subentries"].append(
            {
                "data": {
                    **DEFAULT_CONVERSATION_OPTIONS,
                    CONF_LANGUAGE: "sv",
                    "llm_hass_api": ["assist"],
                    **(agent_options or {}),
                },
                "subentry_id": ulid_now(),
                "subentry_type": "conversation",
                "title": "Alice",
                "unique_id": None,
            }
        )
    if "demo" not in by_domain:
        entries.append(_entry("demo", "Demo", {}, source="import"))
    if "local_calendar" not in by_domain:
        entries.append(
            _entry(
                "local_calendar",
                "Familjen",
                {"calendar_name": "Familjen", "import": "create_empty", "storage_key": "familjen"},
            )
        )
    write_store(instance, "core.config_entries", 1, 5, {"entries": entries})


def seed(
    instance: Instance,
    ollama_url: str,
    agent_options: dict[str, Any] | None = None,
    *,
    quiet: bool = False,
) -> None:
    """Everything ``hass`` needs in .storage before it starts."""
    seed_http(instance)
    seed_onboarding(instance)
    seed_user(instance, quiet=quiet)
    seed_config_entries(instance, ollama_url, agent_options)


# --- after start: areas, device names, pipeline --------------------------------------


async def wait_ready(
    session: aiohttp.ClientSession,
    hass: subprocess.Popen[bytes],
    instance: Instance,
    within: float = 300,
) -> None:
    """Wait until the frontend answers (or hass died), up to ``within`` seconds."""
    for _ in range(int(within * 2)):
        if hass.poll() is not None:
            raise SystemExit(f"Home Assistant exited early with code {hass.returncode}")
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(
                f"{instance.base}/manifest.json", timeout=aiohttp.ClientTimeout(2)
            ) as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.5)
    raise SystemExit(f"Home Assistant did not answer within {within:.0f} s")


async def login_tokens(session: aiohttp.ClientSession, instance: Instance) -> dict[str, Any]:
    """Log in as the admin through the login flow; return the token response."""
    async with session.post(
        f"{instance.base}/auth/login_flow",
        json={
            "client_id": instance.client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": instance.client_id,
        },
    ) as response:
        flow = await response.json()
    async with session.post(
        f"{instance.base}/auth/login_flow/{flow['flow_id']}",
        json={
            "client_id": instance.client_id,
            "username": instance.user,
            "password": instance.password,
        },
    ) as response:
        result = await response.json()
    if result.get("type") != "create_entry":
        raise SystemExit(f"Could not log in as {instance.user!r}: {result.get('errors')}")
    async with session.post(
        f"{instance.base}/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": result["result"],
            "client_id": instance.client_id,
        },
    ) as response:
        tokens: dict[str, Any] = await response.json()
    return tokens


async def login(session: aiohttp.ClientSession, instance: Instance) -> str:
    """Log in as the admin through the login flow; return an access token."""
    return str((await login_tokens(session, instance))["access_token"])


class Websocket:
    """A minimal Home Assistant websocket API client."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated connection."""
        self.ws = ws
        self.next_id = 1

    async def call(self, message_type: str, **data: Any) -> Any:
        """Send a command and return its result."""
        message_id = self.next_id
        self.next_id += 1
        await self.ws.send_json({"id": message_id, "type": message_type, **data})
        while True:
            reply = await self.ws.receive_json(timeout=30)
            if reply.get("id") == message_id and reply.get("type") == "result":
                if not reply["success"]:
                    raise RuntimeError(f"{message_type}: {reply['error']}")
                return reply["result"]


async def seed_home(
    session: aiohttp.ClientSession,
    token: str,
    instance: Instance,
    wait_for: Collection[str] = tuple(DEVICES),
) -> dict[str, Any]:
    """Areas, Swedish device names and the Alice pipeline; return Alice's state.

    Waits up to 10 s for the demo devices named in ``wait_for`` to appear.
    """
    async with session.ws_connect(f"{instance.base}/api/websocket") as raw:
        await raw.receive_json()
        await raw.send_json({"type": "auth", "access_token": token})
        if (await raw.receive_json())["type"] != "auth_ok":
            raise SystemExit("Websocket authentication failed")
        ws = Websocket(raw)

        areas = {a["name"]: a["area_id"] for a in await ws.call("config/area_registry/list")}
        for name in AREAS:
            if name not in areas:
                areas[name] = (await ws.call("config/area_registry/create", name=name))["area_id"]

        # Demo devices appear while the demo entry sets up: wait for them briefly.
        for _ in range(40):
            devices = await ws.call("config/device_registry/list")
            if sum(d["name"] in wait_for for d in devices) >= len(wait_for):
                break
            await asyncio.sleep(0.25)
        for device in devices:
            if (target := DEVICES.get(device["name"])) is None:
                continue
            area, name = target
            if device["area_id"] != areas[area] or device["name_by_user"] != name:
                await ws.call(
                    "config/device_registry/update",
                    device_id=device["id"],
                    area_id=areas[area],
                    name_by_user=name,
                )

        entities = await ws.call("config/entity_registry/list")
        # Weather and locks are not exposed to Assist by default: expose the demo
        # weather and the front door (configuration.yaml), so "hur är vädret?" and the
        # unlock confirmation can be tried.
        shown = [
            e["entity_id"]
            for e in entities
            if (e["platform"] == "demo" and e["entity_id"].startswith("weather."))
            or e["unique_id"] == "alice_dev_ytterdorren"
        ]
        for entity in entities:
            if entity["unique_id"] == "alice_dev_ytterdorren" and not entity["area_id"]:
                await ws.call(
                    "config/entity_registry/update",
                    entity_id=entity["entity_id"],
                    area_id=areas["Hall"],
                )
        if shown:
            await ws.call(
                "homeassistant/expose_entity",
                assistants=["conversation"],
                entity_ids=shown,
                should_expose=True,
            )
        agent = next(
            (
                e["entity_id"]
                for e in entities
                if e["platform"] == "alice_voice" and e["entity_id"].startswith("conversation.")
            ),
            None,
        )
        entries = await ws.call("config_entries/get", domain="alice_voice")
        alice = entries[0] if entries else {}
        if agent is not None:
            pipelines = await ws.call("assist_pipeline/pipeline/list")
            pipeline = next((p for p in pipelines["pipelines"] if p["name"] == "Alice"), None)
            if pipeline is None:
                pipeline = await ws.call(
                    "assist_pipeline/pipeline/create",
                    name="Alice",
                    language="sv",
                    conversation_engine=agent,
                    conversation_language="sv",
                    stt_engine=None,
                    stt_language=None,
                    tts_engine=None,
                    tts_language=None,
                    tts_voice=None,
                    wake_word_entity=None,
                    wake_word_id=None,
                    prefer_local_intents=True,
                )
            if pipelines.get("preferred_pipeline") != pipeline["id"]:
                await ws.call("assist_pipeline/pipeline/set_preferred", pipeline_id=pipeline["id"])
        return {"agent": agent, **alice}


# --- main ---------------------------------------------------------------------------------


def start_simulated_ollama() -> tuple[subprocess.Popen[bytes], str]:
    """Start the project's simulated Ollama with the demo script."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.ollama", "--port", str(port), "--demo"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if port_in_use(port):
            break
        if process.poll() is not None:
            raise SystemExit("The simulated Ollama did not start")
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def choose_ollama() -> tuple[str, subprocess.Popen[bytes] | None, str]:
    """Return (url, simulated process or None, a line describing it)."""
    if url := os.environ.get("OLLAMA_URL"):
        return url.rstrip("/"), None, f"Ollama: {url} (from OLLAMA_URL)"
    if port_in_use(11434):
        return DEFAULT_OLLAMA, None, f"Ollama: {DEFAULT_OLLAMA}"
    if os.environ.get("ALICE_DEV_SIMULATE", "1") == "0":
        return (
            DEFAULT_OLLAMA,
            None,
            f"Ollama: nothing at {DEFAULT_OLLAMA}; Alice will wait for it and say so",
        )
    process, url = start_simulated_ollama()
    return (
        url,
        process,
        (
            f"Ollama: none found, so the SIMULATED Ollama runs at {url} (scripted answers: "
            "'tänd/släck i köket'); set OLLAMA_URL for a real one, ALICE_DEV_SIMULATE=0 for none"
        ),
    )


async def after_start(hass: subprocess.Popen[bytes], ollama_line: str) -> None:
    """Seed the running instance and print how to use it."""
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, hass, DEV)
        token = await login(session, DEV)
        alice = await seed_home(session, token, DEV)
    state = alice.get("state", "missing")
    say("")
    say(f"Home Assistant: {DEV.base}")
    say(f"Login:          {DEV.user} / {DEV.password}")
    say(ollama_line)
    if state == "loaded" and alice.get("agent"):
        say(f"Alice:          {alice['agent']} is ready; Assist pipeline 'Alice' is preferred")
    else:
        reason = alice.get("reason") or "see the log above"
        say(f"Alice:          not ready ({state}): {reason}")
    say("Stop with Ctrl-C.")


def run() -> int:
    """Seed, start hass, seed the running instance, wait."""
    if port_in_use(DEV.port):
        say(f"port {DEV.port} is in use; set ALICE_DEV_PORT to another port")
        return 1
    ollama_url, simulated, ollama_line = choose_ollama()
    seed(DEV, ollama_url)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = 0
    try:
        while True:
            say(f"starting Home Assistant {DEV.base} (config: {CONFIG.relative_to(REPO)}/)")
            hass = subprocess.Popen(
                [str(VENV_BIN / "hass"), "-c", str(CONFIG), "--skip-pip"], cwd=REPO, env=env
            )
            try:
                asyncio.run(after_start(hass, ollama_line))
                code = hass.wait()
            except KeyboardInterrupt:
                say("stopping Home Assistant")
                hass.send_signal(signal.SIGTERM)
                code = hass.wait(timeout=60)
                return 0
            if code != 100:  # 100 = restart requested from the UI
                return code
    finally:
        if simulated is not None:
            simulated.terminate()
            simulated.wait(timeout=10)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: SIGTERM stops the instance like Ctrl-C does."""
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(run())


if __name__ == "__main__":
    main()
