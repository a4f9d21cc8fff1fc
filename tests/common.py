"""Helpers the tests share: talking to Alice, and changing her before setup."""

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.alice_voice.const import (
    CONF_OPENAI_API_KEY,
    CONF_OPENAI_BASE_URL,
    PROBE_INTERVAL,
)
from simulators.realtime import ConnectionRecord, RealtimeTestServer

AGENT_ID = "conversation.alice"
OPENAI_KEY = "sk-alice-test-key"


def openai_connection(server: RealtimeTestServer) -> dict[str, Any]:
    """Entry data with an OpenAI key, pointed at the test Realtime server."""
    return {CONF_OPENAI_API_KEY: OPENAI_KEY, CONF_OPENAI_BASE_URL: server.base_url}


async def converse(
    hass: HomeAssistant,
    text: str,
    conversation_id: str | None = None,
    *,
    language: str = "sv",
    agent_id: str = AGENT_ID,
) -> conversation.ConversationResult:
    """Talk to the agent as the Assist pipeline does, and let the turn's report out.

    Alice fires her events and updates her status in the loop iteration after
    the answer is returned (see ``test_events_follow_the_answer``).
    """
    result = await conversation.async_converse(
        hass, text, conversation_id, Context(), language=language, agent_id=agent_id
    )
    await asyncio.sleep(0)
    return result


def speech(result: conversation.ConversationResult) -> str:
    """The spoken answer."""
    return str(result.response.speech["plain"]["speech"])


def source(result: conversation.ConversationResult) -> str:
    """Who answered: the source label every response carries."""
    return str(result.response.speech["plain"]["extra_data"]["source"])


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """An entity's state, which must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} has no state"
    return state.state


def entry_state(entry: ConfigEntry) -> ConfigEntryState:
    """An entry's state, read afresh.

    After ``assert entry.state is X`` mypy keeps ``entry.state`` narrowed to ``X``
    across the awaits that change it; a call's result is never narrowed.
    """
    return entry.state


def set_agent(hass: HomeAssistant, entry: MockConfigEntry, **options: Any) -> None:
    """Change the agent's options (a loaded entry reloads)."""
    subentry = next(iter(entry.subentries.values()))
    hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, **options})


async def async_setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up the entry and wait for what it started."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def async_wait_probe(hass: HomeAssistant, periods: int = 1) -> None:
    """Let ``periods`` health-probe intervals pass, and wait for what they started."""
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=periods * (PROBE_INTERVAL + 1))
    )
    await hass.async_block_till_done(wait_background_tasks=True)


async def closed(server: RealtimeTestServer, index: int = 0) -> ConnectionRecord:
    """Wait for the Realtime server's connection ``index`` to end and return its record."""
    await server.wait_for(lambda: server.connections[index].closed)
    return server.connections[index]
