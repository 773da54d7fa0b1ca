"""From a diagnostic text and a DSN status to a reason word, and from the reason to hard or soft.

Hard means the address itself is dead: the contact is marked faulty at
once. Everything about the sender (blocked IP, spam verdict, policy), a
passing state (mailbox full, timeout, greylisting) or the remote system is
soft, whatever the 5.x.x says — that distinction is the product.

Patterns are checked in order: sender-side and transient reasons first,
because "550 5.1.1 ... blocked by policy" is a block, not an unknown user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import ClassVar

import ahocorasick

from . import patterns

HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept", "syntaxerror"})


class Phrases:
    """An alternation matched against lower-cased text (no IGNORECASE: several times slower).

    Where every branch starts with a literal, the branches are filed under those
    literals, and a search only tries the branches of a literal where it occurs:
    sre has no multi-literal scan, and trying a 50-branch alternation at every
    position was a fifth of the classifier's time. Where the literals occur is
    found by `str.find`, or handed in by `_scan` for many rules at once.
    """

    # A literal: plain characters and escaped metacharacters ("5\.4\.1", "\[tss0"), after an optional \b or
    # look-behind, which match no character (a branch led by one is still tried only where its literal is).
    _LITERAL: ClassVar[re.Pattern[str]] = patterns.compile(
        r"(?:\\b|\(\?<[!=][^()]*\))?((?:[a-z0-9]|\\[.()\[])(?:[a-z0-9' ,:/-]|\\[.()\[\]]){2,}|[^\x00-\x7f]{2,})")
    _GROUP: ClassVar[re.Pattern[str]] = patterns.compile(r"(?:\\b)?\(([a-z ]+(?:\|[a-z ]+)+)\)(?![?*{])")

    def __init__(self, parts: tuple[str, ...]) -> None:
        # Compiled when first needed, not at import: most branches' literals never occur in a batch, and
        # compiling every pattern up front was most of a `mailfleetctl classify` start-up.
        self.source = "|".join(parts)
        self._pattern: re.Pattern[str] | None = None
        filed: dict[str, list[str]] = {}
        for branch in parts:
            literals = self._literals(branch)
            if not literals:
                self.index: tuple[tuple[str, str], ...] | None = None
                return
            for literal in literals:
                filed.setdefault(literal, []).append(branch)
        # A literal that another one begins needs no search of its own: file its branches under the shorter.
        keys: list[str] = []
        for literal in sorted(filed, key=len):
            shorter = next((k for k in keys if literal.startswith(k)), None)
            if shorter is None:
                keys.append(literal)
            else:
                filed[shorter] += filed[literal]
        self.index = tuple((k, "|".join(dict.fromkeys(filed[k]))) for k in keys)
        self._branches: dict[str, re.Pattern[str]] = {}

    def sources(self) -> list[str]:
        """Every pattern the phrases may compile: the whole alternation, and the branches of each literal."""
        return [self.source, *(source for _, source in self.index or ())]

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = patterns.compile(self.source)
        return self._pattern

    @classmethod
    def _literals(cls, branch: str) -> list[str]:
        """The literals one of which every match of the branch starts with; [] when there are none."""
        group = cls._GROUP.match(branch)
        if group:  # "(user|mailbox|...) ...": any of the words
            words = group.group(1).split("|")
            return words if all(len(w.strip()) >= 2 for w in words) else []
        m = cls._LITERAL.match(branch)
        if not m:
            return []
        literal = m.group(1).replace("\\", "")
        if branch[m.end():m.end() + 1] in ("?", "*", "{"):
            literal = literal[:-1]  # the last character is optional
        # A trailing space stays, as the branch needs it: "no " is in a tenth as many places as "no" ("not",
        # "unknown", "notification"), and each place found is a branch tried.
        return [literal] if len(literal.rstrip()) >= 2 else []

    def search(self, text: str, hits: dict[str, list[int]] | None = None) -> re.Match[str] | None:
        """The first match: the literals in order, each where it occurs in order. `hits`: where each literal
        occurs in the text (_scan), when the caller found them all at once."""
        if self.index is None:
            return self.pattern.search(text)
        for literal, source in self.index:
            starts: Iterable[int] | None
            if hits is None:
                at = text.find(literal)
                starts = None if at == -1 else _occurrences(text, literal, at)
            else:
                starts = hits.get(literal)
            if not starts:
                continue
            branches = self._branches.get(literal)
            if branches is None:
                branches = self._branches[literal] = patterns.compile(source)
            for at in starts:
                m = branches.match(text, at)
                if m:
                    return m
        return None


def _occurrences(text: str, literal: str, first: int) -> Iterator[int]:
    at = first
    while at != -1:
        yield at
        at = text.find(literal, at + 1)


def phrases(*parts: str) -> Phrases:
    return Phrases(parts)


# The records below are plain classes, not dataclasses: the dataclasses module (and the inspect module it
# imports) was a twentieth of `mailfleetctl classify`'s start-up, and mypyc compiles them to C structs.


class Rule:
    """Words that give a reason. `id` is what a verdict, a stored bounce and `contacts unmark --rule` name."""

    __slots__ = ("id", "reason", "source", "words")

    def __init__(self, id: str, reason: str, source: str, words: Phrases) -> None:
        self.id, self.reason, self.words = id, reason, words
        self.source = source  # the standard or the mail server's documented reply these words come from

    def __repr__(self) -> str:
        return f"Rule({self.id!r}, {self.reason!r})"


class Decision:
    """A reason, hard or soft, the rule that decided it and the text that rule rested on."""

    __slots__ = ("reason", "hard", "rule", "evidence")

    def __init__(self, reason: str, hard: bool, rule: str, evidence: str) -> None:
        self.reason, self.hard, self.rule, self.evidence = reason, hard, rule, evidence

    def __repr__(self) -> str:
        return f"Decision({self.reason!r}, {self.hard!r}, {self.rule!r}, {self.evidence!r})"


# Our greeting refused (RFC 5321 §4.1.1.1): the stage before any recipient, so about the sending host.
# Each branch but qmail's is led by "helo" or "ehlo", what comes before it checked behind: "after", "bad" and
# the like are in most texts, and a branch led by them would be tried at each.
HELO_REFUSED = phrases(r"my name was rejected", *(
    rf"(?<={before} ){command}\b" for before in ("after", "reply to", "invalid", "bad", "bogus", "forged")
    for command in ("helo", "ehlo")),
    r"(helo|ehlo) (command |name |hostname |host name |argument )?(is |was )?"
    r"(rejected|refused|denied|invalid|not (accepted|allowed|valid))")

# "Recipient address rejected:" is also Postfix's prefix for any restriction on a recipient: alone it
# says the address was refused, not why (see decide()).
ADDRESS_REJECTED = phrases(r"address (is )?rejected", r"recipient (address )?rejected")

# Rules in priority order: what the sender did wrong and what is passing come before what is wrong
# with the address. Each names where its words come from; an id, once shipped, never changes meaning
# (stored bounces name it, and `contacts unmark --rule` undoes what one decided).
RULES: list[Rule] = [
    # Exchange Online's directory-based edge blocking: the recipient does not exist.
    Rule("exchange-edge-block", "userunknown",
         "Microsoft Learn, 'Fix NDR error 550 5.4.1 in Exchange Online': 'Recipient address rejected: Access denied' "
         "(directory-based edge blocking; Postfix's own 'Access denied' comes with 5.7.1 and is a policy)",
         phrases(r"5\.4\.1 .{0,80}recipient address rejected: access denied", r"access denied\. as\(\d+\)")),
    # Postfix's reject_unverified_recipient before its probe has an answer (or when the probe failed for now):
    # the address is not known to be bad. Once the probe is refused it says "undeliverable address".
    Rule("unverified-address", "onhold",
         "Postfix ADDRESS_VERIFICATION_README and postconf(5) unverified_recipient_reject_reason: '450 4.1.1 "
         "<address>: Recipient address rejected: unverified address: <why the probe has no answer>'",
         phrases(r"unverified address")),
    # A recipient refused by an access list, with no word on whether the mailbox exists: the recipient's
    # side filtered it (soft, the contact's), neither a dead address nor a verdict on the sender.
    Rule("recipient-access-denied", "filtered",
         "Postfix access(5): REJECT on a recipient answers '554 5.7.1 <address>: Recipient address rejected: "
         "Access denied' (access_map_reject_code)",
         phrases(r"recipient address rejected: access denied")),
    Rule("refused-by-recipient", "filtered",
         "Facebook postmaster response codes, RCP-P2 'Refused due to recipient preferences': the recipient's "
         "own filter, not a dead address; Exchange Online NDRs 5.7.133-5.7.136 'SenderNotAuthenticatedForGroup' / "
         "'...ForMailbox' (the recipient takes mail only from its own organization) and 5.7.520 'Your organization "
         "does not allow external forwarding' (the recipient's forward, blocked by its own organization)",
         phrases(r"refused due to recipient preferences?", r"recipient'?s? preferences",
                 r"sendernotauthenticatedfor", r"does not allow external forwarding")),
    Rule("sender-refused", "rejected",
         "RFC 3463 X.1.7/X.1.8; Postfix smtpd 'Sender address rejected' (reject_unknown_sender_domain, reject_non_fqdn_sender); "
         "Exim 'Sender verify failed'; Amazon SES 'Email address is not verified'; Exchange NDR 5.7.60 'send as "
         "this sender'; Gmail SMTP errors '550 5.7.0 Mail Sending denied. This error occurs if the sender account is "
         "disabled or not registered within your Google Workspace domain'",
         phrases(
        r"sender (address|domain|e-?mail)", r"domain of sender",
        # (not qmail-remote.c's own "Connected to <host> but sender was rejected.", nor Exim's "after MAIL FROM:<...>"
        # or a sendmail transcript's ">>> MAIL From:<...>" before the server's words: the stage, not the reason; nor
        # "sender" in an address or a host name)
        r"(?<![\w@.-])sender\b(?<!but sender)(?![.@-]\w).{0,40}\b(rejected|denied|refused|not allowed|unknown|invalid|blocked|does not exist|doesn'?t exist"
        r"|disabled|not registered)",
        r"(rejected|refused|denied|invalid|unknown|bad).{0,20}\bsender\b", r"mail from\b(?<!after mail from)(?<!pipelined mail from)(?<!>>> mail from).{0,40}(rejected|refused|denied)",
        r"envelope (sender|from)", r"return[- ]path", r"\bfrom address\b", r"(not accepting|does not accept) (e-?)?mail from",
        r"sender verify failed",  # Exim's ACL verify = sender, as its specification gives the reply
        # Amazon SES SMTP response codes: the sending identity is not verified in that region
        r"email address is not verified", r"identities failed the check",
        r"send as this sender",  # Exchange NDR 5.7.60: "Client does not have permissions to send as this sender"
    )),
    # Our own HELO name refused: about the sending host, not the address. A refusal of our greeting, not any
    # mention of HELO: a session transcript (MDaemon's) shows our own "EHLO name" and the server's "250-...
    # HELO" capabilities above the reply that failed.
    Rule("helo-refused", "blocked",
         "Postfix smtpd 'Helo command rejected' (reject_invalid_helo_hostname) and smtp '(in reply to EHLO "
         "command)'; Exim 'SMTP error from remote mail server after EHLO'; qmail-remote 'my name was rejected'",
         HELO_REFUSED),
    # Before "auth-failure": Gmail's 4.7.28 names the "DKIM domain" or "SPF domain" it rate limits, and
    # that is no failed check.
    Rule("provider-rate-limit", "toomanyconn",
         "Gmail SMTP errors 421 4.7.28 'unusual rate ... temporarily rate limited'; Yahoo Sender Hub 421 4.7.0 [TSS04] "
         "'temporarily deferred due to unexpected volume'; Exchange Online 4.7.500 'Server busy'",
         phrases(r"unusual rate", r"rate limited", r"rate-limited", r"unexpected volume", r"server busy")),
    Rule("auth-failure", "authfailure",
         "RFC 7208 SPF, RFC 6376 DKIM, RFC 7489 DMARC; Gmail 'Email sender guidelines' 5.7.26 and '550 5.7.1 "
         "Unauthenticated email is not accepted from this domain' and '550 5.7.1 This message does not have "
         "authentication information or fails to pass authentication checks', Outlook 5.7.515",
         phrases(r"authentication (checks? )?fail", r"\bspf\b", r"\bdkim\b", r"\bdmarc\b", r"sender policy framework",
                 r"unauthenticated e-?mail", r"does not have authentication information",
                 r"fails? to pass authentication")),
    Rule("mailer-error", "mailererror",
         "Postfix local(8)/pipe(8) 'Command died with status'; Sendmail mailer 'unknown mailer error'; procmail",
         phrases(r"procmail", r"couldn'?t create", r"mailer error", r"command (died|failed)", r"exit(ed)? (code|with|status)",
                        r"pipe to")),
    Rule("dns-temporary", "networkerror",
         "Postfix smtp(8) 'Name service error ... Host not found, try again' (a temporary DNS answer)",
         phrases(r"name server reply", r"host not found, try again", r"temporary (dns|lookup|name ?server) (failure|error)",
                         r"\bservfail\b", r"dns (query )?timed? ?out")),
    # Our own account's sending limits, which its provider enforces on what it hands on: "quota" here is
    # the sender's, not the recipient's mailbox.
    Rule("sending-limit", "toomanyconn",
         "Gmail SMTP errors '550 5.4.5 Daily user sending quota exceeded' (Google Workspace sending limits); "
         "Exchange Online NDR 5.1.90 'you've reached your daily limit for message recipients'; Amazon SES SMTP "
         "response codes '454 Throttling failure: Daily message quota exceeded' / 'Maximum sending rate exceeded'; "
         "Gmail SMTP errors for its SMTP relay service: '550 5.4.5 Daily SMTP relay limit exceeded for user', "
         "'450 4.2.1 Peak SMTP relay limit exceeded for customer'",
         phrases(r"sending quota", r"daily user sending", r"sending limit", r"daily limit for (message )?recipients",
                 r"throttling failure", r"daily message quota", r"relay limit exceeded")),
    Rule("mailbox-full", "mailboxfull",
         "RFC 3463 X.2.2; Dovecot 'Quota exceeded (mailbox for user is full)'; Postfix virtual(8); Exchange 5.2.2; "
         "Web.de 'User has exhausted allowed storage space' and 'User has too many messages on the server'; Yandex "
         "'Mailbox size exceeded'",
         phrases(
        r"mailbox (is )?full", r"mail ?box (is )?(over|exceeded)", r"over ?quota", r"quota (exceeded|exceeds|full)",
        r"exceed(ed|s)? (the |his |her |their )?(storage|mailbox|disk|quota)", r"insufficient (storage|space)",
        r"mailbox (size )?limit", r"disk (is )?full", r"not enough (disk )?(storage|space)", r"user is over (the )?quota",
        r"storage (space )?(is )?(full|exceeded)", r"mailfolder is full", r"too much mail data",
        r"recipient'?s? (mail)?box is full", r"full mailbox", r"mailbox has exceeded",
        r"number of messages in .{0,30}mailbox exceeded",
        # Web.de, as a hosting provider's list of typical refusals documents them (sitepackage.de): "550 Benutzer
        # hat das Speichervolumen ueberschritten. / User has exhausted allowed storage space." and "... / User
        # has too many messages on the server." (the recipient's mailbox, not a rate); bytecamp.net's own
        # "422 4.2.2 Quota limit exceeded"
        r"exhausted (the )?allowed storage", r"too many (messages|mails) on the server", r"quota limit exceeded",
        # Yandex's pages on non-delivery reports: "Mailbox size exceeded", and "Account is full" from other servers
        r"mailbox size exceeded", r"account is full",
    )),
    Rule("message-too-big", "exceedlimit",
         "RFC 3463 X.2.3/X.3.4; Postfix 'message size exceeds fixed limit' (message_size_limit); ezmlm-reject "
         "'Sorry, I don't accept messages larger than'",
         phrases(r"message (size )?exceeds? (the )?(fixed |maximum )?(message )?size", r"message too (big|large)",
                        r"size exceeds", r"exceeds size limit", r"accept messages larger than")),
    # Not a filter's product name: Trend Micro's "InterScan E-Mail VirusWall" heads every notice it sends (a
    # dead address's as well), and "blocked by our Spam & Virus Firewall" (Barracuda's) says which filter,
    # not what it found; likewise McAfee's "VirusScan", "F-Secure Anti-Virus for Internet Mail".
    Rule("virus", "virusdetected",
         "ClamAV / amavisd-new 'INFECTED'/'Virus found' replies",
         phrases(r"(?<![\w-])virus(?!wall|scan| firewall)", r"malware", r"infected")),
    # Before "spam": a provider's rate limit speaks of unsolicited mail, and is about the sending IP.
    # A message refused for its form or what it carries, not for its sender: before "spam" and "blocklist",
    # whose words ("blocked", "to reduce spam") such refusals give their reason in.
    Rule("content-refused", "contenterror",
         "Gmail SMTP errors '550 5.7.1 This message is not RFC 5322 compliant', '552 5.7.0 This message was "
         "blocked because its content presents a potential security issue' and 'Messages missing a valid "
         "Message-ID header are not accepted', '552 5.7.0 Our system detected an illegal attachment on your "
         "message'; Exchange Online NDR 5.6.11 'SMTPSEND.BareLinefeedsAreIllegal'; a mailing list's ezmlm-reject "
         "(ezmlm-idx errtxt.h): 'List address must be in To: or Cc:', 'Sorry, I don't accept message with empty "
         "Subject', '... commands in the subject line', '... messages of MIME Content-Type', 'a message part has "
         "an unacceptable MIME Content-Type'",
         phrases(r"not rfc ?5322 compliant", r"not rfc ?2822 compliant", r"content presents a potential security",
                 r"missing a valid message-id", r"bare ?linefeeds", r"illegal attachment",
                 r"list address must be in to: or cc:", r"accept messages? with empty subject",
                 r"accept commands in the subject", r"accept messages of mime content-type",
                 r"unacceptable mime content-type")),
    # Microsoft 365 refusing what one of its senders hands on, for that sender's spam: about the sender.
    Rule("sender-banned", "blocked",
         "Exchange Online NDR codes 5.7.501-5.7.503: 'Access denied, spam abuse detected', 'Access denied, "
         "banned sender'",
         phrases(r"spam abuse", r"banned sender", r"abuse detected from ip")),
    Rule("spam", "spamdetected",
         "SpamAssassin/rspamd rejections; Gmail 550 5.7.1 'likely unsolicited mail'",
         phrases(
        r"\bspam\b", r"\bspamming\b", r"junk mail", r"content (was )?rejected", r"message content rejected",
        r"looks like spam", r"bulk mail", r"unsolicited", r"\buce\b",
    )),
    # Exim says "Unrouteable address" when no router accepts an address, or the router's own
    # cannot_route_message. cPanel's dnslookup router sets one that guesses at causes, a block among them:
    # it is still an address no DNS route leads to, before "blocklist" reads "blacklisted" in it.
    Rule("unrouteable-explained", "hostunknown",
         "Exim specification, generic router option cannot_route_message (used instead of 'Unrouteable address'); "
         "cPanel's Exim: 'The mail server could not deliver mail to <address>.  The account or domain may not "
         "exist, they may be blacklisted, or missing the proper dns entries.'",
         phrases(r"the account or domain may not exist")),
    # Before the blocklist's "access denied": Postfix says "Relay access denied".
    Rule("relay-denied", "norelaying",
         "RFC 5321 §3.6.2 (relaying); Postfix reject_unauth_destination '554 5.7.1 <address>: Relay access denied'; "
         "Sendmail '550 5.7.1 <address>... Relaying denied'; Mimecast '451 Open relay not allowed'; qmail-smtpd "
         "'553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)'",
         phrases(r"relay(ing)? (access )?denied", r"relay(ing)? not (permitted|allowed)", r"unable to relay",
                 r"not permitted to relay", r"we do not relay",
                 r"list of allowed rcpthosts")),  # qmail-smtpd: "553 sorry, that domain isn't in my list of ..."
    Rule("blocklist", "blocked",
         "Postfix reject_rbl_client 'blocked using' and its client restrictions' 'Client host rejected: ...'; "
         "Spamhaus, SpamCop, Barracuda reply texts; Outlook S3150 and "
         "Outlook.com's 'messages from <IP> weren't sent'; Gmail '421 4.7.0 IP not in whitelist for RCPT domain'",
         phrases(
        r"\bblock(ed| ?list(ed)?)\b", r"black ?list(ed)?", r"\bdenylist", r"\brbl\b", r"\bdnsbl\b", r"reputation", r"spamhaus",
        r"spamcop", r"client host (.{0,80} )?rejected", r"access denied", r"not allowed to send",
        r"your (ip|host|server|network)", r"rejected by (the )?(recipient )?(server|domain)'?s? policy",
        r"reverse (dns|lookup)", r"\bptr\b", r"\brdns\b", r"hostname .{0,60} does not resolve",
        # Outlook.com's refusals of a sending IP (RP-001, SC-001..004, OU-001, DY-001): "Unfortunately,
        # messages from <IP> weren't sent."
        r"messages from \[?[\d.]+\]? weren'?t sent",
        # Yahoo Sender Hub's SMTP error codes, 553 5.7.2 [TSS09]: every message from the IP, for good
        r"will be permanently deferred",
        # Gmail's "421 4.7.0 IP not in whitelist for RCPT domain": the domain takes mail only from listed IPs
        r"not in (the )?(white|allow) ?list",
    )),
    # Our side sent in the clear where the receiver wants TLS: its connection, not the address.
    Rule("tls-required", "securityerror",
         "RFC 3207 §4 '530 Must issue a STARTTLS command first' (Postfix smtpd under smtpd_tls_security_level = "
         "encrypt); Gmail '421 4.7.0 TLS required for RCPT domain'",
         phrases(r"must issue a starttls command first", r"\btls required\b")),
    # Before "policy": a mailbox's state is the more telling of the two where a reply names both (Yandex's
    # "Policy rejection on the target address" is the recipient's account blocked).
    Rule("suspended", "suspend",
         "Exchange 5.2.1 'mailbox disabled'; Gmail 550 5.2.1 'account ... is disabled'; Yandex 'Policy rejection on "
         "the target address' (the recipient's account blocked)",
         phrases(
        r"(account|mailbox|user|address) (is |has been )?(temporarily )?(disabled|suspended|inactive|deactivated|locked|frozen|expired|closed)",
        r"(disabled|suspended|inactive|deactivated|closed) (account|mailbox|user|recipient)",
        r"mailbox (is )?(temporarily )?(disabled|inactive)", r"not (currently )?active", r"is inactive",
        r"(account|mailbox|user|address)\b.{0,40}\bis (disabled|suspended|deactivated)",
        # Yandex ("Report on non-delivery to Yandex"): the recipient's account blocked for breaking its terms
        r"policy rejection on the target address",
    )),
    Rule("policy", "policyviolation",
         "RFC 3463 X.7.1 'Delivery not authorized, message refused' and X.7.0 'Other or undefined security status'",
         phrases(r"\bpolicy\b", r"authentication (is )?required", r"not authori[sz]ed")),
    Rule("rate-limit", "toomanyconn",
         "Gmail 421 4.7.28 'unusual rate'; Yahoo 421 4.7.0 [TSS04]; Postfix anvil 'Too many connections'; greylisting (postgrey)",
         phrases(r"too many (connections|messages|recipients|concurrent)", r"rate limit",
                        r"temporarily (deferred|rejected)", r"greylist", r"graylist", r"throttl")),
    # The address moved, not the message ("moved to quarantine" is a filter's verdict).
    Rule("moved", "hasmoved",
         "RFC 3463 X.1.6; RFC 5321 551 'User not local; please try <forward-path>'",
         phrases(r"has moved", r"user not local; please try", r"address (has )?changed", r"no longer (at|with|available at) this address",
                         r"(address|mailbox|user|recipient|account)( has)? moved to", r"moved to <?[\w.+-]+@",
                         r"new (e-?mail )?address is", r"has been replaced by")),
    # RFC 7504 §3: 521 is the reply of a host that accepts no mail at all, for anyone.
    Rule("rfc7504-no-mail-host", "notaccept",
         "RFC 7504 §3: '521 Host does not accept mail', the reply of a host that accepts no mail at all",
         phrases(r"(?<![\d.])521[ -]")),
    Rule("host-unknown", "hostunknown",
         "RFC 3463 X.1.2; Postfix 'Host or domain name not found'; Exim 'Unrouteable address'; Exchange NDR 5.4.4 "
         "'nonexistent domain'; hMailServer 'No mail servers appear to exists for the recipients address'; Gmail "
         "'Your message wasn't delivered to <address> because the domain <domain> couldn't be found'",
         phrases(
        r"host (or domain name )?(not found|unknown)", r"unknown host", r"domain (name )?(not found|does not exist|unknown)",
        r"no such domain", r"unrouteable (mail )?domain", r"name service error", r"host not found",
        r"domain (is )?not (exist|found|reachable)", r"nxdomain", r"no (valid )?(mx|a) (record|host)", r"mx (record )?not found",
        r"no mx found", r"unknown domain", r"invalid domain", r"domain .{0,60} (does not|doesn't) exist",
        r"unroutable address", r"unrouteable address", r"all relevant mx records point to non-existent hosts", r"illegal host/domain name",
        r"domain is not reachable", r"check the domain",
        r"dns lookup failure: host [\w.-]+ not found",  # the DragonFly Mail Agent (dma, net.c)
        r"non-?existent ?domain",  # Exchange NDR 5.4.4 "SMTPSEND.DNS.NonExistentDomain; nonexistent domain"
        # Exchange 2000/2003's NDR text for its #5.4.0: "The destination server for this recipient could not be
        # found in Domain Name Service (DNS)."
        r"could not be found in domain name service",
        r"no mail servers appear to exist",  # hMailServer, when DNS gives the domain no MX and no A record
        r"because the domain [\w.-]+ couldn'?t be found",  # Gmail's "Address not found" for a domain
    )),
    # The domain takes no mail at all; "not accepting mail from you" is a block (soft).
    Rule("domain-takes-no-mail", "notaccept",
         "RFC 7505 null MX, 556 5.1.10 'does not accept mail'; Exim's 'an MX or SRV record indicated no SMTP service'",
         phrases(r"does not accept (e-?)?mail(?! from)", r"not accepting (any )?mail(?! from)", r"null mx", r"accepts no mail",
                      r"no mail(s)? (is )?accepted", r"domain does not receive", r"indicated no smtp service")),
    Rule("user-unknown", "userunknown",
         "RFC 3463 X.1.1; Postfix 'User unknown in local recipient table'; Sendmail 'User unknown'; qmail 'no mailbox here by that name'; Gmail 5.1.1 'does not exist'; Exchange 'RecipientNotFound'; "
         "Coremail 'unavailable mail user'",
         phrases(
        r"user(name)? unknown", r"unknown (local[- ])?(user|recipient|address|mailbox|alias|account)",
        r"no such (user|recipient|mailbox|account|address|local user|person)",
        r"(user|recipient|mailbox|account|address|alias)\s*(does not|doesn'?t|did not) exist",
        r"(user|mailbox|recipient|address|account) (was )?not found",
        r"invalid (recipient|mailbox|user|address|e-?mail address)", r"(recipient|user|mailbox) (is )?(invalid|not valid)",
        r"not a (valid|known) (user|recipient|mailbox|address)", r"mailbox (is )?unavailable", r"mailbox not available",
        r"no mailbox", r"address (is )?(unknown|invalid)",
        # Not Gmail's "the address couldn't be found, or is unable to receive mail": its summary of whatever
        # the remote server answered, which it quotes below ("The response from the remote server was:")
        r"unknown address", r"bad (recipient|destination|address)", r"couldn'?t be found(?!, or is unable to receive)",
        r"could not be found",
        r"you tried to reach does not? exists?", r"not (a )?(valid|existing) (e-?mail )?(user|address)",
        r"no (such )?user (here|by that name)", r"user (not|isn'?t) (here|local)", r"undeliverable address",
        r"recipient unknown", r"is not a known user", r"unknown or illegal alias", r"not listed in",
        r"no longer (valid|exists|in use)", r"addressee unknown", r"unknown (e-?mail )?name", r"user (is )?(not|no longer) (found|valid)",
        r"(mailbox|user|address|recipient) (name )?(is )?(not|no longer) (available|valid|existing|recogni[sz]ed)",
        r"invalid address", r"does not exist", r"doesn'?t exist", r"unknown user", r"non-?existent",
        r"not our customer", r"account (does not exist|not found)", r"invalid .{0,20}userid", r"no valid recipients",
        r"name is not recogni[sz]ed",
        # Web.de's "550 Unknown local part <x> in <address>" (sitepackage.de's list of typical refusals); Exim's
        # own "unknown local part in sender <...>" is about the sender, and "sender-refused" reads it first
        r"unknown local[- ]part",
        # Yahoo Sender Hub's SMTP error for an account it lacks, as documented (its own older bounces use the
        # same words with a "[-9]" code that does not say the account is gone; they are left alone)
        r"delivery error: dd this user doesn'?t have an? [\w.-]+ account",
        # Exchange's resolver, as Microsoft's NDR pages give it: "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
        # and Exchange Online's "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address
        # lookup" (a 5.1.10 that is not RFC 7505's null MX)
        r"recipnotfound", r"recipientnotfound",
        # Coremail's support pages, the replies its users get for an address that does not exist ("unavailable
        # mail user", "user not known", "local server don't exists that user", "recipient does not have an
        # account", "not user of this server"), and Chinese providers' as a mail host lists them ("550 abcd:user
        # not exist", "550 Local User [x] not found."); Yandex's "No correct recipients"
        # (each led by a distinctive literal: a branch led by "(a )?" or "(user|...)" is tried wherever "not " or
        # those words occur; not "... not a user of this server", which may refuse the sender's relaying)
        r"unavailable mail user", r"user not known", r"server don'?t exists? that user", r"recipient does not have an account",
        r"not user of this server", r"user not exists?\b", r"recipient is not exists?\b",
        r"local user \[[^\]\n]*\] not found", r"no correct recipients",
    )),
    Rule("address-refused", "userunknown",
         "Postfix smtpd 'Recipient address rejected:' (the prefix of every recipient restriction)",
         ADDRESS_REJECTED),
    Rule("expired", "expired",
         "Postfix 'delivery temporarily suspended'/maximal_queue_lifetime; Exim 'retry timeout exceeded' and, "
         "from its smtp transport, 'retry time not reached for any host after a long failure period' and 'all "
         "hosts have been failing for a long time'; qmail 'in the queue too long'; Sendmail 'Cannot send message "
         "for 5 days'",
         phrases(r"delivery time expired", r"retry (time(out)?|period) exceeded", r"time(d)? ?out", r"timed out",
                    r"message expired", r"queue(d)? too long", r"could not be delivered within",
                    r"has not been delivered .{0,40} days", r"delivery (attempts )?(will continue|has been delayed)",
                    r"maximum time", r"expired after", r"envelope expired", r"after a long failure period",
                    r"been failing for a long time")),
    # "Connection refused" is the system's word for a TCP reset (ECONNREFUSED, Winsock 10061): nothing listened,
    # so no server spoke, let alone refused us. A refusal of the sending host is a reply, and says so.
    Rule("network", "networkerror",
         "RFC 3463 X.4.x; Postfix 'lost connection with' and 'connect to host[address]:25: Connection refused'; "
         "X.4.6 'mail forwarding loop'",
         phrases(r"network (error|unreachable)", r"no route to host", r"connection (reset|closed|lost|refused)",
                 r"lost connection", r"too many hops", r"mail loop", r"loops? back", r"routing loop")),
    Rule("system", "systemerror",
         "RFC 3463 X.3.x / X.2.4; 'internal server error', 'service not available' (RFC 5321 421); Postfix smtpd "
         "'452 4.3.1 Insufficient system storage'; Exchange's back pressure '452 4.3.1 Insufficient system resources'; "
         "sendmail srvrsmtp.c, its queue's disk: '452 4.4.5 Insufficient disk space; try again later'",
         phrases(r"system error", r"internal (server )?error", r"local error", r"temporary (local )?(problem|failure)",
                        r"insufficient system (storage|resources)", r"insufficient disk space",
                        # (Mimecast's SMTP error codes: "451 Internal resources are temporarily unavailable")
                        r"server (is )?(busy|unavailable)", r"service (is )?(not )?available", r"resources? (are |is )?(temporarily )?unavailable",
                        r"i/o error", r"out of memory")),
    # Late: the frame of a rejection whose own reason, where a rule knows it, follows and decides (Dovecot's
    # "... was automatically rejected: Quota exceeded" is a full mailbox).
    Rule("automatic-rejection", "filtered",
         "RFC 5429 §2.1.1, a Sieve 'reject' answered with an MDN (its example, and Dovecot Pigeonhole's template: "
         "'Your message to <...> was automatically rejected: <the script's reason>'): the recipient's own filter",
         phrases(r"was automatically rejected")),
    # Last: the report's advice, when it names no other cause, is to check the address it was given.
    Rule("check-the-address", "userunknown",
         "Gmail 5.1.1 'Please try double-checking the recipient's email address'; Exchange Online NDR 'Check the "
         "recipient's email address'; Trend Micro InterScan MSS 'Please check if address is correct'",
         phrases(r"check(ing)? (if|that|whether) (the )?(e-?mail )?address is correct",
                 r"check(ing)? the recipient'?s (e-?mail )?address")),  # "double-checking" too
]

# DSN status codes (RFC 3463) when no text decides. Only the address-level
# subjects map to hard reasons.
STATUS_REASONS: dict[str, str] = {
    "1.0": "userunknown",  # "other address status": unknown mailbox in practice
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "syntaxerror",
    "1.4": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",  # the sender's address, not the recipient's
    "1.8": "rejected",
    "1.10": "notaccept",
    "2.0": "suspend",
    "2.1": "suspend",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    "2.4": "systemerror",
    # RFC 3463 §3.7, "Message Content or Media Status": what the message holds or how it is encoded (X.6.0
    # other, X.6.1 media not supported, X.6.2-X.6.5 conversion); RFC 6531 §3.7.4's X.6.7-X.6.10, UTF-8 in the
    # message's addresses or headers that the path cannot carry. All refuse this message, not the recipient.
    **{f"6.{n}": "contenterror" for n in range(11)},
    "3.0": "systemerror",
    "3.1": "systemerror",  # "Mail system full": the server's storage, not the recipient's mailbox
    "3.4": "exceedlimit",
    "4.0": "networkerror",
    "4.1": "networkerror",
    "4.2": "networkerror",
    "4.3": "systemerror",
    "4.4": "hostunknown",
    "4.6": "networkerror",
    "4.7": "expired",
    "5.0": "systemerror",
    "7.0": "securityerror",
    "7.1": "rejected",
    # RFC 7293 §3.3 (Require-Recipient-Valid-Since): the mailbox, or its domain, has changed owner since we were
    # given the address. It now reaches somebody else: as final for that contact as a moved user.
    "7.17": "hasmoved",
    "7.18": "hasmoved",
    # RFC 7372 §3: the authentication checks.
    "7.20": "authfailure",  # no passing DKIM signature
    "7.21": "authfailure",  # no acceptable DKIM signature
    "7.22": "authfailure",  # no valid author-matched DKIM signature
    "7.23": "authfailure",  # SPF validation failed
    "7.24": "authfailure",  # SPF validation error
    "7.25": "blocked",  # reverse DNS validation failed: the sending host
    "7.26": "authfailure",  # multiple authentication checks failed
    "7.27": "rejected",  # sender address has null MX (RFC 7505 §4.2)
    "7.515": "authfailure",  # Microsoft Learn, Outlook 550 5.7.515: the sending domain fails the required authentication
}
# Statuses that say more than any words beside them ("Access denied" in Outlook's 5.7.515): the status decides.
# (Not X.7.27: sendmail answers it for a recipient host that takes no mail, and says so in words.)
TELLING_STATUSES = frozenset({"7.20", "7.21", "7.22", "7.23", "7.24", "7.25", "7.26", "7.515"})

AFTER_DATA = patterns.compile(r"\bDATA\b|\bBDAT\b|end of data|after data")  # BDAT: RFC 3030 CHUNKING's DATA
# The MTA's own record of the command a reply answered: Postfix's "(in reply to end of DATA command)", Exim's
# "SMTP error from remote mail server after end of data:" (or "LMTP error after BDAT 362 LAST:", RFC 3030's
# last chunk in place of DATA's end). Unlike a sendmail transcript's ">>> DATA", which lists what was sent in
# the order it was sent (and, under PIPELINING, before the replies to RCPT came back).
# qmail-remote.c's own words for the same: "failed on DATA command", "failed after I sent the message".
ANSWERED_DATA = patterns.compile(
    r"in reply to (?:end of )?data command|after (?:pipelined )?(?:(?:end of )?data|bdat)\b|"
    r"failed on data command|failed after i sent the message")  # lower-cased
# Exim's transport says "after %s%s", with "pipelined " first where the command went pipelined (RFC 2920).
# This, STATUS_RX and SMTP_CODE_RX begin with what sre can scan for (a literal, a class of digits) and check
# what stands before it with a look-behind: led by two literals, \b or a look-behind, they were tried at every
# character of every text.
AT_MAIL_FROM = patterns.compile(
    r"mail from\b(?:(?<=after mail from)|(?<=after pipelined mail from)|(?<=in reply to mail from))")  # lower-cased
# qmail-remote.c's for the same: "Connected to <host> but sender was rejected." (a string, not a branch of the
# above: one that starts with another literal made sre try the whole pattern at every character)
QMAIL_SENDER_REJECTED = "but sender was rejected"
# A refusal of the connection itself, before HELO: Exim's "SMTP error from remote mail server after initial
# connection:", Postfix smtp(8)'s "host ... refused to talk to me:" (a greeting other than 220), qmail-remote's
# "Connected to ... but greeting failed." RFC 5321 §3.1 lets a server answer 554 in place of 220.
AT_GREETING = phrases(r"after initial connection", r"refused to talk to me", r"but greeting failed")  # lower-cased
# Where an SMTP reply says it answered the recipient itself (RCPT TO, or the
# wording only a recipient check produces). Not a header naming the recipient
# (X-RCPT-TO, Original-Rcpt-To) nor a listing of the envelope ("RCPT TO: a@b").
RCPT_COMMAND = r"(?<!-)\brcpt(?!\s*to:\s*[^\s<]*@)(?:\b|_to)"
# The command itself named beside the reply: Postfix's "(in reply to RCPT TO command)", Exim's "after RCPT TO:",
# a sendmail transcript's ">>> RCPT To:". Not the wording: Postfix's access(5) REJECT answers with its own
# words behind the same "Recipient address rejected:" as the mailbox lookup does.
AT_RCPT_COMMAND = phrases(RCPT_COMMAND)
AT_RCPT = phrases(RCPT_COMMAND, r"does not like recipient", r"recipient address rejected",
                  r"in local recipient table", r"in virtual (?:alias|mailbox) table",
                  r"in relay recipient table",
                  # Yahoo Sender Hub's SMTP errors: "dd" is its reply to RCPT TO for an account it lacks
                  r"delivery error: dd ")  # lower-cased
# A reply that names the mailbox it lacks, as replies to RCPT do: "<user@host>: User unknown" (Postfix's
# and qmail-smtpd's "<%s>: ..." form), "<user@host>... User unknown" (sendmail's usrerr("550 5.1.1 %s...
# User unknown") in recipient.c), and Web.de's "Unknown local part <x> in <user@host>". Only in angle
# brackets and only those words: a content filter's "550 user@host... No such user" after DATA, or "550 :
# User unknown" with the address left out, is no proof. (Lower-cased.)
NAMED_MAILBOX_UNKNOWN = patterns.compile(
    r"@[^<>\s]+>(?::|\.\.\.)[ \t]*user unknown|unknown local[- ]part [^\s<>]+ in <[^<>\s]+@[^<>\s]+>")
# Failure statuses only: a transcript's "250 2.1.0 Ok" is the step that went well.
STATUS_RX = patterns.compile(r"([45])(?<!\w[45])\.(\d{1,3})\.(\d{1,3})\b")  # that is, \b([45])\.(\d{1,3})\.(\d{1,3})\b
SMTP_CODE_RX = patterns.compile(r"([245])(?<![\d.][245])\d\d(?![\d.])")  # that is, (?<![\d.])([245])\d\d(?![\d.])


def find_status(text: str) -> str | None:
    m = STATUS_RX.search(text)
    return m.group(0) if m else None


def precise_status(text: str) -> str | None:
    """The first status in the text that says more than x.0.0."""
    return next((m.group(0) for m in STATUS_RX.finditer(text) if not m.group(0).endswith(".0.0")), None)


# A server's reply as a Diagnostic-Code of type smtp quotes it: its code, then its enhanced status if it gave one.
REPLY_HEAD = patterns.compile(r"\s*([245]\d\d)(?![\d.])[ -]?(?:([245]\.\d{1,3}\.\d{1,3})\b)?")
# sendmail gives a refused address the status "ENHSCN(enhsc, default)": the server's enhanced status if it
# offered ENHANCEDSTATUSCODES (RFC 2034) and wrote one, else a default by reply code: usersmtp.c's smtprcptstat
# for RCPT TO (RCPT_DEFAULTS), deliver.c's smtptodsn elsewhere (OTHER_DEFAULTS). These defaults say more than
# their code: RFC 5321 §4.2.2's 550 is "mailbox unavailable (e.g., mailbox not found, no access, or command
# rejected for policy reasons)", not a bad mailbox (5.1.1, 5.2.0); 553 "mailbox name not allowed" proves no
# bad syntax (5.1.3, 5.1.0); 552 "exceeded storage allocation" is as often the message's size as a full
# mailbox (5.2.2); 450 "mailbox unavailable" is busy or blocked for now (4.2.0). What an RCPT default does say
# is the stage: only a reply to RCPT TO gets one. (5.1.6 for 551, "User not local", is what the code says.)
# To MAIL FROM (usersmtp.c, smtpmailfrom) a 552 gets 5.3.4, "message too big", where the server's words may say
# a sending quota: MAIL_DEFAULTS.
RCPT_DEFAULTS = {"550": "5.1.1", "553": "5.1.3"}
OTHER_DEFAULTS = {"550": "5.2.0", "553": "5.1.0", "552": "5.2.2", "450": "4.2.0"}
MAIL_DEFAULTS = {"552": "5.3.4"}
# A reporter's own verdict on giving up (RFC 3463 X.4.7, "delivery time expired": sendmail's status for a message
# it returns after Timeout.queuereturn) says when, not why: the last reply, where it has a status, says why.
GAVE_UP = ("4.4.7", "5.4.7")


def server_status(status: str | None, reply: str) -> tuple[str | None, str]:
    """The status a report gives for a server's `reply` (its Diagnostic-Code of type smtp), as the server said
    it, and "rcpt" where the report's status shows the reply answered RCPT TO, else "".

    A status that is only sendmail's default for the reply's code (RCPT_DEFAULTS, OTHER_DEFAULTS, MAIL_DEFAULTS)
    gives way to the reply's own enhanced status, or says nothing beyond the code's class (X.0.0): then the
    reply's words decide. So does a give-up (GAVE_UP) to the reply's own status."""
    head = REPLY_HEAD.match(reply) if reply and status else None
    if not head or head.group(2) == status:
        return status, ""
    code, own = head.group(1), head.group(2)
    at_rcpt = status == RCPT_DEFAULTS.get(code)
    if at_rcpt or status == OTHER_DEFAULTS.get(code) or status == MAIL_DEFAULTS.get(code):
        return own or f"{code[0]}.0.0", "rcpt" if at_rcpt else ""
    if status in GAVE_UP and own:
        return own, ""
    return status, ""


def settled_status(status: str | None, text: str) -> str | None:
    """A report's status, or a more precise one from its text when the report says only x.0.0 (or nothing)."""
    if status and not status.endswith(".0.0"):
        return status
    return precise_status(text) or status or find_status(text)


