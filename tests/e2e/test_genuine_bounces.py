"""Bounces that real MTAs write, read right: Exim 4.96, Postfix 3.7, sendmail 8.17 and OpenSMTPD 6.8 relay a
message to a next hop that refuses it, and the bounce each writes is classified.

Every word of each bounce is the MTA's (its template, its delivery-status part, its account of the SMTP
dialogue, its folding of a long reply); only the next hop's reply is the test's, each written from the
server, filter or documentation named beside it (tests/support/replies.py holds 101 more, each with its
verdict). So the classifier is held to mail as four MTAs, three of them the most common, really write it, for
the failures a sender meets most: a dead address, a full mailbox, a block list, an authentication check, a
refused sender, content and size; and to their own failures (no route, a full local mailbox, servers that will
not talk), their delay warnings, and Dovecot's own LMTP refusals as the last hop. (Not sendmail or OpenSMTPD
with a UTF-8 address: Debian builds sendmail without SMTPUTF8, USE_EAI, and OpenSMTPD 6.8 does not offer it.
Not OpenSMTPD with servers that will not talk: each is a temporary failure, which it returns only when its
queue lifetime is over, and then without a word on it.)
"""

from __future__ import annotations

import contextlib
import functools
import smtplib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mailfleet.shared.bounces import classify
from mailfleet.shared.bounces.senders import named_check

from ..support.daemons import scratch_dir
from ..support.mailservers import Greeter, Silent
from ..support.mtas import (LOCAL_DOMAIN, RECIPIENT_DOMAIN, SENDER_DOMAIN, UNROUTABLE_DOMAIN, Capture,
                            DovecotLmtp, Exim, NextHop, OpenSMTPD, PostfixRelay, Sendmail, smtp_server)
from ..support.replies import DOCUMENTED
from ..support.servers import free_port


@dataclass(frozen=True)
class Case:
    """One message and what the next hop answers to it. The message comes from `name`@SENDER_DOMAIN;
    `replies` maps each recipient's local part to its RCPT reply; `mail` and `data` answer MAIL FROM and the
    end of DATA for the whole message. `expect`: each failed recipient's (hard, whom it is about, reason)."""

    name: str
    source: str
    expect: dict[str, tuple[bool, str, str]]
    replies: dict[str, str] | None = None
    mail: str = ""
    data: str = ""
    accepted: tuple[str, ...] = ()  # recipients the next hop takes: not in the bounce
    check: str = ""  # the block list or check a sender-side refusal names

    @property
    def sender(self) -> str:
        return f"{self.name}@{SENDER_DOMAIN}"

    @property
    def answers(self) -> set[str]:
        """Every reply the next hop gives to it."""
        return {*(self.replies or {}).values(), self.mail, self.data} - {""}

    @property
    def refused_for_good(self) -> bool:
        """Every reply the next hop gives to it is permanent (5xx)."""
        return all(reply.startswith("5") for reply in self.answers)

    def recipients(self) -> list[str]:
        return [*self.expect, *(f"{local}@{RECIPIENT_DOMAIN}" for local in self.accepted)]


def at(local: str) -> str:
    return f"{local}@{RECIPIENT_DOMAIN}"


def gmail(code: str, status: str, *lines: str) -> str:
    """A multi-line reply as Gmail words it: every line but the last `code-status`."""
    return "\r\n".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{status} {line}" for i, line in enumerate(lines))


POSTFIX_UNKNOWN = "550 5.1.1 <{}>: Recipient address rejected: User unknown in local recipient table"
GMAIL_FULL = gmail("452", "4.2.2", "The email account that you tried to reach is over quota. Please direct",
                   "the recipient to", " https://support.google.com/mail/?p=OverQuotaTemp")

