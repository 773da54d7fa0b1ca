"""`mailfleetctl accounts ...`: list, show, add, edit, rm, approve, reject, poll, purge-bounces, test, folders,
headers."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from ..shared.models import SECTIONS
from ..shared.vocabulary import SORT_KEYS, STATUSES
from . import output
from .common import Command, Usage, account_id, calls, print_page

SORTS = SORT_KEYS + tuple("-" + k for k in SORT_KEYS)

if TYPE_CHECKING:  # the client (and zmq) load only for commands that talk to the daemon
    from ..shared.client import Client

LIST_COLUMNS = [
    ("id", "ID"), ("name", "NAME"), ("email", "EMAIL"), ("kind", "KIND"), ("status", "STATUS"),
    ("health", "HEALTH"), ("created_at", "CREATED"), ("owner", "OWNER"), ("shared", "SHARED"),
]

# Flags whose names are not the field's path: what people type, and passwords, which come from a file or
# stdin, never from argv, where `ps` would show them.
_FLAG_NAMES = {"smtp.authenticate": "--smtp-auth", "smtp.password": "--smtp-password-file",
               "incoming.password": "--incoming-password-file", "smtp.auth": "--smtp-auth-method",
               "incoming.auth": "--incoming-auth-method", "oauth2.client_secret": "--oauth2-client-secret-file",
               "oauth2.service_account_key": "--oauth2-service-account-key-file"}
_SECRETS = ("password", "client_secret", "service_account_key")  # read from a file or stdin
_WHOLE_FILE = ("service_account_key",)  # a JSON key file is read whole, not its first line


def _flag_type(annotation: Any) -> Any:
    """What argparse takes for a field: bool, int, str, or a tuple of choices (a Literal)."""
    if get_origin(annotation) in (Union, UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return annotation if annotation in (bool, int) else str


def _field_flags() -> list[tuple[str, str, Any, str]]:
    """(flag, path in the account, type, help) for every account field, derived from the shared models
    (a field added there is a flag here, with the model's description as its help)."""
    flags = []
    for section, model in SECTIONS:
        for key, info in model.model_fields.items():
            path = f"{section}.{key}" if section else key
            flag = _FLAG_NAMES.get(path, "--" + path.replace(".", "-").replace("_", "-"))
            kind = Path if key in _SECRETS else _flag_type(info.annotation)
            flags.append((flag, path, kind, info.description or ""))
    return flags


FIELD_FLAGS = _field_flags()

ADD_EXAMPLES = """examples:
  mailfleetctl accounts add --name Sales --email sales@example.com --display-name 'ACME Sales' \\
      --smtp-host smtp.example.com --smtp-user sales --smtp-password-file - \\
      --incoming-protocol imap --incoming-host imap.example.com --incoming-user sales \\
      --incoming-password-file ~/.secrets/sales-imap
  mailfleetctl accounts add --kind marketing --name Newsletter --email news@example.com
"""


def _add_account_flags(p: argparse.ArgumentParser) -> None:
    for flag, path, kind, words in FIELD_FLAGS:
        if kind is bool:
            p.add_argument(flag, dest=path, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                           help=words)
        elif kind is Path:
            what = path.rpartition(".")[2].replace("_", " ")
            where = "FILE (whole)" if path.rpartition(".")[2] in _WHOLE_FILE else "FILE's first line"
            p.add_argument(flag, dest=path, metavar="FILE", type=Path, default=argparse.SUPPRESS,
                           help=f"read the {what} from {where} ('-': stdin, or a prompt on a terminal); "
                                "never on the command line, where ps shows it")
        elif isinstance(kind, tuple):
            p.add_argument(flag, dest=path, choices=kind, default=argparse.SUPPRESS, help=words)
        else:
            p.add_argument(flag, dest=path, type=kind, default=argparse.SUPPRESS,
                           metavar="N" if kind is int else "TEXT", help=words)
    p.add_argument("--no-incoming", dest="incoming", action="store_const", const=None, default=argparse.SUPPRESS,
                   help="turn incoming mail off")
    p.add_argument("--no-oauth2", dest="oauth2", action="store_const", const=None, default=argparse.SUPPRESS,
                   help="remove the oauth2 settings (both directions must sign in with a password)")


def _list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--query", default="", metavar="TEXT", help="words in the name or address")
    p.add_argument("--kind", choices=["all", "marketing", "own"], default="all", help="all (default), marketing or own")
    p.add_argument("--status", choices=STATUSES, metavar="STATUS", help=f"only accounts in STATUS: {', '.join(STATUSES)}")
    p.add_argument("--sort", default="name", choices=SORTS, metavar="KEY",
                   help=f"one of {', '.join(SORT_KEYS)}; a leading - reverses (default: name)")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N rows, 1-1000 (default: 50)")
    p.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N (default: 0)")


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=["own", "marketing"], default="own",
                   help="own (default: sends through its own SMTP server) or marketing (the platform relay, "
                        "once an admin approves it)")
    _add_account_flags(p)


