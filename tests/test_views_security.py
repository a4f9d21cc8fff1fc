"""Alice's HTTP views under attack: who may call them, and what an abusive request gets.

``tests/test_views.py`` and ``tests/test_classify.py`` already cover a plain
request without a token (401) and the classify view's malformed and slightly
too large bodies (400); ``tests/test_fuzz.py`` throws random JSON at it. Here:
the list of views itself, every way to present a bad credential, bodies far over
the limit (also streamed without a length, also without a token), methods a view
does not serve, and what a non-admin user may read.
"""

from collections.abc import AsyncIterator
from http import HTTPStatus
import json
from typing import Any, Final

from aiohttp import web
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.alice_voice import classify, views
from custom_components.alice_voice.classify import MAX_BODY_BYTES
from custom_components.alice_voice.const import CONF_OLLAMA_API_KEY, CONF_OPENAI_API_KEY
from simulators.ollama import OllamaTestServer

from .common import converse

type Client = TestClient[web.Request, web.Application]

OLLAMA_SECRET: Final = "ollama-VIEWSsecret-5d21"
OPENAI_SECRET: Final = "sk-VIEWSsecret-openai-8c4e"

GET_VIEWS: Final = (
    "/api/alice_voice/metrics",
    "/api/alice_voice/health",
    "/api/alice_voice/diagnostics/latency",
)
CLASSIFY: Final = "/api/alice_voice/classify"
#: Every view Alice registers: its URL and the one method it serves.
VIEWS: Final = {**dict.fromkeys(GET_VIEWS, "GET"), CLASSIFY: "POST"}
TOO_LARGE: Final = f"Request body too large: at most {MAX_BODY_BYTES} bytes"

pytestmark = pytest.mark.parametrize(
    "entry_overrides", [{CONF_OLLAMA_API_KEY: OLLAMA_SECRET, CONF_OPENAI_API_KEY: OPENAI_SECRET}]
)


@pytest.fixture
def alice(
    hass: HomeAssistant, ollama_server: OllamaTestServer, init_integration: MockConfigEntry
) -> MockConfigEntry:
    """Alice loaded, with both keys (the simulated Ollama checks its key)."""
    return init_integration


@pytest.fixture(autouse=True)
def ollama_key(ollama_server: OllamaTestServer) -> None:
    """The simulated Ollama wants the entry's key."""
    ollama_server.api_key = OLLAMA_SECRET


async def request(client: Client, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    """Status and body text of one request."""
    async with client.request(method, path, **kwargs) as response:
        return response.status, await response.text()


def body_for(method: str) -> dict[str, Any]:
    """A valid request to a view with this method."""
    return {"json": {"text": "tänd lampan i köket"}} if method == "POST" else {}


# --- what is registered -----------------------------------------------------------------


async def test_these_are_all_the_views(hass: HomeAssistant, alice: MockConfigEntry) -> None:
    """Alice serves exactly these URLs and methods, and each view needs a token.

    A new view must be added to :data:`VIEWS` (and so to every test below); what a
    non-admin may read is tested by calling the views as one.
    """
    served = {
        (route.method, route.resource.canonical)
        for route in hass.http.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/alice_voice")
        and route.method not in {"HEAD", "OPTIONS"}  # HEAD with GET; CORS preflight
    }
    assert served == {(method, url) for url, method in VIEWS.items()}
    classes = [
        value
        for module in (views, classify)
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, HomeAssistantView)
        and value is not HomeAssistantView
    ]
    assert sorted(str(view.url) for view in classes) == sorted(VIEWS)
    assert all(view.requires_auth for view in classes)


# --- credentials ------------------------------------------------------------------------


@pytest.fixture
async def no_auth(
    hass: HomeAssistant, alice: MockConfigEntry, hass_client_no_auth: ClientSessionGenerator
) -> Client:
    """A client that sends whatever Authorization header a test gives it."""
    client: Client = await hass_client_no_auth()
    return client


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="none"),
        pytest.param("Bearer not-a-token", id="garbage-token"),
        pytest.param("Bearer ", id="empty-token"),
        pytest.param("Basic YWRtaW46YWRtaW4=", id="basic"),
        pytest.param(f"Bearer {OPENAI_SECRET}", id="openai-key"),
        pytest.param(f"Bearer {OLLAMA_SECRET}", id="ollama-key"),
    ],
)
@pytest.mark.parametrize(("path", "method"), VIEWS.items())
async def test_bad_credentials_are_401(
    no_auth: Client, path: str, method: str, authorization: str | None
) -> None:
    """No token, a wrong one, another scheme or a backend's key: 401, and nothing served."""
    headers = {} if authorization is None else {"Authorization": authorization}
    status, text = await request(no_auth, method, path, headers=headers, **body_for(method))
    assert status == HTTPStatus.UNAUTHORIZED
    assert "voice_hybrid" not in text
    assert "routing_decision" not in text


