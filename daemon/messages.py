"""A message read from a mailbox, as the rules see it: where it is on the server, what it is, and the key
that makes it the same message however often it is read (the classifier's verdict decides the rest).

Below the mailbox conversations and the marking rules alike: both speak of it, neither owns it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import compat32

from ..shared.bounces import Verdict, classify


@dataclass
class Fetched:
    """One message of a round: where it is on the server, and what it is."""

    ref: str  # IMAP UID or POP3 UIDL: what a delete needs
    size: int
    raw: bytes | None = None  # None: skipped (too big)
    verdict: Verdict | None = None

    @property
    def key(self) -> str:
        """What makes a message the same message, even if the server renumbers it."""
        return message_key(self.verdict.message_id if self.verdict else None, self.raw or self.ref.encode())

    def classify(self) -> None:
        if self.raw is not None:
            self.verdict = classify(self.raw)


def message_key(message_id: str | None, raw: bytes) -> str:
    """A message's key (as `seen_messages` and `bounces` keep it): its Message-ID, else a hash of it whole."""
    if message_id:
        return "mid:" + message_id.strip("<> \t")[:400]
    return "sha:" + hashlib.sha256(raw).hexdigest()[:40]


def header_message_id(header: bytes) -> str | None:
    """The Message-ID of a message's header section, read as the classifier reads it (the first one,
    stripped, cut at 500), so that a key made from the header alone is the key the round stored."""
    values = message_from_bytes(header, policy=compat32).get_all("message-id")
    return str(values[0]).strip()[:500] or None if values else None
