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


def printable(text: str) -> str:
    """Text fit for a terminal: control characters (an ESC that would recolour or retitle it, CR, LF, tabs)
    become spaces. Server and user text reaches the screen through this."""
    return "".join(c if c.isprintable() else " " for c in text)


def when(stamp: str | None) -> str:
    """An ISO time stamp to the second, in the reader's words: '2026-12-02 20:46:03 UTC'."""
    if not stamp:
        return "never"
    text = stamp.replace("T", " ")[:19]
    return f"{text} UTC" if stamp.endswith(("Z", "+00:00")) else text


def span(seconds: float) -> str:
    """A duration as a person says it: '45 s', '12 min', '3 h 5 min', '2 days'."""
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    if seconds < 172800:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def ago(stamp: str | None, now: float | None = None) -> str:
    """'2026-12-02 20:46:03 UTC (5 min ago)', or 'never'."""
    if not stamp:
        return "never"
    from datetime import datetime, timezone

    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return when(stamp)
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    return f"{when(stamp)} ({span(current - then.timestamp())} ago)"


def event_summary(event: dict[str, Any]) -> str:
    """One event in a line of words, for `mailfleetctl events` and the TUI's activity view.
    Every type the daemon publishes has its sentence; an unknown one lists its fields."""
    data = {k: v for k, v in event.items() if k not in ("seq", "type", "time")}
    kind = event.get("type", "")
    if kind in ("bounce.hard", "bounce.soft"):
        code = f" {data['status']}" if data.get("status") else ""
        known = "" if data.get("contact") else " (not a contact)"
        return f"{kind.split('.')[1]} bounce from {data.get('recipient') or '(no recipient)'}{known}:{code} {data.get('reason', '')}"
    if kind == "contact.faulty":
        return f"{data.get('contact')} marked faulty: {data.get('reason', '')}"
    if kind == "contact.updated":
        return f"{data.get('contact')} changed: {words({k: v for k, v in data.items() if k != 'contact'})}"
    if kind == "mail.received":
        return f"mail from contact {data.get('contact')}: {data.get('subject') or '(no subject)'}"
    if kind == "mail.unreadable":
        return f"message {data.get('ref')} set aside after {data.get('tries')} tries: {data.get('reason', '')}"
    if kind == "account.status":
        detail = f": {data['detail']}" if data.get("detail") else ""
        by = f" (by {data['by']})" if data.get("by") else ""
        return f"status {data.get('status')}{detail}{by}"
    if kind == "account.auth":
        if data.get("state") == "granted":
            return f"signed in with OAuth 2.0 ({data.get('flow')} flow, by {data.get('by')})"
        return f"OAuth sign-in failed ({data.get('flow')} flow, by {data.get('by')}): {data.get('reason', '')}"
    if kind in ("account.created", "account.updated", "account.deleted"):
        return f"account {kind.split('.')[1]} ({data.get('kind')}, owner {data.get('owner')})"
    if kind == "probe.step":
        result = "ok" if data.get("ok") else "FAILED"
        return f"test {data.get('protocol')} {data.get('step')} {result} {data.get('ms', 0):.0f} ms {data.get('detail', '')}"
    return words(data)
