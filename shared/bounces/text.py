"""Recipients from the human-readable part of a bounce: the formats of qmail, Exim,
Sendmail, Postfix, Exchange, Domino, Yahoo, Gmail and the long tail of MTAs
that write prose instead of RFC 3464 fields.

The text is cut where the returned original message begins, and each line
is matched lower-cased, so no pattern needs IGNORECASE (several times
slower on long alternations).
"""

from __future__ import annotations

import re

from . import dsn, patterns
from .model import Failure
from .reasons import STATUS_RULE, STATUS_RX, UNDEFINED_RULE, Decision, decide, find_status, phrases

# Not "notifications": GitHub, Jira and their like send ordinary mail from it. "MicrosoftExchange" and 32 hex
# digits (MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e) is Exchange's system mailbox, which sends its NDRs.
DAEMON_LOCALPARTS = patterns.compile(
    r"^(mailer-?daemon|post_?master|mail-?daemon|mdaemon|mailadmin|mail\.?delivery|smtp-?gateway|bounces?|"
    r"mail-?router|mmdf|root|double-?bounce|nobody|mailerdaemon|mta|nd[rn]|microsoftexchange[0-9a-f]{32})$")
PERMANENT_TEXT = phrases(r"permanent(ly)? (error|fail)", r"fatal error", r"failed permanently", r"i've given up",
                         r"will not be retried", r"permanent failure", r"could not be delivered")
TEMPORARY_TEXT = phrases(r"will (continue|be) (to )?(re)?tr(y|ied)", r"temporar(y|ily) (error|fail|problem)",
                         r"delivery (has been |is )?delayed", r"still trying", r"will keep trying", r"not yet been delivered",
                         r"this is a warning", r"no action is required")

# Where the returned original message starts inside a text part (lower-cased). These line patterns start
# with "\n" and are searched in "\n" + text: a literal first character sre scans for quickly, where a
# multi-line ^ was tried at every character. A match's start is then the line's start in the text.
# The runs are possessive (*+, {2,}+; Python 3.11): a line of 76 "=" was otherwise given back one by one,
# each length trying every phrase, a tenth of a millisecond for each such line.
CUT_RX = patterns.compile(
    r"\n[ \t>]*+(?:[-=*_#]{2,}+[ \t]*+)?(?:"
    r"below this line is a copy of the message|this is a copy of the message|"
    r"(?:the )?original message (?:follows|headers|is attached|text)|original message ?[-=]|"
    r"[-=]+ ?original message|"
    r"returned message|undelivered message|unsent message|message headers follow|your message (?:reads|follows)|"
    r"text of (?:the )?returned message|included is a copy|a copy of the (?:original )?message|"
    r"original text follows|headers of the original message|original message header|"
    r"the (?:text|headers) (?:of|from) (?:the |your )?(?:original |returned )?message|"
    r"message (?:text|content|body) follows|copy of (?:the |your )?message|original message:|"
    r"returned (?:mail|content)|original message details|content-type: message/rfc822)",
)
CUT_ANYCASE_RX = patterns.compile(CUT_RX.pattern, re.I)  # for the rare text whose lower() changes its length
# A word each of CUT_RX's phrases holds: only a line that holds one can start the original, and sre, tried at
# every line, spent more time on a report's prose than `str.find` on these (a test checks every phrase holds one).
CUT_WORDS = ("message", "included is a copy", "original text follows", "returned ")
# Field names are case-insensitive (RFC 5322 §1.2.2): Exim writes "Return-path:", many clients "Mime-Version:".
# Matched lower-cased, as CUT_RX is.
HEADER_BLOCK_RX = patterns.compile(r"\n(?:return-path|received|message-id|dkim-signature|x-mailer|mime-version)[ \t]*:")
HEADER_BLOCK_ANYCASE_RX = patterns.compile(HEADER_BLOCK_RX.pattern, re.I)
# A header line, of the report or of the returned message, also under the "> " of a forwarded bounce.
HEADERISH_LINE = patterns.compile(r"^[\s>]*(from|to|cc|bcc|reply-to|sender|return-path|message-id|in-reply-to|references|"
                                  r"received|delivered-to|x-[\w-]+|envelope-to|subject|date)\s*:")
_ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+(?![A-Za-z0-9_-]|\.[A-Za-z0-9])"
# A line that starts with an address. Sendmail's transcript writes each failed recipient as
# "550 <user@host>... User unknown" (an SMTP code, the address, "...", the reason), so a code may lead.
RECIPIENT_LINE = patterns.compile(
    r"^[\s>*•\[\"'-]*(?:[45]\d\d[ -])?(?:(?:failed|invalid|unknown|original|final)?[ -]?recipient(?:\(s\))?s?\s*:\s*|"
    r"(?:original |recipient )?address(?:es)?\s*:\s*|user\s*:\s*|rcpt to\s*:?\s*|<)?"
    rf"<?({_ADDR})>?[\]\"']?"
    r"\s*(?:[:.,;(<\"]|\.\.\.|\s|=20|$)(.*)$")
