"""A connection test, shown as it runs: each layer appears as the daemon reports it (probe.step
events of this test's job), then the verdict with the failing step and the hint."""

from __future__ import annotations

import uuid
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ...shared import protocol as P
from ...shared.client import AsyncClient
from ..keys import DIALOG
from ..messages import DaemonEvent, ScreenWorkers
from ..text import cell, line
from ..text import lines as text_lines
from .footer import KeyFooter


class ConnectionTestScreen(ScreenWorkers, ModalScreen):
    BINDINGS = DIALOG

    def __init__(self, client: AsyncClient, params: dict[str, Any], label: str) -> None:
        super().__init__()
        self.client = client
        self.job = "tui-" + uuid.uuid4().hex[:10]
        self.params = {**params, "job": self.job}
        self.label = label
        self._answered = False  # once the answer is shown, it is the whole story

    def compose(self) -> ComposeResult:
        with Vertical(id="test-box"):
            yield Static(f"Testing {self.label}…", id="test-title", markup=False)
            table = DataTable(id="test-steps", cursor_type="none")
            table.add_columns("PROTOCOL", "STEP", "RESULT", "MS", "DETAIL")
            yield table
            yield Static("", id="test-verdict", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._run()

    @on(DaemonEvent)
    def _event(self, message: DaemonEvent) -> None:
        event = message.event
        if self._answered:
            return  # the answer's steps are on screen now; a late live one would show twice
        if event.get("type") == "probe.step" and event.get("job") == self.job:
            self._add(event["protocol"], event["step"], event["ok"], event["ms"], event["detail"])

    def _add(self, protocol: str, step: str, ok: bool, ms: float, detail: str) -> None:
        table = self.query_one(DataTable)
        table.add_row(cell(protocol), cell(step), cell("ok") if ok else cell("FAILED", "red"), cell(f"{ms:.0f}"),
                      cell(detail[:80]))

    @work(exclusive=True, exit_on_error=False)
    async def _run(self) -> None:
        try:
            result = await self.client.call("accounts.test", self.params, timeout=300)
        except P.RpcError as exc:
            self.query_one("#test-verdict", Static).update(line((str(exc), "red")))
            return
        # The live steps showed progress; the answer is the whole story (a subscription made late, or steps
        # pushed after the reply, would leave the table short or doubled), so it replaces them.
        self._answered = True
        self.query_one(DataTable).clear()
        for key in ("smtp", "incoming"):
            report = result.get(key)
            for step in (report or {}).get("steps", []):
                self._add(report["protocol"], step["name"], step["ok"], step["ms"], step["detail"])
        lines = []
        for key in ("smtp", "incoming"):
            report = result.get(key)
            if report is None:
                continue
            if report["ok"]:
                lines.append(line((f"{report['protocol']}: all steps passed", "green")))
            else:
                lines.append(line((f"{report['protocol']} failed at {report['step']} ({report['category']}):", "red"),
                                  f" {report['message']}"))
                if report["hint"]:
                    lines.append(line(f"  hint: {report['hint']}"))
        self.query_one("#test-title", Static).update(f"Test of {self.label}: " + ("passed" if result["ok"] else "failed"))
        self.query_one("#test-verdict", Static).update(text_lines(lines))

    def action_cancel(self) -> None:
        self.dismiss(None)
