"""Deterministic hashed n-gram features.

An utterance (already normalised into tokens by :mod:`.text`) becomes a bag of
hashed features:

* per word, the word itself (``w|tänd``) and its character n-grams of
  ``char_min``..``char_max`` characters with word-boundary marks
  (``<tä``, ``änd>``, ...), so inflections, compounds ("kökslampan") and typos
  share features with their base words;
* word bigrams with sentence-boundary marks (``<s> tänd``, ``tänd lampan``,
  ``köket </s>``), which carry word order ("spela" first vs. "pausa musiken").

Each feature string is hashed with CRC-32 (``zlib.crc32``; never Python's
per-process randomised ``hash()``) into ``2**n_bits`` buckets. The same bag is
used at training and at run time, so a model and its :class:`FeatureConfig`
travel together in the weights file.
"""

from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Final, Self
import zlib

BOS: Final = "<s>"
EOS: Final = "</s>"


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How utterances are turned into hashed features."""

    n_bits: int = 20
    char_min: int = 2
    char_max: int = 5

    @property
    def mask(self) -> int:
        """Bit mask that maps a 32-bit hash to a bucket."""
        return (1 << self.n_bits) - 1

    def to_dict(self) -> dict[str, int]:
        """Return the config as a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Self:
        """Build a config from :meth:`to_dict` output; unknown keys are ignored."""
        values: dict[str, int] = {}
        for key in ("n_bits", "char_min", "char_max"):
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                values[key] = value
        return cls(**values)


def bucket(feature: str, mask: int) -> int:
    """Return the bucket of a feature string (CRC-32, deterministic)."""
    return zlib.crc32(feature.encode("utf-8")) & mask


def word_hash(word: str) -> int:
    """Return the full 32-bit hash of a word (for the model's vocabulary)."""
    return zlib.crc32(("w|" + word).encode("utf-8"))


def word_buckets(word: str, config: FeatureConfig) -> list[int]:
    """Return the buckets of a word: the word itself, then its char n-grams."""
    mask = config.mask
    out = [bucket("w|" + word, mask)]
    marked = f"<{word}>"
    length = len(marked)
    for n in range(config.char_min, config.char_max + 1):
        out.extend(bucket(marked[start : start + n], mask) for start in range(length - n + 1))
    return out


def bigram_buckets(tokens: list[str], config: FeatureConfig) -> list[int]:
    """Return the buckets of the word bigrams of ``tokens`` (with boundaries)."""
    mask = config.mask
    padded = [BOS, *tokens, EOS]
    return [bucket(f"b|{a} {b}", mask) for a, b in pairwise(padded)]


def hash_features(tokens: list[str], config: FeatureConfig) -> list[int]:
    """Return every feature bucket of an utterance (repeats kept, as counts)."""
    out: list[int] = []
    for token in tokens:
        out.extend(word_buckets(token, config))
    if tokens:
        out.extend(bigram_buckets(tokens, config))
    return out
