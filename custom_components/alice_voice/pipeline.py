"""Each agent's Assist pipeline, named after the agent ("Alice"), kept in step with it.

At every setup the agent's pipeline is created, or updated when it exists (Alice
remembers which pipeline is whose in her own storage, so re-running setup never
makes a duplicate): language the agent's, conversation the agent, speech-to-text
and text-to-speech the agent's own, or, in ``local_only`` mode (or without an
OpenAI key), the first local engines Home Assistant has for the language
(Piper and faster-whisper through the Wyoming integration, for example).
``prefer_local_intents`` stays off: Alice's router decides what Home Assistant's
intents handle. The satellites chosen in the agent's voice settings get the
pipeline through their *Assistant* select. Removing an agent, or the entry,
removes its pipeline.
"""

from typing import Any, Final

from homeassistant.components import assist_pipeline, select
from homeassistant.components.assist_pipeline.pipeline import (
    KEY_ASSIST_PIPELINE,
    PipelinePreferred,
    PipelineStorageCollection,
)
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.util import language as language_util

from .const import DOMAIN, LOGGER, AgentMode
from .entity import agent_subentries
from .models import AgentConfig, AliceVoiceConfigEntry

STORAGE_KEY: Final = f"{DOMAIN}.pipelines"
STORAGE_VERSION: Final = 1

type PipelineIds = dict[str, dict[str, str]]  # entry id -> agent (subentry) id -> pipeline id


def _store(hass: HomeAssistant) -> Store[PipelineIds]:
    return Store(hass, STORAGE_VERSION, STORAGE_KEY)


def _pipelines(hass: HomeAssistant) -> PipelineStorageCollection:
    """Home Assistant's pipeline collection (creating and deleting have no public helper)."""
    collection: PipelineStorageCollection = hass.data[KEY_ASSIST_PIPELINE].pipeline_store
    return collection


async def async_sync_pipelines(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> None:
    """Create or update each agent's pipeline; remove those of removed agents."""
    store = _store(hass)
    ids: PipelineIds = await store.async_load() or {}
    mine = ids.setdefault(entry.entry_id, {})
    collection = _pipelines(hass)
    agents = {subentry.subentry_id: subentry for subentry in agent_subentries(entry)}
    for subentry_id in [s for s in mine if s not in agents]:
        await _async_delete(collection, mine.pop(subentry_id))
    for subentry_id, subentry in agents.items():
        agent = AgentConfig.from_subentry(subentry)
        settings = _settings(hass, agent, mine.get(subentry_id))
        if settings is None:
            continue
        pipeline = collection.data.get(mine.get(subentry_id, ""))
        if pipeline is None:
            pipeline = await collection.async_create_item(settings)
            LOGGER.info("Created the Assist pipeline %s", pipeline.name)
        else:
            await collection.async_update_item(pipeline.id, settings)
        mine[subentry_id] = pipeline.id
        await _async_assign(hass, agent, settings["name"])
    await store.async_save(ids)


async def async_remove_pipelines(hass: HomeAssistant, entry_id: str) -> None:
    """Remove the pipelines of a removed entry."""
    store = _store(hass)
    ids: PipelineIds = await store.async_load() or {}
    for pipeline_id in ids.pop(entry_id, {}).values():
        await _async_delete(_pipelines(hass), pipeline_id)
    await store.async_save(ids)


async def _async_delete(collection: PipelineStorageCollection, pipeline_id: str) -> None:
    if pipeline_id not in collection.data:
        return
    try:
        await collection.async_delete_item(pipeline_id)
    except PipelinePreferred:
        # Home Assistant keeps its preferred pipeline; make its own the preferred one first.
        collection.async_set_preferred_item(next(p for p in collection.data if p != pipeline_id))
        await collection.async_delete_item(pipeline_id)


def _settings(hass: HomeAssistant, agent: AgentConfig, own_id: str | None) -> dict[str, Any] | None:
    """The pipeline's fields for ``agent`` (None when the agent's entity is not there)."""
    registry = er.async_get(hass)
    conversation_id = registry.async_get_entity_id(Platform.CONVERSATION, DOMAIN, agent.subentry_id)
    if conversation_id is None:
        return None
    stt_id = tts_id = None
    if agent.mode is not AgentMode.LOCAL_ONLY:
        stt_id = registry.async_get_entity_id(Platform.STT, DOMAIN, f"{agent.subentry_id}_stt")
        tts_id = registry.async_get_entity_id(Platform.TTS, DOMAIN, f"{agent.subentry_id}_tts")
    stt_language = tts_language = tts_voice = None
    if stt_id is None:
        stt_id, stt_language = _local_engine(hass, Platform.STT, agent.language)
    else:
        stt_language = agent.language
    if tts_id is None:
        tts_id, tts_language = _local_engine(hass, Platform.TTS, agent.language)
    else:
        tts_language, tts_voice = agent.language, agent.realtime_voice
    return {
        "conversation_engine": conversation_id,
        "conversation_language": agent.language,
        "language": agent.language,
        "name": _unique_name(hass, agent.title, own_id),
        "stt_engine": stt_id,
        "stt_language": stt_language,
        "tts_engine": tts_id,
        "tts_language": tts_language,
        "tts_voice": tts_voice,
        "wake_word_entity": None,
        "wake_word_id": None,
        "prefer_local_intents": False,
    }


def _local_engine(
    hass: HomeAssistant, platform: Platform, language: str
) -> tuple[str | None, str | None]:
    """The first speech engine of ``platform`` that is not Alice's and speaks ``language``."""
    registry = er.async_get(hass)
    component = hass.data.get(platform.value)
    if component is None:
        return None, None
    for entity in sorted(component.entities, key=lambda e: e.entity_id):
        entry = registry.async_get(entity.entity_id)
        if entry is not None and entry.platform == DOMAIN:
            continue
        matches = language_util.matches(language, list(entity.supported_languages))
        if matches:
            return entity.entity_id, matches[0]
    return None, None


def _unique_name(hass: HomeAssistant, title: str, own_id: str | None) -> str:
    """The agent's title, made unique: satellites choose pipelines by name."""
    taken = {p.name for p in assist_pipeline.async_get_pipelines(hass) if p.id != own_id}
    name, number = title, 2
    while name in taken:
        name, number = f"{title} {number}", number + 1
    return name


async def _async_assign(hass: HomeAssistant, agent: AgentConfig, name: str) -> None:
    """Set the agent's satellites to its pipeline, through their Assistant select."""
    registry = er.async_get(hass)
    for satellite in agent.voice.satellites:
        device_id = (entry := registry.async_get(satellite)) and entry.device_id
        if not device_id:
            LOGGER.warning("Satellite %s was not found; its pipeline is unchanged", satellite)
            continue
        for candidate in er.async_entries_for_device(registry, device_id):
            if candidate.domain != Platform.SELECT or not candidate.unique_id.endswith("-pipeline"):
                continue
            state = hass.states.get(candidate.entity_id)
            if state is None or state.state == name:
                continue
            await hass.services.async_call(
                select.DOMAIN,
                select.SERVICE_SELECT_OPTION,
                {ATTR_ENTITY_ID: candidate.entity_id, ATTR_OPTION: name},
                blocking=True,
            )
