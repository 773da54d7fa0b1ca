"""The classifier's MIME reader: the tree email.parser makes, on every corpus message, damaged or broken."""

from __future__ import annotations

import base64
import quopri
import random
import re
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from pathlib import Path

import pytest

from mailfleet.shared.bounces import classifier, classify, mime

from .test_classifier import DAMAGE

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}


def _stdlib(msg: Message) -> tuple:
    """(headers, content type, children or decoded body) as email.parser (compat32) reads it, but for one rule
    it leaves out: white space at the end of a quoted-printable line is deleted before decoding, having been
    added on the way (RFC 2045 §6.7 (3)), so that "= " still ends a soft line break."""
    ctype = msg.get_content_type()
    headers = [(name, str(value)) for name, value in msg._headers]  # raw values: 8-bit as surrogate escapes
    if ctype in STATUS_TYPES:
        return headers, ctype, "status"  # kept as text on purpose (see mime.py)
    if msg.is_multipart():
        return headers, ctype, [_stdlib(part) for part in msg.get_payload()]
    if str(msg.get("content-transfer-encoding", "")).strip().lower() == "quoted-printable":
        raw = str(msg.get_payload()).encode("ascii", "surrogateescape")
        return headers, ctype, quopri.decodestring(re.sub(rb"[ \t]+(?=\r?\n|$)", b"", raw))
    return headers, ctype, msg.get_payload(decode=True)


def _ours(part: mime.Part) -> tuple:
    ctype = part.content_type
    if ctype in STATUS_TYPES:
        return part.headers, ctype, "status"
    if part.is_multipart():
        return part.headers, ctype, [_ours(child) for child in part.children]
    return part.headers, ctype, part.decoded()


def _messages() -> list[tuple[str, bytes]]:
    files = [p for name in ("dev", "dev2") for p in sorted((CORPUS / name).iterdir()) if p.suffix in (".eml", ".txt")]
    assert len(files) > 700, f"the labelled corpus is missing at {CORPUS}"
    return [(p.name, p.read_bytes()) for p in files]


def _as_classified(raw: bytes) -> list[bytes]:
    """The bytes the classifier parses: the whole message, and the report with its original cut off."""
    whole = classifier.repaired(raw[:classifier.MAX_BYTES])
    return [whole, classifier._report(whole, whole.lower())]


# The stdlib leaves a base64 body with blanks at its lines' ends undecoded, and reads "quoted-printable " as
# no encoding it knows; RFC 2045 §6.7-6.8 say otherwise (test_transport_white_space_is_not_content).
NOT_AS_THE_STDLIB = {"white space added at the end of lines"}


@pytest.mark.parametrize("damage", ["as is", *(d for d in DAMAGE if d not in NOT_AS_THE_STDLIB)])
def test_same_tree_as_the_stdlib_on_the_corpus(damage):
    damaged = DAMAGE.get(damage, lambda raw: raw)
    differ = [name for name, raw in _messages() for b in _as_classified(damaged(raw))
              if _ours(mime.parse(b)) != _stdlib(message_from_bytes(b, policy=compat32))]
    assert not differ, f"{len(differ)} differ: {differ[:10]}"


def _broken(rng: random.Random, raw: bytes) -> bytes:
    """The message with lines dropped, repeated, cut, or made into boundaries, continuations and From_ lines."""
    lines = raw.split(b"\n")
    boundaries = [line for line in lines if line.startswith(b"--")]
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(lines))
        op = rng.randrange(8)
        if op == 0:
            del lines[at]
        elif op == 1:
            lines.insert(at, rng.choice(lines))
        elif op == 2:
            lines.insert(at, rng.choice([b"", b" folded", b"\tfolded", b":no name", b"From x", b"X-Header: v"]))
        elif op == 3:
            lines[at] += rng.choice([b" ", b"--", b"-- \t", b"x"])
        elif op == 4:
            lines[at] = lines[at][:rng.randrange(len(lines[at]) + 1)]
        elif boundaries:
            lines.insert(at, rng.choice(boundaries) + rng.choice([b"", b"--"]))
    return b"\n".join(lines)


def test_same_tree_as_the_stdlib_on_broken_mime():
    """Boundaries missing, doubled, unclosed or closing first; headers without a body; stray From_ lines."""
    rng = random.Random(13)
    messages = _messages()
    differ = []
    for _ in range(3000):
        name, raw = rng.choice(messages)
        b = _broken(rng, classifier.repaired(raw))
        if _ours(mime.parse(b)) != _stdlib(message_from_bytes(b, policy=compat32)):
            differ.append(name)
    assert not differ, f"{len(differ)} differ: {differ[:10]}"


def test_transport_white_space_is_not_content():
    """RFC 2045 §6.7 (3): white space at a quoted-printable line's end "will necessarily have been added by
    intermediate transport agents" and is deleted before decoding, so "= " still joins two lines; §6.8: base64
    ignores every character outside its alphabet, blanks included. A Content-Transfer-Encoding with a blank
    after it still names its encoding."""
    text = "Final-Recipie= \nnt: rfc822; gone@example.com \nStatus: 5.1.1\t\n"
    qp = mime.parse(b"Content-Transfer-Encoding: quoted-printable \n\n" + text.encode())
    assert qp.decoded() == b"Final-Recipient: rfc822; gone@example.com\nStatus: 5.1.1\n"
    encoded = base64.encodebytes(b"Status: 5.1.1\n" * 10).replace(b"\n", b" \t\n")
    assert mime.parse(b"Content-Transfer-Encoding: base64\n\n" + encoded).decoded() == b"Status: 5.1.1\n" * 10


def test_the_original_is_not_parsed_until_asked_for():
    raw = (b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\n"
           b"Content-Type: message/rfc822\n\nTo: a@example.com\nContent-Type: multipart/mixed; boundary=C\n\n"
           b"--C\n\nbody\n--C--\n--B--\n")
    top = mime.parse(raw)
    original = top.children[0]
    assert original.content_type == "message/rfc822" and original._children is None
    assert original.children[0].get("to") == "a@example.com"
    assert original.children[0].children[0].payload() == b"body"


def test_rfc6533_global_delivery_status_reads_every_recipient():
    """RFC 6533 §6 / RFC 3464 §2.1: a message/global-delivery-status part holds one block per recipient, and a
    utf-8 address type (RFC 6533 §3). The stdlib nests only the first block as headers; both recipients count."""
    raw = ("From: Mail Delivery System <mailer-daemon@mx.example.jp>\nTo: news@example.org\n"
           "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
           'Content-Type: multipart/report; report-type=global-delivery-status; boundary="B"\n\n'
           "--B\nContent-Type: text/plain; charset=utf-8\n\nDelivery failed.\n\n"
           "--B\nContent-Type: message/global-delivery-status\n\nReporting-MTA: dns; mx.example.jp\n\n"
           "Original-Recipient: utf-8;田中@例え.jp\nFinal-Recipient: utf-8;田中@例え.jp\nAction: failed\n"
           "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
           "Final-Recipient: rfc822;full@example.jp\nAction: failed\nStatus: 4.2.2\n"
           "Diagnostic-Code: smtp; 452 4.2.2 Mailbox full\n\n"
           "--B\nContent-Type: message/global-headers\n\nFrom: news@example.org\nTo: someone@example.jp\n\n"
           "--B--\n").encode()
    v = classify(raw)
    assert v.kind == "bounce"
    assert sorted((f.address, f.hard, f.reason) for f in v.failures) == [
        ("full@example.jp", False, "mailboxfull"), ("田中@例え.jp", True, "userunknown")]
