"""The classifier's rules: stable ids, each one deciding the words of the source it names, and `--explain`.

Each diagnostic below is written from the source its rule cites (the RFC's text or the mail server's
documented reply), not taken from any collection of bounces.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from mailfleet.shared.bounces import classify, rule_source
from mailfleet.shared.bounces.classifier import KIND_RULES
from mailfleet.shared.bounces.reasons import DECISION_RULES, RULES

from .test_classifier import dsn

# Stored bounces name these ids, and `contacts unmark --rule` takes them: add ids, never rename or reuse one.
SHIPPED = {
    "exchange-edge-block", "recipient-access-denied", "refused-by-recipient", "rfc7504-no-mail-host",
    "rfc3463-policy-doubt", "rfc5321-mail-from-stage", "sender-refused", "helo-refused", "auth-failure",
    "mailer-error", "dns-temporary", "mailbox-full", "message-too-big", "virus", "provider-rate-limit", "spam",
    "blocklist", "relay-denied", "policy", "rate-limit", "suspended", "moved", "host-unknown", "domain-takes-no-mail",
    "user-unknown", "address-refused", "expired", "network", "system",
    "rfc3463-status", "rfc7372-auth-status", "rfc3463-sender-status", "rfc3463-policy-refusal", "unproven-unknown",
    "no-reason", "stated-state", "rfc3464-delayed",
    "rfc5965-feedback-report", "rfc3464-delivery-status", "ses-notification", "rfc3834-auto-reply", "bounce-prose",
    "not-a-bounce", "unread-bounce", "classifier-error", "nested-report", "inline-report", "check-the-address",
    "unrouteable-explained", "unverified-address", "sending-limit", "content-refused", "sender-banned",
    "delivery-notice-prose", "rfc5321-greeting-stage", "tls-required", "automatic-rejection", "rfc5321-551",
    "returned-recipient", "forwarded-bounce",
}


def test_rule_ids_are_unique_and_none_was_renamed():
    ids = [r.id for r in RULES] + list(DECISION_RULES) + list(KIND_RULES)
    assert len(ids) == len(set(ids))
    assert SHIPPED <= set(ids), f"shipped rule ids gone: {SHIPPED - set(ids)}"
    assert all(rule_source(i) for i in ids), "every rule names its source"


# rule id -> (a failed recipient's Diagnostic-Code written from the rule's source, hard, whom it is about)
FROM_SOURCE = {
    "exchange-edge-block": ("550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", True, "recipient"),
    "recipient-access-denied": ("554 5.7.1 <x@example.com>: Recipient address rejected: Access denied", False,
                                "recipient"),
    "sender-refused": ("554 5.7.1 <news@example.org>: Sender address rejected: Access denied", False, "sender"),
    "helo-refused": ("504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", False, "sender"),
    "auth-failure": ("550 5.7.1 This mail has been blocked because the sender is unauthenticated. Gmail requires "
                     "all senders to authenticate with either SPF or DKIM.", False, "sender"),
    "mailer-error": ('5.3.0 Command died with status 1: "/usr/bin/procmail"', False, "recipient"),
    "dns-temporary": ("4.4.3 Host or domain name not found. Name service error for name=example.com type=MX: "
                      "Host not found, try again", False, "recipient"),
    "mailbox-full": ("552 5.2.2 <x@example.com>: Quota exceeded (mailbox for user is full)", False, "recipient"),
    "message-too-big": ("552 5.3.4 Message size exceeds fixed limit", False, "message"),
    "virus": ("554 5.7.0 Reject, id=12345-01 - INFECTED: Eicar-Test-Signature", False, "message"),
    "provider-rate-limit": ("421 4.7.28 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail "
                            "originating from your IP address. To protect our users from spam, mail sent from your "
                            "IP address has been temporarily rate limited.", False, "sender"),
    "spam": ("550 5.7.1 [192.0.2.1] Our system has detected that this message is likely unsolicited mail.", False,
             "message"),
    "blocklist": ("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", False,
                  "sender"),
    "relay-denied": ("554 5.7.1 <x@example.com>: Relay access denied", False, "sender"),
    "policy": ("550 5.7.1 Delivery not authorized, message refused", False, "sender"),
    "rate-limit": ("421 4.7.0 Too many connections from 192.0.2.1", False, "sender"),
    "suspended": ("550 5.2.1 The email account that you tried to reach is disabled.", False, "recipient"),
    "moved": ("551 5.1.6 User has moved; please try <new@example.org>", True, "recipient"),
    "host-unknown": ("5.4.4 Host or domain name not found. Name service error for name=nowhere.example type=A: "
                     "Host not found", True, "recipient"),
    "domain-takes-no-mail": ("556 5.1.10 <x@example.com>: Recipient address rejected: Domain example.com does not "
                             "accept mail (nullMX)", True, "recipient"),
    "user-unknown": ("550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table",
                     True, "recipient"),
    "address-refused": ("550 5.1.1 <x@example.com>: Recipient address rejected", True, "recipient"),
    "expired": ("4.4.7 I'm not going to try again; this message has been in the queue too long.", False, "recipient"),
    "network": ("4.4.2 lost connection with mx.example.com[192.0.2.1] while receiving the initial server greeting",
                False, "recipient"),
    "system": ("421 4.3.2 Service not available, closing transmission channel", False, "recipient"),
    "refused-by-recipient": ("550 5.1.1 RCP-P2 http://postmaster.facebook.com/response_codes#rcp Refused due to "
                             "recipient preferences", False, "recipient"),
    "rfc7504-no-mail-host": ("521 5.3.2 mx.example.com does not accept mail", True, "recipient"),
    "rfc3463-policy-doubt": ("550 5.7.1 <x@example.com>: User unknown", False, "recipient"),
    "rfc5321-mail-from-stage": ("553 5.1.0 SMTP error from remote mail server after MAIL FROM:<news@example.org>: "
                                "553 5.1.0 user does not exist", False, "sender"),
    "rfc5321-greeting-stage": ("SMTP error from remote mail server after initial connection: 554 mx.example.com "
                               "ESMTP not accepting connections", False, "sender"),
    "rfc7372-auth-status": ("550 5.7.515 Access denied, sending domain example.org doesn't meet the required "
                            "authentication level.", False, "sender"),
    "rfc3463-sender-status": ("553 5.1.8 <news@example.org>: Sender address rejected: Domain not found", False,
                              "sender"),
    "rfc3463-status": ("5.1.1 (no words)", True, "recipient"),
    "tls-required": ("530 5.7.0 Must issue a STARTTLS command first", False, "sender"),
    "automatic-rejection": ("Your message to <x@example.com> was automatically rejected: I am not taking mail from "
                            "you, and I don't want your birdseed, either.", False, "recipient"),
    "unproven-unknown": ("550 5.0.0 User unknown (in reply to end of DATA command)", False, "recipient"),
    "rfc5321-551": ("551 not our user (in reply to RCPT TO command)", True, "recipient"),
    "unrouteable-explained": ("The mail server could not deliver mail to x@example.com.  The account or domain may "
                              "not exist, they may be blacklisted, or missing the proper dns entries.", True,
                              "recipient"),
    "unverified-address": ("450 4.1.1 <x@example.com>: Recipient address rejected: unverified address: host "
                           "mx.example.com[192.0.2.1] said: 450 4.2.0 try again later", False, "recipient"),
    "sending-limit": ("550 5.4.5 Daily user sending quota exceeded.", False, "sender"),
    "content-refused": ("550 5.7.1 This message is not RFC 5322 compliant. To reduce the amount of spam sent to "
                        "Gmail, this message has been blocked.", False, "message"),
    "sender-banned": ("550 5.7.501 Access denied, spam abuse detected.", False, "sender"),
    "check-the-address": ("550 5.1.1 Your message couldn't be delivered. Check the recipient's email address, then "
                          "try to resend the message.", True, "recipient"),
}


def test_every_word_rule_has_a_message_from_its_source():
    assert {r.id for r in RULES} <= set(FROM_SOURCE)


@pytest.mark.parametrize("rule", list(FROM_SOURCE))
def test_each_rule_decides_the_words_of_its_source(rule):
    diagnostic, hard, about = FROM_SOURCE[rule]
    verdict = classify(dsn([("x@example.com", "failed", diagnostic)]))
    (failure,) = verdict.failures
    assert (failure.rule, failure.hard, failure.about) == (rule, hard, about)
    assert failure.evidence and failure.evidence in " ".join(diagnostic.split())


@pytest.mark.parametrize("status", ["5.6.0", "5.6.1", "5.6.3", "5.6.7", "5.6.9", "5.6.10"])
def test_a_media_status_without_words_refuses_the_message_not_the_recipient(status):
    """RFC 3463 §3.7 (X.6.x, "Message Content or Media Status") and RFC 6531's X.6.7-X.6.10 (UTF-8 the path
    cannot carry): the message is refused for what it holds or how it is written. Nobody is marked, and the
    recipient is not counted a soft bounce."""
    (failure,) = classify(dsn([("x@example.com", "failed", f"{status} 554 Not delivered")])).failures
    assert (failure.reason, failure.rule, failure.hard, failure.about) == (
        "contenterror", "rfc3463-status", False, "message")


@pytest.mark.parametrize("diagnostic", [
    "SMTP error from remote mail server after MAIL FROM:<news@example.org> SIZE=1234: 550 5.7.1 Email quota exceeded.",
    "host mx.example.com[192.0.2.1] said: 552 5.2.2 Mailbox full (in reply to MAIL FROM command)",
    "host mx.example.com[192.0.2.1] said: 550 5.2.1 Account disabled (in reply to MAIL FROM command)",
    # Exim's transports/smtp.c: "after %s%s", "pipelined " first where MAIL FROM went pipelined (RFC 2920)
    "SMTP error from remote mail server after pipelined MAIL FROM:<news@example.org>: 552 5.2.2 Mailbox full",
])
def test_a_mailbox_state_answered_to_mail_from_is_the_sender_s(diagnostic):
    """RFC 5321 §3.3: MAIL FROM names only the sender. A refusal there speaks of no recipient, whatever mailbox
    it says is full or disabled (Gmail's "550 5.7.1 Email quota exceeded" is the sending account's quota)."""
    (failure,) = classify(dsn([("x@example.com", "failed", diagnostic)])).failures
    assert (failure.reason, failure.rule, failure.hard, failure.about) == (
        "rejected", "rfc5321-mail-from-stage", False, "sender")


@pytest.mark.parametrize("status, reason, hard, about", [
    # Exchange Online's details (Microsoft Learn's NDR list), unknown here: their subject's X.Y.0 decides
    ("5.7.124", "securityerror", False, "sender"),  # "Sender not in allowed-senders list"
    ("5.7.57", "securityerror", False, "sender"),  # "Client not authenticated to send mail"
    ("5.4.312", "networkerror", False, "recipient"),  # "DNS query failed"
    # ...but never a dead address: X.1.0 stands for an unknown mailbox only where it is said
    ("5.1.90", "undefined", False, "recipient"),  # Exchange: the sender's daily recipient limit
    ("4.3.1", "systemerror", False, "recipient"),  # RFC 3463 X.3.1 "Mail system full": the server's storage
    ("5.7.17", "hasmoved", True, "recipient"),  # RFC 7293 §3.3 "Mailbox owner has changed"
])
def test_a_status_alone_says_what_its_subject_says(status, reason, hard, about):
    """RFC 3463 §2: the detail refines the subject. With no words that decide, a detail defined here decides;
    one nobody here knows falls back to its subject's "other or undefined" (X.Y.0), never to a dead address."""
    (failure,) = classify(dsn([("x@example.com", "failed", f"{status} 550 Not delivered")])).failures
    assert (failure.reason, failure.hard, failure.about) == (reason, hard, about)


