"""What servers, users and contacts wrote is shown as text, never read as markup.

An SMTP reply "500 [/red] nope" once crashed the list (MarkupError) and
"[AUTHENTICATIONFAILED]" vanished from a hint: any string given to a widget
that parses markup is a hole. So screens build `rich.text.Text` from parts
(plain strings stay literal, a (text, style) pair is styled), every Static
that shows such text is made with markup=False, and notifications never
parse markup (MailfleetApp.notify).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

Part = str | tuple[str, str]


def line(*parts: Part) -> Text:
    """One line from parts; no part is ever parsed as markup."""
    return Text.assemble(*parts)


def lines(items: Iterable[Text | str]) -> Text:
    return Text("\n").join(item if isinstance(item, Text) else Text(item) for item in items)


def cell(value: object, style: str = "") -> Text:
    """A DataTable cell: DataTable reads a plain str as markup, a Text as it is."""
    return Text(str(value), style=style)
