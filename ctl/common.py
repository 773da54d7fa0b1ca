"""What every mailfleetctl command module shares: commands as data.

A command is one entry (circus's model): the arguments it takes, what it runs (the call it makes and how
it prints), and the parser's words. A group (`accounts`, `contacts`, ...) is a list of them; the parser
and the dispatch are built from that list, so adding a command is adding an entry.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import output

if TYPE_CHECKING:
    from ..shared.client import Client


class Usage(Exception):
    """A usage error found after parsing (exit code 2)."""


# leaf(subparsers, name, help=...) -> a parser that also accepts --json after the command.
Leaf = Callable[..., argparse.ArgumentParser]
Run = Callable[[argparse.Namespace, "Client | None"], int]


class Command:
    """One command. A plain class: a dataclass imports dataclasses and the inspect module it needs, and a
    typing.NamedTuple compiles each field's annotation (a string here, under `from __future__ import
    annotations`) when the class is made; either was a twentieth of `mailfleetctl classify`'s start-up."""

    __slots__ = ("name", "help", "run", "arguments", "parser", "offline")

    def __init__(self, name: str, help: str, run: Run,
                 arguments: Callable[[argparse.ArgumentParser], None] | None = None,
                 parser: Mapping[str, Any] = MappingProxyType({}), offline: bool = False) -> None:
        self.name, self.help = name, help
        self.run = run  # the parsed arguments and a client (None for an offline command) -> the exit code
        self.arguments = arguments
        self.parser = parser  # description, epilog, formatter_class
        self.offline = offline  # works on files alone: no daemon is reached


def calls(method: str, params: Callable[[argparse.Namespace], dict[str, Any]] = lambda args: {"id": args.id}, *,
          long: bool = False, show: Callable[[Any], str] = output.block) -> Run:
    """A command that makes one call and prints its result (JSON with --json); exit 0."""

    def run(args: argparse.Namespace, client: Client) -> int:
        # Long work (a mailbox round of thousands of messages, a test) waits longer than other calls.
        result = client.call(method, params(args), **({"timeout": max(client.timeout, 600)} if long else {}))
        print(output.as_json(result) if args.json else show(result))
        return 0

    return run


def print_page(args: argparse.Namespace, page: dict[str, Any], columns: list[tuple[str, str]],
               rows: list[dict[str, Any]] | None = None) -> int:
    """A page of a list: JSON as the daemon answered it, or a table and how many of how many; exit 0."""
    if args.json:
        print(output.as_json(page))
        return 0
    print(output.table(page["items"] if rows is None else rows, columns))
    offset = getattr(args, "offset", 0)
    print(f"{len(page['items'])} shown of {page['total']}" + (f" (from {offset + 1})" if offset else ""))
    return 0


def account_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int, help="the account's id (accounts list shows it)")


def add_command(subparsers: argparse._SubParsersAction, leaf: Leaf, command: Command) -> None:
    parser = leaf(subparsers, command.name, help=command.help, **command.parser)
    if command.arguments is not None:
        command.arguments(parser)
    parser.set_defaults(run=command.run, offline=command.offline)


def add_group(sub: argparse._SubParsersAction, leaf: Leaf, name: str, commands: Sequence[Command]) -> None:
    group = sub.add_parser(name, help=", ".join(c.name for c in commands))
    actions = group.add_subparsers(dest="action", required=True)
    for command in commands:
        add_command(actions, leaf, command)
