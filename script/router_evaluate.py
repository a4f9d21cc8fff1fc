"""Evaluate the router on the gold set, the spoken-style set and Home Assistant's sentences.

Gold set (``tests/data/router_gold_{sv,en}.jsonl``, hand-written, never trained
on): each line ``{"text", "language", "intent", "path", "slots", "now",
"time_zone", "context"?, "audio_features"?}``. Reported: intent accuracy, route
(path) accuracy, slot accuracy (asserted slot values that match exactly / all
asserted slot values), per-intent precision/recall/F1 and a confusion matrix.

Spoken-style set (``tests/data/router_spoken_{sv,en}.jsonl``, the same format,
never trained on): what a satellite's speech recogniser hands over - lower
case, no punctuation, numbers as words or bare digits, fillers and stutters,
a wake word or greeting in front, a polite tail, recognition slips, two
requests in one breath, and a few lines with the recogniser's own confidence.
Written and spoken accuracy are reported side by side.

External benchmark (``tests/data/ha_intents/{sv,en}.jsonl``): Home Assistant's
own test sentences, all of which should take the fast path. Reported: the
fraction routed ``fast``, overall, per language and per HA intent.

Usage::

    script/evaluate_router [--json] [--errors]

Exits 1 when a target is missed (gold route accuracy < 0.97, gold intent
accuracy < 0.93, spoken route accuracy < 0.97, spoken intent accuracy < 0.95,
HA fast fraction < 0.97).
"""

import argparse
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
import sys
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.alice_voice.router.intents import Intent
from custom_components.alice_voice.router.model import RouterModel
from custom_components.alice_voice.router.policy import IntentRouter

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
GOLD_FILES: Final = (
    REPO_ROOT / "tests" / "data" / "router_gold_sv.jsonl",
    REPO_ROOT / "tests" / "data" / "router_gold_en.jsonl",
)
SPOKEN_FILES: Final = (
    REPO_ROOT / "tests" / "data" / "router_spoken_sv.jsonl",
    REPO_ROOT / "tests" / "data" / "router_spoken_en.jsonl",
)
HA_FILES: Final = (
    REPO_ROOT / "tests" / "data" / "ha_intents" / "sv.jsonl",
    REPO_ROOT / "tests" / "data" / "ha_intents" / "en.jsonl",
)
TARGET_ROUTE_ACCURACY: Final = 0.97
TARGET_INTENT_ACCURACY: Final = 0.93
TARGET_HA_FAST: Final = 0.97
TARGET_SPOKEN_ROUTE_ACCURACY: Final = 0.97
TARGET_SPOKEN_INTENT_ACCURACY: Final = 0.95


