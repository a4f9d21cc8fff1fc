"""The turn engine: one per config entry, it runs every turn of every agent.

A turn is checked, routed by the intent router, planned as a sequence of
steps (:class:`.paths.Step`) and answered by the first step that can:

* **fast, local** - device commands go to Home Assistant's own intents first;
  a miss goes on to the think path;
* **fast, cloud** - greetings, thanks, clarifications, simple questions, the
  weather and the time go to OpenAI Realtime;
* **think** - the local Ollama model with Home Assistant's tools;
* **hybrid** - Realtime with one extra tool, ``escalate_to_local``, which hands
  the turn to the think path.

The agent's mode narrows this: ``local_only`` never opens a cloud connection
(fast questions are answered by HA's intents, Alice's own phrases or Ollama),
``cloud_only`` answers everything on Realtime with HA's tools as function calls.

A voice turn may arrive with a fast answer already begun: the STT's Realtime
session starts answering from the audio while the transcript is written (see
:mod:`.backends.speculate`). The cloud path uses it only when the turn is routed
to the fast cloud step with the very same session settings; any other route
cancels it, so Alice never speaks an answer the router did not choose.

Fallbacks run both ways, and every answer says who gave it (``source``): a
cloud failure or a fast answer over budget falls back to the local answer
(``local_fallback``); a local failure falls back to Realtime when the mode
allows it (``openai_fallback``), otherwise Alice apologises, in the agent's
language. When every step fails, the local model's failure is what she
reports. A backend that the coordinator knows to be down is not tried.
"""

import asyncio
from collections.abc import Callable, Iterator, Mapping
from functools import partial
import time
from typing import Final

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant

from .const import LOGGER, MAX_INPUT_CHARS, AgentMode, Backend, Source
from .coordinator import AliceVoiceCoordinator
from .errors import AliceVoiceTurnError, PromptError
from .events import fire_intent
from .guardrails import Guardrails
from .helpers import async_localized_message, with_home_time
from .inflight import InFlightTurns
from .llm_data import LLMDataProvider
from .metrics import Metrics
from .models import CURRENT_TURN, AgentConfig, Turn
from .paths import AnswerPath, PathKind, Step
from .paths.canned import CannedPath
from .paths.cloud import CloudPath
from .paths.ha_intents import HaIntentsPath
from .paths.think import ThinkPath
from .reports import report_turn
from .results import error_answer
from .router import Intent, IntentRouter, RoutePath
from .sessions import ConversationStates
from .status import AgentStatusTracker
from .voice import VoiceHub

#: Fast intents that Home Assistant's own intents can answer without a model.
HA_ANSWERS: Final = frozenset({Intent.TIME_DATE, Intent.WEATHER, Intent.DEVICE_CONTROL})
#: The backend behind each path that has one.
PATH_BACKENDS: Final = {PathKind.THINK: Backend.OLLAMA, PathKind.CLOUD: Backend.OPENAI}