def _edit_arguments(p: argparse.ArgumentParser) -> None:
    account_id(p)
    _add_account_flags(p)


def _with_yes(p: argparse.ArgumentParser) -> None:
    account_id(p)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")


def _reject_arguments(p: argparse.ArgumentParser) -> None:
    account_id(p)
    p.add_argument("--reason", required=True, help="why, in words the owner reads (1-500 characters)")


def _test_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", type=int, nargs="*", metavar="ID", help="the accounts to test (or --all)")
    p.add_argument("--all", action="store_true", help="every account you can see")
    p.add_argument("--send-to", metavar="ADDR", help="also send a short test message to ADDR")
    p.add_argument("--failures-only", action="store_true", help="print only the accounts that fail (and the summary)")


def _headers_arguments(p: argparse.ArgumentParser) -> None:
    account_id(p)
    p.add_argument("contact", help="the contact's email address")


def _read_password(source: Path, what: str = "password", whole: bool = False) -> str:
    if str(source) == "-":
        if whole:
            return sys.stdin.read().strip()
        if sys.stdin.isatty():
            return getpass.getpass(f"{what}: ")
        return sys.stdin.readline().rstrip("\r\n")
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise Usage(f"cannot read {what} file: {exc}") from None
    if whole:
        return text.strip()
    lines = text.splitlines()
    return lines[0] if lines else ""


