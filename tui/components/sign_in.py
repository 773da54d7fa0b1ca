"""Signing an account in with OAuth 2.0, over SSH: what the person does in a browser, on screen, and the
outcome as the daemon learns it.

Device flow: the address and the code, in three steps (open, enter the code, consent). Code flow: the
address to open, the `ssh -L` line that brings the browser back to the daemon, and a box to paste the
address the browser landed on instead. Client credentials: the outcome at once. Closing this screen
leaves the sign-in running in the daemon; its end is an account.auth event either way.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ...shared import protocol as P
from ...shared.client import AsyncClient
from ..keys import DIALOG
from ..messages import ScreenWorkers
from .footer import KeyFooter


class SignInScreen(ScreenWorkers, ModalScreen):
    BINDINGS = DIALOG

    def __init__(self, client: AsyncClient, account_id: int, label: str) -> None:
        super().__init__()
        self.client = client
        self.account_id = account_id
        self.label = label

    def compose(self) -> ComposeResult:
        with Vertical(id="signin-box"):
            yield Static(f"Sign in {self.label}", id="signin-title", markup=False)
            yield Static("asking the provider…", id="signin-how", markup=False)
            yield Input(placeholder="or paste the address the browser landed on, then Enter", id="signin-paste")
            yield Static("", id="signin-outcome", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#signin-paste").display = False
        self._start()

    def _say(self, selector: str, text: str) -> None:
        self.query_one(selector, Static).update(text)

    @work(exclusive=True, exit_on_error=False, group="signin")
    async def _start(self) -> None:
        try:
            started = await self.client.call("accounts.auth", {"id": self.account_id}, timeout=60)
        except P.RpcError as exc:
            self._say("#signin-how", f"cannot sign in: {exc}")
            return
        self._say("#signin-how", instructions(started))
        if started["flow"] == "code":
            self.query_one("#signin-paste").display = True
        if started["state"] != "pending":
            self._outcome(started)
            return
        self._say("#signin-outcome", "waiting for the sign-in…")
        while True:
            outcome = await self.client.call("accounts.auth_wait", {"id": self.account_id, "timeout": 30}, timeout=45)
            if outcome["state"] != "pending":
                self._outcome(outcome)
                return

    def _outcome(self, outcome: dict[str, Any]) -> None:
        if outcome["state"] == "granted":
            self._say("#signin-outcome", "Signed in: the account gets its tokens now. (Esc closes.)")
        else:
            self._say("#signin-outcome", f"The sign-in failed: {outcome.get('reason') or outcome['state']}")
        self.query_one("#signin-paste").display = False

    @on(Input.Submitted, "#signin-paste")
    def _pasted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self._finish(event.value.strip())

    @work(exclusive=True, exit_on_error=False, group="paste")
    async def _finish(self, returned: str) -> None:
        try:
            outcome = await self.client.call("accounts.auth_finish", {"id": self.account_id, "returned": returned},
                                             timeout=60)
        except P.RpcError as exc:
            self._say("#signin-outcome", str(exc))
            return
        if outcome["state"] != "pending":
            self._outcome(outcome)

    def action_cancel(self) -> None:
        self.dismiss(None)


def instructions(started: dict[str, Any]) -> str:
    """What the person does, in the words the provider's answer allows (its text is shown as text)."""
    if started["flow"] == "device":
        return (f"1. Open {started['verification_uri']} in any browser (this machine or another).\n"
                f"2. Enter the code  {started['user_code']}\n"
                f"3. Sign in as the mailbox's user and accept.\n"
                f"The code expires in {started['expires_in'] // 60} minutes.")
    if started["flow"] == "code":
        tunnel = (f"The browser comes back to {started['redirect_uri']} on the daemon's host; from another machine "
                  f"first run there:  {started['ssh_forward']}" if started.get("listening") else
                  "Then paste the address the browser lands on below.")
        return f"Open this address in a browser and sign in:\n\n{started['authorize_url']}\n\n{tunnel}"
    return "The app's own access (client credentials): no person needs to sign in."
