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

HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept"})


class Phrases:
    """An alternation matched against lower-cased text (no IGNORECASE: several times slower).

    Where every branch starts with a literal, the branches are filed under those
    literals, and a search only tries the branches of a literal where `str.find`
    sees it: sre has no multi-literal scan, and trying a 50-branch alternation at
    every position was a fifth of the classifier's time.
    """

    _LITERAL = re.compile(r"(?:\\b)?([a-z0-9][a-z0-9' ,:/-]{2,}|[^\x00-\x7f]{2,})")
    _GROUP = re.compile(r"(?:\\b)?\(([a-z ]+(?:\|[a-z ]+)+)\)(?![?*{])")

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.pattern = re.compile("|".join(parts))
        filed: dict[str, list[str]] = {}
        for branch in parts:
            literals = self._literals(branch)
            if not literals:
                self.index: tuple[tuple[str, re.Pattern[str]], ...] | None = None
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
        self.index = tuple((k, re.compile("|".join(dict.fromkeys(filed[k])))) for k in keys)

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
        literal = m.group(1)
        if branch[m.end():m.end() + 1] in ("?", "*", "{"):
            literal = literal[:-1]  # the last character is optional
        literal = literal.strip()
        return [literal] if len(literal) >= 2 else []

    def search(self, text: str) -> re.Match[str] | None:
        if self.index is None:
            return self.pattern.search(text)
        for literal, branches in self.index:
            at = text.find(literal)
            while at != -1:
                m = branches.match(text, at)
                if m:
                    return m
                at = text.find(literal, at + 1)
        return None


def phrases(*parts: str) -> Phrases:
    return Phrases(parts)


# "Recipient address rejected:" is also Postfix's prefix for any restriction on a recipient: alone it
# says the address was refused, not why (see decide()).
ADDRESS_REJECTED = phrases(r"address (is )?rejected", r"recipient (address )?rejected")