def account_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, as a (nested) account object."""
    data: dict[str, Any] = {}
    values = vars(args)
    for section in ("incoming", "oauth2"):
        if section in values and values[section] is None:
            data[section] = None
    for flag, path, kind, _ in FIELD_FLAGS:
        if path not in values:
            continue
        key = path.rpartition(".")[2]
        value = _read_password(values[path], key.replace("_", " "), key in _WHOLE_FILE) if kind is Path \
            else values[path]
        section, _, key = path.rpartition(".")
        if section:
            if data.get(section, {}) is None:
                raise Usage(f"{flag} cannot be combined with --no-{section}")
            data.setdefault(section, {})[key] = value
        else:
            data[key] = value
    return data


STEP_COLUMNS = [("protocol", "PROTOCOL"), ("name", "STEP"), ("result", "RESULT"), ("ms", "MS"), ("detail", "DETAIL")]


def _all_accounts(client: Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = client.call("accounts.list", {"limit": 1000, "offset": len(found), "sort": "id"})
        found += page["items"]
        if len(found) >= page["total"] or not page["items"]:
            return found


def run_purge(args: argparse.Namespace, client: Client) -> int:
    if not args.yes and sys.stdin.isatty():
        account = client.call("accounts.get", {"id": args.id})
        answer = input(f"Delete the bounces already read from the mailbox of account {args.id} "
                       f"({account['name']} <{account['email']}>)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 0
    result = client.call("accounts.purge_bounces", {"id": args.id}, timeout=max(client.timeout, 600))
    if args.json:
        print(output.as_json(result))
    elif result["ok"]:
        print(f"account {args.id}: deleted {result['deleted']} of {result['bounces']} bounces already read "
              f"({result['examined']} messages looked at)")
        if result["deleted"] < result["bounces"]:
            print("the rest are flagged \\Deleted: a later round removes them once no other client's deleted "
                  "messages are in the way (the server lacks UIDPLUS)")
    else:
        print(f"mailfleetctl: account {args.id}: {result['error']}", file=sys.stderr)
    return 0 if result["ok"] else 1


def print_test(result: dict[str, Any]) -> None:
    label = f"account {result.get('account_id', '(unsaved)')}"
    if "error" in result:
        print(f"{label}: {result['error']['message']}")
        return
    verdict = "all steps passed" if result["ok"] else "FAILED"
    print(f"{label}: {verdict} ({result['ms']:.0f} ms)" + (f", approval {result['approval']}" if "approval" in result else ""))
    rows = []
    for key in ("smtp", "incoming"):
        report = result.get(key)
        if not report:
            continue
        for step in report["steps"]:
            rows.append({"protocol": report["protocol"], "name": step["name"], "result": "ok" if step["ok"] else "FAILED",
                         "ms": step["ms"], "detail": step["detail"]})
        if not report["ok"]:
            print(f"  {report['protocol']} failed at {report['step']} ({report['category']}): {report['message']}")
            if report["hint"]:
                print(f"  hint: {report['hint']}")
    if rows:
        print(output.table(rows, STEP_COLUMNS))


# Tests in flight at once from one `accounts test --all`: the daemon's [probe] places decide how many run;
# this only keeps enough queued that no place waits for the command line.
TEST_WINDOW = 128


def _failure_words(result: dict[str, Any]) -> str:
    if "error" in result:
        return result["error"]["message"]
    parts = []
    for key in ("smtp", "incoming"):
        report = result.get(key)
        if report and not report["ok"]:
            words = f"{report['protocol']} failed at {report['step']} ({report['category']}): {report['message']}"
            parts.append(words + (f"; hint: {report['hint']}" if report["hint"] else ""))
    return " | ".join(parts) or "failed"


def run_test(args: argparse.Namespace, client: Client) -> int:
    if args.all:
        accounts = _all_accounts(client)
        if not accounts:
            print("no accounts to test")
            return 0
    elif args.ids:
        accounts = [{"id": i, "name": None} for i in dict.fromkeys(args.ids)]
    else:
        raise Usage("accounts test needs ID... or --all")
    wait = max(client.timeout, 600)  # a test's steps each have their own deadline; waiting for a place adds
    if len(accounts) == 1 and not args.all:
        params: dict[str, Any] = {"id": accounts[0]["id"]}
        if args.send_to:
            params["send_to"] = args.send_to
        result = client.call("accounts.test", params, timeout=wait)
        if args.json:
            print(output.as_json({"ok": result["ok"], "results": [result]}))
        elif not (args.failures_only and result["ok"]):
            print_test(result)
        return 0 if result["ok"] else 1
    if args.send_to:
        raise Usage("--send-to tests one account at a time")
    return _test_many(args, client, accounts, wait)


def _test_many(args: argparse.Namespace, client: Client, accounts: list[dict[str, Any]], wait: float) -> int:
    """Each account's result as it arrives ([n/total], its name, ok or why not), then a summary."""
    total, width = len(accounts), len(str(len(accounts)))
    results: list[dict[str, Any] | None] = [None] * total
    failed: list[str] = []
    started = time.monotonic()
    progress = sys.stderr.isatty() and not args.json  # a live count where a person watches, not in a log
    replies = client.call_many("accounts.test", [{"id": a["id"]} for a in accounts], window=TEST_WINDOW,
                               timeout=wait)
    for done, (index, reply) in enumerate(replies, 1):
        account = accounts[index]
        result = reply.get("result") or {"account_id": account["id"], "ok": False, "error": reply["error"]}
        results[index] = result
        label = f"{account['name']} ({account['id']})" if account["name"] else f"account {account['id']}"
        if not result["ok"]:
            failed.append(label)
        if args.json:
            continue
        if progress:
            sys.stderr.write("\r\x1b[K")
        if not result["ok"]:
            print(f"[{done:>{width}}/{total}] FAILED  {label}: {_failure_words(result)}", flush=True)
        elif not args.failures_only:
            print(f"[{done:>{width}}/{total}] ok      {label}  {result['ms']:.0f} ms", flush=True)
        if progress and done < total:
            sys.stderr.write(f"tested {done} of {total}, {len(failed)} failed…")
            sys.stderr.flush()
    if args.json:
        print(output.as_json({"ok": not failed, "results": results}))
    else:
        seconds = time.monotonic() - started
        summary = f"{total} tested in {seconds:.1f} s: {total - len(failed)} passed, {len(failed)} failed"
        print(summary + (f" ({', '.join(failed[:20])}{', …' if len(failed) > 20 else ''})" if failed else ""))
    return 1 if failed else 0


