"""Bounces without a delivery-status part, as mail servers' own templates write them: the classifier must find
each failed recipient in the prose (and no other address), with its own reason, hard only for a dead
address.

Each is written from the server's template as its source or documentation gives it (qmail-send.c's bounce,
Courier's DSN text, Lotus Domino's delivery failure report, OpenSMTPD's bounce.c, Postfix's bounce(5)
templates, Exim's default bounce and delay-warning messages, Sendmail's returned-mail transcript, hMailServer's
delivery failure message, MDaemon's session transcript, Exchange's and Microsoft 365's NDR bodies, Gmail's and
Yahoo's), not taken from any collection of bounces.
"""

from __future__ import annotations

import pytest

from mailfleet.shared.bounces import classify
from mailfleet.shared.bounces.senders import named_check

# The message returned below a bounce's text, where the template returns one.
ORIGINAL = """
Return-Path: <news@example.org>
From: News <news@example.org>
To: gone@example.com
Subject: Our offer
Message-ID: <o1@example.org>

Buy now
"""


# qmail-send.c: the bounce's opening, and each address in angle brackets with its reason below
QMAIL_HEAD = """\
Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

"""

# Postfix bounce(5), the default failure template's opening
POSTFIX_HEAD = """\
This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

"""

# Exim's default bounce message (its specification, 'Customizing bounce and warning messages')
EXIM_HEAD = """\
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

"""

# Exim's entry for an address a remote server refused at RCPT (its 'SMTP error from remote mail server after' form)
EXIM_USER_UNKNOWN = """\
  gone@example.com
    host mx.example.com [192.0.2.1]
    SMTP error from remote mail server after RCPT TO:<gone@example.com>:
    550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown
"""

# OpenSMTPD's bounce.c: the opening of an error report
OPENSMTPD_HEAD = """\
Hi!

This is the MAILER-DAEMON, please DO NOT REPLY to this email.

An error has occurred while attempting to deliver a message for
the following list of recipients:

"""

# hMailServer's delivery failure message: its opening, then each recipient with the error its delivery found
HMAILSERVER_HEAD = """\
Your message did not reach some or all of the intended recipients.

   Sent: Mon, 07 Dec 2026 01:00:00 +0000
   Subject: Our offer

The following recipient(s) could not be reached:

"""

# Postfix bounce(5), verify_template: the report `sendmail -bv` asks for, each address with what delivery would do
POSTFIX_VERIFY_HEAD = """\
This is the mail system at host mx.example.org.

Enclosed is the mail delivery report that you requested.

                   The mail system

"""



# Sendmail's returned-mail text: where and when, then the permanent failures
SENDMAIL_HEAD = """\
The original message was received at Mon, 7 Dec 2026 01:00:00 +0000
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
"""

# Its transcript of a RCPT TO the remote server refused
SENDMAIL_GONE_TRANSCRIPT = """\
   ----- Transcript of session follows -----
... while talking to mx.example.com.:
>>> RCPT To:<gone@example.com>
<<< 550 5.1.1 <gone@example.com>... User unknown
550 5.1.1 <gone@example.com>... User unknown
"""


def bounce(sender: str, subject: str, text: str, headers: str = "") -> bytes:
    return (f"From: {sender}\nTo: news@example.org\nSubject: {subject}\n{headers}MIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=utf-8\n\n{text}").encode()


def hmailserver(reply: str = "", error: str = "") -> bytes:
    """hMailServer's report on gone@example.com: the remote server's reply to RCPT TO, or its own error."""
    detail = (f"   Remote server (192.0.2.1) issued an error.\n   hMailServer sent: RCPT TO:<gone@example.com>\n"
              f"   Remote server replied: {reply}\n") if reply else f"   Error Description: {error}\n"
    return bounce('mailer-daemon@mx.example.org', 'Message undeliverable: Our offer',
                  f"{HMAILSERVER_HEAD}gone@example.com\n   Error Type: SMTP\n{detail}\nhMailServer\n")


# qmail-local's bounce for an address it has no mailbox for
QMAIL_NO_MAILBOX = QMAIL_HEAD + """\
<gone@example.com>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.
""" + ORIGINAL

