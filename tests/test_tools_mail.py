"""The mail tools: reading against the Gmail simulator, sending through google_mail's notify.

Home Assistant's google_mail integration cannot be set up here (OAuth against
Google, google-api-python-client): its entry is a loaded ``MockConfigEntry``
whose ``runtime_data`` stands in for ``AsyncConfigEntryAuth`` (only
``check_and_refresh_token``), its notify service is a recorded mock service,
and a minimal config flow takes its reauth flows.
"""

import base64
from collections.abc import AsyncIterator, Iterator
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from aiohttp import RequestInfo
from homeassistant.components import conversation
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
)
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError, OAuth2TokenRequestReauthError
from homeassistant.helpers import llm
from homeassistant.util import dt as dt_util
import probatio
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    async_mock_service,
    mock_config_flow,
    mock_integration,
    mock_platform,
)
from yarl import URL

from custom_components.alice_voice.const import (
    CONF_LANGUAGE,
    DEFAULT_CONVERSATION_OPTIONS,
    SUBENTRY_CONVERSATION,
)
from custom_components.alice_voice.models import CURRENT_TURN, AgentConfig, Turn
from custom_components.alice_voice.tools.gmail import parse_message
from custom_components.alice_voice.tools.mail import (
    DATA_GMAIL_API_URL,
    MailSearchTool,
    async_get_mail_tools,
)
from simulators.gmail import GOOGLE_MAIL_SCOPES, SCOPE_READONLY, TOKEN, Fault, GmailTestServer, Mail
from simulators.ollama import ChatRequest, OllamaTestServer, ScriptedReply

from .common import AGENT_ID, async_setup, converse, speech

ACCOUNT = "alice@example.com"
WORK = "alice.work@example.com"
NOTIFY = "alice_example_com"
SEARCH = "alice_voice__mail_search"
SEND = "alice_voice__mail_send"
DRAFT = "alice_voice__mail_draft"
NOW = datetime.now(UTC)
ANNA_BODY = "Hej Alice!\n\nHär kommer fakturan för oktober. Betala senast den 31:a.\n\n/Anna"
LONG_BODY = " ".join(["Lorem ipsum dolor sit amet."] * 60)


class StandInAuth:
    """Stands in for google_mail's ``AsyncConfigEntryAuth``: hands out a token."""

    def __init__(self, token: str = TOKEN, error: Exception | None = None) -> None:
        self.token = token
        self.error = error

    async def check_and_refresh_token(self) -> str:
        if self.error is not None:
            raise self.error
        return self.token


class StandInGoogleMailFlow(ConfigFlow):
    """Stands in for google_mail's config flow: a reauth waits for the user."""

    VERSION = 1

    async def async_step_reauth(self, entry_data: Any) -> ConfigFlowResult:
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        return self.async_show_form(step_id="reauth_confirm")


def inbox() -> list[Mail]:
    return [
        Mail(
            sender="Anna Svensson <anna@example.com>",
            subject="Faktura oktober",
            text=ANNA_BODY,
            date=NOW - timedelta(hours=1),
            attachments=(("faktura.pdf", "application/pdf", b"%PDF"),),
        ),
        Mail(
            sender="Skolan <info@skolan.example.se>",
            subject="Utflykt på fredag",
            html="<html><head><style>p {color: red}</style></head><body><p>Hej föräldrar,</p>"
            "<p>På fredag åker 3B till <b>Skansen</b> &amp; Gröna Lund.</p></body></html>",
            date=NOW - timedelta(hours=3),
        ),
        Mail(
            sender="bo@example.com",
            subject="Lunch?",
            text="Ska vi äta lunch på torsdag?\n\n> Tidigare: kanske fredag?",
            date=NOW - timedelta(days=1),
        ),
        Mail(
            sender="Nyhetsbrev <news@example.org>",
            subject="Veckans nyheter",
            text=LONG_BODY,
            date=NOW - timedelta(days=2),
            labels=("INBOX",),
        ),
    ]


@pytest.fixture
async def gmail(socket_enabled: None) -> AsyncIterator[GmailTestServer]:
    """The Gmail API on 127.0.0.1 with a small inbox."""
    async with GmailTestServer(account=ACCOUNT, mails=inbox()) as server:
        yield server


