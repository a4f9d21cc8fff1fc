"""The router's linear classifier: weights file, loading and scoring (numpy only).

The model is a multinomial logistic regression over the hashed features of
:mod:`.features`. For an utterance with feature buckets ``f_1..f_n``::

    logits = bias + (W[f_1] + ... + W[f_n]) / sqrt(n)
    probabilities = softmax(logits)

Only the buckets that carried weight after training are shipped (``buckets``,
sorted ``uint32``, and their rows of ``W`` as ``float16``); any other bucket
contributes nothing. The file is a compressed ``.npz`` holding ``labels``
(unicode), ``buckets``, ``weights``, ``bias``, ``vocabulary`` (sorted ``uint32``
hashes of the training words, for the out-of-vocabulary check) and ``meta`` (a
JSON string with the :class:`~.features.FeatureConfig` and training metadata). It is read with
``allow_pickle=False``.
"""

from dataclasses import dataclass
from itertools import pairwise
import json
import math
from pathlib import Path
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt

from .features import BOS, EOS, FeatureConfig, bigram_buckets, bucket, word_buckets, word_hash
from .intents import Intent

DEFAULT_MODEL_PATH: Final = Path(__file__).with_name("model.npz")
_WORD_CACHE_SIZE: Final = 20_000

type FloatArray = npt.NDArray[np.float32]


