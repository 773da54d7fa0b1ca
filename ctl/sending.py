"""`mailfleetctl send` and `mailfleetctl queue ...`: hand mail to the daemon to send through an account,
and watch the queue."""

from __future__ import annotations

import argparse
import base64
import mimetypes
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import output
from .common import Command, Usage, calls, print_page

if TYPE_CHECKING:
    from ..shared.client import Client

STATES = ("queued", "sending", "sent", "deferred", "failed", "suppressed", "uncertain")
QUEUE_COLUMNS = [("id", "ID"), ("job_id", "JOB"), ("account_id", "ACCOUNT"), ("recipient", "RECIPIENT"),
                 ("state", "STATE"), ("attempts", "TRIES"), ("updated_at", "CHANGED"), ("reply", "REPLY")]


def _read(path: str, binary: bool = False) -> Any:
    if path == "-":
        return sys.stdin.buffer.read() if binary else sys.stdin.read()
    try:
        return Path(path).read_bytes() if binary else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Usage(f"cannot read {path}: {exc}") from None


def _send_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account", type=int, required=True, metavar="ID", help="the account to send through")
    p.add_argument("--to", action="append", required=True, metavar="ADDR",
                   help="a recipient (repeat for more; each gets a message of their own)")
    p.add_argument("--subject", default="", help="the subject")
    p.add_argument("--text", metavar="FILE", help="the plain-text body from FILE ('-': stdin)")
    p.add_argument("--html", metavar="FILE", help="the HTML body from FILE")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="another header (repeat)")
    p.add_argument("--attach", action="append", default=[], metavar="FILE", help="attach FILE (repeat)")
    p.add_argument("--raw", metavar="FILE", help="a whole RFC 5322 message instead of the parts ('-': stdin)")


def _send_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"account_id": args.account, "to": args.to}
    if args.raw:
        params["raw"] = _read(args.raw, binary=True).decode("utf-8", "surrogateescape")
        return params
    params["subject"] = args.subject
    if args.text:
        params["text"] = _read(args.text)
    if args.html:
        params["html"] = _read(args.html)
    headers = {}
    for item in args.header:
        name, sep, value = item.partition(":")
        if not sep:
            raise Usage(f"--header {item!r}: expected NAME:VALUE")
        headers[name.strip()] = value.strip()
    if headers:
        params["headers"] = headers
    params["attachments"] = [{"filename": Path(f).name, "data": base64.b64encode(_read(f, binary=True)).decode(),
                              "content_type": mimetypes.guess_type(f)[0] or "application/octet-stream"}
                             for f in args.attach]
    return params


def run_send(args: argparse.Namespace, client: Client) -> int:
    result = client.call("messages.send", _send_params(args))
    if args.json:
        print(output.as_json(result))
        return 0
    print(f"job {result['job']}: {result['queued']} queued" + (
        f", {len(result['suppressed'])} suppressed" if result["suppressed"] else ""))
    for item in result["suppressed"]:
        print(f"  not sent to {item['recipient']}: {item['why']}")
    print(f"follow it: mailfleetctl queue job {result['job']}")
    return 0


def _list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--account", type=int, metavar="ID", help="one account's")
    p.add_argument("--job", type=int, metavar="N", help="one job's recipients")
    p.add_argument("--state", choices=STATES, help="only those in STATE")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows, 1-1000 (default: 50)")
    p.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N (default: 0)")


def run_list(args: argparse.Namespace, client: Client) -> int:
    params = {"limit": args.limit, "offset": args.offset}
    for key, value in (("account_id", args.account), ("job", args.job), ("state", args.state)):
        if value is not None:
            params[key] = value
    page = client.call("queue.list", params)
    rows = [{**r, "updated_at": r["updated_at"][:19].replace("T", " ")} for r in page["items"]]
    return print_page(args, page, QUEUE_COLUMNS, rows)


def _job_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", type=int, help="the job number messages.send answered")


def _retry_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", type=int, nargs="+", metavar="ID", help="queue entries to send again")


def _account_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("account", type=int, metavar="ACCOUNT", help="the account's id")


def run_summary(args: argparse.Namespace, client: Client) -> int:
    summary = client.call("queue.summary", {"account_id": args.account})
    if args.json:
        print(output.as_json(summary))
        return 0
    states = summary["states"]
    for state in STATES:
        print(f"{state:<11} {states.get(state, 0):>9,}")
    quota = f" of {summary['per_day']:,} a day" if summary["per_day"] else " (no daily limit)"
    print(f"sent today  {summary['sent_today']:>9,}{quota}" + (" (warming up)" if summary["warming_up"] else ""))
    if summary["paused"]:
        print(f"waiting {summary['paused']:.0f} s before the next message (a limit, or the server asked to slow down)")
    return 0


SEND = Command("send", "send a message to each recipient through an account (queued; exit 0 once accepted)",
               run_send, _send_arguments, parser=dict(
                   epilog="example:\n  mailfleetctl send --account 1 --to anna@example.com --to bob@example.com \\\n"
                          "      --subject 'Spring offer' --text offer.txt --html offer.html --attach price-list.pdf",
                   formatter_class=argparse.RawDescriptionHelpFormatter))

QUEUE_COMMANDS = [
    Command("list", "what was handed over to send, newest change first", run_list, _list_arguments),
    Command("job", "one job: how many of its recipients are in each state", calls("queue.job"), _job_arguments),
    Command("summary", "one account's queue: how many in each state, sent today against its daily limit",
            run_summary, _account_argument),
    Command("retry", "send entries again now (uncertain, failed or deferred ones)",
            calls("queue.retry", lambda args: {"ids": args.ids}), _retry_arguments),
]


def _name_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="what the login is for, e.g. listmonk")


def _id_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", type=int, help="the login's id (submission list)")


def run_submission_add(args: argparse.Namespace, client: Client) -> int:
    made = client.call("submission.add", {"name": args.name})
    if args.json:
        print(output.as_json(made))
        return 0
    where = made["listen"] or "(no listener yet: set [sending] submission = \"127.0.0.1:2525\" and restart)"
    print(f"SMTP server:  {where}\nlogin:        {made['login']}\npassword:     {made['password']}\n"
          "(the password is shown this once; the daemon keeps only its hash)")
    return 0


LOGIN_COLUMNS = [("id", "ID"), ("login", "LOGIN"), ("user", "USER"), ("created_at", "CREATED"),
                 ("last_used_at", "LAST USED"), ("revoked_at", "REVOKED")]


def run_submission_list(args: argparse.Namespace, client: Client) -> int:
    listing = client.call("submission.list", {})
    if args.json:
        print(output.as_json(listing))
    else:
        print(output.table(listing["items"], LOGIN_COLUMNS))
        print(f"listening on {listing['listen']}" if listing["listen"] else "no SMTP submission listener configured")
    return 0


SUBMISSION_COMMANDS = [
    Command("add", "a login for a mailer to submit mail over SMTP as you (its password shown once)",
            run_submission_add, _name_argument),
    Command("list", "your SMTP submission logins (admins: everyone's)", run_submission_list),
    Command("revoke", "revoke a login", calls("submission.revoke"), _id_argument),
]
