"""The shipped blueprints are valid in Home Assistant and react to Alice's events.

Every blueprint file passes Home Assistant's own blueprint loading and the
automation it generates passes the automation schema; each one also runs as a
real automation here: the events are fired on the bus as Alice fires them
(``events.py``), or, for the morning briefing, Alice answers a real turn
through the simulated Ollama.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
import os
from pathlib import Path
import shutil
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed, async_mock_service

from custom_components.alice_voice.events import (
    EVENT_INTENT,
    EVENT_RESPONSE,
    IntentEventData,
    ResponseEventData,
)
from simulators.ollama import OllamaTestServer

from .common import AGENT_ID, state_of

SOURCE = Path(__file__).parents[1] / "blueprints" / "automation" / "alice_voice"
BLUEPRINT_FILES = sorted(SOURCE.glob("*.yaml"))
SOURCE_URL = (
    "https://github.com/alice-voice/alice_voice/blob/main/blueprints/automation/alice_voice/"
)
MIN_VERSION = "2026.10.0"

KITCHEN_LIGHT = "light.kitchen_lights"
SATELLITE = "assist_satellite.kok"
OTHER_AGENT = "conversation.alice_engelska"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
QUESTION = "Vad har jag i kalendern idag, och har jag fått några viktiga mejl?"

#: Inputs for the blueprints' required inputs (those without a default), to
#: check the automation each one generates.
EXAMPLE_INPUTS: dict[str, dict[str, Any]] = {
    "alice_voice_intent.yaml": {"actions": [{"action": "test.called"}]},
    "alice_voice_thinking_light.yaml": {"light": KITCHEN_LIGHT},
    "alice_voice_morning_briefing.yaml": {"agent": AGENT_ID},
}


@pytest.fixture
def blueprints(hass: HomeAssistant) -> None:
    """Copy the blueprints into the test configuration, as an import would."""
    target = Path(hass.config.path("blueprints", "automation", "alice_voice"))
    target.mkdir(parents=True, exist_ok=True)
    for file in BLUEPRINT_FILES:
        # Atomically, for test runs side by side share this folder.
        partial = target / f".{file.name}.{os.getpid()}"
        shutil.copy(file, partial)
        partial.replace(target / file.name)


async def use_blueprint(hass: HomeAssistant, file: str, inputs: dict[str, Any]) -> None:
    """Set up one automation from a blueprint; it must come out valid and on."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "alias": "from blueprint",
                "use_blueprint": {"path": f"alice_voice/{file}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    assert state_of(hass, "automation.from_blueprint") == "on"


def intent_event(
    path: str = "think",
    *,
    conversation_id: str | None = "01KBQ4J8Y0S5W1X7C3V9T2N6RA",
    agent_id: str = AGENT_ID,
    satellite_id: str | None = SATELLITE,
) -> IntentEventData:
    """``alice_voice_intent`` as Alice fires it for a routed turn."""
    return {
        "agent_id": agent_id,
        "intent": "CALENDAR_QUERY" if path != "fast" else "TIME_DATE",
        "confidence": 0.9412 if path != "hybrid" else 0.5133,
        "path": path,
        "reason": {"fast": "simple_intent", "think": "complex_intent"}.get(
            path, "uncertain_margin"
        ),
        "language": "sv",
        "slots": {"date": "2026-12-04"},
        "conversation_id": conversation_id,
        "device_id": None,
        "satellite_id": satellite_id,
        "route_ms": 1.842,
    }


def response_event(
    *,
    source: str = "local_ai",
    total_ms: float = 8412.5,
    response: str | None = "Du har tandläkaren klockan 14 i morgon.",
    words: bool = True,
    success: bool = True,
    conversation_id: str | None = "01KBQ4J8Y0S5W1X7C3V9T2N6RA",
    agent_id: str = AGENT_ID,
    satellite_id: str | None = SATELLITE,
) -> ResponseEventData:
    """``alice_voice_response`` as Alice fires it; ``words`` is the agent's option."""
    data: ResponseEventData = {
        "agent_id": agent_id,
        "source": source,
        "success": success,
        "error": None if success else "ollama_unreachable",
        "fallback_from": None,
        "escalated": False,
        "unconfirmed_claim": False,
        "speculative": False,
        "tools": ["alice_voice__calendar_find_events"] if source == "local_ai" else [],
        "conversation_id": conversation_id,
        "device_id": None,
        "satellite_id": satellite_id,
        "latency_ms": {"route": 1.842, "first_text": total_ms * 0.7, "total": total_ms},
    }
    if words:
        data["text"] = "vad har jag i morgon"
        data["response"] = response
    return data


def waiting_for_answer(hass: HomeAssistant) -> bool:
    """Whether an automation waits for ``alice_voice_response`` (a wait_for_trigger)."""
    return hass.bus.async_listeners().get(EVENT_RESPONSE, 0) > 0


async def until(check: Callable[[], bool]) -> None:
    """Let the loop run until ``check`` holds.

    While an automation waits for Alice's answer its run is not finished, so
    ``hass.async_block_till_done()`` would wait for it. Counted in loop
    iterations, not seconds: frozen time cannot stall it.
    """
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0)
    raise AssertionError("the automation never got there")


