"""Tests for the Gmail API test server, driven by a plain aiohttp client."""

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import aiohttp
import pytest

from simulators.gmail import (
    ACCOUNT,
    GOOGLE_MAIL_SCOPES,
    SCOPE_METADATA,
    TOKEN,
    Fault,
    GmailTestServer,
    Mail,
    demo_mails,
)

NOW = datetime.now(UTC)


def b64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[GmailTestServer]:
    """A server with the demo inbox plus read, spam and old mail."""
    async with GmailTestServer(mails=demo_mails()) as srv:
        srv.add(
            Mail(
                sender="Cecilia <cecilia@example.org>",
                subject="Gammal nyhet",
                text="Läst för länge sedan.",
                date=NOW - timedelta(days=40),
                labels=("INBOX", "STARRED"),
            )
        )
        srv.add(Mail(sender="spam@example.net", subject="Vinst!", text="Klicka", labels=("SPAM",)))
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    server: GmailTestServer,
    path: str,
    params: Any = None,
    token: str | None = TOKEN,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(f"{server.base_url}{path}", params=params, headers=headers) as response:
        return response.status, await response.json(), dict(response.headers)


async def subjects(http: aiohttp.ClientSession, server: GmailTestServer, params: Any) -> list[str]:
    status, body, _ = await call(http, server, "/users/me/messages", params)
    assert status == 200, body
    return [server.messages[m["id"]].mail.subject for m in body.get("messages", [])]


async def test_list_unread_newest_first(
    http: aiohttp.ClientSession, server: GmailTestServer
) -> None:
    status, body, headers = await call(http, server, "/users/me/messages", {"q": "is:unread"})
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert body["resultSizeEstimate"] == 2
    assert all(set(m) == {"id", "threadId"} for m in body["messages"])
    assert [server.messages[m["id"]].mail.subject for m in body["messages"]] == [
        "Faktura oktober",
        "Utflykt på fredag",
    ]


async def test_no_match_has_no_messages_key(
    http: aiohttp.ClientSession, server: GmailTestServer
) -> None:
    status, body, _ = await call(http, server, "/users/me/messages", {"q": "from:nobody"})
    assert (status, body) == (200, {"resultSizeEstimate": 0})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("from:anna faktura", ["Faktura oktober"], id="from-and-word"),
        pytest.param("FROM:Anna", ["Faktura oktober"], id="case-insensitive"),
        pytest.param("subject:lunch", ["Lunch?"], id="subject"),
        pytest.param("skansen", ["Utflykt på fredag"], id="word-in-html-body"),
        pytest.param('"betala senast"', ["Faktura oktober"], id="phrase"),
        pytest.param("is:read", ["Lunch?", "Gammal nyhet"], id="read"),
        pytest.param("is:starred", ["Gammal nyhet"], id="starred"),
        pytest.param("is:unread -from:anna", ["Utflykt på fredag"], id="negation"),
        pytest.param("from:bo OR from:cecilia", ["Lunch?", "Gammal nyhet"], id="or"),
        pytest.param("has:attachment", ["Faktura oktober"], id="attachment"),
        pytest.param("filename:pdf", ["Faktura oktober"], id="filename"),
        pytest.param("newer_than:7d", ["Faktura oktober", "Utflykt på fredag", "Lunch?"], id="new"),
        pytest.param("older_than:1m", ["Gammal nyhet"], id="old"),
        pytest.param(
            f"before:{(NOW - timedelta(days=30)):%Y/%m/%d}", ["Gammal nyhet"], id="before"
        ),
        pytest.param(f"after:{int((NOW - timedelta(days=1)).timestamp())}", 2, id="after"),
        pytest.param("in:spam", ["Vinst!"], id="spam-on-request"),
        pytest.param("to:alice@example.com", 4, id="to"),
        pytest.param("label:inbox is:unread", 2, id="label"),
        pytest.param("cc:anyone", [], id="cc"),
        pytest.param("newer_than:soon", [], id="bad-age-is-text"),
        pytest.param("OR", 4, id="lonely-or-is-ignored"),
    ],
)
async def test_search_operators(
    http: aiohttp.ClientSession, server: GmailTestServer, query: str, expected: list[str] | int
) -> None:
    found = await subjects(http, server, {"q": query})
    assert found == expected if isinstance(expected, list) else len(found) == expected


async def test_label_ids_and_spam_trash(
    http: aiohttp.ClientSession, server: GmailTestServer
) -> None:
    assert await subjects(http, server, [("labelIds", "INBOX"), ("labelIds", "UNREAD")]) == [
        "Faktura oktober",
        "Utflykt på fredag",
    ]
    assert "Vinst!" not in await subjects(http, server, {})
    assert "Vinst!" in await subjects(http, server, {"includeSpamTrash": "true"})


