"""A protocol-faithful Gmail REST API v1 server for tests and the dev instance.

It speaks the parts of ``https://gmail.googleapis.com/gmail/v1`` that reading
mail needs, as Google serves them::

    async with GmailTestServer() as server:
        server.add(Mail(sender="Anna <anna@example.com>", subject="Faktura", text="Hej!"))
        # GET {server.base_url}/users/me/messages?q=is:unread
        # Authorization: Bearer {server.token}

* ``GET users/{userId}/messages`` (``users.messages.list``): ``q`` with the
  common Gmail search operators (``is:``, ``from:``, ``to:``, ``cc:``,
  ``subject:``, ``in:``, ``label:``, ``has:attachment``, ``filename:``,
  ``newer_than:``/``older_than:``, ``after:``/``before:``, quoted phrases,
  ``-`` negation, ``OR``), repeated ``labelIds`` (all must match),
  ``maxResults`` (default 100, at most 500), ``pageToken``,
  ``includeSpamTrash``. Newest first; only ``id`` and ``threadId`` per
  message; no ``messages`` key at all when nothing matches.
* ``GET users/{userId}/messages/{id}`` (``users.messages.get``) with
  ``format`` ``full`` (the default: the MIME tree as ``payload`` with
  ``partId``s, headers and base64url ``body.data``; attachments carry an
  ``attachmentId`` instead of data), ``metadata`` (top-level headers, filtered
  by repeated ``metadataHeaders``), ``minimal`` and ``raw``. Messages are real
  MIME messages built with :mod:`email`, so multipart, charsets and transfer
  encodings come out as Gmail presents them; snippets are HTML-escaped.
* ``GET users/{userId}/profile``.
* Google's JSON errors (``{"error": {"code", "message", "errors": [...],
  "status", "details"}}``) with ``WWW-Authenticate``: 401 without or with an
  unknown bearer token, 403 when the token's scopes cannot read
  (``ACCESS_TOKEN_SCOPE_INSUFFICIENT``, as for google_mail's compose-only token)
  or for another user, 400 for a malformed id or parameter, 404 for an unknown
  id. Faults (:class:`Fault`: any status, e.g. 429 or 503, an HTML error
  page, a dropped connection, delays) are queued per request.

Every request is recorded (:class:`RecordedRequest`).

Run standalone: ``python -m simulators.gmail --port 8089 [--demo]``.
"""

import argparse
import asyncio
import base64
from collections.abc import Iterable
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.utils import format_datetime
import html
import itertools
import re
from typing import Any, Final, Self

from aiohttp import web

type Json = dict[str, Any]

ACCOUNT: Final = "alice@example.com"
TOKEN: Final = "ya29.alice-test-token"  # noqa: S105 - a test server's own token
SCOPE_FULL: Final = "https://mail.google.com/"
SCOPE_MODIFY: Final = "https://www.googleapis.com/auth/gmail.modify"
SCOPE_READONLY: Final = "https://www.googleapis.com/auth/gmail.readonly"
SCOPE_METADATA: Final = "https://www.googleapis.com/auth/gmail.metadata"
SCOPE_COMPOSE: Final = "https://www.googleapis.com/auth/gmail.compose"
SCOPE_SETTINGS_BASIC: Final = "https://www.googleapis.com/auth/gmail.settings.basic"
#: What Home Assistant's google_mail integration asks for: it may send, not read.
GOOGLE_MAIL_SCOPES: Final = (SCOPE_COMPOSE, SCOPE_SETTINGS_BASIC)
READ_SCOPES: Final = frozenset({SCOPE_FULL, SCOPE_MODIFY, SCOPE_READONLY, SCOPE_METADATA})
BODY_SCOPES: Final = READ_SCOPES - {SCOPE_METADATA}
FORMATS: Final = ("full", "metadata", "minimal", "raw")
DEFAULT_MAX_RESULTS: Final = 100
MAX_MAX_RESULTS: Final = 500
SNIPPET_CHARS: Final = 200
_REALM: Final = 'Bearer realm="https://accounts.google.com/"'
_STATUS_TEXT: Final = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_ID = re.compile(r"[0-9a-f]{1,16}")


