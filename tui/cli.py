"""mailfleet: find the daemon (system, then your own), start your own if none runs, open the UI."""

from __future__ import annotations

import argparse
import sys

from ..shared.client import Client, DaemonUnreachable, find_endpoint, start_user_daemon


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailfleet", description="The mailfleet terminal UI.")
    parser.add_argument("--socket", help="daemon endpoint or socket path (default: system, then per-user)")
    args = parser.parse_args(argv)
    started = False
    try:
        endpoint = find_endpoint(args.socket)
        if endpoint is None:
            print("no mailfleetd running: starting your own (per-user) daemon…", file=sys.stderr)
            endpoint = start_user_daemon()
            started = True
        with Client(endpoint, timeout=5) as client:
            info = client.call("system.info")
    except DaemonUnreachable as exc:
        print(f"mailfleet: {exc}", file=sys.stderr)
        return 3
    from .app import MailfleetApp  # Textual only once there is something to show

    MailfleetApp(endpoint, info["endpoints"]["events"], started_daemon=started).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