def test_a_server_out_of_storage_is_its_own_trouble_not_a_full_mailbox():
    """Postfix smtpd's "452 4.3.1 Insufficient system storage" and Exchange's back pressure "Insufficient system
    resources": the receiving server's disk or load, not the recipient's mailbox."""
    for words in ("Insufficient system storage", "Insufficient system resources"):
        (failure,) = classify(dsn([("x@example.com", "failed", f"452 4.3.1 {words}")])).failures
        assert (failure.reason, failure.rule, failure.hard) == ("systemerror", "system", False)


@pytest.mark.parametrize("stage", ["SMTP error from remote mail server after end of data:",
                                   "SMTP error from remote mail server after pipelined DATA:",
                                   "SMTP error from remote mail server after pipelined end of data:",
                                   # RFC 3030 CHUNKING: the last chunk takes the place of DATA's end
                                   "LMTP error after BDAT 362 LAST:"])
def test_a_user_unknown_answered_to_data_proves_no_dead_mailbox(stage):
    """Exim's account of a reply to DATA (or BDAT), pipelined or not: the recipients were taken at RCPT TO, so an
    "unknown user" now is a filter's word for the message, not a lookup of the mailbox, X.1.1 or not."""
    (failure,) = classify(dsn([("x@example.com", "failed", f"5.1.1 {stage} 550 5.1.1 Unknown user")])).failures
    assert (failure.rule, failure.hard) == ("unproven-unknown", False)


