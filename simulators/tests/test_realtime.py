"""Tests for the Realtime test server, driven by the real openai SDK and raw aiohttp."""

import asyncio
import base64
import json
import re
from typing import Any, cast

import aiohttp
from openai import APIStatusError, AsyncOpenAI, AuthenticationError
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime import ConversationItemParam, RealtimeFunctionToolParam
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from simulators.realtime import (
    BYTES_PER_MS_PCM,
    UNKNOWN_EVENT_TYPE,
    FunctionCall,
    RealtimeTestServer,
    Reply,
    ResponseRequest,
)

MODEL = "gpt-realtime"
TEXT_SESSION: dict[str, Any] = {"type": "realtime", "output_modalities": ["text"]}
PLAY_TOOL: RealtimeFunctionToolParam = {
    "type": "function",
    "name": "alice_voice__play_music",
    "description": "Spela musik",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
    },
}
USER_HELLO: ConversationItemParam = {
    "type": "message",
    "role": "user",
    "content": [{"type": "input_text", "text": "Hej Alice"}],
}


def dump(event: Any) -> dict[str, Any]:
    """Return an SDK event as a plain dict (as sent by the server)."""
    return cast("dict[str, Any]", event.to_dict())


async def send(conn: AsyncRealtimeConnection, event: dict[str, Any]) -> None:
    """Send an event verbatim (the SDK's typed helpers refuse invalid shapes)."""
    await conn.send_raw(json.dumps(event))


async def drain(conn: AsyncRealtimeConnection, received: list[str]) -> None:
    """Receive until the connection ends, recording event types."""
    async with asyncio.timeout(10):
        async for event in conn:
            received.append(event.type)  # noqa: PERF401 - keep what came before an error


async def recv_until(
    conn: AsyncRealtimeConnection, event_type: str, *, limit: int = 500
) -> list[RealtimeServerEvent]:
    """Receive events up to and including the first of ``event_type``."""
    events: list[RealtimeServerEvent] = []
    async with asyncio.timeout(10):
        while len(events) < limit:
            event = await conn.recv()
            events.append(event)
            if event.type == event_type:
                return events
    raise AssertionError(f"{event_type} not received: {[e.type for e in events]}")


async def open_text_session(
    client: AsyncOpenAI, **session: Any
) -> tuple[Any, AsyncRealtimeConnection]:
    """Connect, check session.created and switch to text output."""
    manager = client.realtime.connect(model=MODEL)
    conn = await manager.enter()
    first = await conn.recv()
    assert first.type == "session.created"
    await send(conn, {"type": "session.update", "session": {**TEXT_SESSION, **session}})
    await recv_until(conn, "session.updated")
    return manager, conn