async def start_thinking(hass: HomeAssistant, light: str, event: IntentEventData) -> None:
    """Fire a routed turn; run until the light changed and the automation waits for the answer."""
    before = hass.states.get(light)
    hass.bus.async_fire(EVENT_INTENT, event)
    await until(lambda: waiting_for_answer(hass) and hass.states.get(light) is not before)


async def run_loop(iterations: int = 50) -> None:
    """Let what a fired event started run (several times what a light needs)."""
    for _ in range(iterations):
        await asyncio.sleep(0)


def brightness_of(hass: HomeAssistant, entity_id: str) -> int | None:
    """A light's brightness (0-255), None when off."""
    state = hass.states.get(entity_id)
    assert state is not None
    brightness: int | None = state.attributes.get("brightness")
    return brightness


# --- Every blueprint --------------------------------------------------------------


def test_enough_blueprints() -> None:
    """The project ships at least four blueprints."""
    assert len(BLUEPRINT_FILES) >= 4


@pytest.mark.usefixtures("blueprints")
@pytest.mark.parametrize("file", BLUEPRINT_FILES, ids=lambda file: file.name)
async def test_blueprint_is_valid(hass: HomeAssistant, file: Path) -> None:
    """Home Assistant loads the blueprint, and the automation it generates is valid.

    Every input has a name, a description and a selector; a new blueprint with
    inputs that have no default needs an entry in ``EXAMPLE_INPUTS``.
    """
    path = f"alice_voice/{file.name}"
    blueprint = await async_get_blueprints(hass).async_get_blueprint(path)

    assert blueprint.domain == "automation"
    assert blueprint.name.startswith("Alice Voice - ")
    assert blueprint.metadata["description"]
    assert blueprint.metadata["source_url"] == SOURCE_URL + file.name
    assert blueprint.metadata["homeassistant"]["min_version"] == MIN_VERSION
    assert blueprint.validate() is None  # this Home Assistant is new enough
    assert blueprint.data["mode"]  # chosen, not left to the default
    for name, spec in blueprint.inputs.items():
        assert spec["name"], name
        assert spec["description"], name
        assert spec["selector"], name

    inputs = EXAMPLE_INPUTS.get(file.name, {})
    config = await async_validate_config_item(
        hass, "check", {"use_blueprint": {"path": path, "input": inputs}}
    )
    assert config is not None
    assert config.validation_status == "ok", config.validation_error


# --- The intent and failure blueprints ---------------------------------------------