async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    return True


@pytest.fixture(autouse=True)
def google_mail_integration(hass: HomeAssistant) -> Iterator[None]:
    """google_mail as a bare integration whose config flow takes reauth flows."""
    mock_integration(hass, MockModule("google_mail", async_unload_entry=unload_entry))
    mock_platform(hass, "google_mail.config_flow", None)
    with mock_config_flow("google_mail", StandInGoogleMailFlow):
        yield


def add_google_mail(
    hass: HomeAssistant,
    account: str = ACCOUNT,
    *,
    scopes: tuple[str, ...] | None = (SCOPE_READONLY,),
    auth: StandInAuth | None = None,
    title: str | None = None,
    with_unique_id: bool = True,
    state: ConfigEntryState = ConfigEntryState.LOADED,
) -> MockConfigEntry:
    """A google_mail entry as its integration leaves it once set up."""
    token: dict[str, Any] = {"access_token": TOKEN, "token_type": "Bearer"}
    if scopes is not None:
        token["scope"] = " ".join(scopes)
    entry = MockConfigEntry(
        domain="google_mail",
        title=title or account,
        unique_id=account if with_unique_id else None,
        data={"auth_implementation": "google_mail", "token": token},
    )
    entry.add_to_hass(hass)
    entry.mock_state(hass, state)
    entry.runtime_data = auth or StandInAuth()
    return entry


@pytest.fixture
def google_mail(hass: HomeAssistant, gmail: GmailTestServer) -> MockConfigEntry:
    """A loaded google_mail entry that may read, with Gmail on the simulator."""
    hass.data[DATA_GMAIL_API_URL] = gmail.base_url
    return add_google_mail(hass)


@pytest.fixture
def notify_calls(hass: HomeAssistant) -> list[ServiceCall]:
    """google_mail's notify service for alice@example.com."""
    calls: list[ServiceCall] = async_mock_service(hass, "notify", NOTIFY)
    return calls


def context(language: str = "en") -> llm.LLMContext:
    return llm.LLMContext(
        platform="test",
        context=Context(),
        language=language,
        assistant=conversation.DOMAIN,
        device_id=None,
    )


def tools_by_name(hass: HomeAssistant) -> dict[str, llm.Tool]:
    return {tool.name: tool for tool in async_get_mail_tools(hass, context())}


@dataclass(slots=True, frozen=True)
class Reply:
    """A tool's result, typed for the assertions."""

    error: bool
    data: dict[str, Any]


async def run(
    hass: HomeAssistant, tool: llm.Tool, args: dict[str, Any], llm_context: llm.LLMContext
) -> Reply:
    """Call ``tool`` as an LLM API does."""
    result = await tool.async_call(
        hass, llm.ToolInput(tool_name=tool.name, tool_args=args), llm_context
    )
    assert isinstance(result, llm.ToolResult)
    return Reply(result.error, dict(result.data))


async def call(hass: HomeAssistant, name: str, args: dict[str, Any], language: str = "en") -> Reply:
    """Call the offered tool ``name`` as an LLM API does."""
    return await run(hass, tools_by_name(hass)[name], args, context(language))


@contextlib.contextmanager
def alice_turn(language: str = "sv") -> Iterator[Turn]:
    """Run the block as Alice's engine runs a turn (tools see ``current_turn()``)."""
    subentry = ConfigSubentry(
        data=MappingProxyType({**DEFAULT_CONVERSATION_OPTIONS, CONF_LANGUAGE: language}),
        subentry_type=SUBENTRY_CONVERSATION,
        title="Alice",
        unique_id=None,
    )
    turn = Turn(
        agent=AgentConfig.from_subentry(subentry),
        entity_id=AGENT_ID,
        user_input=conversation.ConversationInput(
            text="Skicka ett mejl till Anna",
            context=Context(),
            conversation_id=None,
            device_id=None,
            satellite_id=None,
            language=language,
            agent_id=AGENT_ID,
        ),
        key="test",
    )
    token = CURRENT_TURN.set(turn)
    try:
        yield turn
    finally:
        CURRENT_TURN.reset(token)


