"""Per-recipient envelope senders (daemon/verp.py) and what a token does to a bounce's verdict
(daemon/attribution.py): the token is found wherever the bounce carries the address, only a genuine one
names a message, and the recipient it names is the one the verdict is about."""

from __future__ import annotations

from mailfleet.daemon.attribution import about_recipient
from mailfleet.daemon.verp import Verp
from mailfleet.shared.bounces import classify

from ..support.samples import dsn

VERP = Verp(b"k" * 32)


def test_the_address_keeps_the_mailbox_and_carries_a_token_only_its_key_reads():
    address = VERP.address("replies@shop.test", 123456)
    local, _, domain = address.partition("@")
    assert domain == "shop.test" and local.startswith("replies+mf-") and len(local) < 64
    assert address == address.lower(), "a server that folds the local part's case loses nothing"
    raw = f"To: {address}\r\nSubject: Undelivered Mail\r\n\r\n".encode()
    assert VERP.queue_ids(raw) == [123456]
    assert VERP.queue_ids(raw.upper()) == [123456], "read whatever the case it comes back in"
    assert Verp(b"x" * 32).queue_ids(raw) == [], "another key's token names nothing"
    other = VERP.address("replies@shop.test", 123457)
    forged = address.replace(address.split("-")[1], other.split("-")[1])  # one id's number, another's signature
    assert VERP.queue_ids(forged.encode()) == []
    assert VERP.queue_ids(b"To: replies+mf-zz-aaaaaaaa@shop.test\r\n") == []


def test_tokens_are_read_from_any_header_once_each_in_order():
    a, b = VERP.address("r@x.test", 7), VERP.address("r@x.test", 8)
    raw = f"Delivered-To: {b}\r\nTo: <{a}>\r\nX-Original-To: {b}\r\n\r\nReturn-Path: <{a}>\r\n".encode()
    assert VERP.queue_ids(raw) == [8, 7]


def test_the_envelope_names_the_recipient_whatever_the_report_says():
    # A report about the address the message was forwarded to is the recipient's.
    verdict = classify(dsn("forwarded@elsewhere.test", "5.1.1", "550 5.1.1 User unknown", "<m1@shop.test>"))
    about_recipient(verdict, "anna@example.net")
    (failure,) = verdict.failures
    assert (failure.address, failure.final_recipient, failure.hard) == ("anna@example.net",
                                                                       "forwarded@elsewhere.test", True)
    # A report naming the recipient among others keeps only what it says of the recipient.
    verdict = classify(dsn("anna@example.net", "4.2.2", "452 4.2.2 Mailbox full", "<m2@shop.test>"))
    verdict.failures.append(verdict.failures[0].__class__("bob@example.net", True, "5.1.1", "userunknown", "x"))
    about_recipient(verdict, "anna@example.net")
    assert [(f.address, f.hard) for f in verdict.failures] == [("anna@example.net", False)]


def test_a_report_nobody_could_read_is_a_soft_bounce_of_unknown_reason_for_the_recipient():
    garbled = (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n"
               b"Delivery to the following recipients failed: [#redacted#]\r\n")
    verdict = classify(garbled)
    assert verdict.kind == "unparsed"
    about_recipient(verdict, "anna@example.net")
    (failure,) = verdict.failures
    assert verdict.kind == "bounce" and (failure.address, failure.hard, failure.reason) == ("anna@example.net",
                                                                                         False, "undefined")
    assert failure.about == "recipient" and failure.rule == "no-reason"
