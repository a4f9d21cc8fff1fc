"""Alice's tools for the models: calendar, music and mail, as Home Assistant LLM tools.

Each family lives in its own module (:mod:`.calendar` with :mod:`.calendar_access`
and :mod:`.dates`, :mod:`.media`, :mod:`.mail` with :mod:`.gmail`) and offers its
tools only when what they need is set up; the ``llm.py`` platform collects them
into Home Assistant's Assist API, so every conversation agent that uses Assist
(Alice's own by default) can call them.

Every tool is an :class:`AliceTool`: named ``alice_voice__<verb>_<noun>``,
tagged with the integration, its arguments validated against its schema. A
failure never raises out of the tool loop: it becomes a ``ToolResult`` with
``error=True`` and a short reason in the user's language
(``exceptions.<key>.message``), so the model can recover, ask, or say so.
"""

from abc import abstractmethod
import time
from typing import Any, override

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import llm
import probatio

from ..const import DOMAIN, LOGGER
from ..events import fire_tool_result, summarize_result
from ..helpers import async_localized_message
from ..models import current_turn


class ToolError(Exception):
    """A tool could not do what was asked; ``key`` names the reason the model is given."""

    def __init__(self, key: str, placeholders: dict[str, str] | None = None) -> None:
        """Initialize with a translation key (``exceptions.<key>.message``) and placeholders."""
        super().__init__(key)
        self.key = key
        self.placeholders = placeholders or {}


def tool_language(llm_context: llm.LLMContext) -> str:
    """The language a tool answers in: the Alice agent's in her turns, else the user's."""
    if (turn := current_turn()) is not None:
        return turn.agent.language
    return (llm_context.language or "en").split("-")[0]


async def async_error_result(
    hass: HomeAssistant, llm_context: llm.LLMContext, key: str, placeholders: dict[str, str]
) -> llm.ToolResult:
    """A failure the model can read and recover from, in the user's language."""
    message = await async_localized_message(hass, tool_language(llm_context), key, placeholders)
    return llm.ToolResult({"error": key, "message": message}, error=True)


class AliceTool(llm.Tool):
    """Base of Alice's tools: validation, translated failures and the tool result event."""

    integration = DOMAIN

    @abstractmethod
    async def async_run(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> dict[str, Any]:
        """Do the work with validated ``args``; raise :class:`ToolError` when it cannot.

        The returned data should carry a short ``summary`` (what was done or
        found, without message bodies): it goes into the tool result event.
        """

    def validate(self, args: dict[str, Any]) -> dict[str, Any]:
        """``args`` checked against the schema (raises ``probatio.Invalid``).

        Optional arguments that small models fill with null or "" are left out.
        """
        required = {
            str(key) for key in self.parameters.schema if isinstance(key, probatio.Required)
        }
        return dict(
            self.parameters({k: v for k, v in args.items() if k in required or v not in (None, "")})
        )

    async def async_precheck(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> None:
        """Check that a call can be made, before the user is asked to confirm it.

        Raise :class:`ToolError` for a mistake the model should fix first (a
        name where an address belongs, say). Most tools need no such check.
        """

    @override
    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        """Validate, run, and turn every failure into a result the model can use."""
        started = time.monotonic()
        try:
            args = self.validate(tool_input.tool_args)
            result = llm.ToolResult(await self.async_run(hass, args, llm_context))
        except probatio.Invalid as err:
            result = await async_error_result(
                hass, llm_context, "tool_invalid_arguments", {"details": str(err)}
            )
        except ToolError as err:
            result = await async_error_result(hass, llm_context, err.key, err.placeholders)
        except HomeAssistantError as err:
            LOGGER.warning("Tool %s failed: %s", self.name, err)
            result = await async_error_result(
                hass, llm_context, "tool_failed", {"details": str(err)}
            )
        if current_turn() is None:
            # Another agent's turn: Alice's engine reports its own turns' tool calls.
            fire_tool_result(
                hass,
                agent_id=None,
                tool=self.name,
                result=result,
                execution_time_ms=(time.monotonic() - started) * 1000,
                context=llm_context.context,
            )
        return result


__all__ = [
    "AliceTool",
    "ToolError",
    "async_error_result",
    "summarize_result",
    "tool_language",
]