async def test_session_created_first_and_handshake_recorded(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        first = await conn.recv()
        assert first.type == "session.created"
        session = dump(first)["session"]
    assert session["type"] == "realtime"
    assert session["model"] == MODEL
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["id"].startswith("sess_")

    await server.wait_for(lambda: server.connections[0].closed)
    assert server.handshake_count == 1
    handshake = server.handshakes[0]
    assert handshake.auth_valid is True
    assert handshake.status == 101
    assert handshake.model == MODEL
    headers = {key.lower(): value for key, value in handshake.headers.items()}
    assert headers["authorization"] == "<redacted>"
    assert headers["user-agent"].startswith("AsyncOpenAI/Python")
    assert "openai-beta" not in headers
    assert server.api_key not in json.dumps(handshake.headers)
    assert server.connections[0].close_code == 1000


async def test_session_update_merges_and_acknowledges(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await conn.session.update(
            session={
                "type": "realtime",
                "instructions": "Du är Alice. Svara kort.",
                "audio": {"output": {"voice": "cedar"}},
                "tools": [PLAY_TOOL],
            }
        )
        updated = (await recv_until(conn, "session.updated"))[-1]
    session = dump(updated)["session"]
    assert session["instructions"] == "Du är Alice. Svara kort."
    assert session["audio"]["output"]["voice"] == "cedar"
    # Untouched parts of the session survive a partial update.
    assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert session["tools"][0]["name"] == "alice_voice__play_music"


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        pytest.param(
            {"instructions": "x"}, "missing_required_parameter", "session.type", id="no-type"
        ),
        pytest.param(
            {"type": "realtime", "modalities": ["text"]},
            "unknown_parameter",
            "session.modalities",
            id="preview-modalities",
        ),
        pytest.param(
            {"type": "realtime", "input_audio_format": "pcm16"},
            "unknown_parameter",
            "session.input_audio_format",
            id="preview-input-format",
        ),
        pytest.param(
            {"type": "realtime", "audio": {"input": {"format": "pcm16"}}},
            "invalid_value",
            "session.audio.input.format",
            id="preview-format-name",
        ),
        pytest.param(
            {
                "type": "realtime",
                "audio": {"output": {"format": {"type": "audio/pcm", "rate": 16000}}},
            },
            "invalid_value",
            "session.audio.output.format.rate",
            id="pcm-16k",
        ),
        pytest.param(
            {"type": "realtime", "output_modalities": ["text", "audio"]},
            "invalid_value",
            "session.output_modalities",
            id="both-modalities",
        ),
        pytest.param(
            {"type": "realtime", "tools": [{"type": "function", "function": {"name": "x"}}]},
            "unknown_parameter",
            "session.tools[0].function",
            id="nested-tool",
        ),
        pytest.param(
            {"type": "realtime", "audio": {"output": {"voice": "nova"}}},
            "invalid_value",
            "session.audio.output.voice",
            id="bad-voice",
        ),
    ],
)
async def test_session_update_rejected(
    client: AsyncOpenAI, session: dict[str, Any], code: str, param: str
) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await send(conn, {"type": "session.update", "event_id": "evt_client_1", "session": session})
        error = (await recv_until(conn, "error"))[-1]
        assert error.type == "error"
        assert error.error.code == code
        assert error.error.param == param
        assert error.error.event_id == "evt_client_1"
        # Recoverable: the connection stays usable and nothing was applied.
        await conn.session.update(session={"type": "realtime"})
        updated = (await recv_until(conn, "session.updated"))[-1]
        assert updated.type == "session.updated"
        assert dump(updated)["session"]["output_modalities"] == ["audio"]


async def test_text_response_sequence(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    server.add_rule(Reply(text="Klockan är tre.", deltas=3), user_text="klockan")
    manager, conn = await open_text_session(client)
    try:
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Vad är klockan?"}],
            }
        )
        added = await recv_until(conn, "conversation.item.done")
        assert [e.type for e in added] == ["conversation.item.added", "conversation.item.done"]
        await conn.response.create()
        events = await recv_until(conn, "response.done")
        events += await recv_until(conn, "rate_limits.updated")
    finally:
        await manager.__aexit__(None, None, None)
    types = [e.type for e in events]
    assert types == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
        "rate_limits.updated",
    ]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Klockan är tre."
    text_done = next(e for e in events if e.type == "response.output_text.done")
    assert text_done.type == "response.output_text.done"
    assert text_done.text == "Klockan är tre."
    done = events[-2]
    assert done.type == "response.done"
    assert done.response.status == "completed"
    assert done.response.usage is not None
    usage = done.response.usage
    assert usage.total_tokens == (usage.input_tokens or 0) + (usage.output_tokens or 0) > 0
    output = dump(done)["response"]["output"]
    assert output[0]["content"] == [{"type": "output_text", "text": "Klockan är tre."}]
    # The server keeps the conversation: user message + assistant answer.
    conversation = server.connections[0].conversation
    assert [(it["type"], it.get("role")) for it in conversation] == [
        ("message", "user"),
        ("message", "assistant"),
    ]