@dataclass(slots=True)
class Mail:
    """A message in the mailbox, before it becomes MIME.

    ``text`` and ``html`` are the bodies (both: ``multipart/alternative``);
    ``attachments`` are ``(filename, mime type, data)``. ``labels`` are Gmail
    label ids: ``INBOX``, ``UNREAD``, ``STARRED``, ``IMPORTANT``, ``SENT``,
    ``SPAM``, ``TRASH`` or user labels.
    """

    sender: str
    subject: str
    text: str | None = None
    html: str | None = None
    to: str = ACCOUNT
    cc: str | None = None
    date: datetime = field(default_factory=lambda: datetime.now(UTC))
    labels: tuple[str, ...] = ("INBOX", "UNREAD")
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    charset: str = "utf-8"

    def to_mime(self) -> EmailMessage:
        """The message as a mail server would store it."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.to
        if self.cc:
            message["Cc"] = self.cc
        message["Subject"] = self.subject
        message["Date"] = format_datetime(self.date)
        message["Message-ID"] = f"<{id(self):x}@mail.example.com>"
        if self.text is not None or self.html is None:
            message.set_content(self.text or "", charset=self.charset)
            if self.html is not None:
                message.add_alternative(self.html, subtype="html", charset=self.charset)
        else:
            message.set_content(self.html, subtype="html", charset=self.charset)
        for filename, mime_type, data in self.attachments:
            maintype, _, subtype = mime_type.partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return message


@dataclass(slots=True)
class Fault:
    """The answer to one request instead of the real one (queued in ``server.faults``)."""

    status: int = 503
    reason: str = "backendError"
    message: str = "The service is currently unavailable."
    delay: float = 0.0  # seconds before answering (or before the real answer when status=0)
    body: str | None = None  # an HTML page instead of Google's JSON, as Google's front end sends
    drop: bool = False  # close the connection without answering


@dataclass(slots=True, frozen=True)
class RecordedRequest:
    """One request as received."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    token: str | None

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((value for key, value in self.query if key == name), None)


@dataclass(slots=True)
class _Stored:
    """A message as the server keeps it."""

    id: str
    mail: Mail
    mime: EmailMessage
    raw: bytes
    history_id: int

    @property
    def labels(self) -> list[str]:
        return list(self.mail.labels)

    @property
    def internal_date(self) -> int:
        return int(self.mail.date.timestamp() * 1000)


