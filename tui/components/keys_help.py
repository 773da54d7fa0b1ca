"""`?`: every key of the screen you were on, from the live binding chain — the same registry
`keys.toml` remaps, so what it lists is what the keys do now, remapped ones included, with the id
to remap each by."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ..text import line, lines

CLOSE = [Binding("escape,question_mark,q", "close", "Close", id="keys.close")]


def key_lines(screen: Screen) -> list[Text]:
    """(keys, what, id) of every binding active on `screen`, one line each, keys of one action together."""
    by_action: dict[tuple[str, str], list[str]] = {}
    ids: dict[tuple[str, str], str] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.id or not binding.description:  # Textual's own (scrolling, copy): not ours to list
            continue
        what = (binding.description, binding.action)
        by_action.setdefault(what, []).append(screen.app.get_key_display(Binding(key, "")))
        ids[what] = binding.id or ""
    out = [line(("KEYS".ljust(14), "bold"), ("WHAT".ljust(26), "bold"), ("ID (keys.toml)", "bold"))]
    for what, keys in by_action.items():
        out.append(line((", ".join(keys)).ljust(14), what[0].ljust(26), (ids[what], "dim")))
    out.append(line("ctrl+p".ljust(14), "Find any action by name".ljust(26)))
    return out


class KeysHelp(ModalScreen):
    """What every key does here; Esc, ? or q closes."""

    BINDINGS = CLOSE

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self._text = lines(key_lines(under))

    def compose(self) -> ComposeResult:
        with Vertical(id="keys-box") as box:
            box.border_title = "Keys on this screen"
            with VerticalScroll():
                yield Static(self._text, id="keys-text", markup=False)
            yield Static('remap: ~/.config/mailfleet/keys.toml, id = "keys"', id="keys-hint", markup=False)

    def action_close(self) -> None:
        self.dismiss()
