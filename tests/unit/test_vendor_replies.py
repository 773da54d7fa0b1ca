"""Replies as mail providers document them, each through the classifier in a delivery report: hard only for a
dead address, and about the side the reply is about (recipient, sender or message).

Written from the providers' published error lists as they read when written down (machines here reach no
such page; Gmail's "SMTP errors and codes", support.google.com answer 3726730, was partly checked through
the workplace's search): Exchange Online's NDR codes (Microsoft Learn), Yahoo's postmaster error codes,
Comcast's, iCloud's, Proofpoint's and Barracuda's reply texts, Postfix's and qmail's own. A check of what
the rules say, not of any project's fixtures.
"""

from __future__ import annotations

import pytest

from mailfleet.shared.bounces import classify

from .test_classifier import dsn

# (the reply, hard?, about whom: None where either reading is defensible)
VENDOR_REPLIES = [
    ('550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the '
     "recipient's email address for typos or unnecessary spaces. - gsmtp", True, 'recipient'),
    ('550 5.2.1 The email account that you tried to reach is disabled. - gsmtp', False, 'recipient'),
    ('552 5.2.2 The email account that you tried to reach is over quota. - gsmtp', False, 'recipient'),
    ('550 5.7.1 Our system has detected an unusual rate of unsolicited mail originating from your IP '
     'address. - gsmtp', False, 'sender'),
    ('550 5.7.26 This message does not pass authentication checks (SPF and DKIM both do not pass). - gsmtp',
     False, 'sender'),
    ('550 5.7.1 The user or domain that you are sending to (or from) has a policy that prohibited the '
     'mail that you sent. - gsmtp', False, None),
    ("553 5.1.2 We weren't able to find the recipient domain. Please check for any spelling errors, and "
     "make sure you didn't enter any spaces, periods, or other punctuation after the recipient's email "
     'address. - gsmtp', True, 'recipient'),
    ("552 5.3.4 Your message exceeded Google's message size limits. - gsmtp", False, 'message'),
    ('550 5.7.0 Mail relay denied. - gsmtp', False, 'sender'),
    ('554 5.6.0 Message exceeded 50 hops, this may indicate a mail loop. - gsmtp', False, None),
    ('550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', True, 'recipient'),
    ('550 5.1.1 RESOLVER.ADR.RecipNotFound; not found', True, 'recipient'),
    ('550 5.4.1 Recipient address rejected: Access denied. AS(201806281) '
     '[BN8NAM12FT055.eop-nam12.prod.protection.outlook.com]', True, 'recipient'),
    ('550 5.7.1 RESOLVER.RST.AuthRequired; authentication required', False, None),
    ('550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required', False, None),
    ('550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list please '
     'visit https://sender.office.com/', False, 'sender'),
    ('550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.', False, 'sender'),
    ('550 5.7.509 Access denied, sending domain example.org does not pass DMARC verification and has a '
     'DMARC policy of reject.', False, 'sender'),
    ('550 5.4.310 DNS domain example.com does not exist [Message=InfoDomainNonexistent] '
     '[LastAttemptedServerName=example.com]', True, 'recipient'),
    ('550 5.4.316 Message expired, connection refused(Socket error code 10061)', False, None),
    ("550 5.2.121 RESOLVER.RST.RecipSizeLimit; recipient's per-hour message receive limit from specific "
     'sender exceeded', False, None),
    ('550 5.4.6 Routing loop detected', False, None),
    ('554 5.2.2 mailbox full; '
     'STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded', False, 'recipient'),
    ("554 delivery error: dd This user doesn't have a yahoo.com account (gone@yahoo.com) [0] - "
     'mta1234.mail.ne1.yahoo.com', True, 'recipient'),
    ('554 delivery error: dd Sorry your message to gone@yahoo.com cannot be delivered. This mailbox is '
     'disabled (554.30). - mta1234.mail.ne1.yahoo.com', False, 'recipient'),
    ('421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user '
     'complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes', False, 'sender'),
    ('553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT '
     'succeed. See https://postmaster.yahooinc.com/error-codes', False, 'sender'),
    ('554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes',
     False, None),
    ('550 5.1.1 <gone@comcast.net> Not our Customer', True, 'recipient'),
    ('554 5.7.1 192.0.2.1 blocked by Comcast. Please see '
     'https://postmaster.comcast.net/smtp-error-codes.php#BL000000', False, 'sender'),
    ('550 5.1.1 <gone@icloud.com>: user does not exist', True, 'recipient'),
    ('552 5.2.2 <full@icloud.com>: user is over quota', False, 'recipient'),
    ('550 5.7.0 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.1', False, 'sender'),
    ('554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554', False, None),
    ('550 5.7.1 Email rejected per DMARC policy for example.org', False, 'sender'),
    ('554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using b.barracudacentral.org', False, 'sender'),
    ('550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in virtual mailbox table',
     True, 'recipient'),
    ('550 5.1.1 <gone@example.com>: Recipient address rejected: example.com', True, 'recipient'),
    ('550 5.7.1 <gone@example.com>: Relay access denied', False, 'sender'),
    ('550 Unrouteable address', True, 'recipient'),
    ('550 5.1.1 Mailbox does not exist', True, 'recipient'),
    ('451 4.7.1 Greylisting in action, please come back later', False, None),
    ("550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet "
     'service provider since part of their network is on our block list (S3150).', False, 'sender'),
    ('550 5.5.0 Requested action not taken: mailbox unavailable (in reply to RCPT TO command)', True, 'recipient'),
    ('550 5.1.1 User Unknown', True, 'recipient'),
    ("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", False, 'sender'),
    ('550 sorry, no mailbox here by that name. (#5.1.1)', True, 'recipient'),
    ('552 sorry, mailbox full (#5.2.2)', False, 'recipient'),
    ('550 5.1.1 recipient is not exist', True, 'recipient'),
    ('550 5.7.1 Message rejected as spam by Content Filtering.', False, 'message'),
    ('550 5.7.350 Remote server returned message detected as spam -> 554 5.7.1 Spam detected', False, 'message'),
]


@pytest.mark.parametrize("reply, hard, about", VENDOR_REPLIES)
def test_a_documented_reply_reads_as_documented(reply, hard, about):
    (failure,) = classify(dsn([("gone@example.com", "failed", reply)])).failures
    assert hard is None or failure.hard is hard, (failure.reason, failure.rule)
    assert about is None or failure.about == about, (failure.reason, failure.rule)