def run_list(args: argparse.Namespace, client: Client) -> int:
    params = {"query": args.query, "kind": args.kind, "sort": args.sort, "limit": args.limit, "offset": args.offset}
    if args.status:
        params["status"] = args.status
    return print_page(args, client.call("accounts.list", params), LIST_COLUMNS)


def run_rm(args: argparse.Namespace, client: Client) -> int:
    if not args.yes and sys.stdin.isatty():
        account = client.call("accounts.get", {"id": args.id})
        answer = input(f"Delete account {args.id} ({account['name']} <{account['email']}>)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not deleted")
            return 0
    return calls("accounts.delete")(args, client)


def run_poll(args: argparse.Namespace, client: Client) -> int:
    # A round may read thousands of messages: wait for it longer than for other calls.
    result = client.call("accounts.poll", {"id": args.id}, timeout=max(client.timeout, 600))
    print(output.as_json(result) if args.json else output.block(result))
    return 0 if args.json or result.get("ok") else 1


def run_folders(args: argparse.Namespace, client: Client) -> int:
    result = client.call("accounts.folders", {"id": args.id}, timeout=max(client.timeout, 120))
    if args.json:
        print(output.as_json(result))
    elif result["ok"]:
        print("\n".join(result["folders"]))
    else:
        print(f"mailfleetctl: {result['message']}" + (f"; hint: {result['hint']}" if result.get("hint") else ""),
              file=sys.stderr)
    return 0 if result["ok"] else 1


def _auth_arguments(p: argparse.ArgumentParser) -> None:
    account_id(p)
    p.add_argument("--paste", metavar="URL", help="code flow: the address the browser landed on after signing in "
                                                   "(or '-' to be asked for it)")
    p.add_argument("--wait", type=float, default=900, metavar="SECONDS",
                   help="how long to wait for the sign-in to finish (default: 900)")


def run_auth(args: argparse.Namespace, client: Client) -> int:
    """Sign an account in: device flow (the URL and code to enter in any browser; this waits until done),
    code flow (the address to open, the `ssh -L` line, then waits or takes the pasted address), client
    credentials (at once)."""
    if args.paste:
        returned = input("address the browser shows: ").strip() if args.paste == "-" else args.paste
        return _auth_outcome(args, client.call("accounts.auth_finish", {"id": args.id, "returned": returned},
                                               timeout=max(client.timeout, 60)))
    started = client.call("accounts.auth", {"id": args.id}, timeout=max(client.timeout, 60))
    if args.json:
        print(output.as_json(started), flush=True)
    elif started["flow"] == "device":
        print(f"To sign in, open {started['verification_uri']} in any browser and enter the code {started['user_code']}",
              flush=True)
        if started.get("verification_uri_complete"):
            print(f"(or open {started['verification_uri_complete']}, which holds the code)", flush=True)
        print(f"waiting for the sign-in (the code expires in {started['expires_in'] // 60} minutes)…", flush=True)
    elif started["flow"] == "code":
        print(f"To sign in, open this address in a browser:\n\n  {started['authorize_url']}\n", flush=True)
        if started.get("listening"):
            print(f"The browser comes back to {started['redirect_uri']} on this host. From another machine, first "
                  f"run there:\n\n  {started['ssh_forward']}\n\n(THIS-HOST: how you reach this host by ssh). "
                  f"Or paste the address the browser lands on: mailfleetctl accounts auth {args.id} --paste URL",
                  flush=True)
        else:
            print(f"Then paste the address the browser lands on: mailfleetctl accounts auth {args.id} --paste URL",
                  flush=True)
    if started["state"] != "pending":
        return _auth_outcome(args, started)
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        outcome = client.call("accounts.auth_wait", {"id": args.id, "timeout": min(30.0, max(deadline - time.monotonic(), 0))},
                              timeout=max(client.timeout, 45))
        if outcome["state"] != "pending":
            return _auth_outcome(args, outcome)
    print("mailfleetctl: still not signed in; run this again for a new code", file=sys.stderr)
    return 1


