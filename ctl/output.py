"""Readable output for people: aligned tables and key/value blocks, in words, never Python reprs.

Widths are terminal cells (rich's measure), not len(): a Japanese account name
is two cells a character, and len() skewed every row after it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len, set_cell_size

from ..shared.words import printable, words

MAX_CELL = 40


def _cell(value: Any) -> str:
    text = printable(words(value))
    return text if cell_len(text) <= MAX_CELL else set_cell_size(text, MAX_CELL - 1) + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_len(text))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """columns: (key, heading) pairs."""
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    widths = [max([cell_len(h)] + [cell_len(r[i]) for r in cells]) for i, h in enumerate(headings)]
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
