"""Readable output for people: aligned tables and key/value blocks, in words, never Python reprs.

Widths are terminal cells (rich's measure), not len(): a Japanese account name
is two cells a character, and len() skewed every row after it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..shared.words import printable, words

MAX_CELL = 40


def _width(text: str) -> int:
    """Terminal cells. rich is imported here, not at the top: it is a twentieth of the start-up of
    `mailfleetctl classify --batch`, which prints no table."""
    from rich.cells import cell_len

    return cell_len(text)


def _cell(value: Any) -> str:
    text = printable(words(value))
    if _width(text) <= MAX_CELL:
        return text
    from rich.cells import set_cell_size

    return set_cell_size(text, MAX_CELL - 1) + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """columns: (key, heading) pairs."""
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headings)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(headings, widths)).rstrip()]
    lines += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def block(data: dict[str, Any], indent: str = "") -> str:
    """Nested dicts as indented `key: value` lines."""
    width = max((len(k) for k in data), default=0)
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{key}:")
            lines.append(block(value, indent + "  "))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            # A list of records (test steps, bounces): a small table under its name.
            columns = list(dict.fromkeys(k for v in value for k in v))
            lines.append(f"{indent}{key}:")
            lines += [indent + "  " + line for line in table(value, [(c, c) for c in columns]).splitlines()]
        else:
            lines.append(f"{indent}{key.ljust(width)}  {words(value)}")
    return "\n".join(lines)


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
