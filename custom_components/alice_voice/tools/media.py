"""Music tools: find music on Spotify (or a searchable player) and play it on the right speaker.

``alice_voice__music_play`` does in one call what a small model would otherwise
need three for (find a player, search, play): "spela Kent i köket" becomes
``{"query": "Kent", "area": "köket"}``. ``alice_voice__music_search`` only
searches. Pausing, skipping and volume stay with Home Assistant's own intents.

Search goes through the Spotify integration's own ``spotifyaio`` client when a
Spotify entry is loaded (Spotify's media player cannot search), else through
``media_player.search_media`` on a player that can search and play (Music
Assistant, for one), which then plays its own result. The player is the one
named, else the one in the named area, else the one in the asking satellite's
area, else the only one; otherwise the model is told to ask which.
``spotifyaio`` is imported only once a Spotify entry is loaded: it comes with
Home Assistant's Spotify integration, not with Alice.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
import re
from typing import TYPE_CHECKING, Any, ClassVar, Final, cast, override

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.components.media_player.browse_media import SearchMedia
from homeassistant.components.media_player.const import (
    ATTR_MEDIA_CONTENT_ID,
    ATTR_MEDIA_CONTENT_TYPE,
    ATTR_MEDIA_FILTER_CLASSES,
    ATTR_MEDIA_SEARCH_QUERY,
    DOMAIN as MEDIA_PLAYER_DOMAIN,
    SERVICE_PLAY_MEDIA,
    SERVICE_SEARCH_MEDIA,
    MediaClass,
    MediaPlayerEntityFeature,
    MediaType,
)
from homeassistant.const import ATTR_ENTITY_ID, ATTR_SUPPORTED_FEATURES, STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    llm,
)
import probatio

from ..models import current_turn
from . import AliceTool, ToolError

if TYPE_CHECKING:
    from homeassistant.components.spotify.coordinator import SpotifyConfigEntry
    from spotifyaio import SimplifiedArtist

SPOTIFY_DOMAIN: Final = "spotify"
MUSIC_TYPES: Final = ("track", "album", "artist", "playlist")  # also MediaClass values
MAX_RESULTS: Final = 5  # per kind from Spotify, and how many results a search returns
PLAY_MEDIA: Final = MediaPlayerEntityFeature.PLAY_MEDIA
SEARCH_AND_PLAY: Final = MediaPlayerEntityFeature.SEARCH_MEDIA | PLAY_MEDIA
# Among equally good matches a name that is the query is most likely an artist
# ("Kent") or a song ("Dancing Queen"); without a match a song is the safest.
_ORDER_MATCHED: Final = {"artist": 0, "track": 1, "album": 2, "playlist": 3}
_ORDER_UNMATCHED: Final = {"track": 0, "playlist": 1, "album": 2, "artist": 3}
_SPOTIFY_URI: Final = re.compile(r"spotify:(track|album|artist|playlist):\w+")


@dataclass(slots=True, frozen=True, kw_only=True)
class MusicItem:
    """Something playable that a search found."""

    name: str
    artist: str | None
    kind: str  # track, album, artist, playlist (or the player's media class)
    uri: str
    content_type: str | None = None  # what play_media takes; None: by kind and player

    @property
    def label(self) -> str:
        """How the item is named in summaries: "Kent — Dom andra"."""
        return f"{self.artist} — {self.name}" if self.artist else self.name

    def as_dict(self) -> dict[str, str]:
        """The item as the model reads it."""
        data = {"name": self.name, "type": self.kind, "uri": self.uri}
        if self.artist:
            data["artist"] = self.artist
        return data


@dataclass(slots=True, frozen=True, kw_only=True)
class Player:
    """A media player exposed to the assistant that can play what the search finds."""

    entity_id: str
    name: str
    names: frozenset[str]  # casefolded name, aliases and entity id
    area: ar.AreaEntry | None
    features: MediaPlayerEntityFeature
    spotify: bool  # the Spotify integration's own player (the user's Spotify Connect device)

    @property
    def label(self) -> str:
        """The player as listed to the model: "Kitchen speaker (Kök)"."""
        return f"{self.name} ({self.area.name})" if self.area else self.name


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def rank(items: Sequence[MusicItem], query: str) -> list[MusicItem]:
    """Order found items best match first: the name is the query, then has its words."""
    wanted = _words(query)

    def score(item: MusicItem) -> tuple[int, int]:
        name = _words(item.name)
        if name == wanted:
            return 0, _ORDER_MATCHED.get(item.kind, 4)
        if set(wanted) <= {*name, *_words(item.artist or "")}:
            return 1, _ORDER_MATCHED.get(item.kind, 4)
        return 2, _ORDER_UNMATCHED.get(item.kind, 4)

    return sorted(items, key=score)  # stable: the search's own order breaks ties


def _forms(name: str) -> set[str]:
    """A name and its Swedish definite forms: "kök" -> "köket", "vardagsrum" -> "vardagsrummet"."""
    base = name.strip().casefold()
    return {base, *(base + end for end in ("n", "t", "en", "et", f"{base[-1:]}et"))}


@callback
def _area_of(hass: HomeAssistant, entry: er.RegistryEntry) -> str | None:
    """An entity's area, else its device's."""
    if entry.area_id is None and (device := dr.async_get(hass).async_get(entry.device_id or "")):
        return dr.async_get_effective_area_id(hass, device)
    return entry.area_id


@callback
def spotify_entry(hass: HomeAssistant) -> SpotifyConfigEntry | None:
    """The loaded Spotify entry, if any."""
    entries = hass.config_entries.async_loaded_entries(SPOTIFY_DOMAIN)
    return cast("SpotifyConfigEntry", entries[0]) if entries else None


@callback
def exposed_players(
    hass: HomeAssistant, llm_context: llm.LLMContext, spotify: SpotifyConfigEntry | None
) -> list[Player]:
    """The exposed players that can play what the search finds, by name.

    With Spotify: its own player and any that plays media; without: those that
    can search and play (each plays what it found itself).
    """
    entities, areas = er.async_get(hass), ar.async_get(hass)
    players = []
    for state in hass.states.async_all(MEDIA_PLAYER_DOMAIN):
        entry = entities.async_get(state.entity_id)
        features = MediaPlayerEntityFeature(state.attributes.get(ATTR_SUPPORTED_FEATURES, 0))
        is_spotify = bool(entry and spotify and entry.config_entry_id == spotify.entry_id)
        if (
            state.state == STATE_UNAVAILABLE
            or not async_should_expose(hass, llm_context.assistant, state.entity_id)
            or not (
                is_spotify or PLAY_MEDIA in features if spotify else SEARCH_AND_PLAY in features
            )
        ):
            continue
        names = [state.name, state.entity_id]
        if entry is not None:
            names += er.async_get_entity_aliases(hass, entry)
        area_id = _area_of(hass, entry) if entry else None
        players.append(
            Player(
                entity_id=state.entity_id,
                name=state.name,
                names=frozenset(name.strip().casefold() for name in names),
                area=areas.async_get_area(area_id) if area_id else None,
                features=features,
                spotify=is_spotify,
            )
        )
    return sorted(players, key=lambda player: player.name.casefold())


@callback
def _asking_areas(hass: HomeAssistant, llm_context: llm.LLMContext) -> list[str]:
    """The areas of the satellite and devices that asked, most specific first."""
    area_ids: list[str | None] = []
    device_ids = [llm_context.device_id]
    if (turn := current_turn()) is not None:
        device_ids.append(turn.user_input.device_id)
        if turn.user_input.satellite_id and (
            satellite := er.async_get(hass).async_get(turn.user_input.satellite_id)
        ):
            area_ids.append(_area_of(hass, satellite))
    devices = dr.async_get(hass)
    area_ids.extend(
        dr.async_get_effective_area_id(hass, device)
        for device_id in device_ids
        if device_id and (device := devices.async_get(device_id))
    )
    return list(dict.fromkeys(area_id for area_id in area_ids if area_id))


@callback
def choose_players(
    hass: HomeAssistant, players: list[Player], args: dict[str, Any], llm_context: llm.LLMContext
) -> list[Player]:
    """Narrow ``players`` to those the request points at; a single one left is the choice."""
    chosen = players
    listed = ", ".join(player.label for player in players)
    if name := args.get("player"):
        wanted = name.strip().casefold()
        chosen = [
            p for p in chosen if wanted in p.names or (wanted == SPOTIFY_DOMAIN and p.spotify)
        ]
        if not chosen:
            raise ToolError("music_player_not_found", {"player": name, "players": listed})
    if area := args.get("area"):
        forms = _forms(area)
        area_ids = {
            entry.id
            for entry in ar.async_get(hass).async_list_areas()
            if entry.id == area
            or any(forms & _forms(alias) for alias in (entry.name, *entry.aliases))
        }
        if not (chosen := [p for p in chosen if p.area and p.area.id in area_ids]):
            raise ToolError("music_no_player_in_area", {"area": area, "players": listed})
    elif len(chosen) > 1:
        for area_id in _asking_areas(hass, llm_context):
            if here := [p for p in chosen if p.area and p.area.id == area_id]:
                return here
    return chosen


@asynccontextmanager
async def _spotify_errors() -> AsyncIterator[None]:
    """Turn Spotify's errors into a reason the model can read."""
    from spotifyaio import SpotifyError  # noqa: PLC0415 -- installed with Spotify only

    try:
        yield
    except SpotifyError as err:
        details = str(err) or type(err).__name__
        raise ToolError("music_spotify_failed", {"details": details}) from err


