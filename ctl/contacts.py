"""`mailfleetctl contacts ...` and `bounces ...`: import, search, show, set; bounce history."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from . import output
from .common import Leaf, Usage

if TYPE_CHECKING:  # the client (and zmq) load only for commands that talk to the daemon
    from ..shared.client import Client

CHUNK_ROWS = 5000  # rows per contacts.import call (shared/csvfile.py says why)
CONTACT_COLUMNS = [("email", "EMAIL"), ("status", "STATUS"), ("hard_bounces", "HARD"), ("soft_bounces", "SOFT"),
                   ("last_bounce_at", "LAST BOUNCE"), ("details", "DETAILS")]
BOUNCE_COLUMNS = [("id", "ID"), ("received_at", "RECEIVED"), ("recipient", "RECIPIENT"), ("verdict", "VERDICT"),
                  ("status", "STATUS"), ("reason", "REASON"), ("account_id", "ACCOUNT"), ("diagnostic", "DIAGNOSTIC")]


def add_parser(sub: argparse._SubParsersAction, leaf: Leaf) -> None:
    contacts = sub.add_parser("contacts", help="import, list, show, set")
    con = contacts.add_subparsers(dest="action", required=True)
    imp = leaf(con, "import", help="import contacts from a CSV file (header row: email and details)",
               epilog="The header names the columns: email (required) and any details, e.g. first_name,owner_name.\n"
                      "Commas, semicolons or tabs separate them (read from the header); UTF-8 with or without BOM,\n"
                      "or --encoding for a legacy code page (a file that is not UTF-8 is named with its line).\n"
                      "Exit 1 when any row was rejected; each is named with its line.\n\nexamples:\n"
                      "  mailfleetctl contacts import contacts.csv\n  mailfleetctl contacts import --encoding cp1250 kontakty.csv\n"
                      "  some-export | mailfleetctl contacts import -",
               formatter_class=argparse.RawDescriptionHelpFormatter)
    imp.add_argument("file", help="CSV file, or - for stdin")
    imp.add_argument("--encoding", metavar="NAME", help="the file's encoding when it is not UTF-8, e.g. cp1250 (Polish "
                     "Excel), cp1252 (Western European), iso-8859-2; default: UTF-8, or UTF-16 with a BOM")
    imp.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help=argparse.SUPPRESS)
    lst = leaf(con, "list", help="search contacts")
    lst.add_argument("-q", "--query", default="", metavar="TEXT", help="words in the address or details")
    lst.add_argument("--status", choices=["active", "faulty"], help="active or faulty (default: both)")
    lst.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows, 1-1000 (default: 50)")
    lst.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N (default: 0)")
    show = leaf(con, "show", help="one contact and its bounces")
    show.add_argument("email", help="the contact's address")
    setp = leaf(con, "set", help="change a contact's status (admins) or details")
    setp.add_argument("email", help="the contact's address")
    setp.add_argument("--status", choices=["active", "faulty"], help="active clears faulty (the history stays)")
    setp.add_argument("--detail", action="append", default=[], metavar="NAME=VALUE",
                      help="set a detail (NAME= removes it); repeatable")

    bounces = sub.add_parser("bounces", help="list, show")
    bnc = bounces.add_subparsers(dest="action", required=True)
    blst = leaf(bnc, "list", help="bounces, newest first")
    blst.add_argument("--contact", metavar="EMAIL", help="only bounces of this contact")
    blst.add_argument("--account", type=int, metavar="ID", help="only bounces read from this account's mailbox")
    kind = blst.add_mutually_exclusive_group()
    kind.add_argument("--hard", dest="hard", action="store_const", const=True, help="only hard bounces (dead addresses)")
    kind.add_argument("--soft", dest="hard", action="store_const", const=False, help="only soft bounces")
    blst.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows, 1-1000 (default: 50)")
    blst.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N (default: 0)")
    bshow = leaf(bnc, "show", help="one bounce, with the message as received")
    bshow.add_argument("id", type=int, help="the bounce's id (bounces list shows it)")


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


def run(args: argparse.Namespace, client: Client) -> int:
    if args.command == "bounces":
        return _run_bounces(args, client)
    if args.action == "import":
        return import_file(client, args.file, args.chunk_rows, args.json, args.encoding)
    if args.action == "list":
        params: dict[str, Any] = {"query": args.query, "limit": args.limit, "offset": args.offset}
        if args.status:
            params["status"] = args.status
        page = client.call("contacts.list", params)
        if args.json:
            print(output.as_json(page))
        else:
            print(output.table(page["items"], CONTACT_COLUMNS))
            print(f"{len(page['items'])} shown of {page['total']}")
        return 0
    if args.action == "show":
        contact = client.call("contacts.get", {"email": args.email})
        if args.json:
            print(output.as_json(contact))
            return 0
        bounces = contact.pop("bounces")
        print(output.block(contact))
        if bounces:
            print()
            print(output.table([_bounce_row(b) for b in bounces], BOUNCE_COLUMNS))
        return 0
    params = {"email": args.email}
    if args.status:
        params["status"] = args.status
    if args.detail:
        params["details"] = _details_arg(args.detail)
    if len(params) == 1:
        raise Usage("contacts set needs --status or --detail")
    result = client.call("contacts.update", params)
    print(output.as_json(result) if args.json else output.block(result))
    return 0


def _bounce_row(b: dict[str, Any]) -> dict[str, Any]:
    return {**b, "verdict": "HARD" if b["hard"] else "soft"}


def _run_bounces(args: argparse.Namespace, client: Client) -> int:
    if args.action == "show":
        bounce = client.call("bounces.get", {"id": args.id})
        if args.json:
            print(output.as_json(bounce))
        else:
            raw = bounce.pop("raw")
            print(output.block(bounce))
            print("\n" + raw)
        return 0
    params: dict[str, Any] = {"limit": args.limit, "offset": args.offset}
    for key, value in (("contact", args.contact), ("account_id", args.account), ("hard", args.hard)):
        if value is not None:
            params[key] = value
    page = client.call("bounces.list", params)
    if args.json:
        print(output.as_json(page))
    else:
        print(output.table([_bounce_row(b) for b in page["items"]], BOUNCE_COLUMNS))
        print(f"{len(page['items'])} shown of {page['total']}")
    return 0