class GmailTestServer:
    """An aiohttp Gmail API v1 server on 127.0.0.1 for one account."""

    def __init__(
        self,
        *,
        account: str = ACCOUNT,
        token: str = TOKEN,
        scopes: Iterable[str] = (SCOPE_READONLY,),
        mails: Iterable[Mail] = (),
        port: int = 0,
    ) -> None:
        """Configure the server; call :meth:`start` to listen."""
        self.account = account
        self.token = token
        self.tokens: dict[str, frozenset[str]] = {token: frozenset(scopes)}  # token -> scopes
        self.messages: dict[str, _Stored] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._ids = itertools.count(0x18F3A2C4D5E60001)
        self._port = port
        self._runner: web.AppRunner | None = None
        for mail in mails:
            self.add(mail)

    # --- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port unless one was given)."""
        app = web.Application()
        app.router.add_get("/gmail/v1/users/{user}/messages", self._list)
        app.router.add_get("/gmail/v1/users/{user}/messages/{id}", self._get)
        app.router.add_get("/gmail/v1/users/{user}/profile", self._profile)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start on entry."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop on exit."""
        await self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._runner is not None, "server not started"
        return int(self._runner.addresses[0][1])

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:12345/gmail/v1``."""
        return f"http://127.0.0.1:{self.port}/gmail/v1"

    # --- the mailbox -------------------------------------------------------------
    def add(self, mail: Mail) -> str:
        """Deliver ``mail``; return its message id."""
        message_id = f"{next(self._ids):016x}"
        mime = mail.to_mime()
        raw = mime.as_bytes()
        self.messages[message_id] = _Stored(message_id, mail, mime, raw, len(self.messages) + 1)
        return message_id

    def requests_to(self, suffix: str) -> list[RecordedRequest]:
        """Recorded requests whose path ends with ``suffix``."""
        return [r for r in self.requests if r.path.endswith(suffix)]

    # --- handlers ----------------------------------------------------------------
    async def _list(self, request: web.Request) -> web.Response:
        if (denied := await self._check(request, "ListMessages")) is not None:
            return denied
        query = request.query
        scopes = self.tokens[_bearer(request) or ""]
        if "q" in query and not scopes & BODY_SCOPES:
            return _error(403, "Metadata scope does not support 'q' parameter", "forbidden")
        max_results = query.get("maxResults", str(DEFAULT_MAX_RESULTS))
        if not max_results.isdigit():
            return _error(400, f"Invalid value at 'max_results' (TYPE_UINT32), \"{max_results}\"")
        if not (page_token := query.get("pageToken", "0")).isdigit():
            return _error(400, "Invalid pageToken", "invalidArgument")
        limit, offset = min(int(max_results), MAX_MAX_RESULTS), int(page_token)
        terms = _parse_query(query.get("q", ""))
        spam_trash = query.get("includeSpamTrash", "false").lower() == "true" or any(
            term.operator == "in" and term.value in {"spam", "trash", "anywhere"}
            for clause in terms
            for term in clause
        )
        label_ids = query.getall("labelIds", [])
        found = [
            stored
            for stored in sorted(
                self.messages.values(), key=lambda s: s.internal_date, reverse=True
            )
            if (spam_trash or not {"SPAM", "TRASH"} & set(stored.labels))
            and all(label in stored.labels for label in label_ids)
            and all(any(term.matches(stored) for term in clause) for clause in terms)
        ]
        body: Json = {}
        if page := found[offset : offset + limit]:
            body["messages"] = [{"id": s.id, "threadId": s.id} for s in page]
        if offset + limit < len(found):
            body["nextPageToken"] = str(offset + limit)
        body["resultSizeEstimate"] = len(found)
        return web.json_response(body)

    async def _get(self, request: web.Request) -> web.Response:
        if (denied := await self._check(request, "GetMessage")) is not None:
            return denied
        message_id = request.match_info["id"]
        fmt = request.query.get("format", "full")
        if fmt not in FORMATS:
            return _error(
                400,
                "Invalid value at 'format' (type.googleapis.com/google.apps.gmail.v1."
                f'GetMessageRequest.Format), "{fmt}"',
            )
        scopes = self.tokens[_bearer(request) or ""]
        if fmt in {"full", "raw"} and not scopes & BODY_SCOPES:
            return _error(403, f"Metadata scope doesn't allow format {fmt.upper()}", "forbidden")
        if not _ID.fullmatch(message_id):
            return _error(400, "Invalid id value", "invalidArgument")
        if (stored := self.messages.get(message_id)) is None:
            return _error(404, "Requested entity was not found.", "notFound")
        snippet = _snippet(stored.mime)
        body: Json = {"id": stored.id, "threadId": stored.id, "labelIds": stored.labels}
        body |= {"snippet": snippet, "sizeEstimate": len(stored.raw)}
        body |= {"historyId": str(stored.history_id), "internalDate": str(stored.internal_date)}
        if fmt == "full":
            body["payload"] = _payload(stored.mime, "")
        elif fmt == "metadata":
            wanted = {name.lower() for name in request.query.getall("metadataHeaders", [])}
            headers = [
                h for h in _headers(stored.mime) if not wanted or h["name"].lower() in wanted
            ]
            body["payload"] = {"mimeType": stored.mime.get_content_type(), "headers": headers}
        elif fmt == "raw":
            body["raw"] = base64.urlsafe_b64encode(stored.raw).decode()
        return web.json_response(body)

    async def _profile(self, request: web.Request) -> web.Response:
        if (denied := await self._check(request, "GetProfile", scopes=None)) is not None:
            return denied
        return web.json_response(
            {
                "emailAddress": self.account,
                "messagesTotal": len(self.messages),
                "threadsTotal": len(self.messages),
                "historyId": str(len(self.messages) + 1),
            }
        )

    async def _check(
        self, request: web.Request, method: str, scopes: frozenset[str] | None = READ_SCOPES
    ) -> web.Response | None:
        """Record the request, then answer a fault, a bad token or a wrong user."""
        token = _bearer(request)
        self.requests.append(
            RecordedRequest(request.method, request.path, tuple(request.query.items()), token)
        )
        if self.faults:
            fault = self.faults.pop(0)
            await asyncio.sleep(fault.delay)
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                raise asyncio.CancelledError
            if fault.body is not None:
                return web.Response(status=fault.status, text=fault.body, content_type="text/html")
            if fault.status:
                return _error(fault.status, fault.message, fault.reason)
        if token is None:
            return _unauthenticated(
                "Request is missing required authentication credential.",
                "Login Required.",
                "required",
                "CREDENTIALS_MISSING",
            )
        if token not in self.tokens:
            return _unauthenticated(
                "Request had invalid authentication credentials.",
                "Invalid Credentials",
                "authError",
                "ACCESS_TOKEN_TYPE_UNSUPPORTED",
            )
        if scopes is not None and not self.tokens[token] & scopes:
            return _error(
                403,
                "Request had insufficient authentication scopes.",
                "insufficientPermissions",
                item_message="Insufficient Permission",
                details=[_error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", method)],
                headers={
                    "WWW-Authenticate": f'{_REALM}, error="insufficient_scope", '
                    f'scope="{" ".join(sorted(scopes))}"'
                },
            )
        if request.match_info["user"] not in {"me", self.account}:
            return _error(403, f"Delegation denied for {self.account}", "forbidden")
        return None


# --- Google's error shape ----------------------------------------------------------
def _error_info(reason: str, method: str | None = None) -> Json:
    info: Json = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
    }
    if method:
        info["metadata"] = {
            "method": f"caribou.api.proto.MailboxService.{method}",
            "service": "gmail.googleapis.com",
        }
    return info


def _error(
    status: int,
    message: str,
    reason: str = "invalid",
    *,
    item_message: str | None = None,
    details: list[Json] | None = None,
    headers: dict[str, str] | None = None,
    location: bool = False,
) -> web.Response:
    """A Google API error: ``{"error": {"code", "message", "errors", "status"[, "details"]}}``."""
    item: Json = {"message": item_message or message, "domain": "global", "reason": reason}
    if location:
        item |= {"location": "Authorization", "locationType": "header"}
    error: Json = {
        "code": status,
        "message": message,
        "errors": [item],
        "status": _STATUS_TEXT.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return web.json_response({"error": error}, status=status, headers=headers)


def _unauthenticated(message: str, item_message: str, reason: str, info: str) -> web.Response:
    return _error(
        401,
        f"{message} Expected OAuth 2 access token, login cookie or other valid authentication"
        " credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        reason,
        item_message=item_message,
        details=[_error_info(info)],
        headers={"WWW-Authenticate": f'{_REALM}, error="invalid_token"'},
        location=True,
    )


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


# --- messages as Gmail presents them ------------------------------------------------
def _headers(part: Message) -> list[Json]:
    return [{"name": name, "value": str(value)} for name, value in part.items()]


def _payload(part: Message, part_id: str) -> Json:
    """A MIME part as a Gmail ``MessagePart``."""
    payload: Json = {
        "partId": part_id,
        "mimeType": part.get_content_type(),
        "filename": part.get_filename() or "",
        "headers": _headers(part),
    }
    if part.is_multipart():
        payload["body"] = {"size": 0}
        children = part.get_payload()
        assert isinstance(children, list)
        prefix = f"{part_id}." if part_id else ""
        payload["parts"] = [_payload(child, f"{prefix}{i}") for i, child in enumerate(children)]
        return payload
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    if payload["filename"]:
        attachment_id = base64.urlsafe_b64encode(f"{part_id}:{len(data)}".encode()).decode()
        payload["body"] = {"attachmentId": f"ANGjdJ{attachment_id}", "size": len(data)}
    else:
        payload["body"] = {"size": len(data), "data": base64.urlsafe_b64encode(data).decode()}
    return payload


def _text_of(message: EmailMessage) -> str:
    """The readable text of a message: its plain part, else its HTML without tags."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    assert isinstance(content, str)
    if part.get_content_subtype() == "html":
        content = html.unescape(re.sub(r"(?is)<(script|style)\b.*?</\1>|<[^>]+>", " ", content))
    return " ".join(content.split())


