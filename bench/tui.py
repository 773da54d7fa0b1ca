"""The account list at 100,000 accounts, through Pilot: app start to first rows, keystroke to new rows.

Run: .venv/bin/python -m bench.tui [--accounts N]

Baseline, same run: a plain Textual DataTable given every row up front,
to its first paint (what "just use a DataTable" costs). Targets (issue 5):
first rows <= 1 s; keystroke to rows <= 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.common import ScratchDaemon
from rpc import seed

from textual.app import App
from textual.widgets import DataTable

from mailfleet.tui.app import MailfleetApp
from mailfleet.tui.components.account_table import AccountTable

SIZE = (120, 40)


async def until(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        await pilot.pause(0.005)


async def ours(endpoint: str, total: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    app = MailfleetApp(endpoint)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == total and table.row(0) is not None)
        first = time.perf_counter() - started
        search = app.query_one("#search")
        keystrokes = []
        for word in ("acme", "north", "sales", "gamma", "hooli", "wayne", "stark", "promo"):
            search.value = ""
            await until(pilot, lambda: table.settled and table.total == total)
            search.focus()
            await pilot.press(*word[:-1])
            await until(pilot, lambda: table.settled and table.total < total)
            before = table.shown_generation
            t0 = time.perf_counter()
            await pilot.press(word[-1])  # the keystroke we time: debounce, query, repaint
            await until(pilot, lambda: table.shown_generation > before and table.settled)
            await pilot.pause(0)  # let the repaint happen
            keystrokes.append(time.perf_counter() - t0)
    return first, keystrokes


class Plain(App):
    def __init__(self, rows) -> None:
        super().__init__()
        self.rows = rows

    def compose(self):
        table = DataTable()
        table.add_columns("NAME", "EMAIL", "KIND", "STATUS", "CREATED", "OWNER")
        table.add_rows(self.rows)
        yield table


async def plain(rows) -> float:
    started = time.perf_counter()
    app = Plain(rows)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    args = parser.parse_args()
    daemon = ScratchDaemon().start()
    try:
        daemon.stop()
        seed(daemon, args.accounts)
        daemon.start()
        with daemon.client(timeout=60) as c:
            rows = []
            while len(rows) < args.accounts:
                page = c.call("accounts.list", {"limit": 1000, "offset": len(rows), "sort": "id"})
                rows += [(r["name"], r["email"], r["kind"], r["status"], r["created_at"][:10], r["owner"])
                         for r in page["items"]]
        first, keys = asyncio.run(ours(daemon.paths.rpc_endpoint, args.accounts))
        baseline = asyncio.run(plain(rows))
    finally:
        daemon.cleanup()
    print(f"account list with {args.accounts:,} accounts, {SIZE[0]}x{SIZE[1]} terminal, through Pilot")
    print(f"  plain DataTable with every row, to first paint (baseline): {baseline * 1000:8.0f} ms")
    print(f"  mailfleet, app start to first rows:                        {first * 1000:8.0f} ms   target <= 1000 ms")
    print(f"  mailfleet, search keystroke to updated rows: median {statistics.median(keys) * 1000:5.0f} ms, "
          f"max {max(keys) * 1000:5.0f} ms over {len(keys)}   target <= 150 ms (includes the 60 ms debounce)")


if __name__ == "__main__":
    main()
