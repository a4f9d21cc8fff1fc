"""Speculative fast answers in voice turns: begun from the audio, used only when routed fast.

A Wyoming satellite speaks to Alice's pipeline; her STT transcribes in a Realtime
conversation session that begins the fast answer as soon as the utterance is
committed. The tests check that the answer is reused (one Realtime session for
the whole turn) when the router picks the fast cloud path, and that it is
cancelled and never spoken otherwise.
"""

import asyncio
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.alice_voice.backends.speculate import SpeculativeAnswer
from custom_components.alice_voice.backends.transcribe import (
    RealtimeTranscriber,
    TranscriptionSettings,
)
from custom_components.alice_voice.const import CONF_MODE, CONF_SPECULATE
from custom_components.alice_voice.events import EVENT_RESPONSE
from custom_components.alice_voice.models import AgentConfig
from simulators.ollama import OllamaTestServer
from simulators.realtime import RealtimeTestServer, Reply
from simulators.realtime_audio import silence, tone
from simulators.satellite import Heard, SatelliteTestServer
from simulators.speech import SpeechTestServer

from .test_voice import pcm, setup_voice

SPECULATED = "Hej! Vad kan jag hjälpa dig med?"


async def speak(satellite: SatelliteTestServer, fixture: str) -> Heard:
    """Say a fixture to Alice and wait for the answer to be played."""
    heard = await satellite.speak(pcm(fixture))
    async with asyncio.timeout(20):
        await heard.played.wait()
    return heard


def used_cancel(server: RealtimeTestServer) -> bool:
    """Whether the STT's session had its answer cancelled."""
    return "response.cancel" in server.connections[0].client_event_types


async def test_fast_turn_reuses_the_answer_begun_from_the_audio(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    speech_server: SpeechTestServer,
) -> None:
    """A greeting: the session that transcribed it answered it; nothing was asked twice."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    responses = async_capture_events(hass, EVENT_RESPONSE)
    openai_server.script_transcripts("Hej Alice")
    openai_server.add_rule(Reply(text=SPECULATED), user_text="Hej Alice")

    heard = await speak(satellite, "sv_hej_alice.wav")

    assert heard.transcript == "Hej Alice"
    assert (heard.synthesize or "").strip() == SPECULATED
    assert "".join(speech_server.speech_texts).strip() == SPECULATED
    await hass.async_block_till_done()
    assert responses[-1].data["source"] == "openai_realtime"
    assert responses[-1].data["speculative"] is True
    # One Realtime session did both: no pooled session was opened for the answer.
    assert openai_server.connection_count == 1
    record = openai_server.connections[0]
    assert record.handshake.query.get("intent") is None
    assert record.session["type"] == "realtime"
    assert record.session["audio"]["input"]["transcription"]["language"] == "sv"
    assert record.client_event_types.count("response.create") == 1
    await openai_server.wait_for(lambda: record.closed)


async def test_think_turn_cancels_the_answer_and_never_speaks_it(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    speech_server: SpeechTestServer,
) -> None:
    """The router picks think: the begun answer is cancelled and the local model answers."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    responses = async_capture_events(hass, EVENT_RESPONSE)
    question = "Förklara varför himlen är blå och jämför med solnedgången"
    openai_server.script_transcripts(question)
    openai_server.add_rule(Reply(text="SPEKULATION", first_delta_delay=3.0))

    heard = await speak(satellite, "sv_vad_ar_klockan.wav")

    assert heard.transcript == question
    assert "SPEKULATION" not in (heard.synthesize or "")
    assert "SPEKULATION" not in "".join(speech_server.speech_texts)
    await hass.async_block_till_done()
    assert responses[-1].data["source"] == "local_ai"
    assert responses[-1].data["speculative"] is False
    assert ollama_server.chat_requests, "the local model answered"
    await openai_server.wait_for(lambda: openai_server.connections[0].closed)
    assert used_cancel(openai_server)
    assert openai_server.connection_count == 1


