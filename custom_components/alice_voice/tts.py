"""Text to speech: each agent's voice, streamed sentence by sentence.

The answer streams in from the conversation agent; the first sentence is sent
to OpenAI's speech API as soon as it is complete, and its audio starts playing
while the rest of the answer is still being written (the next sentence's audio
is requested while the current one plays). Audio is 24 kHz PCM in a streaming
WAV. The voice is the agent's Realtime voice, so fast and spoken answers sound
alike.

An agent in ``local_only`` mode has no such entity: its pipeline uses a local
text-to-speech engine instead (see :mod:`.pipeline`).
"""

from collections.abc import AsyncGenerator
from typing import Any, Final, override

from homeassistant.components import tts
from homeassistant.components.tts.entity import TTSAudioRequest, TTSAudioResponse
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    DOMAIN,
    LOGGER,
    REALTIME_VOICES,
    SPEECH_LANGUAGES,
    TTS_MODEL,
    AgentMode,
    Backend,
    Language,
)
from .entity import AliceVoiceEntity, agent_subentries
from .models import AliceVoiceConfigEntry

PARALLEL_UPDATES = 0

#: How each language is asked to sound (gpt-4o-mini-tts follows instructions).
INSTRUCTIONS: Final = {
    Language.SWEDISH: "Tala svenska med ett naturligt, varmt och lugnt tonfall. Var kortfattad.",
    Language.ENGLISH: "Speak English in a natural, warm and calm tone.",
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AliceVoiceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a text-to-speech entity for each agent that may use the cloud (with a key)."""
    if entry.runtime_data.coordinator.openai is None:
        return
    for subentry in agent_subentries(entry):
        if AliceVoiceEntity(entry, subentry).agent.mode is AgentMode.LOCAL_ONLY:
            continue
        async_add_entities(
            [AliceTextToSpeech(entry, subentry)], config_subentry_id=subentry.subentry_id
        )


class AliceTextToSpeech(AliceVoiceEntity, tts.TextToSpeechEntity):
    """Speaks an agent's answers through OpenAI's speech API, streamed."""

    _attr_translation_key = "text_to_speech"
    _attr_supported_languages = list(SPEECH_LANGUAGES)
    _attr_supported_options = [tts.ATTR_VOICE]

    def __init__(self, entry: AliceVoiceConfigEntry, subentry: ConfigSubentry) -> None:
        """Initialize."""
        super().__init__(entry, subentry)
        self._attr_unique_id = f"{subentry.subentry_id}_tts"
        self._attr_default_language = self.agent.language
        self._attr_default_options = {tts.ATTR_VOICE: self.agent.realtime_voice}

    @callback
    @override
    def async_get_supported_voices(self, language: str) -> list[tts.Voice]:
        """OpenAI's voices speak every language Alice does."""
        return [tts.Voice(voice, voice.capitalize()) for voice in REALTIME_VOICES]

    def _client(self, language: str, options: dict[str, Any]) -> Any:
        from .backends.speech import SpeechClient, SpeechSettings  # noqa: PLC0415 - the SDK loads only with a key

        openai = self.entry.runtime_data.coordinator.openai
        if openai is None:  # the key was removed; the entry reloads
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="tts_failed")
        lang = Language.ENGLISH if language.startswith("en") else Language.SWEDISH
        return SpeechClient(
            openai,
            SpeechSettings(
                model=TTS_MODEL,
                voice=str(options.get(tts.ATTR_VOICE) or self.agent.realtime_voice),
                instructions=INSTRUCTIONS[lang],
            ),
        )

    @override
    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """Speak the answer as it streams in: the first sentence plays first."""
        client = self._client(request.language, request.options)
        return TTSAudioResponse("wav", self._wav(client.stream(request.message_gen)))

    @override
    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> tts.TtsAudioType:
        """Speak a whole message (announcements, cached phrases)."""
        client = self._client(language, options)
        audio = b"".join([chunk async for chunk in self._wav(client.synthesize(message))])
        return "wav", audio

    async def _wav(self, pcm: AsyncGenerator[bytes]) -> AsyncGenerator[bytes]:
        """A streaming WAV of ``pcm``; a failure ends the audio and is logged and reported."""
        from .backends.speech import PCM_RATE, SpeechError, wav_header  # noqa: PLC0415

        coordinator = self.entry.runtime_data.coordinator
        yield wav_header(PCM_RATE)
        try:
            async for chunk in pcm:
                yield chunk
        except SpeechError as err:
            key = "openai_invalid_auth" if err.code == "http_401" else "openai_unreachable"
            LOGGER.warning("%s could not speak: %s", self.entity_id, err.code)
            coordinator.report_failure(Backend.OPENAI, key)
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="tts_failed"
            ) from err
        finally:
            await pcm.aclose()
        coordinator.report_ok(Backend.OPENAI)
