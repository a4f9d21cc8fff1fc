"""Alice's HUD entities: status sensors, health, mode, privacy and activity events."""

from typing import Any

from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.alice_voice.const import CONF_MODE, DOMAIN, FAILURES_BEFORE_DOWN
from simulators.ollama import OllamaTestServer, ScriptedReply
from simulators.realtime import RealtimeTestServer

from .common import async_setup, async_wait_probe, converse, openai_connection, set_agent

THINK = "vad har jag i kalendern imorgon"


def eid(hass: HomeAssistant, key: str) -> str:
    """The entity id of the (only) agent's entity ``key`` (ids follow the language)."""
    platform, _, suffix = key.partition(".")
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    subentry_id = next(iter(entry.subentries))
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{subentry_id}_{suffix}")
    assert entity_id is not None, key
    return entity_id


def state(hass: HomeAssistant, key: str) -> Any:
    """The state of the agent's entity ``key`` ("sensor.voice_status")."""
    current = hass.states.get(eid(hass, key))
    assert current is not None, key
    return current


def states_of(hass: HomeAssistant, entity_id: str) -> list[str]:
    """The states ``entity_id`` takes from now on, in order (a list that fills up)."""
    changes: list[str] = []

    @callback  # in the loop, in order (a plain function would run in the executor)
    def follow(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == entity_id and (new := event.data["new_state"]) is not None:
            changes.append(new.state)

    hass.bus.async_listen("state_changed", follow)
    return changes


async def test_entities_of_an_agent(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """One device per agent, translated names, the noisy ones disabled."""
    entries = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    by_id = {
        f"{entry.domain}.{entry.unique_id.split('_', 1)[1]}": entry
        for entry in entries
        if "_" in entry.unique_id
    }
    expected = {
        "sensor.voice_status",
        "sensor.last_route",
        "sensor.last_intent",
        "sensor.last_source",
        "sensor.fast_latency",
        "sensor.think_latency",
        "sensor.end_to_end_latency",
        "sensor.router_latency",
        "sensor.errors",
        "binary_sensor.local_model_ready",
        "select.mode",
        "switch.local_only",
        "event.activity",
    }
    assert expected <= set(by_id)
    assert "binary_sensor.cloud_connected" not in by_id  # no OpenAI key: no cloud
    assert by_id["sensor.router_latency"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert by_id["sensor.voice_status"].disabled_by is None
    assert len({entry.device_id for entry in entries}) == 1
    assert state(hass, "sensor.voice_status").state == "idle"
    assert state(hass, "sensor.last_route").state == STATE_UNKNOWN
    assert state(hass, "select.mode").state == "hybrid"
    assert state(hass, "switch.local_only").state == "off"


async def test_a_turn_shows_everywhere(
    hass: HomeAssistant, ollama_server: OllamaTestServer, init_integration: MockConfigEntry
) -> None:
    """A think turn: thinking, speaking, idle; then its route, intent, source and latency."""
    changes = states_of(hass, eid(hass, "sensor.voice_status"))
    ollama_server.reply_always(ScriptedReply(content=["Imorgon ", "är ", "det ", "fritt."]))

    await converse(hass, THINK)
    await hass.async_block_till_done()

    assert changes == ["processing", "responding", "idle"]
    route = state(hass, "sensor.last_route")
    assert (route.state, route.attributes["reason"]) == ("think", "complex_intent")
    intent = state(hass, "sensor.last_intent")
    assert intent.state == "calendar_query"
    assert 0.5 < intent.attributes["confidence"] <= 1
    assert state(hass, "sensor.last_source").state == "local_ai"
    think = state(hass, "sensor.think_latency")
    assert float(think.state) > 0
    assert think.attributes["p50"] == float(think.state)
    assert think.attributes["unit_of_measurement"] == "ms"
    assert state(hass, "sensor.fast_latency").state == STATE_UNKNOWN
    assert state(hass, "sensor.think_share").state == "100.0"
    assert state(hass, "sensor.errors").state == "0"

    await converse(hass, "")
    await hass.async_block_till_done()
    assert state(hass, "sensor.voice_status").state == "error"
    assert state(hass, "sensor.voice_status").attributes["last_error"] == "empty_input"
    assert state(hass, "sensor.errors").state == "1"


async def test_a_device_command_is_never_shown_busy(
    hass: HomeAssistant, demo_home: dict[str, str], init_integration: MockConfigEntry
) -> None:
    """A command HA's intents carry out takes a millisecond: only the finished turn shows."""
    changes = states_of(hass, eid(hass, "sensor.voice_status"))
    await converse(hass, "tänd lampan i köket")
    await hass.async_block_till_done()

    light = hass.states.get(demo_home["kitchen_light"])
    assert light is not None
    assert light.state == "on"
    assert changes == []  # never shown processing, and idle again it already was
    route = state(hass, "sensor.last_route")
    assert (route.state, route.attributes["reason"]) == ("fast", "ha_intent_match")

    # A turn that is routed is shown busy as before.
    await converse(hass, "vad kan du göra")
    await hass.async_block_till_done()
    assert "processing" in changes


async def test_nothing_changes_when_nothing_changed(
    hass: HomeAssistant, ollama_server: OllamaTestServer, init_integration: MockConfigEntry
) -> None:
    """Two identical turns leave the route and intent sensors' states alone."""
    await converse(hass, THINK)
    await hass.async_block_till_done()
    changed = async_capture_events(hass, "state_changed")
    await converse(hass, THINK)
    await hass.async_block_till_done()
    entities = {event.data["entity_id"] for event in changed}
    assert eid(hass, "sensor.last_route") not in entities
    assert eid(hass, "sensor.last_intent") not in entities
    assert eid(hass, "sensor.voice_status") in entities  # it went thinking and back


async def test_only_the_figures_that_moved_are_written(
    hass: HomeAssistant, demo_home: dict[str, str], init_integration: MockConfigEntry
) -> None:
    """A second identical command rewrites its latencies, not the sensors it left alone.

    Home Assistant reports a write of an unchanged state (``state_reported``): Alice
    does not make one, so a turn costs the loop only the sensors that moved.
    """
    await converse(hass, "tänd lampan i köket")
    await hass.async_block_till_done()
    written = async_capture_events(hass, "state_changed")
    rewritten: list[str] = []
    hass.bus.async_listen(
        "state_reported",
        callback(lambda event: rewritten.append(event.data["entity_id"])),
        event_filter=callback(lambda data: True),
    )
    await converse(hass, "tänd lampan i köket")
    await hass.async_block_till_done()

    ours = {
        eid(hass, key)
        for key in (
            "sensor.last_route",
            "sensor.last_intent",
            "sensor.last_source",
            "sensor.voice_status",
            "sensor.errors",
            "sensor.fast_share",
        )
    }
    assert set(rewritten) & ours == set()
    assert {event.data["entity_id"] for event in written} & ours == set()
    # The turn's latencies are new figures, and they are written.
    assert eid(hass, "sensor.end_to_end_latency") in {e.data["entity_id"] for e in written}
    assert state(hass, "sensor.end_to_end_latency").attributes["turns"] == 2


async def test_mode_select_and_privacy_switch_are_one_setting(
    hass: HomeAssistant, ollama_server: OllamaTestServer, init_integration: MockConfigEntry
) -> None:
    """Local only from the switch; the select agrees; off brings the old mode back."""
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": eid(hass, "select.mode"), "option": "cloud_only"},
        blocking=True,
    )
    await hass.async_block_till_done()
    subentry = next(iter(init_integration.subentries.values()))  # replaced on every change
    assert subentry.data[CONF_MODE] == "cloud_only"
    assert state(hass, "select.mode").state == "cloud_only"

    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": eid(hass, "switch.local_only")}, blocking=True
    )
    await hass.async_block_till_done()
    assert state(hass, "select.mode").state == "local_only"
    assert state(hass, "switch.local_only").state == "on"

    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": eid(hass, "switch.local_only")}, blocking=True
    )
    await hass.async_block_till_done()
    assert state(hass, "select.mode").state == "cloud_only"  # as it was before