# name -> (the bounce, its kind (None: a bounce or a delay warning, either is right), hard?)
TEMPLATES = {
    "qmail": (bounce(
        'MAILER-DAEMON@mx.example.org', 'failure notice',
        QMAIL_NO_MAILBOX), 'bounce', True),
    # A relay that rewrites the bounce's From and Subject to its own: only the null return path (RFC 5321
    # §4.5.5) says it is a bounce, and the template names the recipient as a report does
    "qmail-rewritten-null-path": (bounce(
        'Example Mail <robot@mx.example.org>', 'Mail',
        QMAIL_NO_MAILBOX, "Return-Path: <>\n"), 'bounce', True),
    "qmail-remote": (bounce(
        'MAILER-DAEMON@mx.example.org', 'failure notice',
        QMAIL_HEAD + """\
<gone@example.com>:
192.0.2.1 does not like recipient.
Remote host said: 550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in local recipient table
Giving up on 192.0.2.1.

--- Below this line is a copy of the message.
""" + ORIGINAL), 'bounce', True),
    "courier": (bounce(
        'Courier mail server at mx.example.org <@>', 'DELIVERY FAILURE: User gone (gone@example.com) not listed in public Name & Address Book',
        """\
This is a delivery status notification from mx.example.org,
running the Courier mail server, version 1.1.

The original message was received on Mon, 7 Dec 2026 01:00:00 +0000
from localhost [127.0.0.1]

                  ---------------------------------

                        UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<gone@example.com>:
    mx.example.com [192.0.2.1]:
>>> RCPT TO:<gone@example.com>
<<< 550 5.1.1 <gone@example.com>... User unknown
"""), 'bounce', True),
    "domino": (bounce(
        'Postmaster@mail.example.org', 'DELIVERY FAILURE: User gone (gone@example.com) not listed in Domino Directory',
        """\
Your message

  Subject: Our offer

was not delivered to:

  gone@example.com

because:

  User gone (gone@example.com) not listed in Domino Directory
"""), 'bounce', True),
    "opensmtpd": (bounce(
        'MAILER-DAEMON@mx.example.org', 'Delivery status notification: error',
        OPENSMTPD_HEAD + """\
gone@example.com: 550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in local recipient table

Below is a copy of the original message:
""" + ORIGINAL), 'bounce', True),
    "gmail": (bounce(
        'Mail Delivery Subsystem <mailer-daemon@googlemail.com>', 'Delivery Status Notification (Failure)',
        """\
** Address not found **

Your message wasn't delivered to gone@example.com because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

The response was:

550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser
"""), 'bounce', True),
    # Gmail's "couldn't be found, or is unable to receive mail" sums up whatever the remote server answered; the
    # reply it quotes decides, and a "User unknown" at an unknown stage, naming no mailbox, proves nothing.
    "gmail-quoting": (bounce(
        'Mail Delivery Subsystem <mailer-daemon@googlemail.com>', 'Delivery Status Notification (Failure)',
        """\
** Address not found **

Your message wasn't delivered to gone@example.com because the address couldn't be found, or is unable to receive mail.

The response from the remote server was:

550 : User unknown
"""), 'bounce', False),
    "gmail-full": (bounce(
        'Mail Delivery Subsystem <mailer-daemon@googlemail.com>', 'Delivery Status Notification (Failure)',
        """\
** Message not delivered **

Your message couldn't be delivered to gone@example.com because the remote server is misconfigured. See technical details below for more information.

The response from the remote server was:

552 5.2.2 <gone@example.com>: Recipient address rejected: Quota exceeded
"""), 'bounce', False),
    "gmail-blocked": (bounce(
        'Mail Delivery Subsystem <mailer-daemon@googlemail.com>', 'Delivery Status Notification (Failure)',
        """\
** Message blocked **

Your message to gone@example.com has been blocked. See technical details below for more information.

The response from the remote server was:

550 5.7.1 Service unavailable, Client host [209.85.1.1] blocked using zen.spamhaus.org
"""), 'bounce', False),
    "gmail-domain": (bounce(
        'Mail Delivery Subsystem <mailer-daemon@googlemail.com>', 'Delivery Status Notification (Failure)',
        """\
** Address not found **

Your message wasn't delivered to gone@example.com because the domain example.com couldn't be found. Check for \
typos or unnecessary spaces and try again.

The response was:

DNS Error: DNS type 'mx' lookup of example.com responded with code NXDOMAIN Domain name not found: example.com
"""), 'bounce', True),
    "m365": (bounce(
        'Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.org>', 'Undeliverable: Our offer',
        """\
Your message to gone@example.com couldn't be delivered.

gone wasn't found at example.com.

news  Office 365  gone
Action Required                Recipient

Unknown To address

How to Fix It
The address may be misspelled or may not exist. Try one or more of the following:

Diagnostic information for administrators:

Generating server: BN8PR12MB1234.namprd12.prod.outlook.com

gone@example.com
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient gone@example.com not found by SMTP address lookup'
"""), 'bounce', True),
    "yahoo": (bounce(
        'MAILER-DAEMON@yahoo.com', 'Failure Notice',
        """\
Sorry, we were unable to deliver your message to the following address.

<gone@example.com>:
554: delivery error: dd This user doesn't have a example.com account (gone@example.com) [0] - mta1234.mail.bf1.yahoo.com

--- Below this line is a copy of the message.
""" + ORIGINAL), 'bounce', True),
    "postfix": (bounce(
        'MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Undelivered Mail Returned to Sender',
        POSTFIX_HEAD + """\
For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<gone@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1
    <gone@example.com>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)
"""), 'bounce', True),
    # An alias we mailed, expanded to another address; Postfix folds the line after "(expanded from"
    "postfix-alias": (bounce(
        'MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Undelivered Mail Returned to Sender',
        POSTFIX_HEAD + """\
                   The mail system

<someone.else@example.net> (expanded from
    <gone@example.com>): host mx.example.net[192.0.2.1] said: 550 5.1.1
    <someone.else@example.net>: Recipient address rejected: User unknown in
    virtual mailbox table (in reply to RCPT TO command)
"""), 'bounce', True),
    "postfix-full": (bounce(
        'MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Undelivered Mail Returned to Sender',
        POSTFIX_HEAD + """\
                   The mail system

<gone@example.com>: host mx.example.com[192.0.2.1] said: 552 5.2.2
    <gone@example.com>: Recipient address rejected: Mailbox is full (in reply
    to RCPT TO command)
"""), 'bounce', False),
    "postfix-delayed": (bounce(
        'MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Delayed Mail (still being retried)',
        """\
This is the mail system at host mx.example.org.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

For further assistance, please send mail to postmaster.

                   The mail system

<gone@example.com>: connect to mx.example.com[192.0.2.1]:25: Connection timed
    out
"""), None, False),
    "exim": (bounce(
        'Mail Delivery System <Mailer-Daemon@mx.example.org>', 'Mail delivery failed: returning message to sender',
        EXIM_HEAD + EXIM_USER_UNKNOWN + """\

------ This is a copy of the message, including all the headers. ------
""" + ORIGINAL,
        'X-Failed-Recipients: gone@example.com\nAuto-Submitted: auto-replied\n'), 'bounce', True),
    "exim-retry": (bounce(
        'Mail Delivery System <Mailer-Daemon@mx.example.org>', 'Mail delivery failed: returning message to sender',
        EXIM_HEAD + """\
  gone@example.com
    retry timeout exceeded

------ This is a copy of the message, including all the headers. ------
""" + ORIGINAL,
        'X-Failed-Recipients: gone@example.com\nAuto-Submitted: auto-replied\n'), 'bounce', False),
    # An address an Exim filter generated ("save to", "generated by"), the bounce's Reply-To naming the one that
    # failed: X-Failed-Recipients, Exim's own list, says whom it is about.
    "exim-filter-save": (bounce(
        'Mail Delivery System <Mailer-Daemon@mx.example.org>', 'Mail delivery failed: returning message to sender',
        EXIM_HEAD + """\
  save to /var/mail/gone
    generated by gone@example.com
    mailbox is full: retry timeout exceeded

------ This is a copy of the message, including all the headers. ------
""" + ORIGINAL,
        'X-Failed-Recipients: gone@example.com\nReply-To: gone@example.com\nAuto-Submitted: auto-replied\n'),
        'bounce', False),
    "exim-delay": (bounce(
        'Mail Delivery System <Mailer-Daemon@mx.example.org>', 'Warning: message 1abcDE-000123-Fg delayed 24 hours',
        """\
This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.example.org.

The message identifier is:     1abcDE-000123-Fg
The subject of the message is: Our offer
The date of the message is:    Mon, 7 Dec 2026 01:00:00 +0000

The address to which the message has not yet been delivered is:

  gone@example.com
    Delay reason: SMTP error from remote mail server after RCPT TO:<gone@example.com>:
    451 4.7.1 Greylisting in action, please come back later

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered. Eventually the mail delivery software will give up,
and when that happens, the message will be returned to you.
""",
        'X-Failed-Recipients: gone@example.com\nAuto-Submitted: auto-replied\n'), None, False),
    "sendmail": (bounce(
        'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>', 'Returned mail: see transcript for details',
        SENDMAIL_HEAD + """\
<gone@example.com>
    (reason: 550 5.1.1 <gone@example.com>... User unknown)

""" + SENDMAIL_GONE_TRANSCRIPT), 'bounce', True),
    "hmailserver": (hmailserver(
        "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in virtual mailbox table"), 'bounce', True),
    "hmailserver-no-mx": (hmailserver(
        error="No mail servers appear to exists for the recipients address.\n   Additional information: Please "
              "check that you have not misspelled the recipients email address."), 'bounce', True),
    "hmailserver-full": (hmailserver("452 4.2.2 <gone@example.com>: Mailbox full"), 'bounce', False),
    # The same in French, one recipient
    "exchange-fr": (bounce(
        'Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com>', 'Non remis : Offre',
        """\
La remise aux destinataires ou groupes suivants a échoué :

gone@example.com
L'adresse de messagerie que vous avez entrée est introuvable. Vérifiez l'adresse de messagerie du destinataire, \
puis renvoyez le message. Si le problème persiste, contactez votre support technique.

Informations de diagnostic pour les administrateurs :

Serveur de génération : mx.example.com

gone@example.com
Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'
"""), 'bounce', True),
    # sendmail's savemail.c: an alias we mailed, its entry naming the address it became, then "(expanded from:"
    "sendmail-alias": (bounce(
        'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>', 'Returned mail: see transcript for details',
        SENDMAIL_HEAD + """\
someone.else@example.net
    (reason: 550 5.1.1 <someone.else@example.net>... User unknown)
    (expanded from: <gone@example.com>)

   ----- Transcript of session follows -----
... while talking to mx.example.net.:
>>> RCPT To:<someone.else@example.net>
<<< 550 5.1.1 <someone.else@example.net>... User unknown
550 5.1.1 someone.else@example.net... User unknown
"""), 'bounce', True),
    # Oracle (Sun ONE) Messaging Server: where the message went, the address we mailed, the reason
    "messaging-server": (bounce(
        'postmaster@mx.example.org', 'Delivery Notification: Delivery has failed',
        """\
This report relates to a message you sent with the following header fields:

  Message-id: <o1@example.org>
  Date: Mon, 07 Dec 2026 01:00:00 +0000
  From: News <news@example.org>
  To: gone@example.com
  Subject: Our offer

Your message cannot be delivered to the following recipients:

  Recipient address: gone@ms1.example.com
  Original address: gone@example.com
  Reason: Remote SMTP server has rejected address
  Diagnostic code: smtp;550 5.1.1 unknown or illegal alias: gone@ms1.example.com
  Remote system: dns;ms1.example.com (TCP|192.0.2.1|25|192.0.2.2|4242) (ms1.example.com ESMTP)
"""), 'bounce', True),
    "exchange2007": (bounce(
        'Microsoft Exchange <postmaster@example.org>', 'Undeliverable: Our offer',
        """\
Delivery has failed to these recipients or groups:

gone@example.com
The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message. If the problem continues, please contact your helpdesk.

Diagnostic information for administrators:

Generating server: mx.example.org

gone@example.com
#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##
"""), 'bounce', True),
}



