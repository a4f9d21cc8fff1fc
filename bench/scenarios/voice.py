"""Scenario 5: voice, from the end of speech to the first audio byte at the satellite.

A Wyoming satellite (``simulators.satellite``, over TCP through Home Assistant's
``wyoming`` integration) speaks each turn in real time; the satellite's pipeline
select switches between two Assist pipelines with the **same agent** (Alice's, in
hybrid mode), so only speech-to-text and text-to-speech differ:

* **Alice**: her STT (Realtime transcription, streamed while the user speaks,
  her own webrtcvad end of speech with a 300 ms hangover) and her TTS (sentence
  by sentence, streamed);
* **Core**: ``openai_conversation``'s STT (Home Assistant's VAD ends the
  utterance after 0.7 s of silence, then the whole utterance goes to
  ``/v1/audio/transcriptions``) and TTS (one ``/v1/audio/speech`` request per
  message, once the agent has finished).

Fast turns come in two kinds: device commands answered by Home Assistant's
intents, and greetings and simple questions that Alice's hybrid agent answers on
Realtime ("cloud"). On the latter her STT's Realtime session begins the answer
from the audio while the transcript is written (a speculative answer); the cloud
turns are also run with that option off, to measure what it saves.

Both use the same simulated OpenAI on one port (see :class:`bench.voice.VoiceCosts`):
transcription costs the same per second of audio on both (Realtime pays it on the
committed audio at commit, so Alice gets no credit for transcribing while the user
speaks), speech the same first byte and per character. Fast turns are device
commands answered by Home Assistant's intents; think turns are questions answered
by the simulated Ollama (scenario 3's scripted model and cost model). Home
Assistant's TTS cache is off, so every answer is synthesized.
"""

from typing import TYPE_CHECKING, Any, Final

from bench.harness import Context, ScenarioResult, ms, percentile, scenario, summary
from bench.scenarios.cloud import UTTERANCES
from bench.scenarios.fast_local import COMMANDS
from bench.scenarios.think import MODEL, QUESTIONS, scripted_model

if TYPE_CHECKING:
    from bench.voice import VoiceTurn

PEER: Final = "core OpenAI voice"
FAST_AUDIO: Final = ("sv_tand_lampan_i_koket.wav",)  # 1.44 s of speech
# A think question is longer: two fixtures, 150 ms apart (2.6 s), so that Alice's
# audio features (duration against the transcript's words) stay plausible.
THINK_AUDIO: Final = ("sv_tand_lampan_i_koket.wav", "sv_vad_ar_klockan.wav")
# Scenario 3's questions that Alice's hybrid mode gives the local model (the weather
# question goes to Realtime first: a fast question).
THINK_QUESTIONS: Final = tuple(q for q, _ in QUESTIONS if "varmt nog ute" not in q)
TARGETS: Final = {"fast": 0.5, "cloud": 0.5, "think": 0.7}
PLAIN: Final = "Alice, speculation off"
HA_SILENCE_S: Final = 0.7  # HA's VAD: seconds of silence that end an utterance (default)
SETUP_NOTE: Final = (
    "same agent (Alice's, hybrid) in both pipelines; core = HA VAD (0.7 s silence) + "
    "/v1/audio/transcriptions, then one /v1/audio/speech per message"
)


def _values(turns: list[VoiceTurn], attr: str) -> list[float]:
    return [v for t in turns if t.ok and (v := getattr(t, attr)) is not None]