async def test_audio_response_sequence(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    server.add_rule(Reply(text="Hej där du"))
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        events = await recv_until(conn, "response.done")
    types = [e.type for e in events]
    core = [t for t in types if not t.startswith("conversation.item")]
    assert core[:3] == [
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert (
        core[3:9]
        == [
            "response.output_audio_transcript.delta",
            "response.output_audio.delta",
        ]
        * 3
    )
    assert core[9:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.done",
    ]
    audio = b"".join(
        base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"
    )
    assert len(audio) == 3 * 100 * BYTES_PER_MS_PCM
    assert any(audio)  # a tone, not silence
    transcript = next(e for e in events if e.type == "response.output_audio_transcript.done")
    assert transcript.type == "response.output_audio_transcript.done"
    assert transcript.transcript == "Hej där du"
    # Every server frame stays far below the SDK's 1 MiB limit.
    assert max(len(json.dumps(e)) for e in server.connections[0].server_events) < 64 * 1024


async def test_function_call_then_outputs_and_single_response(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.add_rule(
        Reply(
            text="Jag spelar jazz.",
            function_calls=[FunctionCall("alice_voice__play_music", {"query": "jazz"}, "call_1")],
        ),
        user_text=re.compile(r"spela \w+"),
    )
    server.add_rule(
        lambda req: Reply(text=f"Nu spelas {json.loads(req.tool_outputs[0]['output'])['title']}."),
        after_tool_output=True,
    )
    manager, conn = await open_text_session(client, tools=[PLAY_TOOL])
    try:
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "spela jazz"}],
            }
        )
        await conn.response.create()
        events = await recv_until(conn, "response.done")
        added = [e for e in events if e.type == "response.output_item.added"]
        assert added[1].type == "response.output_item.added"
        call_item = dump(added[1])["item"]
        assert call_item["type"] == "function_call"
        assert call_item["name"] == "alice_voice__play_music"
        assert call_item["call_id"] == "call_1"
        assert call_item["arguments"] == ""
        args_done = next(e for e in events if e.type == "response.function_call_arguments.done")
        assert args_done.type == "response.function_call_arguments.done"
        assert json.loads(args_done.arguments) == {"query": "jazz"}
        arg_deltas = "".join(
            e.delta for e in events if e.type == "response.function_call_arguments.delta"
        )
        assert arg_deltas == args_done.arguments
        await recv_until(conn, "rate_limits.updated")

        # Tool output alone creates no response: the next events are the item acks and the
        # session.updated of a probe update, in order.
        await conn.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": "call_1",
                "output": '{"title": "So What"}',
            }
        )
        await conn.session.update(session={"type": "realtime"})
        between = await recv_until(conn, "session.updated")
        assert [e.type for e in between] == [
            "conversation.item.added",
            "conversation.item.done",
            "session.updated",
        ]
        await conn.response.create()
        events = await recv_until(conn, "response.done")
    finally:
        await manager.__aexit__(None, None, None)
    answer = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert answer == "Nu spelas So What."
    assert server.client_events("response.create").__len__() == 2


async def test_function_call_output_needs_known_call(client: AsyncOpenAI) -> None:
    manager, conn = await open_text_session(client)
    try:
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": "call_nope", "output": "{}"}
        )
        error = (await recv_until(conn, "error"))[-1]
    finally:
        await manager.__aexit__(None, None, None)
    assert error.type == "error"
    assert error.error.code == "invalid_value"
    assert error.error.param == "item.call_id"


async def test_calls_to_tools_not_offered_are_dropped(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.add_rule(Reply(function_calls=[FunctionCall("alice_voice__play_music", {})]))
    manager, conn = await open_text_session(client)
    try:
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        events = await recv_until(conn, "response.done")
    finally:
        await manager.__aexit__(None, None, None)
    types = {e.type for e in events}
    assert "response.function_call_arguments.done" not in types
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "Hej! Jag hörde: Hej Alice"
    )


