"""`mailfleetctl events [--follow]`: the event log, then (with --follow) live events as they happen.

Following subscribes first and reads the log second, so nothing falls in
between; events seen twice (log and live) are printed once, by seq.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from .common import Leaf

if TYPE_CHECKING:  # loaded when a command runs, not for every mailfleetctl start
    from ..shared.client import Client


def add_parser(sub: argparse._SubParsersAction, leaf: Leaf) -> None:
    ev = leaf(sub, "events", help="print events (JSON lines); --follow for live ones")
    ev.add_argument("--since", type=int, default=0, help="only events after this seq")
    ev.add_argument("--type", default="", help="only events whose type starts with this (e.g. bounce.)")
    ev.add_argument("-f", "--follow", action="store_true", help="keep printing new events until interrupted")


def _print(event: dict) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def run(args: argparse.Namespace, client: Client) -> int:
    import zmq  # here, not at the top: `mailfleetctl classify` starts without it

    sub = None
    if args.follow:
        info = client.call("system.info")
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, args.type.encode())
        sub.connect(info["endpoints"]["events"])
    last = args.since
    while True:
        page = client.call("events.list", {"since": last, "type": args.type, "limit": 1000})
        for event in page["items"]:
            _print(event)
        last = page["last_seq"]
        if len(page["items"]) < 1000:
            break
    if sub is None:
        return 0
    try:
        while True:
            _topic, body = sub.recv_multipart()
            event = json.loads(body)
            if event.get("seq", 0) > last:
                last = event["seq"]
                _print(event)
    except KeyboardInterrupt:
        return 0
    finally:
        sub.close()
