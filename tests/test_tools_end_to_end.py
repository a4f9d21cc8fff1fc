"""Alice's tool pack end to end: routed turns, the local and the cloud model, real calendars.

The design's central scenario ("Hej Alice, boka möte med Anna imorgon kl 14" →
the calendar tool → "mötet är bokat"), the same on the cloud path and after a
hybrid escalation, no phantom booking, a Swedish script that focus keeps, and
a workflow of two tools in one turn.
"""

import datetime as dt
from pathlib import Path
from typing import Any

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import chat_session, llm
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)

from custom_components.alice_voice.const import CONF_DEFAULT_CALENDAR, CONF_MODE
from custom_components.alice_voice.events import EVENT_RESPONSE
from simulators.ollama import ChatRequest, OllamaTestServer, ScriptedReply
from simulators.realtime import FunctionCall, RealtimeTestServer, Reply

from .common import async_setup, converse, openai_connection, set_agent, source, speech
from .test_tools_calendar import CREATE, FIND, STOCKHOLM, add_local_calendar, events, ics_folder
from .test_tools_mail import add_google_mail, google_mail_integration

__all__ = ["google_mail_integration", "ics_folder"]  # fixtures shared with those modules

BOOK = "hej alice boka möte med anna imorgon kl 14"
BOOKING = {"summary": "Möte med Anna", "start": "imorgon kl 14", "attendees": ["Anna"]}


@pytest.fixture
async def arbete(
    hass: HomeAssistant, setup_ha: None, ics_folder: Path, mock_config_entry: MockConfigEntry
) -> str:
    """A local calendar, Arbete, the agent's default; Stockholm time."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    arbete = await add_local_calendar(hass, "Arbete")
    await add_local_calendar(hass, "Familj")
    set_agent(
        hass,
        mock_config_entry,
        **{CONF_DEFAULT_CALENDAR: arbete, CONF_LLM_HASS_API: [llm.LLM_API_ASSIST]},
    )
    return arbete


async def booked(hass: HomeAssistant, calendar: str) -> list[dict[str, Any]]:
    """Tomorrow's events in ``calendar``."""
    tomorrow = dt_util.now().date() + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time(0), tzinfo=STOCKHOLM)
    return await events(
        hass, calendar, start.isoformat(), (start + dt.timedelta(days=1)).isoformat()
    )