@pytest.mark.usefixtures("blueprints")
async def test_intent_blueprint_runs_actions(hass: HomeAssistant) -> None:
    """The intent blueprint runs its actions for the chosen intent only."""
    calls = async_mock_service(hass, "test", "called")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "alice_voice/alice_voice_intent.yaml",
                    "input": {
                        "intent": "CALENDAR_CREATE",
                        "actions": [
                            {
                                "action": "test.called",
                                "data": {"when": "{{ trigger.event.data.slots.date }}"},
                            }
                        ],
                    },
                }
            }
        },
    )
    hass.bus.async_fire("alice_voice_intent", {"intent": "GREETING", "slots": {}})
    hass.bus.async_fire(
        "alice_voice_intent", {"intent": "CALENDAR_CREATE", "slots": {"date": "2026-12-04"}}
    )
    await hass.async_block_till_done()
    assert [call.data["when"] for call in calls] == ["2026-12-04"]


@pytest.mark.usefixtures("blueprints")
async def test_failed_turn_blueprint_notifies(hass: HomeAssistant) -> None:
    """The failure blueprint notifies with the error and the backend, only on failure."""
    calls = async_mock_service(hass, "notify", "phone")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "alice_voice/alice_voice_failed_turn.yaml",
                    "input": {"notify_action": "notify.phone"},
                }
            }
        },
    )
    hass.bus.async_fire("alice_voice_response", {"success": True, "source": "local_ai"})
    hass.bus.async_fire(
        "alice_voice_response",
        {
            "success": False,
            "source": "local_ai",
            "error": "ollama_unreachable",
            "fallback_from": "openai",
        },
    )
    await hass.async_block_till_done()
    assert len(calls) == 1
    message = calls[0].data["message"]
    assert "ollama_unreachable" in message
    assert "local_ai" in message
    assert "openai" in message


# --- A light while Alice thinks ----------------------------------------------------

THINKING_LIGHT = "alice_voice_thinking_light.yaml"


@pytest.mark.usefixtures("blueprints")
async def test_thinking_light_dims_and_turns_back_off(
    hass: HomeAssistant, demo_home: dict[str, str]
) -> None:
    """An off light comes on dimmed while Alice thinks, and goes off with her answer."""
    light = demo_home["kitchen_light"]
    await use_blueprint(hass, THINKING_LIGHT, {"light": light, "brightness": 20})
    assert state_of(hass, light) == "off"

    # Fast and hybrid turns leave it alone (hybrid is off by default).
    hass.bus.async_fire(EVENT_INTENT, intent_event("fast"))
    hass.bus.async_fire(EVENT_INTENT, intent_event("hybrid"))
    await hass.async_block_till_done()
    assert state_of(hass, light) == "off"
    assert not waiting_for_answer(hass)

    await start_thinking(hass, light, intent_event("think"))
    assert state_of(hass, light) == "on"
    assert brightness_of(hass, light) == 51  # 20 %

    # Another conversation's turn neither takes the dimmed light for its "before"
    # state nor, with its answer, ends this one.
    other = "01KBQ4M2ZC8D0E6F4G2H9J7K5P"
    hass.bus.async_fire(EVENT_INTENT, intent_event("think", conversation_id=other))
    hass.bus.async_fire(EVENT_RESPONSE, response_event(conversation_id=other))
    await run_loop()
    assert waiting_for_answer(hass)
    assert brightness_of(hass, light) == 51

    hass.bus.async_fire(EVENT_RESPONSE, response_event())
    await until(lambda: not waiting_for_answer(hass))
    await hass.async_block_till_done()
    assert state_of(hass, light) == "off"
    assert not waiting_for_answer(hass)


@pytest.mark.usefixtures("blueprints")
@pytest.mark.parametrize("effect", ["dim", "flash"])
async def test_thinking_light_restores_brightness(
    hass: HomeAssistant, demo_home: dict[str, str], effect: str
) -> None:
    """A light that was on gets its own brightness back after the answer."""
    light = demo_home["kitchen_light"]
    await hass.services.async_call(
        "light", "turn_on", {"entity_id": light, "brightness": 200}, blocking=True
    )
    await use_blueprint(hass, THINKING_LIGHT, {"light": light, "brightness": 10, "effect": effect})

    await start_thinking(hass, light, intent_event("think"))
    assert brightness_of(hass, light) == 26  # 10 %

    # A failed turn is an answer too.
    hass.bus.async_fire(EVENT_RESPONSE, response_event(success=False, words=False))
    await until(lambda: not waiting_for_answer(hass))
    await hass.async_block_till_done()
    assert state_of(hass, light) == "on"
    assert brightness_of(hass, light) == 200