def _auth_outcome(args: argparse.Namespace, outcome: dict[str, Any]) -> int:
    if args.json:
        print(output.as_json(outcome))
    elif outcome["state"] == "granted":
        print(f"signed in: account {args.id} gets its tokens now")
    elif outcome["state"] != "pending":
        print(f"mailfleetctl: the sign-in failed: {outcome.get('reason', outcome['state'])}", file=sys.stderr)
    return 0 if outcome["state"] == "granted" else 1


AUTH_REPORT_COLUMNS = [("account_id", "ID"), ("name", "NAME"), ("email", "EMAIL"), ("direction", "DIRECTION"),
                       ("host", "HOST"), ("provider", "PROVIDER"), ("cut_off", "CUT-OFF"), ("owner", "OWNER")]


def run_auth_report(args: argparse.Namespace, client: Client) -> int:
    report = client.call("accounts.auth_report", {})
    if args.json:
        print(output.as_json(report))
    elif report["items"]:
        print(output.table(report["items"], AUTH_REPORT_COLUMNS))
        print(f"{report['total']} sign-in(s) still by password where the provider stopped taking one; switch each "
              f"to oauth2: mailfleetctl accounts edit ID --smtp-auth-method oauth2 (or --incoming-auth-method) "
              f"--oauth2-provider ...")
    else:
        print("no account signs in with a password where the provider stopped taking one")
    return 0


COMMANDS = [
    Command("list", "search accounts", run_list, _list_arguments, parser=dict(
        epilog="examples:\n  mailfleetctl accounts list -q acme --status smtp_failing\n"
               "  mailfleetctl accounts list --kind marketing --sort -created_at --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)),
    Command("show", "one account", calls("accounts.get"), account_id),
    Command("add", "create an account", calls("accounts.create", lambda args: {"kind": args.kind, **account_fields(args)}),
            _add_arguments, parser=dict(epilog=ADD_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)),
    Command("edit", "change fields of an account",
            calls("accounts.update", lambda args: {"id": args.id, **account_fields(args)}), _edit_arguments),
    Command("rm", "delete an account", run_rm, _with_yes),
    Command("approve", "approve a marketing account (admins)", calls("accounts.approve"), account_id),
    Command("reject", "reject a marketing account (admins)",
            calls("accounts.reject", lambda args: {"id": args.id, "reason": args.reason}), _reject_arguments),
    Command("poll", "read the account's incoming mailbox now", run_poll, account_id),
    Command("health-ok", "clear a sender-side problem once fixed (delisted, DNS records corrected)",
            calls("accounts.health_ok"), account_id),
    Command("purge-bounces", "delete from the server the bounces already read (and only those)", run_purge, _with_yes,
            parser=dict(description="Delete from the account's mailbox the messages a round has read and recorded as "
                                    "bounces: for a mailbox read while --incoming-delete-bounces was off. Human mail, "
                                    "auto-replies, unread and set-aside messages stay.")),
    Command("test", "test connections layer by layer (exit 0 only when all pass)", run_test, _test_arguments),
    Command("folders", "the IMAP folders of the account's mailbox (for --incoming-folder)", run_folders, account_id),
    Command("auth", "sign the account in with OAuth 2.0 (device code, browser, or app only)", run_auth,
            _auth_arguments),
    Command("auth-report", "accounts still signing in with a password where the provider stopped taking one",
            run_auth_report),
    Command("headers", "the From and Reply-To a contact gets from this account",
            calls("accounts.headers", lambda args: {"id": args.id, "contact": args.contact}), _headers_arguments),
]