async def test_booking_is_said_only_once_it_is_done(
    hass: HomeAssistant,
    arbete: str,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The meeting is in the calendar at 14:00–15:00, and the event lists the tool."""
    await async_setup(hass, mock_config_entry)
    responses = async_capture_events(hass, EVENT_RESPONSE)
    ollama_server.add_rule(ScriptedReply(content="Mötet är bokat."), after_tool=True)
    ollama_server.add_rule(ScriptedReply(tool_calls=[{"name": CREATE, "arguments": BOOKING}]))

    result = await converse(hass, BOOK)

    assert speech(result) == "Mötet är bokat."
    (event,) = await booked(hass, arbete)
    assert event["summary"] == "Möte med Anna"
    assert event["start"].endswith("T14:00:00+01:00")
    assert event["end"].endswith("T15:00:00+01:00")
    assert "Anna" in event["description"]
    assert responses[0].data["tools"] == [CREATE]
    assert responses[0].data["unconfirmed_claim"] is False


async def test_no_phantom_booking(
    hass: HomeAssistant,
    arbete: str,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A model that says "Mötet är bokat" without booking: the user does not hear it."""
    await async_setup(hass, mock_config_entry)
    responses = async_capture_events(hass, EVENT_RESPONSE)
    ollama_server.reply_always(ScriptedReply(content="Mötet är bokat."))

    result = await converse(hass, BOOK)

    assert speech(result) == "Jag kunde inte boka mötet, det blev aldrig gjort."
    assert "bokat" not in speech(result)
    assert await booked(hass, arbete) == []
    assert responses[0].data["unconfirmed_claim"] is True


async def test_a_failed_booking_says_why(
    hass: HomeAssistant,
    arbete: str,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The tool refused (an end before the start) and the model claims success anyway."""
    await async_setup(hass, mock_config_entry)
    bad = {**BOOKING, "end": "imorgon kl 13"}
    ollama_server.add_rule(ScriptedReply(content="Klart, mötet är bokat!"), after_tool=True)
    ollama_server.add_rule(ScriptedReply(tool_calls=[{"name": CREATE, "arguments": bad}]))

    result = await converse(hass, BOOK)

    assert speech(result).startswith("Jag kunde inte boka mötet: Slutet")
    assert await booked(hass, arbete) == []


async def test_booking_on_the_cloud_path(
    hass: HomeAssistant,
    arbete: str,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """cloud_only: the same tool, as a Realtime function call."""
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, **openai_connection(realtime_server)}
    )
    set_agent(hass, mock_config_entry, **{CONF_MODE: "cloud_only"})
    await async_setup(hass, mock_config_entry)
    realtime_server.add_rule(Reply(function_calls=[FunctionCall(CREATE, BOOKING)]))
    realtime_server.add_rule(Reply(text="Mötet med Anna är bokat."), after_tool_output=True)

    result = await converse(hass, BOOK)

    assert source(result) == "openai_realtime"
    assert speech(result) == "Mötet med Anna är bokat."
    assert [e["summary"] for e in await booked(hass, arbete)] == ["Möte med Anna"]
    (update, *_) = realtime_server.client_events("session.update")
    assert CREATE in str(update["session"]["tools"])


async def test_booking_after_a_hybrid_escalation(
    hass: HomeAssistant,
    arbete: str,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The cloud hands the turn on; the local model books with the whole tool set."""
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, **openai_connection(realtime_server)}
    )
    await async_setup(hass, mock_config_entry)
    realtime_server.add_rule(
        Reply(function_calls=[FunctionCall("escalate_to_local", {"reason": "calendar"})])
    )
    ollama_server.add_rule(ScriptedReply(content="Mötet är bokat."), after_tool=True)
    ollama_server.add_rule(ScriptedReply(tool_calls=[{"name": CREATE, "arguments": BOOKING}]))

    responses = async_capture_events(hass, EVENT_RESPONSE)
    # A fast/think split ("the weather … my meeting"): the router goes hybrid.
    result = await converse(hass, "what's the weather like for my meeting tomorrow")

    assert source(result) == "local_ai"
    assert responses[0].data["escalated"] is True
    assert [e["summary"] for e in await booked(hass, arbete)] == ["Möte med Anna"]


async def test_a_swedish_script_survives_focus(
    hass: HomeAssistant,
    arbete: str,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The user's own "boka_mote" script stays on a calendar turn; the device tools go."""
    assert await async_setup_component(
        hass,
        "script",
        {"script": {"boka_mote": {"alias": "Boka möte", "sequence": []}}},
    )
    async_expose_entity(hass, conversation.DOMAIN, "script.boka_mote", True)
    await async_setup(hass, mock_config_entry)

    await converse(hass, BOOK)

    offered = ollama_server.chat_requests[0].tool_names
    assert "script__boka_mote" in offered
    assert CREATE in offered
    assert not any("HassTurnOn" in name for name in offered)


async def test_a_workflow_of_two_tools(
    hass: HomeAssistant,
    arbete: str,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Check the calendar, then put the summary in a mail draft: both steps in the log."""
    add_google_mail(hass, scopes=None)
    drafts: list[ServiceCall] = async_mock_service(hass, "notify", "alice_example_com")
    await async_setup(hass, mock_config_entry)

    def reply(request: ChatRequest) -> ScriptedReply:
        done = [result["data"] for result in request.tool_results]
        if not done:
            return ScriptedReply(tool_calls=[{"name": FIND, "arguments": {"start": "imorgon"}}])
        if len(done) == 1:
            draft = {
                "to": ["bo@example.com"],
                "subject": "Morgondagen",
                "body": f"Imorgon: {done[0]['summary']}",
            }
            return ScriptedReply(
                tool_calls=[{"name": "alice_voice__mail_draft", "arguments": draft}]
            )
        return ScriptedReply(content="Jag har lagt ett utkast till Bo med morgondagens möten.")

    ollama_server.reply_always(reply)
    result = await converse(hass, "kolla min kalender imorgon och mejla bo en sammanfattning")

    assert speech(result) == "Jag har lagt ett utkast till Bo med morgondagens möten."
    (draft,) = drafts
    assert draft.data["data"]["send"] is False
    with (
        chat_session.async_get_chat_session(hass, result.conversation_id) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        called = [
            call.tool_name
            for content in chat_log.content
            if isinstance(content, conversation.AssistantContent) and content.tool_calls
            for call in content.tool_calls
        ]
    assert called == [FIND, "alice_voice__mail_draft"]
