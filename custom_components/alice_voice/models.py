"""Runtime data for Alice Voice."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

from .backends.ollama import OllamaBackend
from .gateway import AliceVoiceGateway
from .router import IntentRouter
from .status import AliceVoiceStatus

if TYPE_CHECKING:
    from openai import AsyncOpenAI


@dataclass(slots=True, kw_only=True)
class AliceVoiceData:
    """What a loaded Alice Voice entry owns."""

    ollama: OllamaBackend
    openai: AsyncOpenAI | None
    router: IntentRouter
    gateway: AliceVoiceGateway
    status: AliceVoiceStatus


type AliceVoiceConfigEntry = ConfigEntry[AliceVoiceData]
