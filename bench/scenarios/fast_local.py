"""Scenario 2: Swedish device commands, Alice against Home Assistant's default agent."""

from typing import Final

from bench.harness import Context, ScenarioResult, ms, percentile, scenario, summary
from bench.home import BenchHome, TurnTiming

DEFAULT_AGENT: Final = "conversation.home_assistant"
# Each light is in a Swedish area (see bench.home.LIGHT_AREAS); on then off keeps states cycling.
COMMANDS: Final = (
    "tänd lampan i köket",
    "släck lampan i köket",
    "tänd lampan i sovrummet",
    "släck lampan i sovrummet",
    "tänd lampan i vardagsrummet",
    "släck lampan i vardagsrummet",
    "tänd lampan i kontoret",
    "släck lampan i kontoret",
    "tänd lampan i hallen",
    "släck lampan i hallen",
)


@scenario("fast_local", "2 Fast local", order=2)
async def run(ctx: Context) -> ScenarioResult:
    """The same commands through both agents, interleaved; total turn time."""
    result = ScenarioResult("fast_local", "2 Fast local")
    rounds = 5 if ctx.quick else 50  # 500 turns each: a steady p95
    async with BenchHome() as home:
        alice = await home.add_alice(mode="hybrid")
        agents = {"alice": alice, "default": DEFAULT_AGENT}
        turns: dict[str, list[TurnTiming]] = {"alice": [], "default": []}
        # Warm-up: intent caches, the router's word cache, Alice's pre-warm of Ollama.
        for command in COMMANDS:
            for agent_id in agents.values():
                await home.converse(agent_id, command)
        await home.hass.async_block_till_done()
        for index in range(rounds):
            for position, command in enumerate(COMMANDS):
                # ABBA order, so that neither agent always goes first.
                order = (
                    ["alice", "default"] if (index + position) % 2 == 0 else ["default", "alice"]
                )
                for name in order:
                    turns[name].append(await home.converse(agents[name], command))
            await home.hass.async_block_till_done()

    totals = {name: [t.total for t in timings] for name, timings in turns.items()}
    failures = {name: sum(not t.success for t in timings) for name, timings in turns.items()}
    sources: dict[str, int] = {}
    for timing in turns["alice"]:
        sources[str(timing.source)] = sources.get(str(timing.source), 0) + 1
    for pct in (50, 95):
        result.add(
            f"turn time p{pct}",
            ms(percentile(totals["alice"], pct)),
            peer=ms(percentile(totals["default"], pct)),
            peer_name="default agent",
            target=1.10,
            compare="<=",
            target_on="ratio",
        )
    cpu = {name: [t.loop_cpu for t in timings] for name, timings in turns.items()}
    result.add(
        "event-loop CPU per turn p50",
        ms(percentile(cpu["alice"], 50)),
        peer=ms(percentile(cpu["default"], 50)),
        peer_name="default agent",
        target_on="ratio",
    )
    result.add(
        "failed turns",
        failures["alice"],
        unit="",
        peer=failures["default"],
        peer_name="default agent",
        target=0,
        compare="==",
        note=f"{len(turns['alice'])} turns each",
    )
    result.details = {
        "commands": list(COMMANDS),
        "rounds": rounds,
        "alice_sources": sources,
        "alice_ms": {k: ms(v) if k != "n" else v for k, v in summary(totals["alice"]).items()},
        "default_ms": {k: ms(v) if k != "n" else v for k, v in summary(totals["default"]).items()},
        "speech": {name: sorted({t.speech for t in timings}) for name, timings in turns.items()},
    }
    return result
