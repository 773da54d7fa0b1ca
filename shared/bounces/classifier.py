"""Bytes in, verdict out: is this a bounce, for whom, hard or soft — or what else is it.

Pure: no I/O, no state, never raises. Order matters: what is *not* a
bounce (spam complaints, auto-replies, delivery notices, ordinary mail)
is settled before any address is taken, and the returned original message
is never read for recipients — its To: is the very contact we must not
mark by mistake.
"""

from __future__ import annotations

import re

from . import dsn, mime, patterns, ses
from .model import Failure, Verdict
from .reasons import (DECISION_RULES, DELAYED_RULE, HARD_REASONS, RULES, STATED_STATE_RULE, decide, server_status,
                      settled_status, stated_state)
from .text import DAEMON_LOCALPARTS, ReportText, clean, cut_original, header_addresses

# What decided a verdict's kind (Verdict.rule) -> where it comes from; each failure names the rule of its reason.
ARF_RULE = "rfc5965-feedback-report"
DSN_RULE = "rfc3464-delivery-status"
AUTOREPLY_RULE = "rfc3834-auto-reply"
PROSE_RULE = "bounce-prose"
NOT_A_BOUNCE_RULE = "not-a-bounce"
UNREAD_RULE = "unread-bounce"
BROKEN_RULE = "classifier-error"
NESTED_RULE = "nested-report"
INLINE_RULE = "inline-report"
DELIVERED_RULE = "delivery-notice-prose"
RETURNED_RULE = "returned-recipient"
FORWARDED_RULE = "forwarded-bounce"
KIND_RULES = {
    ARF_RULE: "RFC 5965: a message/feedback-report part, a spam complaint",
    DSN_RULE: "RFC 3464/6533: the Action of each recipient in a delivery-status part",
    ses.SES_RULE: "Amazon SES Developer Guide, 'Contents of event data': a bounce, complaint or delivery notice",
    AUTOREPLY_RULE: "RFC 3834 §5 (Auto-Submitted other than 'no'; under a bounce's subject, auto-replied only), the "
                    "vacation headers, and out-of-office subjects (Outlook's 'Automatic reply:' in its languages)",
    PROSE_RULE: "a mailer daemon's message or a bounce subject (RFC 3464 §2: sent from a null return path), its "
                "recipients read from the words of the MTA's template",
    NOT_A_BOUNCE_RULE: "no delivery-status or feedback report, no mailer daemon's name, no bounce subject: "
                       "ordinary mail (a read receipt, RFC 8098's disposition notification, included)",
    UNREAD_RULE: "says it is a bounce and names no recipient that could be read: set aside for a person",
    BROKEN_RULE: "the classifier failed on the message: set aside for a person",
    NESTED_RULE: "RFC 6522 §3: a report naming no recipient whose returned message is itself a multipart/report "
                 "of delivery status (a bounce forwarded, or bounced again by a gateway): that report's verdict",
    DELIVERED_RULE: "a notice of delivery in a mail server's words, without a delivery-status part: sendmail's and "
                    "Exim's 'The following addresses had successful delivery notifications', Postfix bounce(5) "
                    "success_template (and verify_template's entries answered '250 2.x.x'), Exchange's "
                    "'Delivered:' and 'Relayed:' notices",
    RETURNED_RULE: "RFC 6522 §3: a report's last part is the message returned (or its header); a report that "
                   "names no recipient (Postfix's 'Delivery report unavailable', a gateway's 'No valid recipients' "
                   "above 'Original Message:') is about the one address that message was for: its first Received "
                   "field's FOR clause (RFC 5321 §4.4), else its To and Cc when they name one besides ours",
    FORWARDED_RULE: "RFC 2046 §5.2.1: a person's forward of a bounce (a bounce's subject, 'Fwd: Undelivered Mail "
                    "Returned to Sender'), the bounce attached whole as message/rfc822: that bounce's verdict, as "
                    "when it is forwarded inline",
    INLINE_RULE: "RFC 6522 §3 and RFC 4155: a report naming no recipient whose text holds a whole delivery report, "
                 "its header block and all, pasted or forwarded inline (often after an mbox From_ line): that "
                 "report's verdict",
}


_SOURCES = {r.id: r.source for r in RULES} | DECISION_RULES | KIND_RULES


def rule_source(rule: str) -> str:
    """Where the rule with this id comes from ('' for an id no rule has)."""
    return _SOURCES.get(rule, "")


MAX_BYTES = 4 * 1024 * 1024  # beyond this only the head of a message is read
MAX_PARTS = 200
MAX_DEPTH = 12
MAX_TEXT = 200_000

ORIGINAL_TYPES = {"message/rfc822", "text/rfc822-headers", "message/global", "text/rfc822", "message/global-headers",
                  "message/partial", "message/external-body"}
STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}

DAEMON_NAMES = patterns.compile(r"mail ?delivery|mailer|postmaster|delivery (status|subsystem|system)|mail ?system|"
                                r"system administrator|mail administrator|returned mail")  # lower-cased
