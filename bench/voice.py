"""Voice turns from a Wyoming satellite through two Assist pipelines (scenario 5).

:class:`VoiceRig` adds to a :class:`~bench.home.BenchHome`:

* a Wyoming satellite peer (:class:`simulators.satellite.SatelliteTestServer`, on
  the servers' thread) that Home Assistant's ``wyoming`` integration controls;
* Alice (hybrid mode) with that satellite in her voice settings, so her pipeline
  "Alice" (her STT, her agent, her TTS) is assigned to it;
* core's ``openai_conversation`` with its ``stt`` and ``tts`` subentries, and a
  pipeline "Core": core's STT, **Alice's agent**, core's TTS;
* the simulated OpenAI audio endpoints (:class:`simulators.speech.SpeechTestServer`)
  on the simulated Realtime server's port: one base URL for both pipelines.

:meth:`VoiceRig.turn` selects a pipeline on the satellite (its *Assistant* select),
plays an utterance in real time and times, on the satellite's clock
(``time.monotonic``), the end of speech (the chunk holding the last speech sample
is sent), the first TTS audio chunk and the first audible one, and the events Home
Assistant sent it on the way (``voice-stopped``, ``transcript``, ``synthesize``).
"""

from array import array
import asyncio
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import time
from typing import Any, Final
import wave

from homeassistant.components import select
from homeassistant.components.assist_pipeline.pipeline import KEY_ASSIST_PIPELINE
from homeassistant.components.assist_satellite.const import DATA_COMPONENT as SATELLITES
from homeassistant.components.tts.const import DATA_TTS_MANAGER
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import Event, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from bench.home import OPENAI_KEY, BenchHome
from simulators.satellite import AUDIBLE, Heard, SatelliteTestServer
from simulators.speech import SpeechTestServer

VOICE_DIR: Final = Path(__file__).resolve().parent.parent / "tests" / "data" / "voice"
SPEECH_LEVEL: Final = 164  # 0.5 % of full scale: eSpeak's quieter tail is not speech
ALICE_PIPELINE: Final = "Alice"
CORE_PIPELINE: Final = "Core"
TURN_TIMEOUT: Final = 30.0  # seconds a turn may take before it is given up


