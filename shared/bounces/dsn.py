"""RFC 3464 / RFC 6533 delivery-status fields, from a MIME part or from plain text.

Some servers send the fields as text/plain, or inline in the body; the
same block parser reads all of them.
"""

from __future__ import annotations

import re

from . import patterns

ADDRESS_RX = patterns.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
# Exim quotes a server's reply through string_printing(), which writes each byte it will not print as a
# backslash and three octal digits: a Japanese "ユーザー不明" arrives as "\343\203\246...". Runs of such bytes
# from 0o200 up that spell UTF-8 are the server's words.
_OCTAL_RUN = patterns.compile(r"(?:\\[23][0-7][0-7])+")


def _utf8_of(m: re.Match[str]) -> str:
    run = m.group(0)
    try:
        return bytes(int(run[i + 1:i + 4], 8) for i in range(0, len(run), 4)).decode("utf-8")
    except UnicodeDecodeError:
        return run


def unescaped(text: str) -> str:
    """The text with Exim's octal escapes of UTF-8 put back as the characters they stand for (control
    characters, which it escapes below 0o200, stay escaped)."""
    return _OCTAL_RUN.sub(_utf8_of, text) if "\\" in text else text


class RecipientFields:
    """One recipient's fields of a delivery-status part (RFC 3464 §2.3). A plain class: see reasons.Rule."""

    __slots__ = ("final_recipient", "original_recipient", "action", "status", "diagnostic", "diagnostic_type",
                 "remote_mta")

    def __init__(self, final_recipient: str | None = None, original_recipient: str | None = None,
                 action: str | None = None, status: str | None = None, diagnostic: str = "",
                 diagnostic_type: str = "", remote_mta: str | None = None) -> None:
        self.final_recipient, self.original_recipient, self.action = final_recipient, original_recipient, action
        self.status, self.diagnostic, self.remote_mta = status, diagnostic, remote_mta
        self.diagnostic_type = diagnostic_type  # "smtp", "x-postfix", ... or "" when the server left it out

    @property
    def relayed(self) -> bool:
        """The diagnostic quotes a remote server (type smtp, or none given), even when its reply code was lost."""
        return bool(self.diagnostic) and self.diagnostic_type in ("", "smtp")

    @property
    def address(self) -> str | None:
        """The address we mailed (Original-Recipient) when given, else the one that failed."""
        return self.original_recipient or self.final_recipient


# A recipient field's address may be of type utf-8 (RFC 6533 §3): letters of any script on both sides of the @.
# Prose keeps ADDRESS_RX, where the letters around an address are words, not part of it.
_FIELD_ADDRESS_RX = patterns.compile(r"[\w!#$%&'*+/=?^`{|}~.-]+@[\w-]+(?:\.[\w-]+)*")
_STATUS_CODE = patterns.compile(r"[245]\.\d{1,3}\.\d{1,3}")


def address_of(value: str) -> str | None:
    """'rfc822; <User@Example.COM>' -> 'User@Example.COM'; 'utf-8; 田中@例え.jp' -> '田中@例え.jp'."""
    _, _, rest = value.rpartition(";")
    m = _FIELD_ADDRESS_RX.search(rest or value)
    return m.group(0).strip(".") if m else None


def _is_field_name(name: str) -> bool:
    """A field name of the form RFC 3464's have, [A-Za-z][A-Za-z0-9-]* ("Final-Recipient", "X-Postfix-Sender").
    String tests, not a regex: each line of a report is asked, and a match's groups cost a call each."""
    return name[:1].isalpha() and name.isascii() and name.replace("-", "").isalnum()


def parse_blocks(text: str) -> list[dict[str, str]]:
    """Blank-line separated blocks of `Field: value` lines (with folded continuations), each value's runs of
    white space made one space."""
    fields: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            fields.append(("", ""))  # a block boundary
        elif line[0] in " \t" and fields and fields[-1][0]:
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}")
        else:
            head, colon, rest = line.partition(":")
            name = head.rstrip(" \t")
            if colon and _is_field_name(name):
                fields.append((name.lower(), rest.strip()))
    return split_blocks([(name, " ".join(value.split())) for name, value in fields])


def split_blocks(fields: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Group (name, value) pairs into per-recipient blocks. A boundary is ("", ""), or a
    second Final-Recipient in one block: some servers forget the blank line between recipients."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for name, value in fields:
        if not name or (name == "final-recipient" and "final-recipient" in current) or (
            name == "original-recipient" and "final-recipient" in current and "original-recipient" in current
        ):
            if current:
                blocks.append(current)
            current = {}
            if not name:
                continue
        current.setdefault(name, value)
    if current:
        blocks.append(current)
    return blocks


def recipients(blocks: list[dict[str, str]]) -> list[RecipientFields]:
    out = []
    for block in blocks:
        final = block.get("final-recipient")
        original = block.get("original-recipient")
        if not final and not original:
            continue
        status = block.get("status", "")
        m = _STATUS_CODE.search(status)
        out.append(
            RecipientFields(
                final_recipient=address_of(final) if final else None,
                original_recipient=address_of(original) if original else None,
                action=(block.get("action") or "").strip().lower() or None,
                status=m.group(0) if m else None,
                diagnostic=unescaped(_strip_type(block.get("diagnostic-code", ""))),
                diagnostic_type=_type_of(block.get("diagnostic-code", "")),
                remote_mta=_strip_type(block.get("remote-mta", "")) or None,
            )
        )
    return out


def _type_of(value: str) -> str:
    """'smtp; 550 5.1.1 ...' -> 'smtp'; '' when the value names no type."""
    kind, sep, _ = value.partition(";")
    kind = kind.strip()
    return kind.lower() if sep and len(kind) < 24 and " " not in kind else ""


def _strip_type(value: str) -> str:
    """'smtp; 550 5.1.1 ...' -> '550 5.1.1 ...'."""
    return value.partition(";")[2].strip() if _type_of(value) else value.strip()
