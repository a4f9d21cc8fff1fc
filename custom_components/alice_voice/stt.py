"""Speech to text: each agent's ears, over the OpenAI Realtime API.

The pipeline's 16 kHz PCM is resampled to 24 kHz and streamed to a Realtime
transcription session as it arrives. Alice ends the utterance herself
(``webrtcvad`` with the agent's sensitivity and hangover, so the pipeline's own
VAD is not needed) and then commits it; the final transcript goes to Home
Assistant, interim ones only to the debug log. The utterance's audio features go
to the router through the voice hub; the audio itself lives only in memory and
is zeroed when the turn ends.

A ``hybrid`` agent with *speculative answers* on transcribes in a Realtime
conversation session instead, which begins the fast cloud answer from the audio
as soon as the utterance is committed; the answer goes to the voice hub with the
transcript, and the turn uses it only if the router picks the fast cloud path
(see :mod:`.backends.speculate`).

An agent in ``local_only`` mode has no such entity: its pipeline uses a local
speech-to-text engine instead (see :mod:`.pipeline`).
"""

import asyncio
from collections.abc import AsyncIterable
from functools import partial
from typing import override

from homeassistant.components import stt
from homeassistant.components.stt.models import SpeechAudioProcessing
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util.ssl import get_default_context

from .backends.audio import Resampler, UtteranceAnalyzer, VadSettings
from .backends.realtime_types import RealtimeError
from .const import LOGGER, SPEECH_LANGUAGES, AgentMode, Backend
from .entity import AliceVoiceEntity, agent_subentries
from .errors import realtime_turn_error
from .models import AliceVoiceConfigEntry

PARALLEL_UPDATES = 0

#: The longest utterance Alice listens to (then she stops and transcribes what she has).
MAX_UTTERANCE_MS = 30_000
#: How long Alice listens for speech to start before giving up.
NO_SPEECH_MS = 8_000
#: Seconds without audio after which the satellite is taken for gone (chunks come every ~64 ms).
AUDIO_STALL_S = 2.0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliceVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a speech-to-text entity for each agent that may use the cloud (with a key)."""
    if entry.runtime_data.coordinator.openai is None:
        return
    for subentry in agent_subentries(entry):
        if AliceVoiceEntity(entry, subentry).agent.mode is AgentMode.LOCAL_ONLY:
            continue
        async_add_entities(
            [AliceSpeechToText(entry, subentry)], config_subentry_id=subentry.subentry_id
        )


class AliceSpeechToText(AliceVoiceEntity, stt.SpeechToTextEntity):
    """Transcribes an agent's voice turns through OpenAI Realtime."""

    _attr_translation_key = "speech_to_text"

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize."""
        super().__init__(entry, subentry)
        self._attr_unique_id = f"{subentry.subentry_id}_stt"

    @property
    @override
    def supported_languages(self) -> list[str]:
        return list(SPEECH_LANGUAGES)

    @property
    @override
    def supported_formats(self) -> list[stt.AudioFormats]:
        return [stt.AudioFormats.WAV]

    @property
    @override
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        return [stt.AudioCodecs.PCM]

    @property
    @override
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        return [stt.AudioBitRates.BITRATE_16]

    @property
    @override
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        return [stt.AudioSampleRates.SAMPLERATE_16000]

    @property
    @override
    def supported_channels(self) -> list[stt.AudioChannels]:
        return [stt.AudioChannels.CHANNEL_MONO]

    @property
    @override
    def audio_processing(self) -> SpeechAudioProcessing:
        """Alice finds the end of speech herself (webrtcvad)."""
        return SpeechAudioProcessing(
            requires_external_vad=False,
            prefers_auto_gain_enabled=True,
            prefers_noise_reduction_enabled=True,
        )

    @override
    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        """Stream the utterance to Realtime until its end; return the transcript."""
        from .backends.speculate import SpeculativeAnswer  # noqa: PLC0415 - the SDK loads only with a key
        from .backends.transcribe import RealtimeTranscriber, TranscriptionSettings  # noqa: PLC0415

        runtime = self.entry.runtime_data
        coordinator = runtime.coordinator
        client = coordinator.openai
        if client is None:  # the key was removed; the entry reloads
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        voice = self.agent.voice
        analyzer = UtteranceAnalyzer(
            VadSettings(sensitivity=voice.vad_sensitivity, hangover_ms=voice.vad_hangover_ms),
            max_ms=MAX_UTTERANCE_MS,
        )
        resampler = Resampler()
        settings = TranscriptionSettings(
            model=voice.stt_model, language=metadata.language.split("-")[0]
        )
        answer: SpeculativeAnswer | None = None
        if config := await runtime.engine.cloud.async_speculation_config(self.agent):
            answer = SpeculativeAnswer(
                model=self.agent.realtime_model,
                config=config,
                key=self.entity_id,
                spawn=partial(
                    self.hass.async_create_task, name="alice_voice speculative answer close"
                ),
            )
        transcript = ""
        stalled = False
        try:
            async with RealtimeTranscriber(
                client, settings, ssl=get_default_context(), answer=answer
            ) as stt_:
                heard_ms = 0
                chunks = aiter(stream)
                while True:
                    try:
                        async with asyncio.timeout(AUDIO_STALL_S):
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        LOGGER.warning("%s: the audio stopped mid-utterance", self.entity_id)
                        stalled = True
                        break
                    analyzer.feed(chunk)
                    await stt_.append(resampler.convert(chunk))
                    heard_ms += len(chunk) // 32
                    if analyzer.speech_ended or analyzer.truncated:
                        break
                    if analyzer.vad.speech_start_ms is None and heard_ms >= NO_SPEECH_MS:
                        break
                if stalled or analyzer.vad.speech_start_ms is None:
                    # The satellite is gone, or there was nothing but silence (transcribing
                    # it only invites invented words): nothing to transcribe.
                    await stt_.cancel()
                else:
                    if stt_.interim:
                        LOGGER.debug("%s heard (interim): %s", self.entity_id, stt_.interim)
                    # The answer's settings tell the time: as it is now, not when they spoke.
                    refreshed = (
                        await runtime.engine.cloud.async_speculation_config(self.agent)
                        if answer is not None
                        else None
                    )
                    transcript = (await stt_.finish(answer_config=refreshed)).strip()
        except RealtimeError as err:
            key = realtime_turn_error(err).key
            LOGGER.warning("%s could not transcribe: %s", self.entity_id, key)
            coordinator.report_failure(Backend.OPENAI, key)
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        finally:
            features = analyzer.finish()  # releases the audio
            if answer is not None and not transcript:
                answer.discard()
        coordinator.report_ok(Backend.OPENAI)
        if not transcript:
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        runtime.voice.record(transcript, features.as_dict(), answer)
        return stt.SpeechResult(transcript, stt.SpeechResultState.SUCCESS)
