"""IMAP's modified UTF-7 for folder names (RFC 3501 section 5.1.3), both ways.

A folder named "Zwroty-ęą" travels as "Zwroty-&ARkBBQ-": printable ASCII
stands for itself ("&" as "&-"), everything else is UTF-16BE in base64 with
"," for "/" and no padding, between "&" and "-". Servers list names this
way and expect them this way in SELECT; the stdlib imaplib does neither.
"""

from __future__ import annotations

import base64


def encode(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode(text: str) -> str:
    """A name as the server lists it; text that is not valid modified UTF-7 is kept as it came."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "&":
            out.append(text[i])
            i += 1
            continue
        end = text.find("-", i)
        if end == -1:
            out.append(text[i:])
            break
        chunk = text[i + 1:end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            try:
                out.append(base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                out.append(text[i:end + 1])
        i = end + 1
    return "".join(out)
