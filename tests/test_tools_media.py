"""Music tools against real Home Assistant players, with Spotify patched at its library.

The players are media_player entities of a small test integration, in areas
through their devices; Home Assistant's own ``media_player.play_media`` and
``search_media`` services run against them. Spotify is a loaded ``spotify``
entry whose ``runtime_data`` is Home Assistant's own ``SpotifyData`` holding a
real ``spotifyaio.SpotifyClient``; only the client's calls to Spotify's web API
are patched, answering with spotifyaio's own models.
"""

from collections.abc import Iterator
from types import MappingProxyType
from typing import Any, Final, override
from unittest.mock import AsyncMock, patch

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.media_player import MediaPlayerEntity
from homeassistant.components.media_player.browse_media import (
    BrowseMedia,
    SearchMedia,
    SearchMediaQuery,
)
from homeassistant.components.media_player.const import (
    MediaClass,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)
from homeassistant.components.spotify import DOMAIN as SPOTIFY_DOMAIN
from homeassistant.components.spotify.coordinator import (
    SpotifyCoordinator,
    SpotifyData,
    SpotifyDeviceCoordinator,
)
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigSubentry
from homeassistant.const import EVENT_CALL_SERVICE, Platform
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    llm,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import LocalOAuth2Implementation, OAuth2Session
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
import probatio
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_capture_events,
    mock_config_flow,
    mock_integration,
    mock_platform,
)
from spotifyaio import Device, SpotifyClient, SpotifyConnectionError
from spotifyaio.models import SearchResult, SearchType

from custom_components.alice_voice.const import DEFAULT_CONVERSATION_OPTIONS, SUBENTRY_CONVERSATION
from custom_components.alice_voice.models import CURRENT_TURN, AgentConfig, Turn
from custom_components.alice_voice.tools import AliceTool
from custom_components.alice_voice.tools.media import (
    MusicPlayTool,
    MusicSearchTool,
    async_get_media_tools,
)

PLAYER: Final = "media_player"
KITCHEN: Final = "media_player.kitchen_speaker"
LIVING_ROOM: Final = "media_player.living_room_tv"
RADIO: Final = "media_player.bedroom_radio"
LIBRARY: Final = "media_player.music_library"
SPOTIFY: Final = "media_player.spotify_anna"
LISTED: Final = "Kitchen speaker (Kök), Living room TV (Vardagsrum), Spotify Anna"
PLAYS: Final = MediaPlayerEntityFeature.PLAY_MEDIA | MediaPlayerEntityFeature.PAUSE
SEARCHES: Final = PLAYS | MediaPlayerEntityFeature.SEARCH_MEDIA
ALL_TYPES: Final = [SearchType.TRACK, SearchType.ALBUM, SearchType.ARTIST, SearchType.PLAYLIST]
KENT: Final = "spotify:artist:2bmLGFLm5MZzUz4HJYu2gd"
DOM_ANDRA: Final = "spotify:track:6rqhFgbbKwnb9MLmUQDhG6"
DANCING_QUEEN: Final = "spotify:track:0GjEhVFGZW8afUYGChu3Rr"
LUGN_JAZZ: Final = "spotify:playlist:37i9dQZF1DX4wta20PHgwo"


class Speaker(MediaPlayerEntity):
    """A speaker that remembers what it was asked to play and search."""

    _attr_has_entity_name = True
    _attr_name = None
    _attr_state = MediaPlayerState.IDLE

    def __init__(
        self,
        key: str,
        name: str,
        features: MediaPlayerEntityFeature,
        results: list[BrowseMedia] | None = None,
    ) -> None:
        """Name the speaker's device, and what a search finds."""
        self._attr_unique_id = key
        self._attr_device_info = DeviceInfo(identifiers={("test", key)}, name=name)
        self._attr_supported_features = features
        self.results = results or []
        self.played: list[tuple[str, str]] = []
        self.searched: list[SearchMediaQuery] = []

    @override
    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Play, as far as a test can tell."""
        self.played.append((media_type, media_id))

    @override
    async def async_search_media(self, query: SearchMediaQuery) -> SearchMedia:
        """Answer with the speaker's results."""
        self.searched.append(query)
        return SearchMedia(result=self.results)