def _snippet(message: EmailMessage) -> str:
    """Gmail's snippet: the start of the text, HTML-escaped."""
    text = _text_of(message)[:SNIPPET_CHARS]
    return html.escape(text).replace("&#x27;", "&#39;")


# --- search ----------------------------------------------------------------------
_TOKEN = re.compile(r'(-?)(?:([a-z_]+):)?("[^"]*"|\S+)', re.IGNORECASE)
_AGE = {"d": 1, "m": 30, "y": 365}


@dataclass(slots=True, frozen=True)
class _Term:
    """One search term: ``[-][operator:]value``."""

    operator: str
    value: str
    negated: bool

    def matches(self, stored: _Stored) -> bool:
        return self._matches(stored) != self.negated

    def _matches(self, stored: _Stored) -> bool:
        mail, value = stored.mail, self.value
        labels = {label.lower() for label in stored.labels}
        match self.operator:
            case "from":
                return value in mail.sender.lower()
            case "to":
                return value in f"{mail.to} {mail.cc or ''}".lower()
            case "cc":
                return value in (mail.cc or "").lower()
            case "subject":
                return value in mail.subject.lower()
            case "is":
                if value == "read":
                    return "unread" not in labels
                return value in labels
            case "in":
                return value == "anywhere" or value in labels
            case "label":
                return value.replace(" ", "-") in {label.replace(" ", "-") for label in labels}
            case "has":
                return value == "attachment" and bool(mail.attachments)
            case "filename":
                return any(value in name.lower() for name, _, _ in mail.attachments)
            case "newer_than" | "older_than" if (age := _age(value)) is not None:
                newer = mail.date >= datetime.now(UTC) - age
                return newer if self.operator == "newer_than" else not newer
            case "after" | "before" if (moment := _moment(value)) is not None:
                return mail.date >= moment if self.operator == "after" else mail.date < moment
        text = f"{mail.sender} {mail.to} {mail.cc or ''} {mail.subject} {_text_of(stored.mime)}"
        words = " ".join(name for name, _, _ in mail.attachments)
        needle = f"{self.operator}:{value}" if self.operator else value
        return needle in f"{text} {words}".lower()