@pytest.mark.parametrize("name", list(TEMPLATES))
def test_a_servers_own_bounce_names_its_recipient_and_reads_as_it_says(name):
    raw, kind, hard = TEMPLATES[name]
    verdict = classify(raw)
    assert kind is None or verdict.kind == kind, verdict.rule
    assert [(f.address, f.hard) for f in verdict.failures] == [("gone@example.com", hard)], \
        [(f.address, f.hard, f.reason, f.rule) for f in verdict.failures]


def test_gmails_domain_not_found_is_a_dead_domain_not_a_dead_mailbox():
    [failure] = classify(TEMPLATES["gmail-domain"][0]).failures
    assert (failure.reason, failure.rule) == ("hostunknown", "host-unknown")


def postfix_dead_and_full(dead: str, full: str) -> bytes:
    """Postfix's bounce of two recipients refused at RCPT TO: one unknown, one whose mailbox is full."""
    return bounce('MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Undelivered Mail Returned to Sender',
                  POSTFIX_HEAD + f"""\
                   The mail system

<{dead}>: host mx.example.com[192.0.2.1] said: 550 5.1.1
    <{dead}>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

<{full}>: host mx.example.net[192.0.2.2] said: 552 5.2.2
    <{full}>: Recipient address rejected: Mailbox is full (in reply
    to RCPT TO command)
""")