# Matched lower-cased: with IGNORECASE this alternation took 4 µs a subject, a fiftieth of a message's time.
BOUNCE_SUBJECT = patterns.compile(
    r"undeliver|delivery (status )?(notification|failure|failed|report|problem|warning)|returned mail|"
    r"failure notice|mail delivery (failed|failure|error|system|subsystem)|non[- ]?deliver|could not be delivered|"
    r"permanent (delivery )?(failure|error)|returned to sender|unable to deliver|message not delivered|"
    r"not delivered|delivery error|mail system error|nondeliverable|\bbounced?\b|warning: could not send|"
    r"error sending|mail failure|delivery notification|failed delivery|message delivery has failed|"
    r"rejected|unknown user|user unknown|no such user|mailbox (is )?full|over quota|"
    # Exchange's NDR subject in German, French, Spanish, Italian and Dutch ("Undeliverable:" in English)
    r"unzustellbar|non remis|no se puede entregar|non recapitabile|onbestelbaar|"
    r"配信|不達|エラー|送信失敗|returned|failed")
# Outlook's and Exchange's "Automatic reply:" in the languages they ship, and the words vacation tools use.
AUTOREPLY_SUBJECT = patterns.compile(
    r"^[\s\[(]*(auto(matic)?[ _-]?(reply|response|respond|antwort|answer)|out of (the )?office|vacation|away from|"
    r"abwesenheit|automatische antwort|r[ée]ponse automatique|respuesta autom[aá]tica|risposta automatica|"
    r"resposta autom[aá]tica|autosvar|automatisch antwoord|automatiskt? svar|automaattinen vastaus|"
    r"odpowied[zź] automatyczna|automatick[aá] odpov[eě][dď]|автоматический ответ|otomatik yan[ıi]t|"
    r"自動応答|自動返信|自动回复|i am (currently )?(away|out)|on leave|on holiday|absence)", re.I)
AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-vacation", "x-autoreply-from",
                     "x-mail-autoreply", "x-autogenerated")

# The header block of an attached original message: parsing stops after it. Lower-cased; tried where a line
# starts with "content-type:", found by bytes.find (a multi-line ^ was tried at every byte, and sre's own scan
# for the literal is several times slower than find's).
_ORIGINAL_START = patterns.compile(
    rb"content-type:[ \t]*(?:message/rfc822|text/rfc822-headers|message/global(?:-headers)?)(?![\w-])[^\n]*\n"
    rb"(?:[ \t][^\n]*\n|[a-z-]+:[^\n]*\n)*\r?\n"
)


def _content_type_lines(low: bytes) -> list[int]:
    """Where each line that begins with "content-type:" begins, in the lower-cased message."""
    starts = [0] if low.startswith(b"content-type:") else []
    at = low.find(b"\ncontent-type:")
    while at != -1:
        starts.append(at + 1)
        at = low.find(b"\ncontent-type:", at + 1)
    return starts


_CHARSET = patterns.compile(r'charset\s*=\s*"?([^\s";]+)', re.I)
_REPORT_TYPE = patterns.compile(r'report-type\s*=\s*"?([\w-]+)', re.I)
_STATUS_PART = patterns.compile(rb"content-type:[ \t]*message/(?:global-)?delivery-status")


def _report_end(low: bytes, content_types: list[int]) -> int:
    """Where an attached original begins in the lower-cased message, if the report's machine-readable part
    came before it; else the message's length. `content_types`: _content_type_lines(low).

    The original is never read for recipients, and parsing it is most of the cost
    of a bounce that returns a large message.
    """
    m = None
    for start in content_types:
        m = _ORIGINAL_START.match(low, start)
        if m:
            break
    if not m or low.find(b"feedback-report", 0, m.start()) != -1:
        return len(low)  # a spam complaint's original names the complainant (RFC 5965 §2 (c)): it is read
    if _STATUS_PART.search(low, m.end()) and not _STATUS_PART.search(low, 0, m.start()):
        return len(low)  # the status part comes after the original: keep it all
    return m.end()


# Damage a message picks up on its way to us, undone before it is read (tests/unit/test_classifier.py
# checks that none of it changes a verdict on the corpus):
# - line ends: RFC 5322 §2.1 and §2.3 end every line with CRLF; files and tools give LF, CRLF, bare CR
#   (classic Mac OS) or a mix. Read as LF throughout. CR CR LF is a CRLF message whose LFs a text-mode copy
#   made CRLF again: one line end each, not a blank line after every line (which ended the header section
#   at its first line).
# - blank lines before the header section (a forward or a save that prepends one): RFC 5322 §2.1 has the
#   header section start at the first line, so the parser would take the whole message as a body.
# - an mbox separator, "From sender date" (RFC 4155 §2), left on a message cut from a mailbox file.
# - a byte order mark, U+FEFF in UTF-8 (RFC 3629 §6), that an editor on Windows writes at the start of a
#   file it saves: the first field's name would begin with it, and the parser would take the whole message
#   as a body.
_LEADING_DAMAGE = patterns.compile(rb"(?:\xef\xbb\xbf)?(?:[ \t]*\n)*(?:From [^\n]*\n)?(?:[ \t]*\n)*")


