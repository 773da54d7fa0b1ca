"""One account's activity as it happens: its bounces, mail from its contacts, contacts marked faulty,
messages set aside, status changes — the stored history first, then live.

Bounded (the newest MAX_LINES lines; the daemon keeps the rest) and burst-proof: live events are
gathered and written every FLUSH seconds, so a round that records thousands of bounces costs a few
repaints, not one per bounce."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import RichLog, Static

from ...shared import protocol as P
from ...shared.client import AsyncClient
from ...shared.words import event_summary, when
from ..keys import DIALOG
from ..messages import DaemonEvent, ScreenWorkers
from .footer import KeyFooter

MAX_LINES = 1000
FLUSH = 0.2
STYLES = {"bounce.hard": "red", "contact.faulty": "bold red", "bounce.soft": "yellow", "mail.received": "green",
          "mail.unreadable": "magenta"}


def event_line(event: dict[str, Any]) -> Text:
    kind = str(event.get("type", ""))
    summary = event_summary(event).replace("\r", " ").replace("\n", " ")
    return Text.assemble(f"{when(event.get('time'))[:19]}  ", (f"{kind:<16}", STYLES.get(kind, "")), " ", summary)


class AccountActivity(ScreenWorkers, Screen):
    BINDINGS = DIALOG

    def __init__(self, client: AsyncClient, account_id: int, title: str) -> None:
        super().__init__()
        self.client = client
        self.account_id = account_id
        self.title_text = title
        self._pending: list[dict[str, Any]] = []
        self._last_seq = 0  # events at or below this are on screen already (history and live overlap)
        self._loaded = False

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("Activity of ", "bold"), (self.title_text, "bold")), id="activity-title",
                     markup=False)
        yield RichLog(id="activity-log", max_lines=MAX_LINES, markup=False, wrap=False, auto_scroll=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        # Live events reach this screen from the moment it is pushed (before this load): nothing falls
        # between the history and live.
        self.set_interval(FLUSH, self._flush)
        self._load()

    @on(DaemonEvent)
    def _event(self, message: DaemonEvent) -> None:
        event = message.event
        if event.get("account_id") == self.account_id and event.get("type") != "probe.step":
            self._pending.append(event)
            del self._pending[:-MAX_LINES]

    def _flush(self) -> None:
        if not self._loaded or not self._pending:
            return
        log = self.query_one(RichLog)
        for event in self._pending:
            if event.get("seq", 0) > self._last_seq:
                self._last_seq = event["seq"]
                log.write(event_line(event))
        self._pending.clear()

    @work(exclusive=True, exit_on_error=False)
    async def _load(self) -> None:
        log = self.query_one(RichLog)
        try:
            page = await self.client.call("events.list", {"account_id": self.account_id, "newest": True,
                                                              "limit": MAX_LINES})
        except P.RpcError as exc:
            log.write(Text(str(exc), style="red"))
            return
        if not page["items"]:
            log.write(Text("nothing yet: bounces, mail from contacts and status changes appear here as they happen",
                           style="dim"))
        for event in page["items"]:
            log.write(event_line(event))
            self._last_seq = event["seq"]
        self._loaded = True
        self._flush()

    def action_cancel(self) -> None:
        self.app.pop_screen()