# "a@b <c@d>": in a name-addr (RFC 5322 §3.4) the mailbox is the angle-addr, and what precedes it is a display
# name, even one that looks like an address. Exim lists a To: it could not parse that way ("incorrectly constructed").
ANGLE_ADDR_AFTER = patterns.compile(rf"[ \t]*<({_ADDR})>")
TRANSCRIPT_ENTRY = patterns.compile(r"[45]\d\d[ -]\S+(?:\s+\(\w+\))?\.\.\. ")
INLINE_RECIPIENT = patterns.compile(
    r"(?:deliver(?:ed|y)?|sen[dt]|forward(?:ed)?|reach)\s+(?:of\s+)?(?:(?:your|the|this)\s+(?:message|e-?mail|mail)\s+)?"
    r"(?:to|for)\s*:?\s*(?:(?:the )?(?:following )?(?:recipient|address|user)s?\b:?\s*)?[\"'<\[]*"
    rf"({_ADDR})")
FAILED_FOR = patterns.compile(
    r"(?:was addressed|violation|(?:quota|mailbox) (?:exceeded|full)|over quota|unknown user|user unknown|no such user)"
    rf"\s*,?\s*(?:for|to)?\s*:?\s*[\"'<]*({_ADDR})")
# Words that name the failed recipient outright, so even an address of the bounce's own header counts:
# "There was an error delivering your mail to <%s>." (the DragonFly Mail Agent, dma's mail.c bounce()).
NAMED_FAILED = patterns.compile(rf"error delivering your (?:mail|message) to\s*<?({_ADDR})")
EXPANDED_FROM = patterns.compile(rf"\((?:expanded|generated|forwarded|redirected) from:?\s*<?({_ADDR})>?")
# Oracle (Sun ONE) Messaging Server's report gives each recipient as "Recipient address:" (where it went, perhaps
# a source route) and "Original address:" (the one we mailed), then "Reason:" and "Diagnostic code:".
ORIGINAL_ADDRESS = patterns.compile(rf"^\s*original[ -]address\s*:\s*<?({_ADDR})")
# A server's reply before an address on its line: its code or enhanced status ("<<< 550 5.1.1 <x>... User
# unknown", "Remote host said: 553 5.1.8 <x>... Domain of sender address x does not exist", "(reason: 550 ...").
REPLY_BEFORE = patterns.compile(r"(?<![\w.])(?:[245]\d\d(?=[ -])|[245]\.\d{1,3}\.\d{1,3}(?=\s))")
# sendmail's own line on a recipient, "550 5.1.1 <user@host>... User unknown" (its "%s... %s"): the address.
OWN_ENTRY = patterns.compile(rf"^[245]\d\d[ -](?:[245]\.\d{{1,3}}\.\d{{1,3}} )?<?({_ADDR})>?\.\.\. ")
FROM_BEFORE = patterns.compile(r"(?:\bfrom|sender)\s*:?\s*[\"'<]*$")
LIST_INTRO = phrases(
    r"following (e-?mail )?(address|recipient|destination|user)", r"could not be delivered to", r"not be delivered to",
    r"failed to deliver to", r"delivery to the following", r"undeliverable to", r"unable to deliver (your message )?to",
    r"delivery has failed to", r"couldn'?t be delivered to", r"wasn'?t delivered to", r"not delivered to",
    r"the address(?:es)? failed", r"address(?:es)? failed", r"error(?:s)? (?:occurred|happened) (?:while|during)",
    r"permanent fatal errors", r"unknown user", r"user unknown", r"was rejected", r"could not deliver",
    r"problem delivering", r"recipients? (?:were|was) unknown", r"invalid recipients?", r"failed recipients?",
    r"deliver your message to", r"delivery failed", r"did not reach", r"send to", r"sent to", r"addressed to",
    r"destinat", r"宛先", r"送信先", r"recipient",
    # dma's bounce (mail.c): "There was an error delivering your mail to <%s>."
    r"delivering your (?:mail|message) to",
    # Exchange's NDR in German and French: "Die Zustellung an folgende Empfänger oder Gruppen ist
    # fehlgeschlagen:", "La remise aux destinataires ou groupes suivants a échoué :"
    r"zustellung an folgende", r"remise aux destinataires")