async def test_paging(http: aiohttp.ClientSession, server: GmailTestServer) -> None:
    status, first, _ = await call(http, server, "/users/me/messages", {"maxResults": "2"})
    assert status == 200
    assert len(first["messages"]) == 2
    assert first["resultSizeEstimate"] == 4
    status, second, _ = await call(
        http, server, "/users/me/messages", {"maxResults": "2", "pageToken": first["nextPageToken"]}
    )
    assert len(second["messages"]) == 2
    assert "nextPageToken" not in second
    assert not {m["id"] for m in first["messages"]} & {m["id"] for m in second["messages"]}
    for params in ({"maxResults": "many"}, {"pageToken": "x"}):
        status, body, _ = await call(http, server, "/users/me/messages", params)
        assert status == 400
        assert body["error"]["status"] == "INVALID_ARGUMENT"


async def test_get_full_multipart(http: aiohttp.ClientSession, server: GmailTestServer) -> None:
    message_id = server.add(
        Mail(
            sender="Åsa <asa@example.se>",
            subject="Räksmörgås & kaffe",
            text="Hej Alice,\nvi ses 'i morgon' <3",
            html="<p>Hej Alice,</p><p>vi ses <b>i morgon</b></p>",
            charset="iso-8859-1",
            attachments=(("meny.txt", "text/plain", b"kaffe"),),
        )
    )
    status, body, _ = await call(http, server, f"/users/me/messages/{message_id}")
    assert status == 200
    assert body["id"] == body["threadId"] == message_id
    assert body["labelIds"] == ["INBOX", "UNREAD"]
    assert body["snippet"] == "Hej Alice, vi ses &#39;i morgon&#39; &lt;3"
    assert body["internalDate"].isdigit()
    assert body["historyId"].isdigit()
    payload = body["payload"]
    assert payload["mimeType"] == "multipart/mixed"
    assert payload["partId"] == ""
    assert payload["body"] == {"size": 0}
    headers = {h["name"]: h["value"] for h in payload["headers"]}
    assert headers["From"] == "Åsa <asa@example.se>"
    assert headers["Subject"] == "Räksmörgås & kaffe"
    alternative, attachment = payload["parts"]
    assert alternative["partId"] == "0"
    plain, rich = alternative["parts"]
    assert (plain["partId"], plain["mimeType"], rich["mimeType"]) == (
        "0.0",
        "text/plain",
        "text/html",
    )
    assert b64(plain["body"]["data"]).decode("iso-8859-1").startswith("Hej Alice,\nvi ses")
    assert plain["body"]["size"] == len(b64(plain["body"]["data"]))
    assert "<b>i morgon</b>" in b64(rich["body"]["data"]).decode("iso-8859-1")
    assert attachment["filename"] == "meny.txt"
    assert "data" not in attachment["body"]
    assert attachment["body"]["attachmentId"].startswith("ANGjdJ")


async def test_get_other_formats(http: aiohttp.ClientSession, server: GmailTestServer) -> None:
    message_id = next(iter(server.messages))
    params = [("format", "metadata"), ("metadataHeaders", "subject"), ("metadataHeaders", "From")]
    _, metadata, _ = await call(http, server, f"/users/me/messages/{message_id}", params)
    assert [h["name"] for h in metadata["payload"]["headers"]] == ["From", "Subject"]
    assert "parts" not in metadata["payload"]
    _, minimal, _ = await call(
        http, server, f"/users/me/messages/{message_id}", {"format": "minimal"}
    )
    assert "payload" not in minimal
    assert minimal["snippet"]
    _, raw, _ = await call(http, server, f"/users/me/messages/{message_id}", {"format": "raw"})
    parsed = message_from_bytes(b64(raw["raw"]), policy=policy.default)
    assert parsed["Subject"] == "Faktura oktober"
    assert raw["sizeEstimate"] == len(b64(raw["raw"]))


async def test_html_only_mail(http: aiohttp.ClientSession, server: GmailTestServer) -> None:
    message_id = next(
        key for key, stored in server.messages.items() if stored.mail.subject.startswith("Utflykt")
    )
    _, body, _ = await call(http, server, f"/users/me/messages/{message_id}")
    assert body["payload"]["mimeType"] == "text/html"
    assert body["snippet"] == "Hej föräldrar, På fredag åker klass 3B till Skansen ."
    assert "<b>Skansen</b>" in b64(body["payload"]["body"]["data"]).decode()


@pytest.mark.parametrize(
    ("token", "status", "reason", "info"),
    [
        (None, 401, "required", "CREDENTIALS_MISSING"),
        ("ya29.wrong", 401, "authError", "ACCESS_TOKEN_TYPE_UNSUPPORTED"),
    ],
)
async def test_unauthenticated(
    http: aiohttp.ClientSession,
    server: GmailTestServer,
    token: str | None,
    status: int,
    reason: str,
    info: str,
) -> None:
    got, body, headers = await call(http, server, "/users/me/messages", token=token)
    assert got == status
    error = body["error"]
    assert error["code"] == 401
    assert error["status"] == "UNAUTHENTICATED"
    assert error["message"].startswith("Request ")
    assert error["errors"][0]["reason"] == reason
    assert error["errors"][0]["location"] == "Authorization"
    assert error["details"][0]["reason"] == info
    assert headers["WWW-Authenticate"].startswith('Bearer realm="https://accounts.google.com/"')
    assert server.requests[-1].token == token