# - Content-Type parameters without the ';' between them (RFC 2045 §5.1 separates every parameter with
#   one), which some relays drop: "multipart/report report-type=delivery-status boundary=x" loses its
#   boundary, and the report its parts. The ';' is put back before each name=, quoted strings untouched.
# - a Content-Type parameter whose fold lost its leading white space (RFC 5322 §2.2.3 unfolds only lines that
#   begin with it): "multipart/alternative; differences=Content-Type;\nboundary=..." ends the header section
#   at the boundary, and the parts go unread. A line of name= right after a line ending in ';' is taken as
#   the fold it was.
# Found as "\ncontent-type:" in lower-cased bytes (_content_type_lines), where a multi-line, case-blind
# ^content-type: was tried at every byte (a tenth of the classifier's time).
_REST_OF_HEADER = patterns.compile(rb"[^\n]*(?:\n[ \t][^\n]*)*")
_PARAMETER_LINE = patterns.compile(rb"[A-Za-z][\w-]*\*?[ \t]*=")  # "boundary=", "charset*=": what a lost fold starts
_LOST_FOLD = patterns.compile(rb"\n(?=[^ \t])")
_BARE_PARAMETER = patterns.compile(rb'("(?:[^"\\\n]|\\.|\n[ \t])*")|(?<=[^;\s:])([ \t]*\n?[ \t]+)(?=[a-z0-9!#$%&\'*+.^_`|~-]+[ \t]*=)',
                                   re.I)


# A quoted-string (RFC 5322 §3.2.4), folded or not (its FWS may break the line before a space or tab).
_QUOTED = patterns.compile(rb'"(?:[^"\\\n]|\\.|\n[ \t])*"')


def _with_semicolons(header: bytes) -> bytes:
    if _separated(header):
        return header  # nearly every header: the repair's pattern, tried at every byte, is not needed
    return _BARE_PARAMETER.sub(lambda m: m.group(1) or b";" + m.group(2), header)


def _separated(header: bytes) -> bool:
    """Every parameter already behind its own ';': the type holds no '=', and each ';'-piece (quoted strings
    aside) at most one, with a single word before it."""
    if header.find(b'"') != -1:
        header = _unquoted(header)
    pieces = header.split(b";")
    if pieces[0].find(b"=") != -1:
        return False
    for piece in pieces[1:]:  # a loop, not all() over a generator, which mypyc makes an object of each call
        name, _, value = piece.partition(b"=")
        if value.find(b"=") != -1 or len(name.split()) > 1:
            return False
    return True


def _unquoted(header: bytes) -> bytes:
    """The header with each quoted string emptied (_QUOTED), so that its ';' and '=' count for nothing.
    Without a backslash or a quoted line break, the quoted strings are the odd pieces between '"'s: a split
    and a join, where sub() cost a microsecond each, for a third of Content-Type lines."""
    pieces = header.split(b'"')
    if len(pieces) % 2 == 1 and header.find(b"\\") == -1:
        plain = True
        for quoted in pieces[1::2]:
            if quoted.find(b"\n") != -1:
                plain = False
        if plain:
            return b'""'.join(pieces[::2])
    return _QUOTED.sub(b'""', header)


def repaired(raw: bytes) -> bytes:
    """The message with the damage above undone; unchanged when there is none."""
    if raw.find(b"\r") != -1:
        raw = raw.replace(b"\r\r\n", b"\n").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    damage = _LEADING_DAMAGE.match(raw)
    return raw[damage.end():] if damage and damage.end() else raw


def _parameters_repaired(report: bytes, content_types: list[int]) -> bytes:
    """The report (its returned original already cut off) with the ';' back between Content-Type parameters.
    `content_types`: where its lines that begin with "content-type:" begin (_content_type_lines)."""
    out: list[bytes] = []
    done = 0
    for start in content_types:
        end = _REST_OF_HEADER.match(report, start).end()  # type: ignore[union-attr]
        lost = False
        while report.find(b";", end - 2, end) != -1 and _PARAMETER_LINE.match(report, end + 1):
            end = _REST_OF_HEADER.match(report, end + 1).end()  # type: ignore[union-attr]
            lost = True
        header = report[start:end]
        mended = _with_semicolons(_LOST_FOLD.sub(b"\n\t", header) if lost else header)
        if mended != header:
            out += (report[done:start], mended)
            done = end
    return b"".join((*out, report[done:])) if out else report


def _report(whole: bytes, low: bytes) -> bytes:
    """What is classified of a (repaired) message: the report, its original cut off, its Content-Type
    parameters mended. `low`: the message lower-cased."""
    content_types = _content_type_lines(low)  # found once, for both: the original's start, the repair
    end = _report_end(low, content_types)
    return _parameters_repaired(whole[:end], [start for start in content_types if start < end])