@dataclass(slots=True)
class IntentScore:
    """Precision, recall and F1 of one intent."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(slots=True)
class GoldReport:
    """Gold-set results."""

    total: int = 0
    intent_accuracy: float = 0.0
    route_accuracy: float = 0.0
    slot_accuracy: float = 0.0
    slots_checked: int = 0
    by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    per_intent: dict[str, IntentScore] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class HAReport:
    """Home Assistant benchmark results."""

    total: int = 0
    fast_fraction: float = 0.0
    by_language: dict[str, float] = field(default_factory=dict)
    by_ha_intent: dict[str, float] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)


def load_jsonl(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Read JSON lines from ``paths`` (missing files are skipped)."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as file:
            rows.extend(json.loads(line) for line in file if line.strip())
    return rows


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def evaluate_gold(router: IntentRouter, rows: Sequence[dict[str, Any]]) -> GoldReport:
    """Route every gold line and score intents, paths and slots."""
    report = GoldReport(total=len(rows))
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    per_language: dict[str, Counter[str]] = defaultdict(Counter)
    intent_ok = route_ok = slot_ok = slot_total = 0
    for row in rows:
        context = dict(row.get("context") or {})
        context.setdefault("now", row.get("now"))
        context.setdefault("time_zone", row.get("time_zone"))
        audio = row.get("audio_features")
        decision = router.route(row["text"], audio_features=audio, context=context)
        expected = row["intent"]
        got = str(decision.intent)
        confusion[expected][got] += 1
        lang = row.get("language", "?")
        per_language[lang]["total"] += 1
        good_intent = got == expected
        good_path = str(decision.path) == row["path"]
        intent_ok += good_intent
        route_ok += good_path
        per_language[lang]["intent"] += good_intent
        per_language[lang]["route"] += good_path
        wrong_slots = {}
        for key, value in (row.get("slots") or {}).items():
            slot_total += 1
            per_language[lang]["slots_total"] += 1
            actual = decision.slots.get(key)
            if actual == value:
                slot_ok += 1
                per_language[lang]["slots"] += 1
            else:
                wrong_slots[key] = {"expected": value, "got": actual}
        if not good_intent or not good_path or wrong_slots:
            report.errors.append(
                {
                    "text": row["text"],
                    "expected": f"{expected}/{row['path']}",
                    "got": f"{got}/{decision.path} ({decision.reason}, {decision.confidence:.2f})",
                    "slots": wrong_slots,
                }
            )
    report.intent_accuracy = _ratio(intent_ok, len(rows))
    report.route_accuracy = _ratio(route_ok, len(rows))
    report.slot_accuracy = _ratio(slot_ok, slot_total)
    report.slots_checked = slot_total
    for lang, counts in sorted(per_language.items()):
        report.by_language[lang] = {
            "total": counts["total"],
            "intent_accuracy": _ratio(counts["intent"], counts["total"]),
            "route_accuracy": _ratio(counts["route"], counts["total"]),
            "slot_accuracy": _ratio(counts["slots"], counts["slots_total"]),
        }
    for intent in (str(i) for i in Intent):
        true_positive = confusion[intent][intent]
        predicted = sum(confusion[other][intent] for other in confusion)
        support = sum(confusion[intent].values())
        if not support and not predicted:
            continue
        precision = _ratio(true_positive, predicted)
        recall = _ratio(true_positive, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report.per_intent[intent] = IntentScore(precision, recall, f1, support)
    report.confusion = {k: dict(v) for k, v in sorted(confusion.items())}
    return report


def evaluate_ha(router: IntentRouter, rows: Sequence[dict[str, Any]]) -> HAReport:
    """Route every Home Assistant test sentence; score the fraction that goes fast."""
    report = HAReport(total=len(rows))
    by_language: dict[str, Counter[str]] = defaultdict(Counter)
    by_intent: dict[str, Counter[str]] = defaultdict(Counter)
    fast = 0
    for row in rows:
        decision = router.route(row["text"])
        ok = str(decision.path) == "fast"
        fast += ok
        for bucket in (by_language[row.get("language", "?")], by_intent[row.get("ha_intent", "?")]):
            bucket["total"] += 1
            bucket["fast"] += ok
        if not ok:
            report.misses.append(
                {
                    "text": row["text"],
                    "ha_intent": row.get("ha_intent"),
                    "got": f"{decision.intent}/{decision.path} ({decision.reason}, "
                    f"{decision.confidence:.2f})",
                }
            )
    report.fast_fraction = _ratio(fast, len(rows))
    report.by_language = {k: _ratio(v["fast"], v["total"]) for k, v in sorted(by_language.items())}
    report.by_ha_intent = {k: _ratio(v["fast"], v["total"]) for k, v in sorted(by_intent.items())}
    return report


def _abbreviation(intent: str) -> str:
    return "".join(part[:2] for part in intent.split("_"))[:5]


def format_report(
    gold: GoldReport, ha: HAReport, show_errors: bool, spoken: GoldReport | None = None
) -> str:
    """Render the reports as text tables (written and spoken side by side)."""
    lines = _side_by_side(gold, spoken) if spoken is not None else _written_only(gold)
    lines += ["", "Per intent, gold set:"]
    lines.append(f"{'intent':<22} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}")
    for intent, score in gold.per_intent.items():
        lines.append(
            f"{intent:<22} {score.precision:>6.3f} {score.recall:>6.3f} {score.f1:>6.3f} "
            f"{score.support:>5}"
        )
    labels = list(gold.per_intent)
    lines += ["", "Confusion matrix, gold set (rows: expected, columns: predicted)"]
    lines.append(" " * 22 + "".join(f"{_abbreviation(label):>6}" for label in labels))
    for expected in labels:
        row = gold.confusion.get(expected, {})
        cells = "".join(f"{row.get(label, 0) or '.':>6}" for label in labels)
        lines.append(f"{expected:<22}{cells}")
    lines += [
        "",
        f"Home Assistant intent tests: {ha.total} sentences",
        f"  routed fast {ha.fast_fraction:.4f}  (target >= {TARGET_HA_FAST})",
    ]
    lines.extend(f"  [{lang}] fast {value:.4f}" for lang, value in ha.by_language.items())
    lines.extend(f"    {name:<32} {value:.3f}" for name, value in ha.by_ha_intent.items())
    if show_errors:
        for title, report in (("Gold errors:", gold), ("Spoken-style errors:", spoken)):
            if report is None:
                continue
            lines += ["", title]
            lines.extend(
                f"  {e['text']!r}: expected {e['expected']}, got {e['got']} {e['slots'] or ''}"
                for e in report.errors
            )
        lines += ["", "HA sentences not routed fast:"]
        lines.extend(f"  {m['text']!r} [{m['ha_intent']}]: {m['got']}" for m in ha.misses)
    return "\n".join(lines)


def _written_only(gold: GoldReport) -> list[str]:
    lines = [
        f"Gold set: {gold.total} utterances",
        f"  route accuracy  {gold.route_accuracy:.4f}  (target >= {TARGET_ROUTE_ACCURACY})",
        f"  intent accuracy {gold.intent_accuracy:.4f}  (target >= {TARGET_INTENT_ACCURACY})",
        f"  slot accuracy   {gold.slot_accuracy:.4f}  ({gold.slots_checked} asserted slot values)",
    ]
    for lang, scores in gold.by_language.items():
        lines.append(
            f"  [{lang}] n={int(scores['total'])} route {scores['route_accuracy']:.4f} "
            f"intent {scores['intent_accuracy']:.4f} slots {scores['slot_accuracy']:.4f}"
        )
    return lines


def _side_by_side(gold: GoldReport, spoken: GoldReport) -> list[str]:
    def row(name: str, written: float, said: float, targets: str) -> str:
        return f"  {name:<16} {written:>8.4f} {said:>8.4f}  {targets}"

    lines = [
        (
            f"{'':<18} {'written':>8} {'spoken':>8}  (gold set {gold.total}, "
            f"spoken-style set {spoken.total} utterances)"
        ),
        row(
            "route accuracy",
            gold.route_accuracy,
            spoken.route_accuracy,
            f"(targets >= {TARGET_ROUTE_ACCURACY} / {TARGET_SPOKEN_ROUTE_ACCURACY})",
        ),
        row(
            "intent accuracy",
            gold.intent_accuracy,
            spoken.intent_accuracy,
            f"(targets >= {TARGET_INTENT_ACCURACY} / {TARGET_SPOKEN_INTENT_ACCURACY})",
        ),
        row(
            "slot accuracy",
            gold.slot_accuracy,
            spoken.slot_accuracy,
            f"({gold.slots_checked} / {spoken.slots_checked} asserted slot values)",
        ),
    ]
    for lang in sorted(set(gold.by_language) | set(spoken.by_language)):
        written = gold.by_language.get(lang, {})
        said = spoken.by_language.get(lang, {})
        for key in ("route_accuracy", "intent_accuracy"):
            name = f"[{lang}] {key.split('_')[0]}"
            lines.append(row(name, written.get(key, 0.0), said.get(key, 0.0), ""))
    return lines


def targets_met(gold: GoldReport, ha: HAReport, spoken: GoldReport | None = None) -> bool:
    """Whether all acceptance targets are met."""
    return (
        gold.route_accuracy >= TARGET_ROUTE_ACCURACY
        and gold.intent_accuracy >= TARGET_INTENT_ACCURACY
        and ha.fast_fraction >= TARGET_HA_FAST
        and (
            spoken is None
            or (
                spoken.route_accuracy >= TARGET_SPOKEN_ROUTE_ACCURACY
                and spoken.intent_accuracy >= TARGET_SPOKEN_INTENT_ACCURACY
            )
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Run the evaluations, print them, exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description="Evaluate the Alice intent router.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--errors", action="store_true", help="list the misses")
    parser.add_argument("--model", type=Path, help="weights file (default: the shipped one)")
    args = parser.parse_args(argv)
    router = IntentRouter(model=RouterModel.load(args.model))
    gold = evaluate_gold(router, load_jsonl(GOLD_FILES))
    spoken = evaluate_gold(router, load_jsonl(SPOKEN_FILES))
    ha = evaluate_ha(router, load_jsonl(HA_FILES))
    ok = targets_met(gold, ha, spoken)
    if args.json:
        gold_body, spoken_body, ha_body = asdict(gold), asdict(spoken), asdict(ha)
        if not args.errors:
            gold_body.pop("errors")
            spoken_body.pop("errors")
            ha_body.pop("misses")
        body = {"gold": gold_body, "spoken": spoken_body, "ha_intents": ha_body, "targets_met": ok}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(format_report(gold, ha, args.errors, spoken))
        print("\nAll targets met." if ok else "\nTARGET MISSED.", file=sys.stdout)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
