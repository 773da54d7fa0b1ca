"""Values as a person reads them: yes/no, '-', 'k: v', 'a, b' — never a Python repr.

One rule for the command line's tables and blocks and the TUI's details
screen, so `True`, `None` and `{'first_name': ...}` reach nobody.
"""

from __future__ import annotations

from typing import Any


def words(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {words(v)}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(words(v) for v in value) or "-"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def when(stamp: str | None) -> str:
    """An ISO time stamp to the second, in the reader's words: '2026-12-02 20:46:03 UTC'."""
    if not stamp:
        return "never"
    text = stamp.replace("T", " ")[:19]
    return f"{text} UTC" if stamp.endswith(("Z", "+00:00")) else text
