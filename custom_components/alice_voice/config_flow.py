"""Config flow for Alice Voice.

The config entry holds the connections (Ollama, and optionally OpenAI); each
agent is a ``conversation`` subentry with its language, mode and models.
"""

import asyncio
from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_LLM_HASS_API, CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, llm
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import probatio

from .agent_schema import agent_form_data, agent_schema, agent_suggested_values
from .backends.ollama import OllamaBackend, OllamaError
from .clients import (
    ConnectionCheckError,
    Problem,
    async_build_openai,
    async_check_ollama,
    async_check_openai,
    build_ollama,
)
from .const import (
    CONF_LANGUAGE,
    CONF_LOCAL_MODEL,
    CONF_OLLAMA_API_KEY,
    CONF_OLLAMA_URL,
    CONF_OPENAI_API_KEY,
    CONF_OPENAI_BASE_URL,
    CONNECT_TIMEOUT,
    DEFAULT_CONVERSATION_OPTIONS,
    DEFAULT_NAME,
    DEFAULT_OLLAMA_URL,
    DOMAIN,
    LOGGER,
    SUBENTRY_CONVERSATION,
    Language,
)
from .helpers import host_of
from .models import AliceVoiceConfigEntry

SECRETS = (CONF_OLLAMA_API_KEY, CONF_OPENAI_API_KEY)


def _url() -> TextSelector:
    return TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


def _password() -> TextSelector:
    return TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


# The OpenAI base URL is for OpenAI-compatible endpoints and proxies; its
# description says it is advanced. (Home Assistant 2026.10 shows every flow's
# "advanced" fields to everyone, so it is not hidden.)
CONNECTION_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_OLLAMA_URL, default=DEFAULT_OLLAMA_URL): _url(),
        probatio.Optional(CONF_OLLAMA_API_KEY): _password(),
        probatio.Optional(CONF_OPENAI_API_KEY): _password(),
        probatio.Optional(CONF_OPENAI_BASE_URL): _url(),
    }
)


REAUTH_SCHEMA = probatio.Schema(
    {
        probatio.Optional(CONF_OLLAMA_API_KEY): _password(),
        probatio.Optional(CONF_OPENAI_API_KEY): _password(),
    }
)