async def _async_search_spotify(
    entry: SpotifyConfigEntry, query: str, kind: str | None
) -> list[MusicItem]:
    """Search Spotify with the Spotify integration's client; a Spotify URI is taken as found."""
    from spotifyaio.models import SearchType  # noqa: PLC0415 -- installed with Spotify only

    if match := _SPOTIFY_URI.fullmatch(query):
        return [MusicItem(name=query, artist=None, kind=match[1], uri=query)]
    types = [SearchType(each) for each in ((kind,) if kind else MUSIC_TYPES)]
    async with _spotify_errors():
        found = await entry.runtime_data.coordinator.client.search(query, types, limit=MAX_RESULTS)

    def item(kind: str, name: str, uri: str, artists: Sequence[SimplifiedArtist] = ()) -> MusicItem:
        artist = ", ".join(artist.name for artist in artists) or None
        return MusicItem(name=name, artist=artist, kind=kind, uri=uri)

    return [
        *(item("artist", a.name, a.uri) for a in found.artists or ()),
        *(item("track", t.name, t.uri, t.artists) for t in found.tracks or ()),
        *(item("album", a.name, a.uri, a.artists) for a in found.albums or ()),
        *(item("playlist", p.name, p.uri) for p in found.playlists or ()),
    ]


async def _async_search_player(
    hass: HomeAssistant, player: Player, query: str, kind: str | None, context: Context | None
) -> list[MusicItem]:
    """Search with ``media_player.search_media`` on a player that can search."""
    data: dict[str, Any] = {ATTR_ENTITY_ID: player.entity_id, ATTR_MEDIA_SEARCH_QUERY: query}
    if kind:
        data[ATTR_MEDIA_FILTER_CLASSES] = [MediaClass(kind)]
    response = await hass.services.async_call(
        MEDIA_PLAYER_DOMAIN,
        SERVICE_SEARCH_MEDIA,
        data,
        blocking=True,
        context=context,
        return_response=True,
    )
    items = [
        MusicItem(
            name=item.title,
            artist=None,
            kind=str(item.media_class),
            uri=item.media_content_id,
            content_type=item.media_content_type,
        )
        for item in cast("dict[str, SearchMedia]", response)[player.entity_id].result
        if item.can_play
    ]
    if kind and (of_kind := [item for item in items if item.kind == kind]):
        return of_kind  # not every player filters by class
    return items