# Where a report lists the recipients the mail did reach: nobody there failed, and an address listed there is
# nobody's bounce wherever else the report names it (a transcript's "<a@b>... relayed"). Each is the opening of
# a mail server's notice of delivery, which comes without a delivery-status part when a relay stripped it or
# the server writes none; sendmail and Exim put such a list in a failure report beside the failures.
DELIVERED_INTRO = phrases(
    r"following addresses had successful delivery notifications",  # sendmail savemail.c errbody(); Exim's success DSN
    r"your message was successfully delivered to the destination",  # Postfix bounce(5), success_template
    r"your message has been delivered to the following recipients",  # Exchange's delivery notice ("Delivered:")
    r"delivery to these recipients or groups is complete",  # Exchange's relay notice ("Relayed:")
)
# An entry's SMTP reply that took the message, with its RFC 3463 success status ("250 2.0.0 Ok: queued as ..."),
# as Postfix writes each recipient of its success and verify reports ("delivery via host[addr]:25: 250 2.1.5
# Ok"); and any reply of failure (4xx, 5xx, or their statuses) beside it.
SUCCESS_REPLY = patterns.compile(r"(?<![\d.])2\d\d[ -]2\.\d{1,3}\.\d{1,3}\b")
FAILURE_REPLY = patterns.compile(r"(?<![\d.])[45](?:\d\d[ -]|\.\d{1,3}\.\d{1,3}\b)")
# Of those notices, the words that say the mail was handed on rather than put in a mailbox (RFC 3464 §2.3.3
# "relayed"): sendmail's "(relayed to non-DSN-aware mailer)", Exchange's relay notice.
RELAYED_TEXT = phrases(r"relayed to non-dsn-aware mailer", r"no delivery notification was sent by the destination")


