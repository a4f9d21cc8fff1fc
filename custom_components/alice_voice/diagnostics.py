"""Diagnostics for Alice Voice: settings and health, with every secret redacted."""

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .classify import router_load_ms
from .const import CONF_OLLAMA_API_KEY, CONF_OPENAI_API_KEY
from .models import AliceVoiceConfigEntry

TO_REDACT = {CONF_OLLAMA_API_KEY, CONF_OPENAI_API_KEY, "api_key", "authorization"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: AliceVoiceConfigEntry
) -> dict[str, Any]:
    """Return the entry's connections, agents and backend health."""
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "agents": {
            subentry.subentry_id: {
                "title": subentry.title,
                "type": subentry.subentry_type,
                "options": async_redact_data(dict(subentry.data), TO_REDACT),
            }
            for subentry in entry.subentries.values()
        },
        "backends": entry.runtime_data.coordinator.data.as_dict(),
        "agent_status": entry.runtime_data.status.as_dict(),
        "router": {
            "model_load_ms": router_load_ms(hass),
            "model_bytes": entry.runtime_data.router.model.nbytes,
            "confidence_threshold": entry.runtime_data.router.confidence_threshold,
        },
    }
