"""mailfleet: find the daemon (system, then your own), start your own if none runs, open the UI."""

from __future__ import annotations

import argparse
import sys
import tomllib

from ..shared.client import Client, DaemonUnreachable, find_endpoint, start_user_daemon
from ..shared.clidocs import add_doc_options
from ..shared.version import VersionAction
from ..shared.paths import user_paths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailfleet", description="The mailfleet terminal UI.")
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--socket", help="daemon endpoint or socket path (default: system, then per-user)")
    add_doc_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        keymap = load_keymap()  # first: a typo is said before any daemon is started or asked
    except ValueError as exc:
        print(f"mailfleet: {exc}", file=sys.stderr)
        return 2
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

    MailfleetApp(endpoint, started_daemon=started, keymap=keymap).run()
    if info.get("mode") == "user":
        # Quitting the UI does not stop the daemon (mailboxes go on being read): say so, and how.
        print(f"mailfleetd (your own, pid {info['pid']}) keeps running and reading mailboxes; "
              f"stop it with: kill {info['pid']}", file=sys.stderr)
    return 0


def load_keymap() -> dict[str, str]:
    """$XDG_CONFIG_HOME/mailfleet/keys.toml: binding id = "keys", e.g. accounts.new = "insert".

    A typo is an error naming its line (and the id meant, when one is close), not a key that
    silently keeps its old meaning."""
    import difflib

    from .keys import binding_ids, key_problem

    path = user_paths().config_dir / "keys.toml"
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    flat: dict[str, str] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else key, sub)
        elif isinstance(value, str):
            flat[prefix] = value
        else:
            raise ValueError(f"{where(prefix)}: {prefix} must be a string of keys, e.g. {prefix} = \"insert\"")

    def where(binding_id: str) -> str:
        last = binding_id.rsplit(".", 1)[-1]
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip().startswith((binding_id, last, f'"{binding_id}"')):
                return f"{path}, line {number}"
        return str(path)

    walk("", data)
    known = binding_ids()
    for binding_id, keys in flat.items():
        if binding_id not in known:
            close = difflib.get_close_matches(binding_id, sorted(known), n=1)
            hint = f"did you mean {close[0]}?" if close else "press ? in mailfleet for every id"
            raise ValueError(f"{where(binding_id)}: no key binding has the id {binding_id!r}; {hint}")
        if problem := key_problem(keys):
            raise ValueError(f"{where(binding_id)}: {binding_id}: {problem}")
    return flat


if __name__ == "__main__":
    sys.exit(main())
