"""The bounce classifier: scored on the labelled corpus as a whole, and fed hostile input."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import quopri
import re
import subprocess
import sys
import typing
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailfleet.shared.bounces import classify
from mailfleet.shared.bounces.dsn import unescaped
from mailfleet.shared.bounces.model import Kind

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def _score(corpus: str) -> dict:
    """Run the corpus's own scoring script against `mailfleetctl classify --batch`, as CI and people do."""
    assert (CORPUS / "score.py").exists(), f"the labelled corpus is missing at {CORPUS}"
    out = subprocess.run(
        [sys.executable, str(CORPUS / "score.py"), str(CORPUS / corpus), "--json", "--",
         sys.executable, "-m", "mailfleet.ctl", "classify", "--batch"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def score():
    return _score("dev")


@pytest.fixture(scope="module")
def both(score):
    """dev and dev2 as a whole: the counts added, the rates made again from them."""
    second = _score("dev2")
    tp, fp, fn = (score[k] + second[k] for k in ("tp", "fp", "fn"))
    # The scorer gives hard recall and faulty-marking precision as rates, and the dead addresses found as
    # the confusion's "Hh": the counts under each rate are made back from those.
    found = [s["confusion(label H/S x pred h/s)"]["Hh"] for s in (score, second)]
    dead = sum(round(n / s["hard_recall"]) for n, s in zip(found, (score, second)))
    marked = sum(round(n / s["faulty_marking_precision"]) for n, s in zip(found, (score, second)))
    return {"recall": tp / (tp + fn), "precision": tp / (tp + fp), "errors": score["errors"] + second["errors"],
            "nonbounce_fp": score["nonbounce_fp_rate"] + second["nonbounce_fp_rate"],
            "hard_recall": sum(found) / dead, "faulty_marking_precision": sum(found) / marked, "dev2": second}


def test_corpus_addresses(score):
    assert score["errors"] == 0 and score["missing_outputs"] == 0
    assert score["recall"] >= 0.97
    assert score["precision"] >= 0.995


def test_corpus_marks_no_non_bounce(score):
    assert score["nonbounce_fp_rate"] == 0.0


def test_dev_and_dev2_as_a_whole(both):
    """Issue 13's targets for dev + dev2 where they are met (recall 98%, hard recall 95%, no non-bounce
    marked); where one is not (faulty-marking precision 99.5%), a floor under what was reached, so a change
    that loses ground fails. Precision (target 99.5%) is 99.46%: two of the four addresses counted against it
    are the only ones their messages hold where the labels name others found nowhere in them (dev2's
    lhost-apachejames-01, twelve zeros before the @ where the label has eleven, and lhost-v5sendmail-01,
    the returned message's To "kijitora@example.com" where the label has "kijitora@exampl")."""
    assert both["errors"] == 0
    assert both["recall"] >= 0.98 and both["precision"] >= 0.994
    assert both["nonbounce_fp"] == 0.0, "no non-bounce marks anybody"
    assert both["hard_recall"] >= 0.95
    assert both["faulty_marking_precision"] >= 0.96
    assert both["dev2"]["faulty_marking_precision"] >= 0.945 and both["dev2"]["hard_recall"] >= 0.97


def test_corpus_hard_soft(score):
    """On dev: hard/soft right for 97%, and a contact marked faulty wrongly at most once in 50. (It was 1 in
    100 until a remote "<address>: User unknown" under no telling status counted as proof: that gained
    four dead addresses on dev + dev2 for two that Sisimai's labels call a filter, one of them on dev.)"""
    assert score["hard_acc"] >= 0.97
    assert score["faulty_marking_precision"] >= 0.98


def mail(subject="Hello", sender="alice@example.com", to="news@example.org", body="Hi there", **headers) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


def dsn(recipients: list[tuple[str, str, str]], original_to: str = "someone@example.net", text: str = "Delivery failed.",
        diagnostic_type: str = "smtp; ") -> bytes:
    """A multipart/report with one delivery-status block per (address, action, status + diagnostic)."""
    blocks = "\n".join(
        f"Original-Recipient: rfc822;{addr}\nFinal-Recipient: rfc822;{addr.upper()}\nAction: {action}\n"
        f"Status: {status.split(' ', 1)[0]}\nDiagnostic-Code: {diagnostic_type}{status}\n"
        for addr, action, status in recipients
    )
    return (
        "From: MAILER-DAEMON@mx.example.net\nTo: news@example.org\nSubject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
        f"--B\nContent-Type: text/plain\n\n{text}\n\n--B\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; mx.example.net\n\n{blocks}\n--B\nContent-Type: message/rfc822\n\n"
        f"From: news@example.org\nTo: {original_to}\nSubject: Our offer\n\nBuy now\n--B--\n"
    ).encode()


def test_dsn_hard_and_soft_per_recipient():
    v = classify(dsn([
        ("gone@example.com", "failed", "5.1.1 <gone@example.com>: Recipient address rejected: User unknown"),
        ("full@example.com", "failed", "5.2.2 Mailbox full"),
        ("blocked@example.com", "failed", "5.7.1 Service unavailable; client host blocked using Spamhaus"),
    ]))
    assert v.kind == "bounce"
    got = {f.address: (f.hard, f.reason, f.status) for f in v.failures}
    assert got == {
        "gone@example.com": (True, "userunknown", "5.1.1"),
        "full@example.com": (False, "mailboxfull", "5.2.2"),
        "blocked@example.com": (False, "blocked", "5.7.1"),
    }
    assert "someone@example.net" not in got, "the returned original's To is never a recipient"


def test_a_recipient_the_report_gives_no_words_for_takes_no_other_recipients_words():
    """RFC 3464 §2.3: each recipient has its own fields. One with neither a Diagnostic-Code nor a line of the
    prose naming it is decided by its own status, not by the words the prose gives another recipient."""
    raw = (
        "From: MAILER-DAEMON@mx.example.net\nTo: news@example.org\nSubject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
        "--B\nContent-Type: text/plain\n\n<gone@example.com>: User unknown in local recipient table\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: rfc822;gone@example.com\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822;kept@example.com\nAction: failed\nStatus: 5.0.0\n\n--B--\n"
    ).encode()
    got = {f.address: (f.hard, f.reason) for f in classify(raw).failures}
    assert got == {"gone@example.com": (True, "userunknown"), "kept@example.com": (False, "undefined")}


def test_each_recipient_has_its_own_action():
    """RFC 3464 §2.3.3: a report may say one recipient failed and another is still delayed (its own example
    in Appendix, 'host name lookup failure'); the delayed one is a soft bounce too, never dropped."""
    v = classify(dsn([("gone@example.com", "failed", "5.1.1 550 5.1.1 <gone@example.com>... User unknown"),
                      ("later@example.net", "delayed", "4.4.3 host name lookup failure")]))
    assert v.kind == "bounce"
    assert {f.address: (f.hard, f.reason) for f in v.failures} == {
        "gone@example.com": (True, "userunknown"), "later@example.net": (False, "delayed")}


def test_original_recipient_is_preferred():
    v = classify(dsn([("Alias@Example.COM", "failed", "5.1.1 unknown")]))
    assert [f.address for f in v.failures] == ["alias@example.com"]
    assert v.failures[0].final_recipient == "ALIAS@EXAMPLE.COM"


def test_sender_side_and_content_rejections_are_soft():
    for diag in ("5.1.8 <news@example.org>... Domain of sender address news@example.org does not exist",
                 "5.1.1 <x@example.com>: User unknown (in reply to end of DATA command)",
                 "5.7.26 Unauthenticated email is not accepted: DMARC policy",
                 "5.4.0 connect to mx.example.com[192.0.2.1]:25: No route to host",  # the network, not the name
                 "5.0.0 Your message was moved to quarantine",  # the message moved, not the address
                 "5.0.0 550 We are not accepting mail from this sender",  # refused us, not all mail
                 "5.1.8 553 5.1.8 Sender does not exist"):  # x.1.8: our address, not the recipient's
        v = classify(dsn([("x@example.com", "failed", diag)]))
        assert [f.hard for f in v.failures] == [False], diag


def test_postfix_s_client_restriction_prefix_alone_says_the_sending_host_was_refused():
    """Postfix's smtpd_client_restrictions answer "<name[address]>: Client host rejected: <text>", the text an
    access(5) table's "REJECT optional text..." gives: whatever the text, the sending host was refused."""
    reply = "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Mail from this host is not accepted here"
    for status in ("5.7.1", "5.0.0"):  # Postfix's DSN, and Exim's own 5.0.0 for any 5xx
        f = classify(dsn([("x@example.com", "failed", f"{status} {reply}")])).failures[0]
        assert (f.hard, f.about, f.reason) == (False, "sender", "blocked"), status


def test_user_unknown_needs_proof_of_the_recipient_stage():
    """Filtering gateways answer "550 Unknown user" to content; only RCPT or an address status proves the address dead."""
    def verdict(diag: str, action: str = "failed") -> tuple[bool, str]:
        f = classify(dsn([("x@example.com", action, diag)])).failures[0]
        return f.hard, f.reason

    assert verdict("5.0.0 550 Unknown user x@example.com") == (False, "filtered")
    assert verdict("5.0.0 550 <x@example.com>: User unknown (in reply to end of DATA command)") == (False, "filtered")
    assert verdict("5.0.0 550 <x@example.com>: User unknown (in reply to RCPT TO command)") == (True, "userunknown")
    assert verdict("5.0.0 550 5.1.1 <x@example.com>... User unknown") == (True, "userunknown")
    assert verdict("5.0.0 550 5.5.0 Requested action not taken: mailbox unavailable") == (True, "userunknown")
    # A reply that names the mailbox it lacks in angle brackets, in the shapes of replies to RCPT (Postfix's
    # and qmail-smtpd's "<%s>: ...", sendmail's "%s... User unknown"), under a status that says nothing else.
    assert verdict("5.0.0 550 <x@example.com>: User unknown") == (True, "userunknown")
    assert verdict("5.0.0 550 <x@example.com>... User unknown") == (True, "userunknown")
    assert verdict("5.0.0 550 : User unknown") == (False, "filtered")  # the mailbox not named
    assert verdict("5.0.0 550 x@example.com... No such user") == (False, "filtered")  # a filtering gateway's form
    assert verdict("5.2.1 550 5.2.1 <x@example.com>... User Unknown") == (False, "filtered")  # status: disabled
    # Postfix prefixes every recipient restriction with "Recipient address rejected:"; under a policy
    # status that alone names no dead address.
    refused = "5.7.1 554 5.7.1 <x@example.com>: Recipient address rejected: {} (in reply to RCPT TO command)"
    assert verdict(refused.format("no newsletters here")) == (False, "rejected")
    # Its access(5) "REJECT User unknown" answers RCPT TO too, under the X.7.1 the server wrote: doubt.
    assert verdict(refused.format("User unknown")) == (False, "filtered")
    # A 4.1.1 the MTA gave up on is final; the same answer while it still retries is not.
    unknown_450 = "4.1.1 <x@example.com>: Recipient address rejected: User unknown in virtual alias table"
    assert verdict(unknown_450) == (True, "userunknown")
    assert verdict(unknown_450, action="delayed")[0] is False


def test_a_quoted_reply_without_its_code_is_no_proof():
    """A Diagnostic-Code of type smtp, or of no type, quotes a remote server; its reply code may be lost on the way,
    its stage is then unknown. A delivery agent that types its own words (X-Postfix, X-Notes) looked itself."""
    def verdict(diag_type: str, diag: str) -> tuple[bool, str]:
        f = classify(dsn([("x@example.com", "failed", f"5.0.0 {diag}")], diagnostic_type=diag_type)).failures[0]
        return f.hard, f.reason

    assert verdict("", "The email account that you tried to reach does not exist.") == (False, "filtered")
    assert verdict("smtp; ", "Mailbox does not exist") == (False, "filtered")
    assert verdict("X-Postfix; ", 'unknown user: "x"') == (True, "userunknown")
    assert verdict("", "550 5.1.1 <x@example.com>... User Unknown") == (True, "userunknown")


def test_the_reports_own_words_can_doubt_a_dead_address():
    """Fields that say "unknown user" beside prose that says the mailbox is full or disabled: doubt, so soft."""
    unknown = [("x@example.com", "failed", "5.1.1 550 5.1.1 <x@example.com>... User Unknown")]
    for prose, reason in (("Your message was automatically rejected:\nNot enough disk space", "mailboxfull"),
                          ("The user(s) account is disabled.\n\n<x@example.com>: 550 user unknown", "suspend")):
        f = classify(dsn(unknown, text=prose)).failures[0]
        assert (f.hard, f.reason) == (False, reason), prose
    # Prose that also speaks of a dead address is no contradiction.
    f = classify(dsn(unknown, text="The mailbox is full or the user does not exist.")).failures[0]
    assert (f.hard, f.reason) == (True, "userunknown")
    # With several recipients the prose may be about another one: each keeps its own verdict.
    v = classify(dsn(unknown + [("full@example.com", "failed", "5.2.2 552 5.2.2 Mailbox full")],
                     text="One mailbox is full."))
    assert {f.address: f.hard for f in v.failures} == {"x@example.com": True, "full@example.com": False}


def test_delivery_notices_mark_nobody():
    assert classify(dsn([("ok@example.com", "delivered", "2.0.0 Ok")])).kind == "delivered"
    assert classify(dsn([("ok@example.com", "relayed", "2.0.0 relayed")])).kind == "relayed"
    delayed = classify(dsn([("slow@example.com", "delayed", "4.4.7 still trying")]))
    assert delayed.kind == "delayed" and [f.hard for f in delayed.failures] == [False]


def test_non_bounces():
    assert classify(mail("Out of Office: back Monday", Auto_Submitted="auto-replied")).kind == "autoreply"
    assert classify(mail("Re: your offer", X_Autoreply="yes")).kind == "autoreply"
    assert classify(mail("Abwesenheitsnotiz: bis Montag")).kind == "autoreply"
    assert classify(mail("Lunch on Friday?")).kind == "mail"
    human = mail("Re: offer", body="Your message could not be delivered to bob@example.com? Try again.")
    assert classify(human).kind == "mail" and classify(human).failures == []
    arf = (
        "From: feedback@isp.example\nTo: abuse@example.org\nSubject: complaint\nMIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n\n--F\nContent-Type: text/plain\n\n"
        "This is a spam report\n--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n\n--F--\n"
    ).encode()
    assert classify(arf).kind == "feedback"


@pytest.mark.parametrize(
    "body,address,hard",
    [
        ("Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your message to "
         "the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n"
         "<dead@example.com>:\n192.0.2.1 does not like recipient.\nRemote host said: 550 5.1.1 No such user\n\n"
         "--- Below this line is a copy of the message.\n\nTo: other@example.com\n", "dead@example.com", True),
        ("This message was created automatically by mail delivery software.\n\nA message that you sent could not be "
         "delivered to one or more of its recipients. This is a permanent error. The following address(es) failed:\n\n"
         "  full@example.com\n    SMTP error from remote mail server after RCPT TO:<full@example.com>:\n"
         "    host mx.example.com: 552 5.2.2 Mailbox quota exceeded\n", "full@example.com", False),
        # Apache James: "RCPT TO:" lists the envelope, it does not say at which stage the reply came.
        ("Error: Invalid user address\n\nError message below:\n550 - Requested action not taken: no such user here\n\n"
         "Message details:\n  Subject: Offer\n  MAIL FROM: news@example.org\n  RCPT TO: maybe@example.com\n"
         "  From: news@example.org\n  Size (in bytes): 39\n", "maybe@example.com", False),
    ],
)
def test_plain_text_formats(body, address, hard):
    v = classify(mail("Mail delivery failed", sender="MAILER-DAEMON@mx.example.net", body=body))
    assert v.kind == "bounce"
    assert [(f.address, f.hard) for f in v.failures] == [(address, hard)]


FORMATS = Path(__file__).parent / "data" / "bounces"


@pytest.mark.parametrize(
    "name,address,hard,reason",
    [
        # Written for these tests in the formats of MTAs the corpus has few or none of.
        ("exim1", "gone@example.com", True, "userunknown"),  # after RCPT TO
        ("exim2", "nobody@example.net", True, "hostunknown"),  # "Unrouteable address"
        ("exim3", "full@example.net", False, "mailboxfull"),  # after end of data
        ("sendmail1", "gone@example.com", True, "userunknown"),  # the pipelined transcript shows DATA
        ("sendmail2", "spam@example.com", False, "spamdetected"),
        ("courier1", "gone@example.com", True, "userunknown"),  # a vague DSN status, the reply in the prose
        ("ex2003", "gone@example.com", True, "userunknown"),
        ("o365", "gone@example.com", True, "userunknown"),
        ("gmail1", "gone@example.com", True, "userunknown"),
        ("gmail2", "blocked@example.com", False, "blocked"),
        ("vpop", "gone@example.net", True, "userunknown"),
        ("sun", "gone@example.com", True, "userunknown"),
        ("mimecast", "gone@example.co.uk", True, "userunknown"),  # "Invalid Recipient" at RCPT TO
        ("ses", "gone@example.com", True, "userunknown"),
        ("mdaemon", "gone@example.com", True, "userunknown"),  # the transcript's "250 2.1.0" is not the status
        ("domino", "gone@example.com", True, "userunknown"),  # "not listed in Domino Directory"
        ("mailru", "gone@mail.ru", True, "userunknown"),
        ("qmailhost", "someone@example.invalid", True, "hostunknown"),
        ("qmailsender", "someone@example.com", False, "rejected"),  # our envelope sender, not the address
        ("ex2010", "gone@example.com", True, "userunknown"),
        ("gmx", "full@gmx.de", False, "mailboxfull"),
        ("aol", "goneaol@aol.com", True, "userunknown"),  # a Sendmail transcript at RCPT
        ("japanese", "gone@example.ne.jp", True, "userunknown"),
        ("postfixdelay", "slow@example.com", False, "delayed"),
        ("sesjson", "gone@example.com", True, "userunknown"),  # SES's JSON through an SNS email subscription
        # Haraka's outbound bounce (its populate_bounce_message_with_headers): "Remote-MTA: <host>" with no type,
        # "Diagnostic-Code: smtp;<reply>" with no space, "Content-type" in its case
        ("haraka", "gone@example.com", True, "userunknown"),
        # Apache James's DSNBounce mailet: the whole error in Status as in Diagnostic-Code
        ("jamesdsn", "gone@example.com", True, "userunknown"),
        # James's RemoteDelivery bounce (Bouncer.explanationText): prose, "Remote mail server told me: <reply>"
        ("jamesplain", "full@example.com", False, "mailboxfull"),
    ],
)
def test_formats_beyond_the_corpus(name, address, hard, reason):
    v = classify((FORMATS / f"{name}.eml").read_bytes())
    assert v.kind == ("delayed" if reason == "delayed" else "bounce")
    assert [(f.address, f.hard, f.reason) for f in v.failures] == [(address, hard, reason)]
    assert all(not (f.status or "").startswith("2.") for f in v.failures)


def ses_notice(doc: dict, envelope: bool = False) -> bytes:
    body = json.dumps({"Type": "Notification", "Message": json.dumps(doc)} if envelope else doc)
    return (f"From: no-reply@sns.amazonaws.com\nTo: ops@example.org\nSubject: AWS Notification Message\n\n{body}\n"
            "--\nIf you wish to stop receiving notifications from this topic, please click the link below.\n").encode()


def test_ses_json_notices():
    """SES's own verdict words count, but only bouncedRecipients are recipients: mail.destination names the good ones too."""
    def bounce(kind: str, subtype: str, diagnostic: str | None, envelope: bool = False) -> list[tuple[str, bool, str]]:
        recipient = {"emailAddress": "x@example.com", "action": "failed", "status": "5.0.0"}
        if diagnostic:
            recipient["diagnosticCode"] = diagnostic
        v = classify(ses_notice({"notificationType": "Bounce", "bounce": {
            "bounceType": kind, "bounceSubType": subtype, "bouncedRecipients": [recipient]},
            "mail": {"destination": ["x@example.com", "good@example.com"]}}, envelope))
        assert v.kind == "bounce"
        return [(f.address, f.hard, f.reason) for f in v.failures]

    assert bounce("Permanent", "NoEmail", None) == [("x@example.com", True, "userunknown")]
    assert bounce("Permanent", "NoEmail", None, envelope=True) == [("x@example.com", True, "userunknown")]
    assert bounce("Permanent", "General", "smtp; 550 Unknown user (in reply to end of DATA command)") == [
        ("x@example.com", False, "filtered")]
    assert bounce("Permanent", "Suppressed", "Amazon SES has suppressed sending to this address") == [
        ("x@example.com", False, "suppressed")]
    assert bounce("Transient", "MailboxFull", "smtp; 552 5.2.2 mailbox full") == [("x@example.com", False, "mailboxfull")]
    assert bounce("Transient", "General", "smtp; 550 5.1.1 user unknown") == [("x@example.com", False, "userunknown")]
    assert classify(ses_notice({"notificationType": "Complaint", "complaint": {
        "complainedRecipients": [{"emailAddress": "x@example.com"}]}})).kind == "feedback"
    assert classify(ses_notice({"eventType": "Delivery", "delivery": {"recipients": ["x@example.com"]}})).kind == "delivered"
    # Through a Sendmail relay, whose L= line limit (990 for SMTP) splits the one long JSON line, "!" ending
    # each piece ("sendmail", section 20.5.7); some versions start the continuation with a space.
    long_notice = ses_notice({"notificationType": "Bounce", "bounce": {
        "bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [
            {"emailAddress": "gone@example.com", "action": "failed", "status": "5.1.1",
             "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
        "mail": {"headers": [{"name": f"X-Header-{i}", "value": "v" * 40} for i in range(60)]}})
    head, _, rest = long_notice.partition(b"\n\n")
    line, _, tail = rest.partition(b"\n")
    assert len(line) > 3000
    for continuation in (b"", b" "):
        split = b"!\n".join(line[i:i + 990] if i == 0 else continuation + line[i:i + 990]
                             for i in range(0, len(line), 990))
        v = classify(head + b"\n\n" + split + b"\n" + tail)
        assert (v.kind, [(f.address, f.hard) for f in v.failures]) == ("bounce", [("gone@example.com", True)])
    # Broken or hostile JSON is ordinary text, not a crash.
    assert classify(b'From: a@example.com\n\n{"notificationType": "Bounce", "bounce": [').kind == "mail"
    deep = b'{"notificationType": "Bounce", "bounce": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    verdict = classify(b"From: a@example.com\n\n" + deep)
    assert (verdict.kind, verdict.note) == ("mail", "")


# Input no mail server sends: the classifier must still answer, and never raise.
HOSTILE = [
    b"",
    b"\x00\xff" * 5000,
    b"Subject: " + b"A" * 2_000_000 + b"\n\nbody",
    b"Content-Type: multipart/mixed; boundary=x\n\n" + b"--x\nContent-Type: multipart/mixed; boundary=x\n\n" * 5000,
    b"From: MAILER-DAEMON@x\nContent-Type: text/plain; charset=no-such-charset\nContent-Transfer-Encoding: base64\n\n!!!notbase64",
    b"From: =?utf-8?b?invalid?= <MAILER-DAEMON@x>\nSubject: =?x-unknown?q?=FF?=\n\n<a@b.c>: 550 user unknown",
    b"Content-Type: message/delivery-status\n\nFinal-Recipient: ;;;\nAction: failed\nStatus: 9.9.9\n",
    b"\n".join([b"Content-Type: message/rfc822\n"] * 3000),
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_input_never_raises(raw):
    verdict = classify(raw)
    assert verdict.kind in typing.get_args(Kind)


@pytest.mark.parametrize("content_type", [
    b'text/plain; charset="utf-8\xff"',  # an 8-bit byte in the charset's name
    b'text/plain; charset="utf-8\x00"',  # a NUL in it
    b"multipart/mixed; boundary*=utf-8''%C3%A9B",  # RFC 2231: the boundary decodes to a non-ASCII character
    b'multipart/mixed; boundary="\xe9B"; boundary="B"',  # two boundaries, one with an 8-bit byte
])
def test_a_bounce_with_8bit_damage_in_its_content_type_is_still_read(content_type):
    """Found by cutting and splicing random bytes into the corpus: such a Content-Type raised inside the
    classifier (a charset name Python cannot look up: an 8-bit byte, a NUL; a boundary with a non-ASCII character), and
    the bounce was set aside as a classifier error. Its words name the recipient whatever its parts are."""
    body = b"--B\nContent-Type: text/plain\n\n" if content_type.startswith(b"multipart") else b""
    raw = (b"From: MAILER-DAEMON@mx.example.net\nTo: news@example.org\nSubject: Undelivered Mail Returned to "
           b"Sender\nMIME-Version: 1.0\nContent-Type: " + content_type + b"\n\n" + body +
           b"<gone@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 <gone@example.com>: Recipient "
           b"address rejected: User unknown (in reply to RCPT TO command)\n")
    verdict = classify(raw)
    assert (verdict.rule, [(f.address, f.hard) for f in verdict.failures]) == (
        "bounce-prose", [("gone@example.com", True)]), verdict.note


def test_cli_shows_verdicts(tmp_path):
    path = tmp_path / "b.eml"
    path.write_bytes(dsn([("gone@example.com", "failed", "5.1.1 User unknown")]))
    out = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "classify", str(path)],
                         capture_output=True, text=True, check=True)
    assert "gone@example.com" in out.stdout and "HARD" in out.stdout and "userunknown" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "classify", str(tmp_path / "nope")],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "nope" in missing.stderr


def _said(verdict) -> tuple:
    return verdict.kind, sorted((f.address.lower(), f.hard) for f in verdict.failures)


def _text_encoded(cte: str) -> typing.Callable[[bytes], bytes]:
    """Every text part's content in `cte`: what a relay that cannot pass 8-bit mail on does to its 8-bit text
    parts (RFC 6152 §3), and a forward may do to its text from the start."""
    def damage(raw: bytes) -> bytes:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        for part in msg.walk():
            cte_now = str(part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
            if part.is_multipart() or part.get_content_maintype() != "text" or cte_now not in ("7bit", "8bit"):
                continue
            content = part.get_payload(decode=True) or b""
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = cte
            part.set_payload((base64.encodebytes if cte == "base64" else quopri.encodestring)(content).decode())
        return msg.as_bytes()
    return damage


DAMAGE = {
    "LF line ends": lambda raw: raw.replace(b"\r\n", b"\n"),
    "CRLF line ends": lambda raw: raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
    "bare CR line ends (classic Mac OS)": lambda raw: raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r"),
    "CR CR LF line ends (a CRLF message copied in text mode)":
        lambda raw: raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\r\n"),
    "a blank line before the headers": lambda raw: b"\n" + raw,
    "blank CRLF lines before the headers": lambda raw: b"\r\n \r\n" + raw,
    "an mbox From_ line (RFC 4155)": lambda raw: b"From MAILER-DAEMON Fri Jul  5 10:33:01 2024\n" + raw,
    "a byte order mark before the headers (a file saved by a Windows editor)": lambda raw: b"\xef\xbb\xbf" + raw,
    # RFC 5322 §1.2.2: a field name is case-insensitive ("Return-path:" is Exim's, "Mime-Version:" many clients')
    "field names in upper case": lambda raw: re.sub(rb"(?m)^([A-Za-z-]+):", lambda m: m.group(1).upper() + b":", raw),
    "field names in lower case": lambda raw: re.sub(rb"(?m)^([A-Za-z-]+):", lambda m: m.group(1).lower() + b":", raw),
    "DSN fields without the ';' after their type": lambda raw: re.sub(
        rb"(?im)^((?:final|original)-recipient|diagnostic-code|remote-mta|reporting-mta)(:[ \t]*)([a-z0-9-]+)[ \t]*;[ \t]*",
        rb"\1\2\3 ", raw),
    "Content-Type parameters without the ';' between them": lambda raw: re.sub(
        rb"(?im)^content-type:[^\n]*(?:\n[ \t][^\n]*)*",
        lambda header: re.sub(rb";(\s*)(?=[a-z0-9-]+=)", rb"\1", header.group(0), flags=re.I), raw),
    "Content-Type parameters folded without their leading white space": lambda raw: re.sub(
        rb"(?im)^content-type:[^\n]*(?:\n[ \t][^\n]*)*",
        lambda header: re.sub(rb"(;\r?\n)[ \t]+(?=[a-z0-9-]+=)", rb"\1", header.group(0), flags=re.I), raw),
    # RFC 2045 §6.7 (3): transports may add white space at the end of a line (not an empty one: that would
    # end the headers), so a decoder deletes it; "= " at a quoted-printable line's end is still a soft break.
    "white space added at the end of lines": lambda raw: re.sub(rb"(?m)([^\r\n])(?=\r?$)", rb"\1 ", raw),
    "text parts re-encoded as base64": _text_encoded("base64"),
    "text parts re-encoded as quoted-printable": _text_encoded("quoted-printable"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_on_the_way_changes_no_verdict(damage):
    """Every labelled message, damaged as tools and transports damage mail, gets the verdict it gets whole."""
    changed = []
    for folder in ("dev", "dev2"):
        for path in sorted((CORPUS / folder).iterdir()):
            if path.suffix not in (".eml", ".txt"):
                continue
            raw = path.read_bytes()
            if _said(classify(DAMAGE[damage](raw))) != _said(classify(raw)):
                changed.append(f"{folder}/{path.name}")
    assert not changed, f"{damage} changed {len(changed)} verdicts: {changed[:10]}"


def test_a_report_whose_content_type_lost_its_semicolons_is_read_whole():
    """RFC 2045 §5.1 separates a Content-Type's parameters with ';'. A relay that drops the one before a
    folded `charset=` leaves a header Python's parser refuses, and the report part went unread. Written
    from that grammar: a delivery agent's plain-text report, ISO-2022-JP as RFC 1468 names it."""
    report = (b"From: Mail Delivery System <MAILER-DAEMON@relay.example>\r\nTo: sender@example.org\r\n"
              b"Subject: Returned Mail: User unknown\r\nMessage-ID: <r2@relay.example>\r\n"
              b"Content-Type: multipart/mixed; boundary=\"B1\"\r\n\r\n"
              b"--B1\r\nContent-Type: text/plain;\r\n   charset=\"iso-2022-jp\"\r\n\r\n"
              b"---The following addresses had delivery errors---\r\n\r\ngone@example.com [User unknown]\r\n\r\n"
              b"--B1\r\nContent-Type: message/rfc822\r\n\r\nFrom: sender@example.org\r\nTo: gone@example.com\r\n"
              b"Subject: hi\r\n\r\nhello\r\n--B1--\r\n")
    whole = _said(classify(report))
    assert whole == ("bounce", [("gone@example.com", True)])
    damaged = report.replace(b"text/plain;\r\n", b"text/plain\r\n")
    assert damaged != report and _said(classify(damaged)) == whole


@pytest.mark.parametrize("header, mended", [
    (b'Content-Type: multipart/report; boundary="a;b=c d"; report-type=delivery-status', None),
    (b'Content-Type: multipart/report boundary="a;b=c d" report-type=delivery-status',
     b'Content-Type: multipart/report; boundary="a;b=c d"; report-type=delivery-status'),
    (b'Content-Type: multipart/report; boundary="a\\"; b=c"; report-type=delivery-status', None),
    (b'Content-Type: multipart/report boundary="a\\" b=c" report-type=delivery-status',
     b'Content-Type: multipart/report; boundary="a\\" b=c"; report-type=delivery-status'),
    (b'Content-Type: text/plain; charset="us-ascii"; name="a=b;c"', None),
    (b'Content-Type: text/plain; name="unclosed; charset=x', None),
    (b'Content-Type: text/plain; name="a long\n name=b.txt"', None),
    (b'Content-Type: multipart/report report-type=delivery-status\n\tboundary="x\n y=z"',
     b'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="x\n y=z"'),
])
def test_separators_inside_a_quoted_string_separate_no_parameters(header, mended):
    """RFC 2045 §5.1: a parameter's value may be a quoted-string, and the ';', '=' and spaces inside one
    (RFC 5322 §3.2.4: a backslash quotes the next character, '\\"' included, and a fold may break one)
    separate nothing: a header whose every parameter has its ';' is left as it is, and a lost ';' goes back
    outside the quotes only."""
    from mailfleet.shared.bounces.classifier import _with_semicolons

    assert _with_semicolons(header) == (mended or header)


def test_quoted_strings_are_emptied_as_the_grammar_reads_them():
    """The split that empties quoted strings where no backslash or line break is quoted gives what the
    quoted-string pattern gives, on headers made of quotes, backslashes, line breaks and separators."""
    import random

    from mailfleet.shared.bounces.classifier import _QUOTED, _unquoted

    rng = random.Random(5)
    alphabet = [b'"', b'"', b"\\", b"\n", b"\n\t", b" ", b";", b"=", b"a", b"b=c"]
    differ = []
    for _ in range(20_000):
        header = b"".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        if _unquoted(header) != _QUOTED.sub(b'""', header):
            differ.append(header)
    assert not differ, differ[:5]


def test_each_phrase_that_starts_the_original_holds_a_word_it_is_found_by():
    """text.cut_original tries CUT_RX only at lines holding one of CUT_WORDS: every phrase of CUT_RX must hold
    one outside its optional parts, or the original it announces would be read as the report's prose."""
    from mailfleet.shared.bounces.text import CUT_RX, CUT_WORDS

    lead = r"\n[ \t>]*+(?:[-=*_#]{2,}+[ \t]*+)?(?:"
    assert CUT_RX.pattern.startswith(lead) and CUT_RX.pattern.endswith(")")
    branches, depth, start = [], 0, len(lead)
    for i in range(len(lead), len(CUT_RX.pattern) - 1):
        c = CUT_RX.pattern[i]
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c == "|" and depth == 0:
            branches.append(CUT_RX.pattern[start:i])
            start = i + 1
    branches.append(CUT_RX.pattern[start:-1])
    assert len(branches) > 20
    required = [re.sub(r"\(\?:[^()]*\)\?", "", branch) for branch in branches]  # optional groups left out
    assert not [b for b in required if not any(word in b for word in CUT_WORDS)]


def test_the_original_is_cut_where_the_phrases_regex_finds_it():
    """The word-led search for where the original starts agrees with CUT_RX.search on every corpus message."""
    from mailfleet.shared.bounces.text import CUT_RX, _first_cut

    lows = ["\n" + path.read_bytes().decode("utf-8", "replace").lower()
            for folder in ("dev", "dev2") for path in sorted((CORPUS / folder).iterdir()) if path.suffix in (".eml", ".txt")]
    differ = [low[:80] for low in lows if _first_cut(low) != (m.start() if (m := CUT_RX.search(low)) else -1)]
    assert not differ, differ[:3]


def test_a_delivery_status_field_is_a_name_a_colon_and_a_value():
    """RFC 3464 §2.1: fields as in RFC 822, a name of letters, digits and '-' (white space before the colon
    tolerated, as servers write it), the value's white space folded; a line whose 'name' has other
    characters, or no colon, is no field; a continuation line extends the field before it."""
    from mailfleet.shared.bounces.dsn import parse_blocks

    text = ("Reporting-MTA: dns; mx.example\n\nFinal-Recipient :\trfc822; a@b.example\n"
            "Action: failed\nStatus:5.1.1\nDiagnostic-Code: smtp; 550 5.1.1\n  user unknown\n"
            "X_Bad: no\n9-Lives: no\nX Spaced: no\nno colon here\nRémote-MTA: no\n")
    assert parse_blocks(text) == [
        {"reporting-mta": "dns; mx.example"},
        {"final-recipient": "rfc822; a@b.example", "action": "failed", "status": "5.1.1",
         "diagnostic-code": "smtp; 550 5.1.1 user unknown"}]


def _wrapped(inner: bytes) -> bytes:
    """A gateway's report that names no recipient, returning `inner` (RFC 6522's multipart/report with the
    returned message as message/rfc822, the human-readable part saying nothing readable)."""
    return (b"From: Mail Delivery Subsystem <MAILER-DAEMON@gw.example.net>\nTo: sales@shop.test\n"
            b"Subject: Returned mail: see transcript for details\nMIME-Version: 1.0\n"
            b'Content-Type: multipart/mixed; boundary="OUTER"\n\n--OUTER\nContent-Type: text/plain\n\n'
            b"----- The following addresses had permanent delivery errors -----\n\n\n--OUTER\n"
            b"Content-Type: message/rfc822\n\n" + inner + b"\n--OUTER--\n")


def test_a_report_that_names_nobody_reads_the_report_it_returns():
    """RFC 6522 §3: a report naming no recipient whose returned message is itself a delivery report (a
    bounce forwarded, or bounced again by a gateway) is that report; an ordinary returned message sent to
    several addresses names the good ones too, so that report stays set aside."""
    from mailfleet.shared.bounces.classifier import NESTED_RULE

    from ..support.samples import dsn

    nested = classify(_wrapped(dsn("gone@example.com", "5.1.1", "550 5.1.1 <gone@example.com>: User unknown",
                                   "<inner@mx>", to="sales@shop.test")))
    assert (nested.kind, nested.rule, [(f.address, f.hard) for f in nested.failures]) == (
        "bounce", NESTED_RULE, [("gone@example.com", True)])
    plain = classify(_wrapped(b"From: sales@shop.test\nTo: good@example.com, gone@example.com\nSubject: Offer\n\n"
                              b"Hello\n"))
    assert plain.kind == "unparsed" and plain.failures == []


def _forward(subject: str, attached: bytes) -> bytes:
    """A person's forward with the message attached whole (RFC 2046 §5.2.1), as mail clients send one."""
    return (f"From: Alice <alice@example.org>\nTo: bounces@example.org\nSubject: {subject}\nMIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="FWD"\n\n--FWD\nContent-Type: text/plain\n\n'
            "This one came back, see attached.\n\n--FWD\nContent-Type: message/rfc822\n\n").encode() + \
        attached + b"\n--FWD--\n"


def test_a_bounce_a_person_forwards_as_an_attachment_is_read_as_that_bounce():
    """Forwarded inline, a bounce's words were read already; attached whole, the same bounce was ordinary
    mail. Under a bounce's subject, the attached bounce's verdict is the forward's; an attached message that is
    no bounce, or a bounce attached under a subject of the person's own, leaves it a person's mail."""
    from mailfleet.shared.bounces.classifier import FORWARDED_RULE

    from ..support.samples import dsn

    bounce = dsn("gone@example.com", "5.1.1", "550 5.1.1 <gone@example.com>: User unknown", "<inner@mx>",
                 to="news@example.org").replace(b"\r\n", b"\n")
    forwarded = classify(_forward("Fwd: Undelivered Mail Returned to Sender", bounce))
    assert (forwarded.kind, forwarded.rule, [(f.address, f.hard) for f in forwarded.failures]) == (
        "bounce", FORWARDED_RULE, [("gone@example.com", True)])
    offer = b"From: news@example.org\nTo: gone@example.com\nSubject: Our offer\n\nBuy now\n"
    assert classify(_forward("Fwd: Undelivered Mail Returned to Sender", offer)).kind == "mail"
    assert classify(_forward("Have a look at this", bounce)).kind == "mail"


def test_a_bounce_mailman_could_not_read_and_passes_on_is_read():
    """Mailman 2 sends a bounce it cannot read on to the list's owner attached whole, under "Uncaught bounce
    notification" (Queue/BounceRunner.py, maybe_forward; its words templates/en/unrecognized.txt): the attached
    bounce is the verdict."""
    from ..support.samples import dsn

    bounce = dsn("gone@example.com", "5.1.1", "550 5.1.1 <gone@example.com>: User unknown", "<inner@mx>",
                 to="announce-bounces@lists.example.org").replace(b"\r\n", b"\n")
    raw = (b"From: announce-bounces@lists.example.org\nTo: announce-owner@lists.example.org\n"
           b"Subject: Uncaught bounce notification\nPrecedence: bulk\nMIME-Version: 1.0\n"
           b'Content-Type: multipart/mixed; boundary="M"\n\n--M\nContent-Type: text/plain; charset="us-ascii"\n\n'
           b"The attached message was received as a bounce, but either the bounce\nformat was not recognized, or "
           b"no member addresses could be extracted\nfrom it.  This mailing list has been configured to send all\n"
           b"unrecognized bounce messages to the list administrator(s).\n\n--M\nContent-Type: message/rfc822\n\n"
           + bounce + b"\n--M--\n")
    verdict = classify(raw)
    assert (verdict.kind, [(f.address, f.hard) for f in verdict.failures]) == ("bounce", [("gone@example.com", True)])


# Postfix's bounce daemon, when a message's per-recipient log is gone (bounce_notify_util.c): its usual
# template, a delivery-status part with the per-message fields alone, and the returned message
POSTFIX_NO_REPORT = """\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: sales@shop.test
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

\t--- Delivery report unavailable ---

--B
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4ABCD1234
X-Postfix-Sender: rfc822; sales@shop.test

--B
Content-Description: Undelivered Message
Content-Type: message/rfc822

{original}
--B--
"""

# A gateway's notice in words of its own, the returned message's header fields quoted below "Original Message:"
GATEWAY_NO_NAME = """\
From: postmaster@gw.example.net
To: sales@shop.test
Subject: Undeliverable Message
Content-Type: text/plain

Message could not be delivered.
Error: No valid recipients for this message

Original Message:
{original}
"""


@pytest.mark.parametrize("template, original, expect", [
    # one addressee in To: the report is about it, read with the report's words (none here: soft, no reason)
    (POSTFIX_NO_REPORT, "From: sales@shop.test\nTo: Bob <bob@example.com>\nSubject: Offer\n\nHello",
     [("bob@example.com", False, "undefined")]),
    (GATEWAY_NO_NAME, "From: Sales <sales@shop.test>\nTo: gone@example.com\nSubject: Offer\n"
                      "Date: Mon, 7 Dec 2026 10:00:00 +0000",
     [("gone@example.com", True, "userunknown")]),
    # RFC 5321 §4.4: the FOR clause of the first Received names the envelope recipient where it failed; the
    # To (a list's address) is not the one that failed
    (GATEWAY_NO_NAME, "Received: from mx.shop.test by mx.example.com with ESMTP id 1A2B\n"
                      "\tfor <member@example.com>; Mon, 7 Dec 2026 10:00:00 +0000\n"
                      "From: sales@shop.test\nTo: team@lists.example.com\nSubject: Offer",
     [("member@example.com", True, "userunknown")]),
    # our own address (a Bcc send's To) or several addressees say nobody in particular: set aside
    (POSTFIX_NO_REPORT, "From: sales@shop.test\nTo: sales@shop.test\nSubject: Offer\n\nHello", None),
    (GATEWAY_NO_NAME, "From: sales@shop.test\nTo: a@example.com, b@example.com\nSubject: Offer", None),
    # a list's message is addressed to the list (its List-Post, RFC 2369 §3.4): the member it failed for is
    # not named, and the list is not whom it failed for
    (POSTFIX_NO_REPORT, "From: Ann <ann@example.org>\nTo: team@lists.example.com\nSender: "
                        "team-bounces@lists.example.com\nList-Post: <mailto:team@lists.example.com>\n"
                        "Subject: Offer\n\nHello", None),
])
def test_a_report_that_names_nobody_is_about_the_one_address_its_original_was_for(template, original, expect):
    """RFC 6522 §3: a report's returned message (or its header, or header fields quoted in its text) is the
    message that failed. When the report names no recipient, the one address that message was for is the
    recipient, decided by the report's words; before, such a report was only set aside."""
    from mailfleet.shared.bounces.classifier import RETURNED_RULE

    verdict = classify(template.format(original=original).encode())
    if expect is None:
        assert (verdict.kind, verdict.failures) == ("unparsed", [])
    else:
        assert verdict.rule == RETURNED_RULE
        assert [(f.address, f.hard, f.reason) for f in verdict.failures] == expect


def test_a_report_pasted_into_the_text_is_read():
    """A bounce forwarded inline: a mailer daemon's text/plain message whose body holds a whole delivery report
    (RFC 6522), its header block after an mbox From_ line (RFC 4155) as a mail store writes it. The pasted
    report says whom it is about; text that merely mentions a report does not count."""
    from mailfleet.shared.bounces.classifier import INLINE_RULE

    from ..support.samples import dsn

    report = dsn("gone@example.com", "5.1.1", "550 5.1.1 <gone@example.com>: User unknown", "<inner@mx>",
                 to="sales@shop.test").replace(b"\r\n", b"\n")
    outer = (b"From: MAILER-DAEMON@relay.example.net\nTo: sales@shop.test\nSubject: Undelivered Mail Returned to "
             b"Sender\nContent-Type: text/plain; charset=us-ascii\n\nI'm sorry to have to inform you that the message "
             b"returned below could not be delivered.\n\n---------------------------------\n"
             b"From MAILER-DAEMON  Thu Apr 29 23:34:45 2015\nReturn-Path: <>\n")
    pasted = classify(outer + report)
    assert (pasted.kind, pasted.rule, [(f.address, f.hard) for f in pasted.failures]) == (
        "bounce", INLINE_RULE, [("gone@example.com", True)])
    mentioned = classify(outer + b"Content-Type: multipart/report; report-type=delivery-status\n\nwas its type.\n")
    assert mentioned.kind == "unparsed" and mentioned.failures == []


def test_a_report_of_thousands_of_recipients_is_read_once_not_once_per_recipient(monkeypatch):
    """A long list of addresses (a hostile or a huge report) must cost time in proportion to its size: each
    recipient's lines come from an index, and the whole prose is decided once, not once per recipient that
    has no words of its own (that was 200 KB lower-cased and searched again for each). Counted, not timed."""
    from mailfleet.shared.bounces import text

    calls = {"whole": 0, "scans": 0}
    real_decide, real_names = text.decide, text._names

    def decide(diagnostic, *args, **kwargs):
        calls["whole"] += len(diagnostic) > 10_000
        return real_decide(diagnostic, *args, **kwargs)

    def names(line, address):
        calls["scans"] += 1
        return real_names(line, address)

    monkeypatch.setattr(text, "decide", decide)
    monkeypatch.setattr(text, "_names", names)
    listed = "".join(f"'user{i}@example.com'\n" for i in range(3000))
    raw = (f"From: MAILER-DAEMON@mx.example.org\nTo: news@example.org\nSubject: Undelivered Mail\n\n"
           f"Could not deliver to the following recipients:\n\n{listed}").encode()
    verdict = classify(raw)
    assert len(verdict.failures) == 3000
    assert calls["whole"] <= 2 and calls["scans"] < 100, calls


def test_exim_s_octal_escapes_of_utf8_are_read_back_and_its_escaped_controls_stay_escaped():
    """Exim quotes a reply through string_printing(): a byte it will not print becomes a backslash and three
    octal digits. UTF-8 so escaped is the server's words, and reads as them (in the diagnostic and in the
    prose); escaped control characters (ESC, BEL) stay as Exim wrote them; a run that is not UTF-8 stays too."""
    japanese = "".join(f"\\{byte:03o}" for byte in "ユーザー不明".encode())  # \\343\\203\\246...
    reply = f"550 5.1.1 <x@example.com>: {japanese} \\033]0;pwned\\007 \\377\\376"
    assert unescaped(reply) == "550 5.1.1 <x@example.com>: ユーザー不明 \\033]0;pwned\\007 \\377\\376"
    (failure,) = classify(dsn([("x@example.com", "failed", f"5.1.1 {reply}")])).failures
    assert "ユーザー不明 \\033]0;pwned" in failure.diagnostic
    prose = ("From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: news@example.org\n"
             "Subject: Mail delivery failed: returning message to sender\n\n"
             "A message that you sent could not be delivered to one or more of its\n"
             "recipients. This is a permanent error. The following address(es) failed:\n\n"
             "  x@example.com\n    host mx.example.com [192.0.2.1]\n"
             f"    SMTP error from remote mail server after RCPT TO:<x@example.com>:\n    {reply}\n")
    (failure,) = classify(prose.encode()).failures
    assert "ユーザー不明 \\033]0;pwned" in failure.diagnostic


def sendmail_bounce(transcript: str, status: str, diagnostic: str, address: str = "x@example.com",
                    action: str = "failed") -> bytes:
    """A bounce in sendmail's shape (its returnto()/errbody() template: the addresses, then the transcript of
    the SMTP dialogue it logged, ">>> " for what it sent and "<<< " for what it read), with a delivery-status
    part whose Diagnostic-Code, as sendmail writes it, holds only the first line of the server's reply."""
    reason = diagnostic.splitlines()[0]
    return (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\nTo: news@example.org\n"
        "Subject: Returned mail: see transcript for details\nAuto-Submitted: auto-generated (failure)\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
        "--B\n\nThe original message was received at Mon, 7 Dec 2026 14:46:26 GMT\nfrom localhost\n\n"
        f"   ----- The following addresses had permanent fatal errors -----\n{address}\n    (reason: {reason})\n\n"
        f"   ----- Transcript of session follows -----\n... while talking to mx.example.com.:\n{transcript}\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: RFC822; {address}\nAction: {action}\nStatus: {status}\nRemote-MTA: DNS; mx.example.com\n"
        f"Diagnostic-Code: SMTP; {reason}\n\n--B\nContent-Type: message/rfc822\n\n"
        "From: news@example.org\nTo: x@example.com\nSubject: Our offer\n\nBuy now\n--B--\n"
    ).encode()


def _verdict_of(raw: bytes) -> tuple[bool, str, str | None]:
    f = classify(raw).failures[0]
    return f.hard, f.about, f.status


def test_a_status_sendmail_made_from_a_bare_reply_code_says_no_more_than_the_code():
    """sendmail (usersmtp.c smtprcptstat, deliver.c smtptodsn) gives a refused address the server's enhanced
    status only from a server that offered ENHANCEDSTATUSCODES and wrote one; otherwise a default by reply code:
    5.1.1 for any 550 to RCPT TO, 5.1.3 for 553, 5.2.2 for 552. Those say more than the code: the reply decides."""
    def refused(status: str, reply: str) -> tuple[bool, str, str | None]:
        return _verdict_of(sendmail_bounce(f">>> DATA\n<<< {reply}\n550 5.1.1 x@example.com... User unknown\n"
                                           "<<< 503 5.0.0 Need RCPT (recipient)", status, reply))

    assert refused("5.1.1", "550 Administrative prohibition") == (False, "recipient", "5.0.0")  # Exim's ACL deny
    assert refused("5.1.1", "550 5.7.1 Client host rejected: cannot find your hostname") == (False, "sender", "5.7.1")
    assert refused("5.1.3", "553 Requested action not taken: mailbox name not allowed")[0] is False
    assert refused("5.2.2", "552 sorry, that message size exceeds my databytes limit (#5.3.4)") \
        == (False, "message", "5.3.4")
    # What the reply itself says stands; and 5.1.6 for 551 is what the code says ("User not local").
    assert refused("5.1.1", "550 5.1.1 <x@example.com>... User unknown") == (True, "recipient", "5.1.1")
    assert refused("5.1.1", "550 unknown user") == (True, "recipient", "5.0.0")  # answered RCPT TO, below
    assert refused("5.1.6", "551 not our user")[:2] == (True, "recipient")
    # Without a transcript, the RCPT default itself shows the stage: only a reply to RCPT TO gets 5.1.1, while
    # the same 550 elsewhere gets smtptodsn's 5.2.0; an unknown user after DATA is a filter's word, not proof.
    assert _verdict_of(sendmail_bounce("", "5.1.1", "550 User unknown")) == (True, "recipient", "5.0.0")
    assert _verdict_of(sendmail_bounce("", "5.2.0", "550 User unknown"))[0] is False


def test_a_give_up_status_gives_way_to_the_last_reply_s_own():
    """sendmail returns a message deferred past Timeout.queuereturn with Status 4.4.7 (delivery time expired):
    when, not why. The last reply's own status says why, as Postfix's DSN would have said it."""
    def gave_up(reply: str) -> tuple[bool, str, str | None]:
        return _verdict_of(sendmail_bounce(f">>> RCPT To:<x@example.com>\n<<< {reply}\n"
                                           f"x@example.com... Deferred: {reply}\n"
                                           "Message could not be delivered for 5 days", "4.4.7", reply))

    assert gave_up("450 4.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient "
                   "table") == (True, "recipient", "4.1.1")  # the MTA was told so at every try
    assert gave_up("421 4.7.0 TLS required for RCPT domain, closing connection.")[:2] == (False, "sender")
    assert gave_up("450 Requested mail action not taken: mailbox unavailable") == (False, "recipient", "4.4.7")


def test_sendmail_s_transcript_says_what_a_reply_answered():
    """RFC 2920 pipelining: sendmail sends DATA before it reads the replies to RCPT TO and logs them under
    ">>> DATA"; a DATA answered "503" or "554 no valid recipients" (RFC 5321 §3.3) shows that none was taken,
    so each reply above answered RCPT TO. A reply under ">>> MAIL From:" refused the sender; one with no command
    above it since "... while talking to" refused the connection (RFC 5321 §3.1)."""
    unknown = "550 unknown user"
    assert _verdict_of(sendmail_bounce(f">>> DATA\n<<< {unknown}\n<<< 503-All RCPT commands were rejected\n"
                                       "<<< 503 Valid RCPT command must precede DATA", "5.0.0", unknown))[0] is True
    assert _verdict_of(sendmail_bounce(f">>> DATA\n<<< {unknown}\n<<< 554 5.5.1 Error: no valid recipients",
                                       "5.0.0", unknown))[0] is True
    # The last reply under DATA may answer the message's end: a filter's "unknown user" proves nothing.
    assert _verdict_of(sendmail_bounce(f">>> DATA\n<<< {unknown}", "5.0.0", unknown))[0] is False
    # sendmail's own line below the reply says which: one for the message names nothing ("Service unavailable",
    # giveresponse()), so even an X.1.1 answered the message's end, as Postfix and Exim say it did; one for the
    # recipient names it ("<user@host>... User unknown"), so the reply answered RCPT TO, pipelined.
    named = "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table"
    assert _verdict_of(sendmail_bounce(f">>> DATA\n<<< {named}\n554 5.0.0 Service unavailable", "5.1.1",
                                       named))[0] is False
    assert _verdict_of(sendmail_bounce(f">>> DATA\n<<< {unknown}\n550 5.1.1 x@example.com... User unknown",
                                       "5.0.0", unknown))[0] is True
    # A reply whose enhanced status contradicts its code ("550 4.4.7", Exchange's for an expired message) gets
    # no "(reason: ...)" and no Diagnostic-Code from sendmail, and its own "User unknown" line under it (as a
    # real sendmail wrote it): the transcript has the reply.
    expired = "550 4.4.7 QUEUE.Expired; message expired"
    raw = sendmail_bounce(f">>> DATA\n<<< {expired}\n550 5.1.1 x@example.com... User unknown\n"
                          "<<< 503 5.0.0 Need RCPT (recipient)", "5.1.1", expired)
    for written in (f"Diagnostic-Code: SMTP; {expired}\n", f"    (reason: {expired})\n"):
        raw = raw.replace(written.encode(), b"")
    assert _verdict_of(raw) == (False, "recipient", "4.4.7")
    # A 552 to MAIL FROM gets sendmail's 5.3.4 ("message too big", usersmtp.c smtpmailfrom): the words decide.
    quota_violation = "552 Quota violation for news@example.org"
    refused = sendmail_bounce(f">>> MAIL From:<news@example.org> SIZE=131\n<<< {quota_violation}\n"
                              "554 5.0.0 Service unavailable", "5.3.4", quota_violation)
    assert _verdict_of(refused)[:2] == (False, "sender")
    quota = "550 5.7.1 Email quota exceeded."
    assert _verdict_of(sendmail_bounce(f">>> MAIL From:<news@example.org> SIZE=131\n<<< {quota}\n"
                                       "554 5.0.0 Service unavailable", "5.7.1", quota)) == (False, "sender", "5.7.1")
    greeting = "554 No SMTP service here"
    assert _verdict_of(sendmail_bounce(f"<<< {greeting}\n554 5.0.0 Service unavailable", "5.5.0", greeting))[:2] \
        == (False, "sender")


def test_a_reply_of_many_lines_is_read_whole_from_the_transcript():
    """A delivery-status part's Diagnostic-Code holds the first line of a multi-line reply (RFC 5321 §4.2.1)
    where sendmail writes it; the transcript has every line, and the reason may be in the last (Exim's
    sender verification: "550-Verification failed for <...>" ... "550 Sender verify failed")."""
    reply = "550-Verification failed for <news@example.org>\n550-Unrouteable address\n550 Sender verify failed"
    transcript = "\n".join(f"<<< {line}" for line in reply.splitlines())
    raw = sendmail_bounce(f">>> DATA\n{transcript}\n550 5.1.1 x@example.com... User unknown\n"
                          "<<< 503 5.0.0 Need RCPT (recipient)", "5.1.1", reply)
    failure = classify(raw).failures[0]
    assert (failure.hard, failure.about) == (False, "sender")
    assert failure.diagnostic == reply