MAX_REASON_TEXT = 2000
MAX_EVIDENCE = 240


class _Scan:
    """Where the rules' literals occur in one lower-cased text, and which rules (by position in RULES) own
    those literals: the only rules whose words the text can hold."""

    __slots__ = ("low", "hits", "rules")

    def __init__(self, low: str, hits: dict[str, list[int]], rules: list[int]) -> None:
        self.low, self.hits, self.rules = low, hits, rules

    def matches(self) -> Iterator[tuple[Rule, re.Match[str]]]:
        """Each rule whose words the text holds, in the rules' order, with its first match."""
        for i in self.rules:
            rule = RULES[i]
            m = rule.words.search(self.low, self.hits)
            if m:
                yield rule, m


class _Literal:
    """A literal of the rules' phrases, as _scan's automaton reports it: by its place in a list."""

    __slots__ = ("text", "owners")

    def __init__(self, text: str, owners: list[int]) -> None:
        self.text, self.owners = text, owners  # owners: the rules (places in RULES) whose index holds it


# The automaton and the literals its values are places in, made together when first needed (one read of this
# global gets both: two threads that each make them make the same).
_RULE_LITERALS: tuple[ahocorasick.Automaton, list[_Literal]] | None = None
_LAST_SCAN: _Scan | None = None


