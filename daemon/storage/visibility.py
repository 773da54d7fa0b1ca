"""Who may see an account, in SQL: the one form of the rule that accounts, bounces and events use.

A user sees their own accounts and shared ones; an admin (viewer None) sees every account. The
Python form of the same rule is `Caller.can_see` (identity.py); events add what they need for
deleted accounts on top of this (events.py).
"""

from __future__ import annotations

from typing import Any


def visible(viewer: str | None, prefix: str = "") -> tuple[str, list[Any]]:
    """(condition, args) on an accounts row (columns after `prefix`: "a." for an alias, "+" to keep the
    planner off their indexes); ("1", []) for an admin."""
    if viewer is None:
        return "1", []
    return f"({prefix}owner = ? OR {prefix}shared = 1)", [viewer]


def visible_account_id(viewer: str | None, column: str = "account_id") -> tuple[str, list[Any]]:
    """(condition, args) on a row that names an account in `column`: a subquery, however many accounts
    the viewer may see (a list of their ids would pass SQLite's limit on parameters)."""
    if viewer is None:
        return "1", []
    condition, args = visible(viewer)
    return f"{column} IN (SELECT id FROM accounts WHERE {condition})", args
