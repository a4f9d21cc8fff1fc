"""Train the router classifier from data/router/*.jsonl (numpy only, seeded).

Multinomial logistic regression over the hashed features of :mod:`custom_components.alice_voice.router.features`,
trained with mini-batch Adam on a class-balanced, L2-regularised cross-entropy.
Only buckets seen in the training data get a weight; after training the
``max_features`` most important rows (largest absolute weight) are kept and
stored as float16 (see :mod:`custom_components.alice_voice.router.model`).

The run first holds out a stratified ``holdout`` fraction of the training data,
trains on the rest and prints held-out accuracy (of the pruned float16 model,
exactly what would ship). On that held-out split it also fits a softmax
temperature (minimum negative log-likelihood), so that confidences match how
often the model is right: the router's thresholds compare against them. Then it
trains again on all data, applies the temperature and writes the model.

Usage::

    script/train_router [--out PATH] [--seed N]
"""

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
import json
import math
from pathlib import Path
import sys
import time
from typing import Any, Final

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.alice_voice.router.features import FeatureConfig, hash_features, word_hash
from custom_components.alice_voice.router.intents import Intent
from custom_components.alice_voice.router.model import DEFAULT_MODEL_PATH, RouterModel
from custom_components.alice_voice.router.text import tokens_for_model

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR: Final = REPO_ROOT / "data" / "router"
LABELS: Final = tuple(Intent)

type IntArray = npt.NDArray[np.int64]
type FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Hyper-parameters of a training run."""

    seed: int = 7
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 0.03
    l2: float = 1e-6
    holdout: float = 0.1
    max_features: int = 40_000
    class_balance: float = 0.5


_DEFAULTS: Final = TrainConfig()
_FEATURES: Final = FeatureConfig()


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled training sentence."""

    text: str
    intent: Intent
    language: str


def load_examples(paths: Sequence[Path]) -> list[Example]:
    """Read ``{"text", "intent", "language"}`` JSON lines."""
    examples: list[Example] = []
    for path in paths:
        with path.open(encoding="utf-8") as file:
            for line in file:
                if not line.strip():
                    continue
                row = json.loads(line)
                examples.append(
                    Example(row["text"], Intent(row["intent"]), row.get("language", ""))
                )
    return examples


def default_data_files(data_dir: Path = DEFAULT_DATA_DIR) -> list[Path]:
    """Return the training files (``train_*.jsonl``) in ``data_dir``."""
    return sorted(data_dir.glob("train_*.jsonl"))


class _Dataset:
    """Examples as a CSR matrix over compact feature columns."""

    def __init__(self, bags: list[list[int]], labels: IntArray) -> None:
        self.labels = labels
        lengths = np.array([len(bag) for bag in bags], dtype=np.int64)
        self.indptr = np.concatenate(([0], np.cumsum(lengths)))
        self.buckets = np.array([h for bag in bags for h in bag], dtype=np.int64)
        self.values = np.repeat((1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32), lengths)

    def __len__(self) -> int:
        return len(self.labels)


def _featurize(examples: Sequence[Example], config: FeatureConfig) -> list[list[int]]:
    return [hash_features(tokens_for_model(example.text), config) for example in examples]


