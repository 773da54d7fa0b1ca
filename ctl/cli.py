"""mailfleetctl: the daemon's API for shells and scripts.

Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage,
3 no daemon reachable (or it did not answer in time).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from ..shared import protocol as P
from ..shared.client import DEFAULT_TIMEOUT, Client, DaemonUnreachable
from . import classify as classify_cmd
from . import output

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

LIST_COLUMNS = [
    ("id", "ID"), ("name", "NAME"), ("email", "EMAIL"), ("kind", "KIND"), ("status", "STATUS"),
    ("created_at", "CREATED"), ("owner", "OWNER"), ("shared", "SHARED"),
]

# Account flags as data: (flag, path in the account, type). Passwords are
# read from a file or stdin, never from argv, where `ps` would show them.
FIELD_FLAGS: list[tuple[str, str, Any]] = [
    ("--name", "name", str),
    ("--email", "email", str),
    ("--display-name", "display_name", str),
    ("--from-name-field", "from_name_field", str),
    ("--reply-to-email", "reply_to_email", str),
    ("--reply-to-name", "reply_to_name", str),
    ("--reply-to-name-field", "reply_to_name_field", str),
    ("--shared", "shared", bool),
    ("--smtp-host", "smtp.host", str),
    ("--smtp-port", "smtp.port", int),
    ("--smtp-user", "smtp.user", str),
    ("--smtp-password-file", "smtp.password", Path),
    ("--smtp-security", "smtp.security", ("none", "starttls", "ssl")),
    ("--smtp-auth", "smtp.authenticate", bool),
    ("--smtp-verify-tls", "smtp.verify_tls", bool),
    ("--smtp-proxy", "smtp.proxy", str),
    ("--incoming-protocol", "incoming.protocol", ("imap", "pop3")),
    ("--incoming-host", "incoming.host", str),
    ("--incoming-port", "incoming.port", int),
    ("--incoming-user", "incoming.user", str),
    ("--incoming-password-file", "incoming.password", Path),
    ("--incoming-ssl", "incoming.ssl", bool),
    ("--incoming-verify-tls", "incoming.verify_tls", bool),
    ("--incoming-folder", "incoming.folder", str),
    ("--incoming-batch-size", "incoming.batch_size", int),
    ("--incoming-delete-bounces", "incoming.delete_bounces", bool),
    ("--incoming-poll-interval", "incoming.poll_interval", int),
]


class Usage(Exception):
    pass


def _add_account_flags(p: argparse.ArgumentParser) -> None:
    for flag, path, kind in FIELD_FLAGS:
        if kind is bool:
            p.add_argument(flag, dest=path, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS)
        elif kind is Path:
            p.add_argument(flag, dest=path, metavar="FILE", type=Path, default=argparse.SUPPRESS,
                           help="read the password from FILE ('-': stdin, or a prompt on a terminal)")
        elif isinstance(kind, tuple):
            p.add_argument(flag, dest=path, choices=kind, default=argparse.SUPPRESS)
        else:
            p.add_argument(flag, dest=path, type=kind, default=argparse.SUPPRESS)
    p.add_argument("--no-incoming", dest="incoming", action="store_const", const=None, default=argparse.SUPPRESS,
                   help="turn incoming mail off")


def build_parser() -> argparse.ArgumentParser:
    # --json is accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts")
    parser = argparse.ArgumentParser(prog="mailfleetctl", description="Drive mailfleetd from the shell.")
    parser.add_argument("--socket", help="daemon endpoint or socket path (default: system, then per-user)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for an answer")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    sub = parser.add_subparsers(dest="command", required=True)

    def leaf(subparsers, name: str, **kw) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[common], **kw)

    call = leaf(sub, "call", help="call any method: call METHOD [JSON|-]")
    call.add_argument("method")
    call.add_argument("params", nargs="?", help="JSON object of params, or - to read it from stdin")

    classify = leaf(sub, "classify", help="classify mail files as bounces (no daemon needed)")
    classify.add_argument("files", nargs="*", metavar="FILE")
    classify.add_argument("--batch", action="store_true", help="read paths on stdin, write one JSON line each")

    accounts = sub.add_parser("accounts", help="list, show, add, edit, rm, approve, reject")
    acc = accounts.add_subparsers(dest="action", required=True)
    lst = leaf(acc, "list", help="search accounts")
    lst.add_argument("-q", "--query", default="")
    lst.add_argument("--kind", choices=["all", "marketing", "own"], default="all")
    lst.add_argument("--status")
    lst.add_argument("--sort", default="name")
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--offset", type=int, default=0)
    show = leaf(acc, "show", help="one account")
    show.add_argument("id", type=int)
    add = leaf(acc, "add", help="create an account")
    add.add_argument("--kind", choices=["own", "marketing"], default="own")
    _add_account_flags(add)
    edit = leaf(acc, "edit", help="change fields of an account")
    edit.add_argument("id", type=int)
    _add_account_flags(edit)
    rm = leaf(acc, "rm", help="delete an account")
    rm.add_argument("id", type=int)
    rm.add_argument("-y", "--yes", action="store_true", help="do not ask")
    approve = leaf(acc, "approve", help="approve a marketing account (admins)")
    approve.add_argument("id", type=int)
    reject = leaf(acc, "reject", help="reject a marketing account (admins)")
    reject.add_argument("id", type=int)
    reject.add_argument("--reason", required=True)
    return parser


def _read_password(source: Path) -> str:
    if str(source) == "-":
        if sys.stdin.isatty():
            return getpass.getpass("password: ")
        return sys.stdin.readline().rstrip("\r\n")
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise Usage(f"cannot read password file: {exc}") from None
    return lines[0] if lines else ""


def account_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, as a (nested) account object."""
    data: dict[str, Any] = {}
    values = vars(args)
    if "incoming" in values and values["incoming"] is None:
        data["incoming"] = None
    for flag, path, kind in FIELD_FLAGS:
        if path not in values:
            continue
        value = _read_password(values[path]) if kind is Path else values[path]
        section, _, key = path.rpartition(".")
        if section:
            if data.get(section, {}) is None:
                raise Usage(f"{flag} cannot be combined with --no-incoming")
            data.setdefault(section, {})[key] = value
        else:
            data[key] = value
    return data


