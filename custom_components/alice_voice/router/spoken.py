"""What a speech recogniser hands over, cleaned up: fillers, stutters, wake word, polite tail.

A satellite's transcript is lower case and unpunctuated, and holds what people
say around a request. :func:`clean_words` takes the words of an utterance (in
either normal form of :mod:`.text`) and returns the request, with what was
said before and after it set apart. Both normal forms use it, so the
classifier, its training data and the slot extractors see the same request.

In this order:

1. **Fillers** are dropped: the words in :data:`FILLERS` ("eh", "öh",
   "alltså", "liksom", "um", "uh", "like"...) and drawn-out hesitations
   ("eeh", "ööhm", "hmmm", "ummm").
2. **Stutters** are collapsed: a word or a run of two or three words said
   twice in a row ("det det", "vad är vad är klockan", "can you can you"),
   and a cut-off start of the next word ("tä tänd", "slä släck", "tu turn";
   two to four letters, not a word of its own such as "på" or "the").
3. **Prefix**: a leading wake word, name or greeting - greeting words
   (:data:`GREETING_WORDS`: "hej", "hallå", "tjena", "hey", "hi"...; two-word
   greetings such as "god morgon", "good evening"), each optionally followed by
   "där", "igen", "på dig", "there", "again"; the answer words "okej", "ok",
   "okay", "alright"; the assistant's name (:data:`NAMES`: "alice" and how
   recognisers mishear it, "alis", "ellis"...); leading courtesy and discourse
   words ("snälla", "please", "så", "so", "well"). It is set apart only when a
   request follows: the rest opens like one (:data:`REQUEST_OPENERS`: an
   imperative, a question word or a question verb: "tänd", "vad", "kan",
   "är", "turn", "what", "can", "is"...), or the prefix holds the name and
   the rest is more than social words (:data:`SOCIAL_WORDS`: "då", "så
   länge", "på dig", "alla", "there"...). So "hej alice vilket datum är det"
   is "vilket datum är det" and "god morgon alice jag vill höra abba" is "jag
   vill höra abba", while "hej alice", "hallå där", "okej tack", "hej då" and
   "okej då" stay whole: a greeting or an answer on its own. A greeting word
   directly followed by "då" or "så" ("hej då", "okej så länge") is a
   farewell or an answer, never a prefix.
4. **Tail**: the name said last ("släck i köket alice") and a polite tail
   (:data:`POLITE_TAILS`: "tack", "tack så mycket", "är du snäll", "snälla",
   "please", "thanks", "thank you", "would you"), only after a request (what
   is left opens like one): "tänd i köket tack alice" is "tänd i köket",
   while "tack alice", "nej tack" and "perfekt tack" stay whole. A name right
   after a word that takes an object ("mejla alice", "med alice") is not a
   tail.

:func:`is_greeting` tells whether an utterance is nothing but greeting words
and the name ("hej", "hallå alice", "god morgon", "hi there").

Before the prefix, a few recognition slips are undone (:data:`SLIPS`: "turn
of the lights" is "turn off the lights"). Beyond that this module only
removes words; numbers are left to :mod:`.numbers`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
import re
from typing import Final

FILLERS: Final = frozenset(
    """
    eh ehm eeh öh öhm öö äh ähm ää hm hmm hmmm mm mmm alltså asså liksom um umm uh uhh
    uhm er erm like
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Drawn-out hesitations of any length ("eeeh", "ööhm", "hmmmm", "ummm", "uhhh").
_HESITATION_RE: Final = re.compile(
    r"^(?:e{2,}h*m*|e+h+m*|ö+h*m*|ä{2,}h*m*|ä+h+m*|h+m{2,}|m{3,}|u+h+m*|u+m+|e+r+m+)$"
)

