"""Alice's LLM tools platform: her calendar, music and mail tools join the Assist API.

Home Assistant's ``llm`` integration asks every integration's ``llm.py`` for
tools. Alice's join the built-in Assist API, so every conversation agent that
uses Assist (Alice's own by default, and any other) can call them. Each family
is offered only when what it needs is set up: an exposed calendar, Spotify or
a searchable player, a Google Mail account.
"""

from homeassistant.components.llm import LLMTools
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import llm

from .tools.calendar import async_get_calendar_tools
from .tools.mail import async_get_mail_tools
from .tools.media import async_get_media_tools

PROMPT = (
    "For the user's calendars, music and e-mail use the alice_voice__ tools. Give dates "
    "and times as ISO 8601 (2026-12-04T14:00) or in the user's own words (imorgon kl 14). "
    "Never say something was booked, sent or played unless a tool did it."
)


@callback
def async_get_tools(
    hass: HomeAssistant, llm_context: llm.LLMContext, api_id: str
) -> LLMTools | None:
    """Alice's tools for the Assist API, as far as what they need is set up."""
    if api_id != llm.LLM_API_ASSIST:
        return None
    tools = [
        *async_get_calendar_tools(hass, llm_context),
        *async_get_media_tools(hass, llm_context),
        *async_get_mail_tools(hass, llm_context),
    ]
    return LLMTools(tools=tools, prompt=PROMPT) if tools else None