def _platform(entities: list[Speaker]) -> MockPlatform:
    async def setup_entry(
        hass: HomeAssistant, entry: ConfigEntry, add: AddConfigEntryEntitiesCallback
    ) -> None:
        add(entities)

    return MockPlatform(async_setup_entry=setup_entry)


async def _forward(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    await hass.config_entries.async_forward_entry_setups(entry, [Platform.MEDIA_PLAYER])
    return True


def library_result(
    title: str, media_class: MediaClass, content_id: str, *, can_play: bool = True
) -> BrowseMedia:
    """A search result as Music Assistant returns one."""
    return BrowseMedia(
        title=title,
        media_class=media_class,
        media_content_type=f"library_{media_class}",
        media_content_id=content_id,
        can_play=can_play,
        can_expand=False,
    )


class _Flow(ConfigFlow):
    """A config flow for the stand-in integrations' entries."""

    VERSION = 1


@pytest.fixture(autouse=True)
def flows() -> Iterator[None]:
    """Config flows for the test and Spotify entries."""
    with mock_config_flow("test", _Flow), mock_config_flow(SPOTIFY_DOMAIN, _Flow):
        yield


@pytest.fixture
def speakers() -> dict[str, Speaker]:
    """The home's speakers (exposed unless a test hides them)."""
    return {
        KITCHEN: Speaker("kitchen", "Kitchen speaker", PLAYS),
        LIVING_ROOM: Speaker("living", "Living room TV", PLAYS),
        RADIO: Speaker("radio", "Bedroom radio", MediaPlayerEntityFeature.PAUSE),
    }


@pytest.fixture
async def home(hass: HomeAssistant, setup_ha: None, speakers: dict[str, Speaker]) -> str:
    """The speakers set up, in Kök, Vardagsrum and Sovrum; returns the satellite's device id."""
    mock_integration(hass, MockModule("test", async_setup_entry=_forward))
    mock_platform(hass, "test.config_flow")
    mock_platform(hass, "test.media_player", _platform(list(speakers.values())))
    entry = MockConfigEntry(domain="test")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    areas, devices = ar.async_get(hass), dr.async_get(hass)
    kitchen = areas.async_create("Kök", aliases={"Köksdelen"}).id
    rooms = {"kitchen": kitchen, "living": areas.async_create("Vardagsrum").id}
    rooms["radio"] = areas.async_create("Sovrum").id
    rooms["library"] = kitchen
    entities = er.async_get(hass)
    for entity_id, speaker in speakers.items():
        entity = entities.async_get(entity_id)
        assert entity is not None
        assert entity.device_id is not None
        assert speaker.unique_id is not None
        devices.async_update_device(entity.device_id, area_id=rooms[speaker.unique_id])
        async_expose_entity(hass, conversation.DOMAIN, entity_id, True)
    satellite = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("test", "satellite")}, name="Satellite"
    )
    devices.async_update_device(satellite.id, area_id=kitchen)
    return satellite.id


@pytest.fixture
def spotify_features() -> MediaPlayerEntityFeature:
    """What Spotify's player supports: PLAY_MEDIA while a device plays."""
    return PLAYS


@pytest.fixture
def spotify_devices() -> list[Device]:
    """The Spotify Connect devices Spotify knows."""
    return []


@pytest.fixture
async def spotify(
    hass: HomeAssistant,
    home: str,
    spotify_features: MediaPlayerEntityFeature,
    spotify_devices: list[Device],
) -> Speaker:
    """A loaded Spotify entry: Home Assistant's SpotifyData around a real client."""
    player = Speaker("anna", "Spotify Anna", spotify_features)

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        client = SpotifyClient(async_get_clientsession(hass))
        implementation = LocalOAuth2Implementation(
            hass,
            "spotify",
            "id",
            "secret",
            "https://example.invalid/a",
            "https://example.invalid/t",
        )
        devices = SpotifyDeviceCoordinator(hass, entry, client)
        devices.data = spotify_devices
        entry.runtime_data = SpotifyData(
            SpotifyCoordinator(hass, entry, client),
            OAuth2Session(hass, entry, implementation),
            devices,
        )
        return await _forward(hass, entry)

    mock_integration(hass, MockModule(SPOTIFY_DOMAIN, async_setup_entry=setup_entry))
    mock_platform(hass, f"{SPOTIFY_DOMAIN}.config_flow")
    mock_platform(hass, f"{SPOTIFY_DOMAIN}.media_player", _platform([player]))
    entry = MockConfigEntry(domain=SPOTIFY_DOMAIN, title="Anna", unique_id="anna")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    async_expose_entity(hass, conversation.DOMAIN, SPOTIFY, True)
    return player