def reauth_flows_of(hass: HomeAssistant, entry: MockConfigEntry) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler("google_mail")
        if flow["context"]["source"] == SOURCE_REAUTH
        and flow["context"].get("entry_id") == entry.entry_id
    ]


# --- offering ----------------------------------------------------------------------
async def test_no_google_mail_no_tools(hass: HomeAssistant) -> None:
    assert async_get_mail_tools(hass, context()) == []
    add_google_mail(hass, state=ConfigEntryState.NOT_LOADED)
    assert async_get_mail_tools(hass, context()) == []


async def test_tools_offered_with_a_loaded_entry(hass: HomeAssistant) -> None:
    add_google_mail(hass)
    tools = async_get_mail_tools(hass, context())
    assert [tool.name for tool in tools] == [SEARCH, SEND, DRAFT]
    assert {tool.integration for tool in tools} == {"alice_voice"}
    search, send, draft = (tool.annotations for tool in tools)
    assert search.read_only
    assert not search.destructive
    assert not send.read_only
    assert not draft.destructive
    schema = probatio.to_openapi(tools[0].parameters, openapi_version="3.1.0")
    assert schema["properties"]["query"]["default"] == "is:unread"
    assert schema["properties"]["max_results"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "description": "How many messages at most (1-10)",
        "default": 5,
    }
    assert "account" not in schema["properties"]  # one account: nothing to choose
    schema = probatio.to_openapi(tools[1].parameters, openapi_version="3.1.0")
    assert schema["required"] == ["to", "subject", "body"]
    assert schema["properties"]["to"]["type"] == "array"
    assert "anna@example.com" in schema["properties"]["to"]["description"]


async def test_google_mails_own_token_cannot_read(hass: HomeAssistant) -> None:
    """google_mail asks only for compose + settings: no search tool, and a clear error."""
    entry = add_google_mail(hass, scopes=GOOGLE_MAIL_SCOPES)
    assert list(tools_by_name(hass)) == [SEND, DRAFT]
    result = await run(hass, MailSearchTool([ACCOUNT]), {}, context())
    assert result.error
    assert result.data == {
        "error": "mail_read_not_allowed",
        "message": f"The Google Mail connection for {ACCOUNT} may only send mail, not read it.",
    }
    assert entry.state is ConfigEntryState.LOADED


