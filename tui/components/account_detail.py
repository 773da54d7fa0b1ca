"""One account in full, in words: who sends it and as whom, where it connects, how it is doing,
the last connection test step by step, the mailbox's last round and the latest bounces."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ...shared import protocol as P
from ...shared.client import AsyncClient
from ...shared.words import when, words
from ..keys import DIALOG
from ..messages import ScreenWorkers
from ..text import line
from ..text import lines as text_lines
from .footer import KeyFooter

SECURITY = {"none": "none (plain text)", "starttls": "STARTTLS", "ssl": "TLS from the start (SSL)"}


def _field(label: str, value: Any) -> Text:
    return line(f"  {label + ':':<22}", words(value))


def sender_lines(account: dict[str, Any]) -> list[Text | str]:
    """As whom mail goes out: the From name and its per-contact overwrite, and Reply-To."""
    out: list[Text | str] = ["Sender"]
    out.append(_field("sender name", account["display_name"] or "(none: the address alone)"))
    if account["from_name_field"]:
        out.append(_field("overwrite FROM", f"with the contact's '{account['from_name_field']}' detail "
                                            "where the contact has one"))
    else:
        out.append(_field("overwrite FROM", "no: every contact sees the sender name"))
    out.append(_field("reply-to", account["reply_to_email"] or "(none: replies go to the sender)"))
    if account["reply_to_email"]:
        out.append(_field("reply-to name", account["reply_to_name"] or "(none)"))
        if account["reply_to_name_field"]:
            out.append(_field("overwrite reply-to", f"with the contact's '{account['reply_to_name_field']}' detail"))
    return out


def smtp_lines(smtp: dict[str, Any], state: str | None) -> list[Text | str]:
    out: list[Text | str] = [line("SMTP  ", (words(state), "bold"))]
    out.append(_field("server", f"{smtp['host']}:{smtp['port']}"))
    out.append(_field("security", SECURITY.get(smtp["security"], smtp["security"])))
    out.append(_field("verify certificate", smtp["verify_tls"]))
    if smtp["authenticate"]:
        out.append(_field("sign in as", smtp["user"] or "(the address)"))
        if smtp.get("auth") == "oauth2":
            out.append(_field("with", "an OAuth 2.0 token (below)"))
        else:
            out.append(_field("password", "stored" if smtp["password_set"] else "not set"))
    else:
        out.append(_field("sign in", "no (the server relays without AUTH)"))
    out.append(_field("proxy", smtp.get("proxy") or "none"))
    return out


FLOWS = {"device": "device code (any browser)", "code": "browser, code returned",
         "client_credentials": "app only (client credentials)"}


def oauth2_lines(oauth2: dict[str, Any] | None, state: str | None) -> list[Text | str]:
    if not oauth2:
        return []
    out: list[Text | str] = [line("OAuth 2.0  ", ({"ok": "signed in", "signin_required": "not signed in yet",
                                                   "reauth_required": "sign in again"}.get(state or "", "app only"),
                                                  "bold"))]
    out.append(_field("provider", oauth2["provider"] + (f" ({oauth2['issuer']})" if oauth2.get("issuer") else "")
                      + (f", tenant {oauth2['tenant']}" if oauth2.get("tenant") else "")))
    out.append(_field("flow", FLOWS.get(oauth2["flow"], oauth2["flow"])))
    out.append(_field("client id", oauth2["client_id"]))
    out.append(_field("client secret", "stored" if oauth2.get("client_secret_set") else "none"))
    out.append(_field("scopes", oauth2["scopes"] or "the provider's defaults"))
    grant = oauth2.get("grant")
    if grant:
        out.append(_field("signed in", f"{when(grant['granted_at'])} by {grant['granted_by']}"))
        if grant.get("expires_at"):
            out.append(_field("sign-in lasts until", when(grant["expires_at"])))
    return out


def incoming_lines(incoming: dict[str, Any] | None, state: str | None) -> list[Text | str]:
    if not incoming:
        return ["Incoming mail", "  off: bounces are not read for this account"]
    out: list[Text | str] = [line("Incoming mail  ", (words(state), "bold"))]
    out.append(_field("server", f"{incoming['protocol'].upper()} {incoming['host']}:{incoming['port']}"))
    out.append(_field("TLS", incoming["ssl"]))
    out.append(_field("verify certificate", incoming["verify_tls"]))
    out.append(_field("sign in as", incoming["user"]))
    if incoming.get("auth") == "oauth2":
        out.append(_field("with", "an OAuth 2.0 token (below)"))
    else:
        out.append(_field("password", "stored" if incoming["password_set"] else "not set"))
    if incoming["protocol"] == "imap":
        out.append(_field("folder", incoming["folder"]))
    out.append(_field("read every", f"{incoming['poll_interval']} s, {incoming['batch_size']} messages at a time"))
    out.append(_field("delete bounces", "yes, once recorded" if incoming["delete_bounces"] else "no, left on the server"))
    last = incoming.get("last_poll")
    if last:
        counts = ", ".join(f"{k} {v}" for k, v in last["counts"].items()) or "nothing new"
        result = ("ok", "") if not last["error"] else (last["error"], "red")
        out.append(line(f"  {'last round:':<22}{when(last['at'])}  ", result, f"  {counts}"))
    else:
        out.append(_field("last round", "never"))
    for item in incoming.get("unreadable") or []:
        out.append(line("  set aside: ", (f"message {item['ref']}", "yellow"),
                        f" — {item['reason']} (tried {item['tries']} times, last {when(item['last_at'])})"))
    return out


def test_lines(test: dict[str, Any] | None) -> list[Text | str]:
    if not test:
        return ["Last connection test", "  never tested"]
    verdict = ("passed", "green") if test["ok"] else ("FAILED", "red")
    out: list[Text | str] = [line("Last connection test  ", verdict, f"  {when(test['at'])}")]
    for key in ("smtp", "incoming"):
        report = test.get(key)
        for step in (report or {}).get("steps", []):
            mark = ("ok    ", "") if step["ok"] else ("FAILED", "red")
            out.append(line(f"  {report['protocol']:<5} {step['name']:<10} ", mark,
                            f" {step['ms']:>7.1f} ms  {step['detail'][:60]}"))
        if report and report.get("hint"):
            out.append(line("  hint: ", report["hint"]))
    return out


def account_lines(account: dict[str, Any], history: list[dict[str, Any]],
                  bounces: dict[str, Any]) -> list[Text | str]:
    """The whole screen's text; a pure function of what the daemon answered, so it is testable alone."""
    owner = f"owner {account['owner']}" + (", shared with every user" if account["shared"] else "")
    out: list[Text | str] = [
        line((account["name"], "bold"), f" <{account['email']}>"),
        f"  {account['kind']} account · {owner}",
        f"  created {when(account['created_at'])} · changed {when(account['updated_at'])}",
        line("  status: ", (account["status"], "bold"), f"  {account['status_detail']}"),
    ]
    if account.get("health"):
        # A sender-side refusal (a blocklist, SPF/DKIM/DMARC): what to fix before mailing on.
        out.append(line("  refused as a sender: ", (account["health"], "bold yellow"),
                        f" since {when(account['health_at'])}  {account['health_reason']}"))
    out.append("")
    out += sender_lines(account)
    out.append("")
    if account["kind"] == "marketing":
        reason = f": {account['approval_reason']}" if account["approval_reason"] else ""
        out += ["Approval", f"  {account['approval']}{reason}", "  sends through the platform's relay once approved"]
    else:
        out += smtp_lines(account["smtp"], account.get("smtp_state"))
        out.append("")
        out += incoming_lines(account["incoming"], account.get("incoming_state"))
        out.append("")
        if account.get("oauth2"):
            out += oauth2_lines(account["oauth2"], account.get("auth_state"))
            out.append("")
        out += test_lines(account.get("last_test"))
    out += ["", "Status history"]
    out += [f"  {when(e['time'])}  {e['status']}  {e.get('detail', '')}" for e in history] or ["  no changes yet"]
    out += ["", f"Bounces: {bounces['total']}"]
    for b in bounces["items"]:
        out.append(line(f"  {when(b['received_at'])[:16]} ", ("HARD" if b["hard"] else "soft", "red" if b["hard"] else ""),
                        f" {b['recipient']} {b['status'] or ''} {b['reason']}"
                        + ("" if b.get("about", "recipient") == "recipient" else f" (about the {b['about']})")))
    return out


class AccountDetail(ScreenWorkers, Screen):
    BINDINGS = DIALOG

    def __init__(self, client: AsyncClient, account_id: int) -> None:
        super().__init__()
        self.client = client
        self.account_id = account_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static("loading…", id="detail-text", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        client = self.client
        try:
            account = await client.call("accounts.get", {"id": self.account_id})
            bounces = await client.call("bounces.list", {"account_id": self.account_id, "limit": 10})
            events = await client.call("events.list", {"type": "account.status", "limit": 1000})
        except P.RpcError as exc:
            self.query_one("#detail-text", Static).update(line((str(exc), "red")))
            return
        history = [e for e in events["items"] if e.get("account_id") == self.account_id][-10:]
        self.query_one("#detail-text", Static).update(text_lines(account_lines(account, history, bounces)))

    def action_cancel(self) -> None:
        self.app.pop_screen()
