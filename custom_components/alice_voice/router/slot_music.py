"""Music slots: what to search for, and where to play it.

The query is what is left of the request once the polite lead ("kan du"), the
verb ("spela", "play"), the service ("på spotify") and the place ("i köket",
"on the kitchen speaker") are cut off; an artist after "av"/"by" is given too.
"""

import re
from typing import Final

from .slot_phrases import area_sv
from .slot_types import SlotContext, Slots
from .slot_words import EN_AREA_ALT

_MUSIC_LEAD_RE: Final = re.compile(
    r"^(?:(?:hej\s+|hey\s+)?alice\s+)?(?:kan\s+du\s+|skulle\s+du\s+kunna\s+|vill\s+du\s+|"
    r"snälla\s+|could\s+you\s+|can\s+you\s+|would\s+you\s+|please\s+)*"
)
_MUSIC_VERB_RE: Final = re.compile(
    r"\b(?:spela\s+upp|spela|sätt\s+på|lägg\s+på|kör|jag\s+vill\s+(?:höra|lyssna\s+på)|"
    r"jag\s+skulle\s+vilja\s+(?:höra|lyssna\s+på)|lyssna\s+på|hitta|sök\s+efter|sök\s+på|"
    r"sök|leta\s+upp|play|put\s+on|i\s+want\s+to\s+(?:hear|listen\s+to)|"
    r"i'd\s+like\s+to\s+(?:hear|listen\s+to)|listen\s+to|find\s+me|find|search\s+for|"
    r"queue|shuffle)\s+"
)
_MUSIC_TAIL_RE: Final = re.compile(r"\s+(?:tack|please|snälla|för\s+mig|for\s+me)$")
_SPOTIFY_RE: Final = re.compile(r"\s+(?:på|i|från|via|on|in|from|with)\s+spotify\b")
_MEDIA_PLAYER_RE: Final = re.compile(
    r"\s+(?:på|i|on|in)\s+(?:the\s+)?(\w*högtalar\w*|tv:n|tvn|tv|teven|sonos|\w*speaker|"
    r"\w+\s+speaker|radion|stereon|stereo)$"
)
_ARTIST_RE: Final = re.compile(r"\b(?:av|med|by)\s+(.+)$")


def music_slots(text: str, context: SlotContext) -> Slots:
    """Extract the search query (and where to play it) of a music request."""
    query = _MUSIC_LEAD_RE.sub("", text, count=1)
    verb = _MUSIC_VERB_RE.search(query)
    if verb:
        query = query[verb.end() :]
    query = _MUSIC_TAIL_RE.sub("", query)
    query = _SPOTIFY_RE.sub("", query)
    slots: Slots = {"query": None, "area": None}
    player = _MEDIA_PLAYER_RE.search(query)
    if player:
        slots["media_player"] = player.group(1)
        query = query[: player.start()]
    area = None
    if context.language == "sv" or not re.search(r"\b(?:in|on)\b", query):
        match = re.search(r"\s+(?:i|på|inne\s+i|uppe\s+i|nere\s+i)\s+(\S+(?:\s+\S+)?)$", query)
        if match:
            area = area_sv(match.group(0))
            if area is not None:
                query = query[: match.start()]
    if area is None:
        match = re.search(
            rf"\s+(?:in|on|at)\s+(?:the\s+|my\s+|our\s+)?({EN_AREA_ALT}|\w+\s+room)$", query
        )
        if match:
            area = match.group(1)
            query = query[: match.start()]
    query = _SPOTIFY_RE.sub("", query).strip()
    slots["query"] = query or None
    slots["area"] = area
    artist = _ARTIST_RE.search(query)
    if artist:
        slots["artist"] = artist.group(1)
    return slots
