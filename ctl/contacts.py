"""`mailfleetctl contacts ...` and `bounces ...`: import, search, show, set; bounce history. Commands as data
(common.Command): COMMANDS and BOUNCE_COMMANDS."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from . import output
from .common import Command, Usage, calls, print_page

if TYPE_CHECKING:  # the client (and zmq) load only for commands that talk to the daemon
    from ..shared.client import Client

CHUNK_ROWS = 5000  # rows per contacts.import call (shared/csvfile.py says why)
# SOFT NOW: soft bounces within the window that marks ([bounces] soft_window_days); SOFT: all, ever.
CONTACT_COLUMNS = [("email", "EMAIL"), ("status", "STATUS"), ("hard_bounces", "HARD"),
                   ("soft_bounces_recent", "SOFT NOW"), ("soft_bounces", "SOFT"), ("complaints", "COMPLAINTS"),
                   ("last_bounce_at", "LAST BOUNCE"), ("details", "DETAILS")]
BOUNCE_COLUMNS = [("id", "ID"), ("received_at", "RECEIVED"), ("recipient", "RECIPIENT"), ("verdict", "VERDICT"),
                  ("about", "ABOUT"), ("status", "STATUS"), ("reason", "REASON"), ("rule", "RULE"),
                  ("account_id", "ACCOUNT"), ("link", "MATCHED BY"), ("diagnostic", "DIAGNOSTIC")]
UNPARSED_COLUMNS = [("id", "ID"), ("received_at", "RECEIVED"), ("account_id", "ACCOUNT"), ("subject", "SUBJECT"),
                    ("note", "WHY")]
STATUSES = ["active", "faulty", "complained"]


IMPORT_WORDS = ("The header names the columns: email (required) and any details, e.g. first_name,owner_name.\n"
                "Commas, semicolons or tabs separate them (read from the header); UTF-8 with or without BOM,\n"
                "or --encoding for a legacy code page (a file that is not UTF-8 is named with its line).\n"
                "Exit 1 when any row was rejected; each is named with its line.\n\nexamples:\n"
                "  mailfleetctl contacts import contacts.csv\n  mailfleetctl contacts import --encoding cp1250 kontakty.csv\n"
                "  some-export | mailfleetctl contacts import -")


def _import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="CSV file, or - for stdin")
    p.add_argument("--encoding", metavar="NAME", help="the file's encoding when it is not UTF-8, e.g. cp1250 (Polish "
                   "Excel), cp1252 (Western European), iso-8859-2; default: UTF-8, or UTF-16 with a BOM")
    p.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help=argparse.SUPPRESS)


def _page_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows, 1-1000 (default: 50)")
    p.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N (default: 0)")


def _list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--query", default="", metavar="TEXT", help="words in the address or details")
    p.add_argument("--status", choices=STATUSES, help="active, faulty or complained (default: all)")
    _page_arguments(p)


def _email(p: argparse.ArgumentParser) -> None:
    p.add_argument("email", help="the contact's address")


def _set_arguments(p: argparse.ArgumentParser) -> None:
    _email(p)
    p.add_argument("--status", choices=STATUSES, help="active clears faulty or complained (the history stays)")
    p.add_argument("--detail", action="append", default=[], metavar="NAME=VALUE",
                   help="set a detail (NAME= removes it); repeatable")


def _bounce_list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--contact", metavar="EMAIL", help="only bounces of this contact")
    p.add_argument("--account", type=int, metavar="ID", help="only bounces read from this account's mailbox")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--hard", dest="hard", action="store_const", const=True, help="only hard bounces (dead addresses)")
    kind.add_argument("--soft", dest="hard", action="store_const", const=False, help="only soft bounces")
    _page_arguments(p)


def _unmark_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rule", required=True, metavar="R",
                   help="the classifier rule found wrong (bounces list and classify --explain name rules): "
                        "a reason's rule, or one that chose whom a bounce is about (returned-recipient)")
    p.add_argument("--since", metavar="T", help="only what it marked at or after this time, e.g. 2026-12-01")


def _unmark_params(args: argparse.Namespace) -> dict[str, Any]:
    return {"rule": args.rule, **({"since": args.since} if args.since else {})}


def _unmarked(result: dict[str, Any]) -> str:
    lines = [f"{result['restored']:,} contact(s) restored (rule {result['rule']}, since {result['since']})"]
    lines += [f"  {c['email']}: {c['was']} -> {c['status']}" for c in result["contacts"]]
    return "\n".join(lines)


def _unparsed_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account", type=int, metavar="ID", help="only messages read from this account's mailbox")
    _page_arguments(p)


def run_unparsed(args: argparse.Namespace, client: Client) -> int:
    params: dict[str, Any] = {"limit": args.limit, "offset": args.offset}
    if args.account is not None:
        params["account_id"] = args.account
    return print_page(args, client.call("bounces.unparsed", params), UNPARSED_COLUMNS)




def _bounce_id(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", type=int, help="the bounce's id (bounces list shows it)")


def _progress(rows: int, done_bytes: int, total_bytes: int | None) -> None:
    """On a terminal: a bar for a file (its share read), a count for a pipe (whose end nobody knows)."""
    if not sys.stderr.isatty():
        return
    if total_bytes:
        width, frac = 30, min(done_bytes / total_bytes, 1.0)
        sys.stderr.write(f"\r[{'#' * int(frac * width):<{width}}] {frac:4.0%}  {rows:,} rows")
    else:
        sys.stderr.write(f"\r{rows:,} rows sent (reading stdin)")
    sys.stderr.flush()


def import_file(client: Client, path: str, chunk_rows: int, emit_json: bool, encoding: str | None = None) -> int:
    """Stream the file in chunks of rows, each sent with the header row; totals at the end."""
    from ..shared.csvfile import ContactFile, CsvProblem

    totals: dict[str, Any] = {"new": 0, "updated": 0, "rejected": 0, "errors": []}
    try:
        source = ContactFile(sys.stdin.buffer, "stdin", encoding, chunk_rows) if path == "-" else \
            ContactFile.open(path, encoding, chunk_rows)
        rows_sent = 0
        try:
            for chunk in source.chunks():
                result = client.call("contacts.import", {"csv": chunk.csv, "first_row": chunk.first_row},
                                     timeout=max(client.timeout, 120))
                for key in ("new", "updated", "rejected"):
                    totals[key] += result[key]
                totals["errors"] += result["errors"][: max(0, 50 - len(totals["errors"]))]
                rows_sent += chunk.rows
                _progress(rows_sent, chunk.done_bytes, source.total_bytes)
        finally:
            if path != "-":
                source.close()
    except CsvProblem as exc:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        raise Usage(f"{exc}" + (f" (rows before it were imported: {totals['new']:,} new, "
                                f"{totals['updated']:,} updated)" if totals["new"] or totals["updated"] else "")) from None
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if emit_json:
        print(output.as_json(totals))
    else:
        print(f"{totals['new']:,} new, {totals['updated']:,} updated, {totals['rejected']:,} rejected")
        for err in totals["errors"]:
            print(f"  line {err['row']}: {err['why']}")
    # Rows left out are a failure a script must notice (the rest was imported all the same).
    return 1 if totals["rejected"] else 0


def _details_arg(items: list[str]) -> dict[str, str | None]:
    details: dict[str, str | None] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise Usage(f"--detail takes NAME=VALUE, not {item!r}")
        details[name] = value or None
    return details


def run_import(args: argparse.Namespace, client: Client) -> int:
    return import_file(client, args.file, args.chunk_rows, args.json, args.encoding)


def run_list(args: argparse.Namespace, client: Client) -> int:
    params: dict[str, Any] = {"query": args.query, "limit": args.limit, "offset": args.offset}
    if args.status:
        params["status"] = args.status
    return print_page(args, client.call("contacts.list", params), CONTACT_COLUMNS)


def run_show(args: argparse.Namespace, client: Client) -> int:
    contact = client.call("contacts.get", {"email": args.email})
    if args.json:
        print(output.as_json(contact))
        return 0
    bounces = contact.pop("bounces")
    history = contact.pop("history")
    print(output.block(contact))
    if history:
        print("\nstatus history:")
        print(output.table(history, [("at", "AT"), ("previous", "FROM"), ("status", "TO"), ("rule", "RULE"),
                                     ("by", "BY"), ("undone_at", "UNDONE"), ("reason", "REASON")]))
    if bounces:
        print()
        print(output.table([_bounce_row(b) for b in bounces], BOUNCE_COLUMNS))
    return 0


def _set_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"email": args.email}
    if args.status:
        params["status"] = args.status
    if args.detail:
        params["details"] = _details_arg(args.detail)
    if len(params) == 1:
        raise Usage("contacts set needs --status or --detail")
    return params


def _bounce_row(b: dict[str, Any]) -> dict[str, Any]:
    return {**b, "verdict": "HARD" if b["hard"] else "soft"}


def _show_message(args: argparse.Namespace, message: dict[str, Any]) -> int:
    """A bounce or a kept message: its fields, then the message as received (JSON with --json)."""
    if args.json:
        print(output.as_json(message))
    else:
        raw = message.pop("raw")
        print(output.block(message))
        print("\n" + raw)
    return 0


def run_bounce(args: argparse.Namespace, client: Client) -> int:
    return _show_message(args, client.call("bounces.get", {"id": args.id}))


def run_unparsed_one(args: argparse.Namespace, client: Client) -> int:
    return _show_message(args, client.call("bounces.unparsed_get", {"id": args.id}))


def run_bounces(args: argparse.Namespace, client: Client) -> int:
    params: dict[str, Any] = {"limit": args.limit, "offset": args.offset}
    for key, value in (("contact", args.contact), ("account_id", args.account), ("hard", args.hard)):
        if value is not None:
            params[key] = value
    page = client.call("bounces.list", params)
    return print_page(args, page, BOUNCE_COLUMNS, [_bounce_row(b) for b in page["items"]])


COMMANDS = [
    Command("import", "import contacts from a CSV file (header row: email and details)", run_import, _import_arguments,
            parser=dict(epilog=IMPORT_WORDS, formatter_class=argparse.RawDescriptionHelpFormatter)),
    Command("list", "search contacts", run_list, _list_arguments),
    Command("show", "one contact and its bounces", run_show, _email),
    Command("set", "change a contact's status (admins) or details", calls("contacts.update", _set_params), _set_arguments),
    Command("unmark", "undo what a classifier rule found wrong marked: its contacts get their status back (admins)",
            calls("contacts.unmark", _unmark_params, show=_unmarked), _unmark_arguments),
]

BOUNCE_COMMANDS = [
    Command("list", "bounces, newest first", run_bounces, _bounce_list_arguments),
    Command("show", "one bounce, with the message as received", run_bounce, _bounce_id),
    Command("unparsed", "messages the classifier could not read, kept for you", run_unparsed, _unparsed_arguments),
    Command("unparsed-show", "one of them, as received", run_unparsed_one, _bounce_id),
]
