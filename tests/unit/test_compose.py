"""What each recipient's message is made of (daemon/sending/compose.py): the body kept once, the header
lines of their own, no header the sender did not mean."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailfleet.daemon.sending.compose import body_of_message, body_of_parts, envelope_sender, render
from mailfleet.daemon.sending.sender import bounce_report, throttled
from mailfleet.shared.bounces import classify
from mailfleet.shared.models import FieldErrors, SendParams, validate_model

ACCOUNT = {"email": "sales@shop.test", "display_name": "ACME", "from_name_field": "owner_name",
           "reply_to_email": None, "reply_to_name": "", "reply_to_name_field": None}


def test_a_raw_message_keeps_its_body_and_loses_the_headers_each_recipient_gets():
    raw = (b"From: someone@else.test\r\nTo: list@shop.test\r\nBcc: hidden@x.test\r\nMessage-ID: <theirs@x>\r\n"
           b"Subject: Hi\r\nX-Mailer: listmonk\r\n\r\nBody line\r\n")
    body = body_of_message(raw)
    assert b"Bcc" not in body and b"theirs@x" not in body and b"someone@else" not in body
    assert b"X-Mailer: listmonk" in body and body.endswith(b"Body line\r\n")
    out = email.message_from_bytes(render(body, ACCOUNT, {"owner_name": "Zoë\r\nBcc: evil@x.test"},
                                          "anna@example.net", "<m1@shop.test>"), policy=email.policy.default)
    assert out["To"] == "anna@example.net" and out["Message-ID"] == "<m1@shop.test>"
    assert out["From"] == '"Zoë Bcc: evil@x.test" <sales@shop.test>', "a detail's line break is no header"
    assert out["Bcc"] is None and out["Reply-To"] is None, "no Reply-To unless the account has one"
    assert envelope_sender(ACCOUNT) == "sales@shop.test"
    assert envelope_sender({**ACCOUNT, "reply_to_email": "bounces@shop.test"}) == "bounces@shop.test"


def test_parts_make_one_mime_message():
    params = SendParams(account_id=1, to=["a@example.net"], subject="S", text="t", html="<p>h</p>",
                        attachments=[{"filename": "a.txt", "data": "aGk=", "content_type": "text/plain"}])
    msg = email.message_from_bytes(body_of_parts(params), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/mixed" and msg["Subject"] == "S"
    assert [p.get_content_type() for p in msg.walk()][1:] == ["multipart/alternative", "text/plain", "text/html",
                                                              "text/plain"]
    with pytest.raises(FieldErrors):
        body_of_parts(SendParams(account_id=1, to=["a@example.net"], text="t",
                                 attachments=[{"filename": "a", "data": "@@@"}]))


@pytest.mark.parametrize("data, field", [
    ({"text": "x", "headers": {"Reply-To": "x@y.test"}}, "headers.Reply-To"),
    ({"raw": "Subject: x\r\n\r\nx", "subject": "also"}, "raw"),
    ({}, "text"),
])
def test_what_send_refuses(data, field):
    with pytest.raises(FieldErrors) as caught:
        validate_model(SendParams, {"account_id": 1, "to": ["a@example.net"], **data})
    assert field in caught.value.fields


def test_a_refusal_at_rcpt_reads_as_the_bounce_it_is():
    row = {"id": 7, "recipient": "ghost@example.net", "message_id": "<m7@shop.test>"}
    report = bounce_report(row, "sales@shop.test", "mx.example.net", 550,
                           "5.1.1 <ghost@example.net>: Recipient address rejected: User unknown", "RCPT TO")
    verdict = classify(report)
    assert verdict.kind == "bounce" and [(f.address, f.hard, f.about) for f in verdict.failures] == [
        ("ghost@example.net", True, "recipient")]
    blocked = classify(bounce_report(row, "sales@shop.test", "mx.example.net", 554,
                                     "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
                                     "zen.spamhaus.org", "RCPT TO"))
    assert blocked.failures[0].about == "sender", "a blocklist is about the sender, not the contact"


def test_what_asks_us_to_slow_down():
    assert throttled(421, "4.7.0 Try again later") and throttled(451, "4.7.28 rate limited")
    assert throttled(454, "4.7.0 Throttling failure") and not throttled(451, "4.3.0 Temporary lookup failure")


def test_a_limit_holds_for_every_span_of_its_length():
    from mailfleet.daemon.sending.limits import Window

    window = Window([], None)
    limits = {1: 2, 60: 3}
    assert window.wait(limits, 0, 100.0) == 0
    window.record(100.0)
    window.record(100.5)
    assert window.wait(limits, 0, 100.6) == pytest.approx(0.4), "the second's two are out at 101.0"
    window.record(101.0)
    assert window.wait(limits, 0, 101.5) == pytest.approx(58.5), "three a minute: wait for the first to age out"


def test_a_warm_up_ramps_the_daily_limit():
    from mailfleet.daemon.sending.limits import DAY, Window

    window = Window(["2026-12-01T00:00:00.000Z"], "2026-12-01T00:00:00.000Z")
    first = window.first
    assert window.allowed({DAY: 1000}, 10, first + 60) == {DAY: 100}
    assert window.allowed({DAY: 1000}, 10, first + 4 * DAY + 1) == {DAY: 500}
    assert window.allowed({DAY: 1000}, 10, first + 30 * DAY) == {DAY: 1000}


def test_presets_are_the_providers_published_limits():
    from mailfleet.shared.models import SendLimits

    assert SendLimits(preset="exchange_online").windows() == {60: 30, 86400: 10000}
    assert SendLimits(preset="google_workspace", per_minute=20).windows() == {86400: 2000, 60: 20}
    with pytest.raises(FieldErrors):
        validate_model(SendLimits, {"warmup_days": 5})


def test_list_unsubscribe_one_click_per_recipient():
    account = {**ACCOUNT, "unsubscribe_url": "https://shop.test/u?who={recipient}",
               "unsubscribe_mailto": "leave@shop.test"}
    out = email.message_from_bytes(render(b"Subject: x\r\n\r\nx\r\n", account, {}, "anna+x@example.net", "<m@x>"),
                                   policy=email.policy.default)
    assert out["List-Unsubscribe"] == ("<https://shop.test/u?who=anna%2Bx%40example.net>, "
                                       "<mailto:leave@shop.test?subject=unsubscribe>")
    assert out["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert render(b"\r\nx", ACCOUNT, {}, "a@example.net", "<m@x>").count(b"List-Unsubscribe") == 0
    with pytest.raises(FieldErrors) as caught:
        validate_model(SendParams, {"account_id": 1, "to": ["a@example.net"], "text": "x",
                                    "headers": {"List-Unsubscribe": "<x>"}})
    assert "headers.List-Unsubscribe" in caught.value.fields


def test_an_account_at_a_non_ascii_domain_gets_headers_any_reader_takes():
    """From and Reply-To (for a send, a test's probe message and accounts.headers alike) carry a non-ASCII
    domain as its A-label; formataddr alone would raise on it."""
    from mailfleet.shared.headers import sender_headers

    names = sender_headers({**ACCOUNT, "email": "sales@bücher.example", "reply_to_email": "antwort@bücher.example"},
                           {"owner_name": "Zoë"})
    assert names == {"from": "=?utf-8?q?Zo=C3=AB?= <sales@xn--bcher-kva.example>",
                     "reply_to": "antwort@xn--bcher-kva.example"}