async def test_activity_events(
    hass: HomeAssistant, ollama_server: OllamaTestServer, init_integration: MockConfigEntry
) -> None:
    """The event entity fires for the intent, each tool call and the answer."""
    fired: list[str] = []
    activity = eid(hass, "event.activity")

    @callback
    def follow(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] == activity and new and "event_type" in new.attributes:
            fired.append(new.attributes["event_type"])

    hass.bus.async_listen("state_changed", follow)
    ollama_server.add_rule(ScriptedReply(content="Klockan är tio."), after_tool=True)
    ollama_server.add_rule(
        ScriptedReply(tool_calls=[{"name": "llm__GetDateTime", "arguments": {}}])
    )
    await converse(hass, THINK)
    await hass.async_block_till_done()
    assert fired == ["intent_recognized", "tool_result", "response"]
    assert state(hass, "event.activity").attributes["source"] == "local_ai"


def with_openai(hass: HomeAssistant, entry: MockConfigEntry, server: RealtimeTestServer) -> None:
    """Give the entry an OpenAI key, pointed at the test server (before setup)."""
    hass.config_entries.async_update_entry(entry, data={**entry.data, **openai_connection(server)})


async def test_health_sensors_follow_the_backends(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """Cloud and local model go off when they fail, and come back by themselves."""
    with_openai(hass, mock_config_entry, realtime_server)
    await async_setup(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    cloud = "binary_sensor.cloud_connected"
    local = "binary_sensor.local_model_ready"
    assert state(hass, cloud).state == STATE_UNKNOWN  # no cloud call at setup
    assert state(hass, local).state == "on"  # loaded at start (keep-alive -1)

    await converse(hass, "hej")
    assert state(hass, cloud).state == "on"

    realtime_server.set_faults(handshake_status=500, rest_status=500)
    fallbacks = async_capture_events(hass, "state_changed")
    for _ in range(FAILURES_BEFORE_DOWN):
        await converse(hass, "hej")
    assert state(hass, cloud).state == "off"
    assert state(hass, cloud).attributes["last_error"] == "openai_unreachable"
    assert any(
        e.data["entity_id"] == eid(hass, "event.activity")
        and e.data["new_state"].attributes.get("event_type") == "fallback"
        for e in fallbacks
    )

    realtime_server.clear_faults()
    await async_wait_probe(hass)
    assert state(hass, cloud).state == "on"

    ollama_server.reply_always(ScriptedReply(status=500))
    for _ in range(FAILURES_BEFORE_DOWN):
        await converse(hass, THINK)
    assert state(hass, local).state == "off"
    assert state(hass, local).attributes["last_error"] == "ollama_error"
    await async_wait_probe(hass)  # Ollama's model list answers: it is back
    assert state(hass, local).state == "on"


async def test_local_only_agent_is_never_cloud_connected(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """A local-only agent shows the cloud as not connected, whatever its health."""
    with_openai(hass, mock_config_entry, realtime_server)
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    assert state(hass, "binary_sensor.cloud_connected").state == "off"


async def test_all_local_agents_never_load_the_cloud(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    realtime_server: RealtimeTestServer,
    mock_config_entry: MockConfigEntry,
    setup_ha: None,
) -> None:
    """With a key but only local-only agents, no OpenAI client is built; it is at hybrid."""
    with_openai(hass, mock_config_entry, realtime_server)
    set_agent(hass, mock_config_entry, **{CONF_MODE: "local_only"})
    await async_setup(hass, mock_config_entry)
    assert mock_config_entry.runtime_data.coordinator.openai is None
    # The agent's cloud sensor stays (off), so the privacy switch does not orphan it.
    assert state(hass, "binary_sensor.cloud_connected").state == "off"
    registry = er.async_get(hass)
    assert not [e for e in registry.entities.values() if e.domain in ("stt", "tts")]
    assert not realtime_server.connections

    set_agent(hass, mock_config_entry, **{CONF_MODE: "hybrid"})
    await hass.async_block_till_done()
    reloaded = mock_config_entry.runtime_data.coordinator  # the reload's new one
    assert reloaded.openai is not None
    await converse(hass, "hej")
    assert len(realtime_server.connections) == 1
    assert state(hass, "binary_sensor.cloud_connected").state == "on"


async def test_a_satellite_gets_its_own_status(
    hass: HomeAssistant, ollama_server: OllamaTestServer, init_integration: MockConfigEntry
) -> None:
    """A satellite that talks to Alice gets a status sensor that follows its state."""
    hass.states.async_set("assist_satellite.koket", "processing")
    from homeassistant.components import conversation
    from homeassistant.core import Context

    await conversation.async_converse(
        hass,
        THINK,
        None,
        Context(),
        language="sv",
        agent_id="conversation.alice",
        satellite_id="assist_satellite.koket",
    )
    await hass.async_block_till_done()
    sensor = "sensor.satellite_assist_satellite.koket"
    assert state(hass, sensor).state == "processing"
    hass.states.async_set("assist_satellite.koket", "responding")
    await hass.async_block_till_done()
    assert state(hass, sensor).state == "responding"
    hass.states.async_set("assist_satellite.koket", "idle")
    await hass.async_block_till_done()
    assert state(hass, sensor).state == "idle"
