"""What the round reads from a raw message without parsing it (daemon/messages.py): its key (the Message-ID,
as the classifier reads it) and the Message-IDs it refers to (for daemon/attribution.py)."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import compat32

import pytest

from mailfleet.daemon.messages import header_message_id, referenced

from .test_classifier import CORPUS

MESSAGES = [p for name in ("dev", "dev2") for p in sorted((CORPUS / name).iterdir()) if p.name != "labels.jsonl"]


@pytest.mark.parametrize("crlf", [False, True])
def test_the_key_read_at_fetch_time_is_the_message_id_of_the_header(crlf):
    """The Message-ID the round keys a message by, read without parsing: the first one of the header section,
    as the stdlib parser reads it, on every corpus message (the bounce's own, never the returned one's)."""
    for path in MESSAGES:
        raw = path.read_bytes()
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if crlf else raw
        value = message_from_bytes(raw, policy=compat32).get("message-id")
        assert header_message_id(raw) == (str(value).strip()[:500] or None if value is not None else None), path.name


def test_the_referenced_ids_are_found_in_any_case_folded_and_only_in_header_fields():
    raw = (b"From: MAILER-DAEMON@mx.example.net\r\nMESSAGE-ID: <bounce@mx.example.net>\r\n\r\n"
           b"The message below could not be delivered; its Message-ID: <not-a-field@example.org> is quoted.\r\n\r\n"
           b"message-id:\r\n <Ours.1@Example.ORG>\r\nReferences: <a@example.org>\r\n\t<b@example.org>\r\n"
           b"In-Reply-To: <c@example.org>\r\n")
    assert referenced(raw) == (["<bounce@mx.example.net>", "<Ours.1@Example.ORG>"],
                               ["<a@example.org>", "<b@example.org>", "<c@example.org>"])