def classify(raw: bytes, *, nested: bool = True) -> Verdict:
    """The verdict on one message. Any input at all: broken MIME and hostile bytes give a verdict, never an exception."""
    try:
        whole = repaired(raw[:MAX_BYTES])
        low = whole.lower()  # bytes.lower() keeps offsets; IGNORECASE would make the scans twice as slow
        verdict = _classify(_report(whole, low))
        unread = verdict.kind == "unparsed" and verdict.rule == UNREAD_RULE
        forward = nested and verdict.rule == NOT_A_BOUNCE_RULE and bool(BOUNCE_SUBJECT.search(verdict.subject.lower()))
        if not (unread or forward):
            return verdict
        # Rare from here on: the whole message, its original kept, parameters mended.
        mended = _parameters_repaired(whole, _content_type_lines(low))
        if forward:
            # A person's message under a bounce's subject: a bounce forwarded as an attachment is read as the
            # bounce it is (forwarded inline, its words are read already).
            return _forwarded_bounce(mended) or verdict
        # The returned message is not read for recipients like the report (it names the good ones too),
        # except when it is itself a delivery report: then the report inside says whom it is about. One
        # level only. A report pasted into the text, header block and all, is read the same way.
        if nested:
            for find, rule in ((_returned_report, NESTED_RULE), (_inline_report, INLINE_RULE)):
                try:
                    inner = find(mended)
                except Exception:  # noqa: BLE001 (what could not be read stays set aside, as it was)
                    inner = None
                if inner is not None:
                    found = classify(inner, nested=False)
                    if found.kind in ("bounce", "delayed"):
                        found.rule = rule
                        return found
        # Failing that, a returned message sent to one address says whom: read again with it.
        verdict = _classify(mended, returned=True)
        return verdict
    except Exception as exc:  # never let one bad message stop a mailbox round, nor pass it as mail
        return Verdict("unparsed", note=f"the classifier failed on it: {type(exc).__name__}", rule=BROKEN_RULE)


_DELIVERY_REPORT = patterns.compile(r"report-type\s*=\s*\"?(?:delivery-status|global-delivery-status)\b", re.I)


def _returned_report(raw: bytes) -> bytes | None:
    """The returned message of a report, when it is a multipart/report of delivery status (RFC 6522), as bytes."""
    for part, ctype in _parts(mime.parse(raw)):
        if ctype not in ("message/rfc822", "message/global") or not part.children:
            continue
        inner = part.children[0]
        if inner.content_type == "multipart/report" and _DELIVERY_REPORT.search(inner.get("content-type")):
            return inner.source()
    return None


def _forwarded_bounce(raw: bytes) -> Verdict | None:
    """The verdict on the first bounce attached whole to `raw` (a message/rfc822 part), or None."""
    for part, ctype in _parts(mime.parse(raw)):
        if ctype in ("message/rfc822", "message/global") and part.children:
            found = classify(part.children[0].source(), nested=False)
            if found.kind in ("bounce", "delayed"):
                found.rule = FORWARDED_RULE
                return found
    return None


_INLINE_REPORT_TYPE = patterns.compile(rb"\ncontent-type:[ \t]*multipart/report\b")  # lower-cased
_HEADER_OR_FOLD = patterns.compile(rb"[!-9;-~]+:|[ \t]+\S")


ENCODED = ("base64", "quoted-printable")  # the transfer encodings that hide a text part's words from a byte search


def _inline_report(raw: bytes) -> bytes | None:
    """A delivery report pasted into the message's text: from the first line of the header block that holds
    a multipart/report Content-Type (lines of header fields and their continuations, RFC 5322 §2.2) on.

    Looked for in the text as sent and, failing that, in each text part's decoded content: a relay that
    cannot pass 8-bit mail on re-encodes its text parts as base64 or quoted-printable (RFC 6152 §3), and
    a forward may encode its text so from the start, the pasted report and all."""
    found = _pasted_report(raw, raw.find(b"\n\n"))
    if found is not None:
        return found
    for part, ctype in _parts(mime.parse(raw)):
        if ctype.startswith("text/") and part.get("content-transfer-encoding").strip().lower() in ENCODED:
            found = _pasted_report(b"\n\n" + repaired(part.decoded()), 0)
            if found is not None:
                return found
    return None


def _pasted_report(raw: bytes, body: int) -> bytes | None:
    """The report pasted into `raw` after its header section, which ends at `body` (-1: none)."""
    m = _INLINE_REPORT_TYPE.search(raw.lower(), body) if body >= 0 else None
    if not m:
        return None
    start = m.start() + 1
    while start - 1 > body + 1:
        line_start = raw.rfind(b"\n", 0, start - 1) + 1
        if not _HEADER_OR_FOLD.match(raw, line_start, start - 1):
            break
        start = line_start
    inner = raw[start:]
    head = inner.split(b"\n\n", 1)[0].decode("ascii", "replace")
    return inner if _DELIVERY_REPORT.search(head) else None


