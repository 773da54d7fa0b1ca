"""mailfleetctl: the daemon's API for shells and scripts.

Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage,
3 no daemon reachable (or it did not answer in time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from ..shared import protocol as P
from ..shared.clidocs import add_doc_options
from ..shared.version import VersionAction
from . import output
from .common import Command, Usage, add_command, add_group

if TYPE_CHECKING:
    from ..shared.client import Client

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def _call_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("method", help="e.g. accounts.list; mailfleetctl call rpc.discover lists them all")
    p.add_argument("params", nargs="?", help="JSON object of params, or - to read it from stdin")


def _run_call(args: argparse.Namespace, client: Client) -> int:
    print(output.as_json(client.call(args.method, _params_arg(args.params))))
    return EXIT_OK


def _classify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE", help="mail files (one message each, as received)")
    p.add_argument("--batch", action="store_true", help="read paths on stdin, write one JSON line each")
    p.add_argument("--explain", action="store_true",
                   help="say why: the rule that decided each verdict, its source, and the words it rested on")


def _run_classify(args: argparse.Namespace, client: None = None) -> int:
    from . import classify as classify_cmd  # the classifier's patterns load only for this command

    if args.batch:
        return classify_cmd.batch()
    if not args.files:
        raise Usage("classify needs FILE... or --batch")
    return classify_cmd.show(args.files, args.json, args.explain)


# The command line as data: top-level commands, then groups of commands (common.Command each).
TOP = [
    Command("call", "call any method: call METHOD [JSON|-]", _run_call, _call_arguments),
    Command("classify", "classify mail files as bounces (no daemon needed)", _run_classify, _classify_arguments,
            offline=True),
]


def groups() -> dict[str, list[Command]]:
    """The command groups. Imported when a parser needs them: the accounts group's flags are derived from
    the shared models, whose import is most of a command's start-up, and `classify` needs none of it."""
    from . import accounts, contacts, sending

    return {"accounts": accounts.COMMANDS, "contacts": contacts.COMMANDS, "bounces": contacts.BOUNCE_COMMANDS,
            "queue": sending.QUEUE_COMMANDS, "submission": sending.SUBMISSION_COMMANDS}


def singles() -> list[Command]:
    from . import admin, events, sending, status

    return [events.COMMAND, admin.BACKUP, admin.KEYGEN, status.COMMAND, sending.SEND]


_VALUED = {"--socket", "--timeout", "--key", "--server-key"}  # the global options that take a value


def _offline_command(argv: list[str]) -> bool:
    """The command line names an offline top-level command (classify): a parser of those alone reads it."""
    rest = iter(argv)
    for arg in rest:
        if arg in _VALUED:
            next(rest, None)
        elif not arg.startswith("-"):
            return any(c.name == arg and c.offline for c in TOP)
    return False


def build_parser(offline_only: bool = False) -> argparse.ArgumentParser:
    # --json is accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts")
    parser = argparse.ArgumentParser(prog="mailfleetctl", description="Drive mailfleetd from the shell.")
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--socket", help="daemon endpoint or socket path (default: system, then per-user)")
    parser.add_argument("--timeout", type=float, default=P.DEFAULT_TIMEOUT, help="seconds to wait for an answer")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument("--key", default=os.environ.get("MAILFLEET_KEY"),
                        help="tcp:// endpoints: your NAME.key_secret (or $MAILFLEET_KEY)")
    parser.add_argument("--server-key", default=os.environ.get("MAILFLEET_SERVER_KEY"),
                        help="tcp:// endpoints: the daemon's server.key (or $MAILFLEET_SERVER_KEY)")
    add_doc_options(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    def leaf(subparsers, name: str, **kw) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[common], **kw)

    for command in TOP:
        add_command(sub, leaf, command)
    if offline_only:
        return parser
    for name, commands in groups().items():
        add_group(sub, leaf, name, commands)
    for command in singles():
        add_command(sub, leaf, command)
    return parser


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




def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # `mailfleetctl ... | head`: the reader left; that is not an error, and no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(offline_only=_offline_command(argv)).parse_args(argv)
    if args.offline:  # works on files alone: no daemon
        try:
            return args.run(args, None)
        except Usage as exc:
            print(f"mailfleetctl: {exc}", file=sys.stderr)
            return EXIT_USAGE
    # The client (and zmq) load only now: `mailfleetctl classify` starts without them.
    from ..shared.client import Client, CurveKeys, DaemonUnreachable

    try:
        curve = CurveKeys.from_files(args.key, args.server_key) if args.key and args.server_key else None
        with Client.connect(args.socket, args.timeout, curve) as client:
            return args.run(args, client)
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
