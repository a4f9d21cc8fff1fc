"""What a model gets for a turn: the agent's prompt, the tools it needs, and guarded calls.

Every prompt token costs a local model time before its first word (about a
millisecond each on a typical GPU box), and Home Assistant's Assist API sends
every tool and an overview of every exposed entity. When the router is sure
of a turn's intent, the turn goes without the tool families it has no use for
(:data:`FOCUS`):

* calendar and planning intents: no device, live-state, media or mail tools,
  and no device overview;
* mail intents: no device, live-state, media or calendar tools, no overview;
* music: no device, calendar or mail tools (media tools and the live state stay);
* device control (a command Home Assistant's own intents did not match): no
  calendar or mail tools.

Focus only judges Home Assistant's own tools and Alice's: the user's scripts,
other integrations' tools and the date tool always stay. Anything else
(unknown, low confidence, several steps, an escalation from the cloud) keeps
everything. A question about the home's current state gets the
live context up front, in the overview's place (:func:`wants_live_context`),
so the model answers in one round.

All of it goes through public APIs: :class:`LLMDataProvider` hands the turn's
tools and API prompt to :meth:`ChatLog.async_provide_llm_data` as an ``llm.API`` of Alice's own,
whose instance runs every call past the guardrails' tool guard. The one
internal it relies on, where Home Assistant's device overview sits in the
Assist prompt, is isolated in :func:`device_overview`.
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
import time
from typing import Any, Final, override

from homeassistant.components import conversation
from homeassistant.components.homeassistant import llm as homeassistant_llm
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import llm

from .const import DOMAIN, LOGGER
from .errors import AliceVoiceTurnError, PromptError
from .events import fire_tool_result
from .guardrails import LIVE_CONTEXT_SUFFIX, ToolGuard
from .models import Turn, current_turn
from .phrases import default_prompt
from .router import Intent, RouteReason

#: Decisions sure enough to send only the intent's tools.
FOCUSED_REASONS: Final = frozenset(
    {RouteReason.SIMPLE_INTENT, RouteReason.COMPLEX_INTENT, RouteReason.CONTEXT_FOLLOW_UP}
)


class Family(StrEnum):
    """The tool families focus can judge (anything else is never dropped)."""

    DEVICES = "devices"  # Home Assistant's intent tools for devices, timers and lists
    LIVE = "live"  # the live state of every exposed entity
    MEDIA = "media"  # playing music: HA's media intents and tools, Alice's music tools
    CALENDAR = "calendar"  # HA's calendar and to-do tools, Alice's calendar tools
    MAIL = "mail"  # Alice's mail tools


def tool_family(name: str) -> Family | None:
    """The family of a tool, by its name; None for what focus cannot judge.

    Only Home Assistant's own tools and Alice's are judged. The user's scripts,
    other integrations' tools and the date tool belong to no family, so they
    are never dropped. Namespaced names of merged APIs
    ("assist__intent__HassTurnOn") are recognised too.
    """
    lowered = name.lower()
    if "script__" in lowered or "getdatetime" in lowered:
        return None
    if lowered.endswith("getlivecontext"):
        return Family.LIVE
    if "alice_voice__calendar" in lowered or "calendar__" in lowered or "todo__" in lowered:
        return Family.CALENDAR
    if "alice_voice__mail" in lowered:
        return Family.MAIL
    if (
        "alice_voice__music" in lowered
        or "media_player__" in lowered
        or "__hassmedia" in lowered
        or "__hasssetvolume" in lowered
    ):
        return Family.MEDIA
    if "__hass" in lowered:
        return Family.DEVICES
    return None


@dataclass(frozen=True, slots=True)
class Focus:
    """What one kind of turn can do without."""

    drop: frozenset[Family] = frozenset()  # families the turn has no use for
    devices: bool = True  # whether the device overview stays in the prompt


_NOT_AT_HOME: Final = frozenset({Family.DEVICES, Family.LIVE, Family.MEDIA})
FOCUS: Final[dict[Intent, Focus]] = {
    Intent.CALENDAR_QUERY: Focus(drop=_NOT_AT_HOME | {Family.MAIL}, devices=False),
    Intent.CALENDAR_CREATE: Focus(drop=_NOT_AT_HOME | {Family.MAIL}, devices=False),
    Intent.CALENDAR_COMPLEX: Focus(drop=_NOT_AT_HOME, devices=False),
    Intent.TASK_PLANNING: Focus(drop=_NOT_AT_HOME | {Family.MAIL}, devices=False),
    Intent.EMAIL_ANALYSIS: Focus(drop=_NOT_AT_HOME | {Family.CALENDAR}, devices=False),
    Intent.EMAIL_SEND: Focus(drop=_NOT_AT_HOME | {Family.CALENDAR}, devices=False),
    Intent.SPOTIFY_SEARCH: Focus(drop=frozenset({Family.DEVICES, Family.CALENDAR, Family.MAIL})),
    Intent.DEVICE_CONTROL: Focus(drop=frozenset({Family.CALENDAR, Family.MAIL})),
}


def focus_tools(intent: Intent | None, tools: Sequence[llm.Tool]) -> list[llm.Tool]:
    """The tools a turn with ``intent`` needs: all but the families it has no use for.

    Unsure turns keep everything, and so does a focus that would leave no tool.
    """
    focus = FOCUS.get(intent) if intent is not None else None
    if focus is None:
        return list(tools)
    kept = [tool for tool in tools if tool_family(tool.name) not in focus.drop]
    return kept or list(tools)


def wants_live_context(intent: Intent, slots: Mapping[str, object]) -> bool:
    """Whether a think turn is about the home's current state.

    Questions about devices ("vilka lampor är tända?", action ``query``), device
    turns whose action the router could not tell ("hur ser det ut hemma?") and
    weather questions that Home Assistant's intents did not answer. The prompt
    up to the question then stays the same while the home's states do, so a
    local model reuses its evaluation.
    """
    if intent is Intent.WEATHER:
        return True
    return intent is Intent.DEVICE_CONTROL and slots.get("action") in {None, "query"}


def device_overview(hass: HomeAssistant, llm_context: llm.LLMContext) -> str | None:
    """Home Assistant's overview of the exposed devices, exactly as the Assist prompt has it.

    This is the one Home Assistant internal Alice relies on: the Assist API's
    prompt joins each LLM platform's prompt, and the overview is the
    ``homeassistant`` platform's. A test fails loudly if an upgrade changes that.
    """
    tools = homeassistant_llm.async_get_tools(hass, llm_context, llm.LLM_API_ASSIST)
    return tools.prompt if tools is not None else None


@dataclass
class GuardedAPIInstance(llm.APIInstance):
    """An API instance whose every tool call passes the turn's guard first."""

    guard: ToolGuard | None = None

    @override
    async def async_call_tool(self, tool_input: llm.ToolInput) -> llm.ToolResult:
        """Check a call against the guardrails, run it, and report it as an event.

        A refusal by the guardrails, a tool that does not exist and a tool that
        raises all reach the model as its error (the chat log turns exceptions
        into error results); the event says so too.
        """
        started = time.monotonic()
        result: llm.ToolResult | None = None
        try:
            tool = next((t for t in self.tools if t.name == tool_input.tool_name), None)
            if self.guard is not None and tool is not None:
                await self.guard(tool, tool_input)
            result = await super().async_call_tool(tool_input)
        finally:
            turn = current_turn()
            fire_tool_result(
                self.api.hass,
                agent_id=turn.entity_id if turn is not None else None,
                tool=tool_input.tool_name,
                result=result or llm.ToolResult({"summary": "refused or failed"}, error=True),
                execution_time_ms=(time.monotonic() - started) * 1000,
                context=self.llm_context.context,
            )
        return result