@pytest.mark.parametrize(("path", "method"), VIEWS.items())
async def test_revoked_and_inactive_users_are_401(
    hass: HomeAssistant,
    alice: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
    path: str,
    method: str,
) -> None:
    """A token that worked stops working once revoked, and a user deactivated has none."""
    client = await hass_client(hass_read_only_access_token)
    assert (await request(client, method, path, **body_for(method)))[0] == HTTPStatus.OK
    refresh_token = hass.auth.async_validate_access_token(hass_read_only_access_token)
    assert refresh_token is not None
    hass.auth.async_remove_refresh_token(refresh_token)
    assert (await request(client, method, path, **body_for(method)))[0] == (HTTPStatus.UNAUTHORIZED)

    fresh = await hass.auth.async_create_refresh_token(
        hass_read_only_user, CLIENT_ID, credential=hass_read_only_user.credentials[0]
    )
    client = await hass_client(hass.auth.async_create_access_token(fresh))
    assert (await request(client, method, path, **body_for(method)))[0] == HTTPStatus.OK
    await hass.auth.async_deactivate_user(hass_read_only_user)
    assert (await request(client, method, path, **body_for(method)))[0] == (HTTPStatus.UNAUTHORIZED)


# --- who may read what --------------------------------------------------------------------


@pytest.mark.parametrize(("path", "method"), VIEWS.items())
async def test_non_admin_users_may_read_and_see_no_secret(
    hass: HomeAssistant,
    alice: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
    path: str,
    method: str,
) -> None:
    """Monitoring and routing are not admin-only: a read-only user gets what an admin gets.

    Nothing in them is more than a non-admin may see anyway (entity ids, states,
    latencies; never a key, never what was said), so there is no admin check.
    """
    assert hass_admin_user.is_admin
    assert not hass_read_only_user.is_admin
    await converse(hass, "vad har jag i kalendern imorgon")
    admin = await hass_client()
    reader = await hass_client(hass_read_only_access_token)

    admin_status, admin_text = await request(admin, method, path, **body_for(method))
    reader_status, reader_text = await request(reader, method, path, **body_for(method))

    assert admin_status == reader_status == HTTPStatus.OK
    assert reader_text == admin_text
    for text in (admin_text, reader_text):
        assert OLLAMA_SECRET not in text
        assert OPENAI_SECRET not in text
        assert "vad har jag i kalendern" not in text


# --- abusive requests -----------------------------------------------------------------------


def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """``total`` bytes of a JSON string, streamed without a Content-Length."""

    async def generate() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for start in range(0, total, size):
            yield b"a" * min(size, total - start)
        yield b'"}'

    return generate()


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(MAX_BODY_BYTES + 1, id="one-over"),
        pytest.param(4 * 1024 * 1024, id="4MiB"),
        pytest.param(32 * 1024 * 1024, id="over-HA's-client-max-size"),
    ],
)
async def test_classify_refuses_a_huge_body_with_a_message(
    hass: HomeAssistant, alice: MockConfigEntry, hass_client: ClientSessionGenerator, size: int
) -> None:
    """Far over the limit, with a Content-Length: 400 with the limit in the message, never 500."""
    client = await hass_client()
    data = json.dumps({"text": "a" * size}).encode()
    status, text = await request(
        client, "POST", CLASSIFY, data=data, headers={"Content-Type": "application/json"}
    )
    assert status in {HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE}
    assert json.loads(text) == {"message": TOO_LARGE}


@pytest.mark.parametrize(
    "size", [pytest.param(MAX_BODY_BYTES, id="limit"), pytest.param(8 * 1024 * 1024, id="8MiB")]
)
async def test_classify_refuses_a_huge_streamed_body(
    hass: HomeAssistant, alice: MockConfigEntry, hass_client: ClientSessionGenerator, size: int
) -> None:
    """Chunked, with no length announced: read only up to the limit, then refused."""
    client = await hass_client()
    status, text = await request(client, "POST", CLASSIFY, data=chunks(size))
    assert status == HTTPStatus.BAD_REQUEST
    assert json.loads(text) == {"message": TOO_LARGE}


async def test_a_huge_body_without_a_token_is_401(
    hass: HomeAssistant, alice: MockConfigEntry, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Without a token nothing is read: 401, not a message about the body."""
    client = await hass_client_no_auth()
    status, text = await request(client, "POST", CLASSIFY, data=chunks(8 * 1024 * 1024))
    assert status == HTTPStatus.UNAUTHORIZED
    assert "too large" not in text


@pytest.mark.parametrize("path", GET_VIEWS)
async def test_a_body_sent_to_a_read_view_is_ignored(
    hass: HomeAssistant, alice: MockConfigEntry, hass_client: ClientSessionGenerator, path: str
) -> None:
    """A read view never reads a body: even megabytes of one give the normal answer."""
    client = await hass_client()
    status, _ = await request(client, "GET", path, data=b"x" * (4 * 1024 * 1024))
    assert status == HTTPStatus.OK


@pytest.mark.parametrize(
    ("path", "method"),
    [
        *((path, method) for path in GET_VIEWS for method in ("POST", "PUT", "DELETE", "PATCH")),
        *((CLASSIFY, method) for method in ("GET", "PUT", "DELETE", "PATCH")),
    ],
)
async def test_other_methods_are_405(
    hass: HomeAssistant,
    alice: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    path: str,
    method: str,
) -> None:
    """A method a view does not serve: 405, never 500 (also with a large body)."""
    client = await hass_client()
    status, _ = await request(client, method, path, data=b"{" * (1024 * 1024))
    assert status == HTTPStatus.METHOD_NOT_ALLOWED