async def test_cancel_active_and_idle(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    server.add_rule(Reply(text="Ett långt svar som aldrig hinner fram", first_delta_delay=30))
    manager, conn = await open_text_session(client)
    try:
        await send(conn, {"type": "response.cancel", "event_id": "evt_idle_cancel"})
        error = (await recv_until(conn, "error"))[-1]
        assert error.type == "error"
        assert error.error.code == "response_cancel_not_active"
        assert error.error.event_id == "evt_idle_cancel"

        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        created = (await recv_until(conn, "response.created"))[-1]
        assert created.type == "response.created"
        await conn.response.cancel()
        done = (await recv_until(conn, "response.done"))[-1]
    finally:
        await manager.__aexit__(None, None, None)
    assert done.type == "response.done"
    assert done.response.id == created.response.id
    assert done.response.status == "cancelled"
    assert done.response.status_details is not None
    assert done.response.status_details.reason == "client_cancelled"


async def test_concurrent_response_create_is_rejected(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.add_rule(Reply(text="Långsamt", first_delta_delay=30))
    manager, conn = await open_text_session(client)
    try:
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        await recv_until(conn, "response.created")
        await conn.response.create()
        error = (await recv_until(conn, "error"))[-1]
        assert error.type == "error"
        assert error.error.code == "conversation_already_has_active_response"
        await conn.response.cancel()
        done = (await recv_until(conn, "response.done"))[-1]
    finally:
        await manager.__aexit__(None, None, None)
    assert done.type == "response.done"
    assert done.response.status == "cancelled"


async def test_input_audio_buffer(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    short = base64.b64encode(bytes(50 * BYTES_PER_MS_PCM)).decode()
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await conn.input_audio_buffer.append(audio=short)
        await conn.input_audio_buffer.commit()
        error = (await recv_until(conn, "error"))[-1]
        assert error.type == "error"
        assert error.error.code == "input_audio_buffer_commit_empty"

        await conn.input_audio_buffer.append(audio=short)  # now 100 ms
        await conn.input_audio_buffer.commit()
        events = await recv_until(conn, "conversation.item.done")
        assert [e.type for e in events] == [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        ]
        item = dump(events[-1])["item"]
        assert item["role"] == "user"
        assert item["content"][0]["type"] == "input_audio"

        await conn.input_audio_buffer.append(audio=short)
        await conn.input_audio_buffer.clear()
        cleared = (await recv_until(conn, "input_audio_buffer.cleared"))[-1]
        assert cleared.type == "input_audio_buffer.cleared"

        await send(conn, {"type": "input_audio_buffer.append", "audio": "not base64!"})
        error = (await recv_until(conn, "error"))[-1]
        assert error.type == "error"
        assert error.error.code == "invalid_value"
    appends = server.client_events("input_audio_buffer.append")
    assert len(appends) == 4


async def test_input_audio_transcription(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    server.input_audio_transcript = "Tänd lampan i köket"
    server.add_rule(Reply(text="Jag tänder lampan."), user_text="lampan")
    manager, conn = await open_text_session(
        client,
        audio={"input": {"transcription": {"model": "gpt-4o-mini-transcribe", "language": "sv"}}},
    )
    try:
        await conn.input_audio_buffer.append(audio=base64.b64encode(bytes(24_000)).decode())
        await conn.input_audio_buffer.commit()
        transcription = (
            await recv_until(conn, "conversation.item.input_audio_transcription.completed")
        )[-1]
        await conn.response.create()
        events = await recv_until(conn, "response.done")
    finally:
        await manager.__aexit__(None, None, None)
    assert transcription.type == "conversation.item.input_audio_transcription.completed"
    assert transcription.transcript == "Tänd lampan i köket"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "Jag tänder lampan."
    )


async def test_bad_key_rejected_with_http_401(server: RealtimeTestServer) -> None:
    sdk = AsyncOpenAI(api_key="sk-wrong", base_url=server.base_url, max_retries=0)
    try:
        with pytest.raises(InvalidStatus) as exc_info:
            async with sdk.realtime.connect(model=MODEL):
                pass
    finally:
        await sdk.close()
    assert exc_info.value.response.status_code == 401
    assert server.handshakes[0].auth_valid is False
    assert server.handshakes[0].status == 401
    assert server.connection_count == 0


async def test_bad_key_rejected_with_error_event(server: RealtimeTestServer) -> None:
    server.bad_key_mode = "event"
    sdk = AsyncOpenAI(api_key="sk-wrong", base_url=server.base_url, max_retries=0)
    try:
        async with sdk.realtime.connect(model=MODEL) as conn:
            first = await conn.recv()
            assert first.type == "error"
            assert first.error.code == "invalid_api_key"
            with pytest.raises(ConnectionClosedError) as exc_info:
                await conn.recv()
    finally:
        await sdk.close()
    assert exc_info.value.rcvd is not None
    assert exc_info.value.rcvd.code == 1008
    assert server.connections[0].handshake.auth_valid is False
    assert server.connections[0].server_event_types == ["error"]


async def test_handshake_fault_status(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    server.set_faults(handshake_status=503)
    with pytest.raises(InvalidStatus) as exc_info:
        async with client.realtime.connect(model=MODEL):
            pass
    assert exc_info.value.response.status_code == 503
    server.clear_faults()
    async with client.realtime.connect(model=MODEL) as conn:
        assert (await conn.recv()).type == "session.created"
    assert server.handshake_count == 2


async def test_unknown_model(client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model="gpt-nope") as conn:
        error = await conn.recv()
        assert error.type == "error"
        assert error.error.code == "invalid_value"
        assert error.error.param == "model"
        with pytest.raises(ConnectionClosedError):
            await conn.recv()


async def test_session_expired_on_demand_closes_1001(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await server.expire_sessions()
        error = await conn.recv()
        assert error.type == "error"
        assert error.error.code == "session_expired"
        # Close 1001 ends the SDK's iteration silently.
        assert [event.type async for event in conn] == []
    assert server.connections[0].close_code == 1001


async def test_session_expires_after_max_age(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.session_max_age = 0.05
    async with client.realtime.connect(model=MODEL) as conn:
        async with asyncio.timeout(10):
            types = [event.type async for event in conn]
    assert types == ["session.created", "error"]
    assert server.connections[0].server_events[-1]["error"]["code"] == "session_expired"
    assert server.connections[0].close_code == 1001


@pytest.mark.parametrize(
    ("drop", "code"),
    [pytest.param("close_1011", 1011, id="1011"), pytest.param("abort", 1006, id="abort")],
)
async def test_drop_mid_response(
    server: RealtimeTestServer, client: AsyncOpenAI, drop: Any, code: int
) -> None:
    server.add_rule(Reply(text="ett två tre fyra", drop=drop, drop_after_deltas=2))
    manager, conn = await open_text_session(client)
    received: list[str] = []
    try:
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        with pytest.raises(ConnectionClosedError) as exc_info:
            await drain(conn, received)
    finally:
        await manager.__aexit__(None, None, None)
    assert received.count("response.output_text.delta") == 2
    assert "response.done" not in received
    frame = exc_info.value.rcvd
    assert (frame.code if frame is not None else 1006) == code


async def test_oversized_frame_makes_sdk_close_1009(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.set_faults(oversized_frame=True)
    manager, conn = await open_text_session(client)
    try:
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        with pytest.raises(ConnectionClosedError) as exc_info:
            await drain(conn, [])
    finally:
        await manager.__aexit__(None, None, None)
    assert exc_info.value.sent is not None
    assert exc_info.value.sent.code == 1009
    await server.wait_for(lambda: server.connections[0].closed)
    assert server.connections[0].close_code == 1009


async def test_unknown_event_types(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    server.set_faults(unknown_events=True)
    async with client.realtime.connect(model=MODEL) as conn:
        events = await recv_until(conn, "session.created")
        unknown = await conn.recv()
        # The SDK does not validate: an unknown type arrives as the first union class.
        assert str(unknown.type) == UNKNOWN_EVENT_TYPE
        assert type(unknown).__name__ == "ConversationCreatedEvent"

        await send(conn, {"type": "conversation.teleport", "event_id": "evt_unknown"})
        error = (await recv_until(conn, "error"))[-1]
        assert error.type == "error"
        assert error.error.code == "invalid_value"
        assert error.error.event_id == "evt_unknown"

        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        events = await recv_until(conn, "response.done")
    assert UNKNOWN_EVENT_TYPE in [e.type for e in events]


async def test_rules_and_default_reply(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    once = server.add_rule(Reply(text="Första gången."), user_text="hej", times=1)
    server.add_rule(Reply(text="Med verktyg."), tool_offered="alice_voice__play_music")
    server.add_rule(Reply(text="Predikat."), predicate=lambda req: req.instructions == "Var kort.")
    seen: list[ResponseRequest] = []

    def capture(req: ResponseRequest) -> Reply:
        seen.append(req)
        return Reply(text="Fångad.")

    server.add_rule(capture, user_text="fånga")

    async def ask(conn: AsyncRealtimeConnection, text: str, **response: Any) -> str:
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            }
        )
        await send(conn, {"type": "response.create", "response": response})
        events = await recv_until(conn, "response.done")
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")

    manager, conn = await open_text_session(client)
    try:
        assert await ask(conn, "Hej!") == "Första gången."
        assert await ask(conn, "Hej igen") == "Hej! Jag hörde: Hej igen"
        assert await ask(conn, "x", tools=[PLAY_TOOL]) == "Med verktyg."
        assert await ask(conn, "y", instructions="Var kort.") == "Predikat."
        assert await ask(conn, "fånga mig") == "Fångad."
    finally:
        await manager.__aexit__(None, None, None)
    assert once.hits == 1
    assert seen[0].user_text == "fånga mig"
    assert seen[0].output_modalities == ("text",)
    assert not seen[0].after_tool_output


async def test_out_of_band_response_and_overrides(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    manager, conn = await open_text_session(client)
    try:
        await conn.response.create(
            response={
                "conversation": "none",
                "output_modalities": ["text"],
                "instructions": "Sammanfatta.",
                "input": [USER_HELLO],
                "metadata": {"purpose": "summary"},
            }
        )
        events = await recv_until(conn, "response.done")
        await conn.response.create(response={"max_output_tokens": 1})
        truncated = await recv_until(conn, "response.done")
        await send(conn, {"type": "response.create", "response": {"modalities": ["text"]}})
        error = (await recv_until(conn, "error"))[-1]
    finally:
        await manager.__aexit__(None, None, None)
    done = events[-1]
    assert done.type == "response.done"
    assert done.response.conversation_id is None
    assert "conversation.item.added" not in [e.type for e in events]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "Hej! Jag hörde: Hej Alice"
    )
    # Only the in-band (truncated) answer joined the conversation.
    conversation = server.connections[0].conversation
    assert [(it["role"], it["status"]) for it in conversation] == [("assistant", "incomplete")]
    last = truncated[-1]
    assert last.type == "response.done"
    assert last.response.status == "incomplete"
    assert last.response.status_details is not None
    assert last.response.status_details.reason == "max_output_tokens"
    assert error.type == "error"
    assert error.error.code == "unknown_parameter"
    assert error.error.param == "response.modalities"


async def test_response_error_fault(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    server.set_faults(response_error_code="server_error")
    manager, conn = await open_text_session(client)
    try:
        await send(conn, {"type": "response.create", "event_id": "evt_resp"})
        error = (await recv_until(conn, "error"))[-1]
        server.clear_faults()
        await conn.response.create()
        events = await recv_until(conn, "response.done")
    finally:
        await manager.__aexit__(None, None, None)
    assert error.type == "error"
    assert error.error.code == "server_error"
    assert error.error.event_id == "evt_resp"
    assert events[0].type == "response.created"
    created = server.connections[0].server_event_types.count("response.created")
    assert created == 1


async def test_barge_in_cancels_with_turn_detected(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.add_rule(Reply(text="Ett långt svar", first_delta_delay=30))
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        await recv_until(conn, "response.created")
        await server.barge_in()
        events = await recv_until(conn, "response.done")
    assert events[0].type == "input_audio_buffer.speech_started"
    done = events[-1]
    assert done.type == "response.done"
    assert done.response.status == "cancelled"
    assert done.response.status_details is not None
    assert done.response.status_details.reason == "turn_detected"


async def test_voice_cannot_change_after_audio(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await conn.session.update(
            session={"type": "realtime", "audio": {"output": {"voice": "cedar"}}}
        )
        await recv_until(conn, "session.updated")
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        await recv_until(conn, "response.done")
        await conn.session.update(
            session={"type": "realtime", "audio": {"output": {"voice": "alloy"}}}
        )
        error = (await recv_until(conn, "error"))[-1]
    assert error.type == "error"
    assert error.error.code == "cannot_update_voice"


async def test_conversation_items_roles_and_history(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    manager, conn = await open_text_session(client)
    try:
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "system",
                "content": [{"type": "input_text", "text": "Användaren heter Kim."}],
            }
        )
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hej Kim!"}],
            }
        )
        await recv_until(conn, "conversation.item.done")
        await recv_until(conn, "conversation.item.done")
        # Preview content type for assistant messages is rejected.
        await send(
            conn,
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": "x"}],
                },
            },
        )
        error = (await recv_until(conn, "error"))[-1]
    finally:
        await manager.__aexit__(None, None, None)
    assert error.type == "error"
    assert error.error.code == "invalid_value"
    assert [it["role"] for it in server.connections[0].conversation] == ["system", "assistant"]
    assert server.received_text("heter kim")
    assert not server.received_text("Lisa")


async def test_models_endpoint(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    page = await client.models.list(timeout=10.0)
    assert "gpt-realtime" in [model.id for model in page.data]
    bad = AsyncOpenAI(api_key="sk-wrong", base_url=server.base_url, max_retries=0)
    try:
        with pytest.raises(AuthenticationError) as exc_info:
            await bad.models.list(timeout=10.0)
    finally:
        await bad.close()
    assert exc_info.value.status_code == 401
    assert exc_info.value.code == "invalid_api_key"
    assert server.models_requests == [(True, 200), (False, 401)]


async def test_raw_client_checks(server: RealtimeTestServer) -> None:
    """Things the SDK hides: missing auth, binary frames, bad JSON and event ids."""
    url = f"{server.ws_url}?model={MODEL}"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 401
            body = await response.json()
            assert body["error"]["code"] == "invalid_api_key"

        headers = {"Authorization": f"Bearer {server.api_key}"}
        async with http.ws_connect(url, headers=headers) as ws:
            received: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                async with asyncio.timeout(10):
                    message: dict[str, Any] = await ws.receive_json()
                received.append(message)
                return message

            assert (await receive())["type"] == "session.created"
            await ws.send_bytes(b"\x00\x01")
            assert (await receive())["error"]["code"] == "invalid_value"
            await ws.send_str("{not json")
            assert (await receive())["error"]["code"] == "invalid_json"
            await ws.send_json({"event_id": "evt_no_type"})
            error = await receive()
            assert error["error"]["code"] == "missing_required_parameter"
            assert error["error"]["event_id"] == "evt_no_type"
            await ws.send_json({"type": "conversation.item.create", "item": USER_HELLO})
            await ws.send_json({"type": "response.create"})
            while (await receive())["type"] != "rate_limits.updated":
                pass
    event_ids = [event["event_id"] for event in received]
    assert all(event_id.startswith("event_") for event_id in event_ids)
    assert len(set(event_ids)) == len(event_ids)
    recorded = server.connections[0].server_events
    assert len({event["event_id"] for event in recorded}) == len(recorded)
    assert server.connections[0].client_events[0].event == {"binary": 2}
    assert server.connections[0].client_events[1].event == {"raw": "{not json"}


async def test_records_client_events_in_order(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "instructions": "Hemlig prompt"})
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        await recv_until(conn, "response.done")
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
    await server.wait_for(lambda: all(c.closed for c in server.connections))
    assert server.connection_count == 2
    first = server.connections[0]
    assert first.client_event_types == [
        "session.update",
        "conversation.item.create",
        "response.create",
    ]
    times = [record.time for record in first.client_events]
    assert times == sorted(times)
    assert first.session["instructions"] == "Hemlig prompt"
    assert server.received_texts() == ["Hemlig prompt", "Hej Alice"]
    assert server.open_connections == []


async def test_latency_settings_are_applied(socket_enabled: None) -> None:
    """Latency knobs: the reply still arrives intact (no timing assertions)."""
    async with RealtimeTestServer(
        handshake_delay=0.01, first_delta_delay=0.01, delta_interval=0.001
    ) as server:
        sdk = AsyncOpenAI(api_key=server.api_key, base_url=server.base_url, max_retries=0)
        try:
            async with sdk.realtime.connect(model=MODEL) as conn:
                await recv_until(conn, "session.created")
                await conn.conversation.item.create(item=USER_HELLO)
                await conn.response.create(response={"output_modalities": ["text"]})
                events = await recv_until(conn, "response.done")
        finally:
            await sdk.close()
    assert server.handshake_delay == 0.01
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "Hej! Jag hörde: Hej Alice"
    )


async def test_failed_response_and_rest_fault(
    server: RealtimeTestServer, client: AsyncOpenAI
) -> None:
    server.add_rule(Reply(text="Oj", failed_code="server_error"))
    manager, conn = await open_text_session(client)
    try:
        await conn.conversation.item.create(item=USER_HELLO)
        await conn.response.create()
        done = (await recv_until(conn, "response.done"))[-1]
    finally:
        await manager.__aexit__(None, None, None)
    assert done.type == "response.done"
    assert done.response.status == "failed"
    assert done.response.status_details is not None
    assert done.response.status_details.error is not None
    assert done.response.status_details.error.code == "server_error"

    server.set_faults(rest_status=503)
    with pytest.raises(APIStatusError) as exc_info:
        await client.models.list(timeout=10.0)
    assert exc_info.value.status_code == 503


async def test_drop_on_next_client_event(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        server.set_faults(drop_on_client_event="close_1011")
        await conn.conversation.item.create(item=USER_HELLO)
        with pytest.raises(ConnectionClosedError) as exc_info:
            await drain(conn, [])
    assert exc_info.value.rcvd is not None
    assert exc_info.value.rcvd.code == 1011
    assert server.faults.drop_on_client_event is None
    assert "dropped" in server.connections[0].client_events[0].event


async def test_drop_connections_on_demand(server: RealtimeTestServer, client: AsyncOpenAI) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        await recv_until(conn, "session.created")
        await server.drop_connections()
        with pytest.raises(ConnectionClosedError) as exc_info:
            await drain(conn, [])
    assert exc_info.value.rcvd is not None
    assert exc_info.value.rcvd.code == 1011
    assert server.connections[0].closed_by == "server"
    assert server.connections[0].close_code == 1011
