"""The accounts still signing in with a password where the provider stopped taking one (Microsoft 365,
Outlook.com, Google): accounts.auth_report, with each provider's cut-off."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ...shared.client import AsyncClient
from ..keys import DIALOG
from ..messages import ScreenWorkers
from ..text import cell
from .footer import KeyFooter


class AuthReportScreen(ScreenWorkers, ModalScreen):
    BINDINGS = DIALOG

    def __init__(self, client: AsyncClient) -> None:
        super().__init__()
        self.client = client

    def compose(self) -> ComposeResult:
        with Vertical(id="report-box"):
            yield Static("Still signing in with a password", id="report-title", markup=False)
            table = DataTable(id="report-rows", cursor_type="row")
            table.add_columns("ID", "NAME", "EMAIL", "DIRECTION", "HOST", "PROVIDER", "CUT-OFF")
            yield table
            yield Static("", id="report-note", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        report = await self.client.call("accounts.auth_report", {})
        table = self.query_one(DataTable)
        for item in report["items"]:
            table.add_row(cell(str(item["account_id"])), cell(item["name"]), cell(item["email"]),
                          cell(item["direction"]), cell(item["host"]), cell(item["provider"]),
                          cell(item["cut_off"], "yellow"))
        note = (f"{report['total']} to move to OAuth 2.0: edit the account, 'Sign in with' OAuth 2.0, then 'o' to "
                "sign in" if report["items"] else "No account signs in with a password where the provider stopped "
                                                   "taking one.")
        self.query_one("#report-note", Static).update(note)

    def action_cancel(self) -> None:
        self.dismiss(None)
