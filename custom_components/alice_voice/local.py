"""Answers Alice gives locally without any model: greetings, thanks, the time and date.

Used in ``local_only`` mode and whenever the cloud's fast answer is not
available. Every phrase comes from the translations (``phrases.*``).
"""

import re
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .helpers import async_phrase

DATE_WORDS: Final = re.compile(
    r"\b(datum|datumet|vilken dag|vad är det för dag|veckodag|idag är det|date|what day|day is it|"
    r"today's date|weekday)\b",
    re.IGNORECASE,
)

CANNED: Final = {
    "GREETING": "greeting",
    "ACKNOWLEDGMENT": "acknowledgment",
    "CLARIFICATION": "clarification",
}


async def async_local_answer(
    hass: HomeAssistant, language: str, intent: str, text: str
) -> str | None:
    """Return a model-free answer for ``intent``, or None if there is none."""
    if (key := CANNED.get(intent)) is not None:
        return await async_phrase(hass, language, key)
    if intent != "TIME_DATE":
        return None
    now = dt_util.now()
    if DATE_WORDS.search(text):
        weekdays = (await async_phrase(hass, language, "weekdays")).split(",")
        months = (await async_phrase(hass, language, "months")).split(",")
        return await async_phrase(
            hass,
            language,
            "date",
            {
                "weekday": weekdays[now.weekday()],
                "day": str(now.day),
                "month": months[now.month - 1],
            },
        )
    return await async_phrase(hass, language, "time", {"time": now.strftime("%H:%M")})
