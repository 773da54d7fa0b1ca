"""One account in full: settings, status and its history, the last connection test's steps,
the mailbox's last round, and the latest bounces."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...shared import protocol as P
from ..keys import DIALOG
from ..text import line
from ..text import lines as text_lines


def _settings(section: dict[str, Any] | None) -> str:
    if not section:
        return "  (none)"
    return "\n".join(f"  {k}: {v}" for k, v in section.items() if k not in ("last_poll",))


class AccountDetail(Screen):
    BINDINGS = DIALOG

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static("loading…", id="detail-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        client = self.app.client
        try:
            account = await client.call("accounts.get", {"id": self.account_id})
            bounces = await client.call("bounces.list", {"account_id": self.account_id, "limit": 10})
            events = await client.call("events.list", {"type": "account.status", "limit": 1000})
        except P.RpcError as exc:
            self.query_one("#detail-text", Static).update(line((str(exc), "red")))
            return
        lines: list = [line((account["name"], "bold"), f" <{account['email']}> · {account['kind']} · owner "
                            f"{account['owner']}{' · shared' if account['shared'] else ''}"),
                       line("status: ", (account["status"], "bold"), f" {account['status_detail']}")]
        history = [e for e in events["items"] if e.get("account_id") == self.account_id][-10:]
        if history:
            lines.append("status history:")
            lines += [f"  {e['time'][:19]}  {e['status']}  {e.get('detail', '')}" for e in history]
        if account["kind"] == "marketing":
            lines.append(f"approval: {account['approval']} {account['approval_reason']}")
        else:
            lines += ["SMTP:", _settings(account["smtp"]), "incoming:", _settings(account["incoming"])]
            last_poll = (account.get("incoming") or {}).get("last_poll")
            if last_poll:
                counts = ", ".join(f"{k} {v}" for k, v in last_poll["counts"].items())
                lines.append(f"last mailbox round: {last_poll['at'][:19]} {last_poll['error'] or 'ok'}  {counts}")
        test = account.get("last_test")
        if test:
            lines.append(f"last connection test: {test['at'][:19]} {'passed' if test['ok'] else 'FAILED'}")
            for key in ("smtp", "incoming"):
                report = test.get(key)
                for step in (report or {}).get("steps", []):
                    mark = ("ok    ", "") if step["ok"] else ("FAILED", "red")
                    lines.append(line(f"  {report['protocol']:<5} {step['name']:<10} ", mark,
                                      f" {step['ms']:>7.1f} ms  {step['detail'][:60]}"))
                if report and report.get("hint"):
                    lines.append(f"  hint: {report['hint']}")
        lines.append(f"bounces: {bounces['total']}")
        for b in bounces["items"]:
            lines.append(f"  {b['received_at'][:16]} {'HARD' if b['hard'] else 'soft'} {b['recipient']} "
                         f"{b['status'] or ''} {b['reason']}")
        self.query_one("#detail-text", Static).update(text_lines(lines))

    def action_cancel(self) -> None:
        self.app.pop_screen()