def test_a_temporary_reply_given_up_on_is_no_dead_address():
    """Exim's DSN for an address it stopped retrying says "Status: 5.0.0"; the server had answered 450, RFC 5321
    §4.2.2's "mailbox unavailable (e.g., mailbox busy or temporarily blocked)". The server's code is its word."""
    stage = "SMTP error from remote mail server after RCPT TO:<x@example.com>:"
    busy = f"5.0.0 {stage} 450 Requested mail action not taken: mailbox unavailable: retry timeout exceeded"
    (failure,) = classify(dsn([("x@example.com", "failed", busy)])).failures
    assert failure.hard is False
    gone = f"5.0.0 {stage} 550 Requested action not taken: mailbox unavailable"
    (failure,) = classify(dsn([("x@example.com", "failed", gone)])).failures
    assert failure.hard is True, "a 550 under the same status still is one"


def test_an_automatic_rejection_gives_way_to_the_reason_it_frames():
    """Dovecot answers a full mailbox with the same frame a Sieve reject uses ("Your message to <...> was
    automatically rejected: Quota exceeded"): the reason after it decides where a rule knows it."""
    text = "Your message to <x@example.com> was automatically rejected: Quota exceeded (mailbox for user is full)"
    (failure,) = classify(dsn([("x@example.com", "failed", text)])).failures
    assert (failure.reason, failure.rule, failure.hard) == ("mailboxfull", "mailbox-full", False)


def test_gmail_s_unauthenticated_email_is_an_authentication_failure():
    """Gmail's "550 5.7.1 Unauthenticated email is not accepted from this domain": the domain's SPF, DKIM or
    DMARC did not pass. The account's health names the check, not a bare refusal of the sender."""
    diagnostic = "550 5.7.1 Unauthenticated email is not accepted from this domain."
    (failure,) = classify(dsn([("x@example.com", "failed", diagnostic)])).failures
    assert (failure.reason, failure.rule, failure.about) == ("authfailure", "auth-failure", "sender")


def test_a_refused_greeting_is_the_sending_host_s_even_under_the_reporter_s_own_deferral():
    """Postfix skips a server that greets with 5xx (smtp_skip_5xx_greeting) and defers: its DSN says "Status:
    4.0.0", its prose "host ... refused to talk to me: 554 ...". The status is Postfix's, the refusal the
    server's: RFC 5321 §3.1's "554 No SMTP service here" in place of 220, before any recipient was named."""
    diagnostic = ("554 No SMTP service here host mx.example.com[192.0.2.1] refused to talk to me: 554 No SMTP "
                  "service here")
    (failure,) = classify(dsn([("x@example.com", "failed", f"4.0.0 {diagnostic}")])).failures
    assert (failure.reason, failure.rule, failure.hard, failure.about) == (
        "blocked", "rfc5321-greeting-stage", False, "sender")


def test_a_verdict_names_the_rule_of_its_kind():
    assert classify(dsn([("x@example.com", "failed", "5.1.1 unknown")])).rule == "rfc3464-delivery-status"
    assert classify(b"From: a@example.com\nSubject: hi\n\nhello\n").rule == "not-a-bounce"
    unread = classify(b"From: MAILER-DAEMON@example.net\nSubject: Undelivered Mail Returned to Sender\n\n"
                      b"Something went wrong, and we will not say with whom.\n")
    assert (unread.kind, unread.rule) == ("unparsed", "unread-bounce"), "a bounce naming nobody is set aside"


