"""The message each recipient gets: a body kept once per job, and the header lines of their own.

A job's body is the message as handed over (built from the parts with the stdlib's EmailMessage, or a
whole RFC 5322 message) less the headers each recipient gets of their own (PER_RECIPIENT_HEADERS: From,
Reply-To, To, Message-ID, Date, ...; Bcc never travels), in CRLF form. Sending prepends those lines: no
second parse per recipient, and the body is byte for byte what was accepted.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import formataddr, formatdate
from typing import Any
from urllib.parse import quote

from ...shared.headers import a_label, header_address, sender_headers
from ...shared.models import PER_RECIPIENT_HEADERS, FieldErrors, SendParams


def body_of_parts(params: SendParams) -> bytes:
    msg = EmailMessage(policy=default)
    if params.subject:
        msg["Subject"] = params.subject
    for name, value in params.headers.items():
        msg[name] = value
    if params.text is not None:
        msg.set_content(params.text)
        if params.html is not None:
            msg.add_alternative(params.html, subtype="html")
    else:
        msg.set_content(params.html or "", subtype="html")
    for i, part in enumerate(params.attachments):
        try:
            data = base64.b64decode(part.data, validate=True)
        except (binascii.Error, ValueError):
            raise FieldErrors({f"attachments.{i}.data": "not base64"}) from None
        maintype, _, subtype = part.content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=part.filename)
    return _without_own_headers(msg)


def body_of_message(raw: bytes) -> bytes:
    """A whole message handed over (the API's raw, or SMTP submission's DATA)."""
    msg = message_from_bytes(raw, policy=default)
    if not msg.keys():
        raise FieldErrors({"raw": "not an RFC 5322 message: no header"})
    return _without_own_headers(msg)


def _without_own_headers(msg: EmailMessage) -> bytes:
    for name in PER_RECIPIENT_HEADERS:
        del msg[name]
    if "MIME-Version" not in msg:
        msg["MIME-Version"] = "1.0"
    return msg.as_bytes(policy=SMTP)


def new_message_id(account_email: str) -> str:
    """Ours, unique, in the sending address's domain: what a bounce or a reply that quotes it is matched by."""
    return f"<{uuid.uuid4().hex}@{account_email.rpartition('@')[2] or 'mailfleet.invalid'}>"


def render(body: bytes, account: dict[str, Any], details: dict[str, str], recipient: str, message_id: str) -> bytes:
    """The message as `recipient` gets it: From and Reply-To as the account and the contact's details say
    (RFC 2047 where needed), To, Date, the Message-ID recorded when it was accepted."""
    names = sender_headers(account, details)
    to = header_address(recipient)
    lines = [f"From: {names['from']}", f"To: {formataddr(('', to)) if to.isascii() else to}"]
    if account.get("reply_to_email") or account.get("reply_to_name") or account.get("reply_to_name_field"):
        lines.append(f"Reply-To: {names['reply_to']}")
    lines += [f"Date: {_date_now()}", f"Message-ID: {message_id}"]
    lines += unsubscribe_headers(account, recipient)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8") + body


_date: tuple[int, str] = (0, "")


def _date_now() -> str:
    """The Date header's value, made once a second (formatdate costs more than the rest of a header)."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]


def unsubscribe_headers(account: dict[str, Any], recipient: str) -> list[str]:
    """List-Unsubscribe (RFC 2369) with the account's link and/or address, and List-Unsubscribe-Post
    (RFC 8058 one-click) when there is an https link; none without either."""
    targets = []
    if account.get("unsubscribe_url"):
        targets.append(account["unsubscribe_url"].replace("{recipient}", quote(recipient, safe="")))
    if account.get("unsubscribe_mailto"):
        targets.append(f"mailto:{account['unsubscribe_mailto']}?subject=unsubscribe")
    if not targets:
        return []
    lines = ["List-Unsubscribe: " + ",\r\n ".join(f"<{t}>" for t in targets)]
    if account.get("unsubscribe_url"):
        lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    return lines


def envelope_sender(account: dict[str, Any]) -> str:
    """MAIL FROM: the reply address when the account has one (bounces go there), else the address."""
    return account.get("reply_to_email") or account["email"]


def smtp_path(address: str) -> tuple[bytes, bool]:
    """The address as MAIL FROM and RCPT TO carry it (RFC 5321 section 4.1.2), and whether it needs the
    server's SMTPUTF8 (RFC 6531): a non-ASCII domain goes as its A-label (IDNA 2008, RFC 5891), which
    any server takes; a non-ASCII local part has no ASCII form, so only with SMTPUTF8."""
    local, _, domain = address.rpartition("@")
    return f"<{local}@{a_label(domain)}>".encode("utf-8"), not local.isascii()
