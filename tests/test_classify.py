"""The router's Home Assistant interfaces: POST /api/alice_voice/classify and the service."""

from datetime import timedelta
from http import HTTPStatus
import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alice_voice.classify import MAX_BODY_BYTES, router_load_ms
from custom_components.alice_voice.const import DOMAIN
from custom_components.alice_voice.router import IntentRouter

URL = "/api/alice_voice/classify"
CONTEXT = {"now": "2026-11-25T10:00:00+01:00", "time_zone": "Europe/Stockholm"}


@pytest.fixture
async def setup_alice(hass: HomeAssistant, setup_ha: None) -> None:
    """The integration alone: no entry needed for routing."""
    assert await async_setup_component(hass, "http", {})
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()


@pytest.mark.usefixtures("setup_alice")
async def test_view_returns_the_decision(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """A good request gets exactly the router's decision body."""
    client = await hass_client()
    response = await client.post(
        URL,
        json={"text": "boka möte med anna imorgon kl 14", "context": CONTEXT, "audio_features": {}},
    )
    assert response.status == HTTPStatus.OK
    body = await response.json()
    expected = IntentRouter().route("boka möte med anna imorgon kl 14", context=CONTEXT).to_dict()
    assert body == json.loads(json.dumps(expected))
    assert body["intent"]["name"] == "CALENDAR_CREATE"
    assert body["intent"]["slots"]["datetime"] == "2026-11-26T14:00:00+01:00"
    assert body["routing_decision"] == {
        "path": "think",
        "reason": "complex_intent",
        "estimated_latency_ms": 2000,
    }
    assert router_load_ms(hass) is not None


@pytest.mark.usefixtures("setup_alice")
async def test_view_follow_up_and_language(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """Context and language in the body reach the router."""
    client = await hass_client()
    response = await client.post(
        URL, json={"text": "och i sovrummet", "context": {"previous_intent": "DEVICE_CONTROL"}}
    )
    body = await response.json()
    assert body["intent"]["name"] == "DEVICE_CONTROL"
    assert body["routing_decision"]["reason"] == "context_follow_up"
    response = await client.post(URL, json={"text": "", "language": "en"})
    assert response.status == HTTPStatus.OK
    body = await response.json()
    assert body["intent"]["name"] == "UNKNOWN"
    assert body["routing_decision"]["path"] == "think"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "Request body is not valid JSON"),
        (b"", "Request body is not valid JSON"),
        (b"\xff\xfe\x00garbage", "Request body is not valid JSON"),
        (b'["tand lampan"]', "Request body must be a JSON object"),
        (b"{}", "Missing 'text'"),
        (b'{"context": {}}', "Missing 'text'"),
        (b'{"text": 42}', "'text' must be a string"),
        (b'{"text": null}', "'text' must be a string"),
        (b'{"text": ["a"]}', "'text' must be a string"),
        (b'{"text": "hej", "context": "x"}', "'context' must be an object"),
        (b'{"text": "hej", "audio_features": [1]}', "'audio_features' must be an object"),
        (b'{"text": "hej", "language": 7}', "'language' must be a string"),
        (
            json.dumps({"text": "a" * (MAX_BODY_BYTES + 10)}).encode(),
            f"Request body too large: at most {MAX_BODY_BYTES} bytes",
        ),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else None,
)
@pytest.mark.usefixtures("setup_alice")
async def test_view_rejects_bad_requests(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, data: bytes, message: str
) -> None:
    """Every malformed request is a 400 that says what is wrong."""
    client = await hass_client()
    response = await client.post(URL, data=data, headers={"Content-Type": "application/json"})
    assert response.status == HTTPStatus.BAD_REQUEST
    assert (await response.json()) == {"message": message}


