"""Every key binding, as data, each with an id so users can remap it (App.set_keymap / config).

Grouped by where it applies; the footer and the command palette read the same entries.
"""

from __future__ import annotations

from textual.binding import Binding

APP = [
    # Priority: handled as the key arrives, not after it has gone round the focused widget. Otherwise
    # "Name<Tab>email<Tab>sender" typed in one burst (a paste, a password manager's auto-type, keys
    # bunched over SSH) lands wholly in Name: the letters after a Tab are handed to the old field
    # before that field has passed the Tab back up to move focus.
    # (No description: `?` leaves Tab out, as every terminal program's help does.)
    Binding("tab", "focus_next", "", show=False, priority=True, id="app.focus_next"),
    Binding("shift+tab", "focus_previous", "", show=False, priority=True, id="app.focus_previous"),
    Binding("question_mark", "keys", "Keys", id="app.keys"),
    Binding("q", "quit", "Quit", id="app.quit"),
    Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
    Binding("c", "contacts", "Contacts", id="app.contacts"),
]

# On the account list (active while it has focus, so typing in a search box types);
# the actions live on the app.
ACCOUNTS = [
    Binding("n", "screen.new_account", "New", id="accounts.new"),
    Binding("e,enter", "screen.edit_account", "Edit", id="accounts.edit"),
    Binding("i", "screen.show_account", "Info", id="accounts.details"),
    Binding("l", "screen.show_activity", "Activity", show=False, id="accounts.activity"),
    Binding("d,delete", "screen.delete_account", "Delete", id="accounts.delete"),
    Binding("t", "screen.test_account", "Test", id="accounts.test"),
    Binding("a", "screen.approve", "Approve", id="accounts.approve"),
    Binding("o", "screen.sign_in", "Sign in", id="accounts.sign_in"),
    Binding("u", "screen.show_queue", "Queue", show=False, id="accounts.queue"),
    Binding("x", "screen.reject", "Reject", id="accounts.reject"),
    # Not in the footer (80 columns hold ten keys): the search box and the filter label say their keys.
    Binding("P", "screen.purge_bounces", "Purge bounces already read", show=False, id="accounts.purge"),
    Binding("O", "screen.auth_report", "Accounts still signing in with a password", show=False,
            id="accounts.auth_report"),
    Binding("slash", "screen.focus_search", "Search", show=False, id="accounts.search"),
    Binding("f", "screen.cycle_filter", "Filter", show=False, id="accounts.filter"),
    Binding("r", "screen.refresh", "Refresh", show=False, id="accounts.refresh"),
    Binding("s", "screen.cycle_sort", "Sort by the next column", show=False, id="accounts.sort"),
    Binding("S", "screen.reverse_sort", "Reverse the sort", show=False, id="accounts.reverse_sort"),
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
    Binding("ctrl+l", "folders", "Folders", id="form.folders"),
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
    Binding("a", "clear_faulty", "Make active", id="contacts.clear"),
    Binding("m", "raw_bounce", "Latest bounce as received", id="contacts.raw"),
    Binding("i", "import", "Import CSV", id="contacts.import"),
    Binding("j", "cursor(1)", "Down", show=False, id="contacts.down"),
    Binding("k", "cursor(-1)", "Up", show=False, id="contacts.up"),
]

ALL = APP + ACCOUNTS + TABLE + FORM + DIALOG + KIND + CONTACTS

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


def binding_ids() -> set[str]:
    """Every id keys.toml may remap (the keys overlay, `?`, lists them with their keys)."""
    return {b.id for b in ALL if b.id}


def key_problem(keys: str) -> str | None:
    """Why `keys` ("ctrl+d", "insert,f5") names no key Textual knows, or None when every one is a key."""
    from string import printable

    from textual.keys import Keys, _character_to_key

    names = {k.value for k in Keys} | {_character_to_key(c) for c in printable if c.isprintable()}
    for key in (k.strip() for k in keys.split(",")):
        *mods, base = key.split("+")
        if not key or not base:
            return f"{keys!r} has an empty key"
        if bad := [m for m in mods if m not in MODIFIERS]:
            return f"{bad[0]!r} in {key!r} is not a modifier ({', '.join(MODIFIERS)})"
        if len(base) != 1 and base not in names:
            return f"{base!r} is not a key name (e.g. a, insert, delete, f5, pageup, slash, ctrl+d)"
    return None

QUEUE = [
    Binding("escape", "close", "Back", id="queue.back"),
    Binding("r", "retry", "Send again", id="queue.retry"),
]