def _params_arg(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    if text == "-":
        text = sys.stdin.read()
    try:
        params = json.loads(text)
    except ValueError as exc:
        raise Usage(f"params are not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise Usage("params must be a JSON object")
    return params


def run(args: argparse.Namespace, client: Client) -> int:
    emit_json = args.json
    if args.command == "call":
        print(output.as_json(client.call(args.method, _params_arg(args.params))))
        return EXIT_OK
    action = args.action
    if action == "list":
        params = {"query": args.query, "kind": args.kind, "sort": args.sort, "limit": args.limit, "offset": args.offset}
        if args.status:
            params["status"] = args.status
        page = client.call("accounts.list", params)
        if emit_json:
            print(output.as_json(page))
        else:
            print(output.table(page["items"], LIST_COLUMNS))
            shown = len(page["items"])
            print(f"{shown} shown of {page['total']}" + (f" (from {args.offset + 1})" if args.offset else ""))
        return EXIT_OK
    if action == "rm" and not args.yes and sys.stdin.isatty():
        account = client.call("accounts.get", {"id": args.id})
        answer = input(f"Delete account {args.id} ({account['name']} <{account['email']}>)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not deleted")
            return EXIT_OK
    if action == "show":
        result = client.call("accounts.get", {"id": args.id})
    elif action == "add":
        result = client.call("accounts.create", {"kind": args.kind, **account_fields(args)})
    elif action == "edit":
        result = client.call("accounts.update", {"id": args.id, **account_fields(args)})
    elif action == "rm":
        result = client.call("accounts.delete", {"id": args.id})
    elif action == "approve":
        result = client.call("accounts.approve", {"id": args.id})
    else:
        result = client.call("accounts.reject", {"id": args.id, "reason": args.reason})
    print(output.as_json(result) if emit_json else output.block(result))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "classify":  # works on files alone: no daemon
        if args.batch:
            return classify_cmd.batch()
        if not args.files:
            parser.error("classify needs FILE... or --batch")
        return classify_cmd.show(args.files, args.json)
    try:
        with Client.connect(args.socket, args.timeout) as client:
            return run(args, client)
    except Usage as exc:
        print(f"mailfleetctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DaemonUnreachable as exc:
        print(f"mailfleetctl: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except P.RpcError as exc:
        if args.json:
            print(output.as_json({"error": exc.to_json()}))
        else:
            name = P.ERROR_NAMES.get(exc.code, "error")
            print(f"mailfleetctl: {name} ({exc.code}): {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
