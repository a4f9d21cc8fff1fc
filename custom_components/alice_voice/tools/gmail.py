"""Reading mail over the Gmail REST API v1 with the google_mail integration's OAuth token.

Home Assistant's ``google_mail`` integration can send mail and save drafts
(its ``notify`` service) but has no way to read. This module reads with the
integration's own token (``entry.runtime_data.check_and_refresh_token()``)
over Home Assistant's shared aiohttp session: ``users.messages.list`` with a
Gmail search, then ``users.messages.get`` (``format=full``) for each hit, and
turns every message into sender, subject, date, snippet and a short plain-text
excerpt of its body.

The API root defaults to :data:`GMAIL_API_URL`; a test (or the dev instance,
against ``simulators/gmail.py``) points it elsewhere with
``hass.data[DATA_GMAIL_API_URL] = "http://127.0.0.1:<port>/gmail/v1"``.

Reading needs a read scope. google_mail asks Google only for ``gmail.compose``
and ``gmail.settings.basic``; with that token Gmail answers 403
``ACCESS_TOKEN_SCOPE_INSUFFICIENT``, and signing in again does not help, so
:func:`can_read` lets the tools tell beforehand from the scopes stored with the
token.
"""

import asyncio
import base64
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import parseaddr, parsedate_to_datetime
import html
from html.parser import HTMLParser
import re
from typing import Any, Final, Protocol, override
from urllib.parse import quote

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, OAuth2TokenRequestReauthError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN, LOGGER
from . import ToolError

