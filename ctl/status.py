"""`mailfleetctl status`: one screen of how things stand, like `systemctl status`.

The daemon (version, pid, since when, where), the accounts you may see by
kind and status, their mailboxes (last round, next, backlog) and the
accounts failing now with the reason, and the accounts refused as a sender (a
blocklist, SPF/DKIM/DMARC) naming the list or check. Exit 0 when nothing fails
and nobody refuses us, 1 otherwise — so `mailfleetctl status >/dev/null || alert` works.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..shared.words import ago, span
from . import output
from .common import Command

if TYPE_CHECKING:
    from ..shared.client import Client

ORDER = ("active", "untested", "smtp_failing", "incoming_failing", "pending", "rejected")


def _states(counts: dict[str, int]) -> str:
    known = [s for s in ORDER if s in counts] + sorted(set(counts) - set(ORDER))
    return ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in known)


def render(status: dict) -> str:
    d = status["daemon"]
    lines = [f"● mailfleetd {d['version']} ({d['mode']}) — running, pid {d['pid']}",
             f"  since:     {ago(d['started_at'])}",
             f"  endpoint:  {d['endpoint']}"]
    acc = status["accounts"]
    lines.append(f"  accounts:  {acc['total']}" + ("" if acc["total"] else " (none yet: mailfleetctl accounts add)"))
    for kind in ("own", "marketing"):
        if kind in acc["by_kind"]:
            counts = acc["by_kind"][kind]
            lines.append(f"    {kind + ':':<11}{sum(counts.values())}: {_states(counts)}")
    box = status["mailboxes"]
    if box["total"]:
        lines.append(f"  mailboxes: {box['total']}, {box['failing']} failing")
        lines.append(f"    last round:  {ago(box['last_poll_at'])}")
        if not box["scheduled"]:
            lines.append("    next round:  none scheduled ([poll] schedule = false); accounts poll ID reads one now")
        elif box["next_in"] is not None:
            lines.append(f"    next round:  in {span(box['next_in'])}")
        lines.append(f"    backlog:     {box['running']} reading now, {box['waiting']} due and waiting for a place")
    else:
        lines.append("  mailboxes: none (no account reads incoming mail)")
    long = status["long_requests"]
    lines.append(f"  long requests: {long['yours']} yours, {long['all']} in all")
    failing = status["failing"]
    if failing["total"]:
        lines.append("")
        lines.append(f"Failing: {failing['total']}" + (f" (the {len(failing['items'])} latest)"
                                                         if failing["total"] > len(failing["items"]) else ""))
        rows = [{**row, "directions": "+".join(k for k in ("smtp", "incoming") if row[f"{k}_state"] == "failing"),
                 "since": row["updated_at"][:16].replace("T", " ")} for row in failing["items"]]
        lines.append(output.table(rows, [("id", "ID"), ("name", "NAME"), ("directions", "FAILING"),
                                         ("since", "SINCE"), ("status_detail", "DETAIL")]))
    problems = status["sender_problems"]
    if problems["total"]:
        lines.append("")
        lines.append(f"Refused as a sender: {problems['total']} (accounts health-ok ID once fixed)")
        rows = [{**row, "since": (row["health_at"] or "")[:16].replace("T", " ")} for row in problems["items"]]
        lines.append(output.table(rows, [("id", "ID"), ("name", "NAME"), ("health", "PROBLEM"), ("since", "SINCE"),
                                         ("health_reason", "WHAT")]))
    signin = status.get("sign_in") or {"total": 0}
    if signin["total"]:
        lines.append("")
        lines.append(f"To sign in (OAuth 2.0): {signin['total']} (mailfleetctl accounts auth ID)")
        words = {"signin_required": "not signed in yet", "reauth_required": "sign in again"}
        rows = [{**row, "why": words.get(row["auth_state"], "sign-in ends soon"),
                 "until": (row["expires_at"] or "")[:16].replace("T", " "),
                 "detail": row["status_detail"] if row["auth_state"] == "reauth_required" else ""}
                for row in signin["items"]]
        lines.append(output.table(rows, [("id", "ID"), ("name", "NAME"), ("why", "WHY"), ("until", "ENDS"),
                                         ("detail", "DETAIL")]))
    return "\n".join(lines)


def problems(status: dict) -> bool:
    """What makes `status` exit 1: something a person must act on."""
    return bool(status["failing"]["total"] or status["sender_problems"]["total"]
                or (status.get("sign_in") or {}).get("total"))


def run(args: argparse.Namespace, client: Client) -> int:
    status = client.call("system.status")
    print(output.as_json(status) if args.json else render(status))
    return 1 if problems(status) else 0


COMMAND = Command("status", "how things stand: daemon, accounts by state, polls, backlog, failures", run,
                  parser=dict(description="One screen of how things stand. Exit 0 when no account you can see is "
                                          "failing, refused as a sender or waiting for an OAuth sign-in (or soon "
                                          "to), 1 when some is.",
                              epilog="example: mailfleetctl status || echo 'some account is failing'"))