# name -> (a bounce naming several recipients, each failed address and whether it is dead)
SEVERAL = {
    "postfix-2": (postfix_dead_and_full("gone@example.com", "full@example.net"),
                  {"gone@example.com": True, "full@example.net": False}),
    "exim-2": (bounce(
        'Mail Delivery System <Mailer-Daemon@mx.example.org>', 'Mail delivery failed: returning message to sender',
        EXIM_HEAD + EXIM_USER_UNKNOWN + """\
  nowhere@nowhere.example
    Unrouteable address
  full@example.net
    host mx.example.net [192.0.2.2]
    SMTP error from remote mail server after RCPT TO:<full@example.net>:
    452 4.2.2 <full@example.net>: Mailbox full
""",
        'X-Failed-Recipients: gone@example.com, nowhere@nowhere.example, full@example.net\nAuto-Submitted: auto-replied\n'),
        {'gone@example.com': True, 'nowhere@nowhere.example': True, 'full@example.net': False}),
    "qmail-2": (bounce(
        'MAILER-DAEMON@mx.example.org', 'failure notice',
        QMAIL_HEAD + """\
<gone@example.com>:
Sorry, no mailbox here by that name. (#5.1.1)

<full@example.net>:
The users mailfolder is over the allowed quota (size). (#5.2.2)

--- Below this line is a copy of the message.

Return-Path: <news@example.org>
To: gone@example.com, full@example.net, someone@example.com

hi
"""),
        {'gone@example.com': True, 'full@example.net': False}),
    "sendmail-2": (bounce(
        'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>', 'Returned mail: see transcript for details',
        SENDMAIL_HEAD + """\
<gone@example.com>
    (reason: 550 5.1.1 <gone@example.com>... User unknown)
<nobody@nowhere.example>
    (reason: 550 5.1.2 <nobody@nowhere.example>... Host unknown (Name server: nowhere.example: host not found))

   ----- Transcript of session follows -----
... while talking to mx.example.com.:
>>> RCPT To:<gone@example.com>
<<< 550 5.1.1 <gone@example.com>... User unknown
550 5.1.1 <gone@example.com>... User unknown
550 5.1.2 <nobody@nowhere.example>... Host unknown (Name server: nowhere.example: host not found)
"""),
        {'gone@example.com': True, 'nobody@nowhere.example': True}),
    "exchange-2": (bounce(
        'Microsoft Exchange <postmaster@example.org>', 'Undeliverable: Our offer',
        """\
Delivery has failed to these recipients or groups:

gone@example.com
The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message.

full@example.net
The recipient's mailbox is full and can't accept messages now. Please try resending your message later, or contact the recipient directly.

Diagnostic information for administrators:

Generating server: mx.example.org

gone@example.com
#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##

full@example.net
mx.example.net #552 5.2.2 Mailbox full ##
"""),
        {'gone@example.com': True, 'full@example.net': False}),
    "opensmtpd-2": (bounce(
        'MAILER-DAEMON@mx.example.org', 'Delivery status notification: error',
        OPENSMTPD_HEAD + """\
gone@example.com: 550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in local recipient table

full@example.net: 552 5.2.2 <full@example.net>: Mailbox full

Below is a copy of the original message:
"""),
        {'gone@example.com': True, 'full@example.net': False}),
    # sendmail's savemail.c lists the recipients it reached beside those it could not: only the latter failed.
    "sendmail-delivered-beside": (bounce(
        'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>', 'Returned mail: see transcript for details',
        SENDMAIL_HEAD + """\
<gone@example.com>
    (reason: 550 5.1.1 <gone@example.com>... User unknown)

   ----- The following addresses had successful delivery notifications -----
<kept@example.com>  (successfully delivered to mailbox)

""" + SENDMAIL_GONE_TRANSCRIPT), {"gone@example.com": True}),
    # A sendmail transcript in which one entry gives no reason: another entry's words are not its reason.
    "sendmail-transcript": (bounce(
        'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>', 'Returned mail: see transcript for details',
        """\
   ----- Transcript of session follows -----
554 <odd@example.com>... Remote protocol error
554 <gone@example.com>... 550 Host unknown (Authoritative answer from name server)

   ----- Unsent message follows -----
""" + ORIGINAL), {"odd@example.com": False, "gone@example.com": True}),
    # Exchange's NDR in German, its delivery-status part lost: each recipient's reply is in the second place
    # that names it ("Diagnoseinformationen für Administratoren"), not in the words after the first.
    "exchange-de": (bounce(
        'Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com>', 'Unzustellbar: Angebot',
        """\
Die Zustellung an folgende Empfänger oder Gruppen ist fehlgeschlagen:

gone@example.com
Die eingegebene E-Mail-Adresse wurde nicht gefunden. Überprüfen Sie die E-Mail-Adresse des Empfängers, und \
versuchen Sie dann erneut, die Nachricht zu senden. Wenn das Problem weiterhin besteht, wenden Sie sich an Ihr \
Helpdesk.

full@example.com
Das Postfach des Empfängers ist voll und kann derzeit keine Nachrichten annehmen.

Diagnoseinformationen für Administratoren:

Generierender Server: mx.example.com

gone@example.com
Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'

full@example.com
Remote Server returned '554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException'
"""), {"gone@example.com": True, "full@example.com": False}),
    # Postfix's verify report names the addresses it could deliver to beside those it could not
    "postfix-verify": (bounce(
        'MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Mail Delivery Status Report',
        POSTFIX_VERIFY_HEAD + """\
<gone@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 <gone@example.com>:
    Recipient address rejected: User unknown in virtual mailbox table (in reply to
    RCPT TO command)

<kept@example.com>: delivery via mx.example.com[192.0.2.1]:25: 250 2.1.5 Ok
"""), {"gone@example.com": True}),
    # A bare list of addresses and one reason after it, a blank line apart (no one server's template: the shape of
    # a gateway's short report): every address on the list has that reason, not the first one the whole report's.
    "bare-list": (bounce(
        'MAILER-DAEMON@gw.example.org', 'Undeliverable mail',
        """\
Your message could not be delivered to the following recipients:

gone@example.com
also-gone@example.com

Reason: 550 5.1.1 User unknown
"""), {"gone@example.com": True, "also-gone@example.com": True}),
    # One address the end of another ("bob@" in "jimbob@"): each recipient's lines are its own, not the first line
    # that holds its address as a substring.
    "postfix-suffix": (postfix_dead_and_full("jimbob@example.com", "bob@example.com"),
                       {"jimbob@example.com": True, "bob@example.com": False}),
}