def _headers(msg: mime.Part) -> dict[str, list]:
    """Header name (lower-cased) -> values, built once: Part.get() scans every header on each call.
    A get() and a store, not setdefault(): mypyc's setdefault(key, []) raises and clears a KeyError for each
    new name (800 instructions a header)."""
    out: dict[str, list] = {}
    for name, value in msg.headers:
        key = name.lower()
        values = out.get(key)
        if values is None:
            out[key] = [value]
        else:
            values.append(value)
    return out


def _first(heads: dict[str, list], name: str) -> str:
    """The first value, its 8-bit bytes as U+FFFD (what str() of the stdlib parser's header object gave)."""
    values = heads.get(name)
    if not values:
        return ""
    value = values[0]
    return value if value.isascii() else value.encode("ascii", "surrogateescape").decode("ascii", "replace")


def _decoded(heads: dict[str, list], name: str) -> str:
    values = heads.get(name)
    return _header_text(values[0])[:2000] if values else ""


def _header_text(value: str) -> str:
    """A header's text: RFC 2047 words decoded, raw 8-bit bytes read as UTF-8 (the usual truth; RFC 6532 and
    RFC 6533 §3 allow it) or else Latin-1. The reader hands raw 8-bit bytes over as surrogate escapes; a value
    holding them is taken as it stands, encoded words and all (as the stdlib does)."""
    if not value.isascii():
        raw = value.encode("ascii", "surrogateescape")
        for codec in ("utf-8", "latin-1"):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                continue
    if "=?" not in value:
        return value  # no RFC 2047 encoded word
    from email.header import decode_header  # here, not at import: a twentieth of `mailfleetctl classify`'s start-up

    try:
        chunks = decode_header(value)
    except Exception:
        return value
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        for codec in ([charset] if charset and charset != "unknown-8bit" else []) + ["utf-8", "latin-1"]:
            try:
                out.append(chunk.decode(codec))
                break
            except (LookupError, UnicodeDecodeError):
                continue
    return "".join(out)


def _parts(msg: mime.Part) -> list[tuple[mime.Part, str]]:
    """Every part that belongs to the report itself (with its content type), never descending into a returned message."""
    out: list[tuple[mime.Part, str]] = []
    stack: list[tuple[mime.Part, int]] = [(msg, 0)]
    while stack and len(out) < MAX_PARTS:
        part, depth = stack.pop()
        ctype = part.content_type
        if ctype.startswith("multipart/") and not part.is_multipart():
            # Its boundary never appears (broken or rewritten MIME): read it as one text.
            ctype = "text/plain"
        out.append((part, ctype))
        if ctype in ORIGINAL_TYPES or ctype in STATUS_TYPES or depth >= MAX_DEPTH:
            continue
        stack.extend((p, depth + 1) for p in reversed(part.children))
    return out


def _text_of(part: mime.Part) -> str:
    payload = part.decoded()
    m = _CHARSET.search(part.get("content-type"))  # the charset parameter alone; no need to parse them all
    charset = m.group(1).lower() if m else "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except (LookupError, TypeError, ValueError):  # ValueError: an 8-bit byte or a NUL in the charset's name
        text = payload.decode("utf-8", errors="replace")
    if "\ufffd" in text and charset != "utf-8":
        # Mislabelled charsets are common in bounces; UTF-8 is the usual truth.
        alt = payload.decode("utf-8", errors="replace")
        if alt.count("\ufffd") < text.count("\ufffd"):
            text = alt
    return text[:MAX_TEXT]


