"""Scenario 4: Alice's fast cloud path on the simulated OpenAI Realtime.

Turns in one conversation (the first opens the WebSocket, later ones should
reuse it) against a fresh conversation for every turn (a new connection each
time). Alice's overhead is her time to first text minus the server's
configured time to first delta (plus the handshake on a new connection).

With ``script/bench --openai`` Alice talks to the real OpenAI API (the key from
``OPENAI_API_KEY``, ``--openai-base-url`` for a proxy): the rows that need the
simulator's handshake count or its known first-delta time are skipped with a
note; the time a new connection adds is shown instead.
"""

from typing import Any, Final

from bench.backends import OPENAI_KEY_ENV, openai_key
from bench.harness import Context, ScenarioResult, ms, percentile, scenario, summary
from bench.home import BenchHome, Settings, TurnTiming

# Utterances Alice routes to the fast cloud path (greetings, small talk, simple questions).
UTTERANCES: Final = (
    "hej",
    "vad är huvudstaden i frankrike",
    "tack så mycket",
    "hur många dagar har en vecka",
    "vem skrev pippi långstrump",
    "god morgon",
)

type Runs = list[tuple[TurnTiming, int, int]]


async def _turn(
    home: BenchHome, agent_id: str, text: str, conversation_id: str | None
) -> tuple[TurnTiming, int, int]:
    server = home.realtime
    assert server is not None
    if home.openai_real:  # the real API: no handshake count
        return await home.converse(agent_id, text, conversation_id), 0, 0
    before = await home.servers.call(lambda: server.handshake_count)
    updates = await home.servers.call(lambda: len(server.client_events("session.update")))
    timing = await home.converse(agent_id, text, conversation_id)
    after = await home.servers.call(lambda: server.handshake_count)
    updates_after = await home.servers.call(lambda: len(server.client_events("session.update")))
    return timing, after - before, updates_after - updates


@scenario("cloud", "4 Fast cloud", order=4)
async def run(ctx: Context) -> ScenarioResult:
    """First turn vs later turns in one conversation, and a fresh connection per turn."""
    result = ScenarioResult("cloud", "4 Fast cloud")
    turns_per_conversation = 6 if ctx.quick else 12
    conversations = 2 if ctx.quick else 4
    fresh_turns = 6 if ctx.quick else 12
    key = openai_key() if ctx.backends.openai else None
    if ctx.backends.openai and key is None:
        raise RuntimeError(f"--openai needs the key in {OPENAI_KEY_ENV}")
    async with BenchHome(openai_key=key, openai_base_url=ctx.backends.openai_base_url) as home:
        settings = home.settings
        alice = await home.add_alice(mode="hybrid")
        # Warm-up turn (imports, caches) in a conversation of its own.
        await home.converse(alice, "hej")
        first: list[tuple[TurnTiming, int, int]] = []
        later: list[tuple[TurnTiming, int, int]] = []
        for index in range(conversations):
            conversation_id: str | None = None
            for turn in range(turns_per_conversation):
                text = UTTERANCES[(index + turn) % len(UTTERANCES)]
                measured = await _turn(home, alice, text, conversation_id)
                conversation_id = measured[0].conversation_id
                (first if turn == 0 else later).append(measured)
        fresh = [
            await _turn(home, alice, UTTERANCES[i % len(UTTERANCES)], None)
            for i in range(fresh_turns)
        ]

    def first_text(runs: list[tuple[TurnTiming, int, int]]) -> list[float]:
        return [t.first_text if t.first_text is not None else t.total for t, _, _ in runs]

    later_p50 = percentile(first_text(later), 50)
    fresh_p50 = percentile(first_text(fresh), 50)
    first_p50 = percentile(first_text(first), 50)
    result.add(
        "2nd+ turns: first text p50",
        ms(later_p50),
        peer=ms(fresh_p50),
        peer_name="fresh connection per turn",
        target_on="ratio",
    )
    result.add("2nd+ turns: first text p95", ms(percentile(first_text(later), 95)))
    result.add(
        "1st turn of a conversation: first text p50",
        ms(first_p50),
        note="pays the handshake",
    )
    if key is not None:
        _real_rows(result, later_p50, fresh_p50)
    else:
        _simulated_rows(result, later, later_p50, fresh_p50, settings)
    sources = [t.source for t, _, _ in first + later + fresh]
    off_cloud = sum(source != "openai_realtime" for source in sources)
    result.add(
        "turns not answered by the cloud",
        off_cloud,
        unit="",
        target=0,
        compare="==",
        note=f"{len(sources)} turns",
    )
    details: dict[str, Any] = {
        "openai": {"real": key is not None, "base_url": ctx.backends.openai_base_url},
        # The simulated server's delays (not what a real API did).
        "settings": None
        if key is not None
        else {"handshake_s": settings.handshake, "first_delta_s": settings.first_delta},
        "sources": {str(s): sources.count(s) for s in set(sources)},
        "session_updates_per_later_turn": sum(u for _, _, u in later) / max(1, len(later)),
        "handshakes_fresh": sum(h for _, h, _ in fresh),
    }
    for label, runs in (("first", first), ("later", later), ("fresh", fresh)):
        details[f"{label}_first_text_ms"] = summary([ms(v) for v in first_text(runs)])
        details[f"{label}_total_ms"] = summary([ms(t.total) for t, _, _ in runs])
    result.details = details
    return result


def _simulated_rows(
    result: ScenarioResult,
    later: Runs,
    later_p50: float,
    fresh_p50: float,
    settings: Settings,
) -> None:
    """Rows that need the simulated server: its handshake count, its known delays."""
    result.add(
        "2nd+ turns: handshakes paid",
        sum(h for _, h, _ in later),
        unit="",
        target=0,
        compare="==",
        note=f"{len(later)} turns",
    )
    result.add(
        "Alice overhead over first delta (2nd+ turns, p50)",
        ms(later_p50 - settings.first_delta),
        target=15,
        compare="<",
        note=f"first text - {ms(settings.first_delta):.0f} ms",
    )
    result.add(
        "Alice overhead, new connection (p50)",
        ms(fresh_p50 - settings.first_delta - settings.handshake),
        note=f"first text - {ms(settings.first_delta + settings.handshake):.0f} ms",
    )


def _real_rows(result: ScenarioResult, later_p50: float, fresh_p50: float) -> None:
    """On the real API: what a new connection costs; the simulator-only rows as notes."""
    result.add(
        "time a new connection adds (p50)",
        ms(fresh_p50 - later_p50),
        note="fresh connection - 2nd+ turns, first text",
    )
    for name in (
        "2nd+ turns: handshakes paid",
        "Alice overhead over first delta (2nd+ turns, p50)",
    ):
        result.add(
            name,
            None,
            unit="",
            note="skipped: needs the simulated server (its handshake count, its known delays)",
        )
