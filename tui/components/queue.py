"""One account's sending queue: how many in each state, sent today against its daily limit, and the
latest entries, the highlighted one's server reply in full (shown as text); live as messages go, 'r'
sends an uncertain, failed or deferred one again."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from ...shared.client import AsyncClient
from ..keys import QUEUE
from ..messages import DaemonEvent, ScreenWorkers
from ..text import cell
from .footer import KeyFooter

STATE_STYLE = {"sent": "green", "failed": "red", "uncertain": "yellow", "deferred": "yellow", "suppressed": "dim"}
RELOAD_AFTER = 0.3  # a burst of progress events reloads once


def counts_line(summary: dict[str, Any]) -> str:
    states = summary["states"]
    quota = f" of {summary['per_day']:,}" if summary.get("per_day") else ""
    quota += " (warming up)" if summary.get("warming_up") else ""
    parts = [f"queued {states.get('queued', 0):,}", f"sending {states.get('sending', 0):,}",
             f"sent today {summary['sent_today']:,}{quota}", f"deferred {states.get('deferred', 0):,}",
             f"failed {states.get('failed', 0):,}", f"suppressed {states.get('suppressed', 0):,}"]
    if states.get("uncertain"):
        parts.append(f"uncertain {states['uncertain']:,} (the server may have them: 'r' sends one again)")
    if summary.get("paused"):
        parts.append(f"waiting {summary['paused']:.0f} s (a limit, or the server asked to slow down)")
    return " · ".join(parts)


class QueueScreen(ScreenWorkers, ModalScreen):
    BINDINGS = QUEUE

    def __init__(self, client: AsyncClient, account_id: int, label: str) -> None:
        super().__init__()
        self.client = client
        self.account_id = account_id
        self.label = label
        self._rows: list[dict[str, Any]] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="queue-box"):
            yield Static(f"Sending queue of {self.label}", id="queue-title", markup=False)
            yield Static("", id="queue-counts", markup=False)
            table = DataTable(id="queue-rows", cursor_type="row")
            table.add_columns("ID", "RECIPIENT", "STATE", "TRIES", "CHANGED", "REPLY")
            yield table
            yield Static("", id="queue-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, exit_on_error=False, group="queue")
    async def _load(self) -> None:
        summary = await self.client.call("queue.summary", {"account_id": self.account_id})
        page = await self.client.call("queue.list", {"account_id": self.account_id, "limit": 200})
        self.query_one("#queue-counts", Static).update(counts_line(summary))
        table = self.query_one(DataTable)
        table.clear()
        self._rows = page["items"]
        for row in self._rows:
            table.add_row(cell(row["id"]), cell(row["recipient"]), cell(row["state"], STATE_STYLE.get(row["state"], "")),
                          cell(row["attempts"]), cell(row["updated_at"][:19].replace("T", " ")),
                          cell(row["reply"][:120]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted entry in full: the server's whole reply, which the column cuts."""
        if 0 <= event.cursor_row < len(self._rows):
            row = self._rows[event.cursor_row]
            self.query_one("#queue-detail", Static).update(
                f"{row['recipient']} · {row['state']} · {row['message_id']}\n{row['reply'] or '(no reply yet)'}")

    @on(DaemonEvent)
    def _event(self, message: DaemonEvent) -> None:
        event = message.event
        if event.get("type", "").startswith("send.") and event.get("account_id") == self.account_id:
            if self._timer is not None:
                self._timer.stop()
            self._timer = self.set_timer(RELOAD_AFTER, self._load)

    def action_retry(self) -> None:
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self._rows):
            self._retry(self._rows[table.cursor_row])

    @work(exit_on_error=False, group="retry")
    async def _retry(self, row: dict[str, Any]) -> None:
        if row["state"] not in ("uncertain", "failed", "deferred"):
            self.notify(f"{row['recipient']} is {row['state']}: only uncertain, failed or deferred ones are sent again")
            return
        result = await self.client.call("queue.retry", {"ids": [row["id"]]})
        self.notify(f"{row['recipient']}: queued again" if result["queued"] else "nothing to send again")
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)
