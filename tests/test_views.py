"""Monitoring over HTTP: Prometheus metrics, health, latency diagnostics."""

from http import HTTPStatus
from typing import Any

from homeassistant.core import HomeAssistant
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alice_voice.const import CONF_OLLAMA_API_KEY
from custom_components.alice_voice.metrics import Metrics, render
from simulators.ollama import OllamaTestServer, ScriptedReply

from .common import AGENT_ID, converse

THINK = "vad har jag i kalendern imorgon"


def samples(text: str) -> dict[str, list[Sample]]:
    """Parse the exposition strictly: a format error raises."""
    return {family.name: list(family.samples) for family in text_string_to_metric_families(text)}


@pytest.mark.parametrize("entry_overrides", [{CONF_OLLAMA_API_KEY: "ollama-secret-key"}])
async def test_metrics(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Histograms, gauges and counters with the design's names, parsed strictly."""
    ollama_server.api_key = "ollama-secret-key"
    await converse(hass, THINK)
    await converse(hass, "hej")
    ollama_server.reply_always(ScriptedReply(status=500))
    await converse(hass, THINK)

    client = await hass_client()
    response = await client.get("/api/alice_voice/metrics")
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    assert "ollama-secret-key" not in text
    parsed = samples(text)

    routing = parsed["voice_hybrid_intent_routing_latency_ms"]
    count = next(s for s in routing if s.name.endswith("_count"))
    assert (count.labels, count.value) == ({"agent": AGENT_ID}, 3.0)
    inf = next(s for s in routing if s.labels.get("le") == "+Inf")
    assert inf.value == 3.0
    think = parsed["voice_hybrid_think_response_latency_ms"]
    assert next(s for s in think if s.name.endswith("_count")).value == 2.0
    fast = parsed["voice_hybrid_fast_response_latency_ms"]
    assert next(s for s in fast if s.name.endswith("_count")).value == 1.0
    assert "voice_hybrid_end_to_end_latency_ms" in parsed
    (usage,) = parsed["voice_hybrid_think_path_usage_percent"]
    assert usage.value == pytest.approx(66.7)
    (confidence,) = parsed["voice_hybrid_classification_confidence"]
    assert 0 < confidence.value <= 1
    (local_errors,) = parsed["local_ai_errors"]
    assert (local_errors.name, local_errors.value) == ("local_ai_errors_total", 1.0)
    assert parsed["openai_api_errors"][0].value == 0.0
    assert parsed["websocket_connection_errors"][0].value == 0.0


def test_label_values_are_escaped() -> None:
    """An agent name with quotes, backslashes or newlines still parses."""
    metrics = Metrics()
    metrics.set_confidence('conversation."odd"\\name\n', 0.5)
    (sample,) = samples(render([metrics]))["voice_hybrid_classification_confidence"]
    assert sample.labels["agent"] == 'conversation."odd"\\name\n'


async def test_health(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """ok while Ollama answers; degraded once it is down; 503 with nothing loaded."""
    client = await hass_client()
    body: dict[str, Any] = await (await client.get("/api/alice_voice/health")).json()
    assert body["status"] == "ok"
    (entry,) = body["entries"]
    assert entry["backends"] == {"ollama": "ok"}  # no OpenAI key: no cloud to check
    assert entry["agents"] == {AGENT_ID: "idle"}

    ollama_server.reply_always(ScriptedReply(status=500))
    await converse(hass, THINK)
    body = await (await client.get("/api/alice_voice/health")).json()
    assert body["status"] == "degraded"

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    response = await client.get("/api/alice_voice/health")
    assert response.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert (await response.json())["status"] == "down"


async def test_latency_diagnostics(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Per agent: last, p50 and p95 against the agent's budgets."""
    await converse(hass, THINK)
    client = await hass_client()
    body: dict[str, Any] = await (await client.get("/api/alice_voice/diagnostics/latency")).json()
    agent = body["agents"][AGENT_ID]
    assert agent["turns"] == 1
    think = agent["latency"]["think"]
    assert think["turns"] == 1
    assert think["p50_ms"] == think["p95_ms"] == think["last_ms"] > 0
    assert think["budget_ms"] == 2000
    assert think["within_budget"] is (think["p95_ms"] <= 2000)
    assert agent["latency"]["fast"]["within_budget"] is None  # no fast turn yet
    assert agent["latency"]["router"]["budget_ms"] is None


@pytest.mark.parametrize(
    "path",
    ["/api/alice_voice/metrics", "/api/alice_voice/health", "/api/alice_voice/diagnostics/latency"],
)
async def test_views_need_a_token(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    path: str,
) -> None:
    """Without a token: 401."""
    client = await hass_client_no_auth()
    assert (await client.get(path)).status == HTTPStatus.UNAUTHORIZED
