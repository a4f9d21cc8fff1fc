"""Voice turns that go wrong: silence, a dropped transcription, a monologue, a lost satellite.

Each ends the pipeline with a clear error at the satellite (or a bounded turn),
tells the truth in the health entities, leaks nothing, and the next turn works.
"""

import asyncio
import os

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.alice_voice.const import DOMAIN
from simulators.ollama import OllamaTestServer
from simulators.realtime import RealtimeTestServer
from simulators.realtime_audio import Transcript
from simulators.satellite import Heard, SatelliteTestServer

from .test_voice import pcm, setup_voice

UTTERANCE = "sv_tand_lampan_i_koket.wav"


async def finished(heard: Heard, within: float = 20.0) -> None:
    """Wait until the turn ended: played, or an error sent to the satellite."""
    async with asyncio.timeout(within):
        await heard.ended.wait()


def openai_health(hass: HomeAssistant) -> str:
    """The state of the OpenAI health binary sensor."""
    registry = er.async_get(hass)
    entity_id = next(
        e.entity_id
        for e in registry.entities.values()
        if e.platform == DOMAIN
        and e.domain == "binary_sensor"
        and e.unique_id.endswith("cloud_connected")
    )
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_silence_is_not_transcribed(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """Only silence: nothing is committed for transcription; the pipeline ends with an error."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    heard = await satellite.speak(b"", trailing_silence_ms=9_000)
    await finished(heard)
    assert heard.errors
    assert heard.transcript is None
    assert all(not c.audio.committed_ms for c in openai_server.connections)
    # The next turn works.
    openai_server.script_transcripts("Tänd lampan i köket")
    heard = await satellite.speak(pcm(UTTERANCE))
    await finished(heard)
    assert heard.transcript == "Tänd lampan i köket"


async def test_transcription_dropped_midway(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """Realtime drops during transcription: an error at the satellite, OpenAI reported down."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    openai_server.script_transcripts(Transcript(text="Tänd lampan i köket", drop="close_1011"))
    heard = await satellite.speak(pcm(UTTERANCE))
    await finished(heard)
    assert heard.errors
    assert heard.transcript is None
    assert openai_health(hass) == "off"
    # The server answers again: the next turn transcribes, and health recovers.
    openai_server.script_transcripts("Tänd lampan i köket")
    heard = await satellite.speak(pcm(UTTERANCE))
    await finished(heard)
    assert heard.transcript == "Tänd lampan i köket"
    assert openai_health(hass) == "on"


async def test_a_monologue_is_bounded(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """A 60-second monologue: Alice stops listening at 30 s and transcribes that."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    openai_server.script_transcripts("Bla bla bla")
    words = pcm("sv_hej_alice_padded.wav")[32_000:55_264]  # the speech, without its silence
    heard = await satellite.speak(words * 83, trailing_silence_ms=0)  # 60 s without a pause
    await finished(heard, within=30)
    assert heard.transcript == "Bla bla bla"
    received = openai_server.connections[-1].audio.received_ms
    assert 29_000 <= received <= 30_500


async def test_satellite_gone_midway(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """The satellite disconnects mid-utterance: the transcription closes, nothing hangs."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    await satellite.speak(pcm(UTTERANCE), drop_after_ms=1_000, realtime=True)
    await openai_server.wait_for(
        lambda: (
            bool(openai_server.connections) and all(c.closed for c in openai_server.connections)
        ),
        within=10,
    )
    # Nothing was committed for transcription: there is no one left to answer.
    assert not openai_server.connections[-1].audio.committed_ms


@pytest.mark.parametrize(("rate", "width"), [(8_000, 2), (22_050, 2), (16_000, 1), (48_000, 4)])
async def test_audio_in_another_format(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
    rate: int,
    width: int,
) -> None:
    """Audio at another rate or width: Home Assistant converts it, Alice transcribes it."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    openai_server.script_transcripts("Tänd lampan i köket")
    heard = await satellite.speak(pcm(UTTERANCE), rate=rate, width=width)
    await finished(heard)
    assert heard.transcript == "Tänd lampan i köket"
    assert openai_server.connections[-1].audio.rate == 24_000


async def test_faults_leave_nothing_behind(
    hass: HomeAssistant,
    setup_ha: None,
    satellite: SatelliteTestServer,
    ollama_server: OllamaTestServer,
    openai_server: RealtimeTestServer,
) -> None:
    """After a dropped transcription and a vanished satellite: no Alice task, no open socket."""
    await setup_voice(hass, satellite, ollama_server, openai_server)
    openai_server.script_transcripts("Tänd lampan i köket")
    heard = await satellite.speak(pcm(UTTERANCE))
    await finished(heard)
    await hass.async_block_till_done()
    tasks_before = asyncio.all_tasks()
    fds_before = len(os.listdir("/proc/self/fd"))

    openai_server.script_transcripts(Transcript(text="Tänd lampan i köket", drop="abort"))
    heard = await satellite.speak(pcm(UTTERANCE))
    await finished(heard)
    openai_server.script_transcripts("Tänd lampan i köket")
    heard = await satellite.speak(pcm(UTTERANCE))
    await finished(heard)
    assert heard.transcript == "Tänd lampan i köket"
    await openai_server.wait_for(lambda: all(c.closed for c in openai_server.connections))
    await hass.async_block_till_done()

    leftover = [
        task.get_name()
        for task in asyncio.all_tasks() - tasks_before
        if not task.done() and task is not asyncio.current_task() and DOMAIN in repr(task)
    ]
    assert leftover == []
    # Every transcription connection is closed; nothing else of Alice's stays open.
    assert len(os.listdir("/proc/self/fd")) <= fds_before
