"""mailfleet: the terminal UI (a placeholder until the TUI lands: it connects and counts).

It already does what the TUI will do at start-up: find the daemon (system
socket, then the per-user one) and start the per-user daemon if none runs.
"""

from __future__ import annotations

import argparse
import sys

from ..shared.client import Client, DaemonUnreachable, find_endpoint, start_user_daemon


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailfleet", description="The mailfleet terminal UI.")
    parser.add_argument("--socket", help="daemon endpoint or socket path (default: system, then per-user)")
    args = parser.parse_args(argv)
    try:
        endpoint = find_endpoint(args.socket)
        if endpoint is None:
            print("no mailfleetd running: starting your own (per-user) daemon…", file=sys.stderr)
            endpoint = start_user_daemon()
        with Client(endpoint) as client:
            info = client.call("system.info")
            page = client.call("accounts.list", {"limit": 1})
    except DaemonUnreachable as exc:
        print(f"mailfleet: {exc}", file=sys.stderr)
        return 3
    print(f"mailfleetd {info['version']} at {endpoint} ({info['mode']} mode), you are {info['user']}"
          f"{' (admin)' if info['admin'] else ''}: {page['total']} accounts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