def test_explain_shows_the_rule_its_source_and_the_words(tmp_path):
    path = tmp_path / "b.eml"
    hostile = "550 5.1.1 <x@example.com>: User unknown \x1b]0;pwned\x07 [red]ユーザー[/red]"
    path.write_bytes(dsn([("x@example.com", "failed", hostile)]))
    out = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "classify", "--explain", str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert "b.eml: bounce, by rule rfc3464-delivery-status (RFC 3464/6533" in out
    assert "x@example.com: HARD, userunknown, about the recipient" in out
    assert "rule      user-unknown (RFC 3463 X.1.1; Postfix" in out
    assert "evidence  550 5.1.1 <x@example.com>: User unknown  ]0;pwned  [red]ユーザー[/red]" in out
    assert "\x1b" not in out and "\x07" not in out, "no terminal control from a message reaches the screen"


def dma(reply: bytes, before: bytes = b" ", returned_to: bytes = b"gone@example.com") -> bytes:
    """dma's bounce, written from its source (mail.c, bounce()): X-Original-To names the failed address, the
    words name it outright (`before` it: the space, or a line break where a client re-wrapped the line), then
    the server's reply, and the returned message's header."""
    return (b"Received: from MAILER-DAEMON\n\tid 1a2b\n\tby mx.example.org (DragonFly Mail Agent v0.13);\n"
            b"X-Original-To: <gone@example.com>\nFrom: MAILER-DAEMON <>\nTo: news@example.org\n"
            b"Subject: Mail delivery failed\nMessage-Id: <1a2b@mx.example.org>\n\n"
            b"This is the DragonFly Mail Agent v0.13 at mx.example.org.\n\n"
            b"There was an error delivering your mail to" + before + b"<gone@example.com>.\n\n"
            b"mx.example.com [192.0.2.1] did not like our RCPT TO:\n" + reply + b"\n\n"
            b"Message headers follow.\n\nFrom: news@example.org\nTo: " + returned_to + b"\nSubject: Offer\n")


def test_the_dragonfly_mail_agents_bounce_names_its_recipient():
    verdict = classify(dma(b"550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in local "
                           b"recipient table"))
    assert [(f.address, f.hard, f.rule) for f in verdict.failures] == [("gone@example.com", True, "user-unknown")]


def test_a_later_mention_s_words_outweigh_a_status_the_first_mention_had_alone():
    """dma names the recipient, then the server's reply, which names it again. Where the reply's words were
    wrapped onto two lines (a client's re-wrap at 72 columns), the report's status (X.2.1, a disabled mailbox)
    decided for the first mention and the reply's "User unknown" went unread. The words of a later mention say
    more than a status alone."""
    wrapped = b"550 5.2.1 <gone@example.com>: Recipient address rejected: User\nunknown in local recipient table"
    verdict = classify(dma(wrapped))
    assert [(f.address, f.hard, f.rule) for f in verdict.failures] == [("gone@example.com", True, "user-unknown")]
    # Wrapped before the address too, which the bounce's own X-Original-To names (an address of the bounce's
    # header counts only where the report names it as failed): dma's "error delivering your mail to" does. (The
    # returned header's To a local name, as dma's local mail has it: not the address to fall back on.)
    verdict = classify(dma(wrapped, before=b"\n", returned_to=b"gone"))
    assert [(f.address, f.hard) for f in verdict.failures] == [("gone@example.com", True)]


def test_a_bare_refusal_proves_a_dead_address_only_under_an_address_status():
    """RFC 3463 §3.2: X.1.x is about the address; a bare Postfix-style "Recipient address rejected" under
    another class (media X.6.x, other X.0.0) says nothing of whether the mailbox exists."""
    for diagnostic in ("550 5.6.0 <x@example.com>: Recipient address rejected: Media error",
                       "550 5.0.0 <x@example.com>: Recipient address rejected: On hold"):
        (failure,) = classify(dsn([("x@example.com", "failed", diagnostic)])).failures
        assert (failure.hard, failure.rule) == (False, "rfc3463-policy-refusal"), diagnostic


@pytest.mark.parametrize("in_a_report", [True, False])
def test_a_refusal_at_rcpt_under_a_status_that_says_nothing_is_decided_by_what_follows_it(in_a_report):
    """X.0.0 is "other or undefined" (RFC 3463 §3.1), what Postfix writes for a reply without an enhanced
    code: it says no more than no status. Then the words after "Recipient address rejected" decide: none, and
    the refusal of the address at RCPT is all there is; a reason of the server's own that no rule knows
    ("On hold"), and nobody can tell. In a report (Status: 5.0.0) and in Postfix's prose (no status)."""
    def verdict(words: str) -> tuple[bool, str]:
        reply = f"550 <x@example.com>: Recipient address rejected{words} (in reply to RCPT TO command)"
        raw = dsn([("x@example.com", "failed", "5.0.0 " + reply)]) if in_a_report else (
            "From: MAILER-DAEMON@mx.example.net\nTo: news@example.org\nSubject: Undelivered Mail Returned to Sender\n"
            "\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
            f"<x@example.com>: host mx.example.com[192.0.2.1] said: {reply}\n").encode()
        (f,) = classify(raw).failures
        return f.hard, f.rule

    assert verdict(".") == (True, "address-refused")
    assert verdict(": On hold") == (False, "rfc3463-policy-refusal")