def _add_rows(result: ScenarioResult, kind: str, runs: dict[str, list[VoiceTurn]]) -> None:
    alice, core = runs["alice"], runs["core"]
    target = TARGETS[kind]

    def row(name: str, attr: str, pct: int, **kwargs: Any) -> None:
        result.add(
            f"{kind}: {name} p{pct}",
            ms(percentile(_values(alice, attr), pct)),
            peer=ms(percentile(_values(core, attr), pct)),
            peer_name=PEER,
            target_on="ratio",
            **kwargs,
        )

    first_note = {
        "fast": SETUP_NOTE,
        "cloud": "Realtime answers (first delta 250 ms); Alice's answer begun from the audio",
        "think": "the local model answers (simulated Ollama)",
    }[kind]
    row("end of speech → first audio byte", "first_audio", 50, target=target, compare="<=",
        note=first_note)  # fmt: skip
    row("end of speech → first audio byte", "first_audio", 95, target=target, compare="<=")
    row("end of speech → first audible words", "first_audible", 50,
        note="first sample above 1.5 % FS, played from the first byte; Alice's filler counts")  # fmt: skip
    row("end of speech → first audible words", "first_audible", 95)
    result.add(
        f"{kind}: end of speech → HA's VAD ends the utterance p50",
        None,
        peer=ms(percentile(_values(core, "voice_stopped"), 50)),
        peer_name=PEER,
        note="Alice ends it herself (webrtcvad, 300 ms hangover) and does not report it",
    )
    # What-if, derived (not measured): core's turns as if HA's VAD had ended each
    # utterance exactly its 0.7 s of silence after the speech (no VAD lag).
    no_lag = [
        t.first_audio - (t.voice_stopped - HA_SILENCE_S)
        for t in core
        if t.ok and t.first_audio is not None and t.voice_stopped is not None
    ]
    result.add(
        f"{kind}: first audio byte p50, what-if core's VAD ended 0.7 s after speech",
        ms(percentile(_values(alice, "first_audio"), 50)),
        peer=ms(percentile(no_lag, 50)),
        peer_name=PEER,
        target_on="ratio",
        note="derived: core's measured turns less its VAD's lag beyond 0.7 s",
    )
    row("end of speech → transcript at satellite", "transcript", 50,
        note="end of utterance + transcription")  # fmt: skip
    row("end of speech → TTS starts", "synthesize", 50, note="+ the agent's answer")
    row("end of speech → all audio sent", "played", 50)
    result.add(
        f"{kind}: audio transcribed per turn (mean)",
        sum(t.transcribed_s for t in alice) / max(1, len(alice)),
        unit="s",
        peer=sum(t.transcribed_s for t in core) / max(1, len(core)),
        peer_name=PEER,
        target_on="ratio",
        note="charged at the same rate per second",
    )
    result.add(
        f"{kind}: prompt tokens Ollama evaluated per turn (mean)",
        sum(t.evaluated_tokens for t in alice) / max(1, len(alice)),
        unit="tok",
        peer=sum(t.evaluated_tokens for t in core) / max(1, len(core)),
        peer_name=PEER,
        note="after its prompt cache; both turns of a round start from the same one, without the question",
    )
    if plain := runs.get("plain"):
        for pct in (50, 95):
            result.add(
                f"{kind}: speculation on vs off, end of speech → first audio byte p{pct}",
                ms(percentile(_values(alice, "first_audio"), pct)),
                peer=ms(percentile(_values(plain, "first_audio"), pct)),
                peer_name=PLAIN,
                target_on="ratio",
                note="what the speculative answer saves (same pipeline, option off)"
                if pct == 50
                else "",
            )
        result.add(
            f"{kind}: answers begun from the audio",
            sum(t.speculative for t in alice),
            unit="",
            peer=sum(t.speculative for t in plain),
            peer_name=PLAIN,
            target=len(alice),
            compare="==",
            note="alice_voice_response's speculative",
        )
    local = [sum(t.source == "local_ai" for t in turns) for turns in (alice, core)]
    result.add(
        f"{kind}: turns answered by the local model",
        local[0],
        unit="",
        peer=local[1],
        peer_name=PEER,
        note="Alice's answer source",
    )
    result.add(
        f"{kind}: failed turns",
        sum(not t.ok for t in alice),
        unit="",
        peer=sum(not t.ok for t in core),
        peer_name=PEER,
        target=0,
        compare="==",
        note=f"{len(alice)} turns each",
    )


