"""Contacts: search, the faulty ones, a contact's bounces with their diagnostics and rules, its status history,
clearing faulty or complained (admins)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from textual import on, work
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from ...shared import protocol as P
from ...shared.client import AsyncClient
from ...shared.csvfile import ContactFile, CsvProblem
from ...shared.words import when
from ..keys import CONTACTS, DIALOG
from ..messages import DaemonEvent, ScreenWorkers
from ..text import cell, line
from ..text import lines as text_lines
from .dialogs import ImportFile
from .footer import KeyFooter

LIMIT = 200
STATUS_STYLES = {"faulty": "red", "complained": "yellow"}
LIVE_DEBOUNCE = 0.5


# How a bounce was matched to what was sent (daemon/attribution.py), as the contact's detail says it.
LINKS = {"verp": " (matched by its envelope token)", "message_id": " (matched by the returned Message-ID)",
         "references": " (matched by References)", "recipient": " (matched by the address mailed)",
         "stray": " (a stray: this account never mailed the address)"}


class ContactsScreen(ScreenWorkers, Screen):
    BINDINGS = CONTACTS

    def __init__(self, client: AsyncClient) -> None:
        super().__init__()
        self.client = client
        self._live: Timer | None = None
        self.faulty_only = False
        self.items: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="contacts-bar"):
            yield Input(placeholder="search contacts (address or detail)", id="contacts-search")
            yield Static("all contacts", id="contacts-filter", markup=False)
        with Vertical(id="contacts-body"):
            table = DataTable(id="contacts-table", cursor_type="row")
            # SOFT NOW: soft bounces within the window that marks ([bounces] soft_window_days); SOFT: ever.
            table.add_columns("EMAIL", "STATUS", "HARD", "SOFT NOW", "SOFT", "LAST BOUNCE", "DETAILS")
            yield table
            yield Static("", id="contact-detail", markup=False)
        yield Static("", id="contacts-count", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#contacts-table").focus()
        self._load()

    @on(DaemonEvent)
    def _event(self, message: DaemonEvent) -> None:
        """Contacts change as rounds record bounces and mark them faulty: a burst is one reload."""
        event = message.event
        if str(event.get("type", "")).startswith(("contact.", "contacts.", "bounce.")):
            if self._live is not None:
                self._live.stop()
            self._live = self.set_timer(LIVE_DEBOUNCE, self._load)

    def action_cursor(self, delta: int) -> None:
        table = self.query_one("#contacts-table", DataTable)
        table.action_cursor_down() if delta > 0 else table.action_cursor_up()

    def action_import(self) -> None:
        def chosen(answer: tuple[str, str] | None) -> None:
            if answer:
                self._import(*answer)
        self.app.push_screen(ImportFile(), chosen)

    @work(exit_on_error=False, exclusive=True, group="import")
    async def _import(self, path: str, encoding: str) -> None:
        """The file read in a thread, chunk by chunk, each sent as mailfleetctl sends it; progress below the list."""
        count = self.query_one("#contacts-count", Static)
        totals = {"new": 0, "updated": 0, "rejected": 0}
        errors: list[dict[str, Any]] = []
        try:
            source = await asyncio.to_thread(ContactFile.open, os.path.expanduser(path), encoding or None)
            chunks = source.chunks()
            rows = 0
            try:
                while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                    result = await self.client.call("contacts.import", {"csv": chunk.csv,
                                                                            "first_row": chunk.first_row}, timeout=120)
                    for key in totals:
                        totals[key] += result[key]
                    errors += result["errors"][: max(0, 20 - len(errors))]
                    rows += chunk.rows
                    share = f" ({chunk.done_bytes / source.total_bytes:.0%})" if source.total_bytes else ""
                    count.update(f"importing {path}: {rows:,} rows sent{share}")
            finally:
                source.close()
        except CsvProblem as exc:
            self.notify(str(exc), severity="error", timeout=15)
            return
        except P.RpcError as exc:
            self.notify(str(exc), severity="error")
            return
        words = f"{totals['new']:,} new, {totals['updated']:,} updated, {totals['rejected']:,} rejected"
        self.notify(f"{path}: {words}", severity="warning" if totals["rejected"] else "information")
        detail = [line((f"imported {path}: ", "bold"), words)]
        detail += [line(f"  line {e['row']}: ", (e["why"], "red")) for e in errors]
        self.query_one("#contact-detail", Static).update(text_lines(detail))
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
            page = await self.client.call("contacts.list", params)
        except P.RpcError as exc:
            self.notify(str(exc), severity="error")
            return
        self.items = page["items"]
        table = self.query_one("#contacts-table", DataTable)
        table.clear()
        for c in self.items:
            status = cell(c["status"], STATUS_STYLES.get(c["status"], ""))
            details = ", ".join(f"{k}={v}" for k, v in c["details"].items())[:60]
            table.add_row(cell(c["email"]), status, cell(c["hard_bounces"]), cell(c["soft_bounces_recent"]),
                          cell(c["soft_bounces"]), cell((c["last_bounce_at"] or "-")[:16]), cell(details))
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
            contact = await self.client.call("contacts.get", {"email": email})
        except P.RpcError as exc:
            self.notify(str(exc), severity="error")
            return
        lines: list = [line((contact["email"], "bold"), f"  {contact['status']}  {contact['status_reason']}")]
        for b in contact["bounces"][:10]:
            verdict = ("HARD", "red") if b["hard"] else "soft"
            about = "" if b["about"] == "recipient" else f" (about the {b['about']}: not counted)"
            about += LINKS.get(b.get("link") or "", "")
            lines.append(line(f"{b['received_at'][:16]}  ", verdict,
                              f" {b['status'] or ''} {b['reason']} [{b['rule'] or '-'}]{about}: {b['diagnostic'][:100]}"))
        if not contact["bounces"]:
            lines.append("no bounces")
        for h in contact["history"][:5]:
            who = f"rule {h['rule']}" if h["rule"] else h["by"]
            undone = f", undone {when(h['undone_at'])}" if h["undone_at"] else ""
            lines.append(f"{when(h['at'])}  {h['previous']} -> {h['status']} by {who}{undone}")
        self.query_one("#contact-detail", Static).update(text_lines(lines))

    @work(exit_on_error=False, exclusive=True, group="contact")
    async def action_clear_faulty(self) -> None:
        contact = self._current()
        if not contact or contact["status"] == "active":
            return
        try:
            await self.client.call("contacts.update", {"email": contact["email"], "status": "active"})
        except P.RpcError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"{contact['email']} is active again; its history stays")
        self._load()

    @work(exit_on_error=False, exclusive=True, group="contact")
    async def action_raw_bounce(self) -> None:
        """The latest bounce of the highlighted contact, as the mail server sent it (capped)."""
        contact = self._current()
        if not contact:
            return
        try:
            page = await self.client.call("bounces.list", {"contact": contact["email"], "limit": 1})
            if not page["items"]:
                self.notify("no bounces for this contact")
                return
            bounce = await self.client.call("bounces.get", {"id": page["items"][0]["id"]})
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