def _artist(name: str, uri: str) -> dict[str, Any]:
    return {"id": uri.rsplit(":", 1)[-1], "name": name, "uri": uri, "type": "artist"}


def _track(name: str, uri: str, artist: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": uri.rsplit(":", 1)[-1],
        "name": name,
        "uri": uri,
        "artists": [artist],
        "disc_number": 1,
        "duration_ms": 231000,
        "explicit": False,
        "external_urls": {},
        "href": "https://api.spotify.com/v1/tracks/x",
        "is_local": False,
        "track_number": 1,
    }


def _playlist(name: str, uri: str) -> dict[str, Any]:
    owner = {
        "display_name": "Spotify",
        "external_urls": {},
        "href": "https://api.spotify.com/v1/users/spotify",
        "id": "spotify",
        "type": "user",
        "uri": "spotify:user:spotify",
    }
    return {
        "collaborative": False,
        "description": "",
        "external_urls": {},
        "id": uri.rsplit(":", 1)[-1],
        "images": None,
        "name": name,
        "owner": owner,
        "public": True,
        "type": "playlist",
        "uri": uri,
    }


KENT_ARTIST: Final = _artist("Kent", KENT)
ABBA: Final = _artist("ABBA", "spotify:artist:0LcJLqbBmaGUft1e9Mm8HV")


def search_result(**kinds: list[dict[str, Any] | None]) -> SearchResult:
    """What Spotify's search endpoint answers, read with spotifyaio's model."""
    return SearchResult.from_dict({kind: {"items": items} for kind, items in kinds.items()})


KENT_RESULT: Final = search_result(
    tracks=[_track("Kent", "spotify:track:1", ABBA), _track("Dom andra", DOM_ANDRA, KENT_ARTIST)],
    artists=[KENT_ARTIST],
    albums=[
        {
            "album_type": "ALBUM",
            "total_tracks": 11,
            "id": "isola",
            "images": [],
            "name": "Isola",
            "release_date": "1997",
            "release_date_precision": "year",
            "uri": "spotify:album:isola",
            "artists": [KENT_ARTIST],
        }
    ],
    playlists=[_playlist("This Is Kent", "spotify:playlist:kent"), None],
)


@pytest.fixture
def search() -> Iterator[AsyncMock]:
    """Spotify's search endpoint, answering with Kent."""
    with patch.object(SpotifyClient, "search", return_value=KENT_RESULT) as mock:
        yield mock


def context(language: str = "en", device_id: str | None = None) -> llm.LLMContext:
    """The LLM context of a conversation with the default agent."""
    return llm.LLMContext(
        platform="test",
        context=Context(),
        language=language,
        assistant=conversation.DOMAIN,
        device_id=device_id,
    )


async def call(
    hass: HomeAssistant,
    tool: AliceTool,
    llm_context: llm.LLMContext | None = None,
    /,
    **args: Any,
) -> dict[str, Any]:
    """Call a tool as an agent does; its result's data (with "error" exactly when it failed)."""
    result = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args=args), llm_context or context()
    )
    data: dict[str, Any] = dict(result.data)
    assert result.error == ("error" in data)
    return data


