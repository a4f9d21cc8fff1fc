"""Fixtures for Alice Voice tests."""

# Import our package first: Home Assistant puts its testing config dir at
# sys.path[0] later, and the probatio shim must be installed before anything
# imports voluptuous.
import custom_components.alice_voice  # noqa: F401  # isort: skip

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_LLM_HASS_API, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    llm,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alice_voice.const import (
    CONF_LANGUAGE,
    CONF_OLLAMA_URL,
    DEFAULT_CONVERSATION_OPTIONS,
    DOMAIN,
    SUBENTRY_CONVERSATION,
)
from simulators import fixtures as realtime_fixtures
from simulators.ollama import OllamaTestServer
from simulators.realtime import RealtimeTestServer
from simulators.satellite import SatelliteTestServer
from simulators.speech import SpeechTestServer

from .common import AGENT_ID, OPENAI_KEY


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/alice_voice."""
    return


@pytest.fixture
async def ollama_server(socket_enabled: None) -> AsyncIterator[OllamaTestServer]:
    """A protocol-faithful Ollama on 127.0.0.1."""
    server = OllamaTestServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def agent_overrides() -> dict[str, Any]:
    """Parametrize to change the agent's options."""
    return {}


@pytest.fixture
def agent_options(agent_overrides: dict[str, Any]) -> dict[str, Any]:
    """Options of the agent subentry: Swedish, with the Assist tools."""
    return {
        **DEFAULT_CONVERSATION_OPTIONS,
        CONF_LANGUAGE: "sv",
        CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
        **agent_overrides,
    }


@pytest.fixture
def entry_overrides() -> dict[str, Any]:
    """Parametrize to change the entry's connections."""
    return {}


@pytest.fixture
def entry_data(ollama_server: OllamaTestServer, entry_overrides: dict[str, Any]) -> dict[str, Any]:
    """Connections of the config entry."""
    return {CONF_OLLAMA_URL: ollama_server.url, **entry_overrides}


@pytest.fixture
def mock_config_entry(
    hass: HomeAssistant, entry_data: dict[str, Any], agent_options: dict[str, Any]
) -> MockConfigEntry:
    """An Alice Voice entry with one Swedish agent."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Alice Voice (test)",
        data=entry_data,
        version=1,
        minor_version=2,
        subentries_data=[
            ConfigSubentryData(
                data=agent_options,
                subentry_type=SUBENTRY_CONVERSATION,
                title="Alice",
                unique_id=None,
            )
        ],
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def setup_ha(hass: HomeAssistant) -> None:
    """Core pieces the conversation agent needs (exposed entities first)."""
    hass.config.language = "sv"
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, setup_ha: None, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up Alice Voice against the test Ollama."""
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def agent_id(init_integration: MockConfigEntry, entity_registry: er.EntityRegistry) -> str:
    """The entity id of the agent."""
    subentry_id = next(iter(init_integration.subentries))
    entity_id = entity_registry.async_get_entity_id("conversation", DOMAIN, subentry_id)
    assert entity_id == AGENT_ID
    return entity_id


# The HA-free Realtime client tests' ``server`` and ``client`` (shared with simulators/tests).
server = realtime_fixtures.server
client = realtime_fixtures.client


@pytest.fixture
async def realtime_server(socket_enabled: None) -> AsyncIterator[RealtimeTestServer]:
    """OpenAI Realtime on 127.0.0.1, answering at once."""
    server = RealtimeTestServer.instant(api_keys=[OPENAI_KEY])
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def demo_home(hass: HomeAssistant, setup_ha: None) -> dict[str, str]:
    """Demo lights, locks, covers and weather: name -> entity id.

    The kitchen light is in the area Kök and off, the bed light in Sovrum; the
    front door lock and the weather are exposed to Assist.
    """
    entry = MockConfigEntry(domain="demo")
    entry.add_to_hass(hass)
    with patch(
        "homeassistant.components.demo.COMPONENTS_WITH_CONFIG_ENTRY_DEMO_PLATFORM",
        [Platform.LIGHT, Platform.LOCK, Platform.COVER, Platform.WEATHER],
    ):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    home = {
        "kitchen_light": "light.kitchen_lights",
        "bedroom_light": "light.bed_light",
        "living_room_light": "light.living_room_rgbww_lights",
        "front_door": "lock.front_door",
        "garage": "cover.garage_door",
        "weather": "weather.demo_weather_south",
    }
    areas = ar.async_get(hass)
    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    for key, area in (("kitchen_light", "Kök"), ("bedroom_light", "Sovrum")):
        entity = entities.async_get(home[key])
        assert entity is not None
        assert entity.device_id is not None
        devices.async_update_device(entity.device_id, area_id=areas.async_create(area).id)
    for key in ("front_door", "weather"):
        async_expose_entity(hass, conversation.DOMAIN, home[key], True)
    await hass.services.async_call(
        "light", "turn_off", {"entity_id": home["kitchen_light"]}, blocking=True
    )
    return home


@pytest.fixture
async def get_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> Callable[[MockConfigEntry], Awaitable[dict[str, Any]]]:
    """Read an entry's diagnostics, as a user downloads them."""
    assert await async_setup_component(hass, "diagnostics", {})

    async def get(entry: MockConfigEntry) -> dict[str, Any]:
        data: dict[str, Any] = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        return data

    return get


# --- voice: OpenAI's audio endpoints and a Wyoming satellite ---------------------------


@pytest.fixture
def tts_cache(tmp_path: Path) -> Iterator[None]:
    """Speech is cached in the test's own folder, never in the shared test config."""
    with (
        patch("homeassistant.components.tts.DEFAULT_CACHE", False),
        patch("homeassistant.components.tts.DEFAULT_CACHE_DIR", str(tmp_path / "tts")),
    ):
        yield


@pytest.fixture
async def speech_server() -> SpeechTestServer:
    """OpenAI's speech endpoints (mounted in the Realtime server: one base URL)."""
    return SpeechTestServer(api_key=OPENAI_KEY)


@pytest.fixture
async def openai_server(
    socket_enabled: None, speech_server: SpeechTestServer, tts_cache: None
) -> AsyncIterator[RealtimeTestServer]:
    """OpenAI on 127.0.0.1: Realtime (transcription) and the audio REST endpoints."""
    server = RealtimeTestServer.instant(api_keys=[OPENAI_KEY], mount=speech_server.add_routes)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def satellite(socket_enabled: None) -> AsyncIterator[SatelliteTestServer]:
    """A Wyoming satellite in the kitchen."""
    async with SatelliteTestServer("Köket") as server:
        yield server
