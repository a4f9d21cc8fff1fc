"""Scenario 3: questions that need a tool, Alice's think path against core ``ollama``.

Both agents use the same simulated Ollama, model and cost model, the Assist API
with the demo home's exposed entities, and the same scripted model: it thinks,
calls ``GetLiveContext``, then answers in two sentences. Times are from the call
of ``async_converse`` to the first streamed answer text, to the first sentence
ready for TTS, and to the end of the turn. Warm: the model is loaded. Cold, just
dropped: Ollama dropped the model right before the turn. Cold, dropped a while
before: Ollama dropped it, then the timers of ``IDLE_SECONDS`` run (Alice may
load it again in the background) before the turn.

With ``script/bench --ollama-url URL [--model M]`` both agents use that real
server and model instead (through :class:`bench.real_ollama.OllamaProxy`): the
answers are the model's own (nothing is scripted or checked), the model is
dropped with ``keep_alive: 0``, and the evaluated and generated tokens are the
server's own ``prompt_eval_count`` and ``eval_count``.
"""

from dataclasses import dataclass
import json
import re
from typing import Any, Final

from bench.harness import Context, Metric, ScenarioResult, ms, percentile, scenario, summary
from bench.home import BenchHome, TurnTiming
from simulators.ollama import ChatRequest, OllamaTestServer, ScriptedReply, estimate_tokens

MODEL: Final = "gpt-oss:20b"
# (question, scripted answer): every question needs the home's live state.
QUESTIONS: Final = (
    (
        "vad har jag i kalendern imorgon",
        "Imorgon har du tandläkaren klockan nio. Sedan är det fritt resten av dagen.",
    ),
    (
        "vilka lampor har jag glömt att släcka",
        "Lampan i köket och taklampan i matsalen är tända. Vill du att jag släcker dem?",
    ),
    (
        "är det varmt nog ute för att vädra sovrummet",
        "Det är femton grader ute och fuktigt. Vädra gärna en kort stund.",
    ),
    (
        "kan du sammanfatta hur det ser ut hemma just nu",
        "Två lampor är tända och luftkonditioneringen är på. Garageporten är stängd.",
    ),
    (
        "hur mycket koldioxid är det inne och borde jag öppna ett fönster",
        "Koldioxidhalten är lite hög. Öppna gärna ett fönster i tio minuter.",
    ),
)
LIVE_CONTEXT: Final = "Live Context: An overview of the areas and the devices"
#: The comparison agent's settings: the usual temperature of a chat model, and no cap.
PLAIN_SETTINGS: Final = {"temperature": 1.0, "max_tokens": 0}
IDLE_SECONDS: Final = 31.0  # longer than Alice's 30 s probe interval
THINKING: Final = "The user asks about the home. I should look at the live context first."
THINKING_AFTER: Final = "I have the states now and can answer briefly."


def scripted_model(server: OllamaTestServer) -> None:
    """Make the simulated model call the live-context tool, then answer.

    A prompt that already holds the live context (HA's tool result, as any agent
    may put it in the system prompt) is answered at once, as a model would.
    """

    def reply(request: ChatRequest) -> ScriptedReply:
        answer = next(
            (a for q, a in QUESTIONS if q in request.last_user_text.lower()),
            "Det vet jag tyvärr inte. Fråga gärna igen.",
        )
        if request.after_tool_result:
            return ScriptedReply(thinking=THINKING_AFTER, content=answer)
        system = request.messages[0] if request.messages else {}
        if system.get("role") == "system" and LIVE_CONTEXT in str(system.get("content") or ""):
            # The states are in the prompt already: a model does not ask for them again.
            return ScriptedReply(thinking=THINKING_AFTER, content=answer)
        tool = next((n for n in request.tool_names if n.endswith("GetLiveContext")), None)
        if tool is None:
            return ScriptedReply(thinking=THINKING, content=answer)
        return ScriptedReply(thinking=THINKING, tool_calls=[{"name": tool, "arguments": {}}])

    server.reply_always(reply)


def prompt_tokens(requests: list[tuple[str, dict[str, Any]]]) -> tuple[int, int]:
    """(estimated prompt tokens sent, chat rounds) over recorded requests."""
    tokens = rounds = 0
    for path, body in requests:
        if path == "/api/chat" and body.get("messages"):
            rounds += 1
            tokens += estimate_tokens(
                json.dumps(body.get("messages")) + json.dumps(body.get("tools") or [])
            )
    return tokens, rounds


@dataclass(slots=True)
class ThinkTurn:
    """A timed think turn and what the server evaluated for it."""

    timing: TurnTiming
    prompt_tokens: int  # sent, over all rounds
    evaluated_tokens: int  # evaluated after the prompt cache, over all rounds
    rounds: int
    generated_tokens: int = 0  # a real server's eval_count, over all rounds


async def _turn(home: BenchHome, agent_id: str, question: str) -> ThinkTurn:
    if home.proxy is not None:
        return await _real_turn(home, agent_id, question)
    server = home.ollama
    assert server is not None
    before = await home.servers.call(lambda: (len(server.requests), len(server.prompt_evals)))
    timing = await home.converse(agent_id, question)
    await home.hass.async_block_till_done()
    requests, evals = await home.servers.call(
        lambda: (list(server.requests[before[0] :]), list(server.prompt_evals[before[1] :]))
    )
    tokens, rounds = prompt_tokens(requests)
    return ThinkTurn(timing, tokens, sum(evaluated for _, _, evaluated in evals), rounds)


async def _real_turn(home: BenchHome, agent_id: str, question: str) -> ThinkTurn:
    """A turn on a real server: the proxy's record of requests and final-chunk counts."""
    proxy = home.proxy
    assert proxy is not None
    before = await home.servers.call(lambda: (len(proxy.requests), len(proxy.counts)))
    timing = await home.converse(agent_id, question)
    await home.hass.async_block_till_done()
    requests, counts = await home.servers.call(
        lambda: (list(proxy.requests[before[0] :]), list(proxy.counts[before[1] :]))
    )
    tokens, rounds = prompt_tokens(requests)
    return ThinkTurn(
        timing,
        tokens,
        sum(c.prompt_eval_count or 0 for c in counts),
        rounds,
        sum(c.eval_count or 0 for c in counts),
    )


def _add_rows(
    result: ScenarioResult,
    label: str,
    runs: dict[str, list[ThinkTurn]],
    target: float,
    *,
    real: bool = False,
) -> None:
    def values(name: str, attr: str) -> list[float]:
        out: list[float] = []
        for turn in runs[name]:
            value = getattr(turn.timing, attr)
            out.append(value if value is not None else turn.timing.total)
        return out

    def row(name: str, attr: str, pct: int = 50, **kwargs: Any) -> Metric:
        return result.add(
            f"{label}: {name} p{pct}",
            ms(percentile(values("alice", attr), pct)),
            peer=ms(percentile(values("core", attr), pct)),
            peer_name="core ollama",
            target_on="ratio",
            **kwargs,
        )

    row("first streamed text", "first_text", note="Alice's filler counts")
    row("first TTS-ready sentence", "first_answer_sentence", target=target, compare="<=")
    row("first TTS-ready sentence", "first_answer_sentence", pct=95, target=target, compare="<=")
    row(
        "first sentence incl. filler",
        "first_sentence",
        note='Alice says "Jag kollar det åt dig…" when over her think budget',
    )
    row(
        "first sentence HA's pipeline speaks",
        "pipeline_first_sentence",
        note="Assist pipeline streams to TTS after 60 chars or text + tool call",
    )
    row("total", "total")
    row("event-loop CPU per turn", "loop_cpu")

    def mean(name: str, attr: str) -> float:
        items: list[float] = [getattr(turn, attr) for turn in runs[name]]
        return sum(items) / max(1, len(items))

    token_rows = [
        (
            "prompt tokens sent per turn",
            "prompt_tokens",
            "estimate: characters / 4" if real else "",
        ),
        (
            "prompt tokens evaluated per turn (after cache)",
            "evaluated_tokens",
            "the server's prompt_eval_count" if real else "",
        ),
    ]
    if real:
        token_rows.append(("tokens generated per turn", "generated_tokens", "eval_count"))
        token_rows.append(("chat rounds per turn", "rounds", "2 when the model called a tool"))
    for title, attr, note in token_rows:
        result.add(
            f"{label}: {title} (mean)",
            mean("alice", attr),
            unit="" if attr == "rounds" else "tok",
            peer=mean("core", attr),
            peer_name="core ollama",
            target_on="ratio",
            note=note,
        )
    result.add(
        f"{label}: failed turns",
        sum(not turn.timing.success for turn in runs["alice"]),
        unit="",
        peer=sum(not turn.timing.success for turn in runs["core"]),
        peer_name="core ollama",
        target=0,
        compare="==",
    )


@scenario("think", "3 Think", order=3)
async def run(ctx: Context) -> ScenarioResult:
    """Warm and cold think turns through both agents, interleaved."""
    result = ScenarioResult("think", "3 Think")
    questions = QUESTIONS[:3] if ctx.quick else QUESTIONS
    cold_questions = questions[:2] if ctx.quick else questions
    warm_reps = 2 if ctx.quick else 3
    cold_reps = 1 if ctx.quick else 2
    details: dict[str, Any] = {}
    settings: dict[str, list[ThinkTurn]] = {"alice": [], "plain": []}  # real servers only
    backends = ctx.backends
    real = backends.ollama_url is not None
    model = backends.model if real else MODEL
    async with BenchHome(ollama_url=backends.ollama_url) as home:
        thinks = True
        if home.proxy is not None:
            proxy = home.proxy
            shown = await home.servers.run(proxy.check(model))
            # A model without thinking refuses think requests: both agents then ask none.
            thinks = not shown["capabilities"] or "thinking" in shown["capabilities"]
            details["ollama"] = {"real": True, "url": backends.ollama_url, "model": model}
            details["ollama"] |= shown | {"think": thinks}
        else:
            server = home.ollama
            assert server is not None
            await home.servers.call(lambda: scripted_model(server))
        alice = await home.add_alice(
            mode="local_only", local_model=model, think_level="low" if thinks else "off"
        )
        core = await home.add_core_ollama(model, think=thinks)
        agents = {"alice": alice, "core": core}
        details["exposed_entities"] = len(home.exposed_entities())
        if not real:  # the simulator's settings; a real server has its own
            details["settings"] = {
                k: getattr(home.settings, k) for k in home.settings.__dataclass_fields__
            }
        # Warm-up: loads the model; both agents' first turns are not measured.
        for agent_id in agents.values():
            await _turn(home, agent_id, questions[0][0])

        warm: dict[str, list[ThinkTurn]] = {"alice": [], "core": []}
        for rep in range(warm_reps):
            for position, (question, _) in enumerate(questions):
                order = ["alice", "core"] if (rep + position) % 2 == 0 else ["core", "alice"]
                for name in order:
                    warm[name].append(await _turn(home, agents[name], question))

        # Cold, right after Ollama dropped the model: nobody had a chance to reload it.
        cold: dict[str, list[ThinkTurn]] = {"alice": [], "core": []}
        # Cold, the model dropped a while ago (IDLE_SECONDS of timers run at once):
        # Alice may have loaded it again; core ollama has no timers, so for it this is
        # the same as the turn right after the drop and it is measured that way.
        idle: dict[str, list[ThinkTurn]] = {"alice": [], "core": []}
        for rep in range(cold_reps):
            for position, (question, _) in enumerate(cold_questions):
                order = ["alice", "core"] if (rep + position) % 2 == 0 else ["core", "alice"]
                for name in order:
                    await home.drop_local_model(MODEL)
                    cold[name].append(await _turn(home, agents[name], question))
                await home.drop_local_model(MODEL)
                await home.let_time_pass(IDLE_SECONDS)
                idle["alice"].append(await _turn(home, alice, question))
        idle["core"] = cold["core"]
        if real:
            # The design's settings for spoken answers (temperature 0.3, a cap on the
            # answer) against the model's own: a scripted simulator ignores both.
            plain = await home.add_alice(
                mode="local_only",
                local_model=model,
                think_level="low" if thinks else "off",
                **PLAIN_SETTINGS,
            )
            await _turn(home, plain, questions[0][0])  # its first turn is not measured
            for rep in range(warm_reps):
                for position, (question, _) in enumerate(questions):
                    order = ["alice", "plain"] if (rep + position) % 2 == 0 else ["plain", "alice"]
                    for name in order:
                        agent_id = alice if name == "alice" else plain
                        settings[name].append(await _turn(home, agent_id, question))

    if real:
        _real_notes(result, model)
        _add_settings_rows(result, settings)
    _add_rows(result, "warm", warm, 0.30, real=real)
    _add_rows(result, "cold, just dropped", cold, 0.5, real=real)
    _add_rows(result, f"cold, dropped {IDLE_SECONDS:.0f} s before", idle, 0.5, real=real)
    for label, runs in (("warm", warm), ("cold", cold), ("cold_after_idle", idle)):
        details[label] = {
            name: {
                "first_text_ms": summary(
                    [ms(t.timing.first_text or t.timing.total) for t in turns]
                ),
                "first_sentence_ms": summary(
                    [ms(t.timing.first_answer_sentence or t.timing.total) for t in turns]
                ),
                "pipeline_first_sentence_ms": summary(
                    [ms(t.timing.pipeline_first_sentence) for t in turns]
                ),
                "total_ms": summary([ms(t.timing.total) for t in turns]),
                "rounds": [t.rounds for t in turns],
                "sources": sorted({str(t.timing.source) for t in turns}),
                "speech": sorted({re.sub(r"\s+", " ", t.timing.speech) for t in turns}),
            }
            for name, turns in runs.items()
        }
    result.details = details
    return result


def _add_settings_rows(result: ScenarioResult, runs: dict[str, list[ThinkTurn]]) -> None:
    """Warm turns with the design's model settings against the model's own (real server)."""
    peer = "temperature 1.0, no cap"
    for label, attr in (
        ("first TTS-ready sentence", "first_answer_sentence"),
        ("total", "total"),
    ):
        values = {
            name: [getattr(t.timing, attr) or t.timing.total for t in turns]
            for name, turns in runs.items()
        }
        result.add(
            f"design settings: {label} p50",
            ms(percentile(values["alice"], 50)),
            peer=ms(percentile(values["plain"], 50)),
            peer_name=peer,
            target_on="ratio",
            note="temperature 0.3, at most 2048 tokens (the agent's defaults)",
        )
    generated = {
        name: sum(t.generated_tokens for t in turns) / max(1, len(turns))
        for name, turns in runs.items()
    }
    result.add(
        "design settings: tokens generated per turn (mean)",
        generated["alice"],
        unit="tok",
        peer=generated["plain"],
        peer_name=peer,
        target_on="ratio",
        note="eval_count",
    )


def _real_notes(result: ScenarioResult, model: str) -> None:
    """Rows saying what a real server's run leaves out or does otherwise."""
    for name, note in (
        (
            "answers",
            (
                f"not checked: {model}'s own (no scripted replies); whether it called "
                "GetLiveContext or answered right is not checked"
            ),
        ),
        (
            "prompt-cache accounting",
            "the simulator's is skipped; evaluated tokens are the server's prompt_eval_count",
        ),
        (
            "cold cases",
            (
                "the model is dropped with keep_alive: 0, waited for until /api/ps agrees; "
                f"the {IDLE_SECONDS:.0f} s are skipped, a reload Alice starts is awaited"
            ),
        ),
    ):
        result.add(name, None, unit="", note=note)
