"""The one footer every screen uses. At 80 columns there is room for about ten keys, so: compact (a key,
its word, one space), `?` (every key of the screen) and `q` first, so that what a narrow terminal
cuts off on the right is never the way to find the rest, nor the way out."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

FIRST = ("keys", "app.keys", "quit", "app.quit", "close", "cancel")


class KeyFooter(Footer):
    DEFAULT_CSS = """
    KeyFooter FooterKey {
        margin-right: 1;
    }
    """

    def __init__(self) -> None:
        # The palette (ctrl+p) is listed by `?` rather than taking a tenth of an 80-column footer.
        super().__init__(compact=True, show_command_palette=False)

    def compose(self) -> ComposeResult:
        # Footer.compose yields one FooterKey per action (no key groups are used here), in the binding
        # chain's order: focused widget first, app last. Reordered, nothing else changed.
        keys = list(super().compose())
        first = sorted((k for k in keys if getattr(k, "action", None) in FIRST),
                       key=lambda k: FIRST.index(k.action))
        yield from first + [k for k in keys if k not in first]
