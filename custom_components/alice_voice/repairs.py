"""Repair issues: the problems only the user can fix, and the fix flow for a missing model.

* ``model_missing_<subentry_id>`` (fixable): an agent's local model is not on the
  Ollama server. The coordinator raises it when its model check, keep-warm or
  a turn finds the model missing, and deletes it when the model shows up. The
  fix flow offers to pull the model, with progress, as the agent's own flow does.
* ``router_unavailable``: the intent router's model does not load (setup fails
  until it does; the issue goes when an entry sets up).
* ``llm_api_missing_<subentry_id>``: an agent's tools API no longer exists; the
  user reconfigures the agent, which reloads the entry and checks again.

Issues of an agent carry its entry and subentry ids, so those of removed agents
and entries are deleted with them.
"""

import asyncio
from typing import Any, Final

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_LLM_HASS_API
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir, llm
import probatio

from .const import DOMAIN, LOGGER, SUBENTRY_CONVERSATION
from .models import AgentConfig, AliceVoiceConfigEntry

ISSUE_ROUTER: Final = "router_unavailable"
ISSUE_MODEL_MISSING: Final = "model_missing"
ISSUE_LLM_API_MISSING: Final = "llm_api_missing"
LEARN_MORE_URL: Final = "https://github.com/alice-voice/alice_voice#troubleshooting"

ATTR_ENTRY_ID: Final = "entry_id"
ATTR_SUBENTRY_ID: Final = "subentry_id"
ATTR_MODEL: Final = "model"


def model_issue_id(subentry_id: str) -> str:
    """The id of the issue of an agent whose local model is missing."""
    return f"{ISSUE_MODEL_MISSING}_{subentry_id}"


def llm_api_issue_id(subentry_id: str) -> str:
    """The id of the issue of an agent whose tools API is gone."""
    return f"{ISSUE_LLM_API_MISSING}_{subentry_id}"


# --- raising and clearing ----------------------------------------------------------------


@callback
def async_model_missing(hass: HomeAssistant, entry_id: str, agent: AgentConfig) -> None:
    """The agent's local model is not on the Ollama server."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        model_issue_id(agent.subentry_id),
        data={
            ATTR_ENTRY_ID: entry_id,
            ATTR_SUBENTRY_ID: agent.subentry_id,
            ATTR_MODEL: agent.think.model,
        },
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_MODEL_MISSING,
        translation_placeholders={"model": agent.think.model, "agent": agent.title},
    )


@callback
def async_model_found(hass: HomeAssistant, subentry_id: str) -> None:
    """The agent's local model is on the server (again)."""
    ir.async_delete_issue(hass, DOMAIN, model_issue_id(subentry_id))


@callback
def async_router_unavailable(hass: HomeAssistant) -> None:
    """The intent router's model does not load."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_ROUTER,
        is_fixable=False,
        learn_more_url=LEARN_MORE_URL,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_ROUTER,
    )


@callback
def async_router_loaded(hass: HomeAssistant) -> None:
    """The intent router's model loads."""
    ir.async_delete_issue(hass, DOMAIN, ISSUE_ROUTER)


@callback
def async_check_agents(hass: HomeAssistant, entry: AliceVoiceConfigEntry) -> None:
    """Raise or clear each agent's tools API issue; drop the issues of removed agents.

    Called once Home Assistant runs: other integrations register their APIs as they set up.
    """
    known = {api.id for api in llm.async_get_apis(hass)}
    agents = {
        subentry_id: subentry
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_CONVERSATION
    }
    for subentry_id, subentry in agents.items():
        apis = subentry.data.get(CONF_LLM_HASS_API) or []
        missing = sorted(
            api for api in ([apis] if isinstance(apis, str) else apis) if api not in known
        )
        if not missing:
            ir.async_delete_issue(hass, DOMAIN, llm_api_issue_id(subentry_id))
            continue
        LOGGER.warning("The tools API of agent %s is gone: %s", subentry.title, missing)
        ir.async_create_issue(
            hass,
            DOMAIN,
            llm_api_issue_id(subentry_id),
            data={ATTR_ENTRY_ID: entry.entry_id, ATTR_SUBENTRY_ID: subentry_id},
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,  # the agent's turns fail until it is fixed
            translation_key=ISSUE_LLM_API_MISSING,
            translation_placeholders={"agent": subentry.title, "api": ", ".join(missing)},
        )
    for issue_id, data in _entry_issues(hass, entry.entry_id):
        if data.get(ATTR_SUBENTRY_ID) not in agents:
            ir.async_delete_issue(hass, DOMAIN, issue_id)


@callback
def async_delete_entry_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the issues of an entry's agents (the entry is removed)."""
    for issue_id, _ in _entry_issues(hass, entry_id):
        ir.async_delete_issue(hass, DOMAIN, issue_id)


def _entry_issues(hass: HomeAssistant, entry_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (issue_id, dict(issue.data))
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.data and issue.data.get(ATTR_ENTRY_ID) == entry_id
    ]


# --- fixing --------------------------------------------------------------------------------


class ModelMissingRepairFlow(RepairsFlow):
    """Pull an agent's missing local model, showing progress."""

    def __init__(self, entry_id: str, model: str) -> None:
        """Initialize with the agent's entry and model."""
        self._entry_id = entry_id
        self._model = model
        self._download_task: asyncio.Task[None] | None = None

    def _entry(self) -> AliceVoiceConfigEntry | None:
        entry: AliceVoiceConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Start with the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Offer to download the model."""
        if self._entry() is None:
            return self.async_abort(reason="entry_not_loaded")
        if user_input is not None:
            return await self.async_step_download()
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema({}),
            description_placeholders=issue.translation_placeholders if issue else None,
        )

    async def async_step_download(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Pull the model, showing progress."""
        if self._download_task is None:
            if (entry := self._entry()) is None:
                return self.async_abort(reason="entry_not_loaded")
            self._download_task = self.hass.async_create_background_task(
                entry.runtime_data.coordinator.ollama.pull(self._model),
                f"{DOMAIN} pull {self._model}",
            )
        if not self._download_task.done():
            return self.async_show_progress(
                step_id="download",
                progress_action="download",
                progress_task=self._download_task,
                description_placeholders={"model": self._model},
            )
        if err := self._download_task.exception():
            LOGGER.error("Could not download the model %s: %s", self._model, err)
            return self.async_show_progress_done(next_step_id="download_failed")
        return self.async_show_progress_done(next_step_id="finish")

    async def async_step_download_failed(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Stop: the model could not be downloaded (the issue stays)."""
        return self.async_abort(
            reason="download_failed", description_placeholders={"model": self._model}
        )

    async def async_step_finish(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Done: the issue is deleted; the coordinator checks the models again."""
        if (entry := self._entry()) is not None:
            await entry.runtime_data.coordinator.async_request_refresh()
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue: only a missing model has one."""
    assert issue_id.startswith(f"{ISSUE_MODEL_MISSING}_"), issue_id
    assert data is not None
    return ModelMissingRepairFlow(str(data[ATTR_ENTRY_ID]), str(data[ATTR_MODEL]))