def _details(runs: dict[str, list[VoiceTurn]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, turns in runs.items():
        out[name] = {
            attr: summary([ms(v) for v in _values(turns, attr)])
            for attr in (
                "first_audio",
                "first_audible",
                "voice_stopped",
                "transcript",
                "synthesize",
                "played",
            )
        }
        out[name]["sources"] = sorted({str(t.source) for t in turns})
        out[name]["turns_ms"] = [
            {
                key: None if (v := getattr(t, key)) is None else round(ms(v))
                for key in ("first_audio", "voice_stopped", "transcript", "synthesize", "played")
            }
            for t in turns
        ]
        out[name]["speech_requests"] = [t.speech_requests for t in turns]
        out[name]["transcribed_s"] = [round(t.transcribed_s, 3) for t in turns]
        out[name]["spoken"] = sorted({str(t.spoken_text) for t in turns})
        out[name]["errors"] = [e for t in turns for e in t.errors]
        out[name]["heard_mismatch"] = sum(
            (t.heard_text or "").strip() != t.text.strip() for t in turns
        )
    return out


@scenario("voice", "5 Voice", order=5)
async def run(ctx: Context) -> ScenarioResult:
    """Fast and think voice turns through both pipelines, interleaved."""
    # Imported here: the wyoming, assist_pipeline and tts modules would otherwise load in
    # every scenario's process (and count as Home Assistant's memory in the load test).
    from bench.home import OPENAI_KEY, BenchHome
    from bench.voice import VoiceCosts, VoiceRig, speech_pcm
    from simulators.speech import SpeechTestServer

    result = ScenarioResult("voice", "5 Voice")
    reps = 3 if ctx.quick else 10
    costs = VoiceCosts()
    audio = {
        "fast": speech_pcm(*FAST_AUDIO),
        "cloud": speech_pcm(*FAST_AUDIO),
        "think": speech_pcm(*THINK_AUDIO),
    }
    texts = {
        "fast": [c.capitalize() for c in COMMANDS],
        "cloud": [u.capitalize() for u in UTTERANCES],
        "think": [q.capitalize() for q in THINK_QUESTIONS],
    }
    runs: dict[str, dict[str, list[VoiceTurn]]] = {
        kind: {"alice": [], "core": []} for kind in texts
    }
    pipelines: dict[str, str] = {}
    speech = SpeechTestServer(api_key=OPENAI_KEY)
    # BenchHome keeps Home Assistant's storage in memory: no pipelines or registries are
    # left over from (or for) other runs in the shared test config dir.
    async with BenchHome(mount=speech.add_routes) as home:
        server = home.ollama
        assert server is not None
        await home.servers.call(lambda: scripted_model(server))
        rig = VoiceRig(home, speech, costs)
        try:
            await rig.setup(local_model=MODEL, think_level="low")
            pipelines.update(rig.pipelines)
            # Warm-up (not measured): the model loads, connections and ffmpeg start.
            for kind, kind_texts in texts.items():
                for name in ("alice", "core"):
                    await rig.turn(name, audio[kind], kind_texts[-1])
            for rep in range(reps):
                for kind, kind_texts in texts.items():
                    text = kind_texts[rep % len(kind_texts)]
                    order = ["alice", "core"] if rep % 2 == 0 else ["core", "alice"]
                    # Both think turns of a round start from the same prompt cache.
                    cache = await rig.prompt_cache() if kind == "think" else None
                    for name in order:
                        turn = await rig.turn(name, audio[kind], text, prompt_cache=cache)
                        runs[kind][name].append(turn)
            # The cloud turns again, without the speculative answer.
            await rig.set_speculation(False)
            await rig.turn("alice", audio["cloud"], texts["cloud"][-1])  # warm-up
            runs["cloud"]["plain"] = [
                await rig.turn("alice", audio["cloud"], texts["cloud"][rep % len(texts["cloud"])])
                for rep in range(reps)
            ]
        finally:
            await rig.close()

    for kind, kind_runs in runs.items():
        _add_rows(result, kind, kind_runs)
    result.details = {
        "costs": costs.as_dict(),
        "reps": reps,
        "audio_s": {kind: len(pcm) / 32_000 for kind, pcm in audio.items()},
        "end_of_speech": "the satellite sends the chunk holding the last speech sample",
        "pipelines": pipelines,
        **{kind: _details(kind_runs) for kind, kind_runs in runs.items()},
    }
    return result