@pytest.mark.parametrize("name", list(SEVERAL))
def test_each_recipient_a_servers_bounce_names_gets_its_own_reason(name):
    raw, dead = SEVERAL[name]
    verdict = classify(raw)
    assert {f.address: f.hard for f in verdict.failures} == dead, \
        [(f.address, f.hard, f.reason, f.rule) for f in verdict.failures]


# name -> (a notice that the mail arrived or was handed on, in the server's words and without a delivery-status
# part (a relay stripped it, or the server writes none), and the kind it is)
DELIVERED = {
    # Postfix bounce(5): success_template, and the recipient line its delivery agent writes
    "postfix-success": (bounce(
        'MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Successful Mail Delivery Report',
        """\
This is the mail system at host mx.example.org.

Your message was successfully delivered to the destination(s)
listed below. If the message was delivered to mailbox you will
receive no further notifications. Otherwise you may still receive
notifications of mail delivery errors from other systems.

                   The mail system

<kept@example.com>: delivery via mx.example.com[192.0.2.1]:25: 250 2.0.0 Ok:
    queued as 4F1AB2C3D
""", 'Return-Path: <>\nAuto-Submitted: auto-replied\n'), "delivered"),
    # Postfix bounce(5): verify_template (sendmail -bv), an address its delivery agent would deliver to
    "postfix-verify": (bounce(
        'MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Mail Delivery Status Report',
        POSTFIX_VERIFY_HEAD + """\
<kept@example.com>: delivery via mx.example.com[192.0.2.1]:465: 250 2.1.5 Ok
""", 'Return-Path: <>\n'), "delivered"),
    # sendmail savemail.c errbody(): a return receipt, one address handed to a mailer that sends no DSNs
    "sendmail-receipt": (bounce(
        'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>', 'Return receipt',
        """\
The original message was received at Mon, 7 Dec 2026 01:00:00 +0000
from localhost [127.0.0.1]

   ----- The following addresses had successful delivery notifications -----
<kept@example.com>  (relayed to non-DSN-aware mailer)

   ----- Transcript of session follows -----
<kept@example.com>... relayed; expect no further notifications
"""), "relayed"),
    # Exchange's relay notice ("Relayed:"), from its postmaster address
    "exchange-relayed": (bounce(
        'Microsoft Outlook <postmaster@example.org>', 'Relayed: Our offer',
        """\
Delivery to these recipients or groups is complete, but no delivery notification was sent by the destination server:

kept@example.com (kept@example.com)<mailto:kept@example.com>

Subject: Our offer
""", 'Return-Path: <>\n'), "relayed"),
}


