"""Generate the router's training data: data/router/train_{sv,en}.jsonl.

The sentences come from two sources, both written for this project:

* hand-written natural utterances (``HANDWRITTEN`` in router_data_sv.py and
  router_data_en.py), used as they are;
* templates with slot fillers (``TEMPLATES``), expanded combinatorially with a
  seeded random generator; ``EXTRA_TEMPLATES``, added later, are expanded last
  with a random stream of their own, so that adding one does not reshuffle
  what the others produce.

Template syntax: ``{name}`` is a random filler from ``FILLERS[name]`` (fillers
may hold template syntax themselves), ``(a|b|c)`` picks one alternative,
``[x]`` is optional (50 %). A template may be given as ``(template, count)``
to draw ``count`` samples instead of the default.

Then ASR-style and typed variants are mixed in (fillers such as "öh", "alltså",
"um", a few typos, capitalisation and punctuation), exact duplicates (after the
classifier's normalisation) are dropped, and so is any sentence that is the same
as or a near duplicate of a gold-set sentence (tests/data/router_gold_*.jsonl),
a spoken-style evaluation sentence (tests/data/router_spoken_*.jsonl) or a
Home Assistant test sentence (tests/data/ha_intents/*.jsonl): those are
evaluation data and must never be trained on. Near duplicate: character-trigram
Jaccard similarity of the normalised texts >= NEAR_DUPLICATE (0.8), e.g.
"vad är klockan" / "vad är klockan nu".

Deterministic: the same files come out for the same seed. Run::

    .venv/bin/python script/router_data.py [--seed 7]
"""

import argparse
from collections import Counter
from collections.abc import Callable, Iterable
import json
from pathlib import Path
import random
import re
import sys

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import router_data_en  # noqa: E402
import router_data_sv  # noqa: E402

from custom_components.alice_voice.router.text import normalize_for_model  # noqa: E402

DEFAULT_SEED = 7
DEFAULT_SAMPLES = 4
#: Every template's sample count is multiplied by this.
SAMPLE_SCALE = 3
OUT_DIR = ROOT / "data" / "router"
EVAL_FILES = (
    ROOT / "tests" / "data" / "router_gold_sv.jsonl",
    ROOT / "tests" / "data" / "router_gold_en.jsonl",
    ROOT / "tests" / "data" / "router_spoken_sv.jsonl",
    ROOT / "tests" / "data" / "router_spoken_en.jsonl",
    ROOT / "tests" / "data" / "ha_intents" / "sv.jsonl",
    ROOT / "tests" / "data" / "ha_intents" / "en.jsonl",
)

NEAR_DUPLICATE = 0.8

type Node = str | tuple[str, list[list[Node]]]


def _parse(template: str) -> list[Node]:
    """Parse template syntax into nodes: text, ("alt"|"opt", branches) or ("slot", name)."""
    pos = 0

    def sequence(stop: str) -> list[Node]:
        nonlocal pos
        nodes: list[Node] = []
        text = ""
        while pos < len(template) and template[pos] not in stop:
            char = template[pos]
            if char in "([{":
                if text:
                    nodes.append(text)
                    text = ""
                pos += 1
                if char == "{":
                    end = template.index("}", pos)
                    nodes.append(("slot", [[template[pos:end]]]))
                    pos = end + 1
                    continue
                closing = ")" if char == "(" else "]"
                branches = [sequence("|" + closing)]
                while template[pos] == "|":
                    pos += 1
                    branches.append(sequence("|" + closing))
                pos += 1  # closing bracket
                nodes.append(("alt" if char == "(" else "opt", branches))
            else:
                text += char
                pos += 1
        if text:
            nodes.append(text)
        return nodes

    nodes = sequence("")
    if pos != len(template):
        raise ValueError(f"unbalanced template: {template!r}")
    return nodes


class Expander:
    """Expand templates with fillers, seeded."""

    def __init__(self, fillers: dict[str, list[str]], rng: random.Random) -> None:
        """Use ``fillers`` for ``{name}`` slots and ``rng`` for every choice."""
        self.fillers = fillers
        self.rng = rng
        self._cache: dict[str, list[Node]] = {}

    def expand(self, template: str, depth: int = 0) -> str:
        """Return one random expansion of ``template``."""
        if depth > 8:
            raise ValueError(f"template recursion too deep: {template!r}")
        nodes = self._cache.get(template)
        if nodes is None:
            nodes = self._cache[template] = _parse(template)
        return re.sub(r"\s+", " ", self._render(nodes, depth)).strip()

    def _render(self, nodes: list[Node], depth: int) -> str:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
                continue
            kind, branches = node
            if kind == "slot":
                name = branches[0][0]
                assert isinstance(name, str)
                if name not in self.fillers:
                    raise KeyError(f"no filler list {name!r}")
                out.append(self.expand(self.rng.choice(self.fillers[name]), depth + 1))
            elif kind == "alt":
                out.append(self._render(self.rng.choice(branches), depth))
            elif self.rng.random() < 0.5:
                out.append(self._render(branches[0], depth))
        return "".join(out)


