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

from .const import LOGGER, Language
from .guardrails import is_sensitive
from .prompts import default_prompt

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

TEXTS: Final[dict[str, dict[str, str]]] = {
    Language.SWEDISH: {
        "now": "Just nu: {weekday} {date}, klockan {time} ({zone}).",
        "weather": "Vädret enligt hemmets väderstation ({name}): {condition}, {temperature}{unit}{extra}.",
        "forecast": " Prognos: {days}",
        "no_weather": "Hemmet har ingen väderstation; säg det om någon frågar om vädret.",
        "devices": "Enheter i hemmet (namn, typ, rum: läge):",
        "escalate": (
            "Om svaret kräver hemmets enheter, kalender, mejl, musik, personliga uppgifter "
            "eller flera steg: anropa verktyget escalate_to_local direkt, utan att säga något."
        ),
        "short": "Svara på svenska, kort, med en eller två meningar som ska läsas upp.",
        "weekdays": "måndag,tisdag,onsdag,torsdag,fredag,lördag,söndag",
    },
    Language.ENGLISH: {
        "now": "Right now: {weekday} {date}, {time} ({zone}).",
        "weather": "Weather from the home's weather station ({name}): {condition}, {temperature}{unit}{extra}.",
        "forecast": " Forecast: {days}",
        "no_weather": "The home has no weather station; say so if asked about the weather.",
        "devices": "Devices in the home (name, type, room: state):",
        "escalate": (
            "If the answer needs the home's devices, calendar, e-mail, music, personal "
            "data or several steps: call the escalate_to_local tool at once, without speaking."
        ),
        "short": "Answer in English, briefly, in one or two sentences that will be read aloud.",
        "weekdays": "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday",
    },
}

_weather_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}


def _texts(language: str) -> dict[str, str]:
    return TEXTS.get(language, TEXTS[Language.SWEDISH])


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
    texts = _texts(language)
    now = dt_util.now()
    return texts["now"].format(
        weekday=texts["weekdays"].split(",")[now.weekday()],
        date=now.date().isoformat(),
        time=now.strftime("%H:%M"),
        zone=hass.config.time_zone,
    )


async def _forecast(hass: HomeAssistant, entity_id: str) -> list[dict[str, Any]]:
    cached = _weather_cache.get(entity_id)
    if cached is not None and time.monotonic() - cached[0] < WEATHER_CACHE_SECONDS:
        return cached[1]
    forecast: list[dict[str, Any]] = []
    try:
        response = await hass.services.async_call(
            "weather",
            "get_forecasts",
            {"entity_id": entity_id, "type": "daily"},
            blocking=True,
            return_response=True,
        )
        data: Any = (response or {}).get(entity_id) or {}
        days = data.get("forecast") if isinstance(data, dict) else None
        forecast = (
            [day for day in days if isinstance(day, dict)][:3] if isinstance(days, list) else []
        )
    except (HomeAssistantError, ValueError) as err:
        LOGGER.debug("No forecast from %s: %s", entity_id, err)
    _weather_cache[entity_id] = (time.monotonic(), forecast)
    return forecast


async def async_weather_line(hass: HomeAssistant, language: str) -> str:
    """Current weather and a short forecast from the first exposed weather entity."""
    texts = _texts(language)
    for state in hass.states.async_all("weather"):
        if not async_should_expose(hass, "conversation", state.entity_id):
            continue
        attributes = state.attributes
        extra = ""
        if (humidity := attributes.get("humidity")) is not None:
            extra += f", {humidity} % RH"
        if (wind := attributes.get("wind_speed")) is not None:
            extra += f", {wind} {attributes.get('wind_speed_unit', '')}".rstrip()
        line = texts["weather"].format(
            name=state.name,
            condition=state.state,
            temperature=attributes.get("temperature", "?"),
            unit=attributes.get("temperature_unit", ""),
            extra=extra,
        )
        forecast = await _forecast(hass, state.entity_id)
        if forecast:
            days = "; ".join(
                f"{str(day.get('datetime', ''))[:10]}: {day.get('condition', '?')}, "
                f"{day.get('temperature', '?')}/{day.get('templow', '?')}"
                for day in forecast
            )
            line += texts["forecast"].format(days=days)
        return line
    return texts["no_weather"]


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
    return "\n".join([_texts(language)["devices"], *lines]) if lines else ""


async def async_cloud_instructions(
    hass: HomeAssistant,
    *,
    prompt: str | None,
    language: str,
    escalate: bool,
    with_devices: bool,
) -> str:
    """Everything the cloud model is told for one turn."""
    texts = _texts(language)
    parts = [
        render_prompt(hass, prompt, language),
        texts["short"],
        time_line(hass, language),
        await async_weather_line(hass, language),
    ]
    if with_devices and (overview := device_overview(hass, language)):
        parts.append(overview)
    if escalate:
        parts.append(texts["escalate"])
    return "\n".join(parts)
