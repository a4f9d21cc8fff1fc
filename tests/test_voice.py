"""Voice turns end to end: a Wyoming satellite, Alice's pipeline, STT and TTS.

Everything is real but the far ends: Home Assistant's wyoming integration talks
to a satellite peer over TCP (:mod:`simulators.satellite`), the pipeline runs
Alice's speech-to-text against the Realtime test server (transcription session)
and her text-to-speech against the speech test server, both behind one OpenAI
base URL, driven by the real ``openai`` client.
"""

import asyncio
import os
from pathlib import Path
import sys
from typing import Any, ClassVar
import wave

from homeassistant.components import assist_pipeline, tts
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigSubentryData
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, llm
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.alice_voice.const import (
    CONF_LANGUAGE,
    CONF_MODE,
    CONF_OLLAMA_URL,
    CONF_SATELLITES,
    DEFAULT_CONVERSATION_OPTIONS,
    DOMAIN,
    SUBENTRY_CONVERSATION,
)
from simulators.ollama import OllamaTestServer
from simulators.realtime import RealtimeTestServer
from simulators.satellite import SatelliteTestServer
from simulators.speech import Faults, SpeechTestServer

from .common import openai_connection

VOICE = Path(__file__).parent / "data" / "voice"


def pcm(name: str) -> bytes:
    """The 16 kHz PCM of a fixture."""
    with wave.open(str(VOICE / name), "rb") as wav:
        return wav.readframes(wav.getnframes())


async def setup_voice(
    hass: HomeAssistant,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    **agent: Any,
) -> tuple[ConfigEntry, MockConfigEntry, str]:
    """The satellite through the wyoming integration, then Alice set to it."""
    # Through the wyoming integration's own config flow, as a user adds a satellite.
    result = await hass.config_entries.flow.async_init(
        "wyoming",
        context={"source": SOURCE_USER},
        data={"host": "127.0.0.1", "port": satellite.port},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Köket"
    await hass.async_block_till_done()
    wyoming = result["result"]
    registry = er.async_get(hass)
    satellite_id = registry.async_get_entity_id(
        "assist_satellite", "wyoming", f"{wyoming.entry_id}-assist_satellite"
    )
    assert satellite_id is not None
    options = {
        **DEFAULT_CONVERSATION_OPTIONS,
        CONF_LANGUAGE: "sv",
        CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
        CONF_SATELLITES: [satellite_id],
        **agent,
    }
    alice = MockConfigEntry(
        domain=DOMAIN,
        title="Alice Voice",
        data={CONF_OLLAMA_URL: ollama_server.url, **openai_connection(openai_server)},
        subentries_data=[
            ConfigSubentryData(
                data=options, subentry_type=SUBENTRY_CONVERSATION, title="Alice", unique_id=None
            )
        ],
    )
    alice.add_to_hass(hass)
    assert await hass.config_entries.async_setup(alice.entry_id)
    await hass.async_block_till_done()
    await satellite.wait_controlled()
    return wyoming, alice, satellite_id


def alice_pipeline(hass: HomeAssistant) -> assist_pipeline.Pipeline:
    """The one pipeline named Alice."""
    pipelines = [p for p in assist_pipeline.async_get_pipelines(hass) if p.name == "Alice"]
    assert len(pipelines) == 1
    return pipelines[0]


async def test_voice_turn_from_a_satellite(
    hass: HomeAssistant,
    demo_home: dict[str, str],
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    speech_server: SpeechTestServer,
) -> None:
    """Speech in, the light on, speech out; the satellite's turn closes with played."""
    wyoming, alice, _ = await setup_voice(hass, satellite, ollama_server, openai_server)
    pipeline = alice_pipeline(hass)
    assert pipeline.conversation_engine == "conversation.alice"
    assert pipeline.stt_engine == "stt.alice_tal_till_text"
    assert pipeline.tts_engine == "tts.alice_text_till_tal"
    assert pipeline.language == "sv"
    assert not pipeline.prefer_local_intents
    select_id = er.async_get(hass).async_get_entity_id(
        "select", "wyoming", f"{wyoming.entry_id}-pipeline"
    )
    assert select_id is not None
    state = hass.states.get(select_id)
    assert state is not None
    assert state.state == "Alice"

    openai_server.script_transcripts("Tänd lampan i köket")
    utterance = pcm("sv_tand_lampan_i_koket.wav")
    heard = await satellite.speak(utterance)
    async with asyncio.timeout(20):
        await heard.played.wait()

    assert heard.transcript == "Tänd lampan i köket"
    assert heard.synthesize
    assert heard.audio, "no speech came back"
    # The utterance reached Realtime at 24 kHz, ending once Alice heard the speech end.
    audio = openai_server.connections[-1].audio
    assert audio.rate == 24_000
    assert 1_000 < audio.received_ms < len(utterance) / 32 + 700
    # The answer was spoken by Alice's TTS, and it said what really happened.
    assert speech_server.speech_texts
    assert "".join(speech_server.speech_texts).strip() == heard.synthesize.strip()
    light = hass.states.get(demo_home["kitchen_light"])
    assert light is not None
    assert light.state == "on"
    # How it was spoken reached the turn and the HUD (numbers only, no audio).
    await hass.async_block_till_done()
    subentry_id = next(iter(alice.subentries))
    status_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{subentry_id}_voice_status"
    )
    assert status_id is not None
    status = hass.states.get(status_id)
    assert status is not None
    audio = status.attributes["last_audio"]
    assert set(audio) == {
        "duration_ms",
        "speech_ms",
        "energy_level",
        "speaking_rate",
        "clipping_ratio",
        "silence_ratio",
    }
    assert 1_000 < audio["duration_ms"] < 3_000
    assert 0 < audio["speech_ms"] <= audio["duration_ms"]