_SCRIPT_OR_STYLE = patterns.compile(r"(?is)<(script|style)\b.*?</\1>")
_LINE_BREAK_TAG = patterns.compile(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</li>")
_TAG = patterns.compile(r"<[^>]+>")


def _strip_html(html: str) -> str:
    html = _TAG.sub(" ", _LINE_BREAK_TAG.sub("\n", _SCRIPT_OR_STYLE.sub(" ", html)))
    html = html.replace("&amp;", "&").replace("&nbsp;", " ").replace("&#160;", " ")
    return html.replace("&gt;", ">").replace("&lt;", "<")


def _sender(from_header: str) -> tuple[str, str]:
    """(display name, address) of a From header, cheaply: this only steers the verdict."""
    m = dsn.ADDRESS_RX.search(from_header)
    # "From: mailer-daemon" (a bare local part, which some MTAs write) is that address on the local host.
    bare = from_header.strip().strip("<>").split(maxsplit=1)
    address = m.group(0).lower() if m else bare[0].lower() if len(bare) == 1 and "<" not in from_header else ""
    name = from_header.split("<", 1)[0] if "<" in from_header else from_header.partition("(")[2]
    return name.strip().strip('"'), address


def _is_daemon(name: str, address: str) -> bool:
    return bool(DAEMON_LOCALPARTS.match(address.partition("@")[0]) or DAEMON_NAMES.search(name.lower()))


def _classify(raw: bytes, returned: bool = False) -> Verdict:
    """The verdict on the report; `returned`: a report that names no recipient is about its returned message's
    one addressee (asked only after nothing else said whom it is about: a nested or pasted report)."""
    msg = mime.parse(raw)
    heads = _headers(msg)
    sender_name, sender = _sender(_decoded(heads, "from"))
    subject = _decoded(heads, "subject")
    verdict = Verdict("mail", message_id=_first(heads, "message-id").strip()[:500] or None, sender=sender or None,
                      subject=subject[:500])
    # A plain look at the header: get_param() parses every parameter, several times slower.
    m = _REPORT_TYPE.search(_first(heads, "content-type"))
    report_type = m.group(1).lower() if m else ""
    parts = _parts(msg)
    types = {ctype for _, ctype in parts}

    # 1. Spam complaints (RFC 5965 ARF).
    if "message/feedback-report" in types or (
        parts[0][1] == "multipart/report" and report_type == "feedback-report"
    ):
        verdict.kind, verdict.rule = "feedback", ARF_RULE
        verdict.complainants = _complainants(parts)
        return verdict

    # 2. A machine-readable DSN decides by its Action fields.
    status_parts = [p for p, ctype in parts if ctype in STATUS_TYPES]
    fields: list[dsn.RecipientFields] = []
    for part in status_parts:
        fields += dsn.recipients(_status_blocks(part))
    texts = _report_texts(parts, msg)
    report = ReportText(dsn.unescaped(cut_original("\n".join(texts))))
    if not fields:
        # Delivery-status fields sent as plain text, or inline in a broken report.
        fields = dsn.recipients(dsn.parse_blocks(report.text))
    named_daemon = _is_daemon(sender_name, sender)
    daemon = (
        named_daemon
        or _first(heads, "return-path").strip() == "<>"
        or report_type == "delivery-status"
    )
    bounce_subject = bool(BOUNCE_SUBJECT.search(subject.lower()))

    if fields:
        verdict.rule = DSN_RULE
        failed = [f for f in fields if _action(f).startswith(("fail", "bounce", "undeliver", "expired", "error"))]
        delayed = [f for f in fields if _action(f) == "delayed"]
        if failed:
            verdict.kind = "bounce"
            # RFC 3464 §2.3.3: each recipient has its own Action; those still "delayed" beside the failed
            # ones are soft bounces of their own.
            verdict.failures = _from_dsn(failed, report) + _from_dsn(delayed, report, delayed=True)
            if not verdict.failures:
                # Fields without a usable address (a Final-Recipient of "@host"): the report's words may
                # still name whom it is about, as in any bounce without a delivery-status part.
                verdict.failures, verdict.rule = report.recipients(heads, []), PROSE_RULE
            if not verdict.failures:
                _returned_or_unread(verdict, report, heads, parts, texts, returned,
                                    "its delivery-status part names no recipient")
        elif delayed:
            # Not given up yet, but the mailbox is not taking mail now: a soft bounce.
            verdict.kind = "delayed"
            verdict.failures = _from_dsn(delayed, report, delayed=True)
        else:
            actions = {_action(f) for f in fields}
            verdict.kind = "relayed" if actions & {"relayed", "expanded"} else "delivered"
        return verdict

    # 3. Amazon SES's JSON notices, which carry no DSN.
    if any("notificationType" in t or "eventType" in t for t in texts):
        found = ses.notification("\n".join(texts))
        if found:
            verdict.kind, verdict.failures, verdict.complainants = found
            verdict.rule = ses.SES_RULE
            return verdict

    # 4. Auto-replies and vacation notices (RFC 3834 and the common headers).
    auto = _first(heads, "auto-submitted").strip().lower()
    precedence = _first(heads, "precedence").strip().lower()
    looks_auto = (
        any(h in heads for h in AUTOREPLY_HEADERS)
        or auto.startswith("auto-replied")
        # RFC 3834 §5: any other value but "no" is a machine's message too; sendmail's DSNs say "auto-generated
        # (failure)", so under a bounce's subject it says nothing more
        or (auto not in ("", "no") and not bounce_subject)
        or precedence in ("auto_reply", "auto-reply")
        or bool(AUTOREPLY_SUBJECT.search(subject))
    )
    x_failed = [a.lower() for v in heads.get("x-failed-recipients", ()) for a in dsn.ADDRESS_RX.findall(str(v))]
    # A null return path does not make an auto-reply a bounce: RFC 3834 §3.3 has auto-responses sent with
    # one too. Only a mailer daemon's name or a delivery-status report does.
    from_daemon = named_daemon or report_type == "delivery-status"
    if looks_auto and not from_daemon and not x_failed:
        verdict.kind, verdict.rule = "autoreply", AUTOREPLY_RULE
        return verdict

    # 5. Everything else is a bounce only if it says so: who sent it, its subject, its headers.
    if not (daemon or bounce_subject or x_failed):
        verdict.kind, verdict.rule = "mail", NOT_A_BOUNCE_RULE
        return verdict
    verdict.kind, verdict.rule = "bounce", PROSE_RULE
    # A subject is a weak sign: anybody may write "delivery failure" in one (a newsletter about bounces). So is
    # a null return path: auto-responses are sent with one too (RFC 3834 §3.3), a helpdesk's naming its other
    # address. Without a mailer daemon's name, both of them or X-Failed-Recipients, the text must name the
    # failed address as a report does.
    named_only = not (from_daemon or x_failed or (daemon and bounce_subject))
    verdict.failures = report.recipients(heads, x_failed, named_only=named_only)
    if looks_auto and verdict.failures and not (bounce_subject or x_failed) \
            and _says_no_failure(report, verdict.failures):
        # An auto-reply (RFC 3834) from a daemon's name (postmaster's "your message to info@... has been
        # received") that says nothing of a failure: an address in it is nobody's bounce. (A daemon's report
        # without those headers is read as one, in whatever language its words are: qmail's translated.)
        verdict.failures = []
        verdict.kind, verdict.rule = "autoreply", AUTOREPLY_RULE
    elif not verdict.failures and report.delivered():
        # A notice that the mail arrived (or was handed on), in words: nobody to mark, nothing to set aside.
        verdict.kind, verdict.rule = ("relayed" if report.relayed() else "delivered"), DELIVERED_RULE
    elif not verdict.failures and not (daemon and bounce_subject) and not x_failed:
        verdict.kind, verdict.rule = ("autoreply", AUTOREPLY_RULE) if looks_auto else ("mail", NOT_A_BOUNCE_RULE)
    elif not verdict.failures:
        _returned_or_unread(verdict, report, heads, parts, texts, returned,
                            "a mailer daemon's report with a bounce subject, naming no recipient that could be read")
    return verdict


def _says_no_failure(report: ReportText, failures: list[Failure]) -> bool:
    """No failure has a reason, and the report neither says it gave up or will retry nor uses a bounce's words."""
    return all(f.reason == "undefined" for f in failures) and report.permanence() is None \
        and not BOUNCE_SUBJECT.search(report.low_text)


def _unread(verdict: Verdict, why: str) -> None:
    verdict.kind, verdict.rule, verdict.note = "unparsed", UNREAD_RULE, why


def _returned_or_unread(verdict: Verdict, report: ReportText, heads: dict[str, list],
                        parts: list[tuple[mime.Part, str]], texts: list[str], returned: bool, why: str) -> None:
    """A report that names no recipient is about the one address its returned message was sent to (when
    `returned`), read with the report's words as if it had named it; with none, or several, it is set aside
    for a person."""
    if not returned:
        _unread(verdict, why)
        return
    addressees = _returned_addressees(parts, texts) - header_addresses(heads, "to", "from", "cc", "reply-to")
    found = [a for a in addressees if not DAEMON_LOCALPARTS.match(a.partition("@")[0])]
    if len(found) == 1:
        verdict.failures = report.recipients(heads, found)
        if verdict.failures:
            verdict.kind, verdict.rule = "bounce", RETURNED_RULE
            return
    _unread(verdict, why)


def _returned_header(parts: list[tuple[mime.Part, str]]) -> mime.Part | None:
    """The returned message's header (RFC 6522 §3: a message/rfc822 or text/rfc822-headers part), or None."""
    for part, ctype in parts:
        if ctype in ("message/rfc822", "text/rfc822-headers"):
            return part.children[0] if part.children else \
                mime.parse(repaired(_text_of(part).encode("utf-8", "replace")))
    return None


# A header field of a message quoted in a report's text below "Original Message:" (a "> " of a forward allowed)
_QUOTED_FIELD = patterns.compile(r"^[ \t>]*([A-Za-z][\w-]*)[ \t]*:[ \t]*(.*)$")
# The FOR clause of a Received field (RFC 5321 §4.4): the one recipient the receiving server took it for
_RECEIVED_FOR = patterns.compile(r"\bfor\s+<?([^\s<>;@]+@[^\s<>;]+?)>?\s*;", re.I)


def _quoted_fields(text: str) -> dict[str, str]:
    """The first value of each field (lower-cased name) of the first header block in `text`, folds joined."""
    fields: dict[str, str] = {}
    name = ""  # the field open, if it is its name's first ("": none, or a later one, whose folds are not kept)
    seen = False
    for line in text.splitlines()[:80]:
        m = _QUOTED_FIELD.match(line)
        if m:
            seen, name = True, m.group(1).lower()
            if name in fields:
                name = ""
            else:
                fields[name] = m.group(2)
        elif line[:1] in (" ", "\t") and line.strip():
            if name:
                fields[name] += " " + line.strip()
        elif seen and not line.strip():
            break  # the end of the header block
    return fields


# A returned message's fields that name whom it was for, and those that name who sent it (or the list it went
# through), which never are.
_ADDRESSED = ("to", "cc")
_SENDING = ("from", "sender", "list-post")


def _returned_addressees(parts: list[tuple[mime.Part, str]], texts: list[str]) -> set[str]:
    """Whom the returned message was for: the address its first Received field's FOR clause names (the
    envelope recipient where it failed: a list or an alias in To would be the wrong one), else those of its To
    and Cc but its sender and, on a list's message, the list itself (its List-Post, RFC 2369 §3.4, and its
    Sender, RFC 5322 §3.6.2: the member it failed for is not named). From its own part, or else from the
    first block of header fields in the text after the line where the report says the original begins."""
    original = _returned_header(parts)
    if original is not None:
        fields = {name: original.get(name) for name in ("received", *_ADDRESSED, *_SENDING)}
    else:
        joined = "\n".join(texts)
        rest = joined[len(cut_original(joined)):]
        fields = _quoted_fields(rest[rest.find("\n") + 1:] if rest else "")
    m = _RECEIVED_FOR.search(fields.get("received", ""))
    if m:
        return {clean(m.group(1))}
    own = {clean(a) for name in _SENDING for a in dsn.ADDRESS_RX.findall(fields.get(name, ""))}
    return {clean(a) for name in _ADDRESSED for a in dsn.ADDRESS_RX.findall(fields.get(name, ""))} - own


def _complainants(parts: list[tuple[mime.Part, str]]) -> list[str]:
    """Whom a spam complaint is about: its Original-Rcpt-To fields (RFC 5965 §3.2), else the returned
    message's To when it names one address (a To of several does not say which one complained)."""
    named: list[str] = []
    for part, ctype in parts:
        if ctype == "message/feedback-report":
            for block in _status_blocks(part):
                named += [a for a in (dsn.address_of(block.get("original-rcpt-to", "")),) if a]
    if named:
        return list(dict.fromkeys(clean(a) for a in named))
    original = _returned_header(parts)
    to = {clean(a) for a in dsn.ADDRESS_RX.findall(original.get("to"))} if original is not None else set()
    return list(to) if len(to) == 1 else []


def _action(f: dsn.RecipientFields) -> str:
    """The Action field, or what the status class implies when a sloppy server left it out."""
    if f.action:
        return f.action
    return "delivered" if (f.status or "").startswith("2.") else "failed"


def _status_blocks(part: mime.Part) -> list[dict[str, str]]:
    """The blocks of fields of a delivery-status or feedback-report part."""
    if part.children:
        # message/feedback-report is a message/* to MIME: its fields are the headers of the message inside.
        return dsn.split_blocks([(k.lower(), " ".join(_field_text(v).split())) for k, v in part.children[0].headers])
    return dsn.parse_blocks(_text_of(part))


def _field_text(value: str) -> str:
    """A feedback-report field: plain ASCII as it is, anything else as _header_text reads it."""
    return value if value.isascii() else _header_text(value)


def _report_texts(parts: list[tuple[mime.Part, str]], msg: mime.Part) -> list[str]:
    if not msg.is_multipart():
        text = _text_of(msg)
        return [_strip_html(text) if parts[0][1] == "text/html" else text]
    # Every plain part of the report (an HTML twin only when there is no plain one).
    plain = [p for p, ctype in parts if ctype == "text/plain"]
    if plain:
        return [_text_of(p) for p in plain[:4]]
    return [_strip_html(_text_of(p)) for p, ctype in parts if ctype == "text/html"][:3]


def _from_dsn(failed: list[dsn.RecipientFields], report: ReportText, delayed: bool = False) -> list[Failure]:
    out: list[Failure] = []
    seen: set[str] = set()
    single = len({clean(f.address) for f in failed if f.address}) == 1
    for f in failed:
        if not f.address or clean(f.address) in seen:
            continue
        address = clean(f.address)
        seen.add(address)
        near = report.near(address) or report.near(f.final_recipient)
        if f.relayed:
            answered, whole = report.transcript_reply(f.diagnostic)
        elif f.remote_mta and not f.diagnostic:
            # No Diagnostic-Code, though a server answered (sendmail leaves it out where the server's enhanced
            # status contradicts its reply code): the transcript has the reply, above sendmail's line on it.
            answered, whole = report.transcript_reply_to(address)
        else:
            answered, whole = "", ""
        relayed = f.relayed or bool(whole)
        diagnostic = whole or f.diagnostic or near  # the reply's every line, where a transcript has them
        status, at_rcpt = server_status(f.status, diagnostic) if relayed else (f.status, "")
        status = settled_status(status, diagnostic)
        if delayed:
            out.append(Failure(address, False, status, "delayed", diagnostic[:1000], f.final_recipient,
                               DELAYED_RULE, f"Action: {f.action}"))
            continue
        basis = f"{diagnostic} {near}" if f.diagnostic else diagnostic or (report.text if single else "")
        d = decide(basis, status, report.permanence(), gave_up=bool(f.action and f.action.startswith("fail")),
                   relayed=relayed, answered=answered or at_rcpt)
        reason, hard, rule, evidence = d.reason, d.hard, d.rule, d.evidence
        if hard and single:
            # The report's own words say the mailbox is full or disabled while its fields say the
            # address is dead: that is doubt, and doubt does not cost a contact.
            state = stated_state(report.besides(address))
            if state:
                (reason, evidence), rule, hard = state, STATED_STATE_RULE, state[0] in HARD_REASONS
        out.append(Failure(address, hard, status, reason, diagnostic[:1000], f.final_recipient, rule, evidence))
    return out
