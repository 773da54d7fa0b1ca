"""A message read from a mailbox, as the rules see it: where it is on the server, what it is, and the key
that makes it the same message however often it is read (the classifier's verdict decides the rest).

Below the mailbox conversations and the marking rules alike: both speak of it, neither owns it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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
    _key: str | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        """What makes a message the same message, even if the server renumbers it: known from the header
        as soon as the message is fetched, so a message already recorded need not be classified again."""
        if self._key is None:
            raw = self.raw or self.ref.encode()
            self._key = message_key(header_message_id(_header(raw)), raw)
        return self._key

    def classify(self) -> None:
        if self.raw is not None:
            self.verdict = classify(self.raw)


def message_key(message_id: str | None, raw: bytes) -> str:
    """A message's key (as `seen_messages` and `bounces` keep it): its Message-ID, else a hash of it whole."""
    if message_id:
        return "mid:" + message_id.strip("<> \t")[:400]
    return "sha:" + hashlib.sha256(raw).hexdigest()[:40]


def _header(raw: bytes) -> bytes:
    """The header section: up to the first empty line (either line ending), or all of it."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[: min(ends) + 2] if ends else raw


def header_message_id(header: bytes) -> str | None:
    """The Message-ID of a message's header section, read as the classifier reads it (the first one,
    stripped, cut at 500), so that a key made from the header alone is the key the round stored."""
    values = message_from_bytes(header, policy=compat32).get_all("message-id")
    return str(values[0]).strip()[:500] or None if values else None