_KEYBOARD = "qwertyuiopasdfghjklzxcvbnmåäö"
_KEY_ROWS = ("qwertyuiopå", "asdfghjklöä", "zxcvbnm", "1234567890")
_ONSETS = {
    "sv": [
        "b",
        "bl",
        "br",
        "d",
        "dr",
        "f",
        "fl",
        "fr",
        "g",
        "gl",
        "gr",
        "h",
        "j",
        "k",
        "kl",
        "kr",
        "kv",
        "l",
        "m",
        "n",
        "p",
        "pl",
        "pr",
        "r",
        "s",
        "sk",
        "skr",
        "sl",
        "sm",
        "sn",
        "sp",
        "st",
        "str",
        "sv",
        "t",
        "tr",
        "v",
        "",
        "",
    ],
    "en": [
        "b",
        "bl",
        "br",
        "ch",
        "d",
        "dr",
        "f",
        "fl",
        "fr",
        "g",
        "gl",
        "gr",
        "h",
        "j",
        "k",
        "kl",
        "l",
        "m",
        "n",
        "p",
        "pl",
        "pr",
        "qu",
        "r",
        "s",
        "sh",
        "sk",
        "sl",
        "sm",
        "sn",
        "sp",
        "st",
        "str",
        "t",
        "th",
        "tr",
        "v",
        "w",
        "z",
        "",
        "",
    ],
}
_VOWELS = {"sv": "aeiouyåäö", "en": "aeiouy"}
_CODAS = ["", "", "n", "r", "s", "t", "k", "l", "m", "ng", "st", "rk", "nk", "ff", "pp", "x"]
#: Pseudo-words and keyboard mashes added to UNKNOWN, per language.
NOISE_EXAMPLES = 300


def pseudo_word(lang: str, rng: random.Random) -> str:
    """A pronounceable nonsense word ("blorkan", "strufi")."""
    return "".join(
        rng.choice(_ONSETS[lang]) + rng.choice(_VOWELS[lang]) + rng.choice(_CODAS)
        for _ in range(rng.randint(1, 3))
    )


def keyboard_mash(rng: random.Random) -> str:
    """A run of neighbouring keys ("sdfgh", "uiop")."""
    row = rng.choice(_KEY_ROWS[:3])
    start = rng.randrange(len(row) - 2)
    return row[start : start + rng.randint(3, min(8, len(row) - start))]


def noise(lang: str, rng: random.Random) -> str:
    """One nonsense utterance for the UNKNOWN class."""
    words = [
        keyboard_mash(rng) if rng.random() < 0.25 else pseudo_word(lang, rng)
        for _ in range(rng.randint(1, 4))
    ]
    return " ".join(words)


def typo(text: str, rng: random.Random) -> str:
    """Introduce one realistic typo (drop, swap, double or replace a letter)."""
    words = text.split()
    candidates = [i for i, word in enumerate(words) if len(word) > 3]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word = words[i]
    j = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        word = word[:j] + word[j + 1 :]
    elif kind == 1:
        word = word[: j - 1] + word[j] + word[j - 1] + word[j + 1 :]
    elif kind == 2:
        word = word[:j] + word[j] + word[j:]
    else:
        word = word[:j] + rng.choice(_KEYBOARD) + word[j + 1 :]
    words[i] = word
    return " ".join(words)


def styled(text: str, lang: str, rng: random.Random) -> str:
    """Render as ASR output (mostly) or as typed text, with fillers sometimes."""
    fillers = (
        ("öh", "eh", "alltså", "liksom", "äh", "asså")
        if lang == "sv"
        else ("um", "uh", "like", "er")
    )
    roll = rng.random()
    if roll < 0.12:
        text = f"{rng.choice(fillers)} {text}"
    elif roll < 0.17 and " " in text:
        words = text.split()
        k = rng.randrange(1, len(words))
        text = " ".join([*words[:k], rng.choice(fillers), *words[k:]])
    if rng.random() < 0.25:
        text = text[:1].upper() + text[1:]
        if text[-1:].isalnum():
            text += rng.choice([".", "?", "!", ""])
    return text


def trigrams(text: str) -> frozenset[str]:
    """Character trigrams of a normalised text (with boundary spaces)."""
    padded = f" {text} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


