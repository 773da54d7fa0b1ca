"""mailfleet: find the daemon (system, then your own), start your own if none runs, open the UI."""

from __future__ import annotations

import argparse
import sys
import tomllib

from ..shared.client import Client, DaemonUnreachable, find_endpoint, start_user_daemon
from ..shared.clidocs import add_doc_options
from ..shared.version import package_version
from ..shared.paths import user_paths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailfleet", description="The mailfleet terminal UI.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("--socket", help="daemon endpoint or socket path (default: system, then per-user)")
    add_doc_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
    try:
        keymap = load_keymap()
    except ValueError as exc:
        print(f"mailfleet: {exc}", file=sys.stderr)
        return 2
    from .app import MailfleetApp  # Textual only once there is something to show

    MailfleetApp(endpoint, started_daemon=started, keymap=keymap).run()
    if info.get("mode") == "user":
        # Quitting the UI does not stop the daemon (mailboxes go on being read): say so, and how.
        print(f"mailfleetd (your own, pid {info['pid']}) keeps running and reading mailboxes; "
              f"stop it with: kill {info['pid']}", file=sys.stderr)
    return 0


def load_keymap() -> dict[str, str]:
    """$XDG_CONFIG_HOME/mailfleet/keys.toml: binding id = "keys", e.g. accounts.new = "insert"."""
    path = user_paths().config_dir / "keys.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    flat: dict[str, str] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else key, sub)
        elif isinstance(value, str):
            flat[prefix] = value
        else:
            raise ValueError(f"{path}: {prefix} must be a string of keys")

    walk("", data)
    return flat


if __name__ == "__main__":
    sys.exit(main())
