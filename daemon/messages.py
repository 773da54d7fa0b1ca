"""A message read from a mailbox, as the rules see it: where it is on the server, what it is, and the key
that makes it the same message however often it is read (the classifier's verdict decides the rest).

Below the mailbox conversations and the marking rules alike: both speak of it, neither owns it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ..shared.bounces import Verdict, classify

References = tuple[list[str], list[str]]  # (Message-IDs, In-Reply-To/References IDs), each with its <>


@dataclass
class Fetched:
    """One message of a round: where it is on the server, and what it is."""

    ref: str  # IMAP UID or POP3 UIDL: what a delete needs
    size: int
    raw: bytes | None = None  # None: skipped (too big)
    verdict: Verdict | None = None
    _key: str | None = field(default=None, repr=False, compare=False)
    _refs: References | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        """What makes a message the same message, even if the server renumbers it: known from the header
        as soon as the message is fetched, so a message already recorded need not be classified again."""
        if self._key is None:
            raw = self.raw or self.ref.encode()
            self._key = message_key(header_message_id(raw), raw)
        return self._key

    @property
    def references(self) -> References:
        """The Message-IDs it carries and the IDs it refers to (referenced()), read once; a classifier
        worker reads them beside the verdict, away from the round's commit."""
        if self._refs is None:
            self._refs = referenced(self.raw or b"")
        return self._refs

    def classify(self) -> None:
        if self.raw is not None:
            self.verdict = classify(self.raw)

    def read_elsewhere(self, verdict: Verdict, references: References) -> None:
        """What a classifier worker read of it (read_many)."""
        self.verdict, self._refs = verdict, references


def read_many(raws: list[bytes]) -> list[tuple[Verdict, References]]:
    """classify() and referenced() over a batch: what a classifier worker process is handed."""
    return [(classify(raw), referenced(raw)) for raw in raws]


def message_key(message_id: str | None, raw: bytes) -> str:
    """A message's key (as `seen_messages` and `bounces` keep it): its Message-ID, else a hash of it whole."""
    if message_id:
        return "mid:" + message_id.strip("<> \t")[:400]
    return "sha:" + hashlib.sha256(raw).hexdigest()[:40]


# Searched as "\nmessage-id" in "\n" + the header lower-cased (bytes.lower() keeps offsets), the value then read
# from the header as it is: a literal sre scans for, where a case-blind multi-line ^ was tried at every byte.
_MESSAGE_ID = re.compile(rb"\nmessage-id[ \t]*:")
FIELD_VALUE = re.compile(rb".*(?:\r?\n[ \t].*)*")  # a header field's value, its folded lines with it


def header_message_id(raw: bytes) -> str | None:
    """The first Message-ID of a message's header section (the message may follow), as the classifier reads
    it (stripped, cut at 500), so that a key made at fetch time is the key the round stored. A regex on the
    header alone: parsing the header for this one field cost 190 us a message, in the fetching thread."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    head = b"\n" + raw[:end]
    m = _MESSAGE_ID.search(head.lower())
    if not m:
        return None
    value = FIELD_VALUE.match(head, m.end()).group(0)  # type: ignore[union-attr]
    return value.decode("ascii", "surrogateescape").strip()[:500] or None


# The fields that name messages, found in "\n" + the whole message lower-cased like _MESSAGE_ID (the returned
# message's header too: it is what names our sent message).
_REFERRING = re.compile(rb"\n(message-id|in-reply-to|references)[ \t]*:")
_ID = re.compile(rb"<([^<>\s]{1,400})>")
MAX_IDS = 50  # a References chain is long; the newest (last) are the ones that matter


def referenced(raw: bytes) -> References:
    """(Message-IDs, In-Reply-To/References IDs) found in any header of the message, with their <>."""
    ids: list[str] = []
    refs: list[str] = []
    whole = b"\n" + raw
    for m in _REFERRING.finditer(whole.lower()):
        value = FIELD_VALUE.match(whole, m.end()).group(0)  # type: ignore[union-attr]
        found = [f"<{v.decode('ascii', 'replace')}>" for v in _ID.findall(value)]
        (ids if m.group(1) == b"message-id" else refs).extend(found)
    return ids[-MAX_IDS:], refs[-MAX_IDS:]