CONTACT_LINE = patterns.compile(r"contact|assistance|questions|help ?desk|administrator|send (e-?mail|mail|a message) to|"
                                r"report this|support|for more information|if you (have|need)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _goes_on_with_a_reply(low: list[str], start: int, j: int) -> bool:
    """Line j goes on with a reply begun in the entry of lines start..j-1: it is indented deeper than the
    entry's first line, and a reply's code came in the entry (Postfix folds a long reply onto lines indented
    by four, one of which may start with an address the reply names)."""
    return _indent(low[j]) > _indent(low[start]) and any(REPLY_BEFORE.search(line) for line in low[start:j])


def _contact_line(low: str) -> bool:
    """The sentence of the line that names an address asks to contact somebody ("please contact
    postmaster@..."), not a line that goes on to say so after naming the recipient (Gmail's "Your message
    to a@b has been blocked. See technical details below for more information.")."""
    at = low.find("@")
    start = low.rfind(". ", 0, at) + 1
    end = low.find(". ", at)
    return bool(CONTACT_LINE.search(low, start, len(low) if end == -1 else end))


def _first_cut(low: str) -> int:
    """Where CUT_RX.search(low) would match first, or -1: the first line, of those holding a CUT_WORDS word,
    that CUT_RX matches at its start (each phrase lies within its line)."""
    first = -1
    for word in CUT_WORDS:
        at = low.find(word)
        while at != -1 and (first == -1 or at < first):
            line = low.rfind("\n", 0, at)
            if CUT_RX.match(low, line):
                first = line
                break
            next_line = low.find("\n", at)
            at = -1 if next_line == -1 else low.find(word, next_line)
    return first


def cut_original(text: str) -> str:
    """The text before the returned original message begins."""
    low = "\n" + text.lower()
    # Matched lower-cased, not with IGNORECASE (twice as fast), where lower() keeps the offsets.
    if len(low) == len(text) + 1:
        cut = _first_cut(low)
        h = HEADER_BLOCK_RX.search(low, 0, len(low) if cut == -1 else cut)
    else:
        m = CUT_ANYCASE_RX.search("\n" + text)
        cut = m.start() if m else -1
        h = HEADER_BLOCK_ANYCASE_RX.search("\n" + (text if cut == -1 else text[:cut]))
    if h and h.start() > 0:
        return text[: h.start()]
    return text if cut == -1 else text[:cut]


def header_addresses(heads: dict[str, list], *names: str) -> set[str]:
    # A plain scan, not getaddresses(): these only exclude candidates, and it is 10x faster.
    return {a.lower() for name in names for v in heads.get(name, ()) for a in dsn.ADDRESS_RX.findall(str(v))}


_ADDRESS_TYPE = patterns.compile(r"^(smtp|rfc822|mailto)[=:]")  # RFC 3464's "rfc822;", and what MTAs write instead
_ADDRESS_TYPES = ("smtp", "rfc822", "mailto")  # what _ADDRESS_TYPE starts with: a sub() costs a microsecond


def clean(address: str) -> str:
    a = address.strip(".'\"`").lower()
    return _ADDRESS_TYPE.sub("", a) if a.startswith(_ADDRESS_TYPES) else a


# "(expanded from" at the end of a line: Postfix folds its "<final@x> (expanded from <alias@y>): reason"
# at about 76 columns, and the alias we mailed then starts the next line.
_EXPANDED_AT_END = patterns.compile(r"\((?:expanded|generated|forwarded|redirected) from:?[ \t]*$")
_EXPANDED_AT_LINE_END = patterns.compile(_EXPANDED_AT_END.pattern, re.M)  # the same, anywhere in a text


def _with_aliases_joined(lines: list[str]) -> list[str]:
    """The lines, each one that ends in "(expanded from" joined with the next, so the alias is on its line."""
    out: list[str] = []
    skip = False
    for i, line in enumerate(lines):
        if skip:
            skip = False
            continue
        if i + 1 < len(lines) and "from" in line and _EXPANDED_AT_END.search(line):
            out.append(f"{line} {lines[i + 1].lstrip()}")
            skip = True
        else:
            out.append(line)
    return out


def _alias_after(lines: list[str], i: int) -> str | None:
    """The alias the recipient entry starting at line i goes on to say it was expanded from: on the next line
    (Postfix, folded), or on one of its indented continuation lines (sendmail's "    (expanded from: <a@b>)",
    Messaging Server's "  Original address: a@b")."""
    j = i + 1
    while j < len(lines) and j <= i + 4 and lines[j].strip():
        alias = EXPANDED_FROM.search(lines[j]) or ORIGINAL_ADDRESS.match(lines[j])
        if alias:
            return clean(alias.group(1))
        j += 1
        if j < len(lines) and lines[j][:1] not in (" ", "\t"):
            return None
    return None


_LOCAL_PART_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~.-")


def _names(line: str, address: str) -> bool:
    """The lower-cased line names the address itself, not one that ends or begins with it ("bob@example.com" is
    in "jimbob@example.com" and in "bob@example.com.au", and names neither)."""
    at = line.find(address)
    while at != -1:
        end = at + len(address)
        before = line[at - 1] if at else ""
        after = line[end:end + 2]
        if before not in _LOCAL_PART_CHARS and not (after[:1].isalnum() or after[:1] in ("-", "_")
                                                    or (after[:1] == "." and after[1:2].isalnum())):
            return True
        at = line.find(address, at + 1)
    return False


_PARAGRAPH_BREAK = patterns.compile(r"\n[ \t]*\n")
# An enhanced status (the classifier's STATUS_RX) or a reply code (2xx aside: a success says no reason).
_REPLY_CODE = patterns.compile(rf"{STATUS_RX.pattern}|(?<![\w.-])[45]\d\d(?:[ -]|$)", re.M)


class ReportText:
    """The report's prose, split once: lines as written (for diagnostics) and lower-cased (for matching)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines()
        self.low = [line.lower() for line in self.lines]
        self.low_text = "\n".join(self.low)
        self._permanence: bool | None | str = "unknown"
        self._delivered: set[str] | None = None
        self._index: dict[str, list[int]] | None = None
        self._lookups = 0
        self._whole: dict[str, Decision] = {}
        self._bare_end: list[int] | None = None
        # the transcript's replies by their first line, and by the address sendmail's own line under one names
        self._transcript: tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]] | None = None

    def permanence(self) -> bool | None:
        """False when the report says it will retry, True when it says it gave up, None when silent."""
        if self._permanence == "unknown":
            self._permanence = (
                False if TEMPORARY_TEXT.search(self.low_text) else True if PERMANENT_TEXT.search(self.low_text) else None
            )
        return self._permanence  # type: ignore[return-value]

    def delivered(self) -> set[str]:
        """The addresses the report lists as reached (DELIVERED_INTRO), up to the next list it opens (sendmail's
        "----- ... -----" headings) or the words of a failure."""
        if self._delivered is None:
            found: set[str] = set()
            if DELIVERED_INTRO.search(self.low_text):
                inside = False
                for low in self.low:
                    if DELIVERED_INTRO.search(low):
                        inside = True
                    elif inside and (low.lstrip().startswith("-----") or PERMANENT_TEXT.search(low)
                                     or TEMPORARY_TEXT.search(low)):
                        inside = False
                    if inside and "@" in low:
                        found.update(clean(a) for a in dsn.ADDRESS_RX.findall(low))
            self._delivered = found
        return self._delivered

    def relayed(self) -> bool:
        """The report says the mail was handed on to a server that sends no notices (RELAYED_TEXT)."""
        return bool(RELAYED_TEXT.search(self.low_text))

    def transcript_reply(self, reply: str) -> tuple[str, str]:
        """What a transcript of the SMTP dialogue (sendmail's "<<< " and ">>> " lines) shows of the server's
        reply whose first line is `reply`: what it answered ("greeting", "mail", "rcpt", "data" or "" when the
        transcript cannot tell) and the whole reply, all its lines (RFC 5321 §4.2.1), where a delivery-status
        part quotes only the first (sendmail's Diagnostic-Code does). ("", "") when no transcript line holds
        it."""
        key = " ".join(reply.split()).lower()
        return self._replies()[0].get(key, ("", "")) if key else ("", "")

    def transcript_reply_to(self, address: str) -> tuple[str, str]:
        """transcript_reply for the reply sendmail's own line below it says the address failed on ("550 5.1.1
        <user@host>... User unknown"): for a report whose delivery-status part has no Diagnostic-Code for the
        address (sendmail leaves it out where the server's enhanced status contradicts its reply code)."""
        return self._replies()[1].get(address.lower(), ("", ""))

    def _replies(self) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
        if self._transcript is None:
            self._transcript = _transcript_replies(self.lines, self.low) if "<<< " in self.low_text else ({}, {})
        return self._transcript

    def answered_in(self, text: str) -> str:
        """What the transcript shows that the reply `text` quotes had answered ("greeting", "mail", "rcpt",
        "data"), where `text` quotes one reply of it and the transcript can tell; else "". Sendmail's
        returned-mail text gives each address's reply as "(reason: 550 ...)" (savemail.c, errbody()) and its
        transcript, below, the command the reply answered."""
        if "<<< " not in self.low_text:
            return ""
        flat = " ".join(text.split()).lower()
        found = {answered for key, (answered, _) in self._replies()[0].items() if key and key in flat}
        return found.pop() if len(found) == 1 else ""

    def near(self, address: str | None) -> str:
        """The lines about one address: its line and what continues it, or the paragraph after it."""
        if not address:
            return ""
        target = address.lower()
        at = self._naming(target, first_only=True)
        return self._about(at[0], target) if at else ""

    def later_mentions(self, address: str) -> list[str]:
        """The lines about the address at each later line that names it: Exchange names every recipient twice,
        its reply only in the second place ("Diagnostic information for administrators")."""
        target = address.lower()
        at = self._naming(target)
        return [self._about(i, target) for i in at[1:] if i - 1 not in at]

    def _naming(self, target: str, first_only: bool = False) -> list[int]:
        """The lines that name the lower-cased address (_names), in order (`first_only`: the first, if any).
        The first few lookups scan the lines (most reports name one or two recipients); after them an index of
        every address the lines hold is built once, as a report naming thousands of recipients was read in
        time quadratic in its length. An address the index lacks (a utf-8 one, say) is looked for line by line."""
        self._lookups += 1
        if self._index is None and self._lookups > 4:
            index: dict[str, list[int]] = {}
            for i, line in enumerate(self.low):
                if "@" in line:
                    for found in dsn.ADDRESS_RX.findall(line):
                        # Under its cleaned spelling too ("'a@b'" -> "a@b"), the one candidates are looked up by
                        for key in (found, clean(found)):
                            lines = index.setdefault(key, [])
                            if not lines or lines[-1] != i:
                                lines.append(i)
            self._index = index
        if self._index is not None:
            indexed = self._index.get(target)
            if indexed is not None:
                return indexed
        scan = (i for i, line in enumerate(self.low) if target in line and _names(line, target))
        if first_only:
            first = next(scan, None)
            return [] if first is None else [first]
        return list(scan)

    def _about(self, idx: int, target: str) -> str:
        """The lines about the address `target` (lower-cased) that line idx names."""
        lines, low = self.lines, self.low
        alias = EXPANDED_FROM.search(low[idx])
        if alias and alias.group(1) == target and not RECIPIENT_LINE.match(low[idx]):
            # Sendmail's "    (expanded from: <alias>)" ends the entry of the address the alias became: the
            # entry, from its first line, is about the alias.
            k = idx - 1
            while k >= 0 and low[k].strip() and idx - k <= 6 and not RECIPIENT_LINE.match(low[k]):
                k -= 1
            if k >= 0 and low[k].strip() and RECIPIENT_LINE.match(low[k]):
                return " ".join(" ".join(lines[k:idx + 1]).split())[:1000]
        chunk = [lines[idx]]
        j = idx + 1
        # In sendmail's transcript every entry is a line of its own that starts with a reply code
        # ("554 <a@b>... reason", "550 host (smtp)... reason"): the next such line is another entry.
        transcript = TRANSCRIPT_ENTRY.match(low[idx])
        while j < len(lines) and low[j].strip() and not self._other_recipient(j, target, idx) and len(chunk) < 12 \
                and not (transcript and TRANSCRIPT_ENTRY.match(low[j])):
            chunk.append(lines[j])
            j += 1
        joined = " ".join(" ".join(chunk).split())
        if len(joined) <= len(target) + 16:
            # The address stood alone (perhaps with "because:"): its reason is the next paragraph. In a list of
            # bare addresses, that is the paragraph after the list (a blank line apart), which they all share.
            k = self._bare_run_end(j)
            if k > j and k < len(lines) and not low[k].strip():
                j = k
            while j < len(lines) and not low[j].strip():
                j += 1
            while j < len(lines) and low[j].strip() and not self._other_recipient(j, target) and len(chunk) < 16:
                chunk.append(lines[j])
                j += 1
            joined = " ".join(" ".join(chunk).split())
        return joined[:1000]

    def besides(self, address: str) -> str:
        """The prose without the lines that name the address: what the report says in its own words."""
        at = set(self._naming(address.lower()))
        return "\n".join(line for i, line in enumerate(self.low) if i not in at)

    def _bare_run_end(self, j: int) -> int:
        """The first line from j on that is not an address and nothing else (an entry of a bare list); worked
        out for all lines at once, as every entry of a long list asks."""
        if self._bare_end is None:
            ends = [0] * (len(self.low) + 1)
            ends[len(self.low)] = len(self.low)
            for i in range(len(self.low) - 1, -1, -1):
                m = RECIPIENT_LINE.match(self.low[i]) if "@" in self.low[i] else None
                ends[i] = ends[i + 1] if m and not m.group(2).strip() else i
            self._bare_end = ends
        return self._bare_end[j]

    def _other_recipient(self, j: int, target: str, start: int = -1) -> bool:
        """Line j starts another address's entry: it starts with an address, and does not go on with a reply
        begun in the entry that starts at line `start` (-1: none)."""
        m = RECIPIENT_LINE.match(self.low[j])
        return bool(m and m.group(1) != target) and not (start >= 0 and _goes_on_with_a_reply(self.low, start, j))

    def recipients(self, heads: dict[str, list], x_failed: list[str], *, named_only: bool = False) -> list[Failure]:
        """Failed recipients named in prose, each with its reason. `heads`: the bounce's headers, lower-cased names.
        `named_only`: only addresses the text names as a report names a failed one, never merely the one
        address it mentions (for mail whose only sign of a bounce is its subject)."""
        candidates = self._candidates(heads, x_failed, named_only)
        out = []
        for address in candidates:
            near = self.near(address)
            if " 2." in near and SUCCESS_REPLY.search(near) and not FAILURE_REPLY.search(near):
                # Its own entry is the reply that took the message: a report of deliveries (Postfix's
                # verify_template lists both kinds) names it as reached, not failed.
                self.delivered().add(address)
                continue
            status = find_status(near) or (find_status(self.text) if len(candidates) == 1 else None)
            basis = near if len(near) > len(address) + 8 else self.text
            d = decide(near, status, self.permanence(), answered=self.answered_in(near)) if basis is near \
                else self._decided_whole(status)
            if basis is near and (d.reason == "undefined" or d.rule == STATUS_RULE):
                # No words beside its first mention: a later one may hold the server's reply, whose words say
                # more than a status alone (DragonFly names the recipient, then the reply that names it again).
                for later in self.later_mentions(address):
                    later_status = find_status(later) or status
                    d_later = decide(later, later_status, self.permanence(), answered=self.answered_in(later))
                    if d_later.rule not in (STATUS_RULE, UNDEFINED_RULE) or \
                            (d.reason == "undefined" and d_later.reason != "undefined"):
                        d, near, status = d_later, later, later_status
                        break
            if basis is near and len(candidates) == 1 and (d.reason == "undefined" or d.rule == STATUS_RULE):
                # No words beside the address: the report's other words may say why (dma puts the reply
                # on the lines after the one naming the address) — when they are about this address alone.
                whole = self._decided_whole(status)
                d = whole if whole.rule not in (STATUS_RULE, UNDEFINED_RULE) or d.reason == "undefined" else d
            out.append(Failure(address, d.hard, status, d.reason, near[:1000] or self.text.strip()[:1000],
                               rule=d.rule, evidence=d.evidence))
        return out

    def _decided_whole(self, status: str | None) -> Decision:
        """decide() on the whole prose (on its paragraphs that hold a reply, where their words decide), once
        for each status asked with: every recipient of a long list that stands alone asks it, and deciding
        200 KB of text again for each was quadratic in the report's size."""
        found = self._whole.get(status or "")
        if found is None:
            found = decide(self.text, status, self.permanence())
            # (Words on a line with a reply code are in a reply paragraph: no need to find the paragraphs.)
            asked = found.rule not in (STATUS_RULE, UNDEFINED_RULE) and not _REPLY_CODE.search(found.evidence)
            replies = self._reply_paragraphs() if asked else ""
            if replies and found.evidence not in " ".join(replies.split()):
                # The words that decided lie outside every reply: a filter's banner or footer, it may be.
                # (Within one, they are the replies' first words of any rule too: the same decision.)
                in_replies = decide(replies, status, self.permanence())
                if in_replies.rule not in (STATUS_RULE, UNDEFINED_RULE):
                    found = in_replies
            self._whole[status or ""] = found
        return found

    def _reply_paragraphs(self) -> str:
        """The paragraphs of the prose that hold a server's reply (an SMTP reply code, RFC 5321 §4.2, or an
        enhanced status, RFC 3463): where a report that names nobody gives its reason. Their words outweigh
        the rest's, whose first words of some rule may be a filter's banner or footer ("scanned for viruses
        by MailScanner") rather than why the mail failed. "" when there are none, or nothing else."""
        paragraphs = _PARAGRAPH_BREAK.split(self.text)
        replies = [p for p in paragraphs if _REPLY_CODE.search(p)]
        return "\n\n".join(replies) if 0 < len(replies) < len(paragraphs) else ""

    def _candidates(self, heads: dict[str, list], x_failed: list[str], named_only: bool = False) -> list[str]:
        addressed = header_addresses(heads, "to", "delivered-to", "x-original-to")
        sender = header_addresses(heads, "from")
        own = addressed | sender | header_addresses(heads, "cc", "reply-to", "sender", "return-path")
        # The bounce's To is usually us; it may also be the failed address when someone mailed themselves.
        never = (own - addressed) | self.delivered()
        candidates: dict[str, None] = {}  # in order; a dict, as a report may name thousands

        def add(address: str, line: str, strict: bool) -> None:
            a = clean(address)
            if "@" not in a or a in candidates or a in never:
                return
            # Our own addresses and daemons only count where the report names them as the failed one.
            if not strict and (a in own or DAEMON_LOCALPARTS.match(a.partition("@")[0])):
                return
            at = line.find(a)
            if not strict and at > 0 and FROM_BEFORE.search(line[:at]):
                return  # "not accepting mail from x@y", "MAIL FROM:<x@y>": the sender, not a recipient
            candidates[a] = None

        def replied(address: str, i: int, entry: int) -> bool:
            """The address on line i stands in a server's reply quoted in the entry open since line `entry` (-1:
            none): after the reply's code on its line, or on a line that goes on with a reply begun above it
            (Postfix folds its lines); or in a transcript's "<<< " line (sendmail's usersmtp.c, reply(): what the
            server answered, each failed recipient already listed above it). Not a recipient of its own, then:
            the sender the server refused, the mailbox an alias led to, another recipient's error. A line that
            starts with the code is the reporting MTA's own entry, not a quote: sendmail's "554 <user@host>...
            Remote protocol error" (usrerr())."""
            line = low_lines[i]
            at = line.find(address)
            return at > 0 and clean(address) not in candidates and (
                line.lstrip().startswith("<<<")
                or entry >= 0 and not line[:1].isdigit() and bool(
                    REPLY_BEFORE.search(line, 0, at) or _goes_on_with_a_reply(low_lines, entry, i)))

        def opens(address: str, line: str) -> bool:
            """The line names a failed recipient outside any reply: the replies quoted below it are its own."""
            return clean(address) in candidates and not REPLY_BEFORE.search(line, 0, max(line.find(address), 0))

        # X-Failed-Recipients is the MTA's own list of the failed (Exim's specification, 'Bounce messages'): it
        # outranks the guess that an address in the bounce's Reply-To or Sender is ours. Not its From: the daemon.
        for a in map(clean, x_failed):
            if "@" in a and a not in candidates and a not in sender:
                candidates[a] = None
        if candidates:
            return list(candidates)
        intro_seen = False
        # An entry is open from a line that names a failed recipient outside any reply to the next blank line:
        # the replies quoted in it are its own (qmail's "Remote host said:", Exim's indented reply, sendmail's
        # "(reason: ...)" and "<<< " lines, a reply Postfix folded onto the next lines). `entry`: its first line,
        # -1 when none is open.
        entry = -1
        low_lines = _with_aliases_joined(self.low) if _EXPANDED_AT_LINE_END.search(self.low_text) else self.low
        for i, low in enumerate(low_lines):
            if "@" not in low:
                if not low or low.isspace():
                    entry = -1
                # No address here; it may still announce the list that follows.
                if not intro_seen and LIST_INTRO.search(low):
                    intro_seen = True
                continue
            stripped = low.lstrip()
            if HEADERISH_LINE.match(low) and not stripped.startswith("recipient"):
                continue
            m = RECIPIENT_LINE.match(low)
            if _contact_line(low) and not (m and intro_seen):
                continue
            under = entry  # the entry open before this line, which may open one itself
            if LIST_INTRO.search(low):
                intro_seen = True
            named = NAMED_FAILED.search(low)
            if named:
                add(named.group(1), low, True)
                continue
            expanded = EXPANDED_FROM.search(low)
            if expanded:
                # An alias: the address we mailed is the one it was expanded from; the one it was expanded to
                # is no recipient of ours, wherever the report names it again (a reply quoting it).
                add(expanded.group(1), low, True)
                if m and m.group(1) != expanded.group(1):
                    never.add(clean(m.group(1)))
                continue
            inline = INLINE_RECIPIENT.search(low) or FAILED_FOR.search(low)
            if inline:
                add(inline.group(1), low, False)
            if m and (intro_seen or stripped.startswith(("<", "rcpt to")) or m.group(2).strip()):
                alias = _alias_after(low_lines, i)
                if alias is not None and alias != clean(m.group(1)):
                    # The entry goes on to name the alias it was expanded from: that is ours, this is not,
                    # wherever the entry's reply names it again.
                    never.add(clean(m.group(1)))
                    continue
                angle = ANGLE_ADDR_AFTER.match(low, m.end(1))
                found = angle.group(1) if angle else m.group(1)
                if not replied(found, i, under):
                    add(found, low, intro_seen or (stripped.startswith("<") and ">:" in low))
                    if entry < 0 and opens(found, low):
                        entry = i
                continue
            if intro_seen:
                for found in dsn.ADDRESS_RX.findall(low):
                    if (f"<{found}>" in low or low.strip().lstrip("<>:;,.\"'*-[ \t").startswith(found)) \
                            and not replied(found, i, under):
                        add(found, low, False)
                        if entry < 0 and opens(found, low):
                            entry = i
        if not candidates and not named_only:
            # Last resort: the one address the report mentions, if it mentions only one.
            for low in low_lines:
                if "@" not in low or _contact_line(low) or HEADERISH_LINE.match(low):
                    continue
                for found in dsn.ADDRESS_RX.findall(low):
                    add(found, low, False)
            if len(candidates) > 1:
                return []
        return list(candidates)


def _stage_of_own_line(own: str) -> str:
    """What sendmail's own line below a reply under ">>> DATA" shows it answered: "rcpt" where the line names
    what failed ("%s... %s": an address, or a host), "data" where it names nothing, "" with no line."""
    return "" if not own else "rcpt" if "... " in own else "data"


def _transcript_replies(lines: list[str], low: list[str]) \
        -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """ReportText.transcript_reply for every reply of a transcript, by its first line (lower-cased, its spaces
    collapsed), and by the address sendmail's own line below it names (transcript_reply_to). A reply answers the command written above it (">>> MAIL From:", ">>> RCPT To:"), or, with none
    above it since "... while talking to <host>:", the server's greeting (RFC 5321 §3.1); but under
    ">>> DATA" it may be a reply to RCPT TO: sendmail, pipelining (RFC 2920), sends DATA before it reads the
    replies to RCPT TO and logs them there (usersmtp.c, smtpdata: "pick up any pending RCPT responses"), then
    DATA's own. When DATA's reply, the last, is 503 or "554 ... no valid recipients" (RFC 5321 §3.3: the answers
    to a DATA after no recipient was accepted), every reply above it answered RCPT TO. Otherwise sendmail's own
    line after a reply tells: one about an address names it, "550 5.1.1 <user@host>... User unknown" (its
    "%s... %s" for a recipient), so the reply answered RCPT TO; one about the message names nothing, "554 5.0.0
    Service unavailable" (giveresponse() for the delivery as a whole), so the reply answered DATA or the message's
    end ("data"). With neither, a reply under ">>> DATA" cannot be placed."""
    found: dict[str, tuple[str, str]] = {}
    named: dict[str, tuple[str, str]] = {}
    command = ""
    block: list[list[str]] = []  # the replies read under the command, each its lines as written
    verdicts: list[str] = []  # sendmail's own line after each reply of the block ("" where none came)

    def place() -> None:
        if not block:
            return
        stages = [command] * len(block)
        if command == "data":
            last = " ".join(block[-1]).lower()
            pipelined = last.startswith("503") or (last.startswith("554") and "no valid recipients" in last)
            stages = ["rcpt" if pipelined else ""] * (len(block) - 1) + [""]
            stages = [stage or _stage_of_own_line(own) for stage, own in zip(stages, verdicts)]
        for stage, reply, own in zip(stages, block, verdicts):
            key = " ".join(reply[0].split()).lower()
            read = (stage if stage in ("greeting", "mail", "rcpt", "data") else "", "\n".join(reply))
            found.setdefault(key, read)
            address = OWN_ENTRY.search(own)
            if address:
                named.setdefault(address.group(1), read)
        block.clear()
        verdicts.clear()

    for line, lowered in zip([*lines, ""], [*low, ""]):
        if lowered.startswith(">>> "):
            place()
            command = lowered[4:8].rstrip()
        elif lowered.startswith("... while talking to "):
            place()
            command = "greeting"
        elif lowered.startswith("<<< ") and command:
            text = line[4:]
            if block and block[-1][-1][3:4] != " " and text[:3] == block[-1][-1][:3]:
                block[-1].append(text)  # "550-..." goes on to "550 ..."
            else:
                block.append([text])
                verdicts.append("")
        elif not lowered.strip() or lowered.startswith(("... ", "-----")):
            place()
            command = ""
        elif verdicts and not verdicts[-1] and lowered[:1].isdigit():
            verdicts[-1] = lowered  # sendmail's own line on what the reply above it meant
    return found, named
