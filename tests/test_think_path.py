"""The think path end to end: Home Assistant → Alice → the simulated Ollama → HA's tools.

The utterances here are ones the router sends to the think path (calendar,
e-mail, planning, free questions); the routing itself is tested in test_engine.
The agent's state and errors are read as a user sees them: in the diagnostics
and the ``alice_voice_response`` event.
"""

from collections.abc import Awaitable, Callable
import logging
from typing import Any
from unittest.mock import patch

from homeassistant.components import conversation
from homeassistant.const import CONF_LLM_HASS_API, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import chat_session, intent, llm
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.alice_voice.const import (
    CONF_KEEP_ALIVE,
    CONF_LANGUAGE,
    CONF_LOCAL_MODEL,
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_OLLAMA_API_KEY,
    CONF_PROMPT,
    CONF_TEMPERATURE,
    CONF_THINK_BUDGET,
    CONF_THINK_LEVEL,
    CONF_THINK_TIMEOUT,
    DOMAIN,
    MAX_TOOL_ITERATIONS,
)
from custom_components.alice_voice.paths import PathKind
from custom_components.alice_voice.paths.think import ThinkPath, trim_history
from custom_components.alice_voice.paths.tool_specs import ToolSpecs, format_tool
from simulators.ollama import ChatRequest, OllamaTestServer, ScriptedReply

from .common import async_setup, converse, set_agent, source, speech, state_of

type Diagnostics = Callable[[MockConfigEntry], Awaitable[dict[str, Any]]]


# Phrased so that Home Assistant's strict intent matching misses it: the think path answers.
LIGHT_REQUEST = "kan du vara snäll och tända lampan i köket åt mig, det är så mörkt"
THINK_TEXT = "vad har jag i kalendern imorgon"


def turn_on_kitchen(ollama_server: OllamaTestServer) -> None:
    """Script the model: call HassTurnOn for the kitchen, then confirm in Swedish."""
    ollama_server.add_rule(
        ScriptedReply(content=["Nu ", "är ", "lampan ", "i ", "köket ", "tänd."]),
        after_tool=True,
    )
    ollama_server.add_rule(
        ScriptedReply(
            thinking="Användaren vill tända i köket.",
            tool_calls=[
                {"name": "intent__HassTurnOn", "arguments": {"area": "Kök", "domain": ["light"]}}
            ],
        ),
        user="tänd|tända",
    )


async def test_tand_lampan_i_koket_is_answered_locally(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    agent_id: str,
) -> None:
    """'Tänd lampan i köket' is a device command: HA's own intents do it, no model is asked."""
    kitchen = demo_home["kitchen_light"]
    await hass.services.async_call("light", "turn_off", {"entity_id": kitchen}, blocking=True)

    result = await converse(hass, "Tänd lampan i köket")

    assert state_of(hass, kitchen) == STATE_ON
    assert speech(result) == "Tände lamporna"
    assert source(result) == "ha_local_intents"
    assert ollama_server.chat_requests == []


async def test_swedish_turn_turns_on_the_kitchen_light(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    agent_id: str,
) -> None:
    """A request HA's intents miss: the local model calls HA's light intent; the light goes on."""
    kitchen = demo_home["kitchen_light"]
    await hass.services.async_call("light", "turn_off", {"entity_id": kitchen}, blocking=True)
    assert state_of(hass, kitchen) == STATE_OFF
    turn_on_kitchen(ollama_server)

    result = await converse(hass, LIGHT_REQUEST)

    assert state_of(hass, kitchen) == STATE_ON
    assert state_of(hass, demo_home["bedroom_light"]) == STATE_OFF
    assert speech(result) == "Nu är lampan i köket tänd."
    assert result.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert source(result) == "local_ai"

    first, second = ollama_server.chat_requests
    assert first.model == "gpt-oss:20b"
    assert "intent__HassTurnOn" in first.tool_names
    assert first.body["think"] == "low"  # gpt-oss takes a level, never a boolean
    assert first.body["keep_alive"] == -1
    assert first.body["options"]["num_ctx"] == 8192
    assert first.system_prompt.startswith("Du är Alice")
    assert first.last_user_text == LIGHT_REQUEST
    # The second round carries the tool call and HA's result.
    assert second.after_tool_result
    assert second.messages[-2]["tool_calls"][0]["function"]["name"] == "intent__HassTurnOn"
    assert second.tool_results[0]["error"] is False
    targets = {t["id"] for t in second.tool_results[0]["data"]["data"]["success"]}
    assert targets == {"kok", kitchen}


