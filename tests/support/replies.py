"""Refusals as mail servers document them, each with the stage it answers ("rcpt", "mail" or "data"), for a
next hop to give a real MTA (tests/support/mtas.py) so that the bounce it writes can be read; and what that
bounce must say of its one recipient: hard or not, and whom it is about ("recipient", "sender", "message").

Grouped by where the words come from. Only the words are theirs; a recipient named in a reply is written as
{rcpt} (its local part {local}), our sender as {sender}, the sending host as 127.0.0.1. The verdicts are ours:
hard only where the words or the status prove the address dead and the refusal final (a 4xx given up on is no
proof, except X.1.1, which the MTA was told again at each try); about the sender where our side is refused,
whatever mailbox the words name; about the message where its content or size is.
"""

from __future__ import annotations

DOCUMENTED: list[tuple[str, str, str, bool, str]] = [
    # RFC 5321 §4.2.2 and §4.2.3: the standard's own reply texts
    ("RFC 5321", "rcpt", "450 Requested mail action not taken: mailbox unavailable", False, "recipient"),
    ("RFC 5321", "rcpt", "451 Requested action aborted: local error in processing", False, "recipient"),
    ("RFC 5321", "rcpt", "452 Requested action not taken: insufficient system storage", False, "recipient"),
    ("RFC 5321", "rcpt", "455 Server unable to accommodate parameters", False, "recipient"),
    ("RFC 5321", "rcpt", "550 Requested action not taken: mailbox unavailable", True, "recipient"),
    ("RFC 5321", "rcpt", "551 User not local; please try <elsewhere@example.org>", True, "recipient"),
    ("RFC 5321", "rcpt", "552 Requested mail action aborted: exceeded storage allocation", False, "recipient"),
    ("RFC 5321", "rcpt", "553 Requested action not taken: mailbox name not allowed", False, "recipient"),
    ("RFC 5321", "data", "554 Transaction failed", False, "recipient"),
    ("RFC 5321", "rcpt", "555 MAIL FROM/RCPT TO parameters not recognized or not implemented", False, "recipient"),
    # Gmail's SMTP error reference (support.google.com/a/answer/3726730)
    ("Gmail", "rcpt", "421 4.3.0 Temporary System Problem.  Try again later.", False, "recipient"),
    ("Gmail", "rcpt", "421 4.7.0 IP not in whitelist for RCPT domain, closing connection.", False, "sender"),
    ("Gmail", "rcpt", "421 4.7.0 TLS required for RCPT domain, closing connection.", False, "sender"),
    ("Gmail", "mail", "421 4.7.0 Try again later, closing connection. (MAIL)", False, "recipient"),
    ("Gmail", "rcpt", "450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend "
                      "your message at a later time.", False, "recipient"),
    ("Gmail", "data", "451 4.3.0 Mail server temporarily rejected message.", False, "sender"),
    ("Gmail", "rcpt", "452 4.2.2 The email account that you tried to reach is over quota.", False, "recipient"),
    ("Gmail", "rcpt", "452 4.5.3 Your message has too many recipients.", False, "sender"),
    ("Gmail", "rcpt", "550 5.1.1 The email account that you tried to reach does not exist.", True, "recipient"),
    ("Gmail", "rcpt", "550 5.2.1 The email account that you tried to reach is disabled.", False, "recipient"),
    ("Gmail", "rcpt", "550 5.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
                      "additional messages from being delivered.", False, "recipient"),
    ("Gmail", "mail", "550 5.4.5 Daily sending quota exceeded.", False, "sender"),
    ("Gmail", "rcpt", "550 5.7.0 Mail relay denied.", False, "sender"),
    ("Gmail", "mail", "550 5.7.1 Email quota exceeded.", False, "sender"),
    ("Gmail", "rcpt", "550 5.7.1 The IP you're using to send mail is not authorized to send email directly to "
                      "our servers. Please use the SMTP relay at your service provider instead.", False, "sender"),
    ("Gmail", "data", "550 5.7.1 The user or domain that you are sending to (or from) has a policy that "
                      "prohibited the mail that you sent.", False, "sender"),
    ("Gmail", "data", "550 5.7.1 Unauthenticated email is not accepted from this domain.", False, "sender"),
    ("Gmail", "data", "550-5.7.1 This message does not have authentication information or fails to pass\r\n"
                      "550-5.7.1 authentication checks. To best protect our users from spam, the\r\n"
                      "550 5.7.1 message has been blocked.", False, "sender"),
    ("Gmail", "data", "550 5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce "
                      "the amount of spam sent to Gmail, this message has been blocked.", False, "message"),
    ("Gmail", "rcpt", "550 5.7.1 Our system has detected an unusual rate of unsolicited mail originating from "
                      "your IP address. To protect our users from spam, mail sent from your IP address has been "
                      "blocked.", False, "sender"),
    ("Gmail", "data", "550 5.7.26 This mail is unauthenticated, which poses a security risk to the sender and "
                      "Gmail users, and has been blocked. The sender must authenticate with at least one of SPF "
                      "or DKIM.", False, "sender"),
    ("Gmail", "data", "550 5.7.26 Unauthenticated email from sender.test is not accepted due to domain's DMARC "
                      "policy.", False, "sender"),
    ("Gmail", "data", "552 5.2.2 The email account that you tried to reach is over quota.", False, "recipient"),
    ("Gmail", "data", "552 5.2.3 Your message exceeded Google's message size limits.", False, "message"),
    ("Gmail", "rcpt", "553 5.1.2 We weren't able to find the recipient domain. Please check for any spelling "
                      "errors, and make sure you didn't enter any spaces, periods, or other punctuation after the "
                      "recipient's email address.", True, "recipient"),
    ("Gmail", "data", "554 5.6.0 Mail message is malformed. Not accepted.", False, "message"),
    ("Gmail", "mail", "554 5.7.0 Too many unauthenticated commands.", False, "sender"),
    # Exchange Online's NDRs (learn.microsoft.com, "Email non-delivery reports and SMTP errors")
    ("Exchange Online", "rcpt", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", True, "recipient"),
    ("Exchange Online", "mail", "550 5.1.8 Access denied, bad outbound sender", False, "sender"),
    ("Exchange Online", "rcpt", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address "
                                "lookup", True, "recipient"),
    ("Exchange Online", "data", "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException."
                                "MapiExceptionShutoffQuotaExceeded", False, "recipient"),
    ("Exchange Online", "rcpt", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
     True, "recipient"),
    ("Exchange Online", "data", "554 5.4.14 Hop count exceeded - possible mail loop ATTR34", False, "recipient"),
    ("Exchange Online", "data", "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds, "
                                "which cannot be sent via DATA", False, "message"),
    ("Exchange Online", "rcpt", "550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized", False, "sender"),
    # ... a group that takes mail only from its own organization, and a recipient whose forward outside it the
    # organization blocks: the recipient's settings, which nothing on our side can meet (not a verdict on our
    # sending, which would raise the account's health)
    ("Exchange Online", "rcpt", "550 5.7.133 RESOLVER.RST.SenderNotAuthenticatedForGroup; authentication required; "
                                "Delivery restriction check failed because the sender was not authenticated when "
                                "sending to this group", False, "recipient"),
    ("Exchange Online", "data", "550 5.7.520 Access denied, Your organization does not allow external forwarding. "
                                "Please contact your administrator for further assistance. AS(7555)", False, "recipient"),
    ("Exchange Online", "rcpt", "550 5.7.606 Access denied, banned sending IP [127.0.0.1]. To request removal from "
                                "this list please visit https://sender.office.com/ and follow the directions.",
                                 False, "sender"),
    ("Exchange Online", "rcpt", "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this "
                                "IP.", False, "sender"),
    ("Exchange Online", "mail", "550 5.7.750 Service unavailable. Client blocked from sending from unregistered "
                                "domains.", False, "sender"),
    ("Exchange Online", "data", "554 5.2.252 SendAsDenied; sender@sender.test not allowed to send as "
                                "news@sender.test", False, "sender"),
    ("Exchange Online", "rcpt", "550 5.7.515 Access denied, sending domain sender.test doesn't meet the required "
                                "authentication level.", False, "sender"),
    ("Exchange Server", "data", "550 5.7.1 Message rejected as spam by Content Filtering.", False, "message"),
    ("Exchange Server", "rcpt", "452 4.3.1 Insufficient system resources", False, "recipient"),
    ("Outlook.com", "rcpt", "550 5.7.1 Unfortunately, messages from [127.0.0.1] weren't sent. Please contact your "
                            "Internet service provider since part of their network is on our block list (S3150).",
                             False, "sender"),
    # Yahoo Sender Hub's SMTP error codes (senders.yahooinc.com)
    ("Yahoo", "rcpt", "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred due to unexpected volume or "
                      "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", False, "sender"),
    ("Yahoo", "rcpt", "553 5.7.2 [TSS09] All messages from 127.0.0.1 will be permanently deferred; Retrying will "
                      "NOT succeed. See https://postmaster.yahooinc.com/error-codes", False, "sender"),
    ("Yahoo", "data", "554 5.7.9 Message not accepted for policy reasons.  See "
                      "https://postmaster.yahooinc.com/error-codes", False, "sender"),
    ("Yahoo", "rcpt", "554 delivery error: dd This user doesn't have a yahoo.com account ({rcpt}) [0] - "
                      "mta1001.mail.ne1.yahoo.com", True, "recipient"),
    ("Yahoo", "rcpt", "554 delivery error: dd Sorry your message to {rcpt} cannot be delivered. This mailbox is "
                      "disabled (554.30). - mta1234.mail.bf1.yahoo.com", False, "recipient"),
    ("Yahoo", "data", "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires "
                      "all senders to authenticate with either SPF or DKIM.", False, "sender"),
    ("Yahoo", "mail", "451 Message temporarily deferred due to unresolvable RFC.5321 from domain; see "
                      "https://postmaster.yahooinc.com/error-codes", False, "sender"),
    # Postfix smtpd(8), cleanup(8) and postconf(5): its own refusals
    ("Postfix", "rcpt", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table",
     True, "recipient"),
    ("Postfix", "rcpt", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
     True, "recipient"),
    ("Postfix", "rcpt", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in relay recipient table",
     True, "recipient"),
    ("Postfix", "rcpt", "450 4.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient table",
     True, "recipient"),
    ("Postfix", "rcpt", "553 5.1.0 <{sender}>: Sender address rejected: User unknown in local recipient table",
     False, "sender"),
    ("Postfix", "rcpt", "554 5.7.1 <{rcpt}>: Relay access denied", False, "sender"),
    ("Postfix", "rcpt", "554 5.7.1 <{rcpt}>: Recipient address rejected: Access denied", False, "recipient"),
    ("Postfix", "rcpt", "450 4.7.1 Client host rejected: cannot find your hostname, [127.0.0.1]", False, "sender"),
    ("Postfix", "rcpt", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", False, "sender"),
    ("Postfix", "rcpt", "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied", False, "sender"),
    # access(5) "REJECT optional text..." in smtpd_client_restrictions: the prefix alone says who was refused
    ("Postfix", "rcpt", "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Mail from this host is not accepted "
                        "here", False, "sender"),
    ("Postfix", "rcpt", "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org",
     False, "sender"),
    ("Postfix", "mail", "554 5.7.1 <{sender}>: Sender address rejected: Access denied", False, "sender"),
    ("Postfix", "mail", "452 4.3.1 Insufficient system storage", False, "recipient"),
    ("Postfix", "mail", "530 5.7.0 Must issue a STARTTLS command first", False, "sender"),
    ("Postfix", "data", "552 5.3.4 Message size exceeds fixed limit", False, "message"),
    ("Postfix", "rcpt", "450 4.1.1 <{rcpt}>: Recipient address rejected: unverified address: host "
                        "mx.recipient.test[192.0.2.1] said: 450 4.2.0 try again later", False, "recipient"),
    # Exim's default ACL and transport replies (its specification)
    ("Exim", "rcpt", "550 Administrative prohibition", False, "recipient"),
    ("Exim", "rcpt", "550 relay not permitted", False, "sender"),
    ("Exim", "rcpt", "550-Verification failed for <{sender}>\r\n550-Unrouteable address\r\n550 Sender verify failed",
     False, "sender"),
    ("Exim", "rcpt", "451 Temporary local problem - please try later", False, "recipient"),
    ("Exim", "rcpt", "550 Unrouteable address", True, "recipient"),
    ("Exim", "data", "552 Message size exceeds maximum permitted", False, "message"),
    # Dovecot LMTP and LDA (its quota plugin's quota_exceeded_message)
    ("Dovecot", "rcpt", "550 5.1.1 <{rcpt}> User doesn't exist: {rcpt}", True, "recipient"),
    ("Dovecot", "rcpt", "452 4.2.2 <{rcpt}> Quota exceeded (mailbox for user is full)", False, "recipient"),
    ("Dovecot", "data", "552 5.2.2 <{rcpt}> Quota exceeded (mailbox for user is full)", False, "recipient"),
    # Web.de and AOL, as a German web host's list of the refusals its customers meet documents them
    # (sitepackage.de, "Typische Fehlermeldungen bei Unzustellbarkeit")
    ("Web.de", "rcpt", "550 Benutzer nicht bekannt/User unknown", True, "recipient"),
    ("Web.de", "rcpt", "550 Unknown local part {local} in <{rcpt}>", True, "recipient"),
    ("Web.de", "rcpt", "550 Benutzer hat das Speichervolumen ueberschritten. / User has exhausted allowed storage "
                       "space.", False, "recipient"),
    ("Web.de", "rcpt", "550 Benutzer hat zuviele Mails auf dem Server. / User has too many messages on the "
                       "server.", False, "recipient"),
    ("AOL", "rcpt", "550 MAILBOX NOT FOUND", True, "recipient"),
    # sendmail (recipient.c), qmail (qmail-smtpd.c, qmail-local), and the filters in front of servers
    ("sendmail", "rcpt", "550 5.1.1 <{rcpt}>... User unknown", True, "recipient"),
    ("sendmail", "mail", "452 4.4.5 Insufficient disk space; try again later", False, "recipient"),
    ("qmail", "rcpt", "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", False, "sender"),
    ("qmail", "rcpt", "550 sorry, no mailbox here by that name. (#5.1.1)", True, "recipient"),
    ("qmail", "data", "552 sorry, that message size exceeds my databytes limit (#5.3.4)", False, "message"),
    ("postgrey", "rcpt", "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see "
                         "http://postgrey.schweikert.ch/help/recipient.test.html", False, "sender"),
    ("policyd-spf", "rcpt", "550 5.7.23 <{rcpt}>: Recipient address rejected: Message rejected due to: SPF fail - "
                            "not authorized. Please see http://www.openspf.net/Why?s=mfrom;id={sender};"
                            "ip=127.0.0.1;r=<UNKNOWN>", False, "sender"),
    ("rspamd", "data", "554 5.7.1 Spam message rejected", False, "message"),
]
