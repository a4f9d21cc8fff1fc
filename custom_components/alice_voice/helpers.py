"""Small Home Assistant helpers shared by Alice's modules."""

from collections.abc import Mapping
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation
from homeassistant.util import dt as dt_util

from .const import DOMAIN


def host_of(url: str) -> str:
    """Return the host part of a URL, without credentials, for messages and logs."""
    return url.split("://", 1)[-1].rsplit("@", 1)[-1].rstrip("/")


async def async_localized_message(
    hass: HomeAssistant, language: str, key: str, placeholders: dict[str, str] | None = None
) -> str:
    """The message ``exceptions.<key>.message`` in ``language``, else English (else the key)."""
    full_key = f"component.{DOMAIN}.exceptions.{key}.message"
    for lang in (language, "en"):
        strings = await translation.async_get_translations(hass, lang, "exceptions", [DOMAIN])
        if (text := strings.get(full_key)) is not None:
            for name, value in (placeholders or {}).items():
                text = text.replace(f"{{{name}}}", value)
            return text
    return key


def with_home_time(hass: HomeAssistant, context: Mapping[str, Any] | None) -> dict[str, Any]:
    """A router context with Home Assistant's clock and time zone, unless it has its own."""
    result = dict(context or {})
    result.setdefault("time_zone", hass.config.time_zone)
    result.setdefault("now", dt_util.now())
    return result
