"""The command palette (ctrl+p): every account action by name, from the same binding data."""

from __future__ import annotations

from functools import partial

from textual.command import Hit, Hits, Provider

from .keys import ACCOUNTS, APP


class AccountCommands(Provider):
    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        # The account actions belong to the list's screen, the others to the app: each runs there, whatever
        # screen the palette was opened over.
        for bindings, target in ((ACCOUNTS, self.app.main), (APP, self.app)):
            for binding in bindings:
                if not binding.description or binding.action.startswith("focus_"):
                    continue  # the palette names every action, the footer's and the ones only `?` lists
                score = matcher.match(binding.description)
                if score > 0:
                    yield Hit(score, matcher.highlight(binding.description),
                              partial(self.app.run_action, binding.action.removeprefix("screen."), target),
                              help=f"key: {binding.key}")
