"""Utterances that hold more than one request: where they split, and what they add up to.

"tänd i köket och boka möte med anna imorgon" is two requests; a fast path
would do one of them, and a think turn focused on the calendar would have no
device tools. The policy reads such an utterance clause by clause:

* :func:`split_clauses` cuts the classifier's tokens before a request that
  follows a conjunction (:data:`BOUNDARY_WORDS`: "och", "sen", "samt", "and",
  "then"...; also "och sen", "and then", and "å", how recognisers often write
  a spoken "och"). A request starts with an imperative or a question word
  (:data:`.spoken.REQUEST_STARTS`: "tänd", "boka", "vad", "turn", "book",
  "what"...), except "säg", "berätta", "tell" and "give": after a mail verb
  they are the message ("mejla anna och säg att jag blir sen"); and a verb
  followed by "att" or "that" checks on the request before it ("flytta
  padeln och kolla att johan kan").
* :func:`combined_intent` turns the clauses' intents into the utterance's:

  - one request among greetings, thanks or clarifications ("tack och släck i
    hallen"): that request;
  - requests of one intent: two device commands are ``MULTI_STEP_WORKFLOW``
    (Home Assistant's intents do one command a sentence); any other intent
    ("vad är klockan och vilket datum är det") is that intent, one answer
    covers both (``CALENDAR_COMPLEX`` covers calendar intents too);
  - requests about the calendar and mail: ``CALENDAR_COMPLEX`` (unless the
    model's intent covers them already: ``CALENDAR_COMPLEX``, or a mail intent
    for mail only), even when the model said ``MULTI_STEP_WORKFLOW``: the
    calendar-and-mail intent keeps the think turn to the tools it needs;
  - anything else (two device commands, a device command and a booking, a
    time and a weather question...): ``MULTI_STEP_WORKFLOW``, on the think path
    with every tool, so that no request is left half done.
"""

from collections.abc import Sequence
from typing import Final

from .intents import Intent
from .spoken import REQUEST_STARTS

BOUNDARY_WORDS: Final = frozenset(
    """
    och å sen sedan därefter samt plus and then
    """.split()  # noqa: SIM905 - a word list reads best as text
)
#: Words that may join a conjunction ("och sen", "and then", "och så", "and also").
_BOUNDARY_FOLLOWERS: Final = frozenset({"sen", "sedan", "så", "därefter", "then", "also"})
#: What a request after a conjunction opens with: not what a message opens with.
_CLAUSE_STARTS: Final = REQUEST_STARTS - {"säg", "berätta", "tell", "give"}
#: A clause start followed by these checks on the request before it ("och kolla att ...").
_CHECKS: Final = (["att"], ["that"])
CONVERSATIONAL: Final = frozenset({Intent.GREETING, Intent.ACKNOWLEDGMENT, Intent.CLARIFICATION})
_MAIL: Final = frozenset({Intent.EMAIL_ANALYSIS, Intent.EMAIL_SEND})
_CALENDAR_AND_MAIL: Final = _MAIL | {
    Intent.CALENDAR_QUERY,
    Intent.CALENDAR_CREATE,
    Intent.CALENDAR_COMPLEX,
}
_NOT_A_REQUEST: Final = CONVERSATIONAL | {Intent.UNKNOWN}


def split_clauses(tokens: Sequence[str]) -> list[list[str]]:
    """Cut ``tokens`` before every request that follows a conjunction (conjunctions dropped).

    Returns one clause (all of ``tokens``) when there is no such place.
    """
    clauses: list[list[str]] = []
    current: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in BOUNDARY_WORDS and current:
            start = index + 1
            if start < len(tokens) and tokens[start] in _BOUNDARY_FOLLOWERS:
                start += 1
            if (
                start < len(tokens)
                and tokens[start] in _CLAUSE_STARTS
                and tokens[start + 1 : start + 2] not in _CHECKS
            ):
                clauses.append(current)
                current = []
                index = start
                continue
        current.append(token)
        index += 1
    clauses.append(current)
    return [clause for clause in clauses if clause]


def combined_intent(model_intent: Intent, clause_intents: Sequence[Intent]) -> Intent | None:
    """The intent of an utterance read clause by clause (see the module docstring).

    Args:
        model_intent: the classifier's intent for the whole utterance.
        clause_intents: each clause's intent, in order.

    Returns:
        The intent the clauses add up to, or None to keep ``model_intent``.
    """
    requests = [intent for intent in clause_intents if intent not in _NOT_A_REQUEST]
    if len(requests) == 1:
        others = [intent for intent in clause_intents if intent is not requests[0]]
        if others and all(intent in CONVERSATIONAL for intent in others):
            return requests[0]
        return None
    if len(requests) < 2:
        return None
    kinds = set(requests)
    if len(kinds) == 1:
        (kind,) = kinds
        if kind is Intent.DEVICE_CONTROL:
            return Intent.MULTI_STEP_WORKFLOW
        keep = model_intent is kind or (
            model_intent is Intent.CALENDAR_COMPLEX and kind in _CALENDAR_AND_MAIL
        )
        return None if keep else kind
    if model_intent is Intent.MULTI_STEP_WORKFLOW and not kinds <= _CALENDAR_AND_MAIL:
        return None
    if kinds <= _CALENDAR_AND_MAIL:
        covered = model_intent is Intent.CALENDAR_COMPLEX or (
            kinds <= _MAIL and model_intent in _MAIL
        )
        return None if covered else Intent.CALENDAR_COMPLEX
    return Intent.MULTI_STEP_WORKFLOW