@dataclass(slots=True, frozen=True)
class VoiceCosts:
    """The simulated OpenAI costs, the same for both pipelines."""

    transcribe_per_audio_s: float = 0.2  # s of transcription per s of audio (both STTs)
    speech_first_byte_s: float = 0.3  # /v1/audio/speech: time to the first audio byte
    speech_per_char_s: float = 0.005  # then per input character, streamed
    trailing_silence_ms: int = 2000  # the microphone keeps streaming after the speech

    def as_dict(self) -> dict[str, Any]:
        """For the JSON details."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def speech_pcm(*names: str, gap_ms: int = 150) -> bytes:
    """Fixtures' 16 kHz PCM, each cut after its last sample above 0.5 % of full scale.

    Several are joined with ``gap_ms`` of digital silence (shorter than either
    pipeline's end-of-speech silence), as one longer utterance.
    """
    parts: list[bytes] = []
    for name in names:
        with wave.open(str(VOICE_DIR / name), "rb") as wav:
            pcm = wav.readframes(wav.getnframes())
        samples = array("h", pcm)
        last = max(i for i, sample in enumerate(samples) if abs(sample) > SPEECH_LEVEL)
        parts.append(pcm[: (last + 1) * 2])
    return bytes(32 * gap_ms).join(parts)


def _leading_quiet_s(audio: bytes | bytearray, rate: int | None) -> float:
    """Seconds of received TTS audio before the first audible sample."""
    samples = array("h", bytes(audio[: len(audio) - len(audio) % 2]))
    for index, sample in enumerate(samples):
        if abs(sample) > AUDIBLE:
            return index / (rate or 16_000)
    return 0.0


@dataclass(slots=True)
class VoiceTurn:
    """One timed voice turn; times in seconds after the end of speech."""

    pipeline: str
    text: str
    first_audio: float | None  # the first TTS audio chunk reached the satellite
    first_audible: float | None  # the first audible sample would play (played on arrival)
    voice_stopped: float | None  # HA's VAD said the speech ended (core only)
    transcript: float | None  # the STT result reached the satellite
    synthesize: float | None  # TTS started (the text reached the satellite)
    played: float | None  # the whole answer's audio arrived
    heard_text: str | None
    spoken_text: str | None
    source: str | None  # Alice's answer source (alice_voice_response)
    speculative: bool  # the answer was begun from the audio (alice_voice_response)
    speech_requests: int  # /v1/audio/speech requests in the turn
    transcribed_s: float  # audio seconds the transcription was charged for
    evaluated_tokens: int  # prompt tokens Ollama evaluated (after its prompt cache)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The turn reached the satellite as speech, without errors."""
        return self.first_audio is not None and not self.errors


class VoiceRig:
    """The satellite, both pipelines and the speech server in a :class:`BenchHome`."""

    def __init__(self, home: BenchHome, speech: SpeechTestServer, costs: VoiceCosts) -> None:
        """``speech`` is mounted in ``home``'s Realtime server (``BenchHome(mount=…)``)."""
        self.home = home
        self.speech = speech
        self.costs = costs
        self.satellite = SatelliteTestServer("Köket")
        self.satellite_id = ""
        self.select_id = ""
        self.alice_agent = ""
        self.core_stt = ""
        self.core_tts = ""
        self._sources: list[str | None] = []
        self._speculative: list[bool] = []
        self.pipelines: dict[str, str] = {}  # "alice", "core" -> pipeline name (after setup)

    async def setup(self, **alice_options: Any) -> None:
        """The satellite, Alice set to it, core's OpenAI voice and the Core pipeline."""
        home, hass = self.home, self.home.hass
        realtime = home.realtime
        assert realtime is not None
        costs = self.costs

        def configure() -> None:
            realtime.transcribe_delay_s = costs.transcribe_per_audio_s
            self.speech.per_audio_second_s = costs.transcribe_per_audio_s
            self.speech.transcription_overhead_s = 0.0
            self.speech.first_byte_s = costs.speech_first_byte_s
            self.speech.per_char_s = costs.speech_per_char_s

        await home.servers.call(configure)
        await home.servers.run(self.satellite.start())
        wyoming = MockConfigEntry(
            domain="wyoming", data={"host": "127.0.0.1", "port": self.satellite.port}, title="Köket"
        )
        wyoming.add_to_hass(hass)
        assert await hass.config_entries.async_setup(wyoming.entry_id)
        await hass.async_block_till_done()
        registry = er.async_get(hass)
        satellite_id = registry.async_get_entity_id(
            "assist_satellite", "wyoming", f"{wyoming.entry_id}-assist_satellite"
        )
        select_id = registry.async_get_entity_id(
            "select", "wyoming", f"{wyoming.entry_id}-pipeline"
        )
        assert satellite_id is not None
        assert select_id is not None
        self.satellite_id, self.select_id = satellite_id, select_id
        self.alice_agent = await home.add_alice(
            mode="hybrid", satellites=[satellite_id], **alice_options
        )
        await home.servers.run(self.satellite.wait_controlled())
        # Alice gave the satellite her pipeline ("Alice", or "Alice 2" if taken).
        state = hass.states.get(select_id)
        assert state is not None
        assert state.state.startswith(ALICE_PIPELINE), state.state
        self.pipelines = {"alice": state.state}
        await self._setup_core()
        await self._no_tts_cache()
        hass.bus.async_listen("alice_voice_response", self._on_response)

    async def _setup_core(self) -> None:
        """Core's ``openai_conversation`` (its STT and TTS) and the pipeline "Core"."""
        hass = self.home.hass
        realtime = self.home.realtime
        assert realtime is not None
        # Core's client takes its base URL from the environment (it has no setting).
        os.environ["OPENAI_BASE_URL"] = realtime.base_url
        entry = MockConfigEntry(
            domain="openai_conversation",
            title="OpenAI (bench)",
            data={"api_key": OPENAI_KEY},
            version=2,
            minor_version=7,
            subentries_data=[
                ConfigSubentryData(
                    data={}, subentry_type="stt", title="OpenAI STT", unique_id=None
                ),
                ConfigSubentryData(
                    data={"prompt": "", "chat_model": "gpt-4o-mini-tts"},
                    subentry_type="tts",
                    title="OpenAI TTS",
                    unique_id=None,
                ),
            ],
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        self.core_stt = next(e.entity_id for e in entities if e.domain == "stt")
        self.core_tts = next(e.entity_id for e in entities if e.domain == "tts")
        collection = hass.data[KEY_ASSIST_PIPELINE].pipeline_store
        taken = {pipeline.name for pipeline in collection.async_items()}
        name = next(
            n
            for n in (CORE_PIPELINE, *(f"{CORE_PIPELINE} {i}" for i in range(2, 999)))
            if n not in taken
        )
        self.pipelines["core"] = name
        await collection.async_create_item(
            {
                "conversation_engine": self.alice_agent,
                "conversation_language": "sv",
                "language": "sv",
                "name": name,
                "stt_engine": self.core_stt,
                "stt_language": "sv-SE",
                "tts_engine": self.core_tts,
                "tts_language": "sv-SE",
                "tts_voice": None,
                "wake_word_entity": None,
                "wake_word_id": None,
                "prefer_local_intents": False,
            }
        )
        await hass.async_block_till_done()

    async def _no_tts_cache(self) -> None:
        """Every answer is synthesized: no file cache (nothing written), memory cleared per turn."""
        self.home.hass.data[DATA_TTS_MANAGER].use_file_cache = False

    @callback
    def _on_response(self, event: Event[Any]) -> None:
        self._sources.append(event.data.get("source"))
        self._speculative.append(bool(event.data.get("speculative")))

    async def set_speculation(self, on: bool) -> None:
        """Turn the Alice agent's speculative answers on or off (the entry reloads)."""
        from custom_components.alice_voice.const import CONF_SPECULATE, DOMAIN

        hass = self.home.hass
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        subentry = next(iter(entry.subentries.values()))
        hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, CONF_SPECULATE: on}
        )
        await hass.async_block_till_done()

    async def close(self) -> None:
        """Stop the satellite (before the BenchHome closes)."""
        await self.home.servers.run(self.satellite.stop())

    async def _select(self, pipeline: str) -> None:
        hass = self.home.hass
        state = hass.states.get(self.select_id)
        if state is not None and state.state == pipeline:
            return
        await hass.services.async_call(
            select.DOMAIN,
            select.SERVICE_SELECT_OPTION,
            {ATTR_ENTITY_ID: self.select_id, ATTR_OPTION: pipeline},
            blocking=True,
        )
        await hass.async_block_till_done()

    async def _speak(self, pcm: bytes) -> tuple[float, Heard]:
        """On the servers' loop: play the utterance, wait until played (or an error)."""
        ended: list[float] = []
        heard = await self.satellite.speak(
            pcm,
            realtime=True,
            trailing_silence_ms=self.costs.trailing_silence_ms,
            on_end_of_speech=lambda: ended.append(time.monotonic()),
        )
        deadline = time.monotonic() + TURN_TIMEOUT
        # Until played, or an error (which is never followed by played).
        while not heard.played.is_set() and not heard.errors and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return ended[0], heard

    async def prompt_cache(self) -> dict[str, list[str]]:
        """A copy of the simulated Ollama's prompt cache (for :meth:`turn`)."""
        ollama = self.home.ollama
        assert ollama is not None
        # The simulator has no public knob for its cache: the bench reads and sets it.
        return await self.home.servers.call(
            lambda: {model: list(p) for model, p in ollama._prompt_cache.items()}
        )

    async def turn(
        self,
        name: str,
        pcm: bytes,
        text: str,
        *,
        prompt_cache: dict[str, list[str]] | None = None,
    ) -> VoiceTurn:
        """One voice turn through pipeline ``name`` ("alice" or "core"); its STT hears ``text``.

        ``prompt_cache``: first set the simulated Ollama's prompt cache to this copy
        (:meth:`prompt_cache`), less the prompts holding ``text``: the turns of both
        pipelines start from the same cache, and neither reuses the evaluation of the
        same question asked through the other (its tool round above all).
        """
        home, hass, speech = self.home, self.home.hass, self.speech
        realtime, ollama = home.realtime, home.ollama
        assert realtime is not None
        assert ollama is not None
        pipeline = self.pipelines[name]
        await self._select(pipeline)
        needle = json.dumps(text)[1:-1].casefold()  # as the prompt holds it

        def script() -> tuple[int, int, int, int]:
            realtime.transcript_queue.clear()
            realtime.script_transcripts(text)
            speech.default_transcript = text
            if prompt_cache is not None:
                ollama._prompt_cache = {
                    model: [p for p in prompts if needle not in p.casefold()]
                    for model, prompts in prompt_cache.items()
                }
            return (
                len(speech.speech_requests),
                len(speech.transcription_requests),
                len(realtime.connections),
                len(ollama.prompt_evals),
            )

        speeches, transcriptions, connections, evals = await home.servers.call(script)
        self._new_conversation()
        hass.data[DATA_TTS_MANAGER].mem_cache.clear()
        self._sources.clear()
        self._speculative.clear()
        end, heard = await home.servers.run(self._speak(pcm))
        await self._until_idle()

        def charged() -> tuple[int, float, int]:
            seconds = sum(r.audio_seconds for r in speech.transcription_requests[transcriptions:])
            for conn in realtime.connections[connections:]:
                seconds += sum(conn.audio.committed_ms) / 1000
            evaluated = sum(e for _, _, e in ollama.prompt_evals[evals:])
            return len(speech.speech_requests) - speeches, seconds, evaluated

        requests, transcribed, evaluated = await home.servers.call(charged)

        def after(moment: float | None) -> float | None:
            return None if moment is None else moment - end

        def event(name: str) -> float | None:
            return after(next((t for t, kind in heard.events if kind == name), None))

        audible = None
        if heard.first_audio_at is not None and heard.first_audible_at is not None:
            playing = heard.first_audio_at + _leading_quiet_s(heard.audio, heard.audio_rate)
            audible = after(max(heard.first_audible_at, playing))
        return VoiceTurn(
            pipeline=pipeline,
            text=text,
            first_audio=after(heard.first_audio_at),
            first_audible=audible,
            voice_stopped=event("voice-stopped"),
            transcript=event("transcript"),
            synthesize=event("synthesize"),
            played=event("audio-stop") if heard.played.is_set() else None,
            heard_text=heard.transcript,
            spoken_text=heard.synthesize,
            source=self._sources[-1] if self._sources else None,
            speculative=bool(self._speculative and self._speculative[-1]),
            speech_requests=requests,
            transcribed_s=transcribed,
            evaluated_tokens=evaluated,
            errors=list(heard.errors),
        )

    def _new_conversation(self) -> None:
        """The next turn starts a conversation, as if the last were over 5 minutes ago.

        A satellite keeps its chat session for 5 minutes (``CONVERSATION_TIMEOUT``), so
        back-to-back turns would share one growing chat log, across both pipelines.
        """
        entity = self.home.hass.data[SATELLITES].get_entity(self.satellite_id)
        assert entity is not None
        entity._conversation_id = None  # no public way to end the session

    async def _until_idle(self) -> None:
        """Wait until the satellite's pipeline run has ended."""
        hass = self.home.hass
        deadline = time.monotonic() + TURN_TIMEOUT
        while time.monotonic() < deadline:
            state = hass.states.get(self.satellite_id)
            if state is not None and state.state == "idle":
                break
            await asyncio.sleep(0.02)
        await hass.async_block_till_done()