def _parse_query(query: str) -> list[list[_Term]]:
    """Gmail search text as clauses (all must hold) of alternatives (``OR``)."""
    clauses: list[list[_Term]] = []
    join_next = False
    for negated, operator, value in _TOKEN.findall(query):
        if not negated and not operator and value == "OR":
            join_next = bool(clauses)
            continue
        term = _Term(operator.lower(), value.strip('"()').lower(), bool(negated))
        if join_next:
            clauses[-1].append(term)
        else:
            clauses.append([term])
        join_next = False
    return clauses


def _age(value: str) -> timedelta | None:
    if (match := re.fullmatch(r"(\d+)([dmy])", value)) is None:
        return None
    return timedelta(days=int(match.group(1)) * _AGE[match.group(2)])


def _moment(value: str) -> datetime | None:
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    with contextlib.suppress(ValueError):
        return datetime.strptime(value.replace("-", "/"), "%Y/%m/%d").replace(tzinfo=UTC)
    return None


# --- standalone ------------------------------------------------------------------
def demo_mails() -> list[Mail]:
    """A small Swedish inbox for the dev instance."""
    now = datetime.now(UTC)
    return [
        Mail(
            sender="Anna Svensson <anna@example.com>",
            subject="Faktura oktober",
            text="Hej!\n\nHär kommer fakturan för oktober. Betala senast den 31:a.\n\n/Anna",
            date=now - timedelta(hours=2),
            attachments=(("faktura.pdf", "application/pdf", b"%PDF-1.4 demo"),),
        ),
        Mail(
            sender="Skolan <info@skolan.example.se>",
            subject="Utflykt på fredag",
            html="<p>Hej föräldrar,</p><p>På fredag åker klass 3B till <b>Skansen</b>.</p>",
            date=now - timedelta(hours=5),
        ),
        Mail(
            sender="Bo <bo@example.com>",
            subject="Lunch?",
            text="Ska vi äta lunch på torsdag?",
            date=now - timedelta(days=2),
            labels=("INBOX",),
        ),
    ]


async def _serve(port: int, token: str, demo: bool) -> None:
    server = GmailTestServer(port=port, token=token, mails=demo_mails() if demo else ())
    await server.start()
    print(f"Simulated Gmail API at {server.base_url} (token {token})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the server until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--token", default=TOKEN, help="the bearer token to accept")
    parser.add_argument("--demo", action="store_true", help="start with a small Swedish inbox")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token, args.demo))


if __name__ == "__main__":
    main()