def _split(
    labels: IntArray, fraction: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Stratified split of indices into (train, held out)."""
    held: list[int] = []
    kept: list[int] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        cut = max(1, round(len(members) * fraction)) if len(members) > 4 else 0
        held.extend(members[:cut].tolist())
        kept.extend(members[cut:].tolist())
    return np.array(sorted(kept), dtype=np.int64), np.array(sorted(held), dtype=np.int64)


def _train_weights(
    bags: list[list[int]], labels: IntArray, config: TrainConfig
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Fit the model; returns (bucket of each row, weights [rows, classes], bias)."""
    rng = np.random.default_rng(config.seed)
    columns, inverse = np.unique(
        np.array([h for bag in bags for h in bag], dtype=np.int64), return_inverse=True
    )
    compact: list[list[int]] = []
    start = 0
    for bag in bags:
        compact.append(inverse[start : start + len(bag)].tolist())
        start += len(bag)
    data = _Dataset(compact, labels)
    n_classes = len(LABELS)
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    class_weight = np.where(
        counts > 0, (counts.max() / np.maximum(counts, 1)) ** config.class_balance, 0.0
    )
    weights = np.zeros((len(columns), n_classes), dtype=np.float32)
    bias = np.zeros(n_classes, dtype=np.float32)
    m_w = np.zeros_like(weights)
    v_w = np.zeros_like(weights)
    m_b = np.zeros_like(bias)
    v_b = np.zeros_like(bias)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    n = len(data)
    for _epoch in range(config.epochs):
        order = rng.permutation(n)
        for first in range(0, n, config.batch_size):
            batch = order[first : first + config.batch_size]
            starts = data.indptr[batch]
            ends = data.indptr[batch + 1]
            lengths = ends - starts
            flat = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
            cols = data.buckets[flat]
            vals = data.values[flat]
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
            logits = np.add.reduceat(weights[cols] * vals[:, None], offsets, axis=0) + bias
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            y = data.labels[batch]
            sample_weight = class_weight[y]
            grad = probs
            grad[np.arange(len(batch)), y] -= 1.0
            grad *= (sample_weight / sample_weight.sum())[:, None].astype(np.float32)
            rows = np.repeat(np.arange(len(batch)), lengths)
            contrib = grad[rows] * vals[:, None]
            touched, local = np.unique(cols, return_inverse=True)
            grad_rows = np.zeros((len(touched), n_classes), dtype=np.float32)
            np.add.at(grad_rows, local, contrib)
            grad_rows += config.l2 * weights[touched]
            grad_bias = grad.sum(axis=0)
            step += 1
            lr = config.learning_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
            m_w[touched] = beta1 * m_w[touched] + (1 - beta1) * grad_rows
            v_w[touched] = beta2 * v_w[touched] + (1 - beta2) * grad_rows**2
            weights[touched] -= lr * m_w[touched] / (np.sqrt(v_w[touched]) + eps)
            m_b = beta1 * m_b + (1 - beta1) * grad_bias
            v_b = beta2 * v_b + (1 - beta2) * grad_bias**2
            bias -= lr * m_b / (np.sqrt(v_b) + eps)
    return columns, weights, bias


def fit(
    examples: Sequence[Example],
    config: TrainConfig = _DEFAULTS,
    features: FeatureConfig = _FEATURES,
    meta: dict[str, Any] | None = None,
) -> RouterModel:
    """Train on ``examples`` and return the pruned model."""
    bags = _featurize(examples, features)
    labels = np.array([LABELS.index(example.intent) for example in examples], dtype=np.int64)
    columns, weights, bias = _train_weights(bags, labels, config)
    importance = np.abs(weights).max(axis=1)
    keep = np.sort(np.argsort(-importance, kind="stable")[: config.max_features])
    order = np.argsort(columns[keep], kind="stable")
    keep = keep[order]
    rounded = weights[keep].astype(np.float16).astype(np.float32)
    vocabulary = np.array(
        sorted({word_hash(token) for e in examples for token in tokens_for_model(e.text)}),
        dtype=np.uint32,
    )
    return RouterModel(
        LABELS,
        columns[keep].astype(np.uint32),
        rounded,
        bias,
        features,
        meta,
        vocabulary,
    )


def _logits(model: RouterModel, examples: Sequence[Example]) -> FloatArray:
    return np.array(
        [model.logits(model.features(tokens_for_model(e.text))) for e in examples],
        dtype=np.float32,
    )


def fit_temperature(model: RouterModel, examples: Sequence[Example]) -> float:
    """Return the softmax temperature that minimises held-out negative log-likelihood."""
    logits = _logits(model, examples).astype(np.float64)
    target = np.array([model.label_index[e.intent] for e in examples], dtype=np.int64)
    best = (math.inf, 1.0)
    for temperature in np.arange(0.2, 2.0001, 0.025):
        scaled = logits / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        nll = float((log_norm - scaled[np.arange(len(target)), target]).mean())
        if nll < best[0]:
            best = (nll, float(temperature))
    return round(best[1], 3)


def with_temperature(model: RouterModel, temperature: float) -> RouterModel:
    """Return ``model`` with its logits divided by ``temperature``."""
    return RouterModel(
        model.labels,
        model.buckets,
        (model.weights / temperature).astype(np.float16).astype(np.float32),
        model.bias / np.float32(temperature),
        model.config,
        {**model.meta, "temperature": temperature},
        model.vocabulary,
    )


def accuracy(model: RouterModel, examples: Sequence[Example]) -> float:
    """Top-1 intent accuracy of ``model`` on ``examples``."""
    if not examples:
        return float("nan")
    correct = 0
    for example in examples:
        vector = model.features(tokens_for_model(example.text))
        predicted = model.labels[int(np.argmax(model.probabilities(vector)))]
        correct += predicted == example.intent
    return correct / len(examples)


def main(argv: list[str] | None = None) -> int:
    """Train, report held-out accuracy, write the model file."""
    parser = argparse.ArgumentParser(description="Train the Alice intent router.")
    parser.add_argument("--data", type=Path, nargs="*", help="training jsonl files")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    parser.add_argument("--epochs", type=int, default=_DEFAULTS.epochs)
    parser.add_argument("--max-features", type=int, default=_DEFAULTS.max_features)
    parser.add_argument("--no-holdout", action="store_true", help="skip the held-out run")
    args = parser.parse_args(argv)
    files = args.data or default_data_files()
    if not files:
        print("no training data found (run script/router_data.py first)", file=sys.stderr)
        return 1
    config = TrainConfig(seed=args.seed, epochs=args.epochs, max_features=args.max_features)
    examples = load_examples(files)
    print(f"{len(examples)} examples from {', '.join(str(f) for f in files)}")
    print("per intent:", dict(sorted(Counter(str(e.intent) for e in examples).items())))
    meta: dict[str, Any] = {"seed": config.seed, "examples": len(examples)}
    temperature = 1.0
    if not args.no_holdout:
        labels = np.array([LABELS.index(e.intent) for e in examples], dtype=np.int64)
        kept, held = _split(labels, config.holdout, np.random.default_rng(config.seed))
        started = time.perf_counter()
        model = fit([examples[i] for i in kept], config)
        held_examples = [examples[i] for i in held]
        held_accuracy = accuracy(model, held_examples)
        train_accuracy = accuracy(model, [examples[i] for i in kept])
        print(
            f"held-out split: train {len(kept)}, held out {len(held)}; "
            f"train accuracy {train_accuracy:.4f}, held-out accuracy {held_accuracy:.4f} "
            f"({time.perf_counter() - started:.1f} s)"
        )
        for language in sorted({e.language for e in held_examples}):
            subset = [e for e in held_examples if e.language == language]
            print(
                f"  held-out accuracy [{language}]: {accuracy(model, subset):.4f} ({len(subset)})"
            )
        meta["holdout_accuracy"] = round(held_accuracy, 4)
        temperature = fit_temperature(model, held_examples)
        calibrated = with_temperature(model, temperature)
        confident = sum(
            float(np.max(calibrated.probabilities(calibrated.features(tokens_for_model(e.text)))))
            >= 0.85
            for e in held_examples
        )
        print(
            f"  softmax temperature {temperature} (held-out NLL); "
            f"held-out confidence >= 0.85: {confident / len(held_examples):.4f}"
        )
    started = time.perf_counter()
    model = with_temperature(fit(examples, config, meta=meta), temperature)
    model.save(args.out)
    print(
        f"trained on all {len(examples)} examples in {time.perf_counter() - started:.1f} s: "
        f"{len(model.buckets)} feature rows, {args.out.stat().st_size / 1024:.0f} KiB -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