def _clean(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Strip whitespace and drop empty optional values."""
    data: dict[str, Any] = {}
    for key, raw in user_input.items():
        value = raw.strip() if isinstance(raw, str) else raw
        if isinstance(value, str) and key in (CONF_OLLAMA_URL, CONF_OPENAI_BASE_URL):
            value = value.rstrip("/")
        if value not in (None, ""):
            data[key] = value
    return data


async def async_validate_connections(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> dict[str, str]:
    """Check every connection in ``data``; return form errors keyed by field."""
    errors: dict[str, str] = {}
    for key in (CONF_OLLAMA_URL, CONF_OPENAI_BASE_URL):
        if key in data:
            try:
                cv.url(data[key])
            except probatio.Invalid:
                errors[key] = "invalid_url"
    if errors:
        return errors

    backend = build_ollama(data, timeout=CONNECT_TIMEOUT)
    try:
        await async_check_ollama(backend)
    except ConnectionCheckError as err:
        if err.problem is Problem.INVALID_AUTH:
            errors[CONF_OLLAMA_API_KEY] = "invalid_auth"
        elif err.problem is Problem.CANNOT_CONNECT:
            errors[CONF_OLLAMA_URL] = "cannot_connect"
        else:
            # It answered, but not like Ollama (a wrong port or path, a proxy error page).
            LOGGER.warning(
                "The server at %s did not answer like Ollama (%s)",
                host_of(data[CONF_OLLAMA_URL]),
                err.problem,
            )
            errors[CONF_OLLAMA_URL] = "unknown"
    finally:
        await backend.close()

    if (client := await async_build_openai(hass, data)) is not None:
        try:
            await async_check_openai(client)
        except ConnectionCheckError as err:
            if err.problem is Problem.INVALID_AUTH:
                errors[CONF_OPENAI_API_KEY] = "invalid_auth"
            elif err.problem is Problem.CANNOT_CONNECT:
                field = (
                    CONF_OPENAI_BASE_URL if CONF_OPENAI_BASE_URL in data else CONF_OPENAI_API_KEY
                )
                errors[field] = "cannot_connect"
            else:
                LOGGER.warning("Unexpected answer validating the OpenAI key (%s)", err.problem)
                errors[CONF_OPENAI_API_KEY] = "unknown"
    return errors


def default_language(hass: HomeAssistant) -> str:
    """Alice speaks English to an English home and Swedish to everyone else."""
    return Language.ENGLISH if hass.config.language.startswith("en") else Language.SWEDISH


def _title(data: Mapping[str, Any]) -> str:
    """Return the entry title: the Ollama host."""
    return f"Alice Voice ({host_of(data[CONF_OLLAMA_URL])})"


class AliceVoiceConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add Alice Voice: connect to Ollama and, optionally, OpenAI."""

    VERSION = 1
    MINOR_VERSION = 2  # 1.2: agents have the voice options (see async_migrate_entry)

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the connections."""
        errors: dict[str, str] = {}
        schema = CONNECTION_SCHEMA
        if user_input is not None:
            data = _clean(user_input)
            self._async_abort_entries_match({CONF_OLLAMA_URL: data[CONF_OLLAMA_URL]})
            if not (errors := await async_validate_connections(self.hass, data)):
                subentry_data = {**DEFAULT_CONVERSATION_OPTIONS}
                subentry_data[CONF_LANGUAGE] = default_language(self.hass)
                subentry_data[CONF_LLM_HASS_API] = [llm.LLM_API_ASSIST]
                return self.async_create_entry(
                    title=_title(data),
                    data=data,
                    subentries=[
                        {
                            "subentry_type": SUBENTRY_CONVERSATION,
                            "data": subentry_data,
                            "title": DEFAULT_NAME,
                            "unique_id": None,
                        }
                    ],
                )
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start re-authentication when a key was rejected."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for new API keys."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {k: v for k, v in entry.data.items() if k not in SECRETS}
            data.update(_clean(user_input))
            if not (errors := await async_validate_connections(self.hass, data)):
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                REAUTH_SCHEMA, user_input or entry.data
            ),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the connections of an existing entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        schema = CONNECTION_SCHEMA
        suggested: Mapping[str, Any] = entry.data
        if user_input is not None:
            data = _clean(user_input)
            for other in self._async_current_entries(include_ignore=False):
                if (
                    other.entry_id != entry.entry_id
                    and other.data.get(CONF_OLLAMA_URL) == data[CONF_OLLAMA_URL]
                ):
                    return self.async_abort(reason="already_configured")
            if not (errors := await async_validate_connections(self.hass, data)):
                return self.async_update_reload_and_abort(entry, title=_title(data), data=data)
            suggested = user_input
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the subentry types: one per agent."""
        return {SUBENTRY_CONVERSATION: ConversationSubentryFlow}


class ConversationSubentryFlow(ConfigSubentryFlow):
    """Add or change one Alice agent."""

    def __init__(self) -> None:
        """Initialize the flow."""
        super().__init__()
        self._title: str | None = None
        self._data: dict[str, Any] = {}
        self._download_task: asyncio.Task[None] | None = None

    @property
    def _is_new(self) -> bool:
        return self.source == "user"

    @property
    def _backend(self) -> OllamaBackend:
        entry: AliceVoiceConfigEntry = self._get_entry()
        return entry.runtime_data.coordinator.ollama

    async def _installed_models(self) -> list[str] | None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                return await self._backend.list_models()
        except TimeoutError, OllamaError:
            return None

    async def async_step_set_options(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show and save the agent's settings."""
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        if (installed := await self._installed_models()) is None:
            return self.async_abort(reason="cannot_connect")

        if user_input is None:
            options: Mapping[str, Any] = (
                {
                    CONF_LANGUAGE: default_language(self.hass),
                    CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
                }
                if self._is_new
                else self._get_reconfigure_subentry().data
            )
            schema = agent_schema(self.hass, is_new=self._is_new, installed_models=installed)
            return self.async_show_form(
                step_id="set_options",
                data_schema=self.add_suggested_values_to_schema(
                    schema, agent_suggested_values(options)
                ),
            )

        if self._is_new:
            self._title = user_input.pop(CONF_NAME)
        self._data = agent_form_data(user_input)
        if self._data[CONF_LOCAL_MODEL] not in installed:
            return await self.async_step_download()
        return self._save()

    async_step_user = async_step_set_options
    async_step_reconfigure = async_step_set_options

    async def async_step_download(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pull the local model, showing progress."""
        model = self._data[CONF_LOCAL_MODEL]
        if self._download_task is None:
            self._download_task = self.hass.async_create_background_task(
                self._backend.pull(model), f"{DOMAIN} pull {model}"
            )
        if not self._download_task.done():
            return self.async_show_progress(
                step_id="download",
                progress_action="download",
                progress_task=self._download_task,
                description_placeholders={"model": model},
            )
        if err := self._download_task.exception():
            LOGGER.error("Could not download the model %s: %s", model, err)
            return self.async_show_progress_done(next_step_id="download_failed")
        return self.async_show_progress_done(next_step_id="finish")

    async def async_step_download_failed(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Stop: the model could not be downloaded."""
        return self.async_abort(
            reason="download_failed",
            description_placeholders={"model": self._data[CONF_LOCAL_MODEL]},
        )

    async def async_step_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Save after the download."""
        return self._save()

    def _save(self) -> SubentryFlowResult:
        if self._is_new:
            assert self._title is not None
            return self.async_create_entry(title=self._title, data=self._data)
        return self.async_update_and_abort(
            self._get_entry(), self._get_reconfigure_subentry(), data=self._data
        )
