"""Alice Voice: a Swedish-first hybrid voice assistant for Home Assistant.

Snappy voice, local thinking: every utterance is routed either to a fast path
(Home Assistant's own intents, or the OpenAI Realtime API) or to a local
Ollama model that thinks and uses tools.
"""

import asyncio
import importlib
from typing import TYPE_CHECKING, Any, cast

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.httpx_client import get_async_client
from homeassistant.helpers.typing import ConfigType
from homeassistant.util.ssl import get_default_context

from .backends.ollama import OllamaAuthError, OllamaBackend, OllamaError, OllamaResponseError
from .classify import async_get_router_model, async_setup_classify
from .const import (
    CONF_OLLAMA_API_KEY,
    CONF_OLLAMA_URL,
    CONF_OPENAI_API_KEY,
    CONF_OPENAI_BASE_URL,
    CONNECT_TIMEOUT,
    DOMAIN,
    SUBENTRY_CONVERSATION,
)
from .gateway import AgentConfig, AliceVoiceGateway
from .helpers import host_of
from .models import AliceVoiceConfigEntry, AliceVoiceData
from .router import IntentRouter, ModelLoadError
from .status import AliceVoiceStatus

if TYPE_CHECKING:
    import openai

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = (Platform.CONVERSATION,)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up what Alice shares between entries: the router's API view and service."""
    async_setup_classify(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> bool:
    """Connect to the backends and set up the agents."""
    url = entry.data[CONF_OLLAMA_URL]
    status = AliceVoiceStatus()
    ollama = OllamaBackend(
        url,
        api_key=entry.data.get(CONF_OLLAMA_API_KEY),
        verify=get_default_context(),
        connect_timeout=CONNECT_TIMEOUT,
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await ollama.list_models()
    except OllamaAuthError as err:
        await ollama.close()
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="ollama_invalid_auth",
            translation_placeholders={"host": host_of(url)},
        ) from err
    except OllamaResponseError as err:
        await ollama.close()
        if err.status_code >= 500 or err.status_code == 429:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="ollama_unreachable",
                translation_placeholders={"host": host_of(url)},
            ) from err
        # A 4xx other than auth: the URL answers, but it is not Ollama.
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="ollama_not_ollama",
            translation_placeholders={"host": host_of(url), "status": str(err.status_code)},
        ) from err
    except (TimeoutError, OllamaError) as err:
        await ollama.close()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="ollama_unreachable",
            translation_placeholders={"host": host_of(url)},
        ) from err
    status.backend_ok("ollama")

    client: openai.AsyncOpenAI | None = None
    if api_key := entry.data.get(CONF_OPENAI_API_KEY):
        # The SDK is large: only entries with a key load it, off the event loop
        # (with the Realtime client, which the first fast turn would import).
        await hass.async_add_executor_job(importlib.import_module, f"{__name__}.backends.realtime")
        import openai  # noqa: PLC0415

        client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=entry.data.get(CONF_OPENAI_BASE_URL),
            # Legacy HTTPX clients are supported at runtime only (as in core).
            http_client=cast("Any", get_async_client(hass)),
            max_retries=0,
        )
        # The client reads platform details from disk once: do it off the event loop.
        await hass.async_add_executor_job(client.platform_headers)

    try:
        # Loaded once per Home Assistant, in the executor, shared by every entry.
        model = await async_get_router_model(hass)
    except ModelLoadError as err:
        await ollama.close()
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="router_unavailable"
        ) from err
    router = IntentRouter(model=model)
    gateway = AliceVoiceGateway(
        hass,
        router=router,
        ollama=ollama,
        openai_client=client,
        status=status,
        on_auth_failed=lambda: entry.async_start_reauth(hass),
    )
    entry.runtime_data = AliceVoiceData(
        ollama=ollama, openai=client, router=router, gateway=gateway, status=status
    )
    entry.async_on_unload(ollama.close)
    entry.async_on_unload(gateway.async_stop)
    gateway.async_start(
        [
            AgentConfig.from_subentry(subentry)
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_CONVERSATION
        ]
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> bool:
    """Unload the agents; the backends close through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def _async_update_listener(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> None:
    """Reload when the connections or an agent changed."""
    await hass.config_entries.async_reload(entry.entry_id)
