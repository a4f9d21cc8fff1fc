"""The router's Home Assistant interfaces: the shared model, the API view, the service.

* ``POST /api/alice_voice/classify`` (authenticated like every HA API view):
  ``{"text", "audio_features"?, "context"?, "language"?}`` in, the router's
  decision (:meth:`RouteDecision.to_dict`) out. Bad JSON, a missing or
  non-string ``text``, non-object ``audio_features``/``context`` and bodies
  over :data:`MAX_BODY_BYTES` get a 400 with a message that says which.
* ``alice_voice.classify``: the same decision as a service response.

Both work as soon as the integration is loaded, even while no entry is set up
(Ollama down, say): routing needs only the model, which is loaded once per
Home Assistant, in the executor, and shared by every entry.
"""

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
import json
import logging
import time
from typing import Any, Final

from aiohttp import web
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util.hass_dict import HassKey
import probatio

from .const import DOMAIN
from .helpers import with_home_time
from .router import IntentRouter, ModelLoadError, RouterModel

_LOGGER = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 64 * 1024
SERVICE_CLASSIFY: Final = "classify"
ATTR_TEXT: Final = "text"
ATTR_LANGUAGE: Final = "language"
ATTR_CONTEXT: Final = "context"
ATTR_AUDIO_FEATURES: Final = "audio_features"


@dataclass(slots=True)
class _SharedModel:
    """The router model, loaded once per Home Assistant."""

    lock: asyncio.Lock
    model: RouterModel | None = None
    load_ms: float | None = None


DATA_ROUTER: HassKey[_SharedModel] = HassKey(f"{DOMAIN}_router")


async def async_get_router_model(hass: HomeAssistant) -> RouterModel:
    """Return the shared router model, loading it in the executor on first use.

    Raises:
        ModelLoadError: the shipped weights are missing or broken.
    """
    shared = hass.data.setdefault(DATA_ROUTER, _SharedModel(asyncio.Lock()))
    async with shared.lock:
        if shared.model is None:
            started = time.perf_counter()
            shared.model = await hass.async_add_executor_job(RouterModel.load)
            shared.load_ms = (time.perf_counter() - started) * 1000
            _LOGGER.debug("Router model loaded in %.1f ms", shared.load_ms)
        return shared.model


def router_load_ms(hass: HomeAssistant) -> float | None:
    """How long loading the shared router model took (None before it is loaded)."""
    shared = hass.data.get(DATA_ROUTER)
    return None if shared is None else shared.load_ms


async def _async_router(hass: HomeAssistant) -> IntentRouter:
    """A router with the default threshold over the shared model."""
    return IntentRouter(model=await async_get_router_model(hass))


class ClassifyView(HomeAssistantView):
    """Classify an utterance and return the routing decision."""

    url = "/api/alice_voice/classify"
    name = "api:alice_voice:classify"

    async def post(self, request: web.Request) -> web.Response:
        """Route ``text``; 400 on anything malformed."""
        hass = request.app[KEY_HASS]
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return self.json_message(
                f"Request body too large: at most {MAX_BODY_BYTES} bytes",
                HTTPStatus.BAD_REQUEST,
            )
        try:
            body = json.loads(raw)
        except ValueError:
            return self.json_message("Request body is not valid JSON", HTTPStatus.BAD_REQUEST)
        if not isinstance(body, dict):
            return self.json_message("Request body must be a JSON object", HTTPStatus.BAD_REQUEST)
        if ATTR_TEXT not in body:
            return self.json_message("Missing 'text'", HTTPStatus.BAD_REQUEST)
        text = body[ATTR_TEXT]
        if not isinstance(text, str):
            return self.json_message("'text' must be a string", HTTPStatus.BAD_REQUEST)
        for key in (ATTR_AUDIO_FEATURES, ATTR_CONTEXT):
            if body.get(key) is not None and not isinstance(body[key], dict):
                return self.json_message(f"'{key}' must be an object", HTTPStatus.BAD_REQUEST)
        language = body.get(ATTR_LANGUAGE)
        if language is not None and not isinstance(language, str):
            return self.json_message("'language' must be a string", HTTPStatus.BAD_REQUEST)
        try:
            router = await _async_router(hass)
        except ModelLoadError:
            _LOGGER.exception("The router model cannot be loaded")
            return self.json_message(
                "The router model cannot be loaded", HTTPStatus.INTERNAL_SERVER_ERROR
            )
        decision = router.route(
            text,
            language=language,
            audio_features=body.get(ATTR_AUDIO_FEATURES),
            context=with_home_time(hass, body.get(ATTR_CONTEXT)),
        )
        return self.json(decision.to_dict())


CLASSIFY_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_TEXT): cv.string,
        probatio.Optional(ATTR_LANGUAGE): probatio.In(["sv", "en"]),
        probatio.Optional(ATTR_CONTEXT): dict,
        probatio.Optional(ATTR_AUDIO_FEATURES): dict,
    }
)


async def _async_classify(call: ServiceCall) -> ServiceResponse:
    """Handle ``alice_voice.classify``."""
    try:
        router = await _async_router(call.hass)
    except ModelLoadError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="router_unavailable"
        ) from err
    decision = router.route(
        call.data[ATTR_TEXT],
        language=call.data.get(ATTR_LANGUAGE),
        audio_features=call.data.get(ATTR_AUDIO_FEATURES),
        context=with_home_time(call.hass, call.data.get(ATTR_CONTEXT)),
    )
    response: dict[str, Any] = decision.to_dict()
    return response


def async_setup_classify(hass: HomeAssistant) -> None:
    """Register the view and the service (from ``async_setup``)."""
    hass.http.register_view(ClassifyView())
    hass.services.async_register(
        DOMAIN,
        SERVICE_CLASSIFY,
        _async_classify,
        schema=CLASSIFY_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
