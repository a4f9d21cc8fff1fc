"""Small Home Assistant helpers shared by Alice's platforms."""

from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation

from .const import DOMAIN


def host_of(url: str) -> str:
    """Return the host part of a URL, without credentials, for messages and logs."""
    return url.split("://", 1)[-1].rsplit("@", 1)[-1].rstrip("/")


async def async_localized_message(
    hass: HomeAssistant, language: str, key: str, placeholders: dict[str, str] | None = None
) -> str:
    """Return ``exceptions.<key>.message`` in ``language`` (English if missing)."""
    message_key = f"component.{DOMAIN}.exceptions.{key}.message"
    message = None
    for lang in (language, "en"):
        strings = await translation.async_get_translations(hass, lang, "exceptions", [DOMAIN])
        if (message := strings.get(message_key)) is not None:
            break
    if message is None:
        return key
    for name, value in (placeholders or {}).items():
        message = message.replace(f"{{{name}}}", value)
    return message
