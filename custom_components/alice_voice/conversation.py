"""Alice's conversation agent: one per conversation subentry."""

import time
from typing import Literal, override

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_LLM_HASS_API, MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    CONF_LANGUAGE,
    CONF_PROMPT,
    DOMAIN,
    LOGGER,
    MAX_INPUT_CHARS,
    SUBENTRY_CONVERSATION,
    Language,
)
from .entity import AliceVoiceEntity
from .errors import AliceVoiceTurnError
from .helpers import async_localized_message
from .models import AliceVoiceConfigEntry
from .prompts import default_prompt
from .think import ThinkPath, ThinkSettings

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliceVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one agent per conversation subentry."""
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_CONVERSATION:
            async_add_entities(
                [AliceVoiceConversationEntity(entry, subentry)],
                config_subentry_id=subentry.subentry_id,
            )


class AliceVoiceConversationEntity(conversation.ConversationEntity, AliceVoiceEntity):
    """Alice: routes each turn and answers in the agent's language."""

    _attr_name = None
    _attr_supports_streaming = True

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize the agent."""
        super().__init__(entry, subentry)
        self._attr_unique_id = subentry.subentry_id
        self.language: str = subentry.data.get(CONF_LANGUAGE, Language.SWEDISH)
        if subentry.data.get(CONF_LLM_HASS_API):
            self._attr_supported_features = conversation.ConversationEntityFeature.CONTROL
        self._think = ThinkPath(
            entry.runtime_data.ollama, ThinkSettings.from_options(subentry.data)
        )

    @property
    @override
    def supported_languages(self) -> list[str] | Literal["*"]:
        """Alice understands any language and answers in her own."""
        return MATCH_ALL

    @override
    async def _async_handle_message(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Handle one turn; every failure becomes a spoken, translated message."""
        status = self.entry.runtime_data.status
        agent = self.subentry.subentry_id
        started = time.monotonic()
        status.turn_started(agent)
        error: str | None = None
        try:
            result = await self._async_turn(user_input, chat_log)
        except AliceVoiceTurnError as err:
            error = err.key
            LOGGER.warning("%s could not answer: %s", self.entity_id, err)
            if err.backend_down is not None:
                status.backend_failed(err.backend_down, err.key)
            if err.key == "ollama_invalid_auth":
                self.entry.async_start_reauth(self.hass)
            result = await self._async_error_result(user_input, chat_log, err)
        finally:
            status.turn_finished(
                agent, duration_ms=(time.monotonic() - started) * 1000, error=error
            )
        return result

    async def _async_turn(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        text = user_input.text
        if not text or not text.strip():
            raise AliceVoiceTurnError("empty_input")
        if len(text) > MAX_INPUT_CHARS:
            raise AliceVoiceTurnError("input_too_long", {"max_chars": str(MAX_INPUT_CHARS)})

        try:
            await chat_log.async_provide_llm_data(
                user_input.as_llm_context(DOMAIN),
                self.subentry.data.get(CONF_LLM_HASS_API),
                self.subentry.data.get(CONF_PROMPT) or default_prompt(self.language),
                user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            return err.as_conversation_result()

        await self._think.async_run(self.entity_id, chat_log)
        self.entry.runtime_data.status.backend_ok("ollama")
        await self._async_ensure_answer(chat_log)
        return conversation.async_get_result_from_chat_log(user_input, chat_log)

    async def _async_ensure_answer(self, chat_log: conversation.ChatLog) -> None:
        """Make sure the turn ends with something to say.

        A model may go quiet after a tool call. If Home Assistant's intent
        tools succeeded, Alice says she is done; otherwise it is an error.
        """
        last = chat_log.content[-1]
        if isinstance(last, conversation.AssistantContent) and last.content:
            return
        if isinstance(last, conversation.ToolResultContent) and not last.result.error:
            done = await async_localized_message(self.hass, self.language, "done")
            chat_log.async_add_assistant_content_without_tools(
                conversation.AssistantContent(agent_id=self.entity_id, content=done)
            )
            return
        raise AliceVoiceTurnError("empty_reply")

    async def _async_error_result(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
        err: AliceVoiceTurnError,
    ) -> conversation.ConversationResult:
        """Say what went wrong, in the agent's language, and keep the log whole."""
        message = await async_localized_message(self.hass, self.language, err.key, err.placeholders)
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=self.entity_id, content=message)
        )
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_error(intent.IntentResponseErrorCode.UNKNOWN, message)
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )
