"""Scenario 7: the HUD's push, from a turn's event to the card's websocket.

Real websocket clients (aiohttp, over TCP to Home Assistant's own HTTP server on
127.0.0.1, logged in with an access token) subscribe with ``alice_voice/subscribe``
as the card does: the card's, which asks for coalesced messages as the frontend's
library does, and a plain one that does not. For every turn the bench takes, with
``time.perf_counter`` in this one process:

* the turn event: a ``@callback`` bus listener on ``alice_voice_response``;
* the status change: a listener on the HUD's dispatcher signal, connected before
  the subscription, so it runs just before the picture is built and queued;
* the arrival at the client of the first pushed picture in which the turn is
  finished (the agent's ``turns`` count reached it), before the frame is parsed.

Turn n is the n-th ``alice_voice_response`` and the n-th increment of ``turns``:
Alice returns the answer, then in the next loop iteration fires the event and at
once updates the status (the subscription builds and queues the picture), turn
after turn in the same order, so the pairing holds under load too. "event ->
picture" includes building the picture; "status change -> picture" starts from
the HUD's signal, just before it is built. A single user (device commands and think questions, one after the
other) and ten concurrent conversations (the load scenario's mix) are measured.
"""

import asyncio
from collections.abc import Callable, Iterable
import contextlib
from dataclasses import dataclass
import os
import random
import statistics
import time
from typing import Any, Final

from homeassistant.core import Event, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from bench.harness import Context, ScenarioResult, ms, percentile, scenario, summary
from bench.home import BenchHome, BenchWebSocket, LoopLag
from bench.scenarios.fast_local import COMMANDS
from bench.scenarios.load import FAST_SHARE, WORKERS, GcPauses, Tally
from bench.scenarios.think import MODEL, QUESTIONS, scripted_model

TARGET_MS: Final = 10.0  # the design's budget, event -> websocket
LOAD_SECONDS: Final = 20.0
LOAD_SECONDS_QUICK: Final = 6.0
SETTLE: Final = 0.02  # seconds a sequential turn waits for pictures pushed after it ends
WAIT: Final = 15.0  # seconds a turn's picture may take before the run gives up


@dataclass(slots=True, frozen=True)
class Picture:
    """One pushed picture, as a client saw it."""

    arrived: float  # time.perf_counter() when its frame arrived
    turns: int  # the agent's finished turns in it
    state: str


class Marks:
    """The turn events' and the HUD signals' times."""

    def __init__(self, turns: Callable[[], int]) -> None:
        """``turns`` reads the agent's finished turns from Alice's status."""
        self._turns = turns
        self.events: list[float] = []  # one per alice_voice_response, in order
        self.signals: list[tuple[float, int]] = []  # (time, finished turns) per HUD signal

    @callback
    def on_response(self, _event: Event[Any]) -> None:
        """``alice_voice_response``: a turn is finished."""
        self.events.append(time.perf_counter())

    @callback
    def on_signal(self) -> None:
        """The HUD's signal, before the subscriptions build their pictures."""
        self.signals.append((time.perf_counter(), self._turns()))


class Reader:
    """Subscribes one client and reads the pictures it is pushed."""

    def __init__(self, client: BenchWebSocket, agent_id: str) -> None:
        """Not subscribed yet (see :meth:`subscribe`)."""
        self.client = client
        self.agent_id = agent_id
        self.subscription = 0
        self.pictures: list[Picture] = []
        self.turns = -1  # finished turns in the newest picture
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._answer: dict[str, Any] | None = None

    async def subscribe(self) -> None:
        """Send ``alice_voice/subscribe``; read until the result and the first picture."""
        self.subscription = self.client.next_id()
        self._task = asyncio.get_running_loop().create_task(self._read())
        await self.client.send_json({"id": self.subscription, "type": "alice_voice/subscribe"})
        await self.until_turns(0)
        assert self._answer is not None, "a picture before the result"
        assert self._answer.get("success"), self._answer

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read(self) -> None:
        try:
            while True:
                arrived, messages = await self.client.receive()
                for message in messages:
                    if message.get("id") != self.subscription:
                        continue
                    if message.get("type") == "result":
                        self._answer = message
                        continue
                    agent = message["event"]["agents"].get(self.agent_id) or {}
                    turns = int(agent.get("turns", 0))
                    self.pictures.append(Picture(arrived, turns, str(agent.get("state"))))
                    self.turns = max(self.turns, turns)
                self._arrived.set()
        except Exception as err:  # noqa: BLE001 - reported by until_turns
            self._error = err
            self._arrived.set()

    async def until_turns(self, turns: int) -> None:
        """Wait for a picture with ``turns`` finished turns (or more)."""
        async with asyncio.timeout(WAIT):
            while self.turns < turns:
                if self._error is not None:
                    raise RuntimeError(f"the subscription broke: {self._error!r}")
                self._arrived.clear()
                await self._arrived.wait()


def first_times(marks: Iterable[tuple[float, int]]) -> dict[int, float]:
    """Turn n -> the first time a mark (time, finished turns) showed n or more."""
    seen = 0
    times: dict[int, float] = {}
    for at, turns in marks:
        while seen < turns:
            seen += 1
            times[seen] = at
    return times


@dataclass(slots=True)
class Delays:
    """Per-turn delays of one phase at one client, in seconds."""

    event: list[float]  # turn event -> picture at the client
    signal: list[float]  # status change -> picture at the client
    building: list[float]  # status change -> turn event
    missing: int  # turns whose picture never came


def delays(marks: Marks, reader: Reader, first: int, last: int) -> Delays:
    """The delays of turns ``first`` … ``last`` (1-based turn numbers)."""
    arrivals = first_times((p.arrived, p.turns) for p in reader.pictures)
    changes = first_times(marks.signals)
    event: list[float] = []
    signal: list[float] = []
    building: list[float] = []
    missing = 0
    for turn in range(first, last + 1):
        arrived = arrivals.get(turn)
        if arrived is None or turn > len(marks.events):
            missing += 1
            continue
        event.append(arrived - marks.events[turn - 1])
        if (changed := changes.get(turn)) is not None:
            signal.append(arrived - changed)
            building.append(marks.events[turn - 1] - changed)
    return Delays(event, signal, building, missing)


def _ms_summary(values: list[float]) -> dict[str, float]:
    return {k: ms(v) if k != "n" else v for k, v in summary(values).items()}


async def _settle(home: BenchHome, readers: Iterable[Reader], turns: int) -> None:
    """Wait until every client has the picture of ``turns``, and what follows it."""
    for reader in readers:
        await reader.until_turns(turns)
    await home.hass.async_block_till_done()
    await asyncio.sleep(SETTLE)


@scenario("hud", "7 HUD", order=7)
async def run(ctx: Context) -> ScenarioResult:
    """Single user, then WORKERS concurrent conversations; event -> picture at the client."""
    result = ScenarioResult("hud", "7 HUD")
    single_fast, single_think = (12, 3) if ctx.quick else (36, 9)
    load_seconds = LOAD_SECONDS_QUICK if ctx.quick else LOAD_SECONDS
    rng = random.Random(ctx.seed)
    async with BenchHome(http=True) as home:
        hass = home.hass
        server = home.ollama
        assert server is not None
        await home.servers.call(lambda: scripted_model(server))
        alice = await home.add_alice(mode="local_only", local_model=MODEL)
        await hass.async_block_till_done()
        # Alice is imported only once she is set up (the load scenario counts her memory).
        from custom_components.alice_voice.events import EVENT_RESPONSE
        from custom_components.alice_voice.hud import SIGNAL_HUD

        entry = home.alice_entries[0]
        status = entry.runtime_data.status
        subentry_id = next(iter(entry.subentries))
        marks = Marks(lambda: status.agent(subentry_id).turns)
        # Connected before the subscriptions: dispatcher targets run in that order.
        unsubscribe = [
            async_dispatcher_connect(hass, SIGNAL_HUD, marks.on_signal),
            hass.bus.async_listen(EVENT_RESPONSE, marks.on_response),
        ]
        card = Reader(await home.websocket(coalesce=True), alice)
        plain = Reader(await home.websocket(coalesce=False), alice)
        readers = (card, plain)
        for reader in readers:
            await reader.subscribe()

        # Warm-up: load the model, fill caches (not measured).
        for text in (QUESTIONS[0][0], COMMANDS[0]):
            await home.converse(alice, text)
            await _settle(home, readers, len(marks.events))

        # A single user: one turn after the other, every picture of a turn counted.
        single = Tally()
        single_first = len(marks.events) + 1
        per_turn: dict[str, list[int]] = {"fast": [], "think": []}
        plan = ["fast"] * single_fast + ["think"] * single_think
        rng.shuffle(plan)
        for kind in plan:
            text = rng.choice(COMMANDS) if kind == "fast" else rng.choice(QUESTIONS)[0]
            before = len(card.pictures)
            expected = len(marks.events) + 1
            await single.turn(home, alice, kind, text)
            if len(marks.events) < expected:
                continue  # no turn event: counted as an error by the tally
            await _settle(home, readers, expected)
            per_turn[kind].append(len(card.pictures) - before)
        single_last = len(marks.events)

        # Ten conversations at once, a new conversation every turn (as scenario 6).
        loaded = Tally()
        load_first = len(marks.events) + 1
        pictures_before = len(card.pictures)
        frames_before = card.client.frames
        plain_before = (len(plain.pictures), plain.client.bytes_received)
        deadline = time.perf_counter() + load_seconds

        async def worker(index: int) -> None:
            worker_rng = random.Random(ctx.seed * 1000 + index)
            while time.perf_counter() < deadline:
                if worker_rng.random() < FAST_SHARE:
                    await loaded.turn(home, alice, "fast", worker_rng.choice(COMMANDS))
                else:
                    await loaded.turn(home, alice, "think", worker_rng.choice(QUESTIONS)[0])

        lag = LoopLag()
        lag.start()
        load_started = time.perf_counter()
        with GcPauses() as gc_pauses:
            await asyncio.gather(*(worker(i) for i in range(WORKERS)))
        load_wall = time.perf_counter() - load_started
        await lag.stop()
        load_last = len(marks.events)
        await _settle(home, readers, load_last)
        load_pictures = len(card.pictures) - pictures_before
        load_frames = card.client.frames - frames_before
        plain_pictures = len(plain.pictures) - plain_before[0]
        plain_bytes = plain.client.bytes_received - plain_before[1]
        final_turns = status.agent(subentry_id).turns

        for unsub in unsubscribe:
            unsub()
        for reader in readers:
            await reader.stop()
            await reader.client.close()

    alone = delays(marks, card, single_first, single_last)
    busy = delays(marks, card, load_first, load_last)
    plain_alone = delays(marks, plain, single_first, single_last)
    plain_busy = delays(marks, plain, load_first, load_last)
    single_turns = single_last - single_first + 1
    load_turns = load_last - load_first + 1
    fast_turns, think_turns = len(per_turn["fast"]), len(per_turn["think"])
    for label, phase, note in (
        (
            "single user",
            alone,
            (
                f"{single_turns} turns ({fast_turns} device, {think_turns} think); "
                "alice_voice_response listener -> frame at the card's client; the event "
                "and the status change follow the answer together, the event first"
            ),
        ),
        ("under load", busy, f"{WORKERS} conversations, {load_wall:.0f} s, {load_turns} turns"),
    ):
        result.add(f"turn event → picture p50, {label}", ms(percentile(phase.event, 50)), note=note)
        result.add(
            f"turn event → picture p99, {label}",
            ms(percentile(phase.event, 99)),
            target=TARGET_MS,
            compare="<",
        )
        result.add(f"turn event → picture max, {label}", ms(max(phase.event, default=float("nan"))))
        result.add(
            f"status change → picture p99, {label}",
            ms(percentile(phase.signal, 99)),
            note="from the HUD's signal: building the picture included"
            if label == "single user"
            else "",
        )
    result.add(
        "turn event → picture p99 under load, client without coalescing",
        ms(percentile(plain_busy.event, 99)),
        note=f"p50 {ms(percentile(plain_busy.event, 50)):.1f} ms; one message per frame",
    )
    result.add(
        "turns whose picture never came",
        alone.missing + busy.missing + plain_alone.missing + plain_busy.missing,
        unit="",
        target=0,
        compare="==",
        note=f"{single_turns + load_turns} turns, 2 clients",
    )
    for kind, label in (("fast", "device command"), ("think", "think question")):
        counts = per_turn[kind]
        result.add(
            f"pictures pushed per {label}, single user (p50)",
            percentile([float(c) for c in counts], 50),
            unit="",
            note=f"max {max(counts, default=0)}; started, first words, finished",
        )
    result.add(
        "pictures pushed per turn under load (mean)",
        load_pictures / load_turns if load_turns else float("nan"),
        unit="",
        note=f"one agent's state, shared by the conversations; {load_frames} frames "
        f"carried the card's {load_pictures}",
    )
    result.add(
        "picture size (mean)",
        plain_bytes / plain_pictures / 1024 if plain_pictures else float("nan"),
        unit="KiB",
    )
    result.add(
        "event-loop lag p99 under load",
        ms(percentile(lag.samples, 99)),
        note="a task sleeping 10 ms: how late anything on the loop runs",
    )
    longest_gc = max(gc_pauses.pauses, key=lambda pause: pause[1], default=(-1, 0.0))
    result.add(
        "longest garbage collection under load",
        ms(longest_gc[1]),
        note=f"generation {longest_gc[0]}; a collection holds every push back",
    )
    errors = single.errors + loaded.errors
    result.details = {
        "target_ms": TARGET_MS,
        "workers": WORKERS,
        "fast_share": FAST_SHARE,
        "load_seconds": load_wall,
        "card_single_event_ms": _ms_summary(alone.event),
        "card_single_signal_ms": _ms_summary(alone.signal),
        "card_load_event_ms": _ms_summary(busy.event),
        "card_load_signal_ms": _ms_summary(busy.signal),
        # Status change -> turn event: both subscriptions build and queue their
        # pictures, then Alice records the turn's metrics and fires the event.
        "single_signal_to_event_ms": _ms_summary(alone.building),
        "plain_single_event_ms": _ms_summary(plain_alone.event),
        "plain_load_event_ms": _ms_summary(plain_busy.event),
        "pictures_per_turn_single": per_turn,
        "pictures_per_turn_mean_single": statistics.fmean(
            per_turn["fast"] + per_turn["think"] or [0]
        ),
        "pictures_under_load": load_pictures,
        "frames_under_load_card": load_frames,
        "turns_under_load": load_turns,
        "turn_events": len(marks.events),
        "finished_turns_in_status": final_turns,
        "errors": errors[:20],
        "error_count": len(errors),
        "gc_collections_under_load": len(gc_pauses.pauses),
        "lag_ms": _ms_summary(lag.samples),
        "load_average_after": os.getloadavg(),
    }
    return result
