"""Every key binding, as data, each with an id so users can remap it (App.set_keymap / config).

Grouped by where it applies; the footer and the command palette read the same entries.
"""

from __future__ import annotations

from textual.binding import Binding

APP = [
    Binding("q", "quit", "Quit", id="app.quit"),
    Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
    Binding("c", "contacts", "Contacts", id="app.contacts"),
]

# On the account list (active while it has focus, so typing in a search box types);
# the actions live on the app.
ACCOUNTS = [
    Binding("n", "app.new_account", "New", id="accounts.new"),
    Binding("e,enter", "app.edit_account", "Edit", id="accounts.edit"),
    Binding("i", "app.show_account", "Details", id="accounts.details"),
    Binding("d,delete", "app.delete_account", "Delete", id="accounts.delete"),
    Binding("t", "app.test_account", "Test", id="accounts.test"),
    Binding("a", "app.approve", "Approve", id="accounts.approve"),
    Binding("x", "app.reject", "Reject", id="accounts.reject"),
    Binding("slash", "app.focus_search", "Search", id="accounts.search"),
    Binding("f", "app.cycle_filter", "Filter", id="accounts.filter"),
    Binding("r", "app.refresh", "Refresh", id="accounts.refresh"),
]

TABLE = [
    Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
    Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
    Binding("pageup,ctrl+b", "page(-1)", "Page up", show=False, id="table.page_up"),
    Binding("pagedown,ctrl+f", "page(1)", "Page down", show=False, id="table.page_down"),
    Binding("home,g", "first", "First", show=False, id="table.first"),
    Binding("end,G", "last", "Last", show=False, id="table.last"),
]

FORM = [
    Binding("ctrl+s", "save", "Save", id="form.save"),
    Binding("ctrl+t", "test", "Test connection", id="form.test"),
    Binding("escape", "cancel", "Cancel", id="form.cancel"),
]

DIALOG = [
    Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
]

KIND = [
    Binding("o", "pick('own')", "Own", id="kind.own"),
    Binding("m", "pick('marketing')", "Marketing", id="kind.marketing"),
]

CONTACTS = [
    Binding("escape", "close", "Back", id="contacts.back"),
    Binding("slash", "focus_search", "Search", id="contacts.search"),
    Binding("f", "toggle_faulty", "Faulty only", id="contacts.faulty"),
    Binding("enter", "show_contact", "Bounces", id="contacts.show"),
    Binding("a", "clear_faulty", "Clear faulty", id="contacts.clear"),
    Binding("m", "raw_bounce", "Latest bounce as received", id="contacts.raw"),
]