@dataclass(slots=True, kw_only=True)
class TurnAPI(llm.API):
    """The agent's LLM APIs as one turn needs them (not registered: handed to the chat log)."""

    prompt: str
    tools: list[llm.Tool]
    custom_serializer: Callable[[Any], Any] | None
    guard: ToolGuard

    @override
    async def async_get_api_instance(self, llm_context: llm.LLMContext) -> llm.APIInstance:
        """The turn's instance: its prompt, its tools, its guard."""
        return GuardedAPIInstance(
            api=self,
            api_prompt=self.prompt,
            llm_context=llm_context,
            tools=self.tools,
            custom_serializer=self.custom_serializer,
            guard=self.guard,
        )


def _focus(turn: Turn) -> Intent | None:
    """The intent whose tools the turn gets, or None for all of them."""
    decision = turn.decision
    if decision is None or turn.escalated or decision.reason not in FOCUSED_REASONS:
        return None
    return decision.intent


async def _async_live_context(
    turn: Turn, base: llm.APIInstance, prompt: str, overview: str | None
) -> str:
    """``prompt`` with the home's live state in place of the device overview, if it helps."""
    decision = turn.decision
    if decision is None or turn.escalated or not overview:
        return prompt
    if not wants_live_context(decision.intent, decision.slots):
        return prompt
    tool = next((t.name for t in base.tools if t.name.endswith(LIVE_CONTEXT_SUFFIX)), None)
    if tool is None or overview not in prompt:
        return prompt
    try:
        result = await base.async_call_tool(llm.ToolInput(tool_name=tool, tool_args={}))
    except HomeAssistantError as err:
        LOGGER.debug("No live context up front: %s", err)
        return prompt
    live = result.data.get("result") if not result.error else None
    if not isinstance(live, str):
        return prompt
    turn.tools_used.append(tool)
    return prompt.replace(overview, f"{live}\n", 1)