@pytest.mark.parametrize("name", list(DELIVERED))
def test_a_servers_notice_of_delivery_marks_nobody(name):
    """A delivered recipient counted as a bounce would be a soft bounce for mail that arrived; beside a failure
    (sendmail's mixed report, above) it was marked faulty with the failed one."""
    raw, kind = DELIVERED[name]
    verdict = classify(raw)
    assert (verdict.kind, verdict.failures) == (kind, []), \
        (verdict.rule, [(f.address, f.hard, f.reason, f.rule) for f in verdict.failures])


def mdaemon(refused: str, reply: str) -> bytes:
    """MDaemon's "Permanent Delivery Failure" report, its session transcript ending at the command the remote
    server refused: our commands, the server's replies, one a line, as MDaemon's template writes them."""
    commands = [("EHLO mx.example.org", "250-mx.example.com Hello mx.example.org\n 250-ETRN\n 250 SIZE 40000000"),
                ("MAIL From:<news@example.org> SIZE=1861", "250 <news@example.org>, Sender ok"),
                ("RCPT To:<gone@example.com>", "250 Recipient ok")]
    upto = next(i for i, (command, _) in enumerate(commands) if command.startswith(refused))
    session = "".join(f" {command}\n {answer}\n" for command, answer in commands[:upto])
    return bounce('MDaemon@mx.example.org', 'Permanent Delivery Failure', f"""\
The attached message had PERMANENT fatal delivery errors!

After one or more unsuccessful delivery attempts the attached message has
been removed from the mail queue on this server.  The number and frequency
of delivery attempts are determined by local configuration parameters.

YOUR MESSAGE WAS NOT DELIVERED!

The following addresses did NOT receive a copy of your message:

> gone@example.com

--- Session Transcript ---
 Attempting SMTP connection to [192.0.2.1 : 25]
 Socket connection established
 220 mx.example.com ESMTP ready
{session} {commands[upto][0]}
 {reply}
 QUIT
--- End Transcript ---
""")


# refused command, the server's reply -> the reason, whom it is about, the check the account's health names
TRANSCRIPTS = {
    "quota at RCPT": ("RCPT", "552 Message for <gone@example.com> would exceed mailbox quota", "mailboxfull",
                      "recipient", ""),
    "unknown at RCPT": ("RCPT", "550 5.1.1 <gone@example.com>... User unknown", "userunknown", "recipient", ""),
    "sending host refused at RCPT": ("RCPT", "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked "
                                     "using zen.spamhaus.org", "blocked", "sender", "Spamhaus"),
    "host with no name refused at RCPT": ("RCPT", "550 5.7.1 Your IP 192.0.2.9 is not allowed to send here",
                                          "blocked", "sender", ""),
    "greeting refused": ("EHLO", "550 5.7.1 <mx.example.org>: Helo command rejected: Host not found", "blocked",
                         "sender", "HELO name"),
}


@pytest.mark.parametrize("name", list(TRANSCRIPTS))
def test_a_transcripts_own_commands_are_not_the_servers_reason(name):
    """A session transcript shows our "EHLO" and the server's "250-... HELO" capabilities above the reply that
    failed. Any mention of HELO was read as our greeting refused: a full mailbox became a block of the sending
    host, raised on the account's health and never counted on the contact; and a block of the sending IP was
    shown on the account's health as its HELO name."""
    refused, reply, reason, about, check = TRANSCRIPTS[name]
    [failure] = classify(mdaemon(refused, reply)).failures
    assert (failure.address, failure.reason, failure.about) == ("gone@example.com", reason, about), failure.rule
    assert named_check(f"{failure.evidence} {failure.diagnostic}") == check


# What each MTA writes beside a remote server's reply to say which command it answered, by stage: Postfix
# smtp(8) "(in reply to %s command)", Exim's transport "SMTP error from remote mail server after %s:",
# qmail-remote.c's "does not like recipient." / "Connected to %s but sender was rejected." / "failed after I
# sent the message." above its "Remote host said:", sendmail's transcript (usersmtp.c, reply()) ">>> %s" above
# "<<< %s" (for the message's end too it names DATA, and its own line below says the failure was the message's,
# "554 5.0.0 Service unavailable"), below savemail.c's "(reason: %s)" in the list of addresses.
STAGES = {
    "rcpt": ("RCPT TO", "RCPT TO:<{a}>", "192.0.2.1 does not like recipient.", ">>> RCPT To:<{a}>\n<<< {r}"),
    "mail": ("MAIL FROM", "MAIL FROM:<bounce-42@mailer.example.org> SIZE=1024",
             "Connected to 192.0.2.1 but sender was rejected.",
             ">>> MAIL From:<bounce-42@mailer.example.org> SIZE=1024\n<<< {r}"),
    "data": ("end of DATA", "end of data", "192.0.2.1 failed after I sent the message.",
             ">>> DATA\n<<< {r}\n554 5.0.0 Service unavailable"),
}


