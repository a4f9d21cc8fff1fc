"""Slot extraction: the slots of each intent, and which extractor finds them.

Slots are extracted from the slot normal form of the utterance
(:func:`.text.normalize_for_slots`: lower case, punctuation dropped, fillers
removed) and are JSON-serialisable. Every intent has a fixed set of core keys,
present with ``None`` when not found; extra keys appear only when found.

* ``DEVICE_CONTROL``: ``action``, ``area``, ``device``, ``value``; extras
  ``area_normalized`` (Swedish definite form stripped: "köket" -> "kök"),
  ``unit`` ("%", "°"), ``color``, ``item`` (shopping/to-do lists), ``message``
  (broadcast), ``duration_seconds`` (timers); ``action`` is one of the actions
  listed in :mod:`.slot_devices`.
* ``CALENDAR_QUERY`` / ``CALENDAR_CREATE`` / ``CALENDAR_COMPLEX``: ``attendee``,
  ``date`` ("YYYY-MM-DD"), ``time`` ("HH:MM"), ``datetime`` (ISO 8601 with the
  offset of the time zone, only when both date and time are known),
  ``date_text``, ``time_text`` (the phrases as said); extras ``attendees`` (when
  several), ``part_of_day``.
* ``EMAIL_SEND``: ``recipient``, ``subject`` (phrases as said, "the invoice");
  extra ``message`` ("säg att jag blir sen" -> "jag blir sen").
* ``EMAIL_ANALYSIS``: ``sender``; extra ``unread`` (true).
* ``SPOTIFY_SEARCH``: ``query``, ``area``; extras ``media_player``, ``artist``.
* ``WEATHER``: ``location``, ``date``.
* Every other intent: no slots (``{}``).

One module per family does the work: :mod:`.slot_devices`,
:mod:`.slot_calendar` (calendar and weather), :mod:`.slot_mail` and
:mod:`.slot_music`, with the shared phrase pickers in :mod:`.slot_phrases` and
the words in :mod:`.slot_words`.
"""

from collections.abc import Callable
from typing import Final

from .intents import Intent
from .slot_calendar import calendar_slots, weather_slots
from .slot_devices import device_slots
from .slot_mail import email_analysis_slots, email_send_slots
from .slot_music import music_slots
from .slot_types import SlotContext, Slots

_EXTRACTORS: Final[dict[Intent, Callable[[str, SlotContext], Slots]]] = {
    Intent.DEVICE_CONTROL: device_slots,
    Intent.CALENDAR_QUERY: calendar_slots,
    Intent.CALENDAR_CREATE: calendar_slots,
    Intent.CALENDAR_COMPLEX: calendar_slots,
    Intent.EMAIL_SEND: email_send_slots,
    Intent.EMAIL_ANALYSIS: email_analysis_slots,
    Intent.SPOTIFY_SEARCH: music_slots,
    Intent.WEATHER: weather_slots,
}


def extract_slots(intent: Intent, text: str, context: SlotContext) -> Slots:
    """Return the slots of ``intent`` found in slot-normalised ``text``."""
    extractor = _EXTRACTORS.get(intent)
    if extractor is None:
        return {}
    return extractor(text, context)
