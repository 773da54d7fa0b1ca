"""Small modal questions: confirm a deletion (naming the account), give a rejection's reason."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from rich.text import Text
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from ..keys import DIALOG, KIND


class Confirm(ModalScreen[bool]):
    BINDINGS = DIALOG

    def __init__(self, question: str, yes: str = "Delete") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer is the default

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_cancel(self) -> None:
        self.dismiss(False)


class ChooseKind(ModalScreen[str | None]):
    """Which kind of account to create: both in plain sight, the likely one (the filter's) focused."""

    BINDINGS = DIALOG + KIND

    def __init__(self, likely: str = "own") -> None:
        super().__init__()
        self.likely = likely

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("New account: which kind?", classes="question", markup=False)
            yield Button("Own account (o): its own SMTP server and a bounce mailbox", id="own")
            yield Button("Marketing account (m): sends through the platform relay, once an admin approves it",
                         id="marketing")

    def on_mount(self) -> None:
        self.query_one(f"#{self.likely}", Button).focus()

    @on(Button.Pressed)
    def _picked(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)

    def action_pick(self, kind: str) -> None:
        self.dismiss(kind)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Reason(ModalScreen[str | None]):
    BINDINGS = DIALOG

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question", markup=False)
            yield Input(placeholder="reason (the owner will see it)", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Reject", variant="error", id="yes")
                yield Button("Cancel", id="no")

    @on(Input.Submitted)
    @on(Button.Pressed, "#yes")
    def _submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.notify("a reason is needed", severity="warning")
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ImportFile(ModalScreen[tuple[str, str] | None]):
    """Which CSV file to import, and its encoding when it is not UTF-8."""

    BINDINGS = DIALOG

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Import contacts from a CSV file (first line: email and detail names; commas, "
                         "semicolons or tabs)", classes="question", markup=False)
            yield Input(placeholder="path, e.g. ~/contacts.csv", id="import-path")
            yield Input(placeholder="encoding: empty for UTF-8, or e.g. cp1250", id="import-encoding")
            with Horizontal(classes="buttons"):
                yield Button("Import", variant="primary", id="import-go")
                yield Button("Cancel", id="import-cancel")

    def on_mount(self) -> None:
        self.query_one("#import-path").focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#import-go")
    def _submit(self) -> None:
        path = self.query_one("#import-path", Input).value.strip()
        if path:
            self.dismiss((path, self.query_one("#import-encoding", Input).value.strip()))

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class FolderPicker(ModalScreen[str | None]):
    """The server's folders, in words (decoded from modified UTF-7); Enter picks, Esc leaves the field as it was."""

    BINDINGS = DIALOG

    def __init__(self, folders: list[str]) -> None:
        super().__init__()
        self.folders = folders

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Folders on the server ({len(self.folders)}): which one holds the bounces?",
                         classes="question", markup=False)
            yield OptionList(*[Option(Text(name), id=str(i)) for i, name in enumerate(self.folders)],
                             id="folder-list")

    def on_mount(self) -> None:
        self.query_one("#folder-list").focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.folders[int(event.option.id)])

    def action_cancel(self) -> None:
        self.dismiss(None)
