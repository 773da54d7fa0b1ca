"""`mailfleetctl events [--follow]`: the event log, then (with --follow) live events as they happen.

Following subscribes first (events.subscribe, on the same connection as
every call, so the daemon shows you only what you may see) and reads the
log second, so nothing falls in between; events seen twice (log and live)
are printed once, by seq. The subscription is renewed before its lease ends.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from ..shared.words import event_summary, when
from .common import Command

if TYPE_CHECKING:  # loaded when a command runs, not for every mailfleetctl start
    from ..shared.client import Client


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", type=int, default=0, help="only events after this seq")
    p.add_argument("--type", default="", help="only events whose type starts with this (e.g. bounce.)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events until interrupted")


def _printer(as_json: bool):
    """JSON lines for scripts; for people: seq, time, type, account and the event in words."""
    def emit(event: dict) -> None:
        if as_json:
            text = json.dumps(event, ensure_ascii=False)
        else:
            where = f"account {event['account_id']}" if event.get("account_id") is not None else "-"
            seq = event.get("seq") or "live"
            text = (f"{seq:>6}  {when(event.get('time'))[:19]}  {event.get('type', ''):<16} {where:<12} "
                    f"{event_summary(event)}").replace("\r", " ").replace("\n", " ")
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    return emit


def _subscribe(args: argparse.Namespace, client: Client) -> float:
    """Subscribe (or renew); returns when to renew next (monotonic)."""
    lease = client.call("events.subscribe", {"types": [args.type] if args.type else []})["lease"]
    return time.monotonic() + lease / 3


def run(args: argparse.Namespace, client: Client) -> int:
    _print = _printer(args.json)
    renew = _subscribe(args, client) if args.follow else 0.0
    last = args.since
    while True:
        page = client.call("events.list", {"since": last, "type": args.type, "limit": 1000})
        for event in page["items"]:
            _print(event)
        last = page["last_seq"]
        if len(page["items"]) < 1000:
            break
    if not args.follow:
        return 0
    try:
        while True:
            if time.monotonic() >= renew:
                renew = _subscribe(args, client)
            event = client.next_event(timeout=max(0.0, renew - time.monotonic()))
            if event is None:
                continue
            if event.get("seq", 0) > last or event.get("seq") == 0:  # seq 0: live only (probe steps)
                last = max(last, event.get("seq", 0))
                _print(event)
    except KeyboardInterrupt:
        return 0


COMMAND = Command("events", "print events, one line each (--json: JSON lines); --follow for live ones", run, _arguments,
                  parser=dict(description="The event log, oldest first, one line each; --follow keeps printing live "
                                          "events.",
                              epilog="examples:\n  mailfleetctl events --type bounce. --follow\n"
                                     "  mailfleetctl events --since 1200 --json | jq .recipient",
                              formatter_class=argparse.RawDescriptionHelpFormatter))