#: The assistant's name, and how recognisers write it down.
NAMES: Final = frozenset(
    """
    alice alis allis alise aliss elis ellis alicé
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Words that greet or wake, said on their own or before a request.
GREETING_WORDS: Final = frozenset(
    """
    hej hejsan hallå halla tjena tja tjenare tjabba morsning godmorgon godkväll goddag
    godnatt hey hi hello hiya howdy yo
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Answer words that also open a request ("okej alice ...", "ok turn off ...").
ANSWER_WORDS: Final = frozenset({"okej", "ok", "okey", "oki", "okay", "alright"})
#: Two-word greetings ("god morgon alice ...").
GREETING_PAIRS: Final = frozenset(
    {
        ("god", "morgon"),
        ("god", "morron"),
        ("god", "kväll"),
        ("god", "dag"),
        ("god", "middag"),
        ("god", "natt"),
        ("good", "morning"),
        ("good", "evening"),
        ("good", "afternoon"),
        ("good", "day"),
        ("good", "night"),
    }
)
#: Two-word answers that also open a request ("all right turn off ...").
_ANSWER_PAIRS: Final = frozenset({("all", "right")})
#: What may follow a greeting word inside the prefix ("hallå där", "hej igen", "hi there").
_GREETING_FOLLOWERS: Final = (("på", "dig"), ("där",), ("igen",), ("there",), ("again",))
#: Courtesy and discourse words that may open a request ("snälla tänd...", "so what's...").
LEADING_WORDS: Final = frozenset(
    """
    snälla please så so well nå nåväl
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: After a greeting word these make a farewell or an answer ("hej då", "okej så länge").
_NOT_AFTER_GREETING: Final = frozenset({"då", "så"})
#: Words that on their own make no request: what is left after "hej" in "hej på er".
SOCIAL_WORDS: Final = frozenset(
    """
    då så länge på dig er där igen alla allihop allihopa hopp alice kompis vänner you
    there again all everyone everybody folks guys then mate buddy
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Polite endings (the longest one that fits is taken).
POLITE_TAILS: Final = (
    ("tack", "så", "mycket"),
    ("tack", "så", "hemskt", "mycket"),
    ("thank", "you", "very", "much"),
    ("tusen", "tack"),
    ("är", "du", "snäll"),
    ("thank", "you"),
    ("thanks", "a", "lot"),
    ("would", "you"),
    ("will", "you"),
    ("tack",),
    ("tackar",),
    ("snälla",),
    ("please",),
    ("thanks",),
)
_MAX_TAIL: Final = max(len(tail) for tail in POLITE_TAILS)
#: Short words that are never a cut-off start of the next word: function words ("to
#: today") and short verbs that may precede a word of the same stem ("lås låset").
_KEEP_SHORT: Final = frozenset(
    """
    på om av en ett är så då de du vi ni in on to an at it is as be by of or no the and
    can hur var vad när min din mig dig sig kan ska för till med men hej lås dra kör byt
    ring sätt slå tänd boka visa läs lägg ta ge gör play set turn stop open lock call dim
    read add put
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Words a request opens with: imperatives and question words (a clause after "och" that
#: starts with one of these is a request of its own, see :mod:`.compound`).
REQUEST_STARTS: Final = frozenset(
    """
    tänd tända släck släcka stäng stänga öppna sätt slå starta stoppa pausa spela boka
    skicka skriv mejla maila svara läs visa kolla påminn planera lägg flytta ring höj sänk
    lås dra kör aktivera dimra dämpa tysta väck ställ hitta sök avboka gör
    vad vilken vilket vilka hur när vem var varför berätta säg
    turn switch set play pause stop start resume skip open close lock unlock book schedule
    send email mail write reply read show check remind plan add put move call raise lower
    dim make cancel find arm disarm wake text message tell give
    what whats when how where who which why
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Words a request may open with besides :data:`REQUEST_STARTS`: modal and question verbs.
REQUEST_OPENERS: Final = REQUEST_STARTS | frozenset(
    """
    kan kunde skulle vill är har finns blir kommer ska behöver hjälp
    can could would will is are do does did have has should am shall may help
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Words after which a name is the object of the request, not a vocative ("mejla alice").
_TAKES_OBJECT: Final = frozenset(
    """
    med me till och åt från om för mejla maila ring ringa sms:a fråga hälsa with to and
    from for about of email mail call text ask tell message meet
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Recognition slips: a word that, after the one before it, is a homophone of another.
SLIPS: Final = {("turn", "of"): "off", ("switch", "of"): "off", ("shut", "of"): "off"}
_MAX_CUT_OFF: Final = 4
_MAX_REPEAT_RUN: Final = 3


@dataclass(frozen=True, slots=True)
class SpokenWords:
    """An utterance's words split into the request and what was said around it.

    Attributes:
        words: the request, fillers and stutters removed.
        prefix: the wake word, name, greeting or courtesy said before it.
        tail: the name or polite tail said after it.
    """

    words: tuple[str, ...]
    prefix: tuple[str, ...] = ()
    tail: tuple[str, ...] = ()


def is_filler(word: str) -> bool:
    """Whether ``word`` is a filler or a drawn-out hesitation ("eh", "ööhm", "ummm")."""
    return word in FILLERS or bool(_HESITATION_RE.match(word))


def _collapse_stutters(words: list[str]) -> list[str]:
    """Drop cut-off starts and immediately repeated runs of one to three words."""
    out: list[str] = []
    for index, word in enumerate(words):
        nxt = words[index + 1] if index + 1 < len(words) else ""
        if (
            2 <= len(word) <= _MAX_CUT_OFF
            and len(nxt) > len(word)
            and nxt.startswith(word)
            and word.isalpha()
            and word not in _KEEP_SHORT
        ):
            continue
        out.append(word)
        for run in range(1, _MAX_REPEAT_RUN + 1):
            if len(out) >= 2 * run and out[-run:] == out[-2 * run : -run]:
                del out[-run:]
                break
    return out


def _fix_slips(words: list[str]) -> list[str]:
    """Undo the recognition slips of :data:`SLIPS` ("turn of the lights")."""
    for index in range(1, len(words)):
        fixed = SLIPS.get((words[index - 1], words[index]))
        if fixed is not None:
            words[index] = fixed
    return words


def _has_request(words: Sequence[str]) -> bool:
    """Whether ``words`` hold more than social words ("då", "på dig", "alla")."""
    return any(word not in SOCIAL_WORDS and word not in NAMES for word in words)


def _opens_request(words: Sequence[str]) -> bool:
    """Whether ``words`` open like a request ("tänd ...", "vad ...", "kan du ...")."""
    return bool(words) and words[0] in REQUEST_OPENERS


def _greeting_length(words: Sequence[str], start: int, *, answers: bool = True) -> int:
    """Length of the greeting (with its follower) at ``start``, or 0.

    With ``answers`` the answer words ("okej", "ok", "all right") count too.
    """
    pair = tuple(words[start : start + 2])
    if pair in GREETING_PAIRS or (answers and pair in _ANSWER_PAIRS):
        length = 2
    elif start < len(words) and (
        words[start] in GREETING_WORDS or (answers and words[start] in ANSWER_WORDS)
    ):
        if start + 1 < len(words) and words[start + 1] in _NOT_AFTER_GREETING:
            return 0
        length = 1
    else:
        return 0
    for follower in _GREETING_FOLLOWERS:
        if tuple(words[start + length : start + length + len(follower)]) == follower:
            return length + len(follower)
    return length


def _prefix_length(words: Sequence[str], *, answers: bool = True, leading: bool = True) -> int:
    """Length of the leading greeting / name (/ answer, courtesy) words, or 0."""
    end = 0
    while True:
        greeting = _greeting_length(words, end, answers=answers)
        if greeting:
            end += greeting
            continue
        if end < len(words) and (words[end] in NAMES or (leading and words[end] in LEADING_WORDS)):
            end += 1
            continue
        return end


def is_greeting(words: Sequence[str]) -> bool:
    """Whether ``words`` are nothing but greetings and the name ("hallå alice", "hi there")."""
    kept = _collapse_stutters([word for word in words if not is_filler(word)])
    return bool(kept) and _prefix_length(kept, answers=False, leading=False) == len(kept)


def _trailing_names(words: Sequence[str], end: int) -> int:
    """Where the names said last before ``end`` start (not an object: "mejla alice")."""
    while end > 1 and words[end - 1] in NAMES and words[end - 2] not in _TAKES_OBJECT:
        end -= 1
    return end


def _tail_length(words: Sequence[str]) -> int:
    """Length of the trailing name and polite tail, or 0."""
    end = _trailing_names(words, len(words))
    size = next(
        (
            size
            for size in range(min(_MAX_TAIL, end), 0, -1)
            if tuple(words[end - size : end]) in POLITE_TAILS
        ),
        0,
    )
    if 0 < size < end:  # a polite tail that is all that was said stays
        end = _trailing_names(words, end - size)
    return len(words) - end


def clean_words(words: Sequence[str]) -> SpokenWords:
    """Return the request in ``words`` (see the module docstring).

    Args:
        words: the words of an utterance, lower case, in a normal form of :mod:`.text`.

    Returns:
        The request with fillers and stutters removed, and the prefix and tail set apart
        (empty when nothing is, or when nothing but them was said).
    """
    kept = _fix_slips(_collapse_stutters([word for word in words if not is_filler(word)]))
    start = _prefix_length(kept)
    rest = kept[start:]
    named = not NAMES.isdisjoint(kept[:start])
    if start and not (_opens_request(rest) or (named and _has_request(rest))):
        start, rest = 0, kept
    cut = _tail_length(rest)
    body = rest[: len(rest) - cut]
    if cut and not _opens_request(body):
        cut, body = 0, rest
    return SpokenWords(tuple(body), tuple(kept[:start]), tuple(rest[len(rest) - cut :]))
