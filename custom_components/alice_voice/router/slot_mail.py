"""Mail slots: who a mail goes to and what it says, or whose mail to look at.

* ``EMAIL_SEND``: the recipient ("mejla anna", "send an email to john"), the
  subject ("om fakturan", "about the report") and the message ("säg att jag
  blir sen");
* ``EMAIL_ANALYSIS``: the sender ("från chefen", "har erik svarat") and
  whether only unread mail is meant.
"""

import re
from typing import Final

from .slot_phrases import take_name
from .slot_types import SlotContext, Slots
from .slot_words import UNREAD_RE

_RECIPIENT_PATTERNS: Final = (
    re.compile(
        r"\b(?:mejl|mejlet|mail|mailet|e-post|epost|e-posten|e-mail|email|meddelande|brev|"
        r"note|message|mejlen|mailen|emails|mails)\s+(?:till|to)\s+(.+)"
    ),
    re.compile(r"\b(?:svara|reply\s+to|respond\s+to|answer)\s+(?!på\b|on\b|the\b)(.+)"),
    re.compile(
        r"\b(?:mejla|maila|mejlar|mailar|e-posta|emaila|mail|email|e-mail|message)\s+"
        r"(?!ett\b|en\b|a\b|an\b|the\b|till\b|to\b)(.+)"
    ),
    re.compile(r"\b(?:till|to)\s+(.+)"),
)
_SUBJECT_RE: Final = re.compile(
    r"\b(?:om|angående|ang|gällande|rörande|about|regarding|re|concerning)\s+"
    r"(?!att\b|that\b|det\b)(.+?)(?=\s+(?:och|and|så|att|that|saying|med|with)\b|$)"
)
_MESSAGE_RE: Final = re.compile(
    r"\b(?:säg|skriv|berätta|meddela|saying|say|tell\s+\w+|om)\s+(?:att|that)\s+(.+)$"
    r"|\b(?:saying|att|that)\s+(.+)$"
)
_SENDER_RES: Final = (
    re.compile(r"\b(?:från|from)\s+(.+)"),
    re.compile(r"\bskrev\s+(\w+)\b"),
    re.compile(r"\bhar\s+(\w+)\s+(?:svarat|skrivit|mejlat|mailat|skickat)\b"),
    re.compile(r"\b(?:did|has)\s+(\w+)\s+(?:say|write|send|reply|replied|written|email|sent)\b"),
)


def email_send_slots(text: str, context: SlotContext) -> Slots:
    """Extract recipient, subject and message of a mail to send."""
    del context
    recipient: str | None = None
    for index, pattern in enumerate(_RECIPIENT_PATTERNS):
        for match in pattern.finditer(text):
            recipient = take_name(match.group(1), max_tokens=1 if index == 2 else 2)
            if recipient is not None:
                break
        if recipient is not None:
            break
    subject_match = _SUBJECT_RE.search(text)
    slots: Slots = {
        "recipient": recipient,
        "subject": subject_match.group(1) if subject_match else None,
    }
    message = _MESSAGE_RE.search(text)
    if message:
        slots["message"] = message.group(1) or message.group(2)
    return slots


def email_analysis_slots(text: str, context: SlotContext) -> Slots:
    """Extract the sender filter (and unread flag) of a mail question."""
    del context
    sender: str | None = None
    for pattern in _SENDER_RES:
        match = pattern.search(text)
        if match:
            sender = take_name(match.group(1))
            if sender is not None and sender not in {"i", "jag", "idag", "today"}:
                break
            sender = None
    slots: Slots = {"sender": sender}
    if UNREAD_RE.search(text):
        slots["unread"] = True
    return slots
