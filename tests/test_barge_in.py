"""Barge-in: a new turn on the same satellite cancels the answer still in flight.

The old turn's local-model stream is closed and its Realtime response is
cancelled; the new turn is answered normally. Typed conversations are never
cancelled by one another.
"""

import asyncio
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alice_voice.const import CONF_MODE
from simulators.ollama import ChatRequest, OllamaTestServer, ScriptedReply
from simulators.realtime import RealtimeTestServer, Reply

from .common import AGENT_ID, async_setup, openai_connection, set_agent, speech

SATELLITE = "assist_satellite.koket"
THINK_TEXT = "vad har jag i kalendern imorgon"


async def talk(
    hass: HomeAssistant, text: str, satellite_id: str | None
) -> conversation.ConversationResult:
    """One turn, from a satellite or typed."""
    return await conversation.async_converse(
        hass, text, None, Context(), language="sv", agent_id=AGENT_ID, satellite_id=satellite_id
    )


async def test_new_turn_cancels_the_thinking_answer(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """The slow answer is cancelled mid-stream; the new question gets its answer."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    streaming = asyncio.Event()

    def slow(_: ChatRequest) -> ScriptedReply:
        streaming.set()
        return ScriptedReply(
            content=["Du har ", "ett möte ", "klockan nio ", "och sedan lunch."], chunk_delay=2.0
        )

    ollama_server.reply_always(ScriptedReply(content="Rymden är mycket stor."))
    ollama_server.add_rule(slow, user="kalendern", times=1)

    first = hass.async_create_task(talk(hass, THINK_TEXT, SATELLITE))
    async with asyncio.timeout(10):
        await streaming.wait()
    second = await talk(hass, "berätta något om rymden", SATELLITE)

    with pytest.raises(asyncio.CancelledError):
        await first
    assert speech(second) == "Rymden är mycket stor."


async def test_typed_conversations_do_not_cancel_each_other(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """Two typed conversations at once are both answered."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    ollama_server.reply_always(ScriptedReply(content=["Svar ", "ett."], chunk_delay=0.2))

    first = hass.async_create_task(talk(hass, THINK_TEXT, None))
    second = await talk(hass, THINK_TEXT, None)

    assert speech(await first) == "Svar ett."
    assert speech(second) == "Svar ett."


@pytest.fixture
def entry_overrides(realtime_server: RealtimeTestServer) -> dict[str, Any]:
    """With an OpenAI key (only the cloud test asks for it)."""
    return openai_connection(realtime_server)


async def test_new_turn_cancels_the_cloud_answer(
    hass: HomeAssistant,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """A Realtime answer still streaming is cancelled when the satellite speaks again."""
    set_agent(hass, mock_config_entry, **{CONF_MODE: "cloud_only"})
    await async_setup(hass, mock_config_entry)
    realtime_server.add_rule(
        Reply(text="Ett långt svar om vädret som tar tid", delta_interval=1.0),
        user_text="hur blir vädret",
    )
    realtime_server.add_rule(Reply(text="Hej!"))

    first = hass.async_create_task(talk(hass, "hur blir vädret", SATELLITE))
    await realtime_server.wait_for(lambda: bool(realtime_server.client_events("response.create")))
    second = await talk(hass, "hej", SATELLITE)

    with pytest.raises(asyncio.CancelledError):
        await first
    assert speech(second) == "Hej!"
    assert realtime_server.client_events("response.cancel") or any(
        c.closed for c in realtime_server.connections
    )
