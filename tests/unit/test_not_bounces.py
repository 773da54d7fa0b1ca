"""Mail that reaches a bounce mailbox and is not a bounce: none of it counts against anybody.

Each message is written from the template or standard that produces it (RFC 8098 read receipts, RFC 3834
auto-responses, Mailman 2's postheld.txt and disabled.txt, Exchange's Delivered: notice, a service's
notification, Outlook's out-of-office subjects), and each bounce-like one names an address in its text the
way a bounce would: the one a careless reader would count. An auto-reply read as a person's mail is no mark
on anybody, but it is announced as a contact's reply (`mail.received`): it must be known for what it is.
"""

from __future__ import annotations

import pytest

from mailfleet.shared.bounces import classify


def message(sender: str, subject: str, body: str, headers: str = "", content_type: str = "text/plain") -> bytes:
    return (f"From: {sender}\nTo: news@example.org\nSubject: {subject}\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n"
            f"{headers}MIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}").encode()


# name -> (the message, the kind it is)
NOT_BOUNCES = {
    # RFC 8098: a read receipt is a multipart/report too, of another report-type
    "read-receipt": (message(
        "Bob <bob@example.com>", "Read: Our offer", """\
--R
Content-Type: text/plain

The message sent to bob@example.com with subject "Our offer" has been displayed.

--R
Content-Type: message/disposition-notification

Reporting-UA: mail.example.com; Thunderbird
Final-Recipient: rfc822;bob@example.com
Original-Message-ID: <o1@example.org>
Disposition: manual-action/MDN-sent-manually; displayed

--R--
""", content_type='multipart/report; report-type=disposition-notification; boundary="R"'), "mail"),
    # RFC 3834 §5: an auto-response from the postmaster's name, about an address, saying nothing failed
    "postmaster-acknowledgement": (message(
        "postmaster@example.com", "Auto: your message has been received",
        "Thank you. Your message to info@example.com has been received and will be answered within two days.\n",
        "Auto-Submitted: auto-replied\n"), "autoreply"),
    # An out-of-office reply that says the address will stop working: the person's words, not a server's verdict
    "leaver-auto-reply": (message(
        "Bob <bob@example.com>", "Automatic reply: Our offer",
        "Bob no longer works at Example. This mailbox is no longer monitored and the address is no longer valid.\n"
        "Please write to alice@example.com instead.\n",
        "X-Auto-Response-Suppress: All\nAuto-Submitted: auto-generated\n"), "autoreply"),
    # Mailman 2, templates/en/postheld.txt
    "list-held": (message(
        "announce-owner@lists.example.com", "Your message to Announce awaits moderator approval", """\
Your mail to 'Announce' with the subject

    Our offer

Is being held until the list moderator can review it for approval.

The reason it is being held:

    Post by non-member to a members-only list

Either the message will get posted to the list, or you will receive
notification of the moderator's decision.  Questions to announce-owner@lists.example.com.
""", "Precedence: bulk\n"), "mail"),
    # Mailman 2, templates/en/disabled.txt: about our own subscription, not about a recipient of ours
    "list-disabled": (message(
        "announce-bounces@lists.example.com", "Your membership in the mailing list Announce has been disabled", """\
Your membership in the mailing list Announce has been disabled due
to excessive bounces.  You will not get any more messages from this list until
you re-enable your membership.

If you have any questions or problems, you can contact the list owner at

    announce-owner@lists.example.com
""", "Precedence: bulk\n"), "mail"),
    # A service's notification (GitHub, Jira and the like send from notifications@), with an address in it
    "service-notification": (message(
        "Jane <notifications@github.com>", "Re: [acme/app] Build failed on main (#12)",
        "The build failed again. Please mail ops@example.com if it keeps failing.\n\n--\n"
        "Reply to this email directly or view it on GitHub.\n"), "mail"),
    # Exchange's delivery notice ("Delivered:"), from its system mailbox, as it sends its NDRs
    "exchange-delivered": (message(
        "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com>", "Delivered: Our offer",
        "Your message has been delivered to the following recipients:\n\n"
        "bob@example.com (bob@example.com)<mailto:bob@example.com>\n\nSubject: Our offer\n"), "delivered"),
    # RFC 3834 §3.3: an auto-response SHOULD be sent with a null return path, like a bounce; a helpdesk's
    # acknowledgement without Auto-Submitted, naming another address of its own, is still nobody's bounce
    "helpdesk-acknowledgement-null-path": (message(
        "Example Support <support@example.com>", "Re: Our offer",
        "Thank you for contacting Example support. Your request has been received and a ticket opened.\n"
        "You can also reach us at help@example.com.\n", "Return-Path: <>\n"), "mail"),
    # ...nor a person's notice of a new address sent so: "write to <address>" is no "551 User not local"
    "address-changed-null-path": (message(
        "Bob <bob@example.com>", "Re: Our offer",
        "Please note my email address has changed. Please update your records and write to bob.new@example.net "
        "from now on.\n", "Return-Path: <>\n"), "mail"),
    # A person quoting a bounce they got when forwarding our mail: their words, about their own message
    "person-quoting-a-bounce": (message(
        "Bob <bob@example.com>", "Re: Our offer", """\
Hi, I tried to forward your offer to carol@example.com but got this back:

> Delivery to the following recipient failed permanently:
>      carol@example.com
> The email account that you tried to reach does not exist.

Can you check her address?
"""), "mail"),
}