async def test_home_assistants_matcher_is_asked_once_when_it_knows_nothing(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    agent_id: str,
) -> None:
    """A device request HA's matcher recognises nothing in is not matched again after routing.

    The router sends it to HA's intents first, then the model; the matcher's answer
    would be the same, so only the search made before routing is paid. A request it
    recognises as something other than a device command is still asked again.
    """
    turn_on_kitchen(ollama_server)
    asked = patch.object(
        conversation, "async_handle_intents", wraps=conversation.async_handle_intents
    )
    with asked as handle_intents:
        result = await converse(hass, LIGHT_REQUEST)
        assert source(result) == "local_ai"
        assert state_of(hass, demo_home["kitchen_light"]) == STATE_ON
        assert handle_intents.call_count == 1  # before routing only

        handle_intents.reset_mock()
        result = await converse(hass, "vad är klockan")
        assert source(result) == "ha_local_intents"  # HA's time intent, after routing
        assert handle_intents.call_count == 2


async def test_answer_streams_into_the_chat_log(
    hass: HomeAssistant, demo_home: dict[str, str], ollama_server: OllamaTestServer, agent_id: str
) -> None:
    """Deltas reach a chat-log listener (the Assist pipeline's TTS) as they arrive."""
    turn_on_kitchen(ollama_server)
    deltas: list[dict[str, Any]] = []
    with (
        chat_session.async_get_chat_session(hass) as session,
        conversation.async_get_chat_log(
            hass, session, chat_log_delta_listener=lambda _log, delta: deltas.append(delta)
        ),
    ):
        result = await converse(hass, LIGHT_REQUEST, session.conversation_id)

    content = [d["content"] for d in deltas if d.get("content")]
    assert content == ["Nu ", "är ", "lampan ", "i ", "köket ", "tänd."]
    assert any(d.get("thinking_content") for d in deltas)
    assert any(d.get("tool_calls") for d in deltas)
    assert any(d.get("role") == "tool_result" for d in deltas)
    assert speech(result) == "Nu är lampan i köket tänd."