def staged(mta: str, stage: str, reply: str, *more: tuple[str, str]) -> bytes:
    """The reply to `stage`'s command as `mta`'s bounce template gives it for gone@example.com (and `more`
    recipients, each (address, reply)), with no delivery-status part."""
    postfix, exim, qmail, sendmail = STAGES[stage]
    entries = [("gone@example.com", reply), *more]
    if mta == "postfix":
        return bounce('MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Undelivered Mail Returned to Sender',
                      f"{POSTFIX_HEAD}                   The mail system\n\n" + "".join(
                          f"<{a}>: host mx.example.com[192.0.2.1] said: {r} (in reply to {postfix} command)\n\n"
                          for a, r in entries) + ORIGINAL)
    if mta == "exim":
        return bounce('Mail Delivery System <Mailer-Daemon@mx.example.org>',
                      'Mail delivery failed: returning message to sender', EXIM_HEAD + "".join(
                          f"  {a}\n    host mx.example.com [192.0.2.1]\n    SMTP error from remote mail server "
                          f"after {exim.format(a=a)}:\n    {r}\n" for a, r in entries)
                      + f"\n------ This is a copy of the message, including all the headers. ------\n{ORIGINAL}")
    if mta == "qmail":
        return bounce('MAILER-DAEMON@mx.example.org', 'failure notice', QMAIL_HEAD + "".join(
                          f"<{a}>:\n{qmail}\nRemote host said: {r}\nGiving up on 192.0.2.1.\n\n" for a, r in entries)
                      + f"--- Below this line is a copy of the message.\n{ORIGINAL}")
    return bounce('Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>', 'Returned mail: see transcript for details',
                  SENDMAIL_HEAD + "".join(f"<{a}>\n    (reason: {r})\n" for a, r in entries)
                  + "\n   ----- Transcript of session follows -----\n... while talking to mx.example.com.:\n"
                  + "".join(f"{sendmail.format(a=a, r=r)}\n" for a, r in entries)
                  + f"\n   ----- Original message follows -----\n{ORIGINAL}")


# reply -> (hard, reason, about) at each stage. The replies name no address, the recipient, or another one: the
# mailbox an alias led to, or the envelope sender a mailing platform writes for each message (VERP), neither of
# them a recipient of ours.
ONE_REPLY = {
    "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in local recipient table": {
        "rcpt": (True, "userunknown", "recipient"), "mail": (False, "rejected", "sender"),
        "data": (False, "filtered", "recipient")},
    "550 user unknown": {
        "rcpt": (True, "userunknown", "recipient"), "mail": (False, "rejected", "sender"),
        "data": (False, "filtered", "recipient")},
    "550 5.1.1 <target@example.net>... User unknown": {
        "rcpt": (True, "userunknown", "recipient"), "mail": (False, "rejected", "sender"),
        "data": (False, "filtered", "recipient")},
    # Postfix access(5) "REJECT User unknown": the X.7.1 is the server's own, at any stage
    "554 5.7.1 <gone@example.com>: Recipient address rejected: User unknown": {
        "rcpt": (False, "filtered", "recipient"), "mail": (False, "rejected", "sender"),
        "data": (False, "filtered", "recipient")},
    "552 5.2.2 <gone@example.com>: Mailbox full": {
        "rcpt": (False, "mailboxfull", "recipient"), "mail": (False, "rejected", "sender"),
        "data": (False, "mailboxfull", "recipient")},
    "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org": {
        "rcpt": (False, "blocked", "sender"), "mail": (False, "blocked", "sender"),
        "data": (False, "blocked", "sender")},
    "553 5.1.8 <bounce-42@mailer.example.org>... Domain of sender address bounce-42@mailer.example.org does not "
    "exist": {"rcpt": (False, "rejected", "sender"), "mail": (False, "rejected", "sender"),
              "data": (False, "rejected", "sender")},
    # RFC 5321 §3.3's reply no rule knows the words of: at MAIL FROM the sender's, never a contact's soft bounce
    "554 Transaction failed": {"mail": (False, "rejected", "sender")},
}


@pytest.mark.parametrize("reply, stage", [(r, s) for r, stages in ONE_REPLY.items() for s in stages])
def test_one_reply_reads_the_same_through_every_mta_that_names_its_command(reply, stage):
    """The same reply to the same command is one verdict whichever MTA wrote the bounce. Three differed: an
    address the reply named (an alias's target, our VERP sender) was taken for a second failed recipient,
    hard where the reply said "User unknown"; qmail's own "but sender was rejected" read as the reason in place
    of the server's (a Spamhaus block as a refused sender); and sendmail's returned-mail text was read without
    its transcript, so a "550 user unknown" shown answering RCPT TO proved nothing. A sendmail transcript shows
    ">>> DATA" above DATA's reply and above replies to RCPT TO pipelined with it (RFC 2920); its own line below
    the reply tells them apart (a real sendmail's bounces showed: "Service unavailable", naming nobody, for a
    refusal of the message, where an X.1.1 had read as hard)."""
    mtas = ["postfix", "exim", "qmail", "sendmail"]
    for mta in mtas:
        verdict = classify(staged(mta, stage, reply))
        got = [(f.address, f.hard, f.reason, f.about) for f in verdict.failures]
        assert got == [("gone@example.com", *ONE_REPLY[reply][stage])], (mta, [f.rule for f in verdict.failures])


