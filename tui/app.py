"""mailfleet: the terminal UI's app. It owns the connection to the daemon (hello, heartbeat, reconnect,
the live-event subscription), passes daemon events to the screens as typed messages (tui/messages.py),
and is the one place an error becomes words a person reads: every daemon call runs in a worker, and a
worker that fails is said here, never as a traceback. The screens (the account list first,
components/accounts_screen.py) get the client and do the rest."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work
from textual.app import App
from textual.worker import Worker, WorkerState

from ..shared import protocol as P
from ..shared.client import AsyncClient, CurveKeys, DaemonUnreachable, start_user_daemon
from . import keys
from .commands import AccountCommands
from .components.account_form import AccountForm
from .components.accounts_screen import AccountsScreen
from .components.contacts import ContactsScreen
from .components.keys_help import KeysHelp
from .messages import AccountsChanged, DaemonEvent, WorkerFailed

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
        self.main = AccountsScreen(self.client)
        self._down = False

    def get_default_screen(self) -> AccountsScreen:
        return self.main

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
        return True

    def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        self._hello()
        self.set_interval(HEARTBEAT, self._heartbeat)

    # --- the one error path ------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.post_message(WorkerFailed(event.worker))

    def on_worker_failed(self, message: WorkerFailed) -> None:
        """Every worker of every screen ends here when it fails (the screens pass theirs on): a daemon
        gone is the banner, a refusal the daemon's own words, anything else its type and message; never
        a traceback."""
        error = message.worker.error
        if isinstance(error, DaemonUnreachable):
            self._daemon_down(error)
        elif isinstance(error, P.RpcError):
            self.notify(error.message, severity="error", title=P.ERROR_NAMES.get(error.code, "error"))
        else:
            self.log.error(f"worker {message.worker.name} failed: {error!r}")
            self.notify(f"{type(error).__name__}: {error}", severity="error", title="something went wrong")

    # --- the connection ------------------------------------------------------------

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

    @work(exit_on_error=False, exclusive=True, group="hello")
    async def _hello(self) -> None:
        try:
            self.info = await self.client.call("system.info")
        except (DaemonUnreachable, P.RpcError) as exc:
            self._daemon_down(exc)
            return
        self.main.admin = bool(self.info["admin"])
        who = f"{self.info['user']}{' (admin)' if self.info['admin'] else ''}"
        started = "started your own mailfleetd; " if self.started_daemon else ""
        self.main.show("#status", f"{started}mailfleetd {self.info['version']} ({self.info['mode']}), you are {who}")
        self.main.refresh_bindings()  # approve and reject, now that we know whether we are an admin
        self._listen()

    def _daemon_down(self, exc: Exception) -> None:
        if self._down:
            return
        self._down = True
        self.subscribed = False
        self.log.warning(f"daemon down: {exc}")
        restart = ("restarting the mailfleetd this UI started…" if self.started_daemon else
                   "reconnecting… To start it: `mailfleetd --user &` (your own) or "
                   "`systemctl start mailfleetd` (the service).")
        self.main.banner(f"mailfleetd is not answering (your saved changes are safe in its database): {restart}")
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
        if not self.main.is_mounted:
            return  # closing
        self.main.banner(None)
        self.main.reload()
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
        """A pushed event, to every screen as a message (each shows what concerns it); account changes
        also to the list, where a burst collapses into one reload."""
        for screen in self.screen_stack:
            screen.post_message(DaemonEvent(event))
        if str(event.get("type", "")).startswith("account."):
            self.main.post_message(AccountsChanged())

    # --- app-wide actions ------------------------------------------------------------

    def action_contacts(self) -> None:
        self.push_screen(ContactsScreen(self.client))

    def action_keys(self) -> None:
        if not isinstance(self.screen, KeysHelp):
            self.push_screen(KeysHelp(self.screen))

    async def action_quit(self) -> None:
        self.client.close()
        self.exit()
