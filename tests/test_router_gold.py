"""The router's measured quality: the gold set and Home Assistant's own test sentences.

These guard the acceptance targets (route accuracy >= 0.97, intent accuracy >=
0.93 on the gold set; >= 0.97 of HA's intent test sentences routed fast) with
the same code that ``script/evaluate_router`` runs. The gold set, the
spoken-style set (tests/test_router_spoken.py) and the HA sentences are
evaluation data: the training data generator drops anything close to them, and
a test here checks that.
"""

from collections import Counter
from collections.abc import Iterator
import importlib.util
import json
from pathlib import Path
import sys
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from custom_components.alice_voice.router import FAST_INTENTS, Intent, IntentRouter, RouterModel
from custom_components.alice_voice.router.text import normalize_for_model

ROOT = Path(__file__).parents[1]


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "script" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def evaluate() -> ModuleType:
    """script/router_evaluate.py as a module."""
    return _load_script("router_evaluate")


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    """The shipped router."""
    return IntentRouter()


def _rows(paths: tuple[Path, ...]) -> Iterator[dict[str, Any]]:
    for path in paths:
        with path.open(encoding="utf-8") as file:
            yield from (json.loads(line) for line in file if line.strip())


def test_gold_set_is_large_and_well_formed(evaluate: ModuleType) -> None:
    """At least 300 Swedish and 150 English lines, each with intent, path and slots."""
    rows = list(_rows(evaluate.GOLD_FILES))
    languages = Counter(row["language"] for row in rows)
    assert languages["sv"] >= 300
    assert languages["en"] >= 150
    intents = Counter(row["intent"] for row in rows)
    assert set(intents) == {str(intent) for intent in Intent}
    for row in rows:
        assert row["path"] in {"fast", "think", "hybrid"}
        assert isinstance(row.get("slots", {}), dict)
    # Sure intents take their own path (the line is labelled as it should route).
    fast = [row for row in rows if Intent(row["intent"]) in FAST_INTENTS]
    assert sum(row["path"] == "fast" for row in fast) >= 0.9 * len(fast)
    assert sum(bool(row.get("slots")) for row in rows) >= 150


def test_gold_set_targets(evaluate: ModuleType, router: IntentRouter) -> None:
    """Route accuracy >= 0.97 and intent accuracy >= 0.93 on the gold set."""
    report = evaluate.evaluate_gold(router, evaluate.load_jsonl(evaluate.GOLD_FILES))
    assert report.route_accuracy >= evaluate.TARGET_ROUTE_ACCURACY == 0.97, report.errors
    assert report.intent_accuracy >= evaluate.TARGET_INTENT_ACCURACY == 0.93, report.errors
    assert report.slot_accuracy >= 0.95, [e for e in report.errors if e["slots"]]
    for language, scores in report.by_language.items():
        assert scores["route_accuracy"] >= 0.95, language


def test_home_assistant_sentences_route_fast(evaluate: ModuleType, router: IntentRouter) -> None:
    """At least 0.97 of HA's own Swedish and English intent test sentences go fast."""
    rows = evaluate.load_jsonl(evaluate.HA_FILES)
    assert len(rows) > 1000
    report = evaluate.evaluate_ha(router, rows)
    assert report.fast_fraction >= evaluate.TARGET_HA_FAST == 0.97, report.misses[:20]
    assert set(report.by_language) == {"sv", "en"}


def test_evaluation_data_is_not_trained_on(evaluate: ModuleType) -> None:
    """No gold or HA sentence appears (normalised) in the training data."""
    training = {
        normalize_for_model(row["text"])
        for row in _rows(tuple(sorted((ROOT / "data" / "router").glob("train_*.jsonl"))))
    }
    assert len(training) > 10_000
    files = evaluate.GOLD_FILES + evaluate.SPOKEN_FILES + evaluate.HA_FILES
    held_out = [row["text"] for row in _rows(files)]
    assert len(held_out) > 2500
    leaked = [text for text in held_out if normalize_for_model(text) in training]
    assert not leaked
    # The generator knows every evaluation file, so it keeps them out the next time too.
    data = _load_script("router_data")
    assert set(files) <= set(data.EVAL_FILES)


def test_report_and_main(evaluate: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """The script prints precision/recall, a confusion matrix and the HA fraction."""
    assert evaluate.main([]) == 0
    out = capsys.readouterr().out
    assert "Confusion matrix" in out
    assert "route accuracy" in out
    assert "Home Assistant intent tests" in out
    assert "written" in out
    assert "spoken" in out
    assert "All targets met." in out
    assert evaluate.main(["--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["targets_met"] is True
    assert "errors" not in body["gold"]
    assert "errors" not in body["spoken"]
    assert body["spoken"]["total"] >= 450


def test_training_is_seeded_and_reproducible(tmp_path: Path) -> None:
    """script/train_router: same data and seed, same model; it prints held-out accuracy."""
    train = _load_script("router_train")
    rows = list(_rows((ROOT / "data" / "router" / "train_sv.jsonl",)))
    per_intent: Counter[str] = Counter()
    sample = []
    for row in rows:  # the first 40 lines of each intent
        if per_intent[row["intent"]] < 40:
            per_intent[row["intent"]] += 1
            sample.append(row)
    data = tmp_path / "train_sv.jsonl"
    data.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in sample) + "\n")
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    args = ["--data", str(data), "--epochs", "4", "--max-features", "5000"]
    assert train.main([*args, "--out", str(first)]) == 0
    assert train.main([*args, "--out", str(second), "--no-holdout"]) == 0
    a, b = (RouterModel.load(path) for path in (first, second))
    assert a.meta["seed"] == 7
    assert "holdout_accuracy" in a.meta
    assert len(a.buckets) <= 5000
    router = IntentRouter(model=a)
    correct = sum(router.classify(row["text"]).intent == row["intent"] for row in sample)
    assert correct >= 0.9 * len(sample)
    # Same seed, same data: the same weights (the temperature differs: b skipped the holdout).
    third = tmp_path / "c.npz"
    assert train.main([*args, "--out", str(third), "--no-holdout"]) == 0
    c = RouterModel.load(third)
    assert np.array_equal(b.weights, c.weights)
    assert np.array_equal(b.buckets, c.buckets)