async def test_compose_only_token_cannot_read(
    http: aiohttp.ClientSession, server: GmailTestServer
) -> None:
    server.tokens["ya29.compose"] = frozenset(GOOGLE_MAIL_SCOPES)
    status, body, headers = await call(http, server, "/users/me/messages", token="ya29.compose")
    assert status == 403
    assert body["error"]["status"] == "PERMISSION_DENIED"
    assert body["error"]["message"] == "Request had insufficient authentication scopes."
    assert body["error"]["errors"][0]["reason"] == "insufficientPermissions"
    assert body["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert 'error="insufficient_scope"' in headers["WWW-Authenticate"]
    # ... but it may read the profile, as google_mail's config flow does.
    status, profile, _ = await call(http, server, "/users/me/profile", token="ya29.compose")
    assert (status, profile["emailAddress"]) == (200, ACCOUNT)
    assert profile["messagesTotal"] == len(server.messages)


async def test_metadata_scope_limits(http: aiohttp.ClientSession, server: GmailTestServer) -> None:
    server.tokens["ya29.meta"] = frozenset({SCOPE_METADATA})
    message_id = next(iter(server.messages))
    status, body, _ = await call(http, server, "/users/me/messages", {"q": "x"}, "ya29.meta")
    assert (status, body["error"]["message"]) == (
        403,
        "Metadata scope does not support 'q' parameter",
    )
    status, body, _ = await call(
        http, server, f"/users/me/messages/{message_id}", None, "ya29.meta"
    )
    assert (status, body["error"]["message"]) == (403, "Metadata scope doesn't allow format FULL")
    status, _, _ = await call(
        http, server, f"/users/me/messages/{message_id}", {"format": "metadata"}, "ya29.meta"
    )
    assert status == 200


@pytest.mark.parametrize(
    ("path", "params", "status", "reason"),
    [
        ("/users/me/messages/18f3a2c4d5e6ffff", None, 404, "notFound"),
        ("/users/me/messages/not-an-id", None, 400, "invalidArgument"),
        ("/users/me/messages/18f3a2c4d5e60001", {"format": "html"}, 400, "invalid"),
        ("/users/bob@example.com/messages", None, 403, "forbidden"),
    ],
)
async def test_errors(
    http: aiohttp.ClientSession,
    server: GmailTestServer,
    path: str,
    params: dict[str, str] | None,
    status: int,
    reason: str,
) -> None:
    got, body, _ = await call(http, server, path, params)
    assert got == status
    assert body["error"]["code"] == status
    assert body["error"]["errors"][0]["reason"] == reason


async def test_account_address_as_user_id(
    http: aiohttp.ClientSession, server: GmailTestServer
) -> None:
    status, _, _ = await call(http, server, f"/users/{ACCOUNT}/messages")
    assert status == 200


async def test_faults_and_recording(http: aiohttp.ClientSession, server: GmailTestServer) -> None:
    server.faults.append(Fault())
    server.faults.append(Fault(429, "rateLimitExceeded", "Too many requests"))
    server.faults.append(Fault(0, delay=0.05))
    status, body, _ = await call(http, server, "/users/me/messages", {"q": "is:unread"})
    assert (status, body["error"]["status"]) == (503, "UNAVAILABLE")
    status, body, _ = await call(http, server, "/users/me/messages")
    assert (status, body["error"]["errors"][0]["reason"]) == (429, "rateLimitExceeded")
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, _, _ = await call(http, server, "/users/me/messages")
    assert status == 200
    assert loop.time() - started >= 0.05
    recorded = server.requests_to("/messages")
    assert len(recorded) == 3
    assert recorded[0].method == "GET"
    assert recorded[0].path == "/gmail/v1/users/me/messages"
    assert recorded[0].param("q") == "is:unread"
    assert recorded[0].param("maxResults") is None
    assert recorded[0].token == TOKEN


async def test_unknown_path_is_404(http: aiohttp.ClientSession, server: GmailTestServer) -> None:
    async with http.get(f"{server.base_url}/users/me/threads") as response:
        assert response.status == 404


async def test_standalone_port(socket_enabled: None) -> None:
    probe = GmailTestServer()
    await probe.start()
    port = probe.port
    await probe.stop()
    await probe.stop()  # idempotent
    async with GmailTestServer(port=port) as fixed:
        assert fixed.base_url == f"http://127.0.0.1:{port}/gmail/v1"


async def test_html_error_page_and_dropped_connection(
    http: aiohttp.ClientSession, server: GmailTestServer
) -> None:
    page = "<html><title>Error 502</title><p>502. That’s an error.</p></html>"
    server.faults.append(Fault(502, body=page))
    async with http.get(f"{server.base_url}/users/me/messages") as response:
        assert response.status == 502
        assert response.content_type == "text/html"
        assert await response.text() == page
    # aiohttp retries a GET once when the connection drops before an answer.
    server.faults.append(Fault(drop=True))
    status, _, _ = await call(http, server, "/users/me/messages")
    assert status == 200
    assert len(server.requests) == 3
    server.faults += [Fault(drop=True), Fault(drop=True)]
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, server, "/users/me/messages")