@pytest.mark.usefixtures("blueprints")
async def test_thinking_light_hybrid_new_conversation_and_agent_filter(
    hass: HomeAssistant, demo_home: dict[str, str]
) -> None:
    """Hybrid turns when asked for; only the chosen agent; a first turn without an id."""
    light = demo_home["kitchen_light"]
    await use_blueprint(
        hass,
        THINKING_LIGHT,
        {"light": light, "brightness": 20, "include_hybrid": True, "agents": [AGENT_ID]},
    )

    hass.bus.async_fire(EVENT_INTENT, intent_event("think", agent_id=OTHER_AGENT))
    await hass.async_block_till_done()
    assert state_of(hass, light) == "off"

    # The first turn of a conversation is routed before it has an id; its answer
    # carries the new one. The light waits for that agent's answer to the satellite.
    await start_thinking(hass, light, intent_event("hybrid", conversation_id=None))
    assert brightness_of(hass, light) == 51

    hass.bus.async_fire(EVENT_RESPONSE, response_event(satellite_id="assist_satellite.sovrum"))
    hass.bus.async_fire(EVENT_RESPONSE, response_event(agent_id=OTHER_AGENT))
    await run_loop()
    assert waiting_for_answer(hass)
    assert brightness_of(hass, light) == 51

    hass.bus.async_fire(EVENT_RESPONSE, response_event(source="openai_realtime"))
    await until(lambda: not waiting_for_answer(hass))
    await hass.async_block_till_done()
    assert state_of(hass, light) == "off"


