"""The main screen: the searchable, filterable account list, the lines under it, and what a person does
to an account. The app (tui/app.py) owns the connection and the one error path; this screen is given
the client, asks it in workers, and lets their errors go to the app, which says them in words."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from ...shared.client import AsyncClient
from ..messages import AccountsChanged, ScreenWorkers
from .account_detail import AccountDetail
from .account_form import AccountForm
from .account_table import COLUMNS, SORTABLE, AccountTable, Query, status_words
from .activity import AccountActivity
from .dialogs import ChooseKind, Confirm, Reason
from .footer import KeyFooter
from .auth_report import AuthReportScreen
from .queue import QueueScreen
from .sign_in import SignInScreen
from .test_report import ConnectionTestScreen

FILTERS = [("all", None, "all accounts"), ("marketing", None, "marketing"), ("own", None, "own"),
           ("all", "pending", "pending approval"), ("own", "smtp_failing", "SMTP failing"),
           ("own", "incoming_failing", "incoming failing"), ("own", "signin_required", "not signed in (OAuth)"),
           ("own", "reauth_required", "to sign in again (OAuth)")]
SEARCH_DEBOUNCE = 0.06  # typing fast sends one query, not one per key
LIVE_DEBOUNCE = 0.3


class AccountsScreen(ScreenWorkers, Screen):
    def __init__(self, client: AsyncClient) -> None:
        super().__init__()
        self.client = client
        self.admin = False  # the daemon says (system.info); approve and reject are for admins
        self.filter_index = 0
        self.sort = "name"
        self._search_timer: Timer | None = None
        self._live_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="banner", markup=False)
        with Horizontal(id="bar"):
            yield Input(placeholder="search name or address  (/)", id="search")
            yield Static(FILTERS[0][2], id="filter", markup=False)
        yield Static(self._heading(), id="heading", markup=False)
        yield AccountTable(self._fetch, id="accounts")
        yield Static("", id="detail", markup=False)
        yield Static("", id="status", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#banner").display = False
        table = self.query_one(AccountTable)
        table.focus()
        table.reload()

    async def _fetch(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.client.call("accounts.list", params)

    # --- what the app tells this screen ---------------------------------------

    def show(self, selector: str, text: str) -> None:
        """Update a line of text; quietly nothing while the app is closing (a late reply may still arrive)."""
        try:
            self.query_one(selector, Static).update(text)
        except NoMatches:
            pass

    def banner(self, text: str | None) -> None:
        """The daemon's absence (text) or return (None), above the list."""
        try:
            banner = self.query_one("#banner", Static)
        except NoMatches:
            return  # closing
        banner.display = text is not None
        if text is not None:
            banner.update(text)

    def reload(self) -> None:
        self.query_one(AccountTable).reload(keep_cursor=True)

    @on(AccountsChanged)
    def _accounts_changed(self) -> None:
        if self._live_timer is not None:
            self._live_timer.stop()
        self._live_timer = self.set_timer(LIVE_DEBOUNCE, self.reload)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Approve, reject, purge and sign in only where they mean something (the footer shows the keys only
        then): approve and reject on a pending marketing account, for an admin; a purge on an account with a
        mailbox; a sign-in on an own account."""
        if action not in ("approve", "reject", "purge_bounces", "sign_in"):
            return True
        try:
            row = self.query_one(AccountTable).current
        except NoMatches:
            return False
        if not row:
            return False
        if action == "purge_bounces":
            return bool(row["kind"] == "own" and row.get("incoming_state"))
        if action == "sign_in":  # OAuth 2.0 is for own accounts (marketing ones send through the relay)
            return row["kind"] == "own"
        return bool(row["kind"] == "marketing" and row["status"] == "pending" and self.admin)

    # --- the list -------------------------------------------------------------

    def _heading(self, width: int = 100) -> str:
        """Column titles, the sorted one marked ▲ (ascending) or ▼ (descending)."""
        key, down = self.sort.lstrip("-"), self.sort.startswith("-")
        return "".join((title + (" ▼" if down else " ▲") * (k == key)).ljust(size)
                       for (k, title, *_), size in zip(COLUMNS, AccountTable.widths(width)))

    @on(AccountTable.Resized)
    def _table_resized(self, event: AccountTable.Resized) -> None:
        self.show("#heading", self._heading(event.width))

    def _query(self) -> Query:
        kind, status, _ = FILTERS[self.filter_index]
        return Query(self.query_one("#search", Input).value.strip(), kind, status, self.sort)

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, lambda: self.query_one(AccountTable).reload(self._query()))

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one(AccountTable).focus()

    @on(AccountTable.Loaded)
    def _loaded(self, event: AccountTable.Loaded) -> None:
        _, _, label = FILTERS[self.filter_index]
        self.show("#filter", f"{label} · {event.total:,}  (f)")

    @on(AccountTable.Highlighted)
    def _highlighted(self, event: AccountTable.Highlighted) -> None:
        row = event.row
        detail = ""
        if row:
            detail = f"{row['name']} <{row['email']}> · {row['kind']} · {status_words(row)}"
            if row.get("status_detail"):
                detail += f": {row['status_detail']}"
        self.show("#detail", detail)
        if self.is_mounted:
            self.refresh_bindings()  # approve/reject come and go with the highlighted account

    def action_focus_search(self) -> None:
        self.query_one("#search").focus()

    def action_cycle_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(FILTERS)
        self.show("#filter", FILTERS[self.filter_index][2])
        self.query_one(AccountTable).reload(self._query())

    def action_cycle_sort(self) -> None:
        """s: sort by the next column (name, email, kind, status, created)."""
        key = self.sort.lstrip("-")
        self._sort_by(SORTABLE[(SORTABLE.index(key) + 1) % len(SORTABLE)] if key in SORTABLE else "name")

    def action_reverse_sort(self) -> None:
        """S: the same column, the other way round."""
        self._sort_by(self.sort[1:] if self.sort.startswith("-") else "-" + self.sort)

    def _sort_by(self, sort: str) -> None:
        self.sort = sort
        table = self.query_one(AccountTable)
        self.show("#heading", self._heading(table.size.width or 100))
        table.reload(self._query())

    def action_refresh(self) -> None:
        self.reload()

    def _selected(self) -> dict[str, Any] | None:
        row = self.query_one(AccountTable).current
        if row is None:
            self.notify("no account selected", severity="warning")
        return row

    # --- what a person does to an account ---------------------------------------
    # Each runs in a worker; a daemon error ends it and the app says what went wrong (its one error path).

    def _done(self, words: str) -> None:
        self.notify(words)
        self.reload()

    @work(exit_on_error=False, group="forms")
    async def action_new_account(self) -> None:
        likely = "marketing" if FILTERS[self.filter_index][0] == "marketing" else "own"
        kind = await self.app.push_screen_wait(ChooseKind(likely))
        if kind is None:
            return
        result = await self.app.push_screen_wait(AccountForm(self.client, kind, details=await self._detail_names()))
        if result:
            self._done(f"created {result['name']}")

    async def _detail_names(self) -> list[str]:
        """The contact details a sender name may come from; none when the daemon cannot say (the form
        works without them)."""
        try:
            return (await self.client.call("contacts.details"))["names"]
        except Exception:  # noqa: BLE001 - a hint for a form field, not worth an error
            return []

    @work(exit_on_error=False, group="forms")
    async def action_edit_account(self) -> None:
        row = self._selected()
        if row is None:
            return
        account = await self.client.call("accounts.get", {"id": row["id"]})
        result = await self.app.push_screen_wait(AccountForm(self.client, account["kind"], account,
                                                             await self._detail_names()))
        if result:
            self._done(f"saved {result['name']}")

    @work(exit_on_error=False, group="forms")
    async def action_delete_account(self) -> None:
        row = self._selected()
        if row is None or not await self.app.push_screen_wait(Confirm(f"Delete account {row['name']} <{row['email']}>?")):
            return
        await self.client.call("accounts.delete", {"id": row["id"]})
        self._done(f"deleted {row['name']}")

    def action_show_account(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.push_screen(AccountDetail(self.client, row["id"]))

    def action_show_activity(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.push_screen(AccountActivity(self.client, row["id"], f"{row['name']} <{row['email']}>"))

    def action_test_account(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.push_screen(ConnectionTestScreen(self.client, {"id": row["id"]}, f"{row['name']} <{row['email']}>"))

    def action_show_queue(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.push_screen(QueueScreen(self.client, row["id"], f"{row['name']} <{row['email']}>"))

    def action_sign_in(self) -> None:
        row = self._selected()
        if row is not None:
            self.app.push_screen(SignInScreen(self.client, row["id"], f"{row['name']} <{row['email']}>"))

    def action_auth_report(self) -> None:
        self.app.push_screen(AuthReportScreen(self.client))

    @work(exit_on_error=False, group="forms")
    async def action_approve(self) -> None:
        row = self._selected()
        if row is not None:
            await self.client.call("accounts.approve", {"id": row["id"]})
            self._done(f"approved {row['name']}")

    @work(exit_on_error=False, group="forms")
    async def action_reject(self) -> None:
        row = self._selected()
        if row is None:
            return
        reason = await self.app.push_screen_wait(Reason(f"Reject {row['name']} <{row['email']}>?"))
        if reason:
            await self.client.call("accounts.reject", {"id": row["id"], "reason": reason})
            self._done(f"rejected {row['name']}")

    @work(exit_on_error=False, group="forms")
    async def action_purge_bounces(self) -> None:
        row = self._selected()
        if row is None or not await self.app.push_screen_wait(Confirm(
                f"Delete from the mailbox of {row['name']} <{row['email']}> the bounces already read? "
                "Human mail, unread and set-aside messages stay.", yes="Purge")):
            return
        self.notify(f"purging the bounces of {row['name']}…")
        result = await self.client.call("accounts.purge_bounces", {"id": row["id"]}, timeout=600)
        if not result["ok"]:
            self.notify(result["error"], severity="error", title="purge failed")
            return
        self.notify(f"{row['name']}: deleted {result['deleted']} of {result['bounces']} bounces already read "
                    f"({result['examined']} messages looked at)")
