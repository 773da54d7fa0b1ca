"""mailfleet: the terminal UI. Every daemon call runs in a worker; errors become banners and
notifications, never tracebacks. The daemon going away shows a banner and the app reconnects."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.worker import Worker, WorkerState
from textual.widgets import Input, Static

from ..shared import protocol as P
from ..shared.client import AsyncClient, CurveKeys, DaemonUnreachable, start_user_daemon
from . import keys
from .commands import AccountCommands
from .components.account_detail import AccountDetail
from .components.activity import AccountActivity
from .components.account_form import AccountForm
from .components.account_table import COLUMNS, SORTABLE, AccountTable, Query, status_words
from .components.contacts import ContactsScreen
from .components.dialogs import ChooseKind, Confirm, Reason
from .components.footer import KeyFooter
from .components.keys_help import KeysHelp
from .components.test_report import ConnectionTestScreen

FILTERS = [("all", None, "all accounts"), ("marketing", None, "marketing"), ("own", None, "own"),
           ("all", "pending", "pending approval"), ("own", "smtp_failing", "SMTP failing"),
           ("own", "incoming_failing", "incoming failing")]
SEARCH_DEBOUNCE = 0.06  # typing fast sends one query, not one per key
LIVE_DEBOUNCE = 0.3
HEARTBEAT = 3.0


class MailfleetApp(App):
    CSS_PATH = "styles.tcss"
    TITLE = "mailfleet"
    BINDINGS = keys.APP
    COMMANDS = App.COMMANDS | {AccountCommands}

    def __init__(self, endpoint: str, started_daemon: bool = False,
                 timeout: float = 5.0, curve: CurveKeys | None = None, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.keymap = keymap or {}
        self.client = AsyncClient(endpoint, timeout=timeout, curve=curve)
        self.client.on_event = self._event
        self.started_daemon = started_daemon
        self.info: dict[str, Any] = {}
        self.subscribed = False  # the daemon sends us events (what a caller waits for before it expects them)
        self.filter_index = 0
        self.sort = "name"
        self.event_listeners: set = set()
        self._search_timer: Timer | None = None
        self._live_timer: Timer | None = None
        self._down = False

    def notify(self, message: str, *, title: str = "", severity: str = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification, from the app and its screens alike: never read as markup (tui/text.py)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """App keys (q, c) do nothing inside a form: a letter there belongs to what you are typing,
        and leaving a form goes through its own Esc, which asks before dropping changes."""
        stack = self.screen_stack  # empty while the app closes: no screen to ask
        if action in ("quit", "contacts") and stack and isinstance(stack[-1], AccountForm):
            return False
        if action not in ("approve", "reject", "purge_bounces"):
            return True
        # Only where they mean something (the footer shows the keys only then): approve and reject on a
        # pending marketing account, for an admin; a purge on an account with a mailbox.
        try:
            row = self.query_one(AccountTable).current
        except NoMatches:
            return False
        if not row:
            return False
        if action == "purge_bounces":
            return bool(row["kind"] == "own" and row.get("incoming_state"))
        return bool(row["kind"] == "marketing" and row["status"] == "pending" and self.info.get("admin"))

    def compose(self) -> ComposeResult:
        yield Static("", id="banner", markup=False)
        with Horizontal(id="bar"):
            yield Input(placeholder="search name or address  (/)", id="search")
            yield Static(FILTERS[0][2], id="filter", markup=False)
        yield Static(self._heading(), id="heading", markup=False)
        yield AccountTable(self.client_fetch, id="accounts")
        yield Static("", id="detail", markup=False)
        yield Static("", id="status", markup=False)
        yield KeyFooter()

    def _heading(self, width: int = 100) -> str:
        """Column titles, the sorted one marked ▲ (ascending) or ▼ (descending)."""
        key, down = self.sort.lstrip("-"), self.sort.startswith("-")
        return "".join((title + (" ▼" if down else " ▲") * (k == key)).ljust(size)
                       for (k, title, *_), size in zip(COLUMNS, AccountTable.widths(width)))

    @on(AccountTable.Resized)
    def _table_resized(self, event: AccountTable.Resized) -> None:
        self._show("#heading", self._heading(event.width))

    async def client_fetch(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.client.call("accounts.list", params)

    def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        self.query_one("#banner").display = False
        self.query_one(AccountTable).focus()
        self.query_one(AccountTable).reload()
        self._hello()
        self.set_interval(HEARTBEAT, self._heartbeat)

    @work(exit_on_error=False, exclusive=True, group="heartbeat")
    async def _heartbeat(self) -> None:
        """Notice a daemon that went away even while nobody types."""
        if self._down:
            return
        try:
            # Deadline within the beat (the next beat cancels this worker): a daemon gone is noticed in
            # seconds, not after the long calls' deadline.
            await self.client.call("system.ping", timeout=min(self.client.timeout, HEARTBEAT * 0.8))
        except (DaemonUnreachable, P.RpcError) as exc:
            self._daemon_down(exc)

    # --- daemon ------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker becomes something a person reads: never a traceback."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, DaemonUnreachable):
            self._daemon_down(error)
        elif isinstance(error, P.RpcError):
            self.notify(error.message, severity="error", title=P.ERROR_NAMES.get(error.code, "error"))
        else:
            self.log.error(f"worker {event.worker.name} failed: {error!r}")
            self.notify(f"{type(error).__name__}: {error}", severity="error", title="something went wrong")

    @work(exit_on_error=False, exclusive=True, group="hello")
    async def _hello(self) -> None:
        try:
            self.info = await self.client.call("system.info")
        except (DaemonUnreachable, P.RpcError) as exc:
            self._daemon_down(exc)
            return
        who = f"{self.info['user']}{' (admin)' if self.info['admin'] else ''}"
        started = "started your own mailfleetd; " if self.started_daemon else ""
        self._status(f"{started}mailfleetd {self.info['version']} ({self.info['mode']}), you are {who}")
        self._listen()

    def _show(self, selector: str, text: str) -> None:
        """Update a line of text; quietly nothing while the app is closing (a late reply may still arrive)."""
        try:
            self.query_one(selector, Static).update(text)
        except NoMatches:
            pass

    def _status(self, text: str) -> None:
        self._show("#status", text)

    def _daemon_down(self, exc: Exception) -> None:
        if self._down:
            return
        self._down = True
        self.subscribed = False
        self.log.warning(f"daemon down: {exc}")
        try:
            banner = self.query_one("#banner", Static)
        except NoMatches:
            return  # closing
        restart = ("restarting the mailfleetd this UI started…" if self.started_daemon else
                   "reconnecting… To start it: `mailfleetd --user &` (your own) or "
                   "`systemctl start mailfleetd` (the service).")
        banner.update(f"mailfleetd is not answering (your saved changes are safe in its database): {restart}")
        banner.display = True
        self._reconnect()

    @work(exit_on_error=False, exclusive=True, group="reconnect")
    async def _reconnect(self) -> None:
        restarted = False
        while True:
            await asyncio.sleep(1.0)
            self.client.reset()
            try:
                await self.client.call("system.ping", timeout=2)
            except (DaemonUnreachable, P.RpcError):
                if self.started_daemon and not restarted:
                    restarted = True  # once a time it goes away: a daemon that dies at start is not looped
                    try:
                        await asyncio.to_thread(start_user_daemon)
                    except DaemonUnreachable as exc:
                        self.notify(f"could not restart mailfleetd: {exc}", severity="error", timeout=30)
                continue
            break
        self._down = False
        try:
            self.query_one("#banner").display = False
            self.query_one(AccountTable).reload(keep_cursor=True)
        except NoMatches:
            return  # closing
        self.notify("mailfleetd is back")
        self._hello()

    @work(exit_on_error=False, exclusive=True, group="events")
    async def _listen(self) -> None:
        """Subscribe to live events on our own connection (the daemon sends only what we may see) and
        renew the subscription before its lease ends; a lost daemon is the heartbeat's to notice."""
        while True:
            try:
                # Every type: the list follows account.*, a test its probe.step, the activity view the rest.
                reply = await self.client.call("events.subscribe", {"types": []})
            except (DaemonUnreachable, P.RpcError):
                self.subscribed = False
                return  # _hello subscribes again once the daemon is back
            self.subscribed = True
            await asyncio.sleep(reply["lease"] / 3)

    def _event(self, event: dict[str, Any]) -> None:
        """A pushed event: live list updates (a burst collapses into one refresh) and probe steps."""
        for listener in list(self.event_listeners):
            listener(event)
        if str(event.get("type", "")).startswith("account."):
            self._live_changed()

    def _live_changed(self) -> None:
        if self._live_timer is not None:
            self._live_timer.stop()
        self._live_timer = self.set_timer(LIVE_DEBOUNCE, lambda: self.query_one(AccountTable).reload(keep_cursor=True))

    # --- list ---------------------------------------------------------------

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
        if event.error is not None:
            if isinstance(event.error, DaemonUnreachable):
                self._daemon_down(event.error)
            else:
                self.notify(str(event.error), severity="error")
            return
        _, _, label = FILTERS[self.filter_index]
        self._show("#filter", f"{label} · {event.total:,}  (f)")

    @on(AccountTable.Highlighted)
    def _highlighted(self, event: AccountTable.Highlighted) -> None:
        row = event.row
        detail = ""
        if row:
            detail = f"{row['name']} <{row['email']}> · {row['kind']} · {status_words(row)}"
            if row.get("status_detail"):
                detail += f": {row['status_detail']}"
        self._show("#detail", detail)
        if self.screen_stack:  # a late highlight while the app closes has no footer to refresh
            self.refresh_bindings()  # approve/reject come and go with the highlighted account

    def action_focus_search(self) -> None:
        self.query_one("#search").focus()

    def action_cycle_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(FILTERS)
        self._show("#filter", FILTERS[self.filter_index][2])
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
        self._show("#heading", self._heading(table.size.width or 100))
        table.reload(self._query())

    def action_refresh(self) -> None:
        self.query_one(AccountTable).reload(keep_cursor=True)

    def _selected(self) -> dict[str, Any] | None:
        row = self.query_one(AccountTable).current
        if row is None:
            self.notify("no account selected", severity="warning")
        return row

    # --- actions ------------------------------------------------------------

    @work(exit_on_error=False, group="forms")
    async def action_new_account(self) -> None:
        likely = "marketing" if FILTERS[self.filter_index][0] == "marketing" else "own"
        kind = await self.push_screen_wait(ChooseKind(likely))
        if kind is None:
            return
        details = await self._detail_names()
        result = await self.push_screen_wait(AccountForm(kind, details=details))
        if result:
            self.notify(f"created {result['name']}")
            self.query_one(AccountTable).reload(keep_cursor=True)

    async def _detail_names(self) -> list[str]:
        try:
            return (await self.client.call("contacts.details"))["names"]
        except (DaemonUnreachable, P.RpcError):
            return []

    @work(exit_on_error=False, group="forms")
    async def action_edit_account(self) -> None:
        row = self._selected()
        if row is None:
            return
        try:
            account = await self.client.call("accounts.get", {"id": row["id"]})
        except (DaemonUnreachable, P.RpcError) as exc:
            self.notify(str(exc), severity="error")
            return
        result = await self.push_screen_wait(AccountForm(account["kind"], account, await self._detail_names()))
        if result:
            self.notify(f"saved {result['name']}")
            self.query_one(AccountTable).reload(keep_cursor=True)

    @work(exit_on_error=False, group="forms")
    async def action_delete_account(self) -> None:
        row = self._selected()
        if row is None:
            return
        if not await self.push_screen_wait(Confirm(f"Delete account {row['name']} <{row['email']}>?")):
            return
        await self._call("accounts.delete", {"id": row["id"]}, f"deleted {row['name']}")

    def action_show_account(self) -> None:
        row = self._selected()
        if row is not None:
            self.push_screen(AccountDetail(row["id"]))

    def action_show_activity(self) -> None:
        row = self._selected()
        if row is not None:
            self.push_screen(AccountActivity(row["id"], f"{row['name']} <{row['email']}>"))

    def action_test_account(self) -> None:
        row = self._selected()
        if row is not None:
            self.push_screen(ConnectionTestScreen({"id": row["id"]}, f"{row['name']} <{row['email']}>"))

    @work(exit_on_error=False, group="forms")
    async def action_approve(self) -> None:
        row = self._selected()
        if row is not None:
            await self._call("accounts.approve", {"id": row["id"]}, f"approved {row['name']}")

    @work(exit_on_error=False, group="forms")
    async def action_reject(self) -> None:
        row = self._selected()
        if row is None:
            return
        reason = await self.push_screen_wait(Reason(f"Reject {row['name']} <{row['email']}>?"))
        if reason:
            await self._call("accounts.reject", {"id": row["id"], "reason": reason}, f"rejected {row['name']}")

    @work(exit_on_error=False, group="forms")
    async def action_purge_bounces(self) -> None:
        row = self._selected()
        if row is None or not await self.push_screen_wait(Confirm(
                f"Delete from the mailbox of {row['name']} <{row['email']}> the bounces already read? "
                "Human mail, unread and set-aside messages stay.", yes="Purge")):
            return
        self.notify(f"purging the bounces of {row['name']}…")
        result = await self._call("accounts.purge_bounces", {"id": row["id"]}, timeout=600)
        if result is None:
            return
        if not result["ok"]:
            self.notify(result["error"], severity="error", title="purge failed")
            return
        self.notify(f"{row['name']}: deleted {result['deleted']} of {result['bounces']} bounces already read "
                    f"({result['examined']} messages looked at)")

    async def _call(self, method: str, params: dict[str, Any], done: str | None = None,
                    timeout: float | None = None) -> Any:
        """The one place a daemon error becomes something a person reads: the result, or None after saying
        what went wrong. With `done`, that is said and the list reloaded."""
        try:
            result = await self.client.call(method, params, timeout=timeout)
        except DaemonUnreachable as exc:
            self._daemon_down(exc)
            return None
        except P.RpcError as exc:
            self.notify(exc.message, severity="error", title=P.ERROR_NAMES.get(exc.code, "error"))
            return None
        if done is not None:
            self.notify(done)
            self.query_one(AccountTable).reload(keep_cursor=True)
        return result

    def action_contacts(self) -> None:
        self.push_screen(ContactsScreen())

    def action_keys(self) -> None:
        if not isinstance(self.screen, KeysHelp):
            self.push_screen(KeysHelp(self.screen))

    async def action_quit(self) -> None:
        self.client.close()
        self.exit()
