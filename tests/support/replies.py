"""Refusals as mail servers document them, each with the stage it answers ("rcpt", "mail" or "data"), for a
next hop to give a real MTA (tests/support/mtas.py) so that the bounce it writes can be read.

Grouped by where the words come from. Only the words are theirs; a recipient named in a reply is written as
{rcpt}, our sender as {sender}, the sending host as 127.0.0.1.
"""

from __future__ import annotations

DOCUMENTED: list[tuple[str, str, str]] = [
    # RFC 5321 §4.2.2 and §4.2.3: the standard's own reply texts
    ("RFC 5321", "rcpt", "450 Requested mail action not taken: mailbox unavailable"),
    ("RFC 5321", "rcpt", "451 Requested action aborted: local error in processing"),
    ("RFC 5321", "rcpt", "452 Requested action not taken: insufficient system storage"),
    ("RFC 5321", "rcpt", "455 Server unable to accommodate parameters"),
    ("RFC 5321", "rcpt", "550 Requested action not taken: mailbox unavailable"),
    ("RFC 5321", "rcpt", "551 User not local; please try <elsewhere@example.org>"),
    ("RFC 5321", "rcpt", "552 Requested mail action aborted: exceeded storage allocation"),
    ("RFC 5321", "rcpt", "553 Requested action not taken: mailbox name not allowed"),
    ("RFC 5321", "data", "554 Transaction failed"),
    ("RFC 5321", "rcpt", "555 MAIL FROM/RCPT TO parameters not recognized or not implemented"),
    # Gmail's SMTP error reference (support.google.com/a/answer/3726730)
    ("Gmail", "rcpt", "421 4.3.0 Temporary System Problem.  Try again later."),
    ("Gmail", "rcpt", "421 4.7.0 IP not in whitelist for RCPT domain, closing connection."),
    ("Gmail", "rcpt", "421 4.7.0 TLS required for RCPT domain, closing connection."),
    ("Gmail", "mail", "421 4.7.0 Try again later, closing connection. (MAIL)"),
    ("Gmail", "rcpt", "450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend "
                      "your message at a later time."),
    ("Gmail", "data", "451 4.3.0 Mail server temporarily rejected message."),
    ("Gmail", "rcpt", "452 4.2.2 The email account that you tried to reach is over quota."),
    ("Gmail", "rcpt", "452 4.5.3 Your message has too many recipients."),
    ("Gmail", "rcpt", "550 5.1.1 The email account that you tried to reach does not exist."),
    ("Gmail", "rcpt", "550 5.2.1 The email account that you tried to reach is disabled."),
    ("Gmail", "rcpt", "550 5.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
                      "additional messages from being delivered."),
    ("Gmail", "mail", "550 5.4.5 Daily sending quota exceeded."),
    ("Gmail", "rcpt", "550 5.7.0 Mail relay denied."),
    ("Gmail", "mail", "550 5.7.1 Email quota exceeded."),
    ("Gmail", "rcpt", "550 5.7.1 The IP you're using to send mail is not authorized to send email directly to "
                      "our servers. Please use the SMTP relay at your service provider instead."),
    ("Gmail", "data", "550 5.7.1 The user or domain that you are sending to (or from) has a policy that "
                      "prohibited the mail that you sent."),
    ("Gmail", "data", "550 5.7.1 Unauthenticated email is not accepted from this domain."),
    ("Gmail", "data", "550 5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce "
                      "the amount of spam sent to Gmail, this message has been blocked."),
    ("Gmail", "rcpt", "550 5.7.1 Our system has detected an unusual rate of unsolicited mail originating from "
                      "your IP address. To protect our users from spam, mail sent from your IP address has been "
                      "blocked."),
    ("Gmail", "data", "550 5.7.26 This mail is unauthenticated, which poses a security risk to the sender and "
                      "Gmail users, and has been blocked. The sender must authenticate with at least one of SPF "
                      "or DKIM."),
    ("Gmail", "data", "550 5.7.26 Unauthenticated email from sender.test is not accepted due to domain's DMARC "
                      "policy."),
    ("Gmail", "data", "552 5.2.2 The email account that you tried to reach is over quota."),
    ("Gmail", "data", "552 5.2.3 Your message exceeded Google's message size limits."),
    ("Gmail", "rcpt", "553 5.1.2 We weren't able to find the recipient domain. Please check for any spelling "
                      "errors, and make sure you didn't enter any spaces, periods, or other punctuation after the "
                      "recipient's email address."),
    ("Gmail", "data", "554 5.6.0 Mail message is malformed. Not accepted."),
    ("Gmail", "mail", "554 5.7.0 Too many unauthenticated commands."),
    # Exchange Online's NDRs (learn.microsoft.com, "Email non-delivery reports and SMTP errors")
    ("Exchange Online", "rcpt", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"),
    ("Exchange Online", "mail", "550 5.1.8 Access denied, bad outbound sender"),
    ("Exchange Online", "rcpt", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address "
                                "lookup"),
    ("Exchange Online", "data", "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException."
                                "MapiExceptionShutoffQuotaExceeded"),
    ("Exchange Online", "rcpt", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)"),
    ("Exchange Online", "data", "554 5.4.14 Hop count exceeded - possible mail loop ATTR34"),
    ("Exchange Online", "data", "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds, "
                                "which cannot be sent via DATA"),
    ("Exchange Online", "rcpt", "550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized"),
    ("Exchange Online", "rcpt", "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; "
                                "Delivery restriction check failed because the sender was not authenticated when "
                                "sending to this group"),
    ("Exchange Online", "data", "550 5.7.520 Access denied, Your organization does not allow external forwarding. "
                                "Please contact your administrator for further assistance. AS(7555)"),
    ("Exchange Online", "rcpt", "550 5.7.606 Access denied, banned sending IP [127.0.0.1]. To request removal from "
                                "this list please visit https://sender.office.com/ and follow the directions."),
    ("Exchange Online", "rcpt", "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this "
                                "IP."),
    ("Exchange Online", "mail", "550 5.7.750 Service unavailable. Client blocked from sending from unregistered "
                                "domains."),
    ("Exchange Online", "data", "554 5.2.252 SendAsDenied; sender@sender.test not allowed to send as "
                                "news@sender.test"),
    ("Exchange Online", "rcpt", "550 5.7.515 Access denied, sending domain sender.test doesn't meet the required "
                                "authentication level."),
    ("Exchange Server", "data", "550 5.7.1 Message rejected as spam by Content Filtering."),
    ("Exchange Server", "rcpt", "452 4.3.1 Insufficient system resources"),
    ("Outlook.com", "rcpt", "550 5.7.1 Unfortunately, messages from [127.0.0.1] weren't sent. Please contact your "
                            "Internet service provider since part of their network is on our block list (S3150)."),
    # Yahoo Sender Hub's SMTP error codes (senders.yahooinc.com)
    ("Yahoo", "rcpt", "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred due to unexpected volume or "
                      "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"),
    ("Yahoo", "rcpt", "553 5.7.2 [TSS09] All messages from 127.0.0.1 will be permanently deferred; Retrying will "
                      "NOT succeed. See https://postmaster.yahooinc.com/error-codes"),
    ("Yahoo", "data", "554 5.7.9 Message not accepted for policy reasons.  See "
                      "https://postmaster.yahooinc.com/error-codes"),
    ("Yahoo", "rcpt", "554 delivery error: dd This user doesn't have a yahoo.com account ({rcpt}) [0] - "
                      "mta1001.mail.ne1.yahoo.com"),
    ("Yahoo", "rcpt", "554 delivery error: dd Sorry your message to {rcpt} cannot be delivered. This mailbox is "
                      "disabled (554.30). - mta1234.mail.bf1.yahoo.com"),
    ("Yahoo", "data", "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires "
                      "all senders to authenticate with either SPF or DKIM."),
    ("Yahoo", "mail", "451 Message temporarily deferred due to unresolvable RFC.5321 from domain; see "
                      "https://postmaster.yahooinc.com/error-codes"),
    # Postfix smtpd(8), cleanup(8) and postconf(5): its own refusals
    ("Postfix", "rcpt", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table"),
    ("Postfix", "rcpt", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    ("Postfix", "rcpt", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in relay recipient table"),
    ("Postfix", "rcpt", "450 4.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table"),
    ("Postfix", "rcpt", "553 5.1.0 <{sender}>: Sender address rejected: User unknown in local recipient table"),
    ("Postfix", "rcpt", "554 5.7.1 <{rcpt}>: Relay access denied"),
    ("Postfix", "rcpt", "554 5.7.1 <{rcpt}>: Recipient address rejected: Access denied"),
    ("Postfix", "rcpt", "450 4.7.1 Client host rejected: cannot find your hostname, [127.0.0.1]"),
    ("Postfix", "rcpt", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"),
    ("Postfix", "rcpt", "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied"),
    ("Postfix", "rcpt", "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"),
    ("Postfix", "mail", "554 5.7.1 <{sender}>: Sender address rejected: Access denied"),
    ("Postfix", "mail", "452 4.3.1 Insufficient system storage"),
    ("Postfix", "mail", "530 5.7.0 Must issue a STARTTLS command first"),
    ("Postfix", "data", "552 5.3.4 Message size exceeds fixed limit"),
    ("Postfix", "rcpt", "450 4.1.1 <{rcpt}>: Recipient address rejected: unverified address: host "
                        "mx.recipient.test[192.0.2.1] said: 450 4.2.0 try again later"),
    # Exim's default ACL and transport replies (its specification)
    ("Exim", "rcpt", "550 Administrative prohibition"),
    ("Exim", "rcpt", "550 relay not permitted"),
    ("Exim", "rcpt", "550-Verification failed for <{sender}>\r\n550-Unrouteable address\r\n550 Sender verify failed"),
    ("Exim", "rcpt", "451 Temporary local problem - please try later"),
    ("Exim", "rcpt", "550 Unrouteable address"),
    ("Exim", "data", "552 Message size exceeds maximum permitted"),
    # Dovecot LMTP and LDA (its quota plugin's quota_exceeded_message)
    ("Dovecot", "rcpt", "550 5.1.1 <{rcpt}> User doesn't exist: {rcpt}"),
    ("Dovecot", "rcpt", "452 4.2.2 <{rcpt}> Quota exceeded (mailbox for user is full)"),
    ("Dovecot", "data", "552 5.2.2 <{rcpt}> Quota exceeded (mailbox for user is full)"),
    # sendmail (recipient.c), qmail (qmail-smtpd.c, qmail-local), and the filters in front of servers
    ("sendmail", "rcpt", "550 5.1.1 <{rcpt}>... User unknown"),
    ("qmail", "rcpt", "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"),
    ("qmail", "rcpt", "550 sorry, no mailbox here by that name. (#5.1.1)"),
    ("postgrey", "rcpt", "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see "
                         "http://postgrey.schweikert.ch/help/recipient.test.html"),
    ("policyd-spf", "rcpt", "550 5.7.23 <{rcpt}>: Recipient address rejected: Message rejected due to: SPF fail - "
                            "not authorized. Please see http://www.openspf.net/Why?s=mfrom;id={sender};"
                            "ip=127.0.0.1;r=<UNKNOWN>"),
    ("rspamd", "data", "554 5.7.1 Spam message rejected"),
]