def play_calls(events: list[Event[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The service data of every media_player.play_media call."""
    return [
        event.data["service_data"]
        for event in events
        if (event.data["domain"], event.data["service"]) == (PLAYER, "play_media")
    ]


@pytest.fixture
def calls(hass: HomeAssistant) -> list[Event[dict[str, Any]]]:
    """Every service call."""
    events: list[Event[dict[str, Any]]] = async_capture_events(hass, EVENT_CALL_SERVICE)
    return events


def play(entity_id: str, content_id: str, content_type: str) -> dict[str, Any]:
    """The exact play_media call expected."""
    return {
        "entity_id": entity_id,
        "media_content_id": content_id,
        "media_content_type": content_type,
    }


@pytest.mark.usefixtures("spotify")
async def test_play_by_name_picks_the_artist(
    hass: HomeAssistant,
    speakers: dict[str, Speaker],
    search: AsyncMock,
    calls: list[Event[dict[str, Any]]],
) -> None:
    result = await call(hass, MusicPlayTool(), query="Kent", player="kitchen SPEAKER")

    assert "error" not in result, result
    search.assert_awaited_once_with("Kent", ALL_TYPES, limit=5)
    assert play_calls(calls) == [play(KITCHEN, KENT, "artist")]
    assert speakers[KITCHEN].played == [("artist", KENT)]
    assert result == {
        "playing": {"name": "Kent", "type": "artist", "uri": KENT},
        "player": "Kitchen speaker",
        "entity_id": KITCHEN,
        "summary": "Playing Kent on Kitchen speaker",
    }


@pytest.mark.usefixtures("spotify")
@pytest.mark.parametrize("area", ["köket", "Kök", "köksdelen"])
async def test_play_by_area_takes_a_song_as_music(
    hass: HomeAssistant, search: AsyncMock, calls: list[Event[dict[str, Any]]], area: str
) -> None:
    search.return_value = search_result(
        tracks=[_track("Dancing Queen", DANCING_QUEEN, ABBA)], artists=[ABBA]
    )

    result = await call(hass, MusicPlayTool(), query="Dancing Queen", area=area)

    assert play_calls(calls) == [play(KITCHEN, DANCING_QUEEN, MediaType.MUSIC)]
    assert result["summary"] == "Playing ABBA — Dancing Queen on Kitchen speaker"


@pytest.mark.usefixtures("spotify")
async def test_play_where_the_asking_device_is(
    hass: HomeAssistant, home: str, search: AsyncMock, calls: list[Event[dict[str, Any]]]
) -> None:
    search.return_value = search_result(
        tracks=[
            _track("Kent", "spotify:track:1", ABBA),
            _track("Dom andra", DOM_ANDRA, KENT_ARTIST),
        ]
    )

    result = await call(
        hass, MusicPlayTool(), context(device_id=home), query="kent dom andra", media_type="track"
    )

    search.assert_awaited_once_with("kent dom andra", [SearchType.TRACK], limit=5)
    assert play_calls(calls) == [play(KITCHEN, DOM_ANDRA, MediaType.MUSIC)]
    assert result["summary"] == "Playing Kent — Dom andra on Kitchen speaker"


@pytest.mark.usefixtures("spotify")
async def test_play_on_spotify_with_its_own_types(
    hass: HomeAssistant, search: AsyncMock, calls: list[Event[dict[str, Any]]]
) -> None:
    search.return_value = search_result(playlists=[_playlist("Lugn jazz", LUGN_JAZZ)])

    result = await call(
        hass, MusicPlayTool(), query="lugn jazz", media_type="playlist", player="Spotify"
    )

    search.assert_awaited_once_with("lugn jazz", [SearchType.PLAYLIST], limit=5)
    assert play_calls(calls) == [play(SPOTIFY, LUGN_JAZZ, "playlist")]
    assert result["summary"] == "Playing Lugn jazz on Spotify Anna"


@pytest.mark.usefixtures("spotify", "search")
async def test_a_spotify_uri_plays_without_searching(
    hass: HomeAssistant, search: AsyncMock, calls: list[Event[dict[str, Any]]]
) -> None:
    await call(hass, MusicPlayTool(), query=f" {DOM_ANDRA} ", player=SPOTIFY)

    search.assert_not_awaited()
    assert play_calls(calls) == [play(SPOTIFY, DOM_ANDRA, "track")]


@pytest.mark.usefixtures("spotify", "search")
async def test_the_only_player_plays(
    hass: HomeAssistant, calls: list[Event[dict[str, Any]]]
) -> None:
    for entity_id in (KITCHEN, LIVING_ROOM, SPOTIFY):
        async_expose_entity(hass, conversation.DOMAIN, entity_id, entity_id == LIVING_ROOM)

    await call(hass, MusicPlayTool(), query="Kent")

    assert play_calls(calls) == [play(LIVING_ROOM, KENT, "artist")]


@pytest.mark.usefixtures("spotify", "search")
@pytest.mark.parametrize(
    ("language", "message"),
    [
        (
            "en",
            f"Which speaker should play? Ask the user to choose one of: {LISTED}.",
        ),
        (
            "sv",
            f"Vilken högtalare ska spela? Be användaren välja en av: {LISTED}.",
        ),
    ],
)
async def test_several_players_and_none_chosen(
    hass: HomeAssistant, calls: list[Event[dict[str, Any]]], language: str, message: str
) -> None:
    result = await call(hass, MusicPlayTool(), context(language), query="Kent")

    assert "error" in result
    assert result == {"error": "music_which_player", "message": message}
    assert play_calls(calls) == []


@pytest.mark.usefixtures("spotify", "search")
async def test_asking_from_a_room_without_a_player(
    hass: HomeAssistant, home: str, device_registry: dr.DeviceRegistry
) -> None:
    bedroom = ar.async_get(hass).async_get_area_by_name("Sovrum")
    assert bedroom is not None
    device_registry.async_update_device(home, area_id=bedroom.id)

    result = await call(hass, MusicPlayTool(), context(device_id=home), query="Kent")

    assert result["error"] == "music_which_player"


@pytest.mark.usefixtures("spotify")
async def test_nothing_found(hass: HomeAssistant, search: AsyncMock) -> None:
    search.return_value = search_result(tracks=[], artists=[])

    result = await call(hass, MusicPlayTool(), query="Asdfgh", player="Spotify")

    assert result == {
        "error": "music_not_found",
        "message": "I found no music matching Asdfgh.",
    }


@pytest.mark.usefixtures("spotify")
async def test_spotify_errors_are_read_out(hass: HomeAssistant, search: AsyncMock) -> None:
    search.side_effect = SpotifyConnectionError

    result = await call(hass, MusicSearchTool(), context("sv"), query="Kent")

    assert result == {
        "error": "music_spotify_failed",
        "message": "Spotify kunde inte göra det: SpotifyConnectionError.",
    }


@pytest.mark.usefixtures("spotify", "search")
@pytest.mark.parametrize("tool", [MusicPlayTool(), MusicSearchTool()], ids=["play", "search"])
@pytest.mark.parametrize("query", ["", "   "])
async def test_empty_query(hass: HomeAssistant, tool: AliceTool, query: str) -> None:
    result = await call(hass, tool, context("sv"), query=query)

    assert result == {
        "error": "music_empty_query",
        "message": "Säg vad jag ska spela: en artist, en låt, ett album, en spellista eller en genre.",
    }


@pytest.mark.usefixtures("spotify", "search")
@pytest.mark.parametrize(
    ("args", "key", "message"),
    [
        (
            {"player": "Bedroom radio"},
            "music_player_not_found",
            f"There is no speaker called Bedroom radio that can play music. Speakers: {LISTED}.",
        ),
        (
            {"area": "Sovrum"},
            "music_no_player_in_area",
            f"There is no speaker that can play music in Sovrum. Speakers: {LISTED}.",
        ),
        (
            {"area": "Garaget"},
            "music_no_player_in_area",
            f"There is no speaker that can play music in Garaget. Speakers: {LISTED}.",
        ),
    ],
    ids=["cannot-play", "area-without-player", "unknown-area"],
)
async def test_no_such_player(
    hass: HomeAssistant, args: dict[str, str], key: str, message: str
) -> None:
    result = await call(hass, MusicPlayTool(), query="Kent", **args)

    assert result == {"error": key, "message": message}


@pytest.mark.usefixtures("spotify", "search")
async def test_no_exposed_player(hass: HomeAssistant) -> None:
    for entity_id in (KITCHEN, LIVING_ROOM, RADIO, SPOTIFY):
        async_expose_entity(hass, conversation.DOMAIN, entity_id, False)

    result = await call(hass, MusicPlayTool(), query="Kent")

    assert result["error"] == "music_no_player"


@pytest.mark.usefixtures("search")
@pytest.mark.parametrize("spotify_features", [MediaPlayerEntityFeature.SELECT_SOURCE])
@pytest.mark.parametrize(
    "spotify_devices",
    [
        [
            Device.from_dict(
                {
                    "id": device_id,
                    "is_active": active,
                    "is_private_session": False,
                    "is_restricted": False,
                    "name": name,
                    "type": "Speaker",
                    "volume_percent": 50,
                }
            )
            for device_id, name, active in (
                ("phone", "Anna's phone", False),
                ("echo", "Echo", True),
            )
        ]
    ],
)
async def test_idle_spotify_starts_on_its_active_device(
    hass: HomeAssistant, spotify: Speaker, calls: list[Event[dict[str, Any]]]
) -> None:
    with patch.object(SpotifyClient, "start_playback") as start_playback:
        result = await call(hass, MusicPlayTool(), query="Kent", player="spotify")
        tracks = await call(hass, MusicPlayTool(), query=DOM_ANDRA, player="spotify")

    assert start_playback.await_args_list == [
        ((), {"device_id": "echo", "uris": None, "context_uri": KENT}),
        ((), {"device_id": "echo", "uris": [DOM_ANDRA], "context_uri": None}),
    ]
    assert play_calls(calls) == []
    assert result["summary"] == "Playing Kent on Spotify Anna (Echo)"
    assert tracks["player"] == "Spotify Anna (Echo)"


@pytest.mark.usefixtures("spotify", "search")
@pytest.mark.parametrize("spotify_features", [MediaPlayerEntityFeature(0)])
async def test_idle_spotify_without_devices(hass: HomeAssistant) -> None:
    result = await call(hass, MusicPlayTool(), query="Kent", player="spotify")

    assert result["error"] == "music_spotify_no_device"
    assert result["message"].startswith("Spotify is not playing on any device right now.")


@pytest.mark.usefixtures("spotify")
async def test_search_lists_the_best_matches_first(hass: HomeAssistant, search: AsyncMock) -> None:
    result = await call(hass, MusicSearchTool(), query="Kent")

    assert "error" not in result
    search.assert_awaited_once_with("Kent", ALL_TYPES, limit=5)
    assert result == {
        "results": [
            {"name": "Kent", "type": "artist", "uri": KENT},
            {"name": "Kent", "type": "track", "uri": "spotify:track:1", "artist": "ABBA"},
            {"name": "Dom andra", "type": "track", "uri": DOM_ANDRA, "artist": "Kent"},
            {"name": "Isola", "type": "album", "uri": "spotify:album:isola", "artist": "Kent"},
            {"name": "This Is Kent", "type": "playlist", "uri": "spotify:playlist:kent"},
        ],
        "summary": "Found 5 for Kent: best Kent (artist)",
    }


@pytest.mark.usefixtures("spotify", "search")
async def test_spotify_searches_without_a_player(hass: HomeAssistant) -> None:
    for entity_id in (KITCHEN, LIVING_ROOM, SPOTIFY):
        async_expose_entity(hass, conversation.DOMAIN, entity_id, False)

    result = await call(hass, MusicSearchTool(), query="Kent", media_type="artist")

    assert result["results"][0]["uri"] == KENT


LIBRARY_RESULTS: Final = [
    library_result("Kent", MediaClass.ARTIST, "library://artist/7"),
    library_result("Dom andra", MediaClass.TRACK, "library://track/12"),
    library_result("Kent live", MediaClass.VIDEO, "library://video/3"),
]


@pytest.fixture
def library(speakers: dict[str, Speaker]) -> Speaker:
    """A Music Assistant-like player in Kök that searches its library."""
    speakers[LIBRARY] = Speaker("library", "Music library", SEARCHES, LIBRARY_RESULTS)
    return speakers[LIBRARY]


async def test_search_media_on_a_searchable_player(
    hass: HomeAssistant,
    library: Speaker,
    home: str,
    calls: list[Event[dict[str, Any]]],
) -> None:
    result = await call(hass, MusicPlayTool(), query="Dom andra")

    assert [query.search_query for query in library.searched] == ["Dom andra"]
    assert play_calls(calls) == [play(LIBRARY, "library://track/12", "library_track")]
    assert library.played == [("library_track", "library://track/12")]
    assert result["summary"] == "Playing Dom andra on Music library"


@pytest.mark.parametrize(
    ("media_type", "found"),
    [
        ("artist", ["library://artist/7"]),
        # Nothing of the kind: all, best first.
        ("album", ["library://artist/7", "library://video/3", "library://track/12"]),
    ],
)
async def test_search_media_filters_by_kind(
    hass: HomeAssistant, library: Speaker, home: str, media_type: str, found: list[str]
) -> None:
    result = await call(hass, MusicSearchTool(), query="Kent", media_type=media_type)

    assert set(library.searched[0].media_filter_classes or ()) == {MediaClass(media_type)}
    assert [item["uri"] for item in result["results"]] == found


async def test_search_media_finding_nothing(
    hass: HomeAssistant, library: Speaker, home: str
) -> None:
    library.results = [library_result("Kent", MediaClass.ARTIST, "x", can_play=False)]

    result = await call(hass, MusicSearchTool(), query="Kent")

    assert result["error"] == "music_not_found"


@pytest.mark.usefixtures("home")
async def test_search_without_spotify_or_searchable_player(hass: HomeAssistant) -> None:
    result = await call(hass, MusicSearchTool(), query="Kent")

    assert result["error"] == "music_no_player"


@pytest.mark.usefixtures("home", "search")
async def test_a_satellite_turn_plays_in_the_satellite_area(
    hass: HomeAssistant,
    spotify: Speaker,
    entity_registry: er.EntityRegistry,
    calls: list[Event[dict[str, Any]]],
) -> None:
    satellite = entity_registry.async_get_or_create("assist_satellite", "test", "satellite")
    living_room = ar.async_get(hass).async_get_area_by_name("Vardagsrum")
    assert living_room is not None
    entity_registry.async_update_entity(satellite.entity_id, area_id=living_room.id)
    subentry = ConfigSubentry(
        data=MappingProxyType(DEFAULT_CONVERSATION_OPTIONS),
        subentry_type=SUBENTRY_CONVERSATION,
        title="Alice",
        unique_id=None,
    )
    turn = Turn(
        agent=AgentConfig.from_subentry(subentry),
        entity_id="conversation.alice",
        user_input=conversation.ConversationInput(
            text="spela Kent",
            context=Context(),
            conversation_id=None,
            device_id=None,
            satellite_id=satellite.entity_id,
            language="sv",
            agent_id="conversation.alice",
        ),
        key=satellite.entity_id,
    )
    token = CURRENT_TURN.set(turn)
    try:
        await call(hass, MusicPlayTool(), query="Kent")
    finally:
        CURRENT_TURN.reset(token)

    assert play_calls(calls) == [play(LIVING_ROOM, KENT, "artist")]


async def test_offered_only_with_something_to_search_with(
    hass: HomeAssistant, speakers: dict[str, Speaker], home: str
) -> None:
    assert async_get_media_tools(hass, context()) == []

    speakers[KITCHEN]._attr_supported_features = SEARCHES
    speakers[KITCHEN].async_write_ha_state()
    tools = async_get_media_tools(hass, context())

    assert [tool.name for tool in tools] == ["alice_voice__music_play", "alice_voice__music_search"]
    assert [tool.annotations.read_only for tool in tools] == [False, True]
    assert all(tool.integration == "alice_voice" for tool in tools)


@pytest.mark.usefixtures("spotify")
async def test_offered_with_spotify(hass: HomeAssistant) -> None:
    assert len(async_get_media_tools(hass, context())) == 2


def test_parameters_for_small_models() -> None:
    schema = probatio.to_openapi(
        MusicPlayTool().parameters,
        custom_serializer=llm.selector_serializer,
        openapi_version="3.1.0",
    )

    assert schema["required"] == ["query"]
    assert schema["properties"]["media_type"]["enum"] == ["track", "album", "artist", "playlist"]
    assert "lugn jazz" in schema["properties"]["query"]["description"]
    assert set(schema["properties"]) == {"query", "media_type", "player", "area"}