@pytest.mark.usefixtures("setup_alice")
async def test_view_handles_huge_text_within_limit(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """20 000 characters of text are classified (truncated), not rejected."""
    client = await hass_client()
    response = await client.post(URL, json={"text": "tänd lampan i köket " * 1000})
    assert response.status == HTTPStatus.OK
    assert (await response.json())["routing_decision"]["path"] in {"fast", "think", "hybrid"}


@pytest.mark.usefixtures("setup_alice")
async def test_view_requires_auth(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Like every HA API view, it needs a token."""
    client = await hass_client_no_auth()
    response = await client.post(URL, json={"text": "hej"})
    assert response.status == HTTPStatus.UNAUTHORIZED


@pytest.mark.usefixtures("setup_alice")
async def test_service_returns_the_decision(hass: HomeAssistant) -> None:
    """alice_voice.classify answers with the same body, as a service response."""
    response: Any = await hass.services.async_call(
        DOMAIN,
        "classify",
        {"text": "spela lugn jazz i köket", "language": "sv", "context": CONTEXT},
        blocking=True,
        return_response=True,
    )
    assert response["intent"]["name"] == "SPOTIFY_SEARCH"
    assert response["routing_decision"]["path"] == "think"
    assert set(response) == {"intent", "routing_decision", "alternatives"}
    unsure: Any = await hass.services.async_call(
        DOMAIN,
        "classify",
        {"text": "tänd lampan i köket", "audio_features": {"confidence": 0.3}},
        blocking=True,
        return_response=True,
    )
    assert unsure["routing_decision"]["reason"] == "low_confidence"


@pytest.mark.usefixtures("setup_alice")
async def test_service_validates_input(hass: HomeAssistant) -> None:
    """A missing text or an unsupported language is refused by the schema."""
    with pytest.raises(probatio.Invalid):
        await hass.services.async_call(DOMAIN, "classify", {}, blocking=True, return_response=True)
    with pytest.raises(probatio.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "classify",
            {"text": "hej", "language": "de"},
            blocking=True,
            return_response=True,
        )
    empty: Any = await hass.services.async_call(
        DOMAIN, "classify", {"text": "  "}, blocking=True, return_response=True
    )
    assert empty["intent"]["name"] == "UNKNOWN"


async def test_broken_model_is_a_clear_error(
    hass: HomeAssistant,
    setup_ha: None,
    hass_client: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Broken weights: 500 from the view, a translated error from the service."""
    broken = tmp_path / "model.npz"
    broken.write_bytes(b"broken")
    monkeypatch.setattr("custom_components.alice_voice.router.model.DEFAULT_MODEL_PATH", broken)
    assert await async_setup_component(hass, "http", {})
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_client()
    response = await client.post(URL, json={"text": "hej"})
    assert response.status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert (await response.json()) == {"message": "The router model cannot be loaded"}
    assert "cannot be loaded" in caplog.text
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "classify", {"text": "hej"}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "router_unavailable"


async def test_broken_model_fails_entry_setup(
    hass: HomeAssistant,
    setup_ha: None,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """An entry cannot set up without a router: a config entry error, not a crash."""
    broken = tmp_path / "model.npz"
    broken.write_bytes(b"broken")
    monkeypatch.setattr("custom_components.alice_voice.router.model.DEFAULT_MODEL_PATH", broken)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason is not None
    assert "could not load its model" in mock_config_entry.reason


async def test_entries_share_one_model(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The model is loaded once per Home Assistant and shared."""
    data = init_integration.runtime_data
    response: Any = await hass.services.async_call(
        DOMAIN, "classify", {"text": "hej"}, blocking=True, return_response=True
    )
    assert response["intent"]["name"] == "GREETING"
    assert data.router.model is hass.data[f"{DOMAIN}_router"].model


@pytest.mark.usefixtures("setup_alice")
async def test_dates_default_to_home_time(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """Without "now"/"time_zone" in the context, Home Assistant's clock and zone are used."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    client = await hass_client()
    response = await client.post(URL, json={"text": "boka möte med anna imorgon kl 14"})
    slots = (await response.json())["intent"]["slots"]
    tomorrow = (dt_util.now() + timedelta(days=1)).date().isoformat()
    assert slots["date"] == tomorrow
    assert slots["datetime"] in {f"{tomorrow}T14:00:00+01:00", f"{tomorrow}T14:00:00+02:00"}
    served: Any = await hass.services.async_call(
        DOMAIN,
        "classify",
        {"text": "boka möte med anna imorgon kl 14"},
        blocking=True,
        return_response=True,
    )
    assert served["intent"]["slots"]["datetime"] == slots["datetime"]