class ModelLoadError(ValueError):
    """The weights file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class FeatureVector:
    """The model rows an utterance activates.

    Attributes:
        rows: the shipped rows of the weights its features hit (repeats kept).
        total: how many features it has, shipped or not (the norm of the sum).
        known_words: how many of its words were seen in training.
    """

    rows: list[int]
    total: int
    known_words: int


class RouterModel:
    """A loaded router classifier; immutable apart from an internal word cache."""

    def __init__(
        self,
        labels: tuple[Intent, ...],
        buckets: npt.NDArray[np.uint32],
        weights: FloatArray,
        bias: FloatArray,
        config: FeatureConfig,
        meta: dict[str, Any] | None = None,
        vocabulary: npt.NDArray[np.uint32] | None = None,
    ) -> None:
        """Wrap trained arrays; ``buckets`` must be sorted and match ``weights`` rows.

        ``vocabulary`` holds the :func:`~.features.word_hash` of every word seen in
        training; a sentence none of whose words is in it is out of vocabulary.
        """
        if weights.ndim != 2 or weights.shape != (len(buckets), len(labels)):
            raise ModelLoadError(
                f"weights shape {weights.shape} does not match "
                f"{len(buckets)} buckets x {len(labels)} labels"
            )
        if bias.shape != (len(labels),):
            raise ModelLoadError(f"bias shape {bias.shape} does not match the labels")
        self.labels = labels
        self.buckets = np.ascontiguousarray(buckets, dtype=np.uint32)
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = np.ascontiguousarray(bias, dtype=np.float32)
        self.config = config
        self.meta: dict[str, Any] = dict(meta or {})
        if len(self.buckets) > 1 and bool(np.any(self.buckets[1:] <= self.buckets[:-1])):
            raise ModelLoadError("buckets must be sorted and unique")
        self.vocabulary = np.unique(
            np.asarray(vocabulary if vocabulary is not None else [], dtype=np.uint32)
        )
        self._word_cache: dict[str, tuple[tuple[int, ...], int, bool]] = {}
        self.label_index: dict[Intent, int] = {label: i for i, label in enumerate(labels)}

    # --- persistence -------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> Self:
        """Load a weights file (the shipped ``model.npz`` by default).

        Synchronous file I/O: call it in an executor from async code.

        Raises:
            ModelLoadError: the file is missing or malformed.
        """
        file = Path(path) if path is not None else DEFAULT_MODEL_PATH
        try:
            with np.load(file, allow_pickle=False) as data:
                raw_labels = [str(label) for label in data["labels"].tolist()]
                buckets = data["buckets"].astype(np.uint32)
                weights = data["weights"].astype(np.float32)
                bias = data["bias"].astype(np.float32)
                vocabulary = data["vocabulary"].astype(np.uint32)
                meta = json.loads(str(data["meta"]))
        except (OSError, KeyError, ValueError) as err:
            raise ModelLoadError(f"cannot load router model {file}: {err}") from err
        if not isinstance(meta, dict):
            raise ModelLoadError(f"router model {file}: meta is not an object")
        try:
            labels = tuple(Intent(label) for label in raw_labels)
        except ValueError as err:
            raise ModelLoadError(f"router model {file}: {err}") from err
        config_data = meta.get("features", {})
        config = FeatureConfig.from_dict(config_data if isinstance(config_data, dict) else {})
        return cls(labels, buckets, weights, bias, config, meta, vocabulary)

    def save(self, path: str | Path) -> None:
        """Write the model as a compressed ``.npz`` (weights as float16)."""
        meta = {**self.meta, "features": self.config.to_dict()}
        with Path(path).open("wb") as file:
            np.savez_compressed(
                file,
                labels=np.array([str(label) for label in self.labels]),
                buckets=self.buckets,
                weights=self.weights.astype(np.float16),
                bias=self.bias,
                meta=np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
                vocabulary=self.vocabulary,
            )

    @property
    def nbytes(self) -> int:
        """Bytes held by the numpy arrays of the model."""
        return int(
            self.buckets.nbytes + self.weights.nbytes + self.bias.nbytes + self.vocabulary.nbytes
        )

    # --- scoring -----------------------------------------------------------------

    def _rows(
        self,
        hashed: list[int],
        table: npt.NDArray[np.uint32] | None = None,
        *,
        keep_missing: bool = False,
    ) -> list[int]:
        """Return the rows of ``table`` (the buckets) holding ``hashed``, in order.

        A binary search in the sorted array: no per-bucket Python objects, which
        would take more memory than the weights. Missing buckets are left out, or
        -1 with ``keep_missing``.
        """
        table = self.buckets if table is None else table
        if not hashed or not len(table):
            return [-1] * len(hashed) if keep_missing else []
        keys = np.asarray(hashed, dtype=np.uint32)
        index = np.minimum(np.searchsorted(table, keys), len(table) - 1)
        found = table[index] == keys
        if keep_missing:
            return np.where(found, index, -1).tolist()  # type: ignore[no-any-return]
        return index[found].tolist()  # type: ignore[no-any-return]

    def _word_rows(self, word: str) -> tuple[tuple[int, ...], int, bool]:
        """Return (known rows, feature count, whole word known) for one word."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        hashed = word_buckets(word, self.config)
        rows = tuple(self._rows(hashed))
        known = bool(self._rows([word_hash(word)], self.vocabulary))
        entry = (rows, len(hashed), known)
        if len(self._word_cache) >= _WORD_CACHE_SIZE:
            self._word_cache.clear()
        self._word_cache[word] = entry
        return entry

    def features(self, tokens: list[str]) -> FeatureVector:
        """Return the model rows activated by normalised ``tokens``."""
        rows: list[int] = []
        total = 0
        known_words = 0
        for token in tokens:
            word_rows, count, known = self._word_rows(token)
            rows.extend(word_rows)
            total += count
            known_words += known
        if tokens:
            hashed = bigram_buckets(tokens, self.config)
            total += len(hashed)
            rows.extend(self._rows(hashed))
        return FeatureVector(rows, total, known_words)

    def logits(self, vector: FeatureVector) -> FloatArray:
        """Return the class logits for a feature vector."""
        if not vector.rows:
            return self.bias.copy()
        summed: FloatArray = self.weights[vector.rows].sum(axis=0)
        result: FloatArray = self.bias + summed * np.float32(1.0 / math.sqrt(vector.total))
        return result

    def probabilities(self, vector: FeatureVector) -> FloatArray:
        """Return the class probabilities (softmax of the logits)."""
        logits = self.logits(vector)
        exp = np.exp(logits - logits.max())
        result: FloatArray = exp / exp.sum()
        return result

    def contributions(
        self, tokens: list[str], intent: Intent, top_n: int = 8
    ) -> list[tuple[str, float]]:
        """Return the ``top_n`` feature strings that push ``intent`` up the most."""
        index = self.label_index.get(intent)
        if index is None or not tokens:
            return []
        config = self.config
        names: list[str] = []
        for token in tokens:
            names.append("w|" + token)
            marked = f"<{token}>"
            for n in range(config.char_min, config.char_max + 1):
                names.extend(marked[i : i + n] for i in range(len(marked) - n + 1))
        padded = [BOS, *tokens, EOS]
        names.extend(f"b|{a} {b}" for a, b in pairwise(padded))
        scale = 1.0 / math.sqrt(len(names))
        totals: dict[str, float] = {}
        rows = self._rows([bucket(name, config.mask) for name in names], keep_missing=True)
        for name, row in zip(names, rows, strict=True):
            if row >= 0:
                totals[name] = totals.get(name, 0.0) + float(self.weights[row, index]) * scale
        ranked = sorted(totals.items(), key=lambda item: -item[1])
        return [(name, round(weight, 4)) for name, weight in ranked[:top_n]]