async def _async_play(
    hass: HomeAssistant,
    player: Player,
    item: MusicItem,
    spotify: SpotifyConfigEntry | None,
    context: Context | None,
) -> str:
    """Start ``item`` on ``player``; returns where it plays."""
    if spotify is not None and player.spotify and PLAY_MEDIA not in player.features:
        # Spotify's player takes play_media only while a device plays; start on
        # a device Spotify knows (the active one, else the first), as it would.
        if not (devices := spotify.runtime_data.devices.data):
            raise ToolError("music_spotify_no_device")
        device = next((device for device in devices if device.is_active), devices[0])
        track = item.kind == "track"
        async with _spotify_errors():
            await spotify.runtime_data.coordinator.client.start_playback(
                device_id=device.device_id,
                uris=[item.uri] if track else None,
                context_uri=None if track else item.uri,
            )
        return f"{player.name} ({device.name})"
    # Spotify's player takes its own types; other players take "music" for a song.
    content_type = item.content_type or (
        MediaType.MUSIC if item.kind == "track" and not player.spotify else item.kind
    )
    await hass.services.async_call(
        MEDIA_PLAYER_DOMAIN,
        SERVICE_PLAY_MEDIA,
        {
            ATTR_ENTITY_ID: player.entity_id,
            ATTR_MEDIA_CONTENT_ID: item.uri,
            ATTR_MEDIA_CONTENT_TYPE: content_type,
        },
        blocking=True,
        context=context,
    )
    return player.name


