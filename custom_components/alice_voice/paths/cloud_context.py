"""What the cloud model is told, so it never has to guess.

The cloud gets Alice's instructions in the agent's language, the local time and
date, the weather from Home Assistant's weather entity, and (when it may use
tools) a filtered overview of the home. Sensitive entities are never part of it.
"""

import time
from typing import Any, Final

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, TemplateError
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    template,
)
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..guardrails import is_sensitive
from ..phrases import cloud_text, default_prompt, weekday

WEATHER_CACHE_SECONDS: Final = 600.0
MAX_DEVICES: Final = 80
OVERVIEW_DOMAINS: Final = frozenset(
    {
        "light",
        "switch",
        "fan",
        "climate",
        "cover",
        "media_player",
        "vacuum",
        "sensor",
        "binary_sensor",
        "scene",
        "script",
        "todo",
        "calendar",
    }
)


def render_prompt(hass: HomeAssistant, prompt: str | None, language: str) -> str:
    """The agent's instructions: its own template rendered, or the default."""
    if not prompt:
        return default_prompt(language)
    try:
        return str(template.Template(prompt, hass).async_render(parse_result=False))
    except TemplateError as err:
        LOGGER.warning("The agent's instructions do not render: %s", err)
        return default_prompt(language)


def time_line(hass: HomeAssistant, language: str) -> str:
    """The local date and time, in words the model cannot get wrong."""
    now = dt_util.now()
    return cloud_text(language, "now").format(
        weekday=weekday(language, now.weekday()),
        date=now.date().isoformat(),
        time=now.strftime("%H:%M"),
        zone=hass.config.time_zone,
    )


def device_overview(hass: HomeAssistant, language: str) -> str:
    """Exposed, non-sensitive devices with their state, for a cloud model with tools."""
    entities = er.async_get(hass)
    areas = ar.async_get(hass)
    lines: list[str] = []
    for state in sorted(hass.states.async_all(OVERVIEW_DOMAINS), key=lambda s: s.entity_id):
        if not async_should_expose(hass, "conversation", state.entity_id):
            continue
        if is_sensitive(hass, state.entity_id, state):
            continue
        area_name = ""
        if (entry := entities.async_get(state.entity_id)) is not None:
            area_id = entry.area_id
            if area_id is None and entry.device_id is not None:
                device = dr.async_get(hass).async_get(entry.device_id)
                area_id = device.area_id if device else None
            if area_id and (area := areas.async_get_area(area_id)):
                area_name = area.name
        lines.append(
            f"- {state.name} ({state.domain}{', ' + area_name if area_name else ''}): {state.state}"
        )
        if len(lines) >= MAX_DEVICES:
            break
    return "\n".join([cloud_text(language, "devices"), *lines]) if lines else ""


class CloudContext:
    """Builds the cloud's instructions for one config entry (with its own forecast cache)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Initialize with an empty forecast cache."""
        self.hass = hass
        self._forecasts: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    async def _async_forecast(self, entity_id: str) -> list[dict[str, Any]]:
        cached = self._forecasts.get(entity_id)
        if cached is not None and time.monotonic() - cached[0] < WEATHER_CACHE_SECONDS:
            return cached[1]
        forecast: list[dict[str, Any]] = []
        try:
            response = await self.hass.services.async_call(
                "weather",
                "get_forecasts",
                {"entity_id": entity_id, "type": "daily"},
                blocking=True,
                return_response=True,
            )
            data: Any = (response or {}).get(entity_id) or {}
            days = data.get("forecast") if isinstance(data, dict) else None
            if isinstance(days, list):
                forecast = [day for day in days if isinstance(day, dict)][:3]
        except (HomeAssistantError, ValueError) as err:
            LOGGER.debug("No forecast from %s: %s", entity_id, err)
        self._forecasts[entity_id] = (time.monotonic(), forecast)
        return forecast

    async def async_weather_line(self, language: str) -> str:
        """Current weather and a short forecast from the first exposed weather entity."""
        hass = self.hass
        for state in hass.states.async_all("weather"):
            if not async_should_expose(hass, "conversation", state.entity_id):
                continue
            attributes = state.attributes
            extra = ""
            if (humidity := attributes.get("humidity")) is not None:
                extra += f", {humidity} % RH"
            if (wind := attributes.get("wind_speed")) is not None:
                extra += f", {wind} {attributes.get('wind_speed_unit', '')}".rstrip()
            line = cloud_text(language, "weather").format(
                name=state.name,
                condition=state.state,
                temperature=attributes.get("temperature", "?"),
                unit=attributes.get("temperature_unit", ""),
                extra=extra,
            )
            if forecast := await self._async_forecast(state.entity_id):
                days = "; ".join(
                    f"{str(day.get('datetime', ''))[:10]}: {day.get('condition', '?')}, "
                    f"{day.get('temperature', '?')}/{day.get('templow', '?')}"
                    for day in forecast
                )
                line += cloud_text(language, "forecast").format(days=days)
            return line
        return cloud_text(language, "no_weather")

    async def async_instructions(
        self, *, prompt: str | None, language: str, escalate: bool, with_devices: bool
    ) -> str:
        """Everything the cloud model is told for one turn."""
        hass = self.hass
        parts = [
            render_prompt(hass, prompt, language),
            cloud_text(language, "short"),
            time_line(hass, language),
            await self.async_weather_line(language),
        ]
        if with_devices and (overview := device_overview(hass, language)):
            parts.append(overview)
        if escalate:
            parts.append(cloud_text(language, "escalate"))
        return "\n".join(parts)