@pytest.mark.parametrize("diagnostic, rule, hard", [
    # Yahoo Sender Hub, SMTP error codes: its reply to RCPT TO for an account it lacks.
    ("554 delivery error: dd This user doesn't have a yahoo.com account (gone@yahoo.com) [0] - mta1.mail.example",
     "user-unknown", True),
    # Exim, for a domain whose MX (or SRV) is "." (RFC 7505's null MX).
    ("an MX or SRV record indicated no SMTP service", "domain-takes-no-mail", True),
    # The DragonFly Mail Agent (dma, net.c) when the recipient's domain does not resolve.
    ("DNS lookup failure: host nowhere.example not found", "host-unknown", True),
    # Exim's ACL "verify = sender" when the receiving server cannot route our sender's address.
    ("550 Sender verify failed", "sender-refused", False),
    # Postfix, a refusal of our sender: "(in reply to MAIL FROM command)".
    ("550 5.1.1 <x@example.com>: User unknown (in reply to MAIL FROM command)", "rfc5321-mail-from-stage", False),
    # Postfix smtp(8), a greeting other than 220 (RFC 5321 §3.1: 554 in place of 220); qmail-remote the same.
    ("host mx.example.com[192.0.2.1] refused to talk to me: 554 No SMTP service here",
     "rfc5321-greeting-stage", False),
    ("Connected to 192.0.2.1 but greeting failed. Remote host said: 554 mx.example.com", "rfc5321-greeting-stage",
     False),
    # Exim's smtp transport (transports/smtp.c), when a host's retry time has run past the message's: it gives up.
    ("retry time not reached for any host after a long failure period", "expired", False),
    ("all hosts have been failing for a long time and were last tried after this message arrived", "expired", False),
    # Postfix smtp(8) when nothing listens on the MX's port 25 (ECONNREFUSED): no server spoke, none refused us.
    ("connect to mx.example.com[192.0.2.1]:25: Connection refused", "network", False),
    # qmail-smtpd refusing to relay for a domain it does not serve (err_nogateway).
    ("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "relay-denied", False),
    # Gmail's SMTP errors, 4.7.28 by the domain a DKIM signature or SPF names: a rate limit, not a failed check.
    ("421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your DKIM domain "
     "[example.org 12]. To protect our users from spam, mail sent from your domain has been temporarily rate "
     "limited.", "provider-rate-limit", False),
    ("421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your SPF domain "
     "[example.org 12]. To protect our users from spam, mail sent from your domain has been temporarily rate "
     "limited.", "provider-rate-limit", False),
])
def test_more_rules_from_their_sources(diagnostic, rule, hard):
    (failure,) = classify(dsn([("x@example.com", "failed", diagnostic)], diagnostic_type="")).failures
    assert (failure.rule, failure.hard) == (rule, hard)


@pytest.mark.parametrize("diagnostic, reason, rule", [
    # Exchange Online's NDR for an address its directory lacks (Microsoft Learn, "Fix NDR error 550 5.1.10"):
    # its 5.1.10 is not RFC 7505's null MX, and its words say a dead mailbox
    ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "userunknown",
     "user-unknown"),
    # ... as its NDRs quote it, the address inside: only the resolver's token is left to say so
    ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient x@example.com not found by SMTP address lookup",
     "userunknown", "user-unknown"),
    # RFC 7505 §4.2's own reply: the domain takes no mail
    ("556 5.1.10 Recipient address has null MX", "notaccept", "domain-takes-no-mail"),
])
def test_a_5_1_10_reads_as_its_words_say(diagnostic, reason, rule):
    """The status alone had made Exchange Online's unknown recipient a domain that takes no mail (hard both ways,
    but the reason a person reads was wrong)."""
    raw = dsn([("x@example.com", "failed", "5.1.10")]).replace(b"Diagnostic-Code: smtp; 5.1.10",
                                                               b"Diagnostic-Code: smtp; " + diagnostic.encode())
    (failure,) = classify(raw).failures
    assert (failure.reason, failure.rule, failure.hard) == (reason, rule, True)


def test_an_auto_reply_sent_with_a_null_return_path_is_an_auto_reply():
    """RFC 3834 §3.3: auto-responses are sent with an empty reverse-path, like bounces; that alone does not
    make one a bounce, even when it names addresses."""
    raw = (b"Return-Path: <>\nFrom: Anna <anna@example.com>\nTo: news@example.org\nSubject: Automatic reply: Offer\n"
           b"Auto-Submitted: auto-replied\nMessage-ID: <ar1@example.com>\n\n"
           b"I am away until Monday. For urgent matters write to bob@example.com.\n")
    verdict = classify(raw)
    assert (verdict.kind, verdict.failures) == ("autoreply", [])


def test_a_bounce_subject_alone_does_not_make_the_one_address_mentioned_a_failed_recipient():
    """Anybody may write "delivery failure" in a subject: a newsletter about bounces from an ordinary sender,
    with one address in its text, is mail. The same text from a mailer daemon (RFC 3464 §2: bounces come
    from a null return path) is a report, and its one address the failed one."""
    text = (b"Subject: Why your emails bounce: delivery failure explained\nContent-Type: text/plain\n\n"
            b"Learn why mail is returned: user unknown, mailbox full, 550 5.1.1 errors and more.\n"
            b"Our guide by ana@vendor.example covers each of them.\n")
    newsletter = classify(b"From: Vendor News <news@vendor.example>\nTo: news@example.org\n" + text)
    assert (newsletter.kind, newsletter.failures) == ("mail", [])
    report = classify(b"From: news@vendor.example\nReturn-Path: <>\nTo: news@example.org\n" + text)
    assert report.kind == "bounce" and [f.address for f in report.failures] == ["ana@vendor.example"]


def test_a_bare_mailer_daemon_sender_is_still_a_daemon():
    """Some MTAs write "From: mailer-daemon", a local part alone: it is the daemon all the same."""
    raw = (b"From: mailer-daemon\nTo: news@example.org\nSubject: There was an error sending your mail\n"
           b"Auto-Submitted: auto-replied\n\nThe following address failed:\n\n  gone@example.com\n"
           b"  550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in local recipient table\n")
    verdict = classify(raw)
    assert verdict.kind == "bounce" and [(f.address, f.hard) for f in verdict.failures] == [("gone@example.com", True)]