QUERY_SCHEMA: Final = {
    probatio.Required(
        "query",
        description="What to play, without the room or player: an artist ('Kent'), a song "
        "('Dancing Queen'), an album, a playlist, or a genre or mood ('lugn jazz')",
    ): cv.string,
    probatio.Optional(
        "media_type",
        description="Only when the user says what kind: track (a song), album, artist or "
        "playlist. Use playlist for a genre or mood. Leave out for the best match",
    ): probatio.In(MUSIC_TYPES),
}


class _MusicTool(AliceTool):
    """What both music tools do first: check the query, choose the player, search."""

    plays: ClassVar[bool] = False  # needs the one player to play on

    async def _async_search(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> tuple[Player | None, list[MusicItem]]:
        """The player the request points at, and what the search found (best first)."""
        if not (query := str(args["query"]).strip()):
            raise ToolError("music_empty_query")
        spotify = spotify_entry(hass)
        player = None
        if self.plays or spotify is None:  # Spotify searches without a player
            if not (players := exposed_players(hass, llm_context, spotify)):
                raise ToolError("music_no_player")
            chosen = choose_players(hass, players, args, llm_context)
            if len(chosen) > 1 and self.plays:
                labels = ", ".join(player.label for player in chosen)
                raise ToolError("music_which_player", {"players": labels})
            player = chosen[0]
        kind = args.get("media_type")
        if spotify is not None:
            items = await _async_search_spotify(spotify, query, kind)
        else:
            assert player is not None
            items = await _async_search_player(hass, player, query, kind, llm_context.context)
        if not items:
            raise ToolError("music_not_found", {"query": query})
        return player, rank(items, query)


class MusicPlayTool(_MusicTool):
    """Search for music and play the best match on the right speaker."""

    name = "alice_voice__music_play"
    title = "Play music"
    description = (
        "Play music: searches Spotify or the music library and plays the best match on a "
        "speaker, e.g. 'spela Kent', 'spela lite jazz i köket', 'play Dancing Queen'. "
        "Leave out player and area to play where the user is."
    )
    parameters = probatio.Schema(
        {
            **QUERY_SCHEMA,
            probatio.Optional(
                "player",
                description="A speaker the user named ('Kitchen speaker', 'Spotify'), "
                "or its entity id",
            ): cv.string,
            probatio.Optional(
                "area", description="A room the user named ('köket', 'vardagsrummet')"
            ): cv.string,
        }
    )
    annotations = llm.ToolAnnotations(destructive=False)
    plays = True

    @override
    async def async_run(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> dict[str, Any]:
        """Find the player, search, and play the best match there."""
        player, items = await self._async_search(hass, args, llm_context)
        assert player is not None
        where = await _async_play(hass, player, items[0], spotify_entry(hass), llm_context.context)
        return {
            "playing": items[0].as_dict(),
            "player": where,
            "entity_id": player.entity_id,
            "summary": f"Playing {items[0].label} on {where}",
        }


class MusicSearchTool(_MusicTool):
    """Search for music without playing it."""

    name = "alice_voice__music_search"
    title = "Search music"
    description = (
        "Search Spotify or the music library without playing, e.g. to answer which albums "
        "an artist has. To play a result, call alice_voice__music_play with its name and type "
        "(or its uri, for Spotify) as query."
    )
    parameters = probatio.Schema(QUERY_SCHEMA)
    annotations = llm.ToolAnnotations(read_only=True, destructive=False, idempotent=True)

    @override
    async def async_run(
        self, hass: HomeAssistant, args: dict[str, Any], llm_context: llm.LLMContext
    ) -> dict[str, Any]:
        """Search and list the best matches."""
        _, items = await self._async_search(hass, args, llm_context)
        best = items[0]
        return {
            "results": [item.as_dict() for item in items[:MAX_RESULTS]],
            "summary": f"Found {len(items)} for {args['query'].strip()}: "
            f"best {best.label} ({best.kind})",
        }


@callback
def async_get_media_tools(hass: HomeAssistant, llm_context: llm.LLMContext) -> list[llm.Tool]:
    """The music tools, when there is something to search with: Spotify or a searchable player."""
    if spotify_entry(hass) is None and not exposed_players(hass, llm_context, None):
        return []
    return [MusicPlayTool(), MusicSearchTool()]
