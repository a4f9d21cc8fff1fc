"""The Lovelace card: served as it is in the repository, loaded on every frontend page.

Without ``home-assistant-frontend`` (not a test requirement) the ``frontend``
integration cannot load, so the first test fakes what Alice needs of it: the
component in ``hass.config.components`` and the extra-module URL manager
(``testing.md`` §2). The browser test (``script/e2e_card``) runs the card in a
real Home Assistant and Chromium.
"""

import hashlib
from pathlib import Path
import re
import shutil
import subprocess

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, UrlManager
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alice_voice.const import DOMAIN
from custom_components.alice_voice.frontend import CARD_FILE, URL_BASE, WWW

CARD = WWW / CARD_FILE
CARD_URL = f"{URL_BASE}/{CARD_FILE}"


def card_source() -> str:
    return CARD.read_text(encoding="utf-8")


async def test_card_is_served_and_loaded_on_every_page(
    hass: HomeAssistant, setup_ha: None, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """With the frontend: a versioned module URL, and the file served byte for byte."""
    added: list[tuple[str, str]] = []
    hass.config.components.add("frontend")
    hass.data[DATA_EXTRA_MODULE_URL] = UrlManager(lambda *change: added.append(change), [])
    # Register before the first client: the HTTP router freezes then.
    assert await async_setup_component(hass, DOMAIN, {})

    content = CARD.read_bytes()
    version = hashlib.sha256(content).hexdigest()[:12]
    url = f"{CARD_URL}?v={version}"
    assert hass.data[DATA_EXTRA_MODULE_URL].urls == frozenset({url})
    assert added == [("added", url)]

    # The page loads extra modules before anyone logs in: no authentication needed.
    client = await hass_client_no_auth()
    response = await client.get(url)
    assert response.status == 200
    assert await response.read() == content
    assert "javascript" in response.headers["Content-Type"]
    assert "max-age" in response.headers.get("Cache-Control", "")


async def test_nothing_is_registered_without_the_frontend(
    hass: HomeAssistant, setup_ha: None, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """No frontend (an after-dependency): no static path, no extra module, no error."""
    assert await async_setup_component(hass, DOMAIN, {})
    assert "frontend" not in hass.config.components
    assert DATA_EXTRA_MODULE_URL not in hass.data

    client = await hass_client_no_auth()
    response = await client.get(CARD_URL)
    assert response.status == 404


def test_card_is_one_dependency_free_file() -> None:
    """No imports and no build step: the shipped file is the source."""
    source = card_source()
    assert sorted(p.name for p in WWW.iterdir()) == [CARD_FILE]
    assert not re.search(r"^\s*(import|export)\b", source, re.MULTILINE)
    assert "import(" not in source
    assert "console." not in source  # no console noise
    assert "setInterval" not in source  # live data comes from the subscription


def test_card_defines_both_elements_after_home_assistant() -> None:
    """Both elements, defined only after home-assistant and only if not yet defined."""
    source = card_source()
    assert 'const CARD_TAG = "alice-voice-card";' in source
    assert 'const EDITOR_TAG = "alice-voice-card-editor";' in source
    registration = source.index('customElements.whenDefined("home-assistant").then(')
    defines = [m.start() for m in re.finditer(r"customElements\.define\(", source)]
    assert defines, "the card defines no element"
    assert all(start > registration for start in defines)
    assert "if (!window.customElements.get(tag)) window.customElements.define(tag, element);" in (
        source
    )
    assert "[CARD_TAG, AliceVoiceCard]" in source
    assert "[EDITOR_TAG, AliceVoiceCardEditor]" in source


def test_card_announces_itself_and_its_editor() -> None:
    """The card picker entry, the visual editor and the live subscription."""
    source = card_source()
    assert "window.customCards.push({\n    type: CARD_TAG," in source
    for field in ("name:", "description:", "preview: true"):
        assert field in source
    assert "static getConfigElement()" in source
    assert "static getStubConfig(hass)" in source
    assert 'type: "alice_voice/subscribe"' in source
    assert ".subscribeMessage(" in source
    assert "disconnectedCallback()" in source


# The card evaluated in Node with the few browser objects it touches: nothing is
# defined until home-assistant is, then both elements once, even when the page
# loads the module twice.
NODE_HARNESS = """
const fs = require("fs");
const vm = require("vm");
const source = fs.readFileSync(process.argv[2], "utf8");
let resolveApp;
const app = new Promise((resolve) => (resolveApp = resolve));
const defined = new Map();
const registry = {
  get: (tag) => defined.get(tag),
  define: (tag, element) => {
    if (defined.has(tag)) throw new Error(`${tag} defined twice`);
    defined.set(tag, element);
  },
  whenDefined: (tag) => (tag === "home-assistant" ? app : new Promise(() => {})),
};
const window = { customElements: registry };
const context = vm.createContext({
  window, customElements: registry, HTMLElement: class {}, CustomEvent: class {},
  document: {}, console,
});
// Each load is a module of its own: a scope of its own, strict.
const asModule = `(function () { "use strict";\n${source}\n})();`;
vm.runInContext(asModule, context);
vm.runInContext(asModule, context);
// Let every pending promise of the modules settle first: still nothing defined.
setTimeout(() => {
  const before = [...defined.keys()];
  resolveApp();
  setTimeout(() => {
    console.log(JSON.stringify({
      before, after: [...defined.keys()].sort(), cards: window.customCards.map((c) => c.type),
      stub: typeof defined.get("alice-voice-card")?.getStubConfig,
    }));
  }, 0);
}, 0);
"""


def test_card_registration_in_a_javascript_engine(tmp_path: Path) -> None:
    """Run the card's registration in Node (when there is one; the e2e test needs none)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on this machine; script/e2e_card runs the card in Chromium")
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS, encoding="utf-8")
    result = subprocess.run(
        [node, str(harness), str(CARD)], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.strip() == (
        '{"before":[],"after":["alice-voice-card","alice-voice-card-editor"],'
        '"cards":["alice-voice-card"],"stub":"function"}'
    )
    assert result.stderr == ""