def test_sendmails_transcript_names_each_failed_recipient_on_a_line_of_its_own():
    """Sendmail writes a failed recipient into the transcript as "NNN <user@host>... reason" (its usrerr format);
    each such line is an entry of its own, and one entry's reason is not another's."""
    raw = (b"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\nTo: news@example.org\n"
           b"Subject: Returned mail: User unknown\n\n"
           b"   ----- Transcript of session follows -----\n"
           b"While talking to mail.example.com:\n>>> RCPT To:<gone@example.com>\n<<< 550 No such user here\n"
           b"550 <gone@example.com>... User unknown\n"
           b"452 <full@example.net>... Mailbox full\n"
           b"\n   ----- Unsent message follows -----\nFrom: news@example.org\nTo: gone@example.com\n\nHi\n")
    verdict = classify(raw)
    assert {(f.address, f.hard, f.reason) for f in verdict.failures} == {
        ("gone@example.com", True, "userunknown"), ("full@example.net", False, "mailboxfull")}


def test_a_delivery_status_part_without_a_usable_address_falls_back_to_the_words():
    """A Final-Recipient of "@host" names nobody; the report's words still may (RFC 3464 §2.3.2 makes the
    field's address required: a broken one is damage, and the prose is read as for any bounce)."""
    raw = dsn([("@mx.example.org", "failed", "5.1.2 Host unknown")], text=(
        "   ----- The following addresses had permanent fatal errors -----\n<gone@nowhere.example>\n"
        "    (reason: 550 Host unknown)"))
    verdict = classify(raw)
    assert [(f.address, f.hard) for f in verdict.failures] == [("gone@nowhere.example", True)]


def test_the_one_pass_literal_search_finds_what_str_find_finds():
    """reasons._scan finds every literal of the rules in one pass; each rule's search over those hits must
    match exactly where its search by str.find does, on every corpus message's text, overlaps included, and
    the rules it asks (those owning a literal found) must be every rule whose words the text holds."""
    from pathlib import Path

    from mailfleet.shared.bounces.reasons import _scan

    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpus"
    texts = [p.read_bytes()[:20_000].decode("utf-8", "replace").lower()
             for name in ("dev", "dev2") for p in sorted((corpus / name).iterdir()) if p.suffix in (".eml", ".txt")]
    assert len(texts) > 700
    texts.append("user unknownuser unknown no such user here nonexistent 宛先不明")  # overlapping and adjacent
    differ = []
    missed = []
    for low in texts:
        scan = _scan(low)
        for rule in RULES:
            alone, at_once = rule.words.search(low), rule.words.search(low, scan.hits)
            if (alone and alone.span()) != (at_once and at_once.span()):
                differ.append((rule.id, low[:60]))
        if [rule.id for rule, _ in scan.matches()] != [rule.id for rule in RULES if rule.words.search(low)]:
            missed.append(low[:60])
    assert not differ, differ[:5]
    assert not missed, missed[:5]


@pytest.mark.parametrize("status, diagnostic, hard", [
    # Postfix access(5) "REJECT User unknown" in a recipient map: access_map_reject_code 554 and X.7.1, behind
    # smtpd's "Recipient address rejected:". The status says policy; the words, their own, cannot overrule it,
    # nor can the command our own MTA names (Postfix's "(in reply to RCPT TO command)"): the map answers RCPT TO
    # as the mailbox lookup does.
    ("5.7.1", "554 5.7.1 <x@example.com>: Recipient address rejected: User unknown", False),
    ("5.7.1", "554 5.7.1 <x@example.com>: Recipient address rejected: User unknown (in reply to RCPT TO command)",
     False),
    # A policy status the reporting MTA gave a reply that had none: the reply's words stand where the report
    # shows they answered RCPT TO, and are doubt where it does not.
    ("5.7.1", "553 Invalid recipient x@example.com (in reply to RCPT TO command)", True),
    ("5.7.1", "553 Invalid recipient x@example.com", False),
])
def test_words_of_a_dead_address_under_a_policy_status_need_the_server_s_own_word(status, diagnostic, hard):
    raw = dsn([("x@example.com", "failed", diagnostic)]).replace(f"Status: {diagnostic[:3]}\n".encode(),
                                                                  f"Status: {status}\n".encode())
    (failure,) = classify(raw).failures
    assert failure.hard is hard
    assert failure.rule == ("user-unknown" if hard else "rfc3463-policy-doubt")


def test_an_address_status_after_a_pipelined_data_is_still_about_the_address():
    """RFC 2920 §3.1: a PIPELINING client sends RCPT TO and DATA together, so sendmail's transcript shows
    ">>> DATA" above the replies to RCPT. An X.1.1 names the address whatever line stands above it; an
    X.0.0 at the same place proves nothing."""
    def transcript(status: str) -> bytes:
        return (b"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\nTo: news@example.org\n"
                b"Subject: Returned mail: see transcript for details\n\n"
                b"   ----- The following addresses had permanent fatal errors -----\n<gone@example.com>\n\n"
                b"   ----- Transcript of session follows -----\n... while talking to mx.example.com.:\n"
                b">>> DATA\n<<< 550 " + status.encode() + b" <gone@example.com>... User unknown\n"
                b"550 " + status.encode() + b" <gone@example.com>... User unknown\n<<< 503 5.0.0 Need RCPT\n")
    (failure,) = classify(transcript("5.1.1")).failures
    assert (failure.address, failure.hard, failure.rule) == ("gone@example.com", True, "user-unknown")
    (failure,) = classify(transcript("5.0.0")).failures
    assert (failure.hard, failure.rule) == (False, "unproven-unknown")