@pytest.mark.usefixtures("blueprints")
async def test_thinking_light_gives_up_after_the_timeout(
    hass: HomeAssistant, demo_home: dict[str, str], freezer: FrozenDateTimeFactory
) -> None:
    """Without an answer the light is put back after the timeout."""
    light = demo_home["kitchen_light"]
    await use_blueprint(hass, THINKING_LIGHT, {"light": light, "timeout": 30})

    await start_thinking(hass, light, intent_event("think"))
    assert state_of(hass, light) == "on"

    freezer.tick(timedelta(seconds=20))
    async_fire_time_changed(hass)
    await run_loop()
    assert waiting_for_answer(hass)
    assert state_of(hass, light) == "on"

    freezer.tick(timedelta(seconds=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert not waiting_for_answer(hass)
    assert state_of(hass, light) == "off"


# --- Announcing slow answers -------------------------------------------------------

ANNOUNCE_ANSWER = "alice_voice_announce_answer.yaml"


@pytest.fixture
def announcements(hass: HomeAssistant) -> list[ServiceCall]:
    """Calls of ``assist_satellite.announce``."""
    calls: list[ServiceCall] = async_mock_service(hass, "assist_satellite", "announce")
    return calls


@pytest.mark.usefixtures("blueprints")
async def test_slow_answer_is_announced_on_the_satellite(
    hass: HomeAssistant, announcements: list[ServiceCall]
) -> None:
    """A slow answer is announced on the satellite that asked, with its words."""
    await use_blueprint(hass, ANNOUNCE_ANSWER, {})

    hass.bus.async_fire(EVENT_RESPONSE, response_event(total_ms=8412.5))
    await hass.async_block_till_done()

    assert [call.data for call in announcements] == [
        {
            "entity_id": [SATELLITE],
            "message": "Du har tandläkaren klockan 14 i morgon.",
            "preannounce": True,
        }
    ]


@pytest.mark.usefixtures("blueprints")
@pytest.mark.parametrize(
    "event",
    [
        response_event(total_ms=1240.0),  # fast enough
        response_event(satellite_id=None),  # typed, no satellite
        response_event(words=False),  # "put the words in events" is off
        response_event(response=None),  # no answer text
        response_event(response="  "),
        response_event(success=False, response="Jag når inte den lokala modellen."),
    ],
    ids=["fast", "no_satellite", "no_words", "no_text", "blank", "failed"],
)
async def test_answer_not_announced(
    hass: HomeAssistant, announcements: list[ServiceCall], event: ResponseEventData
) -> None:
    """Fast answers, typed turns and answers without words are not announced."""
    await use_blueprint(hass, ANNOUNCE_ANSWER, {"min_latency": 5000})

    hass.bus.async_fire(EVENT_RESPONSE, event)
    await hass.async_block_till_done()

    assert announcements == []


@pytest.mark.usefixtures("blueprints")
async def test_local_model_answers_announced_for_chosen_agents(
    hass: HomeAssistant, announcements: list[ServiceCall]
) -> None:
    """With the local-model option, fast local answers are announced too, per agent."""
    await use_blueprint(
        hass,
        ANNOUNCE_ANSWER,
        {"local_model": True, "preannounce": False, "agents": [AGENT_ID]},
    )

    hass.bus.async_fire(EVENT_RESPONSE, response_event(source="openai_realtime", total_ms=900.0))
    hass.bus.async_fire(EVENT_RESPONSE, response_event(agent_id=OTHER_AGENT, total_ms=900.0))
    hass.bus.async_fire(
        EVENT_RESPONSE,
        response_event(
            total_ms=900.0,
            satellite_id="assist_satellite.sovrum",
            response="Inga nya viktiga mejl.",
        ),
    )
    await hass.async_block_till_done()

    assert [call.data for call in announcements] == [
        {
            "entity_id": ["assist_satellite.sovrum"],
            "message": "Inga nya viktiga mejl.",
            "preannounce": False,
        }
    ]


# --- The morning briefing ----------------------------------------------------------

MORNING_BRIEFING = "alice_voice_morning_briefing.yaml"


@pytest.mark.usefixtures("blueprints")
@pytest.mark.parametrize(
    ("day", "briefed"),
    [
        (datetime(2026, 12, 3, tzinfo=STOCKHOLM), True),
        (datetime(2026, 12, 5, tzinfo=STOCKHOLM), False),
    ],
    ids=["thursday", "saturday"],
)
async def test_morning_briefing(
    hass: HomeAssistant,
    agent_id: str,
    ollama_server: OllamaTestServer,
    announcements: list[ServiceCall],
    freezer: FrozenDateTimeFactory,
    day: datetime,
    briefed: bool,
) -> None:
    """At the time, on a weekday, Alice is asked and her answer is announced and sent."""
    notifications = async_mock_service(hass, "notify", "phone")
    await hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to(day.replace(hour=6, minute=59, second=50))
    satellites = [SATELLITE, "assist_satellite.sovrum"]
    await use_blueprint(
        hass,
        MORNING_BRIEFING,
        {
            "time": "07:00:00",
            "agent": agent_id,
            "satellites": satellites,
            "notify_action": "notify.phone",
        },
    )
    try:
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        assert announcements == []

        freezer.move_to(day.replace(hour=7))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()

        if briefed:
            # The simulated model answers "Du sa: <what it was asked>".
            assert [request.last_user_text for request in ollama_server.chat_requests] == [QUESTION]
            answer = f"Du sa: {QUESTION}"
            assert [call.data for call in announcements] == [
                {"entity_id": satellites, "message": answer}
            ]
            assert [call.data for call in notifications] == [
                {"title": "Alice Voice", "message": answer}
            ]
        else:
            assert ollama_server.chat_requests == []
            assert announcements == notifications == []
    finally:
        # Tomorrow's briefing is scheduled; stop it before the test ends.
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "automation.from_blueprint"}, blocking=True
        )