@pytest.mark.parametrize("name", list(NOT_BOUNCES))
def test_what_is_not_a_bounce_counts_against_nobody(name):
    raw, kind = NOT_BOUNCES[name]
    verdict = classify(raw)
    assert (verdict.kind, verdict.failures) == (kind, []), \
        (verdict.rule, [(f.address, f.hard, f.reason, f.rule) for f in verdict.failures])


@pytest.mark.parametrize("prefix", [
    "Automatic reply:", "Automatische Antwort:", "Réponse automatique :", "Respuesta automática:",
    "Risposta automatica:", "Automatisch antwoord:", "Resposta automática:", "Automatiskt svar:", "Automatisk svar:",
    "Automaattinen vastaus:", "Odpowiedź automatyczna:", "Automatická odpověď:", "Автоматический ответ:",
    "Otomatik yanıt:", "自动回复:", "[Auto-Reply]",
])
def test_an_out_of_office_reply_in_outlooks_languages_is_an_auto_reply(prefix):
    """Outlook and Exchange put "Automatic reply:" in the user's language before the subject of an out-of-office
    reply. Read as a person's mail from a contact, it was announced as their reply to our message."""
    raw = message("Bob <bob@example.com>", f"{prefix} Our offer", "I am out of the office until Monday.\n",
                  "X-Auto-Response-Suppress: All\n")
    assert (classify(raw).kind, classify(raw).failures) == ("autoreply", [])


def test_any_auto_submitted_but_no_is_a_machines_message():
    """RFC 3834 §5: Auto-Submitted other than "no" (auto-generated, auto-notified) is not a person writing."""
    for value in ("auto-generated", "auto-notified", "auto-replied; owner-email=bob@example.com"):
        raw = message("Bob <bob@example.com>", "Re: Our offer", "Thanks.\n", f"Auto-Submitted: {value}\n")
        assert classify(raw).kind == "autoreply", value
    raw = message("Bob <bob@example.com>", "Re: Our offer", "Thanks, I'll have a look.\n", "Auto-Submitted: no\n")
    assert classify(raw).kind == "mail"
    # sendmail marks its DSNs "auto-generated (failure)": under a bounce's subject that is no auto-reply
    raw = message("Mail Gateway <gateway@example.com>", "Returned mail: see transcript for details",
                  "   ----- The following addresses had permanent fatal errors -----\n<gone@example.com>\n"
                  "    (reason: 550 5.1.1 <gone@example.com>... User unknown)\n",
                  "Return-Path: <>\nAuto-Submitted: auto-generated (failure)\n")
    assert [(f.address, f.hard) for f in classify(raw).failures] == [("gone@example.com", True)]