class LLMDataProvider:
    """Gives each turn's chat log the agent's prompt and the turn's guarded tools.

    One per config entry. It remembers Home Assistant's device overview for the
    last Assist prompt it saw, so a turn whose prompt has not changed (the same
    exposed entities, areas and names) does not build the overview again.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Initialize with nothing remembered."""
        self.hass = hass
        self._overview: tuple[str, str | None] | None = None  # (API prompt, its overview)

    def _device_overview(self, base: llm.APIInstance) -> str | None:
        if self._overview is None or self._overview[0] != base.api_prompt:
            self._overview = (base.api_prompt, device_overview(self.hass, base.llm_context))
        return self._overview[1]

    async def _async_turn_api(
        self, turn: Turn, base: llm.APIInstance, guard: ToolGuard, live_context: bool
    ) -> TurnAPI:
        """The API the turn's model gets: focused tools, and the prompt it needs."""
        focus = _focus(turn)
        prompt = base.api_prompt
        drop_devices = focus is not None and not FOCUS.get(focus, Focus()).devices
        overview = self._device_overview(base) if drop_devices or live_context else None
        if drop_devices and overview:
            prompt = prompt.replace(overview, "", 1)
        elif live_context:
            prompt = await _async_live_context(turn, base, prompt, overview)
        return TurnAPI(
            hass=self.hass,
            id=base.api.id,
            name=base.api.name,
            prompt=prompt,
            tools=focus_tools(focus, base.tools),
            custom_serializer=base.custom_serializer,
            guard=guard,
        )

    async def async_provide(
        self,
        turn: Turn,
        chat_log: conversation.ChatLog,
        guard: ToolGuard,
        *,
        live_context: bool = False,
    ) -> None:
        """Give the chat log the agent's prompt and the turn's guarded tools.

        Done once per turn; again only when a later path wants the live context
        that an earlier one went without. Raises :class:`PromptError` when Home
        Assistant refuses the prompt, and a turn error when the agent's LLM API
        is gone.
        """
        if turn.llm_data and (turn.live_context or not live_context):
            return
        agent = turn.agent
        llm_context = turn.user_input.as_llm_context(DOMAIN)
        api: TurnAPI | None = None
        if agent.llm_apis:
            # Home Assistant builds the API (its tools, and a prompt with an overview of
            # every exposed entity) and the live state in one go each, a millisecond or
            # more of the event loop on a small machine: let other conversations' turns
            # run before, between and after.
            await asyncio.sleep(0)
            try:
                base = await llm.async_get_api(self.hass, agent.llm_apis, llm_context)
            except HomeAssistantError as err:
                LOGGER.error("The agent's tools are not available: %s", err)
                raise AliceVoiceTurnError("llm_api_unavailable") from err
            await asyncio.sleep(0)
            api = await self._async_turn_api(turn, base, guard, live_context)
            await asyncio.sleep(0)
        try:
            await chat_log.async_provide_llm_data(
                llm_context,
                api,
                agent.prompt or default_prompt(agent.language),
                turn.user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            raise PromptError(err.as_conversation_result()) from err
        turn.llm_data = True
        turn.live_context = live_context