# --- reading -----------------------------------------------------------------------
async def test_search_unread(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    result = await call(hass, SEARCH, {})
    assert not result.error
    data = result.data
    assert (data["account"], data["query"], data["count"]) == (ACCOUNT, "is:unread", 3)
    assert data["summary"] == (
        "3 messages (is:unread): Anna Svensson — Faktura oktober; "
        "Skolan — Utflykt på fredag; bo@example.com — Lunch?"
    )
    anna, school, bo = data["messages"]
    assert anna["from"] == "Anna Svensson <anna@example.com>"
    assert anna["subject"] == "Faktura oktober"
    assert anna["unread"] is True
    assert datetime.fromisoformat(anna["date"]) == NOW.replace(second=0, microsecond=0) - timedelta(
        hours=1
    )
    assert anna["snippet"].startswith("Hej Alice! Här kommer fakturan")
    assert anna["excerpt"] == " ".join(ANNA_BODY.split())
    # HTML: no tags, no style sheet, entities decoded.
    assert school["excerpt"] == "Hej föräldrar, På fredag åker 3B till Skansen & Gröna Lund."
    # Quoted reply lines are left out.
    assert bo["excerpt"] == "Ska vi äta lunch på torsdag?"
    # The wire: one search, then each message in full, all with the integration's token.
    listing, *gets = gmail.requests
    assert listing.path == "/gmail/v1/users/me/messages"
    assert (listing.param("q"), listing.param("maxResults")) == ("is:unread", "5")
    assert [r.param("format") for r in gets] == ["full"] * 3
    assert {r.token for r in gmail.requests} == {TOKEN}


async def test_summary_never_has_bodies(hass: HomeAssistant, google_mail: MockConfigEntry) -> None:
    result = await call(hass, SEARCH, {"query": "in:inbox", "max_results": 10})
    assert result.data["count"] == 4
    summary = result.data["summary"]
    for message in result.data["messages"]:
        assert message["excerpt"] not in summary
        assert message["snippet"] not in summary
    for word in ("fakturan", "Skansen", "torsdag", "Lorem"):
        assert word not in summary


async def test_search_query_and_cap(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    result = await call(hass, SEARCH, {"query": "from:anna faktura", "max_results": 3})
    assert result.data["count"] == 1
    assert result.data["messages"][0]["subject"] == "Faktura oktober"
    result = await call(hass, SEARCH, {"query": "from:news", "max_results": "50"})
    excerpt = result.data["messages"][0]["excerpt"]
    assert len(excerpt) <= 500
    assert excerpt.endswith("…")
    assert LONG_BODY.startswith(excerpt[:-1])
    assert gmail.requests_to("/messages")[-1].param("maxResults") == "10"  # capped


async def test_search_nothing_found_in_swedish(
    hass: HomeAssistant, google_mail: MockConfigEntry
) -> None:
    result = await call(hass, SEARCH, {"query": "from:nobody"}, language="sv")
    assert result.data["summary"] == "Inga mejl (from:nobody)."
    assert result.data["messages"] == []
    with alice_turn("sv"):
        result = await call(hass, SEARCH, {"query": "  "}, language="en")
    assert result.data["summary"].startswith("3 mejl (is:unread): Anna Svensson — Faktura")


async def test_rejected_token_starts_reauth(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    google_mail.runtime_data = StandInAuth("ya29.revoked")
    result = await call(hass, SEARCH, {}, language="sv")
    await hass.async_block_till_done()
    assert result.error
    assert result.data == {
        "error": "mail_auth_failed",
        "message": f"Google Mail godtog inte inloggningen för {ACCOUNT}. Logga in igen under "
        "Inställningar → Enheter och tjänster → Google Mail.",
    }
    assert len(reauth_flows_of(hass, google_mail)) == 1
    assert len(gmail.requests) == 1  # no message fetched


async def test_rejected_while_fetching_messages(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    gmail.faults += [Fault(0), Fault(401, "authError", "Invalid Credentials")]
    result = await call(hass, SEARCH, {})
    await hass.async_block_till_done()
    assert result.data["error"] == "mail_auth_failed"
    assert len(reauth_flows_of(hass, google_mail)) == 1


async def test_token_refresh_needs_reauth(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    """google_mail's refresh failed for good (it starts the reauth itself)."""
    request = RequestInfo(URL("https://oauth2.googleapis.com/token"), "POST", {})  # type: ignore[arg-type]
    google_mail.runtime_data = StandInAuth(
        error=OAuth2TokenRequestReauthError(domain="google_mail", request_info=request, status=400)
    )
    result = await call(hass, SEARCH, {})
    assert result.data["error"] == "mail_auth_failed"
    assert gmail.requests == []


async def test_token_refresh_unavailable(hass: HomeAssistant, google_mail: MockConfigEntry) -> None:
    google_mail.runtime_data = StandInAuth(error=HomeAssistantError("Cannot connect"))
    result = await call(hass, SEARCH, {})
    assert result.data == {
        "error": "mail_unavailable",
        "message": "Gmail could not be reached (HomeAssistantError). Please try again later.",
    }


async def test_scope_refused_by_gmail(hass: HomeAssistant, gmail: GmailTestServer) -> None:
    """A token whose scopes are not stored, which Gmail refuses: no reauth, it would not help."""
    hass.data[DATA_GMAIL_API_URL] = gmail.base_url
    gmail.tokens["ya29.compose"] = frozenset(GOOGLE_MAIL_SCOPES)
    entry = add_google_mail(hass, scopes=None, auth=StandInAuth("ya29.compose"))
    result = await call(hass, SEARCH, {})
    await hass.async_block_till_done()
    assert result.data["error"] == "mail_read_not_allowed"
    assert reauth_flows_of(hass, entry) == []


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([Fault(503)], id="unavailable"),
        pytest.param([Fault(429, "rateLimitExceeded", "Too many")], id="rate-limited"),
        pytest.param([Fault(403, "userRateLimitExceeded", "Slow down")], id="403-rate"),
        pytest.param([Fault(0), Fault(0), Fault(500, "backendError", "Backend")], id="get-fails"),
    ],
)
async def test_gmail_errors(
    hass: HomeAssistant,
    google_mail: MockConfigEntry,
    gmail: GmailTestServer,
    faults: list[Fault],
) -> None:
    gmail.faults += faults
    result = await call(hass, SEARCH, {})
    await hass.async_block_till_done()
    assert result.error
    assert result.data["error"] == "mail_unavailable"
    assert result.data["message"].startswith("Gmail could not be reached (")
    assert reauth_flows_of(hass, google_mail) == []


async def test_message_gone_before_it_is_read(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    gmail.faults += [Fault(0), Fault(404, "notFound", "Requested entity was not found.")]
    result = await call(hass, SEARCH, {})
    assert result.data["count"] == 2


async def test_gmail_down(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    await gmail.stop()
    result = await call(hass, SEARCH, {}, language="sv")
    assert result.error
    assert result.data["error"] == "mail_unavailable"
    assert result.data["message"].startswith("Det gick inte att nå Gmail (")


async def test_several_accounts(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    gmail.tokens["ya29.work"] = frozenset({SCOPE_READONLY})
    work = add_google_mail(hass, WORK, auth=StandInAuth("ya29.work"))
    search = tools_by_name(hass)[SEARCH]
    schema = probatio.to_openapi(search.parameters, openapi_version="3.1.0")
    assert schema["properties"]["account"]["enum"] == [ACCOUNT, WORK]
    result = await call(hass, SEARCH, {"account": "Alice.Work@example.com"})
    assert result.data["account"] == WORK
    assert gmail.requests[-1].token == "ya29.work"
    result = await call(hass, SEARCH, {})
    assert result.data["account"] == ACCOUNT
    result = await call(hass, SEARCH, {"account": "bob@example.com"})
    assert result.data["error"] == "tool_invalid_arguments"
    # An account that went away after the tools were listed.
    work.mock_state(hass, ConfigEntryState.NOT_LOADED)
    result = await run(hass, search, {"account": WORK}, context())
    assert result.data == {
        "error": "mail_unknown_account",
        "message": f"There is no Google Mail account {WORK}. The accounts are: {ACCOUNT}.",
    }
    google_mail.mock_state(hass, ConfigEntryState.NOT_LOADED)
    result = await run(hass, search, {}, context())
    assert result.data["error"] == "mail_no_account"


# --- sending -----------------------------------------------------------------------
MAIL = {
    "to": ["anna@example.com"],
    "subject": "Middag på lördag",
    "body": "Hej Anna,\n\nVill ni komma på middag? <3 & kram\n\nAlice",
    "cc": ["Bo <bo@example.com>"],
}
MAIL_HTML = "Hej Anna,<br>\n<br>\nVill ni komma på middag? &lt;3 &amp; kram<br>\n<br>\nAlice"


async def test_send_in_alices_turn(
    hass: HomeAssistant, google_mail: MockConfigEntry, notify_calls: list[ServiceCall]
) -> None:
    """In Alice's turn the guard has asked and the user said yes: the tool sends."""
    llm_context = context("sv")
    with alice_turn("sv"):
        result = await run(hass, tools_by_name(hass)[SEND], MAIL, llm_context)
    assert not result.error
    assert result.data == {
        "summary": "Skickade ”Middag på lördag” till anna@example.com.",
        "account": ACCOUNT,
        "to": ["anna@example.com"],
        "cc": ["Bo <bo@example.com>"],
        "subject": "Middag på lördag",
        "sent": True,
        "draft": False,
    }
    assert len(notify_calls) == 1
    call_ = notify_calls[0]
    assert (call_.domain, call_.service) == ("notify", NOTIFY)
    assert call_.data == {
        "message": MAIL_HTML,
        "title": "Middag på lördag",
        "target": ["anna@example.com"],
        "data": {"send": True, "cc": ["Bo <bo@example.com>"]},
    }
    assert call_.context is llm_context.context


async def test_send_outside_alices_turn_saves_a_draft(
    hass: HomeAssistant, google_mail: MockConfigEntry, notify_calls: list[ServiceCall]
) -> None:
    """Another agent called the tool: nobody can confirm, so it becomes a draft."""
    result = await call(hass, SEND, {"to": "anna@example.com", "subject": "Hej", "body": "Hej!"})
    assert result.data["sent"] is False
    assert result.data["draft"] is True
    assert result.data["summary"] == (
        'Not sent: sending needs the user\'s confirmation, so "Hej" to anna@example.com '
        "was saved as a draft in Gmail instead."
    )
    assert [c.data for c in notify_calls] == [
        {"message": "Hej!", "title": "Hej", "target": ["anna@example.com"], "data": {"send": False}}
    ]


async def test_draft_always_drafts(
    hass: HomeAssistant, google_mail: MockConfigEntry, notify_calls: list[ServiceCall]
) -> None:
    with alice_turn("sv"):
        result = await call(hass, DRAFT, {**MAIL, "subject": "  Middag\n på lördag "})
    assert (
        result.data["summary"]
        == "Sparade ”Middag på lördag” till anna@example.com som utkast i Gmail."
    )
    assert notify_calls[0].data["data"] == {"send": False, "cc": ["Bo <bo@example.com>"]}
    assert notify_calls[0].data["title"] == "Middag på lördag"
    result = await call(hass, DRAFT, MAIL)
    assert (
        result.data["summary"]
        == 'Saved "Middag på lördag" to anna@example.com as a draft in Gmail.'
    )
    assert len(notify_calls) == 2


@pytest.mark.parametrize(
    ("args", "address"),
    [
        pytest.param({"to": ["Anna"]}, "Anna", id="a-name"),
        pytest.param({"to": ["anna@example.com", "anna@"]}, "anna@", id="half-an-address"),
        pytest.param({"cc": ["Bo"]}, "Bo", id="cc"),
        pytest.param({"to": ["anna@example.com\nBcc: x@evil.com"]}, None, id="header-injection"),
    ],
)
async def test_not_an_address(
    hass: HomeAssistant,
    google_mail: MockConfigEntry,
    notify_calls: list[ServiceCall],
    args: dict[str, Any],
    address: str | None,
) -> None:
    result = await call(hass, SEND, {**MAIL, **args}, language="sv")
    assert result.error
    assert result.data["error"] == "mail_invalid_address"
    if address is not None:
        assert result.data["message"] == (
            f"”{address}” är ingen e-postadress. Fråga användaren efter mottagarens e-postadress."
        )
    assert notify_calls == []


async def test_several_addresses_in_one_string(
    hass: HomeAssistant, google_mail: MockConfigEntry, notify_calls: list[ServiceCall]
) -> None:
    args = {
        **MAIL,
        "to": "anna@example.com, Bo Ek <bo@example.com>; cecilia@example.org",
        "cc": ['"Svensson, Åsa" <asa@example.se>', "Dan (jobb) <dan@example.com>"],
    }
    result = await call(hass, DRAFT, args)
    assert result.data["to"] == [
        "anna@example.com",
        "Bo Ek <bo@example.com>",
        "cecilia@example.org",
    ]
    assert notify_calls[0].data["target"] == result.data["to"]
    assert notify_calls[0].data["data"]["cc"] == [
        '"Svensson, Åsa" <asa@example.se>',
        '"Dan (jobb)" <dan@example.com>',
    ]
    assert result.data["summary"] == (
        'Saved "Middag på lördag" to anna@example.com, Bo Ek <bo@example.com>, '
        "cecilia@example.org as a draft in Gmail."
    )


async def test_not_an_address_in_english(
    hass: HomeAssistant, google_mail: MockConfigEntry, notify_calls: list[ServiceCall]
) -> None:
    result = await call(hass, DRAFT, {**MAIL, "to": ["mamma"]})
    assert result.data["message"] == (
        '"mamma" is not an e-mail address. Ask the user for the recipient\'s e-mail address.'
    )


async def test_bad_arguments(
    hass: HomeAssistant, google_mail: MockConfigEntry, notify_calls: list[ServiceCall]
) -> None:
    for args in ({**MAIL, "to": []}, {**MAIL, "subject": ""}, {"to": ["a@example.com"]}):
        result = await call(hass, SEND, args)
        assert result.data["error"] == "tool_invalid_arguments"
    result = await call(hass, SEND, {**MAIL, "subject": " \n "})
    assert result.data["error"] == "tool_invalid_arguments"
    assert notify_calls == []


async def test_notify_service_missing(hass: HomeAssistant, google_mail: MockConfigEntry) -> None:
    result = await call(hass, SEND, MAIL)
    assert result.data == {
        "error": "mail_service_missing",
        "message": "Google Mail's notify service notify.alice_example_com is missing. "
        "Reload the Google Mail integration.",
    }


async def test_renamed_entry_still_found(hass: HomeAssistant) -> None:
    """google_mail names the service after the title; a renamed entry keeps the old one."""
    add_google_mail(hass, title="Jobbet")
    calls = async_mock_service(hass, "notify", NOTIFY)
    result = await call(hass, DRAFT, MAIL)
    assert not result.error
    assert len(calls) == 1


async def test_entry_without_unique_id(hass: HomeAssistant) -> None:
    add_google_mail(hass, with_unique_id=False)
    calls = async_mock_service(hass, "notify", NOTIFY)
    result = await call(hass, SEND, MAIL)
    assert result.data["account"] == ACCOUNT
    assert len(calls) == 1


async def test_notify_service_fails(hass: HomeAssistant, google_mail: MockConfigEntry) -> None:
    async_mock_service(hass, "notify", NOTIFY, raise_exception=ValueError("quota exceeded"))
    result = await call(hass, DRAFT, MAIL)
    assert result.data == {
        "error": "mail_send_failed",
        "message": "Google Mail could not handle the mail: quota exceeded",
    }


# --- what Gmail may send -------------------------------------------------------------
def b64(text: str, charset: str = "utf-8") -> str:
    return base64.urlsafe_b64encode(text.encode(charset)).decode().rstrip("=")


def gmail_message(headers: dict[str, str], parts: list[dict[str, Any]], **extra: Any) -> Any:
    return {
        "id": "18f3a2c4d5e60001",
        "labelIds": ["INBOX"],
        "snippet": "",
        "payload": {
            "mimeType": "multipart/mixed",
            "headers": [{"name": k, "value": v} for k, v in headers.items()],
            "parts": parts,
        },
        **extra,
    }


def text_part(data: str, content_type: str = "text/plain; charset=utf-8") -> dict[str, Any]:
    return {
        "mimeType": content_type.split(";", maxsplit=1)[0],
        "filename": "",
        "headers": [{"name": "Content-Type", "value": content_type}],
        "body": {"data": data},
    }


async def test_parse_odd_messages(hass: HomeAssistant) -> None:
    """Encoded headers, unpadded base64, unknown charsets, broken dates."""
    message = parse_message(
        gmail_message(
            {
                "From": "=?utf-8?q?=C3=85sa_Berg?= <asa@example.se>",
                "Subject": "=?x-unknown?q?hej?=",
                "Date": "not a date",
            },
            [text_part(b64("Hej då, ses på fredag"), "text/plain; charset=x-klingon")],
            internalDate="1760000000000",
            snippet="Hej &amp; hå",
        )
    )
    assert (message.sender, message.name) == ("Åsa Berg <asa@example.se>", "Åsa Berg")
    assert message.subject == "=?x-unknown?q?hej?="
    assert message.date == dt_util.as_local(datetime.fromtimestamp(1_760_000_000, UTC)).isoformat(
        timespec="minutes"
    )
    assert message.excerpt == "Hej då, ses på fredag"
    assert message.snippet == "Hej & hå"
    assert message.unread is False

    latin = parse_message(
        gmail_message(
            {"Date": "Mon, 13 Oct 2025 10:00:00 -0000"},  # no time zone: use internalDate
            [
                {"mimeType": "application/pdf", "filename": "a.pdf", "body": {"attachmentId": "x"}},
                text_part(b64("Smörgås", "iso-8859-1"), 'text/plain; charset="iso-8859-1"'),
            ],
            internalDate="nonsense",
        )
    )
    assert (latin.date, latin.excerpt, latin.sender) == (
        "Mon, 13 Oct 2025 10:00:00 -0000",
        "Smörgås",
        "",
    )

    broken = parse_message(gmail_message({}, [text_part("abcde")]))
    assert (broken.excerpt, broken.date) == ("", "")
    attachment_only = parse_message(
        gmail_message({}, [{"mimeType": "image/png", "filename": "a.png", "body": {}}])
    )
    assert attachment_only.excerpt == ""
    one_word = parse_message(gmail_message({}, [text_part(b64("x" * 600))]))
    assert one_word.excerpt == "x" * 499 + "…"


async def test_gmail_answers_with_an_html_page(
    hass: HomeAssistant, google_mail: MockConfigEntry, gmail: GmailTestServer
) -> None:
    gmail.faults.append(Fault(502, body="<html><p>502. That’s an error.</p></html>"))
    result = await call(hass, SEARCH, {})
    assert result.data["message"] == "Gmail could not be reached (502). Please try again later."


# --- in Alice's turns: sending waits for a spoken "ja" ----------------------------------

MAIL_ANNA = {"to": ["anna@example.com"], "subject": "Middag", "body": "Hej Anna! Middag på lördag?"}
ASK_ANNA = "mejla anna@example.com och fråga om middag på lördag"


@pytest.fixture
async def alice(
    hass: HomeAssistant,
    setup_ha: None,
    ollama_server: OllamaTestServer,
    mock_config_entry: MockConfigEntry,
) -> MockConfigEntry:
    """Alice, with a Google Mail account that may send."""
    add_google_mail(hass, scopes=None)
    await async_setup(hass, mock_config_entry)
    return mock_config_entry


@pytest.mark.parametrize(("reply", "sent"), [("ja", True), ("skicka", True), ("nej", False)])
@pytest.mark.usefixtures("alice")
async def test_alice_asks_before_sending(
    hass: HomeAssistant,
    ollama_server: OllamaTestServer,
    notify_calls: list[ServiceCall],
    reply: str,
    sent: bool,
) -> None:
    """The model sends; Alice names recipient and subject and waits for the user."""
    ollama_server.add_rule(
        ScriptedReply(tool_calls=[{"name": SEND, "arguments": MAIL_ANNA}]), user="mejla"
    )
    question = await converse(hass, ASK_ANNA)
    assert speech(question) == (
        "Ska jag skicka mejlet till anna@example.com med ämnet ”Middag”? Säg ja eller nej."
    )
    assert question.continue_conversation
    assert notify_calls == []

    answered = await converse(hass, reply, question.conversation_id)
    if not sent:
        assert speech(answered) == "Okej, jag låter bli."
        assert notify_calls == []
        return
    assert speech(answered) == "Mejlet är skickat."
    (call,) = notify_calls
    assert call.data["target"] == ["anna@example.com"]
    assert call.data["title"] == "Middag"
    assert call.data["data"]["send"] is True


@pytest.mark.usefixtures("alice")
async def test_a_name_is_sent_back_before_anyone_is_asked(
    hass: HomeAssistant, ollama_server: OllamaTestServer, notify_calls: list[ServiceCall]
) -> None:
    """A name where an address belongs goes back to the model; no question, nothing sent."""

    def reply(request: ChatRequest) -> ScriptedReply:
        if request.after_tool_result:
            assert request.tool_results[0]["error"] is True
            return ScriptedReply(content="Vilken e-postadress har Anna?")
        return ScriptedReply(
            tool_calls=[{"name": SEND, "arguments": {**MAIL_ANNA, "to": ["Anna"]}}]
        )

    ollama_server.reply_always(reply)
    result = await converse(hass, ASK_ANNA)
    assert speech(result) == "Vilken e-postadress har Anna?"
    assert not result.continue_conversation or "Säg ja eller nej" not in speech(result)
    assert notify_calls == []
