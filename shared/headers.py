"""The From and Reply-To a contact gets from an account ("Overwrite field FROM").

A contact detail can say anything; it becomes a display name only after
control characters are gone (no CR/LF, so no injected header) and non-ASCII
is RFC 2047-encoded by the stdlib. An address with a non-ASCII domain goes
in its A-label form, which any reader takes.
"""

from __future__ import annotations

import unicodedata
from email.utils import formataddr
from typing import Any

import idna


def a_label(domain: str) -> str:
    """A domain as ASCII: a non-ASCII one as its A-label (IDNA 2008, RFC 5891)."""
    return domain if domain.isascii() else idna.encode(domain, uts46=True).decode("ascii")


def header_address(address: str) -> str:
    """The address as a header carries it: a non-ASCII domain as its A-label (plain RFC 5322); a non-ASCII
    local part as it is, UTF-8 (RFC 6532), which only a server offering SMTPUTF8 may be sent."""
    local, at, domain = address.rpartition("@")
    return f"{local}@{a_label(domain)}" if at and local.isascii() else address


def display_name(value: str | None) -> str:
    if not value:
        return ""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in value)
    return " ".join(cleaned.split())[:200]


def sender_headers(account: dict[str, Any], details: dict[str, str]) -> dict[str, str]:
    """account: its wire form (accounts.get); details: the contact's details (empty if unknown)."""
    name = display_name(details.get(account.get("from_name_field") or "")) or display_name(account.get("display_name"))
    reply_name = display_name(details.get(account.get("reply_to_name_field") or "")) or display_name(
        account.get("reply_to_name")
    )
    return {
        "from": formataddr((name, header_address(account["email"])), charset="utf-8"),
        "reply_to": formataddr((reply_name, header_address(account.get("reply_to_email") or account["email"])),
                               charset="utf-8"),
    }
