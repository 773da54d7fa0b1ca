"""Amazon SES notifications: the JSON that SES publishes through SNS (an email subscription, or a forward of it).

SES sends no DSN for these: its bounce, complaint and delivery notices are
JSON documents with a fixed schema. The recipients come from
`bounce.bouncedRecipients` only — `mail.destination` and the copied headers
name every address of the original message, the good ones too.
"""

from __future__ import annotations

import json
import re

from . import dsn, patterns
from .model import Failure, Kind
from .reasons import HARD_REASONS, decide, settled_status

SES_RULE = "ses-notification"  # Amazon SES Developer Guide, "Contents of event data" (bounce types and subtypes)

# What makes a text worth a JSON parse: SES's own type field (its quotes escaped inside an SNS envelope).
MARK = patterns.compile(r'\\?"(?:notificationType|eventType)\\?"\s*:\s*\\?"(?:Bounce|Complaint|Delivery|DeliveryDelay)\\?"')
MAX_RECIPIENTS = 500

# Sendmail's line limit (the L= mailer equate; 990 for its SMTP mailers, 2040 for relay): a longer body line
# is split, "!" ending the part before the split ("sendmail", Costales et al., section 20.5.7). SES's
# notice is one JSON line of thousands of characters, so a Sendmail relay on the way cuts its strings in
# two; the splits are taken out again (a space some versions put at the start of the continuation too,
# and white space a transport added at the end of the line: RFC 2045 §6.7 (3)) when the JSON does not
# read as it came.
SENDMAIL_SPLIT = patterns.compile(r"!(?<=[^\n]{500}!)[ \t]*\r?\n ?")  # a "!" ending a long line (the "!" found first: cheap)

# bounceSubType -> the reason when the diagnostic does not say more (SES documents these).
SUBTYPES = {
    "NoEmail": "userunknown",  # the receiving server said the address does not exist
    "Suppressed": "suppressed",  # on SES's list after an earlier hard bounce: SES did not even try
    "OnAccountSuppressionList": "suppressed",
    "MailboxFull": "mailboxfull",
    "MessageTooLarge": "exceedlimit",
    "ContentRejected": "filtered",
    "AttachmentRejected": "filtered",
    "UnsubscribedRecipient": "suppressed",
}


def notification(text: str) -> tuple[Kind, list[Failure], list[str]] | None:
    """(kind, failures, complainants) for an SES notification, or None when the text is not one."""
    start = text.find("{")
    if start < 0 or not MARK.search(text, start):
        return None
    doc = _json_at(text, start)
    if doc is None:
        joined = SENDMAIL_SPLIT.sub("", text)
        if joined != text:
            doc = _json_at(joined, joined.find("{"))
    if doc is None:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("Message"), str):
        # The SNS envelope around it, when the notification was forwarded as delivered over HTTP.
        try:
            doc = json.loads(doc["Message"])
        except (ValueError, RecursionError):
            return None
    if not isinstance(doc, dict):
        return None
    kind = doc.get("notificationType") or doc.get("eventType")
    if kind == "Complaint":
        complained = _list(_dict(doc.get("complaint")).get("complainedRecipients"))
        return "feedback", [], [a for a in map(_address, complained) if a]
    if kind == "Delivery":
        return "delivered", [], []
    if kind == "DeliveryDelay":
        delay = _dict(doc.get("deliveryDelay"))
        return "delayed", [_failure(r, "delayed") for r in _list(delay.get("delayedRecipients")) if _address(r)], []
    if kind != "Bounce":
        return None
    bounce = _dict(doc.get("bounce"))
    permanent = bounce.get("bounceType") == "Permanent"
    named = str(bounce.get("bounceSubType"))[:100]
    failures = [_failure(r, SUBTYPES.get(named), permanent, named) for r in _list(bounce.get("bouncedRecipients"))
                if _address(r)]
    return ("bounce", failures, []) if failures else None


def _json_at(text: str, start: int) -> object | None:
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except (ValueError, RecursionError):  # RecursionError: a hostile nesting depth
        return None


def _failure(recipient: dict, subtype: str | None, permanent: bool = False, named: str = "") -> Failure:
    address = _address(recipient)
    # SES's fields are a DSN's under other names: read them as one.
    fields = dsn.recipients([{"final-recipient": f"rfc822; {address}", "action": str(recipient.get("action") or ""),
                              "status": str(recipient.get("status") or ""),
                              "diagnostic-code": str(recipient.get("diagnosticCode") or "")[:1000]}])[0]
    diagnostic = fields.diagnostic
    status = settled_status(fields.status, diagnostic)
    if subtype == "delayed":
        return Failure(address, False, status, "delayed", diagnostic, rule=SES_RULE, evidence="bounceType: Transient")
    d = decide(diagnostic, status, relayed=fields.relayed)
    reason, hard, rule, evidence = d.reason, d.hard, d.rule, d.evidence
    if subtype == "userunknown":
        if reason in ("undefined", "filtered"):
            # "NoEmail" is SES's word that the address is gone, from a session it saw whole: the
            # stage our own rule asks for is known to it. A diagnostic that names another reason still wins.
            reason, hard, rule, evidence = "userunknown", True, SES_RULE, "bounceSubType: NoEmail"
    elif subtype:
        reason, hard, rule = subtype, subtype in HARD_REASONS, SES_RULE
        evidence = f"bounceSubType: {named}"
    return Failure(address, hard and permanent, status, reason, diagnostic, rule=rule, evidence=evidence)


def _address(recipient: object) -> str:
    if not isinstance(recipient, dict):
        return ""
    m = dsn.ADDRESS_RX.search(str(recipient.get("emailAddress") or ""))
    return m.group(0).lower() if m else ""


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value[:MAX_RECIPIENTS] if isinstance(value, list) else []