# (reason, pattern) in priority order: what the sender did wrong and what
# is passing come before what is wrong with the address.
REASON_PATTERNS: list[tuple[str, Phrases]] = [
    # Exchange Online's directory-based edge blocking: the recipient does not exist.
    ("userunknown", phrases(r"recipient address rejected: access denied")),
    ("rejected", phrases(
        r"sender (address|domain|e-?mail)", r"domain of sender",
        r"\bsender\b.{0,40}\b(rejected|denied|refused|not allowed|unknown|invalid|blocked|does not exist|doesn'?t exist)",
        r"(rejected|refused|denied|invalid|unknown|bad).{0,20}\bsender\b", r"mail from.{0,40}(rejected|refused|denied)",
        r"envelope (sender|from)", r"return[- ]path", r"\bfrom address\b", r"(not accepting|does not accept) (e-?)?mail from",
    )),
    # Our own HELO name refused: about the sending host, not the address.
    ("blocked", phrases(r"my name was rejected", r"\bhelo\b", r"\behlo\b")),
    ("authfailure", phrases(r"authentication (checks? )?fail", r"\bspf\b", r"\bdkim\b", r"\bdmarc\b", r"sender policy framework")),
    ("mailererror", phrases(r"procmail", r"couldn'?t create", r"mailer error", r"command (died|failed)", r"exit(ed)? (code|with|status)",
                        r"pipe to")),
    ("networkerror", phrases(r"name server reply", r"host not found, try again", r"temporary (dns|lookup|name ?server) (failure|error)",
                         r"\bservfail\b", r"dns (query )?timed? ?out")),
    ("mailboxfull", phrases(
        r"mailbox (is )?full", r"mail ?box (is )?(over|exceeded)", r"over ?quota", r"quota (exceeded|exceeds|full)",
        r"exceed(ed|s)? (the |his |her |their )?(storage|mailbox|disk|quota)", r"insufficient (disk )?(storage|space)",
        r"mailbox (size )?limit", r"disk (is )?full", r"not enough (disk )?(storage|space)", r"user is over (the )?quota",
        r"storage (space )?(is )?(full|exceeded)", r"mailfolder is full", r"too much mail data",
        r"recipient'?s? (mail)?box is full", r"full mailbox", r"mailbox has exceeded",
        r"number of messages in .{0,30}mailbox exceeded",
    )),
    ("exceedlimit", phrases(r"message (size )?exceeds? (the )?(fixed |maximum )?(message )?size", r"message too (big|large)",
                        r"size exceeds", r"exceeds size limit")),
    ("virusdetected", phrases(r"\bvirus", r"malware", r"infected")),
    ("spamdetected", phrases(
        r"\bspam\b", r"\bspamming\b", r"junk mail", r"content (was )?rejected", r"message content rejected",
        r"looks like spam", r"bulk mail", r"unsolicited", r"\buce\b",
    )),
    ("blocked", phrases(
        r"\bblock(ed| ?list(ed)?)\b", r"black ?list(ed)?", r"\bdenylist", r"\brbl\b", r"\bdnsbl\b", r"reputation", r"spamhaus",
        r"spamcop", r"client host .{0,80} rejected", r"access denied", r"connection refused", r"not allowed to send",
        r"your (ip|host|server|network)", r"rejected by (the )?(recipient )?(server|domain)'?s? policy",
        r"reverse (dns|lookup)", r"\bptr\b", r"\brdns\b", r"hostname .{0,60} does not resolve",
    )),
    ("policyviolation", phrases(r"\bpolicy\b", r"authentication (is )?required", r"not authori[sz]ed",
                            r"relay(ing)? (access )?denied", r"relay not permitted", r"unable to relay",
                            r"not permitted to relay", r"we do not relay")),
    ("toomanyconn", phrases(r"too many (connections|messages|recipients|concurrent)", r"rate limit", r"try again later",
                        r"temporarily (deferred|rejected|unavailable)", r"greylist", r"graylist", r"throttl")),
    ("suspend", phrases(
        r"(account|mailbox|user|address) (is |has been )?(disabled|suspended|inactive|deactivated|locked|frozen|expired|closed)",
        r"(disabled|suspended|inactive|deactivated|closed) (account|mailbox|user|recipient)",
        r"mailbox (is )?(temporarily )?(disabled|inactive)", r"not (currently )?active", r"is inactive",
    )),
    # The address moved, not the message ("moved to quarantine" is a filter's verdict).
    ("hasmoved", phrases(r"has moved", r"address (has )?changed", r"no longer (at|with|available at) this address",
                         r"(address|mailbox|user|recipient|account)( has)? moved to", r"moved to <?[\w.+-]+@",
                         r"new (e-?mail )?address is", r"has been replaced by")),
    ("hostunknown", phrases(
        r"host (or domain name )?(not found|unknown)", r"unknown host", r"domain (name )?(not found|does not exist|unknown)",
        r"no such domain", r"unrouteable (mail )?domain", r"name service error", r"host not found",
        r"domain (is )?not (exist|found|reachable)", r"nxdomain", r"no (valid )?(mx|a) (record|host)", r"mx (record )?not found",
        r"no mx found", r"unknown domain", r"invalid domain", r"domain .{0,60} (does not|doesn't) exist",
        r"unroutable address", r"unrouteable address", r"all relevant mx records point to non-existent hosts", r"illegal host/domain name",
        r"domain is not reachable", r"check the domain",
    )),
    # The domain takes no mail at all; "not accepting mail from you" is a block (soft).
    ("notaccept", phrases(r"does not accept (e-?)?mail(?! from)", r"not accepting (any )?mail(?! from)", r"null mx", r"accepts no mail",
                      r"no mail(s)? (is )?accepted", r"domain does not receive")),
    ("userunknown", phrases(
        r"user(name)? unknown", r"unknown (local[- ])?(user|recipient|address|mailbox|alias|account)",
        r"no such (user|recipient|mailbox|account|address|local user|person)",
        r"(user|recipient|mailbox|account|address|alias)\s*(does not|doesn'?t|did not) exist",
        r"(user|mailbox|recipient|address|account) (was )?not found",
        r"invalid (recipient|mailbox|user|address|e-?mail address)", r"(recipient|user|mailbox) (is )?(invalid|not valid)",
        r"not a (valid|known) (user|recipient|mailbox|address)", r"mailbox (is )?unavailable", r"mailbox not available",
        r"no mailbox", r"address (is )?(unknown|invalid)",
        r"unknown address", r"bad (recipient|destination|address)", r"couldn'?t be found", r"could not be found",
        r"you tried to reach does not exist", r"not (a )?(valid|existing) (e-?mail )?(user|address)",
        r"no (such )?user (here|by that name)", r"user (not|isn'?t) (here|local)", r"undeliverable address",
        r"recipient unknown", r"is not a known user", r"unknown or illegal alias", r"not listed in",
        r"no longer (valid|exists|in use)", r"addressee unknown", r"unknown (e-?mail )?name", r"user (is )?(not|no longer) (found|valid)",
        r"(mailbox|user|address|recipient) (name )?(is )?(not|no longer) (available|valid|existing|recogni[sz]ed)",
        r"invalid address", r"does not exist", r"doesn'?t exist", r"unknown user", r"non-?existent",
        r"not our customer", r"account (does not exist|not found)", r"invalid .{0,20}userid", r"no valid recipients",
        r"name is not recogni[sz]ed",
    )),
    ("userunknown", ADDRESS_REJECTED),
    ("expired", phrases(r"delivery time expired", r"retry (time(out)?|period) exceeded", r"time(d)? ?out", r"timed out",
                    r"message expired", r"queue(d)? too long", r"could not be delivered within",
                    r"has not been delivered .{0,40} days", r"delivery (attempts )?(will continue|has been delayed)",
                    r"maximum time", r"expired after", r"envelope expired")),
    ("networkerror", phrases(r"network (error|unreachable)", r"no route to host", r"connection (reset|closed|lost)", r"lost connection",
                         r"too many hops", r"mail loop", r"loops? back", r"routing loop")),
    ("systemerror", phrases(r"system error", r"internal (server )?error", r"local error", r"temporary (local )?(problem|failure)",
                        r"server (is )?(busy|unavailable)", r"service (is )?(not )?available", r"resources? (temporarily )?unavailable",
                        r"i/o error", r"out of memory")),
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
    "3.0": "systemerror",
    "3.1": "mailboxfull",
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
    "7.26": "policyviolation",
}

