"""Restart safety: reloading, removing and stopping while a turn thinks.

The turn is held in the Ollama simulator (a first token that would come only
after a minute) and the entry reloads, is removed, or Home Assistant stops while
it waits. The turn must end with an answer or a spoken error, never with an
exception out of ``conversation.async_converse``, and nothing of Alice's may be
left behind: entities, devices, pipelines, background tasks, open connections.
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from homeassistant.components import assist_pipeline, conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, intent
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.alice_voice
from custom_components.alice_voice.const import DOMAIN
from simulators.ollama import ChatRequest, OllamaTestServer, ScriptedReply
from simulators.realtime import RealtimeTestServer

from .common import AGENT_ID, async_setup, converse, entry_state, openai_connection, speech

THINK = "vad har jag i kalendern imorgon"
HELD = 60.0  # seconds before the held turn's first token: it never comes in a test
PACKAGE = str(Path(custom_components.alice_voice.__file__).parent)

type Tasks = set[asyncio.Task[Any]]


def _code_files(task: asyncio.Task[Any]) -> Iterator[str]:
    """The files of the coroutines a task is suspended in, outermost first."""
    coro: Any = task.get_coro()
    while coro is not None:
        code = getattr(coro, "cr_code", None) or getattr(coro, "ag_code", None)
        if code is not None:
            yield code.co_filename
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)


def alice_tasks(before: Tasks) -> list[str]:
    """Tasks started since ``before`` that are Alice's (by name or by code); HA's own are ignored."""
    current = asyncio.current_task()
    return sorted(
        task.get_name()
        for task in asyncio.all_tasks() - before
        if task is not current
        and not task.done()
        and (DOMAIN in task.get_name() or any(f.startswith(PACKAGE) for f in _code_files(task)))
    )


def alice_pipelines(hass: HomeAssistant) -> list[str]:
    """The ids of the Assist pipelines that talk to Alice's agent."""
    return [
        pipeline.id
        for pipeline in assist_pipeline.async_get_pipelines(hass)
        if pipeline.conversation_engine == AGENT_ID
    ]


def hold_turns(server: OllamaTestServer) -> asyncio.Event:
    """Hold every chat on the server (a slow model); the event is set when one arrives."""
    arrived = asyncio.Event()

    def held(request: ChatRequest) -> ScriptedReply:
        arrived.set()
        return ScriptedReply(content="Du har inget i kalendern.", first_token_delay=HELD)

    server.reply_always(held)
    return arrived


async def start_held_turn(
    hass: HomeAssistant, server: OllamaTestServer
) -> asyncio.Task[conversation.ConversationResult]:
    """A think turn, started and waiting for the model's first token."""
    arrived = hold_turns(server)
    turn = hass.async_create_task(converse(hass, THINK))
    await arrived.wait()
    assert not turn.done()
    return turn


def assert_clean_end(result: conversation.ConversationResult) -> None:
    """The turn answered, or said (in Swedish) why it could not."""
    assert speech(result)
    assert result.response.response_type in (
        intent.IntentResponseType.ACTION_DONE,
        intent.IntentResponseType.QUERY_ANSWER,
        intent.IntentResponseType.ERROR,
    )


def assert_nothing_left(hass: HomeAssistant, entry: MockConfigEntry, before: Tasks) -> None:
    """No entity, device, pipeline or task of the removed entry is left."""
    assert er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id) == []
    assert dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id) == []
    assert alice_pipelines(hass) == []
    assert hass.states.get(AGENT_ID) is None
    assert alice_tasks(before) == []


@pytest.fixture
async def before_alice(hass: HomeAssistant, demo_home: dict[str, str]) -> Tasks:
    """The tasks running before Alice is set up (the demo home's included)."""
    await hass.async_block_till_done(wait_background_tasks=True)
    return asyncio.all_tasks()


async def test_reload_during_a_think_turn_then_remove(
    hass: HomeAssistant,
    before_alice: Tasks,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A reload ends the held turn with a spoken error; the new entry works; removal is clean."""
    await async_setup(hass, mock_config_entry)
    (pipeline_id,) = alice_pipelines(hass)
    old_data = mock_config_entry.runtime_data
    turn = await start_held_turn(hass, ollama_server)
    assert alice_tasks(before_alice)  # the held turn itself: the check sees Alice's tasks

    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    assert_clean_end(await turn)
    await hass.async_block_till_done(wait_background_tasks=True)

    # One of each again, not two: the same pipeline, entity and device.
    assert entry_state(mock_config_entry) is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data is not old_data
    assert alice_pipelines(hass) == [pipeline_id]
    entities = er.async_entries_for_config_entry(er.async_get(hass), mock_config_entry.entry_id)
    assert [e.entity_id for e in entities if e.domain == "conversation"] == [AGENT_ID]
    assert (
        len(dr.async_entries_for_config_entry(dr.async_get(hass), mock_config_entry.entry_id)) == 1
    )
    ollama_server.reply_always(ScriptedReply(content="Du har inget i kalendern."))
    assert speech(await converse(hass, THINK)) == "Du har inget i kalendern."

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert_nothing_left(hass, mock_config_entry, before_alice)


async def test_remove_during_a_think_turn(
    hass: HomeAssistant,
    before_alice: Tasks,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Removing the entry while a turn thinks ends the turn cleanly and leaves nothing."""
    await async_setup(hass, mock_config_entry)
    turn = await start_held_turn(hass, ollama_server)

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert_clean_end(await turn)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert_nothing_left(hass, mock_config_entry, before_alice)


# The chat session the turn ends outlives the stop event (its cleanup timer is
# Home Assistant's own, started after the event it listens for).
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_stop_event_during_a_think_turn(
    hass: HomeAssistant,
    before_alice: Tasks,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Home Assistant stopping closes the clients: the held turn ends with a spoken error."""
    await async_setup(hass, mock_config_entry)
    turn = await start_held_turn(hass, ollama_server)

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    result = await turn
    assert_clean_end(result)
    assert result.response.response_type is intent.IntentResponseType.ERROR
    await hass.async_block_till_done(wait_background_tasks=True)
    assert alice_tasks(before_alice) == []  # no probe, keep-warm or session left running

    # Unloading afterwards (closing again) is harmless.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert entry_state(mock_config_entry) is ConfigEntryState.NOT_LOADED


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_home_assistant_stop_closes_the_connections(
    hass: HomeAssistant,
    before_alice: Tasks,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A real stop does not wait for a held turn, and closes the warm Realtime session."""
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, **openai_connection(realtime_server)}
    )
    await async_setup(hass, mock_config_entry)
    await converse(hass, "hej")
    assert len(realtime_server.open_connections) == 1
    turn = await start_held_turn(hass, ollama_server)

    await hass.async_stop()
    # Home Assistant cancels what still runs at its last stage; the turn is over either way.
    assert turn.done()
    if not turn.cancelled():
        assert_clean_end(turn.result())
    await asyncio.sleep(0)
    assert realtime_server.open_connections == []
    assert alice_tasks(before_alice) == []
