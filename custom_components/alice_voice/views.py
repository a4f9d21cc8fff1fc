"""Monitoring over HTTP: Prometheus metrics, health, and latency diagnostics.

All three need a Home Assistant token, like every API view (a long-lived
token works for a Prometheus scraper); none carries a key or what was said.

* ``GET /api/alice_voice/metrics``: the KPIs in Prometheus' text format
  (:mod:`.metrics`);
* ``GET /api/alice_voice/health``: whether Alice can answer, per entry: its
  backends and agents; 503 when no entry is loaded;
* ``GET /api/alice_voice/diagnostics/latency``: per agent, the latencies of
  the last 100 turns (last, p50, p95) against the agent's budgets.
"""

from http import HTTPStatus
from typing import Any

from aiohttp import web
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import DOMAIN, Backend
from .coordinator import BackendState
from .hud import agent_entity_ids
from .metrics import CONTENT_TYPE, render
from .models import AgentConfig, AliceVoiceConfigEntry
from .status import Latency


@callback
def async_setup_views(hass: HomeAssistant) -> None:
    """Register the views (from ``async_setup``)."""
    hass.http.register_view(MetricsView())
    hass.http.register_view(HealthView())
    hass.http.register_view(LatencyView())


def _loaded(hass: HomeAssistant) -> list[AliceVoiceConfigEntry]:
    entries: list[AliceVoiceConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries


class MetricsView(HomeAssistantView):
    """Alice's KPIs for Prometheus."""

    url = "/api/alice_voice/metrics"
    name = "api:alice_voice:metrics"

    async def get(self, request: web.Request) -> web.Response:
        """The metrics of every loaded entry."""
        hass = request.app[KEY_HASS]
        body = render(entry.runtime_data.metrics for entry in _loaded(hass))
        response = web.Response(body=body.encode())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response


class HealthView(HomeAssistantView):
    """Can Alice answer?"""

    url = "/api/alice_voice/health"
    name = "api:alice_voice:health"

    async def get(self, request: web.Request) -> web.Response:
        """``ok``, ``degraded`` (a backend is down) or 503 ``down`` (nothing loaded)."""
        hass = request.app[KEY_HASS]
        entries = []
        degraded = False
        for entry in _loaded(hass):
            data = entry.runtime_data
            backends = {
                str(backend): data.coordinator.data[backend].state
                for backend in Backend
                if backend is Backend.OLLAMA or data.coordinator.openai is not None
            }
            degraded |= any(state is BackendState.DOWN for state in backends.values())
            agents = {
                entity_id: data.status.agent(subentry_id).state
                for subentry_id, entity_id in agent_entity_ids(hass, entry).items()
            }
            entries.append({"title": entry.title, "backends": backends, "agents": agents})
        if not entries:
            return self.json({"status": "down", "entries": []}, HTTPStatus.SERVICE_UNAVAILABLE)
        return self.json({"status": "degraded" if degraded else "ok", "entries": entries})


class LatencyView(HomeAssistantView):
    """Where the time goes, per agent."""

    url = "/api/alice_voice/diagnostics/latency"
    name = "api:alice_voice:diagnostics:latency"

    async def get(self, request: web.Request) -> web.Response:
        """Last, p50 and p95 of each latency, and whether p95 keeps the budget."""
        hass = request.app[KEY_HASS]
        agents: dict[str, Any] = {}
        for entry in _loaded(hass):
            for subentry_id, entity_id in agent_entity_ids(hass, entry).items():
                config = AgentConfig.from_subentry(entry.subentries[subentry_id])
                status = entry.runtime_data.status.agent(subentry_id)
                budgets = {Latency.FAST: config.fast_budget, Latency.THINK: config.think_budget}
                latencies: dict[str, Any] = {}
                for kind, window in status.latency.items():
                    p95 = window.percentile(95)
                    budget = budgets.get(kind)
                    latencies[kind] = {
                        "turns": len(window),
                        "last_ms": window.last,
                        "p50_ms": window.percentile(50),
                        "p95_ms": p95,
                        "budget_ms": round(budget * 1000) if budget is not None else None,
                        "within_budget": p95 <= budget * 1000
                        if budget is not None and p95 is not None
                        else None,
                    }
                agents[entity_id] = {"turns": status.turns, "latency": latencies}
        return self.json({"agents": agents})