AFTER_DATA = re.compile(r"\bDATA\b|end of data|after data")
# Where an SMTP reply says it answered the recipient itself (RCPT TO, or the
# wording only a recipient check produces). Not a header naming the recipient
# (X-RCPT-TO, Original-Rcpt-To) nor a listing of the envelope ("RCPT TO: a@b").
AT_RCPT = phrases(r"(?<!-)\brcpt(?!\s*to:\s*[^\s<]*@)(?:\b|_to)", r"does not like recipient", r"recipient address rejected",
                  r"in local recipient table", r"in virtual (?:alias|mailbox) table",
                  r"in relay recipient table")  # lower-cased
# Failure statuses only: a transcript's "250 2.1.0 Ok" is the step that went well.
STATUS_RX = re.compile(r"\b([45])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_CODE_RX = re.compile(r"(?<![\d.])([245])\d\d(?![\d.])")


def find_status(text: str) -> str | None:
    m = STATUS_RX.search(text)
    return m.group(0) if m else None


def precise_status(text: str) -> str | None:
    """The first status in the text that says more than x.0.0."""
    return next((m.group(0) for m in STATUS_RX.finditer(text) if not m.group(0).endswith(".0.0")), None)


def settled_status(status: str | None, text: str) -> str | None:
    """A report's status, or a more precise one from its text when the report says only x.0.0 (or nothing)."""
    if status and not status.endswith(".0.0"):
        return status
    return precise_status(text) or status or find_status(text)


MAX_REASON_TEXT = 2000

def reason_from_text(text: str) -> str | None:
    text = text[:MAX_REASON_TEXT].lower()
    for reason, pattern in REASON_PATTERNS:
        if pattern.search(text):
            return reason
    return None


# What a report may say of the mailbox's state that makes a "dead address" verdict doubtful.
_STATES = ("mailboxfull", "suspend")


def stated_state(prose: str) -> str | None:
    """A passing mailbox state (full, disabled) the prose states, when it states no dead address beside it."""
    text = prose[:MAX_REASON_TEXT].lower()
    found = None
    for reason, pattern in REASON_PATTERNS:
        if reason in HARD_REASONS and pattern.search(text):
            return None
        if found is None and reason in _STATES and pattern.search(text):
            found = reason
    return found


def reason_from_status(status: str | None) -> str | None:
    if not status:
        return None
    cls, _, subject = status.partition(".")
    if cls == "4":
        # Temporary by definition; the subject still tells *why*.
        reason = STATUS_REASONS.get(subject)
        return reason if reason in ("mailboxfull", "expired", "networkerror", "systemerror") else "expired" if subject == "4.7" else "onhold"
    return STATUS_REASONS.get(subject)


def _unproven_unknown(diagnostic: str, status: str | None, relayed: bool) -> bool:
    """A remote server's "user unknown" counts only when it came at RCPT or the status names the address.

    Gateways that filter content answer "550 Unknown user" after DATA; an
    answer at an unknown stage, with a status that does not say the mailbox
    is bad, is not proof enough to stop mailing a contact. A delivery agent's
    own words (no SMTP reply quoted, no Diagnostic-Code that says it quotes
    one) are: it looked in its own directory.
    """
    if AFTER_DATA.search(diagnostic):
        return True
    if AT_RCPT.search(diagnostic.lower()):
        return False
    if status and status.split(".")[1] in ("1", "5"):
        # x.1.x names the address; x.5.x is the reply to a command, and "550 5.5.0 mailbox
        # unavailable" is what RFC 5321 servers answer to RCPT for a mailbox they lack.
        return False
    return relayed or bool(SMTP_CODE_RX.search(diagnostic))


def _only_refused(text: str) -> bool:
    """The text's only word for an unknown user is the bare "address rejected"."""
    low = text[:MAX_REASON_TEXT].lower()
    return not any(rule.search(low) for reason, rule in REASON_PATTERNS if reason == "userunknown" and rule is not ADDRESS_REJECTED)


def decide(diagnostic: str, status: str | None, permanent_hint: bool | None = None,
           gave_up: bool = False, relayed: bool = False) -> tuple[str, bool]:
    """(reason, hard). Text first, then status; hard only for an address-level reason and a permanent failure.

    `relayed`: the diagnostic is a remote server's reply (an SMTP or untyped
    Diagnostic-Code), even when the reply code was lost on the way.
    """
    reason = reason_from_text(diagnostic) or reason_from_status(status) or "undefined"
    if status and status[1:] in (".1.7", ".1.8"):
        # A bad sender address (RFC 3463): whatever the words ("sender does not exist"), it is ours.
        reason = "rejected"
    # A 4.1.x on a DSN whose Action is "failed": the MTA retried until it gave up, and the
    # last answer still said the address is bad. That is as final as a 5.1.x.
    temporary = bool(status and status.startswith("4.")) and not (gave_up and status.startswith("4.1."))
    if not status:
        m = SMTP_CODE_RX.search(diagnostic)
        if m and m.group(1) == "4":
            temporary = True
        if permanent_hint is False:
            temporary = True
    if reason == "userunknown" and status and status.split(".")[1] == "7" and _only_refused(diagnostic):
        # A refusal under a security or policy status (x.7.x) that names no dead address: policy.
        reason = reason_from_status(status) or "rejected"
    if reason == "userunknown" and _unproven_unknown(diagnostic, status, relayed):
        reason = "filtered"
    hard = reason in HARD_REASONS and not temporary
    return reason, hard
