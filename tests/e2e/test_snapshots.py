"""What the screen shows, as SVG snapshots (pytest-textual-snapshot): the list, both forms, a
failed test, the contacts screen and the daemon-down banner. Regenerate after a deliberate
change with `./scripts/test tests/e2e/test_snapshots.py --snapshot-update` and review the SVGs."""

from __future__ import annotations

import sqlite3

from mailfleet.tui.app import MailfleetApp
from mailfleet.tui.components.account_table import AccountTable

from ..support.samples import OWN
from .test_tui import until

SIZE = (100, 30)
FIXED = "2026-01-15T09:30:00.000Z"


def fixed_daemon(daemon):
    """Accounts with fixed dates (the list shows them), so snapshots hold on any day."""
    with daemon.client() as c:
        for i, name in enumerate(["Billing", "Sales", "Support"]):
            # .invalid never resolves, with or without a network: the failed test looks the same everywhere.
            c.call("accounts.create", {**OWN, "name": name, "email": f"{name.lower()}@example.com",
                                       "display_name": f"ACME {name}", "shared": i == 1,
                                       "smtp": {**OWN["smtp"], "host": "smtp.example.invalid"}})
        c.call("accounts.create", {"kind": "marketing", "name": "Newsletter", "email": "news@example.com"})
        c.call("contacts.import", {"csv": "email,first_name,company\nanna@example.com,Anna,ACME\nbob@example.com,Bob,Initech\n"})
        c.call("contacts.update", {"email": "bob@example.com", "status": "faulty"})
    assert daemon.stop() == 0
    db = sqlite3.connect(daemon.paths.database)
    db.execute("UPDATE accounts SET created_at = ?, updated_at = ?", (FIXED, FIXED))
    db.execute("UPDATE contacts SET created_at = ?, updated_at = ?", (FIXED, FIXED))
    db.execute("UPDATE contact_marks SET at = ?", (FIXED,))
    db.commit()
    db.close()
    daemon.start()
    return MailfleetApp(daemon.endpoint, timeout=1.0)


async def loaded(pilot) -> None:
    table = pilot.app.query_one(AccountTable)
    await until(pilot, lambda: table.total == 4 and table.current is not None and pilot.app.info)
    # The lines under the table follow the cursor and the hello: the screen is settled once they show.
    await until(pilot, lambda: table.current["name"] in str(pilot.app.query_one("#detail").render())
                and "you are" in str(pilot.app.query_one("#status").render()))


def test_account_list(daemon, snap_compare):
    assert snap_compare(fixed_daemon(daemon), terminal_size=SIZE, run_before=loaded)


def test_own_account_form(daemon, snap_compare):
    async def open_form(pilot):
        await loaded(pilot)
        await pilot.press("down", "e")
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "AccountForm")
        await pilot.pause(0.2)

    assert snap_compare(fixed_daemon(daemon), terminal_size=SIZE, run_before=open_form)


def test_marketing_account_form(daemon, snap_compare):
    async def open_form(pilot):
        await loaded(pilot)
        await pilot.press("f", "n", "m")
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "AccountForm")
        await pilot.pause(0.2)

    assert snap_compare(fixed_daemon(daemon), terminal_size=SIZE, run_before=open_form)


def test_failed_connection_test(daemon, snap_compare):
    async def failed(pilot):
        await loaded(pilot)
        await pilot.press("t")  # Billing: smtp.example.invalid never resolves
        await until(pilot, lambda: "failed" in str(pilot.app.screen.query_one("#test-title").render()), timeout=30)
        table = pilot.app.screen.query_one("#test-steps")
        for row in range(table.row_count):  # timings differ run to run: normalise them
            table.update_cell_at((row, 3), "n")
        # The list behind updates itself from the account.status event: wait for it, not for luck.
        main = pilot.app.screen_stack[0]
        await until(pilot, lambda: "smtp_failing" in str(main.query_one("#detail").render()), timeout=10)
        main.refresh(layout=True)  # a screen under a modal repaints when asked, not by itself
        await pilot.pause(0.3)

    assert snap_compare(fixed_daemon(daemon), terminal_size=SIZE, run_before=failed)


def test_contacts_screen(daemon, snap_compare):
    async def contacts(pilot):
        await loaded(pilot)
        await pilot.press("c")
        await until(pilot, lambda: pilot.app.screen.query("#contacts-table")
                    and pilot.app.screen.query_one("#contacts-table").row_count == 2)
        await pilot.press("down", "enter")
        await until(pilot, lambda: "bob@" in str(pilot.app.screen.query_one("#contact-detail").render()))
        await pilot.pause(0.2)

    assert snap_compare(fixed_daemon(daemon), terminal_size=SIZE, run_before=contacts)


def test_daemon_down_banner(daemon, snap_compare):
    async def down(pilot):
        await loaded(pilot)
        daemon.stop()
        await until(pilot, lambda: pilot.app.query_one("#banner").display, timeout=15)
        await pilot.pause(0.2)

    assert snap_compare(fixed_daemon(daemon), terminal_size=SIZE, run_before=down)