def test_a_quoted_header_line_names_no_recipient():
    """A bounce forwarded inline is quoted line by line with "> " (RFC 3676 §4.5); the returned message's
    header lines keep their meaning under the quote marks, and a "> Message-Id: <...@host>" is nobody."""
    raw = (b"From: Anna <anna@example.org>\nTo: postmaster@example.org\nSubject: Fwd: Returned mail: User unknown\n\n"
           b"Begin forwarded message:\n\n> From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\n"
           b"> Subject: Returned mail: User unknown\n>\n"
           b">    ----- The following addresses had permanent fatal errors -----\n> <gone@example.com>\n"
           b">     (reason: 550 5.1.1 <gone@example.com>... User unknown)\n>\n"
           b"> Received: from mx.example.org by mx.example.com; Thu, 29 Apr 2026 23:45:01 +0900\n"
           b"> Message-Id: <6D736808-04A1-47D3-92BD-44388ABFCCE4@example.org>\n> To: gone@example.com\n")
    verdict = classify(raw)
    assert [(f.address, f.hard) for f in verdict.failures] == [("gone@example.com", True)]


def test_in_a_name_addr_the_angle_address_is_the_mailbox():
    """Exim (moan.c, ERRMESS_BADADDRESS) lists a recipient header it could not parse as "  %s: %s", the text
    and the parser's complaint. In "a@b <c@d>" the mailbox is the angle-addr (RFC 5322 §3.4); what stands
    before it is a display name, however much it looks like an address."""
    raw = (b"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: news@example.org\n"
           b"Subject: Mail failure - malformed recipient address\n\n"
           b"A message that you sent contained one or more recipient addresses that were\nincorrectly constructed:\n\n"
           b"  shown@example.com <meant@example.net>: malformed address: <meant@example.net> may not follow "
           b"shown@example.com\n\nThis address has been ignored. The other addresses in the message were\n"
           b"syntactically valid and have been passed on for an attempt at delivery.\n")
    verdict = classify(raw)
    assert [(f.address, f.hard) for f in verdict.failures] == [("meant@example.net", False)]


def test_interscans_advice_to_check_the_address_is_its_verdict():
    """Trend Micro InterScan MSS writes its own notice, no DSN, no reply quoted: its advice to check the
    address is the only cause it gives, and it is its own judgement of the address."""
    raw = (b"From: postmaster@gw.example.net\nTo: news@example.org\nSubject: Mail could not be delivered\n"
           b"Content-Type: text/plain\n\n"
           b"*************************************************************\n\n"
           b"Message from InterScan Messaging Security Suite\n\n"
           b"Unable to deliver message to <gone@example.net> (and other recipients in the same domain). "
           b"Please check if address is correct.\n\n"
           b"*************************************************************\n")
    (failure,) = classify(raw).failures
    assert (failure.address, failure.hard, failure.rule) == ("gone@example.net", True, "check-the-address")


def test_an_exim_address_no_router_accepts_is_dead_whatever_causes_its_message_guesses_at():
    """Exim's bounce lists each failed address with the reason its router gave; cPanel's dnslookup router gives
    a cannot_route_message naming possible causes, a block among them. Routing failed: the domain is gone."""
    raw = (b"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: news@example.org\n"
           b"Subject: Mail delivery failed: returning message to sender\nAuto-Submitted: auto-replied\n\n"
           b"This message was created automatically by mail delivery software.\n\n"
           b"A message that you sent could not be delivered to one or more of its\n"
           b"recipients. This is a permanent error. The following address(es) failed:\n\n"
           b"  gone@nowhere.example\n"
           b"    The mail server could not deliver mail to gone@nowhere.example.  The account or domain may not "
           b"exist, they may be blacklisted, or missing the proper dns entries.\n")
    (failure,) = classify(raw).failures
    assert (failure.address, failure.hard, failure.about, failure.rule) == (
        "gone@nowhere.example", True, "recipient", "unrouteable-explained")


def test_every_rule_is_found_by_its_literals():
    """A rule with a branch that starts with no literal is searched whole, on every text, by every decision:
    one such rule cost more than a dozen indexed ones. Lead each branch with words (an escaped '.' is one)."""
    assert [rule.id for rule in RULES if rule.words.index is None] == []



def _interscan_notice(reason: str) -> bytes:
    """Trend Micro InterScan E-Mail VirusWall's notice of mail it could not deliver, in the frame of the one in
    our corpus (dev/dumbass_01.txt): its banner, "The following mail could not be delivered.", "Reason:", and
    the message returned, which alone names the recipient; sent, as a bounce is, from a null return path."""
    return ("Return-Path: <>\nFrom: inetgw1@mx.example.com\nTo: <news@example.org>\n"
            "Subject: Mail could not be delivered\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed;\n boundary=\"------------InterScan_NT_MIME_Boundary\"\n\n"
            "--------------InterScan_NT_MIME_Boundary\nContent-type: text/plain\n\n"
            "****** Message from InterScan E-Mail VirusWall NT ******\n\nThe following mail could not be delivered.\n"
            f"Reason:  {reason}\n\n*****************     End of message     ***************\n\n"
            "--------------InterScan_NT_MIME_Boundary\nContent-type: message/rfc822\n\n"
            "From: news@example.org\nTo: x@example.com\nSubject: Our offer\n\nBuy now\n"
            "--------------InterScan_NT_MIME_Boundary--\n").encode()


@pytest.mark.parametrize("reason, expected", [
    ("550 5.1.1 User unknown", ("userunknown", True)),
    # its own words for a message it gave up on: no reason we know, so soft
    ("Exceeded Maximum Delivery Attempts.  Verify that the recipient address is correct.", ("undefined", False)),
    ("554 5.7.1 Virus found: W32/Example", ("virusdetected", False)),
])
def test_a_scanner_s_name_in_its_banner_is_no_virus_found(reason, expected):
    """InterScan VirusWall heads every notice with its name: a dead mailbox under it had read as a virus (soft,
    about the message), and its contact stayed on the list."""
    (failure,) = classify(_interscan_notice(reason)).failures
    assert (failure.address, failure.reason, failure.hard) == ("x@example.com", *expected)