def _scan(low: str) -> _Scan:
    """Where each literal of the reason rules occurs in the lower-cased text, and the rules that own them.

    One Aho-Corasick pass (pyahocorasick) over the text instead of a `str.find` for each of the rules'
    ~190 literals: the rules' phrase search, a quarter of the classifier's time, takes half as long; and
    only the rules whose literals occur are asked. The last scan is kept: decide() asks of the same
    diagnostic several times (its rule, whether "address rejected" is all it says), and a report's prose
    is asked again for a stated state."""
    global _RULE_LITERALS, _LAST_SCAN
    last = _LAST_SCAN  # one read: another thread may replace it meanwhile, never change it
    if last is not None and last.low == low:
        return last
    made = _RULE_LITERALS
    if made is None:
        automaton = ahocorasick.Automaton()
        owners: dict[str, list[int]] = {}
        for i, rule in enumerate(RULES):
            for literal, _ in rule.words.index or ():
                owners.setdefault(literal, []).append(i)
        literals: list[_Literal] = []
        for literal, owner_list in owners.items():
            # The value is a place in `literals`, an int: the pair (end, value) each hit gives is then
            # unpacked as a tuple of two ints, not, value and all, through the iterator protocol.
            automaton.add_word(literal, len(literals))
            literals.append(_Literal(literal, owner_list))
        automaton.make_automaton()
        made = _RULE_LITERALS = (automaton, literals)
    automaton, literals = made
    hits: dict[str, list[int]] = {}
    owning: set[int] = set()
    found: Iterator[tuple[int, int]] = automaton.iter(low)
    for end, k in found:
        entry = literals[k]
        start = end - len(entry.text) + 1
        starts = hits.get(entry.text)
        if starts is None:
            hits[entry.text] = [start]
            owning.update(entry.owners)
        else:
            starts.append(start)
    scan = _LAST_SCAN = _Scan(low, hits, sorted(owning))
    return scan


