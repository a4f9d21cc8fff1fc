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


async def _async_translated(
    hass: HomeAssistant, language: str, category: str, key: str, placeholders: dict[str, str] | None
) -> str | None:
    """Return ``component.alice_voice.<category>.<key>`` in ``language``, else English."""
    full_key = f"component.{DOMAIN}.{category}.{key}"
    for lang in (language, "en"):
        strings = await translation.async_get_translations(hass, lang, category, [DOMAIN])
        if (text := strings.get(full_key)) is not None:
            for name, value in (placeholders or {}).items():
                text = text.replace(f"{{{name}}}", value)
            return text
    return None


async def async_localized_message(
    hass: HomeAssistant, language: str, key: str, placeholders: dict[str, str] | None = None
) -> str:
    """Return the error message ``exceptions.<key>.message`` (the key if missing)."""
    text = await _async_translated(hass, language, "exceptions", f"{key}.message", placeholders)
    return key if text is None else text


async def async_phrase(
    hass: HomeAssistant, language: str, key: str, placeholders: dict[str, str] | None = None
) -> str:
    """Return one of Alice's spoken phrases, ``phrases.<key>`` (the key if missing)."""
    text = await _async_translated(hass, language, "phrases", key, placeholders)
    return key if text is None else text


def with_home_time(hass: HomeAssistant, context: Mapping[str, Any] | None) -> dict[str, Any]:
    """A router context with Home Assistant's clock and time zone, unless it has its own."""
    result = dict(context or {})
    result.setdefault("time_zone", hass.config.time_zone)
    result.setdefault("now", dt_util.now())
    return result