async def test_setup_again_keeps_one_pipeline(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """Reloading updates the pipeline; removing Alice removes it."""
    _, alice, _ = await setup_voice(hass, satellite, ollama_server, openai_server)
    first = alice_pipeline(hass)
    assert await hass.config_entries.async_reload(alice.entry_id)
    await hass.async_block_till_done()
    assert alice_pipeline(hass).id == first.id
    assert await hass.config_entries.async_remove(alice.entry_id)
    await hass.async_block_till_done()
    assert not [p for p in assist_pipeline.async_get_pipelines(hass) if p.name == "Alice"]


async def test_local_only_has_no_cloud_voice(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """A local-only agent gets no cloud STT or TTS; its pipeline uses local ones (none here)."""
    await setup_voice(hass, satellite, ollama_server, openai_server, **{CONF_MODE: "local_only"})
    assert hass.states.async_entity_ids("stt") == []
    assert hass.states.async_entity_ids("tts") == []
    pipeline = alice_pipeline(hass)
    assert pipeline.stt_engine is None
    assert pipeline.tts_engine is None
    assert openai_server.connection_count == 0


async def test_speech_of_a_whole_message(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    speech_server: SpeechTestServer,
) -> None:
    """An announcement (a whole message, not a stream) is spoken in one WAV."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    stream = tts.async_create_stream(hass, "tts.alice_text_till_tal", language="sv")
    stream.async_set_message("Middagen är klar.")
    audio = b"".join([chunk async for chunk in stream.async_stream_result()])
    assert len(audio) > 1_000  # Home Assistant's default format, converted from Alice's WAV
    assert speech_server.speech_texts == ["Middagen är klar."]


async def test_speech_fails(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    speech_server: SpeechTestServer,
) -> None:
    """The speech API fails: the audio ends, the cloud is reported down, then comes back."""
    _, alice, _ = await setup_voice(hass, satellite, ollama_server, openai_server)
    speech_server.speech_faults = Faults(status=500, count=1)
    stream = tts.async_create_stream(hass, "tts.alice_text_till_tal", language="sv")
    stream.async_set_message("Middagen är klar.")
    with pytest.raises(HomeAssistantError):
        b"".join([chunk async for chunk in stream.async_stream_result()])
    health = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{next(iter(alice.subentries))}_cloud_connected"
    )
    assert health is not None
    state = hass.states.get(health)
    assert state is not None
    assert state.state == "off"

    stream = tts.async_create_stream(hass, "tts.alice_text_till_tal", language="sv")
    stream.async_set_message("Nu går det igen.")
    assert b"".join([chunk async for chunk in stream.async_stream_result()])
    state = hass.states.get(health)
    assert state is not None
    assert state.state == "on"


class _Writes:
    """Files opened for writing while recording (an audit hook: added once per process)."""

    hooked = False
    recording = False
    paths: ClassVar[list[str]] = []

    @classmethod
    def audit(cls, event: str, args: tuple[Any, ...]) -> None:
        # A path, not a file descriptor (pipes to ffmpeg are opened by their number).
        if cls.recording and event == "open" and len(args) >= 2 and isinstance(args[0], str):
            path, mode = args[0], args[1]
            if (isinstance(mode, str) and any(flag in mode for flag in "wax+")) or (
                isinstance(mode, int) and mode & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            ):
                cls.paths.append(str(path))


async def test_audio_is_never_written_to_disk(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """A whole voice turn opens no file for writing: the audio lives in memory only."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    if not _Writes.hooked:
        sys.addaudithook(_Writes.audit)
        _Writes.hooked = True
    _Writes.paths.clear()
    openai_server.script_transcripts("Tänd lampan i köket")
    _Writes.recording = True
    try:
        heard = await satellite.speak(pcm("sv_tand_lampan_i_koket.wav"))
        async with asyncio.timeout(20):
            await heard.played.wait()
    finally:
        _Writes.recording = False
    assert heard.transcript == "Tänd lampan i köket"
    # HA's own TTS cache is off in the tests (tts_cache fixture); nothing else may write.
    assert _Writes.paths == []