#: Gmail's API root; tests put another one in ``hass.data[DATA_GMAIL_API_URL]``.
GMAIL_API_URL: Final = "https://gmail.googleapis.com/gmail/v1"
DATA_GMAIL_API_URL: HassKey[str] = HassKey(f"{DOMAIN}_gmail_api_url")
#: Scopes that may search and read message bodies (``gmail.metadata`` may not search).
READ_SCOPES: Final = frozenset(
    {
        "https://mail.google.com/",
        "https://www.googleapis.com/auth/gmail.modify",
        "https://www.googleapis.com/auth/gmail.readonly",
    }
)
REQUEST_TIMEOUT: Final = 15.0  # seconds for the whole search, every message included
EXCERPT_CHARS: Final = 500
_SCOPE_REASONS: Final = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
_RATE_REASONS: Final = {"rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded"}
_CHARSET = re.compile(r'charset="?([^";\s]+)', re.IGNORECASE)
_BLOCK_TAGS: Final = frozenset(
    {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"}
)


class GoogleMailAuth(Protocol):
    """What google_mail keeps in ``entry.runtime_data`` (its ``AsyncConfigEntryAuth``)."""

    async def check_and_refresh_token(self) -> str:
        """A valid access token, refreshed when needed."""


@dataclass(slots=True, frozen=True, kw_only=True)
class MailMessage:
    """One message, ready for a model to read."""

    sender: str  # "Anna Svensson <anna@example.com>"
    name: str  # "Anna Svensson" (the address when the sender has no name)
    subject: str
    date: str  # ISO 8601 in Home Assistant's time zone, to the minute
    snippet: str
    excerpt: str  # plain text, at most EXCERPT_CHARS
    unread: bool

    def as_dict(self) -> dict[str, Any]:
        """The message in a tool result."""
        return {
            "from": self.sender,
            "subject": self.subject,
            "date": self.date,
            "unread": self.unread,
            "snippet": self.snippet,
            "excerpt": self.excerpt,
        }


def account_of(entry: ConfigEntry) -> str:
    """The e-mail address of a google_mail entry (its unique id, else its title)."""
    return (entry.unique_id or entry.title).lower()


def can_read(entry: ConfigEntry) -> bool:
    """Whether the entry's token may read mail (True when its scopes are not stored)."""
    token = entry.data.get("token")
    scope = token.get("scope") if isinstance(token, dict) else None
    if not isinstance(scope, str):
        return True
    return bool(READ_SCOPES & set(scope.split()))


async def async_search(
    hass: HomeAssistant, entry: ConfigEntry, query: str, max_results: int
) -> list[MailMessage]:
    """The newest ``max_results`` messages matching the Gmail search ``query``.

    Raises:
        ToolError: ``mail_auth_failed`` (a reauth flow is started),
            ``mail_read_not_allowed`` (the token may not read) or
            ``mail_unavailable`` (network, timeout, rate limit, server error).
    """
    account = account_of(entry)
    base = hass.data.get(DATA_GMAIL_API_URL, GMAIL_API_URL).rstrip("/")
    session = async_get_clientsession(hass)
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            auth: GoogleMailAuth = entry.runtime_data
            headers = {"Authorization": f"Bearer {await auth.check_and_refresh_token()}"}
            listing = await _async_get(
                session,
                f"{base}/users/me/messages",
                headers,
                {"q": query, "maxResults": str(max_results)},
            )
            ids = [
                str(item["id"])
                for item in listing.get("messages") or []
                if isinstance(item, dict) and "id" in item
            ][:max_results]
            fetched = await asyncio.gather(
                *(
                    _async_get(
                        session,
                        f"{base}/users/me/messages/{quote(id_, safe='')}",
                        headers,
                        {"format": "full"},
                    )
                    for id_ in ids
                ),
                return_exceptions=True,
            )
            messages: list[MailMessage] = []
            for item in fetched:
                if isinstance(item, _GmailError) and item.status == 404:
                    continue  # deleted between the list and the get
                if isinstance(item, BaseException):
                    raise item
                messages.append(parse_message(item))
    except OAuth2TokenRequestReauthError as err:
        # google_mail has started the reauth flow itself.
        raise ToolError("mail_auth_failed", {"account": account}) from err
    except _GmailError as err:
        raise _tool_error(hass, entry, err) from err
    except TimeoutError as err:
        raise ToolError("mail_unavailable", {"details": "timeout"}) from err
    except (aiohttp.ClientError, HomeAssistantError) as err:
        LOGGER.debug("Reading mail for %s failed: %s", account, err)
        raise ToolError("mail_unavailable", {"details": type(err).__name__}) from err
    return messages


class _GmailError(Exception):
    """Gmail answered with an error status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}" if reason else str(status))
        self.status = status
        self.reason = reason


async def _async_get(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], params: dict[str, str]
) -> dict[str, Any]:
    async with session.get(url, headers=headers, params=params) as response:
        if response.status >= 400:
            raise _GmailError(response.status, await _error_reason(response))
        data = await response.json()
    if not isinstance(data, dict):
        raise _GmailError(response.status, "not a JSON object")
    return data


async def _error_reason(response: aiohttp.ClientResponse) -> str:
    """The most specific reason in Google's error body (``ErrorInfo`` first)."""
    try:
        error = (await response.json(content_type=None))["error"]
    except ValueError, KeyError, TypeError, aiohttp.ClientError:
        return ""
    reasons = [d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)]
    reasons += [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
    return next((str(reason) for reason in reasons if reason), "")


def _tool_error(hass: HomeAssistant, entry: ConfigEntry, err: _GmailError) -> ToolError:
    """The ToolError for a Gmail error status; starts a reauth when signing in again helps."""
    account = account_of(entry)
    if err.status == 403 and err.reason in _SCOPE_REASONS:
        return ToolError("mail_read_not_allowed", {"account": account})
    if err.status == 401 or (err.status == 403 and err.reason not in _RATE_REASONS):
        LOGGER.info("Gmail rejected the token of %s (%s); asking to sign in again", account, err)
        entry.async_start_reauth(hass)
        return ToolError("mail_auth_failed", {"account": account})
    return ToolError("mail_unavailable", {"details": str(err)})


# --- messages --------------------------------------------------------------------------
def parse_message(data: dict[str, Any]) -> MailMessage:
    """A Gmail ``Message`` resource (``format=full``) as a :class:`MailMessage`."""
    payload: dict[str, Any] = data.get("payload") or {}
    headers = {
        str(h.get("name", "")).lower(): _decode_header(str(h.get("value", "")))
        for h in payload.get("headers") or []
    }
    sender = headers.get("from", "")
    name, address = parseaddr(sender)
    return MailMessage(
        sender=sender,
        name=name or address or sender,
        subject=headers.get("subject", ""),
        date=_date(headers.get("date"), data.get("internalDate")),
        snippet=" ".join(html.unescape(str(data.get("snippet", ""))).split()),  # HTML-escaped
        excerpt=_shorten(_clean(_body_text(payload)), EXCERPT_CHARS),
        unread="UNREAD" in (data.get("labelIds") or []),
    )


def _decode_header(value: str) -> str:
    """A header value with RFC 2047 encoded words decoded."""
    try:
        return str(make_header(decode_header(value)))
    except LookupError, ValueError, UnicodeDecodeError:
        return value


def _date(header: str | None, internal_date: Any) -> str:
    when = None
    if header:
        try:
            when = parsedate_to_datetime(header)
        except TypeError, ValueError:
            when = None
    if when is None or when.tzinfo is None:
        try:
            when = dt_util.utc_from_timestamp(int(internal_date) / 1000)
        except TypeError, ValueError:
            return header or ""
    return dt_util.as_local(when).isoformat(timespec="minutes")


def _body_text(payload: dict[str, Any]) -> str:
    """The message's plain text: its first text/plain part, else its HTML without tags."""
    parts = list(_leaves(payload))
    for wanted in ("text/plain", "text/html"):
        for part in parts:
            if part.get("mimeType") == wanted and not part.get("filename"):
                text = _part_text(part)
                return _strip_html(text) if wanted == "text/html" else text
    return ""


def _leaves(part: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if children := part.get("parts"):
        for child in children:
            yield from _leaves(child)
    else:
        yield part


def _part_text(part: dict[str, Any]) -> str:
    data = str((part.get("body") or {}).get("data", ""))
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except ValueError:  # binascii.Error
        return ""
    content_type = next(
        (
            str(h.get("value", ""))
            for h in part.get("headers") or []
            if str(h.get("name", "")).lower() == "content-type"
        ),
        "",
    )
    charset = match.group(1) if (match := _CHARSET.search(content_type)) else "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


class _TextExtractor(HTMLParser):
    """The text of an HTML body: no scripts or styles, a line break per block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    @override
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head", "title"}:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    @override
    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head", "title"}:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    @override
    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def _strip_html(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.chunks)


def _clean(text: str) -> str:
    """One line of text: quoted reply lines dropped, whitespace collapsed."""
    lines = (line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return " ".join(" ".join(lines).split())


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return f"{cut.rstrip(' ,.;:')}…"