@pytest.mark.parametrize("mta", ["postfix", "exim", "qmail", "sendmail"])
def test_each_of_two_recipients_reads_as_it_would_alone(mta):
    """Two recipients refused at RCPT TO in one bounce, each with a reply of its own (every ordered pair of
    the replies above): each reads as it does alone, neither taking the other's words nor an address they name."""
    replies = [r for r, stages in ONE_REPLY.items() if "rcpt" in stages]
    for first in replies:
        for second in replies:
            if first == second:
                continue
            other = second.replace("gone@example.com", "other@example.net")
            got = {(f.address, f.hard, f.reason, f.about) for f in classify(staged(mta, "rcpt", first,
                                                                                     ("other@example.net", other))).failures}
            alone = {(f.address, f.hard, f.reason, f.about) for raw in (staged(mta, "rcpt", first), staged(
                mta, "rcpt", other).replace(b"gone@example.com", b"other@example.net")) for f in classify(raw).failures}
            assert got == alone, (first, second)


def exchange2003(entry: str) -> bytes:
    """Exchange 2000/2003's NDR body: its opening, then each recipient with the NDR text for its status and,
    below it, "<server #status>" (with the remote server's reply after the status where one refused it)."""
    return bounce('System Administrator <postmaster@example.org>', 'Undeliverable: Our offer', f"""\
Your message did not reach some or all of the intended recipients.

      Subject:\tOur offer
      Sent:\t12/7/2026 1:00 AM

The following recipient(s) could not be reached:

      {entry}
""")


# Exchange Server 2003's NDR texts by status (as Microsoft's NDR reference gives them), and Exchange 5.5's IMS
# "Unknown Recipient": (the entry, hard?, reason, whom it is about)
EXCHANGE_2003 = {
    "5.1.1": ("gone@example.com on 12/7/2026 1:00 AM\n            The e-mail account does not exist at the "
              "organization this message was sent to.  Check the e-mail address, or contact the recipient "
              "directly to find out the correct address.\n            <mx.example.com #5.1.1>",
              True, "userunknown", "recipient"),
    "5.2.2": ("gone@example.com on 12/7/2026 1:00 AM\n            The recipient's mailbox is full and can't accept "
              "messages now. Please try resending this message later, or contact the recipient directly.\n"
              "            <mx.example.com #5.2.2>", False, "mailboxfull", "recipient"),
    "5.4.0": ("gone@example.com on 12/7/2026 1:00 AM\n            The destination server for this recipient could "
              "not be found in Domain Name Service (DNS).  Please verify the email address and retry.  If that "
              "fails, contact your system administrator.\n            <mx.example.org #5.4.0>",
              True, "hostunknown", "recipient"),
    "5.7.1 relay": ("gone@example.com on 12/7/2026 1:00 AM\n            You do not have permission to send to this "
                    "recipient.  For assistance, contact your system administrator.\n            <mx.example.org "
                    "#5.7.1 smtp;550 5.7.1 Unable to relay for gone@example.com>", False, "norelaying", "sender"),
    "4.4.7": ("gone@example.com on 12/7/2026 1:00 AM\n            Could not deliver the message in the time limit "
              "specified.  Please retry or contact your administrator.\n            <mx.example.org #4.4.7>",
              False, "expired", "recipient"),
    "5.5 IMS": ("gone@example.com on 12/7/2026 1:00 AM\n            The recipient name is not recognized\n\tThe "
                "MTS-ID of the original message is: c=US;a= ;p=Example;l=MX0612070100-ABCDEF\n            "
                "MSEXCH:IMS:Example:SITE:MX 0 (000C05A6) Unknown Recipient", True, "userunknown", "recipient"),
}


@pytest.mark.parametrize("name", list(EXCHANGE_2003))
def test_exchange_2003_s_ndr_reads_as_its_text_says(name):
    """The 5.4.0 text, a DNS failure for the recipient's domain, was read as a dead mailbox ("Please verify the
    email address"): a dead domain, as Exchange 2007's 5.4.4 "nonexistent domain" is."""
    entry, hard, reason, about = EXCHANGE_2003[name]
    [failure] = classify(exchange2003(entry)).failures
    assert (failure.address, failure.hard, failure.reason, failure.about) == ("gone@example.com", hard, reason, about)


@pytest.mark.parametrize("folded, expect", [
    # after the reply's code: "User Unknown" answered to RCPT TO, a dead address
    ("said: 550 5.2.1\n    <target@example.net>... User Unknown (in reply to RCPT TO command)",
     (True, "userunknown", "recipient")),
    # inside the reply's words: a refusal answered to MAIL FROM, the sender's
    ("said: 554 IP=192.0.2.9 - A\n    problem occurred. (Ask your postmaster for help or to contact\n"
     "    help@example.net to clarify.) (BL) (in reply to MAIL FROM command)", (False, "rejected", "sender")),
])
def test_a_reply_postfix_folded_before_an_address_stays_the_entry_s(folded, expect):
    """Postfix folds its bounce's lines at 80 columns, the rest indented by four; where a fold puts an address
    the reply names at the start of a line, that line was taken for another recipient's entry: the entry lost
    the rest of the reply and the command it answered (a "User Unknown" answered to RCPT TO read as unproven,
    a refusal of our sender as a soft bounce of the recipient), and without a delivery-status part the
    address was a second failed recipient. (Both found through a real Postfix.)"""
    raw = bounce('MAILER-DAEMON@mx.example.org (Mail Delivery System)', 'Undelivered Mail Returned to Sender',
                 f"{POSTFIX_HEAD}                   The mail system\n\n<gone@example.com>: host "
                 f"mx.example.com[192.0.2.1] {folded}\n{ORIGINAL}")
    got = [(f.address, f.hard, f.reason, f.about) for f in classify(raw).failures]
    assert got == [("gone@example.com", *expect)]