class AliceVoiceEngine:
    """Routes and answers every turn of one config entry's agents."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        coordinator: AliceVoiceCoordinator,
        router: IntentRouter,
        status: AgentStatusTracker,
        metrics: Metrics,
        voice: VoiceHub | None = None,
    ) -> None:
        """Initialize with the entry's coordinator, router, status, metrics and voice hub."""
        self.hass = hass
        self.coordinator = coordinator
        self.router = router
        self.status = status
        self.metrics = metrics
        self.voice = voice or VoiceHub()
        self.inflight = InFlightTurns()
        self.guardrails = Guardrails(hass)
        self.states = ConversationStates()
        llm_data = LLMDataProvider(hass)
        self.ha_intents = HaIntentsPath(hass, self.guardrails)
        self.cloud = CloudPath(hass, coordinator, self.guardrails, llm_data)
        self.paths: Mapping[PathKind, AnswerPath] = {
            PathKind.HA_INTENTS: self.ha_intents,
            PathKind.CANNED: CannedPath(),
            PathKind.THINK: ThinkPath(hass, coordinator, self.guardrails, llm_data),
            PathKind.CLOUD: self.cloud,
        }
        self._routers: dict[float, IntentRouter] = {}

    async def async_handle(
        self,
        agent: AgentConfig,
        entity_id: str,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Answer one turn; failures become a spoken message, never an exception."""
        key = user_input.satellite_id or user_input.device_id or chat_log.conversation_id
        turn = Turn(
            agent=agent,
            entity_id=entity_id,
            user_input=user_input,
            key=key,
            conversation_id=chat_log.conversation_id,
        )
        if user_input.satellite_id:
            self.status.satellite_seen(user_input.satellite_id, agent.subentry_id)
        result: conversation.ConversationResult | None = None
        token = CURRENT_TURN.set(turn)
        speaker = user_input.satellite_id or user_input.device_id
        self.inflight.start(speaker)
        try:
            result = await self._async_turn(turn, chat_log)
        except asyncio.CancelledError:
            turn.error = "interrupted"
            raise
        except PromptError as err:
            turn.error = "prompt_error"
            result = err.result
        except AliceVoiceTurnError as err:
            turn.error = err.key
            LOGGER.warning("%s could not answer: %s", entity_id, err)
            message = await async_localized_message(
                self.hass, agent.language, err.key, err.placeholders
            )
            result = error_answer(turn, chat_log, message)
        finally:
            CURRENT_TURN.reset(token)
            self.inflight.end(speaker)
            if turn.speculation is not None:
                turn.speculation.discard()
            self._finish(turn, result)
        return result

    async def _async_turn(
        self, turn: Turn, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        text = turn.user_input.text
        if not text or not text.strip():
            raise AliceVoiceTurnError("empty_input")
        if len(text) > MAX_INPUT_CHARS:
            raise AliceVoiceTurnError("input_too_long", {"max_chars": str(MAX_INPUT_CHARS)})
        if (heard := self.voice.take(text)) is not None:
            turn.audio_features, turn.speculation = heard.features, heard.answer
        state = self.states.get(turn.key)
        if state.pending is not None and (
            result := await self.guardrails.async_answer_pending(turn, chat_log, state)
        ):
            return result

        if turn.agent.mode is not AgentMode.CLOUD_ONLY:
            # Device commands Home Assistant recognises need no routing (see ha_intents).
            turn.source = Source.HA_LOCAL_INTENTS
            if result := await self.ha_intents.async_device_first(turn, chat_log):
                # Its alice_voice_intent goes out with the response, after the answer.
                state.previous_intent = Intent.DEVICE_CONTROL
                return result
            turn.pending = None  # a sensitive match is asked about on the routed path
            turn.source = Source.LOCAL_FALLBACK

        # Only now is the turn shown as busy: a command HA's intents carried out is done
        # in a millisecond, and its only status change is the finished turn.
        turn.on_first_text = partial(self.status.responding, turn.agent.subentry_id)
        self.status.turn_started(turn.agent.subentry_id)
        routed = time.monotonic()
        turn.decision = decision = self._router(turn.agent).route(
            text,
            audio_features=turn.audio_features,
            context=with_home_time(
                self.hass,
                {"previous_intent": state.previous_intent, "language": turn.agent.language},
            ),
        )
        turn.route_ms = (time.monotonic() - routed) * 1000
        state.previous_intent = decision.intent
        if turn.speculation is not None and (
            decision.path is not RoutePath.FAST or decision.intent is Intent.DEVICE_CONTROL
        ):
            turn.speculation.discard()  # not a fast cloud answer: stop it now
            turn.speculation = None
        fire_intent(self.hass, turn)
        if self._may_think(turn):
            self.coordinator.async_prewarm(turn.agent)

        failure: AliceVoiceTurnError | None = None
        failure_source = turn.source
        failed_backend: Backend | None = None
        for step in self._plan(turn):
            if failed_backend is not None:
                turn.fallback_from, failed_backend = failed_backend, None
            turn.source = step.source
            try:
                result = await self.paths[step.path].async_answer(turn, chat_log, step)
            except AliceVoiceTurnError as err:
                if not err.fallback_ok:
                    raise
                if failure is None or step.path is PathKind.THINK:
                    # When everything fails, the local model's failure is the one to report.
                    failure, failure_source = err, step.source
                failed_backend = PATH_BACKENDS.get(step.path)
                continue
            if turn.pending is not None:
                return self.guardrails.ask(turn, chat_log, state)
            if result is not None:
                return result
        turn.source = failure_source
        raise failure or AliceVoiceTurnError("empty_reply")

    # --- planning --------------------------------------------------------------------

    def _plan(self, turn: Turn) -> Iterator[Step]:
        """The steps that may answer the routed turn, best first (see the module docstring).

        A generator: whether the cloud may hear the turn (a scan of the
        sensitive devices' names) is found out only when a step needs to know.
        """
        agent, decision = turn.agent, turn.decision
        assert decision is not None
        intent, path = decision.intent, decision.path
        cloud = _Once(
            lambda: (
                self._cloud_usable(agent) and self.guardrails.cloud_may_hear(turn.user_input.text)
            )
        )
        if agent.mode is AgentMode.CLOUD_ONLY and cloud():
            budget = agent.fast_budget if path is RoutePath.FAST else agent.think_budget
            yield Step(PathKind.CLOUD, Source.OPENAI_REALTIME, budget=budget, tools=True)
            yield from self._local_fast(agent, intent, fallback=True)
            return
        if intent is Intent.DEVICE_CONTROL:
            # Home Assistant's intents match exactly or not at all, in milliseconds,
            # so they go first, even when the router is unsure.
            yield Step(PathKind.HA_INTENTS, Source.HA_LOCAL_INTENTS)
            if path is RoutePath.FAST:
                yield from self._think(agent, cloud_fallback=cloud())
                return
        if path is RoutePath.FAST:
            if cloud():
                yield Step(PathKind.CLOUD, Source.OPENAI_REALTIME, budget=agent.fast_budget)
            yield from self._local_fast(agent, intent, fallback=cloud())
        elif path is RoutePath.HYBRID and cloud():
            yield Step(
                PathKind.CLOUD, Source.OPENAI_REALTIME, budget=agent.fast_budget, escalate=True
            )
            yield Step(PathKind.THINK, Source.LOCAL_AI, budget=agent.think_budget)
        else:
            yield from self._think(agent, cloud_fallback=cloud())

    @staticmethod
    def _local_fast(agent: AgentConfig, intent: Intent, *, fallback: bool) -> Iterator[Step]:
        """A fast question answered without the cloud: HA, Alice's own phrases, the model."""
        if intent in HA_ANSWERS:
            yield Step(
                PathKind.HA_INTENTS, Source.LOCAL_FALLBACK if fallback else Source.HA_LOCAL_INTENTS
            )
        yield Step(PathKind.CANNED, Source.LOCAL_FALLBACK)
        yield Step(
            PathKind.THINK,
            Source.LOCAL_FALLBACK if fallback else Source.LOCAL_AI,
            budget=agent.think_budget,
        )

    @staticmethod
    def _think(agent: AgentConfig, *, cloud_fallback: bool) -> Iterator[Step]:
        """The local model, and Realtime with the tools when it fails and the mode allows."""
        yield Step(PathKind.THINK, Source.LOCAL_AI, budget=agent.think_budget)
        if cloud_fallback:
            yield Step(
                PathKind.CLOUD, Source.OPENAI_FALLBACK, budget=agent.think_budget, tools=True
            )

    def _cloud_usable(self, agent: AgentConfig) -> bool:
        return (
            agent.mode is not AgentMode.LOCAL_ONLY
            and self.coordinator.openai is not None
            and not self.coordinator.is_down(Backend.OPENAI)
        )

    def _may_think(self, turn: Turn) -> bool:
        """Whether the turn is likely to reach the local model (worth loading it now)."""
        assert turn.decision is not None
        agent = turn.agent
        if not self._cloud_usable(agent):
            return True
        if agent.mode is AgentMode.CLOUD_ONLY:
            return False
        return not (
            turn.decision.path is RoutePath.FAST
            and turn.decision.intent is not Intent.DEVICE_CONTROL
        )

    def _router(self, agent: AgentConfig) -> IntentRouter:
        """A router with the agent's confidence threshold (they share the model)."""
        if agent.confidence_threshold == self.router.confidence_threshold:
            return self.router
        if (router := self._routers.get(agent.confidence_threshold)) is None:
            router = IntentRouter(
                model=self.router.model, confidence_threshold=agent.confidence_threshold
            )
            self._routers[agent.confidence_threshold] = router
        return router

    # --- finishing -------------------------------------------------------------------

    def _finish(self, turn: Turn, result: conversation.ConversationResult | None) -> None:
        """Label the response with its source; report the turn once it is returned."""
        turn.finished = time.monotonic()
        decision = turn.decision
        if result is not None:
            plain = result.response.speech.setdefault("plain", {"speech": ""})
            plain["extra_data"] = {
                "source": turn.source,
                "path": decision.path if decision else None,
                "intent": decision.intent if decision else None,
            }
        # The events, the status and the metrics follow in the next loop iteration,
        # after the answer is returned: the turn waits for neither automations nor the HUD.
        self.hass.loop.call_soon(report_turn, self.hass, self.status, self.metrics, turn, result)


class _Once:
    """A boolean computed on first use."""

    __slots__ = ("_compute", "_value")

    def __init__(self, compute: Callable[[], bool]) -> None:
        self._compute = compute
        self._value: bool | None = None

    def __call__(self) -> bool:
        if self._value is None:
            self._value = self._compute()
        return self._value
