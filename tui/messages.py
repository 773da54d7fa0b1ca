"""What the app tells its screens about the daemon, as typed messages (harlequin's and toolong's way):
a screen handles the ones it shows and ignores the rest."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.worker import Worker, WorkerState


class DaemonEvent(Message, bubble=False):
    """One event the daemon pushed (stored, or live only such as probe steps), posted to every screen."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__()
        self.event = event


class AccountsChanged(Message, bubble=False):
    """Accounts changed (here or in another client): the list reloads. A burst (a round of thousands of
    bounces moves statuses by the hundred) waiting in the queue collapses into one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AccountsChanged)


class WorkerFailed(Message):
    """A worker ended with an error. Textual tells only the node that ran it, so each screen passes the
    failure to the app (ScreenWorkers), which says it in words: the one error path."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker


class ScreenWorkers:
    """Mixed into every screen that runs workers: their failures go to the app's one error path."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.post_message(WorkerFailed(event.worker))  # type: ignore[attr-defined]
