"""The Lovelace card: serve ``www/`` and load the card on every frontend page.

``alice-voice-card.js`` is plain JavaScript with no build step, so the file
served is the file in the repository. Its URL carries a hash of its content:
the static path is served with long cache headers, and a changed card gets a
new URL, so browsers never keep an old one. Nothing is registered when the
``frontend`` integration is not loaded (it is an after-dependency, so when it is
configured it is set up before Alice).
"""

import hashlib
from pathlib import Path
from typing import Final

from homeassistant.components.frontend import add_extra_js_url
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant

from .const import LOGGER

URL_BASE: Final = "/alice_voice/www"
CARD_FILE: Final = "alice-voice-card.js"
WWW: Final = Path(__file__).parent / "www"


def card_version(path: Path = WWW / CARD_FILE) -> str:
    """A short hash of the card's content, for cache busting (reads the file: executor)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


async def async_setup_frontend(hass: HomeAssistant) -> None:
    """Serve the card and add it to every frontend page (from ``async_setup``)."""
    if "frontend" not in hass.config.components:
        LOGGER.debug("The frontend is not loaded: the Alice Voice card is not registered")
        return
    version = await hass.async_add_executor_job(card_version)
    await hass.http.async_register_static_paths(
        [StaticPathConfig(URL_BASE, str(WWW), cache_headers=True)]
    )
    add_extra_js_url(hass, f"{URL_BASE}/{CARD_FILE}?v={version}")