@pytest.mark.parametrize("diagnostic, reason", [
    # Barracuda's reply names the filter ("our Spam & Virus Firewall") beside what it found, here bulk mail
    ("550 5.7.1 Message content rejected, UBE, id=1234-02-5 Your message was blocked by our Spam & Virus "
     "Firewall", "spamdetected"),
    # ... and a finding is still one
    ("550 5.7.1 Virus found: Eicar-Test-Signature", "virusdetected"),
    ("554 5.7.0 Message contains a virus (W32/Example)", "virusdetected"),
    ("550 5.7.1 Message rejected: infected with W32/Example", "virusdetected"),
])
def test_a_filter_s_name_in_its_reply_is_not_what_it_found(diagnostic, reason):
    (failure,) = classify(dsn([("x@example.com", "failed", diagnostic)], diagnostic_type="")).failures
    assert failure.reason == reason


@pytest.mark.parametrize("footer", [
    # MailScanner's default signature (its reports' inline.sig.txt), added to mail that passes through it
    "-- \nThis message has been scanned for viruses and\ndangerous content by MailScanner, and is\nbelieved to be clean.",
    # AVG's line under mail it checked
    "No virus found in this message.\nChecked by AVG - www.avg.com",
])
def test_a_scanner_s_footer_does_not_outweigh_the_reply_of_a_report_that_names_nobody(footer):
    """A report that names nobody (rule returned-recipient) gives its reason somewhere in its prose; the first
    words of any rule there had decided, and a footer's "scanned for viruses" came before the reply's
    "User unknown" in the rules' order. The paragraphs that hold a reply code or a status are read first."""
    (failure,) = classify(_interscan_notice(f"550 5.1.1 User unknown\n\n{footer}")).failures
    assert (failure.rule, failure.reason, failure.hard) == ("user-unknown", "userunknown", True)


@pytest.mark.parametrize("reply, stage, rule, hard", [
    # Coremail's support pages list the replies its users get for an address that does not exist
    ("550 unavailable mail user", "RCPT TO", "user-unknown", True),
    ("550 #2175041 unavailable mail user", "RCPT TO", "user-unknown", True),
    ("550 user not known", "RCPT TO", "user-unknown", True),
    ("550 local server don't exists that user", "RCPT TO", "user-unknown", True),
    ("550 recipient does not have an account", "RCPT TO", "user-unknown", True),
    ("550 not user of this server", "RCPT TO", "user-unknown", True),
    # ... but not a server's refusal of a client it does not serve, which is about us
    ("553 you are not a user of this server", "RCPT TO", "no-reason", False),
    ("550 This account has been temporarily suspended", "RCPT TO", "suspended", False),
    # ... and Chinese providers' replies as a mail host's page lists them
    ("550 abcd:user not exist", "RCPT TO", "user-unknown", True),
    ("550 Local User [x@example.com] not found.", "RCPT TO", "user-unknown", True),
    ("550 RC:LD The email account that you tried to reach does no exists.", "RCPT TO", "user-unknown", True),
    # Yandex, "Report on non-delivery to Yandex": a full mailbox, a blocked account (the recipient's, not a
    # policy about us), and no recipient left at DATA (a reply to DATA proves no dead mailbox)
    ("552 Mailbox size exceeded", "RCPT TO", "mailbox-full", False),
    ("552 Account is full", "RCPT TO", "mailbox-full", False),
    ("550 5.7.1 Policy rejection on the target address", "RCPT TO", "suspended", False),
    ("554 5.5.1 No correct recipients", "end of DATA", "unproven-unknown", False),
    # Yahoo Sender Hub's SMTP error codes: [TSS04] asks us to slow down, [TSS09] blocks the IP for good
    ("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - "
     "4.16.55.1; see https://senders.yahooinc.com/error-codes", "MAIL FROM", "provider-rate-limit", False),
    ("553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed. See "
     "https://senders.yahooinc.com/error-codes", "MAIL FROM", "blocklist", False),
    # Mimecast's SMTP error codes
    ("451 Internal resources are temporarily unavailable - https://community.mimecast.com/docs/DOC-1369#451",
     "RCPT TO", "system", False),
])
def test_providers_documented_replies(reply, stage, rule, hard):
    diagnostic = f"{reply} (in reply to {stage} command)"
    (failure,) = classify(dsn([("x@example.com", "failed", diagnostic)])).failures
    assert (failure.rule, failure.hard) == (rule, hard)


@pytest.mark.parametrize("reply", [
    # Exchange Online's NDRs (Microsoft Learn): a group, or a mailbox, that takes mail only from its own
    # organization; and a recipient whose forward outside it the organization blocks
    "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; Delivery restriction check failed",
    "550 5.7.134 RESOLVER.RST.SenderNotAuthenticatedForMailbox; authentication required",
    "550 5.7.520 Access denied, Your organization does not allow external forwarding. Please contact your "
    "administrator for further assistance. AS(7555)",
])
def test_a_recipient_s_own_restriction_is_no_verdict_on_our_sending(reply):
    """These refuse us for the recipient's settings, not our reputation or authentication: read as a policy or a
    block list, they raised the account's health as if our sending were at fault."""
    (failure,) = classify(dsn([("x@example.com", "failed", reply + " (in reply to RCPT TO command)")])).failures
    assert (failure.rule, failure.about, failure.hard) == ("refused-by-recipient", "recipient", False)