class NearDuplicateIndex:
    """Find texts whose trigram Jaccard similarity to an indexed text is high."""

    def __init__(self, texts: Iterable[str], threshold: float = NEAR_DUPLICATE) -> None:
        """Index ``texts``; ``threshold`` is the Jaccard similarity that counts."""
        self.threshold = threshold
        self.exact = set(texts)
        self.by_size: dict[int, list[frozenset[str]]] = {}
        for text in self.exact:
            grams = trigrams(text)
            self.by_size.setdefault(len(grams), []).append(grams)

    def match(self, text: str) -> bool:
        """Whether ``text`` equals or nearly duplicates an indexed text."""
        if text in self.exact:
            return True
        grams = trigrams(text)
        size = len(grams)
        low, high = int(size * self.threshold), int(size / self.threshold) + 1
        for other_size in range(low, high + 1):
            for other in self.by_size.get(other_size, ()):
                shared = len(grams & other)
                if shared / (size + other_size - shared) >= self.threshold:
                    return True
        return False


def load_eval_texts() -> NearDuplicateIndex:
    """Index of the normalised evaluation sentences (gold and HA tests)."""
    texts: set[str] = set()
    for path in EVAL_FILES:
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as file:
            for line in file:
                if line.strip():
                    texts.add(normalize_for_model(json.loads(line)["text"]))
    return NearDuplicateIndex(texts)


def generate(
    lang: str,
    templates: dict[str, list[str | tuple[str, int]]],
    handwritten: dict[str, list[str]],
    fillers: dict[str, list[str]],
    seed: int,
    excluded: NearDuplicateIndex,
    augment: Callable[[str, str, random.Random], Iterable[str]] | None = None,
    extra: dict[str, list[str | tuple[str, int]]] | None = None,
) -> list[dict[str, str]]:
    """Generate the labelled examples of one language.

    ``extra`` templates are drawn after all others from a random stream of their
    own, so adding one leaves the sentences drawn from ``templates`` as they were.
    """
    rng = random.Random(f"{seed}-{lang}")
    expander = Expander(fillers, rng)
    seen: set[str] = set()
    dropped: set[str] = set()
    out: list[dict[str, str]] = []

    def add(text: str, intent: str) -> None:
        key = normalize_for_model(text)
        if not key or key in seen or key in dropped:
            return
        if excluded.match(key):
            dropped.add(key)
            return
        seen.add(key)
        out.append({"text": text, "language": lang, "intent": intent})

    for intent in sorted(set(templates) | set(handwritten)):
        for sentence in handwritten.get(intent, []):
            add(styled(sentence, lang, rng), intent)
            if augment is not None:
                for variant in augment(sentence, lang, rng):
                    add(variant, intent)
        for entry in templates.get(intent, []):
            template, count = entry if isinstance(entry, tuple) else (entry, DEFAULT_SAMPLES)
            for _ in range(count * SAMPLE_SCALE):
                sentence = expander.expand(template)
                add(styled(sentence, lang, rng), intent)
                if rng.random() < 0.07:
                    add(typo(sentence, rng), intent)
    for _ in range(NOISE_EXAMPLES):
        add(noise(lang, rng), "UNKNOWN")
    extra_rng = random.Random(f"{seed}-{lang}-extra")
    extra_expander = Expander(fillers, extra_rng)
    for intent in sorted(extra or {}):
        for entry in (extra or {})[intent]:
            template, count = entry if isinstance(entry, tuple) else (entry, DEFAULT_SAMPLES)
            for _ in range(count * SAMPLE_SCALE):
                add(styled(extra_expander.expand(template), lang, extra_rng), intent)
    rng.shuffle(out)
    print(f"[{lang}] dropped {len(dropped)} sentences too close to evaluation data")
    return out


def main(argv: list[str] | None = None) -> int:
    """Write data/router/train_{sv,en}.jsonl and print per-intent counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    excluded = load_eval_texts()
    args.out.mkdir(parents=True, exist_ok=True)
    for lang, module in (("sv", router_data_sv), ("en", router_data_en)):
        rows = generate(
            lang,
            module.TEMPLATES,
            module.HANDWRITTEN,
            module.FILLERS,
            args.seed,
            excluded,
            extra=module.EXTRA_TEMPLATES,
        )
        path = args.out / f"train_{lang}.jsonl"
        with path.open("w", encoding="utf-8") as file:
            for row in rows:
                file.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts = Counter(row["intent"] for row in rows)
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}: {len(rows)} examples")
        for intent, count in sorted(counts.items()):
            print(f"  {intent:<22} {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