def rule_from_text(text: str) -> tuple[Rule, str] | None:
    """The first rule whose words the text holds, and the text around them (the line, at most MAX_EVIDENCE)."""
    text = text[:MAX_REASON_TEXT]
    low = text.lower()
    for rule, m in _scan(low).matches():
        return rule, _around(text if len(text) == len(low) else low, m.start(), m.end())
    return None


def _around(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    if line_end - line_start > MAX_EVIDENCE:  # a long line: the words and what is closest to them
        line_start = max(line_start, start - (MAX_EVIDENCE - (end - start)) // 2)
        line_end = min(line_end, line_start + MAX_EVIDENCE)
    return " ".join(text[line_start:line_end].split())



# What a report may say of the mailbox's state that makes a "dead address" verdict doubtful.
_STATES = ("mailboxfull", "suspend")


def stated_state(prose: str) -> tuple[str, str] | None:
    """A passing mailbox state (full, disabled) the prose states, when it states no dead address beside it:
    (reason, the words)."""
    text = prose[:MAX_REASON_TEXT].lower()
    found = None
    for rule, m in _scan(text).matches():
        if rule.reason in HARD_REASONS:
            return None
        if found is None and rule.reason in _STATES:
            found = rule.reason, _around(text, m.start(), m.end())
    return found


def _subject_reason(subject: str) -> str | None:
    """The reason a status's subject and detail give: those listed, else the subject's own "other or undefined"
    (X.Y.0). RFC 3463 §2: the detail only refines the subject, so a detail nobody here knows (Exchange's
    5.7.124 "Sender not in allowed-senders list", 5.4.312 "DNS query failed") still says what its subject
    says. Never a dead address, though: only a detail defined for one says that."""
    reason = STATUS_REASONS.get(subject)
    if reason is None:
        reason = STATUS_REASONS.get(subject.partition(".")[0] + ".0")
        if reason in HARD_REASONS:
            return None
    return reason


def reason_from_status(status: str | None) -> str | None:
    if not status:
        return None
    cls, _, subject = status.partition(".")
    if cls == "4":
        # Temporary by definition; the subject still tells *why*.
        reason = _subject_reason(subject)
        return reason if reason in ("mailboxfull", "expired", "networkerror", "systemerror") else "expired" if subject == "4.7" else "onhold"
    return _subject_reason(subject)


def _unproven_unknown(diagnostic: str, low: str, status: str | None, relayed: bool, answered: str = "") -> bool:
    """A remote server's "user unknown" counts only when it came at RCPT, the status names the address, or
    the reply names the mailbox (in angle brackets, as a reply to RCPT does) under a status that says nothing.

    Gateways that filter content answer "550 Unknown user" after DATA; an
    answer at an unknown stage, with a status that does not say the mailbox
    is bad, is not proof enough to stop mailing a contact. A delivery agent's
    own words (no SMTP reply quoted, no Diagnostic-Code that says it quotes
    one) are: it looked in its own directory. `answered`: what a transcript shows the reply answered.
    """
    if "delivery error: dd " in low:
        # Yahoo's documented reply for an account it lacks, which it gives after DATA too (a sendmail
        # transcript shows it answered ">>> DATA" with its own "554 5.0.0 Service unavailable" below)
        return False
    if answered == "data":
        return True
    # The patterns below start with no literal: sre would try them everywhere. ("sent the message": qmail's.)
    data = "data" in low or "bdat" in low or "sent the message" in low
    if data and ANSWERED_DATA.search(low):
        return True
    if status and status.startswith("5.1."):
        # X.1.x names the address (RFC 3463 §3.2). A transcript's ">>> DATA" above the reply may be
        # PIPELINING (RFC 2920 §3.1): the client sent DATA before the replies to RCPT came back.
        return False
    if data and AFTER_DATA.search(diagnostic):
        return True
    if AT_RCPT.search(low):
        return False
    if (not status or status.endswith(".0.0")) and NAMED_MAILBOX_UNKNOWN.search(low):
        return False  # the reply names the mailbox it lacks, and no status says otherwise
    if status and status.split(".")[1] in ("1", "5"):
        # x.1.x names the address; x.5.x is the reply to a command, and "550 5.5.0 mailbox
        # unavailable" is what RFC 5321 servers answer to RCPT for a mailbox they lack.
        return False
    return relayed or bool(SMTP_CODE_RX.search(diagnostic))


# "Recipient address rejected: On hold": the server's own reason after the prefix, one no rule knows.
REFUSAL_REASON = patterns.compile(r"(?:address|recipient) (?:address )?(?:is )?rejected\s*:\s*[a-z]")  # lower-cased


def _only_refused(text: str) -> bool:
    """The text's only word for an unknown user is the bare "address rejected"."""
    scan = _scan(text[:MAX_REASON_TEXT].lower())
    return not any(rule.reason == "userunknown" and rule.words is not ADDRESS_REJECTED
                   and rule.words.search(scan.low, scan.hits) for rule in (RULES[i] for i in scan.rules))


# The rules decide() applies besides the words: id -> where it comes from. Stable like the word rules' ids.
STATUS_RULE = "rfc3463-status"
AUTH_STATUS_RULE = "rfc7372-auth-status"
SENDER_STATUS_RULE = "rfc3463-sender-status"
POLICY_REFUSAL_RULE = "rfc3463-policy-refusal"
POLICY_DOUBT_RULE = "rfc3463-policy-doubt"
MAIL_FROM_RULE = "rfc5321-mail-from-stage"
GREETING_RULE = "rfc5321-greeting-stage"
UNPROVEN_UNKNOWN_RULE = "unproven-unknown"
UNDEFINED_RULE = "no-reason"
STATED_STATE_RULE = "stated-state"
DELAYED_RULE = "rfc3464-delayed"
USER_NOT_LOCAL_RULE = "rfc5321-551"
DECISION_RULES = {
    STATUS_RULE: "RFC 3463 §3: no words decided, the status code's subject did (X.1.x address, X.2.x mailbox, ...)",
    AUTH_STATUS_RULE: "RFC 7372 §3 X.7.20-X.7.26 (DKIM, SPF, reverse DNS) and Outlook's 5.7.515: the "
                      "status names the failed check, whatever the words",
    SENDER_STATUS_RULE: "RFC 3463 X.1.7/X.1.8: the sender's address is bad, whatever the words say",
    POLICY_REFUSAL_RULE: "RFC 3463 §3.2: a bare 'address rejected' proves a dead address only under an X.1.x "
                         "status, or under none (or X.0.0) with no reason of the server's own after it; under "
                         "X.7.x it is a policy, under any other the status decides",
    POLICY_DOUBT_RULE: "RFC 3463 §3.8: words of a dead address under an X.7.x (security or policy) status the "
                       "server wrote itself, or one not shown to answer RCPT TO: the two disagree, and doubt "
                       "costs no contact",
    MAIL_FROM_RULE: "RFC 5321 §3.3: a refusal answered to MAIL FROM is about the sender (the reverse-path), "
                    "whatever its words",
    GREETING_RULE: "RFC 5321 §3.1: a refusal of the connection's greeting comes before any recipient is named: a "
                   "verdict on the sending host, never a dead address, whatever its words",
    UNPROVEN_UNKNOWN_RULE: "RFC 5321 §3.3: a 'user unknown' after DATA, or at an unknown stage without naming the "
                           "mailbox, proves no dead mailbox",
    UNDEFINED_RULE: "neither words nor a status said why",
    STATED_STATE_RULE: "the report's own words say the mailbox is full or disabled beside a dead-address verdict",
    DELAYED_RULE: "RFC 3464 §2.3.3 'Action: delayed': the server has not given up yet",
    USER_NOT_LOCAL_RULE: "RFC 5321 §4.2.2: reply code 551, 'User not local', where neither its words nor a status "
                         "say more (sendmail's RCPT default for it is X.1.6, 'mailbox has moved')",
}


# A reply code and the enhanced status the server wrote after it (RFC 2034 §4), wherever the report quotes them.
REPLY_STATUS = patterns.compile(r"([245])(?<![\w.][245])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b")


def _mail_from_stage(low: str) -> tuple[int, int] | None:
    """Where the lower-cased text says its reply answered MAIL FROM (AT_MAIL_FROM, or qmail's words), if it does."""
    m = AT_MAIL_FROM.search(low)
    if m:
        return m.span()
    at = low.find(QMAIL_SENDER_REJECTED)
    return (at, at + len(QMAIL_SENDER_REJECTED)) if at >= 0 else None


def _says_policy(diagnostic: str) -> bool:
    """The server's reply wrote an X.7.x status of its own (RFC 3463 §3.8, security or policy status)."""
    m = REPLY_STATUS.search(diagnostic)
    return bool(m and m.group(2)[1:3] == ".7")


def decide(diagnostic: str, status: str | None, permanent_hint: bool | None = None,
           gave_up: bool = False, relayed: bool = False, answered: str = "") -> Decision:
    """Text first, then status; hard only for an address-level reason and a permanent failure.

    `relayed`: the diagnostic is a remote server's reply (an SMTP or untyped
    Diagnostic-Code), even when the reply code was lost on the way. `answered`: what the report shows elsewhere
    that the reply answered ("greeting", "mail", "rcpt", "data"; ReportText.transcript_reply).
    """
    found = rule_from_text(diagnostic)
    if found:
        reason, rule, evidence = found[0].reason, found[0].id, found[1]
    else:
        reason = reason_from_status(status) or "undefined"
        rule, evidence = (STATUS_RULE, status or "") if reason != "undefined" else (UNDEFINED_RULE, "")
        code = SMTP_CODE_RX.search(diagnostic) if reason == "undefined" else None
        if code and code.group(0) == "551":
            # The code's own meaning, as sendmail reads it (5.1.6), where Exim and Postfix give only X.0.0.
            reason, rule, evidence = "hasmoved", USER_NOT_LOCAL_RULE, _around(diagnostic, *code.span())
    subject = status.partition(".")[2] if status else ""
    if subject in TELLING_STATUSES:
        reason, rule, evidence = STATUS_REASONS[subject], AUTH_STATUS_RULE, evidence or status or ""
    if status and status[1:] in (".1.7", ".1.8"):
        # A bad sender address (RFC 3463): whatever the words ("sender does not exist"), it is ours.
        reason, rule, evidence = "rejected", SENDER_STATUS_RULE, status
    low = diagnostic.lower()
    at_mail = _mail_from_stage(low)
    if (answered == "mail" or at_mail) and (reason in HARD_REASONS or reason in _STATES or reason == "undefined"):
        # Exim's "SMTP error from remote mail server after MAIL FROM:", Postfix's "(in reply to MAIL FROM
        # command)": the server refused the sender before any recipient was named, so no word of a mailbox's
        # state there is the recipient's (Gmail's "550 5.7.1 Email quota exceeded" is the sender's quota), and
        # a refusal no rule knows the words of is still the sender's, never a soft bounce of the contact.
        reason, rule = "rejected", MAIL_FROM_RULE
        evidence = evidence or _around(diagnostic if len(diagnostic) == len(low) else low, *(at_mail or (0, 0)))
    elif reason in HARD_REASONS or reason == "undefined" or rule == STATUS_RULE:
        greeting = AT_GREETING.search(low)
        if greeting or answered == "greeting":
            # Refused before HELO, so before any recipient was named: the sending host (its address, its name),
            # not the address we mailed. Where a rule knows the reply's words (a block list, a busy server) they
            # say more, and stand; a reason read from the status alone does not (Postfix's "4.0.0" for a "554"
            # greeting it skipped is its own deferral, not the server's word, nor sendmail's "5.5.0").
            reason, rule = "blocked", GREETING_RULE
            where = (greeting.start(), greeting.end()) if greeting else (0, 0)
            evidence = evidence or _around(diagnostic if len(diagnostic) == len(low) else low, *where)
    # A 4.1.x on a DSN whose Action is "failed": the MTA retried until it gave up, and the
    # last answer still said the address is bad. That is as final as a 5.1.x.
    temporary = status is not None and status.startswith("4.") and not (gave_up and status.startswith("4.1."))
    says_nothing = not status or status.endswith(".0.0")
    if says_nothing:
        # No status, or only the reporting MTA's own "5.0.0" for an address it gave up on (Exim's DSN for a
        # "retry timeout exceeded"): the server's reply code is the server's word. A 4xx is temporary (RFC 5321
        # §4.2.1), whatever the reporter decided after retrying: "450 mailbox unavailable" is busy or blocked
        # for now, not gone.
        m = SMTP_CODE_RX.search(diagnostic)
        if m and m.group(1) == "4":
            temporary = True
    if not status and permanent_hint is False:
        temporary = True
    if reason == "userunknown" and _only_refused(diagnostic) and (
            (not says_nothing and status.split(".")[1] != "1")  # type: ignore[union-attr]
            or (says_nothing and REFUSAL_REASON.search(low))):
        # A bare "address rejected" proves a dead address only under an address status (X.1.x, RFC 3463
        # §3.2); under a security or policy status (X.7.x) it is a policy, under any other the status says.
        # Under a status that says nothing (X.0.0, or none) the words after the prefix do: none, and the
        # refusal of the address is all there is; a reason of the server's own that no rule knows, and
        # nobody can tell.
        subject = status.split(".")[1] if status else ""
        reason, rule = reason_from_status(status) or ("rejected" if subject == "7" else "undefined"), \
            POLICY_REFUSAL_RULE
        evidence = f"{status}: {evidence}" if status else evidence
    elif reason == "userunknown" and status and status.split(".")[1] == "7" and (
            _says_policy(diagnostic) or (answered != "rcpt" and not AT_RCPT_COMMAND.search(low))):
        # Words of a dead address under a policy status. Postfix's access(5) "REJECT User unknown" is such a
        # reply: "554 5.7.1 <a@b>: Recipient address rejected: User unknown" (access_map_reject_code, X.7.1) is a
        # list somebody keeps, not a mailbox lookup, and it answers RCPT TO like the lookup does: where the
        # server wrote the X.7.x itself, the command named proves nothing. Where the reporting MTA made the
        # status (a bare "553 Invalid recipient"), a reply shown to answer RCPT TO keeps its words.
        reason, rule = "filtered", POLICY_DOUBT_RULE
    if reason == "userunknown" and answered != "rcpt" and _unproven_unknown(diagnostic, low, status, relayed, answered):
        reason, rule = "filtered", UNPROVEN_UNKNOWN_RULE
    hard = reason in HARD_REASONS and not temporary
    return Decision(reason, hard, rule, evidence)
