"""The shipped blueprints load in Home Assistant and react to Alice's events."""

from pathlib import Path
import shutil

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service

SOURCE = Path(__file__).parents[1] / "blueprints" / "automation" / "alice_voice"


@pytest.fixture
def blueprints(hass: HomeAssistant) -> None:
    """Copy the blueprints into the test configuration, as an import would."""
    target = Path(hass.config.path("blueprints", "automation", "alice_voice"))
    target.mkdir(parents=True, exist_ok=True)
    for file in SOURCE.glob("*.yaml"):
        shutil.copy(file, target / file.name)


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
