"""Contacts: search, the faulty ones, a contact's bounces with their diagnostics, clearing faulty (admins)."""

from __future__ import annotations

from typing import Any

from textual import on, work
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Static

from ...shared import protocol as P
from ..keys import CONTACTS, DIALOG
from ..text import cell, line
from ..text import lines as text_lines
from .footer import KeyFooter

LIMIT = 200


class ContactsScreen(Screen):
    BINDINGS = CONTACTS

    def __init__(self) -> None:
        super().__init__()
        self.faulty_only = False
        self.items: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="contacts-bar"):
            yield Input(placeholder="search contacts (address or detail)", id="contacts-search")
            yield Static("all contacts", id="contacts-filter", markup=False)
        with Vertical(id="contacts-body"):
            table = DataTable(id="contacts-table", cursor_type="row")
            table.add_columns("EMAIL", "STATUS", "HARD", "SOFT", "LAST BOUNCE", "DETAILS")
            yield table
            yield Static("", id="contact-detail", markup=False)
        yield Static("", id="contacts-count", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#contacts-table").focus()
        self._load()

    @on(Input.Changed, "#contacts-search")
    def _search(self) -> None:
        self._load()

    @work(exit_on_error=False, exclusive=True, group="contacts")
    async def _load(self) -> None:
        params: dict[str, Any] = {"query": self.query_one("#contacts-search", Input).value.strip(), "limit": LIMIT}
        if self.faulty_only:
            params["status"] = "faulty"
        try:
            page = await self.app.client.call("contacts.list", params)
        except P.RpcError as exc:
            self.notify(str(exc), severity="error")
            return
        self.items = page["items"]
        table = self.query_one("#contacts-table", DataTable)
        table.clear()
        for c in self.items:
            status = cell("faulty", "red") if c["status"] == "faulty" else cell("active")
            details = ", ".join(f"{k}={v}" for k, v in c["details"].items())[:60]
            table.add_row(cell(c["email"]), status, cell(c["hard_bounces"]), cell(c["soft_bounces"]),
                          cell((c["last_bounce_at"] or "-")[:16]), cell(details))
        shown = len(self.items)
        self.query_one("#contacts-count", Static).update(f"{shown} shown of {page['total']:,}")

    def _current(self) -> dict[str, Any] | None:
        table = self.query_one("#contacts-table", DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def action_focus_search(self) -> None:
        self.query_one("#contacts-search").focus()

    def action_toggle_faulty(self) -> None:
        self.faulty_only = not self.faulty_only
        self.query_one("#contacts-filter", Static).update("faulty only" if self.faulty_only else "all contacts")
        self._load()

    @on(DataTable.RowSelected)
    def action_show_contact(self) -> None:
        contact = self._current()
        if contact:
            self._show(contact["email"])

    @work(exit_on_error=False, exclusive=True, group="contact")
    async def _show(self, email: str) -> None:
        try:
            contact = await self.app.client.call("contacts.get", {"email": email})
        except P.RpcError as exc:
            self.notify(str(exc), severity="error")
            return
        lines: list = [line((contact["email"], "bold"), f"  {contact['status']}  {contact['status_reason']}")]
        for b in contact["bounces"][:10]:
            verdict = ("HARD", "red") if b["hard"] else "soft"
            lines.append(line(f"{b['received_at'][:16]}  ", verdict,
                              f" {b['status'] or ''} {b['reason']}: {b['diagnostic'][:100]}"))
        if not contact["bounces"]:
            lines.append("no bounces")
        self.query_one("#contact-detail", Static).update(text_lines(lines))

    @work(exit_on_error=False, exclusive=True, group="contact")
    async def action_clear_faulty(self) -> None:
        contact = self._current()
        if not contact or contact["status"] != "faulty":
            return
        try:
            await self.app.client.call("contacts.update", {"email": contact["email"], "status": "active"})
        except P.RpcError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"{contact['email']} is active again; its bounce history stays")
        self._load()

    @work(exit_on_error=False, exclusive=True, group="contact")
    async def action_raw_bounce(self) -> None:
        """The latest bounce of the highlighted contact, as the mail server sent it (capped)."""
        contact = self._current()
        if not contact:
            return
        try:
            page = await self.app.client.call("bounces.list", {"contact": contact["email"], "limit": 1})
            if not page["items"]:
                self.notify("no bounces for this contact")
                return
            bounce = await self.app.client.call("bounces.get", {"id": page["items"][0]["id"]})
        except P.RpcError as exc:
            self.notify(str(exc), severity="error")
            return
        note = "\n(truncated)" if bounce["raw_truncated"] else ""
        self.app.push_screen(RawMessage(f"{bounce['recipient']}: {bounce['reason']}", bounce["raw"], note))

    def action_close(self) -> None:
        self.app.pop_screen()


class RawMessage(ModalScreen):
    BINDINGS = DIALOG

    def __init__(self, title: str, raw: str, note: str) -> None:
        super().__init__()
        self.title_text, self.raw, self.note = title, raw, note

    def compose(self) -> ComposeResult:
        with Vertical(id="raw-box"):
            yield Static(self.title_text, id="raw-title", markup=False)
            with VerticalScroll():
                yield Static(Text(self.raw) + Text(self.note, style="dim"), id="raw-text", markup=False)

    def action_cancel(self) -> None:
        self.dismiss(None)
