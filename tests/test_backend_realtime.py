"""Tests for the Home Assistant-free Realtime backend against the local Realtime server."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import json
import logging
import ssl
from typing import Any, Final, Protocol

from openai import AsyncOpenAI
import pytest

from custom_components.alice_voice.backends import realtime_errors, realtime_stream
from custom_components.alice_voice.backends.realtime import RealtimeBackend
from custom_components.alice_voice.backends.realtime_types import (
    ContextMessage,
    RealtimeAudioDelta,
    RealtimeAuthError,
    RealtimeConnectionError,
    RealtimeEvent,
    RealtimeFunctionCall,
    RealtimeResponseDone,
    RealtimeResponseError,
    RealtimeSessionConfig,
    RealtimeSessionExpired,
    RealtimeTextDelta,
    RealtimeTimeoutError,
    RealtimeTool,
)
from simulators.realtime import (
    ConnectionRecord,
    DropMode,
    FunctionCall,
    RealtimeTestServer,
    Reply,
    ResponseRequest,
)

MODEL = "gpt-realtime"
CONFIG = RealtimeSessionConfig(instructions="Du är Alice. Svara kort på svenska.")
PLAY = RealtimeTool(
    name="alice_voice__play_music",
    description="Spela musik",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
    },
)
TOOL_CONFIG = RealtimeSessionConfig(instructions="Du är Alice.", tools=(PLAY,))
# The logger of the whole Realtime client (pool and session modules log through it too).
REALTIME_LOGGER: Final = "custom_components.alice_voice.backends.realtime"


class BackendFactory(Protocol):
    """Builds a backend on ``sdk`` (the test server's client by default)."""

    def __call__(self, sdk: AsyncOpenAI | None = None, **kwargs: Any) -> RealtimeBackend:
        """Return a backend that is closed after the test."""
        ...


@pytest.fixture
async def make_backend(client: AsyncOpenAI) -> AsyncIterator[BackendFactory]:
    """Build backends (closed after the test)."""
    backends: list[RealtimeBackend] = []

    def factory(sdk: AsyncOpenAI | None = None, **kwargs: Any) -> RealtimeBackend:
        backend = RealtimeBackend(sdk if sdk is not None else client, model=MODEL, **kwargs)
        backends.append(backend)
        return backend

    yield factory
    for backend in backends:
        await backend.close()


@pytest.fixture
def backend(make_backend: BackendFactory) -> RealtimeBackend:
    """A backend with default settings."""
    return make_backend()


@pytest.fixture
def realtime_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture the Realtime client's debug log."""
    caplog.set_level(logging.DEBUG, logger=REALTIME_LOGGER)
    return caplog


async def collect(stream: AsyncIterator[RealtimeEvent]) -> list[RealtimeEvent]:
    """Run a turn to its end (bounded against hangs)."""
    async with asyncio.timeout(10):
        return [event async for event in stream]


async def consume(
    stream: AsyncIterator[RealtimeEvent],
    received: list[RealtimeEvent],
    on_event: Callable[[RealtimeEvent], Awaitable[None]] | None = None,
) -> None:
    """Run a turn, keeping the events received before any error."""
    async with asyncio.timeout(10):
        async for event in stream:
            received.append(event)
            if on_event is not None:
                await on_event(event)


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait (bounded, about 10 s) until a condition that no server record announces holds."""
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def client_noticed_end(log: pytest.LogCaptureFixture, key: str) -> None:
    """Wait (bounded) until the backend has noticed that the session for ``key`` ended.

    The server records its side of a close at once; the client learns of it a little later,
    and it has no public state for that: its debug log line is what can be observed.
    """
    prefix = f"Realtime session for {key} ended"
    await eventually(
        lambda: any(
            record.name == REALTIME_LOGGER and record.getMessage().startswith(prefix)
            for record in log.records
        )
    )


def user_texts(conn: ConnectionRecord) -> list[str]:
    """The user messages a connection's conversation holds, in order."""
    return [
        str(item["content"][0]["text"])
        for item in conn.conversation
        if item.get("type") == "message" and item.get("role") == "user"
    ]


def text_of(events: list[RealtimeEvent]) -> str:
    """Join the text deltas of a turn."""
    return "".join(e.text for e in events if isinstance(e, RealtimeTextDelta))


def done_of(events: list[RealtimeEvent]) -> RealtimeResponseDone:
    """Return the final event of a turn."""
    done = events[-1]
    assert isinstance(done, RealtimeResponseDone)
    return done


async def test_text_turn_streams_deltas(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(text="Klockan är tre.", deltas=3), user_text="klockan")
    events = await collect(backend.respond("conv-1", "Vad är klockan?", config=CONFIG))

    deltas = [e for e in events if isinstance(e, RealtimeTextDelta)]
    assert [d.text for d in deltas] == ["Klock", "an är", " tre."]
    assert not any(d.transcript for d in deltas)
    done = done_of(events)
    assert done.status == "completed"
    assert done.text == "Klockan är tre."
    assert done.usage is not None
    assert done.usage.total_tokens > 0
    assert done.new_session is True
    assert done.first_delta_latency is not None

    conn = server.connections[0]
    assert conn.client_event_types == [
        "session.update",
        "conversation.item.create",
        "response.create",
    ]
    session = conn.client_events[0].event["session"]
    assert session["type"] == "realtime"
    assert session["output_modalities"] == ["text"]
    assert session["audio"]["input"]["turn_detection"] is None
    assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert "modalities" not in session
    item = conn.client_events[1].event["item"]
    assert item["content"] == [{"type": "input_text", "text": "Vad är klockan?"}]
    assert all(record.event["event_id"].startswith("alice_") for record in conn.client_events)


async def test_second_turn_reuses_the_session(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    first = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    second = await collect(backend.respond("conv-1", "Hej igen", config=CONFIG))

    assert done_of(first).new_session is True
    assert done_of(second).new_session is False
    assert text_of(second) == "Hej! Jag hörde: Hej igen"
    assert server.handshake_count == 1
    # The session is kept warm: its connection stays open after the turns.
    assert [conn.id for conn in server.open_connections] == [1]
    assert user_texts(server.connections[0]) == ["Hej", "Hej igen"]
    # The config did not change: one session.update for two turns.
    assert len(server.client_events("session.update")) == 1


async def test_session_update_only_when_config_changes(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    await collect(backend.respond("conv-1", "Ett", config=CONFIG))
    await collect(backend.respond("conv-1", "Två", config=CONFIG))
    changed = RealtimeSessionConfig(instructions="Svara på engelska.", tools=(PLAY,))
    await collect(backend.respond("conv-1", "Tre", config=changed))
    await collect(backend.respond("conv-1", "Fyra", config=changed))

    updates = server.client_events("session.update")
    assert len(updates) == 2
    assert updates[1]["session"]["instructions"] == "Svara på engelska."
    assert updates[1]["session"]["tools"] == [
        {
            "type": "function",
            "name": "alice_voice__play_music",
            "description": "Spela musik",
            "parameters": dict(PLAY.parameters),
        }
    ]
    assert server.connections[0].session["instructions"] == "Svara på engelska."
    assert server.handshake_count == 1


async def test_different_keys_get_different_sessions(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    first = await collect(backend.respond("kitchen", "Hej kök", config=CONFIG))
    second = await collect(backend.respond("bedroom", "Hej sovrum", config=CONFIG))
    third = await collect(backend.respond("kitchen", "Igen kök", config=CONFIG))
    fourth = await collect(backend.respond("bedroom", "Igen sovrum", config=CONFIG))

    assert [done_of(t).new_session for t in (first, second, third, fourth)] == [
        True,
        True,
        False,
        False,
    ]
    assert server.handshake_count == 2
    kitchen, bedroom = server.connections
    assert kitchen.session_id != bedroom.session_id
    # Each key keeps its own warm session and its turns go there.
    assert [conn.id for conn in server.open_connections] == [kitchen.id, bedroom.id]
    assert user_texts(kitchen) == ["Hej kök", "Igen kök"]
    assert user_texts(bedroom) == ["Hej sovrum", "Igen sovrum"]
    assert [c.client_event_types.count("response.create") for c in server.connections] == [2, 2]


async def test_concurrent_turns_on_one_key_are_serialized(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    results = await asyncio.gather(
        collect(backend.respond("conv-1", "Ett", config=CONFIG)),
        collect(backend.respond("conv-1", "Två", config=CONFIG)),
    )
    assert sorted(text_of(r) for r in results) == [
        "Hej! Jag hörde: Ett",
        "Hej! Jag hörde: Två",
    ]
    assert server.handshake_count == 1
    assert "error" not in server.connections[0].server_event_types


async def test_idle_session_is_closed(
    server: RealtimeTestServer, make_backend: BackendFactory
) -> None:
    backend = make_backend(idle_timeout=0.05)
    await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    await server.wait_for(lambda: server.connections[0].closed)

    assert server.connections[0].closed_by == "client"
    assert server.connections[0].close_code == 1000
    assert server.open_connections == []
    events = await collect(backend.respond("conv-1", "Hej igen", config=CONFIG))
    assert done_of(events).new_session is True
    assert server.handshake_count == 2
    assert user_texts(server.connections[1]) == ["Hej igen"]


async def test_old_session_is_renewed_before_a_turn(
    server: RealtimeTestServer, make_backend: BackendFactory
) -> None:
    backend = make_backend(session_max_age=0.0)
    first = await collect(backend.respond("conv-1", "Vad heter du?", config=CONFIG))
    history = [
        ContextMessage("user", "Vad heter du?"),
        ContextMessage("assistant", done_of(first).text),
    ]
    second = await collect(backend.respond("conv-1", "Och jag?", config=CONFIG, history=history))

    assert done_of(second).new_session is True
    assert server.handshake_count == 2
    await server.wait_for(lambda: server.connections[0].closed)
    assert server.connections[0].closed_by == "client"
    # A new session gets the config again and the conversation so far.
    renewed = server.connections[1]
    assert renewed.client_event_types == [
        "session.update",
        "conversation.item.create",
        "conversation.item.create",
        "conversation.item.create",
        "response.create",
    ]
    assert [(it["role"], it["content"][0]["type"]) for it in renewed.conversation[:3]] == [
        ("user", "input_text"),
        ("assistant", "output_text"),
        ("user", "input_text"),
    ]


async def test_session_expired_while_idle_reconnects(
    server: RealtimeTestServer,
    backend: RealtimeBackend,
    realtime_log: pytest.LogCaptureFixture,
) -> None:
    await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    sent_before = len(server.connections[0].client_events)
    await server.expire_sessions()
    await server.wait_for(lambda: server.connections[0].closed)
    await client_noticed_end(realtime_log, "conv-1")

    events = await collect(backend.respond("conv-1", "Hej igen", config=CONFIG))
    assert text_of(events) == "Hej! Jag hörde: Hej igen"
    assert done_of(events).new_session is True
    assert server.handshake_count == 2
    assert server.connections[0].close_code == 1001
    assert server.connections[0].closed_by == "server"
    # The turn went straight to the new session, nothing more to the expired one.
    assert len(server.connections[0].client_events) == sent_before
    assert user_texts(server.connections[1]) == ["Hej igen"]


async def test_session_expired_mid_turn_raises(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(text="ett två tre fyra fem", delta_interval=30), times=1)
    received: list[RealtimeEvent] = []

    async def expire(_: RealtimeEvent) -> None:
        await server.expire_sessions()

    with pytest.raises(RealtimeSessionExpired) as exc_info:
        await consume(backend.respond("conv-1", "Hej", config=CONFIG), received, expire)

    assert exc_info.value.code == "session_expired"
    assert [e.text for e in received if isinstance(e, RealtimeTextDelta)] == ["ett "]
    assert server.connections[0].closed
    assert server.connections[0].close_code == 1001
    # The expired session is not reused: the next turn opens a new one.
    events = await collect(backend.respond("conv-1", "Igen", config=CONFIG))
    assert text_of(events) == "Hej! Jag hörde: Igen"
    assert done_of(events).new_session is True
    assert server.handshake_count == 2


async def test_http_401_is_an_auth_error(
    server: RealtimeTestServer, make_backend: BackendFactory
) -> None:
    sdk = AsyncOpenAI(api_key="sk-revoked", base_url=server.base_url, max_retries=0)
    backend = make_backend(sdk)
    try:
        with pytest.raises(RealtimeAuthError) as exc_info:
            await collect(backend.respond("conv-1", "Hej", config=CONFIG))
        assert exc_info.value.code == "http_401"
        assert server.connection_count == 0
        # Nothing was kept: once the key is accepted, the next turn opens a session.
        server.api_keys.add("sk-revoked")
        events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    finally:
        await sdk.close()
    assert done_of(events).new_session is True
    assert server.handshake_count == 2
    assert server.connection_count == 1


async def test_invalid_api_key_event_is_an_auth_error(
    server: RealtimeTestServer, make_backend: BackendFactory
) -> None:
    server.bad_key_mode = "event"
    sdk = AsyncOpenAI(api_key="sk-revoked", base_url=server.base_url, max_retries=0)
    backend = make_backend(sdk)
    try:
        with pytest.raises(RealtimeAuthError) as exc_info:
            await collect(backend.respond("conv-1", "Hej", config=CONFIG))
        assert exc_info.value.code == "invalid_api_key"
        assert server.connection_count == 1
        assert server.connections[0].client_events == []
        await server.wait_for(lambda: server.connections[0].closed)
        assert server.connections[0].close_code == 1008
        # The refused session was not kept: the next turn opens a new one.
        server.api_keys.add("sk-revoked")
        events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    finally:
        await sdk.close()
    assert done_of(events).new_session is True
    assert server.connection_count == 2
    assert user_texts(server.connections[1]) == ["Hej"]


@pytest.mark.parametrize(
    ("status", "code"),
    [pytest.param(500, "http_500", id="500"), pytest.param(429, "http_429", id="429")],
)
async def test_other_handshake_statuses_are_connection_errors(
    server: RealtimeTestServer, backend: RealtimeBackend, status: int, code: str
) -> None:
    server.set_faults(handshake_status=status)
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert exc_info.value.code == code


async def test_connection_refused_is_a_connection_error(
    socket_enabled: None, make_backend: BackendFactory
) -> None:
    server = RealtimeTestServer.instant()
    await server.start()
    base_url = server.base_url
    await server.stop()
    sdk = AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0)
    backend = make_backend(sdk)
    try:
        with pytest.raises(RealtimeConnectionError) as exc_info:
            await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    finally:
        await sdk.close()
    assert exc_info.value.code == "connect_failed"


async def test_connect_timeout(server: RealtimeTestServer, make_backend: BackendFactory) -> None:
    server.handshake_delay = 30
    backend = make_backend(connect_timeout=0.2)
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert exc_info.value.code == "timeout"
    assert server.connection_count == 0
    # Nothing was kept: the next turn performs a new handshake.
    server.handshake_delay = 0
    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert done_of(events).new_session is True
    assert server.handshake_count == 2
    assert server.connection_count == 1


@pytest.mark.parametrize(
    "drop", [pytest.param("close_1011", id="1011"), pytest.param("abort", id="abort")]
)
async def test_drop_mid_response_then_reconnect(
    server: RealtimeTestServer, backend: RealtimeBackend, drop: DropMode
) -> None:
    server.add_rule(Reply(text="ett två tre", drop=drop, drop_after_deltas=1), times=1)
    received: list[RealtimeEvent] = []
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await consume(backend.respond("conv-1", "Hej", config=CONFIG), received)

    assert text_of(received) == "ett "
    assert exc_info.value.code == ("close_1011" if drop == "close_1011" else "close_1006")
    assert server.connections[0].closed_by == "server"
    events = await collect(backend.respond("conv-1", "Hej igen", config=CONFIG))
    assert text_of(events) == "Hej! Jag hörde: Hej igen"
    assert done_of(events).new_session is True
    assert server.handshake_count == 2
    assert user_texts(server.connections[1]) == ["Hej igen"]


async def test_oversized_frame_is_a_connection_error(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.set_faults(oversized_frame=True)
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert exc_info.value.code == "close_1009"
    assert "1009" in str(exc_info.value)
    await server.wait_for(lambda: server.connections[0].closed)
    assert server.connections[0].close_code == 1009


async def test_error_event_is_a_response_error(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(error_code="server_error", error_message="Boom"), times=1)
    with pytest.raises(RealtimeResponseError) as exc_info:
        await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert exc_info.value.code == "server_error"
    assert "Boom" in str(exc_info.value)
    # The session is discarded after an error: closed by the client, the next turn reconnects.
    await server.wait_for(lambda: server.connections[0].closed)
    assert server.connections[0].closed_by == "client"
    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert done_of(events).status == "completed"
    assert done_of(events).new_session is True
    assert server.handshake_count == 2


async def test_rejected_session_update_is_a_response_error(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    bad = RealtimeSessionConfig(voice="nova")
    with pytest.raises(RealtimeResponseError) as exc_info:
        await collect(backend.respond("conv-1", "Hej", config=bad))
    assert exc_info.value.code == "invalid_value"


async def test_first_delta_timeout_cancels_and_discards(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(text="För sent", first_delta_delay=30), times=1)
    with pytest.raises(RealtimeTimeoutError) as exc_info:
        await collect(backend.respond("conv-1", "Hej", config=CONFIG, first_delta_timeout=0.2))
    assert exc_info.value.code == "first_delta_timeout"
    await server.wait_for(lambda: server.connections[0].closed)
    first = server.connections[0]
    assert first.client_event_types[-2:] == ["response.create", "response.cancel"]
    assert first.closed_by == "client"

    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert done_of(events).status == "completed"
    assert done_of(events).new_session is True
    assert server.handshake_count == 2


async def test_function_call_round_trip(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(
        Reply(
            text="Jag spelar jazz.",
            function_calls=[FunctionCall("alice_voice__play_music", {"query": "jazz"})],
        ),
        user_text="spela",
    )

    def after_tool(request: ResponseRequest) -> Reply:
        outputs = [json.loads(item["output"]) for item in request.tool_outputs]
        return Reply(text=f"Nu spelas {outputs[0]['title']}.")

    server.add_rule(after_tool, after_tool_output=True)

    events = await collect(backend.respond("conv-1", "Spela jazz i köket", config=TOOL_CONFIG))
    calls = [e for e in events if isinstance(e, RealtimeFunctionCall)]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "alice_voice__play_music"
    assert call.arguments == {"query": "jazz"}
    assert call.arguments_valid
    done = done_of(events)
    assert done.function_calls == (call,)
    assert done.text == "Jag spelar jazz."

    answer = await collect(
        backend.submit_tool_outputs("conv-1", [(call.call_id, json.dumps({"title": "So What"}))])
    )
    assert text_of(answer) == "Nu spelas So What."
    assert done_of(answer).new_session is False
    types = server.connections[0].client_event_types
    assert types[-2:] == ["conversation.item.create", "response.create"]
    assert types.count("response.create") == 2
    output_item = server.client_events("conversation.item.create")[-1]["item"]
    assert output_item == {
        "type": "function_call_output",
        "call_id": call.call_id,
        "output": '{"title": "So What"}',
    }
    assert server.handshake_count == 1


async def test_several_tool_outputs_then_one_response(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(
        Reply(
            function_calls=[
                FunctionCall("alice_voice__play_music", {"query": "jazz"}, "call_a"),
                FunctionCall("alice_voice__play_music", {"query": "blues"}, "call_b"),
            ]
        )
    )
    events = await collect(backend.respond("conv-1", "Spela två saker", config=TOOL_CONFIG))
    assert [c.call_id for c in done_of(events).function_calls] == ["call_a", "call_b"]
    answer = await collect(
        backend.submit_tool_outputs("conv-1", [("call_a", "ok"), ("call_b", "ok")])
    )
    assert text_of(answer) == "Klart."
    types = server.connections[0].client_event_types
    assert types[-3:] == ["conversation.item.create", "conversation.item.create", "response.create"]


async def test_invalid_call_arguments_are_flagged(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(function_calls=[FunctionCall("alice_voice__play_music", '{"query": ')]))
    events = await collect(backend.respond("conv-1", "Spela", config=TOOL_CONFIG))
    call = next(e for e in events if isinstance(e, RealtimeFunctionCall))
    assert call.arguments == {}
    assert call.arguments_valid is False
    assert call.raw_arguments == '{"query": '


async def test_tool_outputs_without_session(backend: RealtimeBackend) -> None:
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await collect(backend.submit_tool_outputs("nobody", [("call_1", "{}")]))
    assert exc_info.value.code == "no_session"


async def test_abandoned_turn_is_cancelled_and_session_kept(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(text="ett två tre fyra fem sex", delta_interval=30), times=1)
    async with asyncio.timeout(10):
        async with contextlib.aclosing(
            backend.respond("conv-1", "Berätta", config=CONFIG)
        ) as stream:
            async for event in stream:
                assert isinstance(event, RealtimeTextDelta)
                break
    await server.wait_for(lambda: "response.cancel" in server.client_events()[-1]["type"])

    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert text_of(events) == "Hej! Jag hörde: Hej"
    assert done_of(events).status == "completed"
    assert server.handshake_count == 1
    assert "error" not in server.connections[0].server_event_types


async def test_history_is_seeded_once(server: RealtimeTestServer, backend: RealtimeBackend) -> None:
    history = [
        ContextMessage("user", "Vad heter du?"),
        ContextMessage("assistant", "Jag heter Alice."),
    ]
    first = await collect(
        backend.respond("conv-1", "Vad sa jag nyss?", config=CONFIG, history=history)
    )
    history += [
        ContextMessage("user", "Vad sa jag nyss?"),
        ContextMessage("assistant", done_of(first).text),
    ]
    await collect(backend.respond("conv-1", "Tack", config=CONFIG, history=history))
    # A turn answered elsewhere (local intent or Ollama) is added before the next turn.
    history += [
        ContextMessage("user", "Tack"),
        ContextMessage("assistant", "Varsågod!"),
        ContextMessage("user", "Tänd lampan"),
        ContextMessage("assistant", "Lampan är tänd."),
    ]
    # The caller's log may already end with this turn's message: it is sent once.
    history += [ContextMessage("user", "Släck den igen")]
    await collect(backend.respond("conv-1", "Släck den igen", config=CONFIG, history=history))

    conversation = server.connections[0].conversation
    texts = [
        (item["role"], item["content"][0].get("text") or item["content"][0].get("transcript"))
        for item in conversation
    ]
    assert texts == [
        ("user", "Vad heter du?"),
        ("assistant", "Jag heter Alice."),
        ("user", "Vad sa jag nyss?"),
        ("assistant", "Hej! Jag hörde: Vad sa jag nyss?"),
        ("user", "Tack"),
        ("assistant", "Hej! Jag hörde: Tack"),
        ("assistant", "Varsågod!"),
        ("user", "Tänd lampan"),
        ("assistant", "Lampan är tänd."),
        ("user", "Släck den igen"),
        ("assistant", "Hej! Jag hörde: Släck den igen"),
    ]


async def test_cancelled_task_cancels_the_response(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(text="ett två tre fyra fem sex", delta_interval=30), times=1)
    first_delta = asyncio.Event()

    async def on_event(_: RealtimeEvent) -> None:
        first_delta.set()

    received: list[RealtimeEvent] = []
    task = asyncio.create_task(
        consume(backend.respond("conv-1", "Berätta", config=CONFIG), received, on_event)
    )
    async with asyncio.timeout(10):
        await first_delta.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await server.wait_for(lambda: server.client_events()[-1]["type"] == "response.cancel")

    # Nothing of the cancelled turn is left holding the key: the next turns run promptly,
    # on the same session, and are still serialized.
    async with asyncio.timeout(5):
        events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
        both = await asyncio.gather(
            collect(backend.respond("conv-1", "Ett", config=CONFIG)),
            collect(backend.respond("conv-1", "Två", config=CONFIG)),
        )
    assert text_of(events) == "Hej! Jag hörde: Hej"
    assert done_of(events).new_session is False
    assert sorted(text_of(turn) for turn in both) == [
        "Hej! Jag hörde: Ett",
        "Hej! Jag hörde: Två",
    ]
    assert len(received) == 1
    assert server.handshake_count == 1
    conn = server.connections[0]
    assert conn.client_event_types.count("response.create") == 4
    assert "error" not in conn.server_event_types


async def test_unknown_model_is_a_connection_error(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    backend = RealtimeBackend(client, model="gpt-nope")
    try:
        with pytest.raises(RealtimeConnectionError) as exc_info:
            await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    finally:
        await backend.close()
    assert exc_info.value.code == "invalid_value"
    assert server.connections[0].handshake.model == "gpt-nope"


async def test_audio_turn(server: RealtimeTestServer, backend: RealtimeBackend) -> None:
    audio_config = RealtimeSessionConfig(
        instructions="Prata svenska.", output_modality="audio", voice="cedar"
    )
    server.add_rule(Reply(text="Hej där"))
    events = await collect(backend.respond("sat-1", "Hej", config=audio_config))

    audio = b"".join(e.audio for e in events if isinstance(e, RealtimeAudioDelta))
    assert len(audio) == 2 * 100 * 48
    assert any(audio)
    transcript = [e for e in events if isinstance(e, RealtimeTextDelta)]
    assert all(e.transcript for e in transcript)
    assert done_of(events).text == "Hej där"
    update = server.client_events("session.update")[0]["session"]
    assert update["output_modalities"] == ["audio"]
    assert update["audio"]["output"]["voice"] == "cedar"

    # The voice cannot change after audio output: a new session is opened instead.
    other_voice = RealtimeSessionConfig(
        instructions="Prata svenska.", output_modality="audio", voice="marin"
    )
    events = await collect(
        backend.respond(
            "sat-1",
            "Byt röst",
            config=other_voice,
            history=[ContextMessage("user", "Hej"), ContextMessage("assistant", "Hej där")],
        )
    )
    assert done_of(events).new_session is True
    assert server.handshake_count == 2
    assert "error" not in server.connections[0].server_event_types


async def test_unknown_server_events_are_ignored(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.set_faults(unknown_events=True)
    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert text_of(events) == "Hej! Jag hörde: Hej"
    assert done_of(events).status == "completed"
    assert "response.alice_test.unknown_event" in server.connections[0].server_event_types


async def test_api_key_never_logged(
    server: RealtimeTestServer,
    make_backend: BackendFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-top-secret-key-value"
    server.api_keys.add(secret)
    sdk = AsyncOpenAI(api_key=secret, base_url=server.base_url, max_retries=0)
    backend = make_backend(sdk)
    try:
        await collect(backend.respond("conv-1", "Hej", config=CONFIG))
        server.api_keys.discard(secret)
        with pytest.raises(RealtimeAuthError):
            await collect(make_backend(sdk).respond("conv-1", "Hej", config=CONFIG))
    finally:
        await sdk.close()

    messages = [record.getMessage() for record in caplog.records]
    assert messages
    assert not [message for message in messages if secret in message]
    assert secret not in caplog.text
    # websockets logged the handshake headers, with the key redacted.
    assert any("Authorization: <redacted>" in message for message in messages)


async def test_close_closes_everything(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    await collect(backend.respond("a", "Hej", config=CONFIG))
    await collect(backend.respond("b", "Hej", config=CONFIG))
    await backend.close()
    await server.wait_for(lambda: all(c.closed for c in server.connections))

    assert server.open_connections == []
    assert [c.closed_by for c in server.connections] == ["client", "client"]
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await collect(backend.respond("a", "Hej", config=CONFIG))
    assert exc_info.value.code == "closed"
    # A closed backend opens nothing.
    assert server.handshake_count == 2


async def test_ssl_option_is_dropped_for_plain_websockets(
    server: RealtimeTestServer, make_backend: BackendFactory
) -> None:
    # Home Assistant always passes an SSL context; it is dropped for ws:// URLs.
    options = {"ssl": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)}
    backend = make_backend(websocket_connection_options=options)
    await collect(backend.respond("a", "Hej", config=CONFIG))
    await collect(backend.respond("a", "Igen", config=CONFIG))
    assert server.handshake_count == 1


def test_backend_does_not_import_home_assistant() -> None:
    """The backend's own import closure is free of Home Assistant.

    The integration package imports Home Assistant, so it is stubbed out here.
    """
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    code = (
        "import sys, types\n"
        "for name, path in (('custom_components', 'custom_components'),"
        " ('custom_components.alice_voice', 'custom_components/alice_voice')):\n"
        "    module = types.ModuleType(name)\n"
        "    module.__path__ = [path]\n"
        "    sys.modules[name] = module\n"
        "import custom_components.alice_voice.backends.realtime\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'homeassistant'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=root,
    )
    assert result.stdout.strip() == "[]"


def test_session_payload_shape() -> None:
    config = RealtimeSessionConfig(
        instructions="Hej",
        output_modality="audio",
        voice="cedar",
        tools=(PLAY,),
        tool_choice="alice_voice__play_music",
        turn_detection={"type": "semantic_vad", "eagerness": "high"},
        max_output_tokens=512,
        transcription={"model": "gpt-4o-mini-transcribe", "language": "sv"},
    )
    assert config.session_payload() == {
        "type": "realtime",
        "instructions": "Hej",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
                "transcription": {"model": "gpt-4o-mini-transcribe", "language": "sv"},
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "cedar"},
        },
        "tools": [PLAY.as_param()],
        "tool_choice": {"type": "function", "name": "alice_voice__play_music"},
        "max_output_tokens": 512,
    }


async def test_dead_pooled_session_is_retried_once(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    # The connection dies unnoticed while idle; the next turn finds out on first use.
    server.set_faults(drop_on_client_event="abort")
    events = await collect(
        backend.respond(
            "conv-1",
            "Hej igen",
            config=CONFIG,
            history=[
                ContextMessage("user", "Hej"),
                ContextMessage("assistant", "Hej! Jag hörde: Hej"),
            ],
        )
    )
    assert text_of(events) == "Hej! Jag hörde: Hej igen"
    assert done_of(events).new_session is True
    assert server.handshake_count == 2
    assert "dropped" in server.connections[0].client_events[-1].event
    # The new session was seeded with the conversation so far.
    assert [it["role"] for it in server.connections[1].conversation] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]


async def test_stalled_stream_times_out(
    server: RealtimeTestServer, make_backend: BackendFactory
) -> None:
    backend = make_backend(stream_timeout=0.2)
    server.add_rule(Reply(text="ett två tre", delta_interval=30), times=1)
    received: list[RealtimeEvent] = []
    with pytest.raises(RealtimeTimeoutError) as exc_info:
        await consume(backend.respond("conv-1", "Hej", config=CONFIG), received)
    assert exc_info.value.code == "stream_timeout"
    assert text_of(received) == "ett "
    # The stalled response is cancelled and the session closed; the next turn reconnects.
    await server.wait_for(lambda: server.connections[0].closed)
    first = server.connections[0]
    assert first.client_event_types[-2:] == ["response.create", "response.cancel"]
    assert first.closed_by == "client"
    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert done_of(events).new_session is True
    assert server.handshake_count == 2


async def test_failed_response_is_a_response_error(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(text="Hm", failed_code="rate_limit_exceeded"), times=1)
    with pytest.raises(RealtimeResponseError) as exc_info:
        await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert exc_info.value.code == "rate_limit_exceeded"
    # The session is discarded: the client closes it and the next turn reconnects.
    await server.wait_for(lambda: server.connections[0].closed)
    assert server.connections[0].closed_by == "client"
    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert done_of(events).status == "completed"
    assert done_of(events).new_session is True
    assert server.handshake_count == 2


async def test_tool_outputs_after_session_ended(
    server: RealtimeTestServer,
    backend: RealtimeBackend,
    realtime_log: pytest.LogCaptureFixture,
) -> None:
    server.add_rule(Reply(function_calls=[FunctionCall("alice_voice__play_music", {"query": "x"})]))
    events = await collect(backend.respond("conv-1", "Spela", config=TOOL_CONFIG))
    call = done_of(events).function_calls[0]
    sent_before = len(server.connections[0].client_events)
    await server.expire_sessions()
    # The session ended while idle and the backend has noticed.
    await client_noticed_end(realtime_log, "conv-1")
    with pytest.raises(RealtimeConnectionError) as exc_info:
        await collect(backend.submit_tool_outputs("conv-1", [(call.call_id, "{}")]))
    assert exc_info.value.code == "no_session"
    assert len(server.connections[0].client_events) == sent_before
    assert server.handshake_count == 1


def test_argument_parsing_and_close_descriptions() -> None:
    assert realtime_stream.parse_arguments("") == ({}, True)
    assert realtime_stream.parse_arguments('{"a": 1}') == ({"a": 1}, True)
    assert realtime_stream.parse_arguments("[1, 2]") == ({}, False)
    assert realtime_stream.parse_arguments("{nope") == ({}, False)
    assert realtime_errors.close_description(None) == "the server closed the connection"
    assert realtime_errors.close_description(OSError("x")) == "connection failed (OSError)"
    assert realtime_errors.close_code(None) is None


async def test_response_cancelled_by_server_vad(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.add_rule(Reply(text="ett två tre fyra fem sex", delta_interval=30), times=1)

    async def barge_in(_: RealtimeEvent) -> None:
        await server.barge_in()

    received: list[RealtimeEvent] = []
    await consume(backend.respond("conv-1", "Berätta", config=CONFIG), received, barge_in)
    done = done_of(received)
    assert done.status == "cancelled"
    assert done.reason == "turn_detected"
    assert done.text == "ett "
    # The session stays usable and knows its partial answer.
    history = [ContextMessage("user", "Berätta"), ContextMessage("assistant", "ett ")]
    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG, history=history))
    assert done_of(events).new_session is False
    assert server.handshake_count == 1
    assert len(server.client_events("conversation.item.create")) == 2


async def test_http_403_is_an_auth_error(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.set_faults(handshake_status=403)
    with pytest.raises(RealtimeAuthError) as exc_info:
        await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert exc_info.value.code == "http_403"
    assert server.connection_count == 0


async def abandon_after_first_event(
    backend: RealtimeBackend,
    config: RealtimeSessionConfig,
    before_leaving: Callable[[], Awaitable[None]],
) -> None:
    """Start a turn, run ``before_leaving`` at its first event, then stop listening."""
    async with asyncio.timeout(10):
        async with contextlib.aclosing(backend.respond("conv-1", "Berätta", config=config)) as s:
            async for _ in s:
                await before_leaving()
                break


async def test_tool_outputs_after_session_expired_mid_response(
    server: RealtimeTestServer,
    backend: RealtimeBackend,
    realtime_log: pytest.LogCaptureFixture,
) -> None:
    server.add_rule(
        Reply(
            function_calls=[
                FunctionCall("alice_voice__play_music", {"query": "x"}, "call_x"),
                FunctionCall("alice_voice__play_music", {"query": "y"}, "call_y"),
            ],
            delta_interval=30,
        ),
        times=1,
    )

    async def expire() -> None:
        await server.expire_sessions()
        await server.wait_for(lambda: server.connections[0].closed)
        await client_noticed_end(realtime_log, "conv-1")

    # The caller got the first call; the session expired before the second.
    await abandon_after_first_event(backend, TOOL_CONFIG, expire)
    with pytest.raises(RealtimeSessionExpired) as exc_info:
        await collect(backend.submit_tool_outputs("conv-1", [("call_x", "{}")]))
    assert exc_info.value.code == "session_expired"
    assert server.connections[0].client_event_types[-1] == "response.create"
    assert server.connections[0].close_code == 1001
    # The expired session was let go: nothing is left to answer, a new turn reconnects.
    with pytest.raises(RealtimeConnectionError) as no_session:
        await collect(backend.submit_tool_outputs("conv-1", [("call_x", "{}")]))
    assert no_session.value.code == "no_session"
    events = await collect(backend.respond("conv-1", "Hej", config=TOOL_CONFIG))
    assert done_of(events).new_session is True
    assert server.handshake_count == 2


async def test_expired_session_is_replaced_before_a_turn(
    server: RealtimeTestServer,
    backend: RealtimeBackend,
    realtime_log: pytest.LogCaptureFixture,
) -> None:
    server.add_rule(Reply(text="ett två tre fyra", delta_interval=30), times=1)

    async def expire() -> None:
        await server.expire_sessions()
        await server.wait_for(lambda: server.connections[0].closed)
        await client_noticed_end(realtime_log, "conv-1")

    await abandon_after_first_event(backend, CONFIG, expire)
    events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
    assert done_of(events).new_session is True
    assert text_of(events) == "Hej! Jag hörde: Hej"
    assert server.handshake_count == 2
    assert server.connections[0].client_event_types[-1] == "response.create"
    assert user_texts(server.connections[1]) == ["Hej"]


@pytest.mark.parametrize("then", ["respond", "submit_tool_outputs"])
async def test_connection_lost_on_cancel(
    server: RealtimeTestServer,
    backend: RealtimeBackend,
    realtime_log: pytest.LogCaptureFixture,
    then: str,
) -> None:
    server.add_rule(Reply(text="ett två tre fyra", delta_interval=30), times=1)

    async def drop_on_cancel() -> None:
        server.set_faults(drop_on_client_event="close_1011")

    # The cancel sent for the abandoned turn finds a dead server: no response.done comes.
    await abandon_after_first_event(backend, CONFIG, drop_on_cancel)
    await server.wait_for(lambda: server.connections[0].closed)
    await client_noticed_end(realtime_log, "conv-1")
    first = server.connections[0]
    assert first.client_events[-1].event["dropped"]
    assert first.close_code == 1011
    # The response never ended on the wire: the session died with it still in flight.
    assert "response.done" not in first.server_event_types

    if then == "respond":
        # The next turn replaces the dead session.
        events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
        assert text_of(events) == "Hej! Jag hörde: Hej"
        assert done_of(events).new_session is True
    else:
        with pytest.raises(RealtimeConnectionError) as exc_info:
            await collect(backend.submit_tool_outputs("conv-1", [("call_1", "{}")]))
        assert exc_info.value.code == "no_session"
        # The dead session was let go: the next turn opens a new one.
        events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
        assert done_of(events).new_session is True
    assert server.handshake_count == 2
    assert user_texts(server.connections[1]) == ["Hej"]


async def test_turn_cancelled_during_the_handshake(
    server: RealtimeTestServer, backend: RealtimeBackend
) -> None:
    server.handshake_delay = 30
    task = asyncio.create_task(collect(backend.respond("conv-1", "Hej", config=CONFIG)))
    await eventually(lambda: server.handshake_count == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.connection_count == 0

    # The cancelled turn left nothing behind: the key is free at once (the next turns run
    # promptly and are serialized) and nothing half-open is reused.
    server.handshake_delay = 0
    async with asyncio.timeout(5):
        events = await collect(backend.respond("conv-1", "Hej", config=CONFIG))
        both = await asyncio.gather(
            collect(backend.respond("conv-1", "Ett", config=CONFIG)),
            collect(backend.respond("conv-1", "Två", config=CONFIG)),
        )
    assert done_of(events).new_session is True
    assert [done_of(turn).new_session for turn in both] == [False, False]
    assert server.handshake_count == 2
    assert server.connection_count == 1
    conn = server.connections[0]
    assert sorted(user_texts(conn)) == ["Ett", "Hej", "Två"]
    assert "error" not in conn.server_event_types


def test_error_mapping() -> None:
    auth = realtime_errors.error_from_event("invalid_api_key", "Incorrect API key")
    assert isinstance(auth, RealtimeAuthError)
    assert auth.code == "invalid_api_key"
    expired = realtime_errors.error_from_event("session_expired", "60 minutes")
    assert isinstance(expired, RealtimeSessionExpired)
    other = realtime_errors.error_from_event("server_error", "Boom")
    assert isinstance(other, RealtimeResponseError)
    assert str(other) == "Realtime error server_error: Boom"
    protocol = realtime_errors.unexpected_event_error("response.created")
    assert isinstance(protocol, RealtimeConnectionError)
    assert protocol.code == "protocol"
    assert isinstance(realtime_errors.closed_error(None, expired=True), RealtimeSessionExpired)
    closed = realtime_errors.closed_error(None, expired=False)
    assert isinstance(closed, RealtimeConnectionError)
    assert closed.code == "closed"
