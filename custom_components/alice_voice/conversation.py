"""Alice's conversation agent: one per conversation subentry, a thin front to the engine."""

from typing import Literal, override

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_LLM_HASS_API, MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_CONVERSATION
from .entity import AliceVoiceEntity
from .models import AgentConfig, AliceVoiceConfigEntry

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
    """Alice: every turn goes through the entry's turn engine."""

    _attr_name = None
    _attr_supports_streaming = True

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize the agent."""
        super().__init__(entry, subentry)
        self._attr_unique_id = subentry.subentry_id
        self.agent = AgentConfig.from_subentry(subentry)
        if subentry.data.get(CONF_LLM_HASS_API):
            self._attr_supported_features = conversation.ConversationEntityFeature.CONTROL

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
        """Route and answer one turn."""
        return await self.entry.runtime_data.engine.async_handle(
            self.agent, self.entity_id, user_input, chat_log
        )