async def test_history_is_kept_and_trimmed(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """Follow-ups see earlier turns, trimmed to max_history turns."""
    set_agent(hass, mock_config_entry, **{CONF_MAX_HISTORY: 2})
    await async_setup(hass, mock_config_entry)

    conversation_id = None
    for number in range(1, 5):
        text = f"vad har jag i kalendern om {number} dagar"
        result = await converse(hass, text, conversation_id)
        conversation_id = result.conversation_id
        assert speech(result) == f"Du sa: {text}"

    last = ollama_server.chat_requests[-1]
    users = [m["content"] for m in last.messages if m["role"] == "user"]
    asked = [f"vad har jag i kalendern om {n} dagar" for n in (2, 3, 4)]
    assert users == asked
    assert last.messages[0]["role"] == "system"
    assistants = [m["content"] for m in last.messages if m["role"] == "assistant"]
    assert assistants == [f"Du sa: {text}" for text in asked[:2]]


@pytest.mark.parametrize(
    ("model", "level", "expected"),
    [
        pytest.param("gpt-oss:20b", "high", "high", id="gpt-oss-high"),
        pytest.param("gpt-oss:20b", "off", "low", id="gpt-oss-ignores-booleans"),
        pytest.param("qwen3:8b", "off", False, id="qwen-off"),
        pytest.param("qwen3:8b", "medium", True, id="qwen-on"),
        pytest.param("llama3.2:latest", "high", None, id="no-thinking-model"),
    ],
)
async def test_think_control(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
    model: str,
    level: str,
    expected: object,
) -> None:
    """The thinking level is sent in the form the model accepts."""
    set_agent(
        hass,
        mock_config_entry,
        **{CONF_LOCAL_MODEL: model, CONF_THINK_LEVEL: level, CONF_KEEP_ALIVE: 300},
    )
    await async_setup(hass, mock_config_entry)

    await converse(hass, THINK_TEXT)

    request = ollama_server.chat_requests[0]
    assert request.body.get("think") == expected
    assert request.body["keep_alive"] == "300s"
    assert request.model == model
    # The design's settings for spoken answers: temperature 0.3, at most 2048 tokens.
    assert request.body["options"] == {"num_ctx": 8192, "temperature": 0.3, "num_predict": 2048}


async def test_answer_cut_at_the_token_cap(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """A cap of 5 tokens: Ollama stops the answer there, and Alice says what she got."""
    ollama_server.reply_always(
        ScriptedReply(
            content=["Det här ", "är ett ", "mycket långt ", "svar som ", "aldrig tar slut."]
        )
    )
    set_agent(hass, mock_config_entry, **{CONF_MAX_TOKENS: 5, CONF_TEMPERATURE: 0.0})
    await async_setup(hass, mock_config_entry)

    result = await converse(hass, THINK_TEXT)

    assert ollama_server.chat_requests[0].body["options"]["num_predict"] == 5
    assert ollama_server.chat_requests[0].body["options"]["temperature"] == 0.0
    assert speech(result).startswith("Det här")
    assert "aldrig tar slut" not in speech(result)


@pytest.mark.parametrize(
    "agent_overrides", [{CONF_LANGUAGE: "en", CONF_PROMPT: "", CONF_LLM_HASS_API: []}]
)
async def test_english_agent_without_tools(
    hass: HomeAssistant, ollama_server: OllamaTestServer, agent_id: str
) -> None:
    """An English agent gets English instructions; with no LLM API no tools are sent."""
    ollama_server.add_rule(
        ScriptedReply(
            content="Hello there.",
            tool_calls=[{"name": "intent__HassTurnOn", "arguments": {"area": "Kitchen"}}],
        )
    )
    result = await converse(hass, THINK_TEXT)

    request = ollama_server.chat_requests[0]
    assert request.system_prompt.startswith("You are Alice")
    assert not request.tools
    # The hallucinated tool call is dropped, the text answer stands.
    assert speech(result) == "Hello there."
    assert len(ollama_server.chat_requests) == 1


async def test_custom_prompt_is_a_template(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """A prompt set in the subentry replaces the default and is rendered."""
    set_agent(
        hass, mock_config_entry, **{CONF_PROMPT: "Du heter {{ 'Al' + 'ice' }} och pratar skånska."}
    )
    await async_setup(hass, mock_config_entry)

    await converse(hass, THINK_TEXT)

    assert ollama_server.chat_requests[0].system_prompt.startswith(
        "Du heter Alice och pratar skånska."
    )


async def test_model_goes_quiet_after_a_tool(
    hass: HomeAssistant, demo_home: dict[str, str], ollama_server: OllamaTestServer, agent_id: str
) -> None:
    """If the model says nothing after a successful tool call, Alice says it is done."""
    ollama_server.add_rule(ScriptedReply(content=""), after_tool=True)
    ollama_server.add_rule(
        ScriptedReply(
            tool_calls=[
                {"name": "intent__HassTurnOn", "arguments": {"area": "Kök", "domain": ["light"]}}
            ]
        )
    )
    result = await converse(hass, LIGHT_REQUEST)

    assert speech(result) == "Klart."
    assert result.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert state_of(hass, demo_home["kitchen_light"]) == STATE_ON


# --- faults -------------------------------------------------------------------------


def assert_error(result: conversation.ConversationResult, *fragments: str) -> None:
    """The turn failed with a spoken message that contains ``fragments``."""
    assert result.response.response_type == intent.IntentResponseType.ERROR
    text = speech(result)
    for fragment in fragments:
        assert fragment in text, text


async def assert_agent_error(
    get_diagnostics: Diagnostics, entry: MockConfigEntry, key: str
) -> dict[str, Any]:
    """The agent's status tells the truth about the failure; return the diagnostics."""
    data = await get_diagnostics(entry)
    (agent,) = data["agent_status"].values()
    assert agent["state"] == "error"
    assert agent["last_error"] == key
    return data


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        pytest.param("", "empty_input", "Jag hörde inte", id="empty"),
        pytest.param("   \n\t ", "empty_input", "Jag hörde inte", id="whitespace"),
        pytest.param("tänd " * 4000, "input_too_long", "4000 tecken", id="20000-chars"),
    ],
)
async def test_bad_input_never_reaches_the_model(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    get_diagnostics: Diagnostics,
    agent_id: str,
    text: str,
    key: str,
    fragment: str,
) -> None:
    """Empty, blank and huge input get a Swedish message and no model call."""
    result = await converse(hass, text)

    assert_error(result, fragment)
    assert ollama_server.chat_requests == []
    await assert_agent_error(get_diagnostics, init_integration, key)


async def test_ollama_gone_at_turn_time(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    get_diagnostics: Diagnostics,
    agent_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ollama stops after setup: Alice says so and the backend is marked down."""
    host = ollama_server.url.removeprefix("http://")
    await ollama_server.stop()

    with caplog.at_level(logging.WARNING):
        result = await converse(hass, THINK_TEXT)

    assert_error(result, "Jag når inte den lokala modellen", host)
    data = await assert_agent_error(get_diagnostics, init_integration, "ollama_unreachable")
    health = data["backends"]["ollama"]
    assert health["state"] == "down"
    assert health["consecutive_failures"] == 1
    assert "ollama_unreachable" in caplog.text
    # The transcript is not logged.
    assert "kalendern" not in caplog.text


@pytest.mark.parametrize("agent_overrides", [{CONF_LOCAL_MODEL: "mistral-nemo:12b"}])
async def test_unknown_model_is_named(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    get_diagnostics: Diagnostics,
    agent_id: str,
) -> None:
    """A model that is not installed: the message names it and how to get it."""
    result = await converse(hass, THINK_TEXT)

    assert_error(result, "mistral-nemo:12b", "ollama pull mistral-nemo:12b")
    data = await assert_agent_error(get_diagnostics, init_integration, "model_not_found")
    # A missing model does not mean the server is down.
    assert data["backends"]["ollama"]["state"] == "ok"


@pytest.mark.parametrize(
    ("reply", "key"),
    [
        pytest.param(
            ScriptedReply(content="Det här blir", raw_line_after=(1, "{not json")),
            "ollama_bad_stream",
            id="malformed-line",
        ),
        pytest.param(
            ScriptedReply(content="Det här blir", raw_line_after=(1, "")),
            "ollama_bad_stream",
            id="blank-line",
        ),
        pytest.param(
            ScriptedReply(
                content="Det här blir", raw_line_after=(1, '{"message": {"content": "x"}}')
            ),
            "ollama_bad_stream",
            id="chunk-without-role",
        ),
        pytest.param(
            ScriptedReply(content="Det här blir nog bra", truncate_after=2),
            "ollama_bad_stream",
            id="truncated",
        ),
        pytest.param(
            ScriptedReply(content="Det här blir", error_after=1, error="CUDA out of memory"),
            "ollama_error",
            id="error-mid-stream",
        ),
        pytest.param(ScriptedReply(status=500, error="boom"), "ollama_error", id="http-500"),
        pytest.param(
            ScriptedReply(status=503, error="server busy"), "ollama_error", id="queue-full"
        ),
    ],
)
async def test_broken_streams(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    get_diagnostics: Diagnostics,
    agent_id: str,
    reply: ScriptedReply,
    key: str,
) -> None:
    """Malformed, truncated and failing streams end in a clear Swedish message."""
    ollama_server.reply_always(reply)

    result = await converse(hass, THINK_TEXT)

    assert_error(result, "Försök igen")
    await assert_agent_error(get_diagnostics, init_integration, key)

    # Nothing is stuck: the next turn works.
    ollama_server.reply_always(ScriptedReply(content="Nu går det bra."))
    result = await converse(hass, THINK_TEXT)
    assert speech(result) == "Nu går det bra."
    (agent,) = (await get_diagnostics(init_integration))["agent_status"].values()
    assert agent["state"] == "idle"


@pytest.mark.parametrize("agent_overrides", [{CONF_THINK_TIMEOUT: 0.2}])
async def test_slow_model_times_out(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    get_diagnostics: Diagnostics,
    agent_id: str,
) -> None:
    """No chunk within the timeout: a message, not a hung pipeline."""
    ollama_server.reply_always(ScriptedReply(content="sent", first_token_delay=5))

    result = await converse(hass, THINK_TEXT)

    assert_error(result, "svarade inte i tid")
    await assert_agent_error(get_diagnostics, init_integration, "ollama_timeout")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param({"name": "intent__HassUnlockEverything", "arguments": {}}, id="unknown-tool"),
        pytest.param(
            {"name": "intent__HassTurnOn", "arguments": {"area": "Garaget", "domain": ["light"]}},
            id="invalid-arguments",
        ),
    ],
)
async def test_bad_tool_calls_are_reported_back(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    agent_id: str,
    caplog: pytest.LogCaptureFixture,
    call: dict[str, Any],
) -> None:
    """A tool that does not exist or fails: the error goes back to the model, which apologises."""

    def apologise(request: ChatRequest) -> ScriptedReply:
        assert request.tool_results[0]["error"] is True
        return ScriptedReply(content="Förlåt, det gick inte.")

    ollama_server.add_rule(apologise, after_tool=True)
    ollama_server.add_rule(ScriptedReply(tool_calls=[call]))

    with caplog.at_level(logging.WARNING):
        result = await converse(hass, THINK_TEXT)

    assert speech(result) == "Förlåt, det gick inte."
    assert len(ollama_server.chat_requests) == 2
    assert f"Tool {call['name']} failed" in caplog.text


async def test_endless_tool_loop_is_cut(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    get_diagnostics: Diagnostics,
    agent_id: str,
) -> None:
    """A model that never stops calling tools is stopped after the bound."""
    ollama_server.reply_always(
        ScriptedReply(
            tool_calls=[
                {"name": "intent__HassTurnOn", "arguments": {"area": "Kök", "domain": ["light"]}}
            ]
        )
    )

    result = await converse(hass, LIGHT_REQUEST)

    assert_error(result, "fastnade")
    assert len(ollama_server.chat_requests) == MAX_TOOL_ITERATIONS
    await assert_agent_error(get_diagnostics, init_integration, "tool_loop")


@pytest.mark.parametrize("entry_overrides", [{CONF_OLLAMA_API_KEY: "sk-ollama-secret"}])
async def test_rejected_key_at_turn_time_starts_reauth(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key is revoked after setup: message, reauth flow, and no key in the logs."""
    ollama_server.api_key = "sk-ollama-secret"
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    ollama_server.api_key = "sk-rotated"

    with caplog.at_level(logging.DEBUG):
        result = await converse(hass, THINK_TEXT)
        await hass.async_block_till_done()

    assert_error(result, "godtog inte API-nyckeln")
    flows = hass.config_entries.flow.async_progress_by_handler("alice_voice")
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert "sk-ollama-secret" not in caplog.text


@pytest.mark.parametrize("agent_overrides", [{CONF_PROMPT: "Hej {{ undefined_function() }}"}])
async def test_broken_prompt_template(
    hass: HomeAssistant, ollama_server: OllamaTestServer, agent_id: str
) -> None:
    """A prompt that does not render gives HA's own error and no model call."""
    result = await converse(hass, THINK_TEXT)

    assert result.response.response_type == intent.IntentResponseType.ERROR
    assert ollama_server.chat_requests == []


async def test_model_says_nothing(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    get_diagnostics: Diagnostics,
    agent_id: str,
) -> None:
    """An empty answer (no text, no tools) is reported, not passed on as silence."""
    ollama_server.reply_always(ScriptedReply(content=""))

    result = await converse(hass, THINK_TEXT)

    assert_error(result, "gav inget svar")
    await assert_agent_error(get_diagnostics, init_integration, "empty_reply")


async def test_localized_message_falls_back_to_english(hass: HomeAssistant) -> None:
    """Unknown languages get English; unknown keys come back as the key."""
    from custom_components.alice_voice.helpers import async_localized_message

    assert await async_localized_message(hass, "de", "empty_reply") == (
        "The local model gave no answer. Please try again."
    )
    assert await async_localized_message(hass, "sv", "no_such_key") == "no_such_key"
    assert (
        await async_localized_message(hass, "sv", "input_too_long", {"max_chars": "10"})
        == "Det där blev för långt för mig. Håll det under 10 tecken."
    )


async def test_agent_is_offered_for_every_language(
    hass: HomeAssistant, agent_id: str, hass_ws_client: WebSocketGenerator
) -> None:
    """Alice accepts any language (and answers in her own)."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "conversation/agent/list", "language": "de"})
    reply = await client.receive_json()
    agents = {agent["id"]: agent for agent in reply["result"]["agents"]}
    assert agents[agent_id]["supported_languages"] == "*"


# --- the think budget: "jag kollar" -------------------------------------------------------

FILLER = "Jag kollar det åt dig, ett ögonblick bara. Svaret kommer strax."


@pytest.mark.parametrize("agent_overrides", [{CONF_THINK_BUDGET: 100}])
async def test_think_over_budget_says_it_is_checking(
    hass: HomeAssistant, ollama_server: OllamaTestServer, agent_id: str
) -> None:
    """No answer text within the think budget: a "jag kollar" phrase first, then the answer."""
    ollama_server.reply_always(
        ScriptedReply(
            thinking="Hmm, kalendern.", content="Du har tandläkaren kl nio.", first_token_delay=0.5
        )
    )
    result = await converse(hass, THINK_TEXT)
    assert len(FILLER) > 60  # HA's Assist pipeline streams it to TTS at once
    assert speech(result) == f"{FILLER} Du har tandläkaren kl nio."
    assert source(result) == "local_ai"


@pytest.mark.parametrize("agent_overrides", [{CONF_THINK_BUDGET: 100}])
async def test_filler_is_not_sent_back_to_the_model(
    hass: HomeAssistant, ollama_server: OllamaTestServer, agent_id: str
) -> None:
    """The "jag kollar" phrase is for the listener; the model's history leaves it out."""

    def reply(request: ChatRequest) -> ScriptedReply:
        if request.after_tool_result:
            return ScriptedReply(content="Klockan är tio.")
        return ScriptedReply(
            tool_calls=[{"name": "llm__GetDateTime", "arguments": {}}], first_token_delay=0.5
        )

    ollama_server.reply_always(reply)
    result = await converse(hass, THINK_TEXT)
    assert speech(result) == "Klockan är tio."
    with (
        chat_session.async_get_chat_session(hass, result.conversation_id) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        spoken = [
            c.content
            for c in chat_log.content
            if isinstance(c, conversation.AssistantContent) and c.content
        ]
    assert spoken == [f"{FILLER} ", "Klockan är tio."]
    second = ollama_server.chat_requests[-1].body["messages"]
    (assistant,) = [m for m in second if m["role"] == "assistant"]
    assert not assistant.get("content")  # the filler is gone
    assert assistant["tool_calls"][0]["function"]["name"] == "llm__GetDateTime"


# --- what the chat log holds ----------------------------------------------------------------


async def test_chat_log_of_a_tool_turn(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    agent_id: str,
    snapshot: SnapshotAssertion,
) -> None:
    """Thinking, the tool call, Home Assistant's result and the answer, in order."""
    turn_on_kitchen(ollama_server)
    result = await converse(hass, LIGHT_REQUEST)
    with (
        chat_session.async_get_chat_session(hass, result.conversation_id) as session,
        conversation.async_get_chat_log(hass, session) as chat_log,
    ):
        assert chat_log.content[1:] == snapshot(exclude=props("created", "id", "tool_call_id"))


# --- pure helpers ------------------------------------------------------------------------


class _Tool(llm.Tool):
    name = "alice_voice__test"
    description = None
    parameters = probatio.Schema({probatio.Required("query"): str})

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        return llm.ToolResult({})


def test_format_tool_without_description() -> None:
    spec = format_tool(_Tool(), None)
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "alice_voice__test"
    assert "description" not in spec["function"]
    assert spec["function"]["parameters"]["required"] == ["query"]


def _named_tool(name: str, schema: dict[Any, Any]) -> llm.Tool:
    tool = _Tool()
    tool.name = name
    tool.parameters = probatio.Schema(schema)
    return tool


def test_tool_specs_are_converted_once() -> None:
    """The same tool, even a new object of it, gets the spec made the first time."""
    specs = ToolSpecs()
    rooms = {probatio.Required("area"): probatio.In(["kök", "hall"])}
    first = specs.specs([_named_tool("a", rooms), _named_tool("b", {})], None)
    again = specs.specs([_named_tool("a", dict(rooms)), _named_tool("b", {})], None)
    assert [id(spec) for spec in again] == [id(spec) for spec in first]
    assert len(specs) == 2
    assert first[0]["function"]["parameters"]["properties"]["area"]["enum"] == ["kök", "hall"]

    # The same name with another schema, or another serializer, is another spec.
    more_rooms = {probatio.Required("area"): probatio.In(["kök", "hall", "sovrum"])}
    (changed,) = specs.specs([_named_tool("a", more_rooms)], None)
    assert changed["function"]["parameters"]["properties"]["area"]["enum"] == [
        "kök",
        "hall",
        "sovrum",
    ]
    (serialized,) = specs.specs([_named_tool("a", rooms)], llm.selector_serializer)
    assert serialized is not first[0]
    assert len(specs) == 4


def test_tool_specs_keep_a_bounded_number() -> None:
    specs = ToolSpecs(size=2)
    for name in ("a", "b", "c"):
        specs.specs([_named_tool(name, {})], None)
    assert len(specs) == 2
    (spec,) = specs.specs([_named_tool("a", {})], None)  # the oldest went: made again
    assert spec["function"]["name"] == "a"
    assert len(specs) == 2


async def test_the_assist_tools_are_converted_once(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    ollama_server: OllamaTestServer,
    agent_id: str,
) -> None:
    """Home Assistant's API gives new tool objects every turn; their specs are made once."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    think = entry.runtime_data.engine.paths[PathKind.THINK]
    assert isinstance(think, ThinkPath)
    await converse(hass, THINK_TEXT)
    kept = len(think.tool_specs)
    assert kept > 0
    await converse(hass, THINK_TEXT)
    first, second = ollama_server.chat_requests
    assert len(think.tool_specs) == kept  # nothing new was converted
    assert second.tools == first.tools
    assert first.tool_names  # the model was offered the tools


def test_trim_history() -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "s"}]
    for turn in range(5):
        messages += [
            {"role": "user", "content": f"u{turn}"},
            {"role": "assistant", "content": "", "tool_calls": [{}]},
            {"role": "tool", "content": "{}"},
            {"role": "assistant", "content": f"a{turn}"},
        ]
    messages.append({"role": "user", "content": "now"})
    assert trim_history(messages, 0) == messages
    assert trim_history(messages, 50) == messages
    trimmed = trim_history(messages, 2)
    assert [m["content"] for m in trimmed if m["role"] in ("system", "user")] == [
        "s",
        "u3",
        "u4",
        "now",
    ]
    # The cut lands on a user message, never between a call and its result.
    assert trimmed[1]["role"] == "user"
    without_system = trim_history(messages[1:], 1)
    assert without_system[0] == {"role": "user", "content": "u4"}