CASES = [
    Case("postfix-unknown", "Postfix smtpd(8): local_recipient_maps, unknown_local_recipient_reject_code 550",
         {at("gone"): (True, "recipient", "userunknown")}, replies={"gone": POSTFIX_UNKNOWN.format(at("gone"))}),
    Case("gmail-unknown", "Gmail's SMTP error reference, 550 5.1.1 NoSuchUser",
         {at("nobody"): (True, "recipient", "userunknown")},
         replies={"nobody": gmail("550", "5.1.1",
                                  "The email account that you tried to reach does not exist. Please try",
                                  "double-checking the recipient's email address for typos or",
                                  "unnecessary spaces. Learn more at",
                                  " https://support.google.com/mail/?p=NoSuchUser")}),
    Case("exchange-unknown", "Microsoft Learn, Exchange Online NDR 5.1.10 (RecipientNotFound)",
         {at("left"): (True, "recipient", "userunknown")},
         replies={"left": "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}),
    Case("sendmail-unknown", "sendmail recipient.c: usrerr(\"550 5.1.1 %s... User unknown\")",
         {at("departed"): (True, "recipient", "userunknown")},
         replies={"departed": f"550 5.1.1 <{at('departed')}>... User unknown"}),
    Case("yahoo-unknown", "Yahoo Sender Hub's SMTP error codes: '554 delivery error: dd This user doesn't have a "
                          "yahoo.com account'",
         {at("never"): (True, "recipient", "userunknown")},
         replies={"never": f"554 delivery error: dd This user doesn't have a yahoo.com account ({at('never')}) "
                           f"[0] - mta1001.mail.ne1.yahoo.com"}),
    Case("busy", "RFC 5321 §4.2.2: '450 Requested mail action not taken: mailbox unavailable' (busy, or blocked "
                 "for now)", {at("busy-box"): (False, "recipient", "userunknown")},
         replies={"busy-box": "450 Requested mail action not taken: mailbox unavailable"}),
    Case("gmail-full", "Gmail's SMTP error reference, 452 4.2.2 OverQuotaTemp",
         {at("full"): (False, "recipient", "mailboxfull")}, replies={"full": GMAIL_FULL}),
    Case("spamhaus", "Postfix smtpd(8) reject_rbl_client: 'Service unavailable; Client host [%s] blocked using %s'",
         {at("reader"): (False, "sender", "blocked")}, check="Spamhaus",
         replies={"reader": "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; "
                            "https://www.spamhaus.org/query/ip/127.0.0.1"}),
    Case("relay-denied", "Postfix smtpd(8) reject_unauth_destination: 'Relay access denied'",
         {at("elsewhere"): (False, "sender", "norelaying")},
         replies={"elsewhere": f"554 5.7.1 <{at('elsewhere')}>: Relay access denied"}),
    Case("qmail-rcpthosts", "qmail-smtpd.c err_nogateway: 'sorry, that domain isn't in my list of allowed "
                            "rcpthosts (#5.7.1)'",
         {at("outside"): (False, "sender", "norelaying")},
         replies={"outside": "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"}),
    Case("tls-required", "Gmail's SMTP error reference: '421 4.7.0 TLS required for RCPT domain, closing connection.'",
         {at("private"): (False, "sender", "securityerror")},
         replies={"private": "421 4.7.0 TLS required for RCPT domain, closing connection."}),
    Case("spf-fail", "postfix-policyd-spf-python: 'Message rejected due to: SPF fail - not authorized'",
         {at("strict"): (False, "sender", "authfailure")},
         replies={"strict": f"550 5.7.23 <{at('strict')}>: Recipient address rejected: Message rejected due to: "
                            f"SPF fail - not authorized. Please see http://www.openspf.net/Why?s=mfrom;"
                            f"id=spf-fail@{SENDER_DOMAIN};ip=127.0.0.1;r=<UNKNOWN>"}),
    Case("greylisted", "postgrey's greylist_text: 'Greylisted, see http://postgrey.schweikert.ch/help/%r.html'",
         {at("careful"): (False, "sender", "toomanyconn")},
         replies={"careful": f"450 4.2.0 <{at('careful')}>: Recipient address rejected: Greylisted, see "
                             f"http://postgrey.schweikert.ch/help/{RECIPIENT_DOMAIN}.html"}),
    Case("rate-limited", "Gmail's SMTP error reference, 421 4.7.28 (an unusual rate of unsolicited mail)",
         {at("busy"): (False, "sender", "toomanyconn")},
         replies={"busy": gmail("421", "4.7.28", "[127.0.0.1] Our system has detected an unusual rate of",
                                "unsolicited mail originating from your IP address. To protect our",
                                "users from spam, mail sent from your IP address has been temporarily",
                                "rate limited.")}),
    Case("sender-denied", "Postfix access(5) REJECT on the sender: access_map_reject_code 554, 'Access denied'",
         {at("one"): (False, "sender", "rejected"), at("two"): (False, "sender", "rejected")},
         mail=f"554 5.7.1 <sender-denied@{SENDER_DOMAIN}>: Sender address rejected: Access denied"),
    Case("sender-quota", "Gmail's SMTP error reference: '550 5.7.1 Email quota exceeded.' (the sending account's)",
         {at("three"): (False, "sender", "rejected")}, mail="550 5.7.1 Email quota exceeded."),
    Case("dmarc", "Gmail's SMTP error reference, 550 5.7.26 DmarcRejection",
         {at("checked"): (False, "sender", "authfailure")},
         data=gmail("550", "5.7.26", f"Unauthenticated email from {SENDER_DOMAIN} is not accepted due to domain's",
                    f"DMARC policy. Please contact the administrator of {SENDER_DOMAIN} domain if",
                    "this was a legitimate mail. To learn about the DMARC initiative, go to",
                    " https://support.google.com/mail/?p=DmarcRejection")),
    Case("too-big", "Postfix cleanup(8) message_size_limit: '552 5.3.4 Message size exceeds fixed limit'",
         {at("small"): (False, "message", "exceedlimit")}, data="552 5.3.4 Message size exceeds fixed limit"),
    Case("malformed", "Gmail's SMTP error reference: '554 5.6.0 Mail message is malformed. Not accepted.'",
         {at("strict2"): (False, "message", "contenterror")},
         data="554 5.6.0 Mail message is malformed. Not accepted."),
    Case("spam", "rspamd's reject_message default: 'Spam message rejected'",
         {at("filtered"): (False, "message", "spamdetected"), at("also"): (False, "message", "spamdetected")},
         data="554 5.7.1 Spam message rejected"),
    Case("mixed", "Postfix smtpd(8)'s unknown user and Dovecot LMTP's quota_exceeded_message, in one message",
         {at("gone2"): (True, "recipient", "userunknown"), at("full2"): (False, "recipient", "mailboxfull")},
         accepted=("here",),
         replies={"gone2": POSTFIX_UNKNOWN.format(at("gone2")),
                  "full2": f"552 5.2.2 <{at('full2')}> Quota exceeded (mailbox for user is full)"}),
]
# Exim's own failures, no next hop asked: "Unrouteable address", for a domain no router takes (its dnslookup
# router's answer for a domain with no MX and no address record), and appendfile's full mailbox.
EXIM_OWN = [
    Case("unroutable", "Exim: 'Unrouteable address'",
         {f"lost@{UNROUTABLE_DOMAIN}": (True, "recipient", "hostunknown")}),
    Case("exim-quota", "Exim appendfile, quota: 'mailbox is full' (with 'retry timeout exceeded')",
         {f"small@{LOCAL_DOMAIN}": (False, "recipient", "mailboxfull")}),
]


def documented(i: int, source: str, stage: str, reply: str, hard: bool, about: str) -> Case:
    """A message to one recipient that the next hop refuses with a documented reply at its stage. (Its
    expected reason is left empty: Exim names its own give-up after a 4xx, "retry timeout exceeded", where
    Postfix leaves the server's words to speak.)"""
    name = f"doc{i}"
    reply = reply.replace("{rcpt}", at(name)).replace("{local}", name).replace("{sender}", f"{name}@{SENDER_DOMAIN}")
    stages = {"rcpt": {"replies": {name: reply}}, "mail": {"mail": reply}, "data": {"data": reply}}
    return Case(name, source, {at(name): (hard, about, "")}, **stages[stage])  # type: ignore[arg-type]


DOCUMENTED_CASES = [documented(i, *entry) for i, entry in enumerate(DOCUMENTED)]


def message(case: Case) -> bytes:
    return (f"From: News <{case.sender}>\nTo: {', '.join(case.recipients())}\nSubject: Our offer\n"
            f"Message-ID: <{case.name}@{SENDER_DOMAIN}>\n\nBuy now.\n").encode()


@contextlib.contextmanager
def relayed(mta_class, next_hop: int, smtputf8: bool = False) -> Iterator[tuple[Any, Capture]]:
    """An MTA (`mta_class(root, next hop's port, capture's port)`) started in a scratch directory, beside a
    capture server for its bounces (offering SMTPUTF8 when asked); all stopped and removed afterwards."""
    scratch = scratch_dir("mfm")
    root = next(scratch)
    capture = Capture()
    capture_server = smtp_server(capture, smtputf8=smtputf8)
    try:
        mta = mta_class(root, next_hop, capture_server.port).start()
        try:
            yield mta, capture
        finally:
            mta.stop()
    finally:
        capture_server.stop()
        next(scratch, None)  # removes the directory


def send(mta: Any, case: Case, padding: bytes = b"") -> None:
    """Submit the case's message (and `padding` after it); if the MTA will not take it, its log says why."""
    try:
        mta.send(case.sender, case.recipients(), message(case) + padding)
    except (OSError, smtplib.SMTPException) as e:
        port = getattr(mta, "port", None)
        try:  # iproute2's ss, where the machine has it
            listening = subprocess.run(["ss", "-ltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
        except OSError as missing:
            listening = repr(missing)
        raise RuntimeError(f"the MTA did not take the message: {e!r}; who listens on its port {port}:\n"
                           f"{listening}\nits log:\n{mta.log()}") from e


def returned(mta: Any, capture: Capture, case: Case) -> bytes:
    """The bounce of the case's message, once it is back (the MTA's log said, if it never comes)."""
    try:
        return capture.wait(case.sender)
    except TimeoutError as e:
        raise TimeoutError(f"{e}; the MTA's log:\n{mta.log()}") from None


def bounce_of(mta_class, next_hop: int, case: Case, padding: bytes = b"", smtputf8: bool = False) -> bytes:
    """Send the case's message (and `padding` after it) through a fresh MTA to the next hop on that port."""
    with relayed(mta_class, next_hop, smtputf8) as (mta, capture):
        send(mta, case, padding)
        return returned(mta, capture, case)


def _bounces(mta_class, cases: list[Case]) -> Iterator[dict[str, bytes]]:
    """Send each case's message through the MTA to a next hop that answers as the cases say; yield each
    case's bounce by its name."""
    hop = NextHop(rcpt={local: reply for case in cases for local, reply in (case.replies or {}).items()},
                  mail={case.name: case.mail for case in cases if case.mail},
                  data={case.name: case.data for case in cases if case.data})
    hop_server = smtp_server(hop)
    try:
        with relayed(mta_class, hop_server.port) as (mta, capture):
            for case in cases:
                send(mta, case)
            yield {case.name: returned(mta, capture, case) for case in cases}
    finally:
        hop_server.stop()


def bounced(mta_class, cases: list[Case]) -> dict[str, bytes]:
    """_bounces run to its end: each case's bounce by its name, everything stopped."""
    bounces = _bounces(mta_class, cases)
    try:
        return next(bounces)
    finally:
        next(bounces, None)


@pytest.fixture(scope="module")
def exim_bounces():
    yield from _bounces(Exim, [*CASES, *EXIM_OWN, *DOCUMENTED_CASES])


@pytest.fixture(scope="module")
def postfix_bounces():
    yield from _bounces(PostfixRelay, [*CASES, *DOCUMENTED_CASES])


@pytest.fixture(scope="module")
def sendmail_bounces():
    yield from _bounces(Sendmail, [*CASES, *DOCUMENTED_CASES])


# OpenSMTPD returns a message refused for now only once its queue lifetime is over, one message at a time
# (tests/support/mtas.py), and then says nothing of the refusal (test_opensmtpd_s_expiry_notice_marks_nobody):
# the refusals for good here. It names neither the command a reply answered nor, in its delivery-status part,
# the reply (Status 5.0.0 for all): a reply whose meaning RFC 5321 ties to the command it answers reads as its
# words alone say, about the recipient and soft.
OPENSMTPD_CASES = [case for case in [*CASES, *DOCUMENTED_CASES] if case.refused_for_good]
WORDS_ALONE = {  # such a reply -> the reason its words give
    # dead as the answer to RCPT TO alone (a "user unknown" at an unknown stage may be a filter's, RFC 5321 §3.3)
    "550 Requested action not taken: mailbox unavailable": "userunknown",
    "550 Benutzer nicht bekannt/User unknown": "userunknown",
    "550 MAILBOX NOT FOUND": "userunknown",
    "550 5.7.1 Email quota exceeded.": "mailboxfull",  # Gmail's answer to MAIL FROM: the sending account's quota
}


def as_opensmtpd_says(case: Case) -> dict[str, tuple[bool, str, str]]:
    """The case's expected verdicts, read from the words alone where the stage decided them."""
    said = WORDS_ALONE.keys() & case.answers
    if not said:
        return case.expect
    (reply,) = said
    return {address: (False, "recipient", reason and WORDS_ALONE[reply])
            for address, (_, _, reason) in case.expect.items()}


@pytest.fixture(scope="module")
def opensmtpd_bounces():
    # (They come back in bursts over some 45 s: OpenSMTPD takes a route down for a while once ten messages in
    # a row were refused on one connection, mta_session.c MAX_TRYBEFOREDISABLE.)
    yield from _bounces(OpenSMTPD, OPENSMTPD_CASES)


def check(bounce: bytes, case: Case, expect: dict[str, tuple[bool, str, str]] | None = None) -> None:
    """The bounce names exactly the refused recipients, each with its verdict (the case's unless `expect`
    says), and so it does with its lines ended as the wire has them (CRLF) and as classic Mac OS did (bare
    CR)."""
    verdict = classify(bounce)
    assert verdict.kind == "bounce", bounce.decode(errors="replace")
    found = {f.address: (f.hard, f.about, f.reason) for f in verdict.failures}
    assert found == (case.expect if expect is None else expect), "\n".join(
        f"{f.address}: {f.reason} by {f.rule}: {f.evidence}" for f in verdict.failures)
    if case.check:
        assert {named_check(f.diagnostic) for f in verdict.failures} == {case.check}
    lines = bounce.replace(b"\r\n", b"\n").split(b"\n")
    for ending in (b"\r\n", b"\r"):
        again = classify(ending.join(lines))
        assert [f.to_json() for f in again.failures] == [f.to_json() for f in verdict.failures], ending


@pytest.mark.parametrize("case", [*CASES, *EXIM_OWN], ids=lambda c: c.name)
def test_exim_bounces_read_as_what_the_next_hop_said(exim_bounces, case):
    check(exim_bounces[case.name], case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_postfix_bounces_read_as_what_the_next_hop_said(postfix_bounces, case):
    check(postfix_bounces[case.name], case)


# (sendmail's own "Host unknown" is left out: it asks the machine's DNS, through the C library, whatever its
# service switch says, and a machine without a resolver would answer "try again".)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_sendmail_bounces_read_as_what_the_next_hop_said(sendmail_bounces, case):
    check(sendmail_bounces[case.name], case)


@pytest.mark.parametrize("case", [case for case in OPENSMTPD_CASES if case in CASES], ids=lambda c: c.name)
def test_opensmtpd_bounces_read_as_what_the_next_hop_said(opensmtpd_bounces, case):
    check(opensmtpd_bounces[case.name], case, as_opensmtpd_says(case))


@pytest.mark.parametrize("case", DOCUMENTED_CASES, ids=lambda c: f"{c.name}-{c.source}")
def test_the_same_refusal_reads_the_same_whichever_mta_reports_it(exim_bounces, postfix_bounces, sendmail_bounces,
                                                                  opensmtpd_bounces, case):
    """Each documented refusal (tests/support/replies.py), bounced by Exim, Postfix and sendmail: three
    templates, three delivery-status dialects (on giving up after a 4xx, Exim's own Status 5.0.0, Postfix's
    4.x.x, sendmail's 4.4.7; "after RCPT TO:", "(in reply to RCPT TO command)", sendmail's transcript), one
    verdict, the one the list expects: the same recipient, as hard, about the same party. And by OpenSMTPD,
    a fourth template and a delivery-status part that says nothing (Status 5.0.0, no Diagnostic-Code), the
    refusals for good: the same, but where only the command a reply answered could tell (WORDS_ALONE)."""
    def read(bounce: bytes) -> tuple[str, dict[str, tuple[bool, str, str]]]:
        verdict = classify(bounce)
        return verdict.kind, {f.address: (f.hard, f.about, "") for f in verdict.failures}

    exim, postfix, sendmail = (read(bounces[case.name]) for bounces in (exim_bounces, postfix_bounces,
                                                                        sendmail_bounces))
    assert exim == postfix == sendmail
    assert exim == ("bounce", case.expect)
    if case.refused_for_good:
        expect = {address: (hard, about, "") for address, (hard, about, _) in as_opensmtpd_says(case).items()}
        assert read(opensmtpd_bounces[case.name]) == ("bounce", expect)


# Postfix: retry for a day, warn after a second (postconf(5) delay_warning_time), a queue run every second.
POSTFIX_WARNS = """maximal_queue_lifetime = 1d
bounce_queue_lifetime = 1d
delay_warning_time = 1s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 1s
"""
DELAYED = Case("delayed", "postgrey's greylisting, and Postfix smtpd's unknown_local_recipient_reject_code = 450 "
                          "(postconf(5): 'while testing')",
               {at("grey"): (False, "recipient", "delayed"), at("maybe"): (False, "recipient", "delayed")},
               replies={"grey": f"450 4.2.0 <{at('grey')}>: Recipient address rejected: Greylisted, see "
                                f"http://postgrey.schweikert.ch/help/{RECIPIENT_DOMAIN}.html",
                        "maybe": POSTFIX_UNKNOWN.format(at("maybe")).replace("550 5.1.1", "450 4.1.1")})


@pytest.mark.parametrize("mta", [functools.partial(Exim, warn_after="1s"),
                                 functools.partial(PostfixRelay, settings=POSTFIX_WARNS),
                                 functools.partial(Sendmail, warn_after="1s"),
                                 functools.partial(OpenSMTPD, warn_after="1s")],
                         ids=["exim", "postfix", "sendmail", "opensmtpd"])
def test_a_delay_warning_is_no_bounce_and_marks_nobody(mta):
    """Exim's 'Warning: message ... delayed' and Postfix's 'Delayed Mail (still being retried)', as each writes
    them while it retries (sendmail's and OpenSMTPD's too): not a bounce, nobody hard, not even the recipient
    the server calls unknown for now."""
    warning = bounced(mta, [DELAYED])[DELAYED.name]
    verdict = classify(warning)
    assert verdict.kind == "delayed"
    assert {f.address: (f.hard, f.about, f.reason) for f in verdict.failures} == DELAYED.expect


def test_opensmtpd_s_expiry_notice_marks_nobody():
    """OpenSMTPD 6.8 returns a message refused for now once its queue lifetime is over, in the words of its
    delay warning ("A message is delayed for more than 0 seconds ... only a temporary failure report"), the
    server's reply replaced by "Envelope expired", and Action: delayed with Status 4.4.7 (RFC 3463: delivery
    time expired) in its delivery-status part. Nothing in it says whether the mailbox exists: a delay, soft,
    about the recipient, whatever the server said (here, that the mailbox was full)."""
    case = Case("expired", "Gmail's SMTP error reference, 452 4.2.2 OverQuotaTemp",
                {at("full"): (False, "recipient", "delayed")}, replies={"full": GMAIL_FULL})
    # A ttl under the first retry's 5 s: the message is found expired at that retry, as with 1 s, and its
    # notice, which the ttl holds for too, has 4 s to be delivered (with 1 s it expired unsent on a busy machine).
    notice = bounced(functools.partial(OpenSMTPD, ttl="4s"), [case])[case.name]
    assert b"Envelope expired" in notice
    verdict = classify(notice)
    assert verdict.kind == "delayed"
    assert {f.address: (f.hard, f.about, f.reason) for f in verdict.failures} == case.expect


# (Not OpenSMTPD 6.8: it counts the replies to DATA wrong once a recipient was refused at RCPT TO, drops the
# connection, "Remote host sent too much data", and retries the delivered recipient.)
@pytest.mark.parametrize("mta", [functools.partial(Exim, lmtp=True), functools.partial(PostfixRelay, lmtp=True),
                                 functools.partial(Sendmail, lmtp=True)], ids=["exim", "postfix", "sendmail"])
def test_a_bounce_of_dovecot_s_own_refusals_over_lmtp(mta):
    """The last hop is real too: Dovecot's LMTP server (RFC 2033) refuses an unknown user at RCPT TO ("User
    doesn't exist") and a mailbox over its quota after DATA ("Quota exceeded (mailbox for user is full)"), one
    reply per recipient, in its own words; the MTA's bounce names exactly those two, the one hard."""
    scratch = scratch_dir("mfl")
    dovecot = DovecotLmtp(next(scratch), RECIPIENT_DOMAIN, {"present": "", "full": "1B"}).start()
    case = Case("lmtp", "Dovecot LMTP", {at("absent"): (True, "recipient", "userunknown"),
                                         at("full"): (False, "recipient", "mailboxfull")}, accepted=("present",))
    try:
        bounce = bounce_of(mta, dovecot.port, case)
    finally:
        dovecot.stop()
        next(scratch, None)
    check(bounce, case)


@pytest.mark.parametrize("mta", [Exim, PostfixRelay, Sendmail], ids=["exim", "postfix", "sendmail"])
def test_servers_that_will_not_talk_are_the_sending_host_s_or_nobody_s_fault(mta):
    """Failures before any recipient is named, as each MTA reports them: a greeting of "554 No SMTP service
    here" (RFC 5321 §3.1: a refusal of the connection, in practice of the sending host) is about the sender;
    a "421 Service not available" greeting (RFC 5321 §4.2.3), a connection dropped or refused, a server that
    never answers, are the receiving side's passing trouble: soft, nobody marked faulty."""
    refusing, busy = Greeter("554 No SMTP service here"), Greeter("421 4.3.2 Service not available, closing "
                                                                   "transmission channel")
    dropping, silent = Greeter(""), Silent()
    routes = {"refusing.test": refusing.port, "busy.test": busy.port, "dropping.test": dropping.port,
              "silent.test": silent.port, "nothing.test": free_port()}  # nothing listens there
    expect = {"refusing": "sender", "busy": "recipient", "dropping": "recipient", "silent": "recipient",
              "nothing": "recipient"}
    cases = [Case(name, "", {f"x@{name}.test": (False, about, "")}) for name, about in expect.items()]
    try:
        found = bounced(functools.partial(mta, routes=routes), cases)
    finally:
        for listener in (refusing, busy, dropping, silent):
            listener.close()
    for case in cases:
        verdict = classify(found[case.name])
        assert {f.address: (f.hard, f.about, "") for f in verdict.failures} == case.expect, case.name


@pytest.mark.parametrize("mta", [functools.partial(PostfixRelay, settings="smtputf8_enable = yes"), Exim],
                         ids=["postfix", "exim"])
def test_a_utf8_address_and_a_64_character_local_part_come_back_whole(mta):
    """RFC 6531/6533: a message to a UTF-8 address, relayed with SMTPUTF8 to a server that offers it and refused
    there. Postfix returns a message/global-delivery-status part ("Final-Recipient: utf-8; ..."), Exim a
    delivery-status part with the address as it is; a local part of 64 characters (RFC 5321's limit) beside
    it. Both come back whole, each hard, and the server's Japanese words with them."""
    recipients = [at("a-very-long-local-part-that-goes-on-and-on-to-sixty-four-chars-1"),
                  at("пользователь-ünïcödé")]
    assert len(recipients[0].partition("@")[0]) == 64
    hop = NextHop(rcpt={address.partition("@")[0].lower(): POSTFIX_UNKNOWN.format(address) + " (ユーザー不明)"
                        for address in recipients})
    hop_server = smtp_server(hop, smtputf8=True)
    case = Case("utf8", "Postfix smtpd(8)", {address: (True, "recipient", "userunknown") for address in recipients})
    try:
        bounce = bounce_of(mta, hop_server.port, case, smtputf8=True)
    finally:
        hop_server.stop()
    if getattr(mta, "func", mta) is PostfixRelay:
        assert b"Content-Type: message/global-delivery-status" in bounce
    verdict = classify(bounce)
    assert verdict.rule == "rfc3464-delivery-status", "read from the report's fields, not its prose"
    # the server's words as it wrote them (Exim quotes them octal-escaped: \\320\\277...)
    diagnostics = {f.address: f.diagnostic for f in verdict.failures}
    assert f"<{recipients[1]}>: Recipient address rejected" in diagnostics[recipients[1]]
    assert all("(ユーザー不明)" in diagnostic for diagnostic in diagnostics.values())
    check(bounce, case)


def test_dovecot_s_sieve_vacation_is_an_auto_reply_and_its_reject_the_recipient_s_own_filter():
    """Dovecot's Sieve (Pigeonhole) at delivery over LMTP, as its users write scripts: a vacation (RFC 5230)
    answers with an RFC 3834 auto-reply, which is no bounce and names nobody; a reject (RFC 5429) answers
    with an MDN, "Your message to <...> was automatically rejected: ...", which is the recipient's own
    filter: soft, about the recipient, never a dead address."""
    scratch = scratch_dir("mfs")
    root = next(scratch)
    capture = Capture()
    capture_server = smtp_server(capture)
    dovecot = DovecotLmtp(root, RECIPIENT_DOMAIN, {"away": "", "picky": ""}, submission=capture_server.port, sieve={
        "away": 'require "vacation";\nvacation :days 1 :subject "Out of office" "I am away until Monday.";\n',
        "picky": 'require "reject";\nreject "I am not taking mail from you.";\n'}).start()
    try:
        for local in ("away", "picky"):
            case = Case(local, "Dovecot Pigeonhole", {at(local): (False, "recipient", "filtered")})
            with smtplib.LMTP("127.0.0.1", dovecot.port) as client:
                client.sendmail(case.sender, case.recipients(), message(case))
        vacation, rejection = capture.wait(f"away@{SENDER_DOMAIN}"), capture.wait(f"picky@{SENDER_DOMAIN}")
    finally:
        dovecot.stop()
        capture_server.stop()
        next(scratch, None)
    reply = classify(vacation)
    assert (reply.kind, reply.failures) == ("autoreply", [])
    check(rejection, case)


@pytest.mark.parametrize("mta", [Exim, PostfixRelay, Sendmail, OpenSMTPD],
                         ids=["exim", "postfix", "sendmail", "opensmtpd"])
def test_a_message_over_the_size_the_server_offers_is_refused_as_a_message(mta):
    """The next hop offers SIZE 100 (RFC 1870). Postfix does not even try ("message size ... exceeds size
    limit 100 of server ..."); Exim sends MAIL FROM with SIZE= and is refused there (aiosmtpd's "552 Error:
    message size exceeds fixed maximum message size"). Either way the message, not the recipient, not us."""
    hop_server = smtp_server(NextHop(), size=100)
    case = Case("big", "RFC 1870", {at("small"): (False, "message", "exceedlimit")})
    try:
        bounce = bounce_of(mta, hop_server.port, case, padding=b"Buy now. " * 100 + b"\n")
    finally:
        hop_server.stop()
    check(bounce, case)