async def test_device_command_cancels_the_answer(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """Home Assistant's intents turn the light on; the cloud's guess is dropped."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    openai_server.script_transcripts("Tänd lampan i köket")
    openai_server.add_rule(Reply(text="SPEKULATION", first_delta_delay=3.0))

    heard = await speak(satellite, "sv_tand_lampan_i_koket.wav")

    assert "SPEKULATION" not in (heard.synthesize or "")
    light = hass.states.get(demo_home["kitchen_light"])
    assert light is not None
    assert light.state == "on"
    await openai_server.wait_for(lambda: openai_server.connections[0].closed)
    assert used_cancel(openai_server)


async def test_option_off_transcribes_only(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """Without the option the STT uses a transcription session; the answer is asked after."""
    await setup_voice(hass, satellite, ollama_server, openai_server, **{CONF_SPECULATE: False})
    responses = async_capture_events(hass, EVENT_RESPONSE)
    openai_server.script_transcripts("Hej Alice")
    openai_server.add_rule(Reply(text=SPECULATED), user_text="Hej Alice")

    heard = await speak(satellite, "sv_hej_alice.wav")

    assert (heard.synthesize or "").strip() == SPECULATED
    await hass.async_block_till_done()
    assert responses[-1].data["speculative"] is False
    assert openai_server.connections[0].handshake.query == {"intent": "transcription"}
    assert openai_server.connection_count == 2  # transcription, then the warm answer session


@pytest.mark.parametrize("mode", ["cloud_only"])
async def test_only_hybrid_agents_speculate(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    mode: str,
) -> None:
    """A cloud-only agent answers with tools on other settings: it does not speculate."""
    await setup_voice(hass, satellite, ollama_server, openai_server, **{CONF_MODE: mode})
    openai_server.script_transcripts("Hej Alice")
    await speak(satellite, "sv_hej_alice.wav")
    assert openai_server.connections[0].handshake.query == {"intent": "transcription"}


async def begin_answer(
    entry: ConfigEntry, openai_server: RealtimeTestServer, transcript: str
) -> SpeculativeAnswer:
    """What Alice's STT does for one utterance: transcribe it and begin the fast answer."""
    runtime = entry.runtime_data
    subentry = next(iter(entry.subentries.values()))
    config = await runtime.engine.cloud.async_speculation_config(
        AgentConfig.from_subentry(subentry)
    )
    assert config is not None
    answer = SpeculativeAnswer(model="gpt-realtime", config=config, key="stt.test")
    openai_server.script_transcripts(transcript)
    client = runtime.coordinator.openai
    assert client is not None
    async with RealtimeTranscriber(
        client, TranscriptionSettings(language="sv"), answer=answer
    ) as stt:
        await stt.append(tone(500, amplitude=4000) + silence(200))
        assert await stt.finish() == transcript
    runtime.voice.record(transcript, {"duration_ms": 700}, answer)
    return answer


async def converse(hass: HomeAssistant, text: str, conversation_id: str | None = None) -> Any:
    """A turn with the transcript, as the pipeline hands it to the agent."""
    return await conversation.async_converse(
        hass,
        text,
        conversation_id,
        Context(),
        language="sv",
        agent_id="conversation.alice",
    )


async def test_a_conversation_with_history_asks_again(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """The speculating session knew none of the earlier turns: its answer is not used."""
    _, alice, _ = await setup_voice(hass, satellite, ollama_server, openai_server)
    responses = async_capture_events(hass, EVENT_RESPONSE)
    first = await converse(hass, "Hej Alice")
    openai_server.add_rule(Reply(text="SPEKULATION"), predicate=lambda r: len(r.items) == 1)
    answer = await begin_answer(alice, openai_server, "Vad är en kvark?")

    result = await converse(hass, "Vad är en kvark?", first.conversation_id)

    speech = result.response.speech["plain"]["speech"]
    assert "SPEKULATION" not in speech
    assert speech.startswith("Hej! Jag hörde: Vad är en kvark?")
    await hass.async_block_till_done()
    assert responses[-1].data["speculative"] is False
    assert not answer.available


async def test_other_settings_ask_again(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The instructions changed between the audio and the turn: the answer is not used.

    They tell the model the time to the minute; a turn can cross a minute.
    """
    _, alice, _ = await setup_voice(hass, satellite, ollama_server, openai_server)
    answer = await begin_answer(alice, openai_server, "Vad är en kvark?")
    freezer.tick(timedelta(minutes=1))
    responses = async_capture_events(hass, EVENT_RESPONSE)

    await converse(hass, "Vad är en kvark?")

    await hass.async_block_till_done()
    assert responses[-1].data["source"] == "openai_realtime"
    assert responses[-1].data["speculative"] is False
    assert not answer.available


async def test_a_failed_answer_is_asked_again(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """The begun answer was refused (rate limit): the fast step asks once more, warm."""
    _, alice, _ = await setup_voice(hass, satellite, ollama_server, openai_server)
    openai_server.add_rule(Reply(error_code="rate_limit_exceeded"), times=1)
    answer = await begin_answer(alice, openai_server, "Vad är en kvark?")
    responses = async_capture_events(hass, EVENT_RESPONSE)

    result = await converse(hass, "Vad är en kvark?")

    assert result.response.speech["plain"]["speech"].startswith("Hej! Jag hörde:")
    await hass.async_block_till_done()
    assert responses[-1].data["source"] == "openai_realtime"
    assert responses[-1].data["speculative"] is False
    assert not answer.available
    assert openai_server.connection_count == 2


async def test_unloading_cancels_waiting_answers(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """An answer still waiting for its turn goes with the entry."""
    _, alice, _ = await setup_voice(hass, satellite, ollama_server, openai_server)
    openai_server.add_rule(Reply(text="SPEKULATION", first_delta_delay=5.0))
    answer = await begin_answer(alice, openai_server, "Vad är en kvark?")
    assert await hass.config_entries.async_unload(alice.entry_id)
    await hass.async_block_till_done()
    await openai_server.wait_for(lambda: openai_server.connections[0].closed)
    assert not answer.available
    assert used_cancel(openai_server)
