"""Runtime data for Alice Voice."""

from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry
from openai import AsyncOpenAI

from .backends.ollama import OllamaBackend
from .status import AliceVoiceStatus


@dataclass(slots=True, kw_only=True)
class AliceVoiceData:
    """What a loaded Alice Voice entry owns."""

    ollama: OllamaBackend
    openai: AsyncOpenAI | None = None
    status: AliceVoiceStatus = field(default_factory=AliceVoiceStatus)


type AliceVoiceConfigEntry = ConfigEntry[AliceVoiceData]
