"""Who may see an account, in SQL: every form of the rule (accounts, bounces, events, the list), here only.

A user sees their own accounts and shared ones; an admin (viewer None) sees every account. The
account list also reads it as two disjoint parts and as a match on the trigram index's tags. The
Python form of the same rule is `Caller.can_see` (identity.py); events add what they need for
deleted accounts on top of this (events.py).
"""

from __future__ import annotations

from typing import Any

from .migrations import OWNER_MARK, SHARED_MARK


def visible(viewer: str | None, prefix: str = "") -> tuple[str, list[Any]]:
    """(condition, args) on an accounts row (columns after `prefix`: "a." for an alias, "+" to keep the
    planner off their indexes); ("1", []) for an admin."""
    if viewer is None:
        return "1", []
    return f"({prefix}owner = ? OR {prefix}shared = 1)", [viewer]


def visible_parts(viewer: str) -> list[tuple[str, list[Any]]]:
    """The same rule as two disjoint parts, (condition, args) each: the viewer's own accounts, and the
    others' shared ones. Counting each part on its own index and adding is exact (no account is in
    both) and reads only the viewer's rows, where the OR form walks every row of a filter."""
    return [("owner = ?", [viewer]), ("shared = 1 AND owner <> ?", [viewer])]


def visible_match(owner_code: str | None) -> str:
    """The same rule over the trigram index's tags (migrations.m008): the viewer's owner trigram (their
    code in account_owners; None when they own nothing yet), or shared."""
    marks = [SHARED_MARK] if owner_code is None else [OWNER_MARK + owner_code, SHARED_MARK]
    return "tags : (" + " OR ".join(fts_phrase(mark) for mark in marks) + ")"


def fts_phrase(text: str) -> str:
    """Text as one FTS5 phrase, whatever it holds."""
    return '"' + text.replace('"', '""') + '"'


def of_accounts(account_id: int | None, viewer: str | None) -> tuple[list[str], list[Any]]:
    """(clauses, args) for rows that name an account: those of one account (or of all), of the accounts
    `viewer` may see (None: an admin, all). Bounces and kept messages are listed this way."""
    clauses, args = [], []
    if account_id is not None:
        clauses.append("account_id = ?")
        args.append(account_id)
    if viewer is not None:
        condition, more = visible_account_id(viewer)
        clauses.append(condition)
        args += more
    return clauses, args


def visible_account_id(viewer: str | None, column: str = "account_id") -> tuple[str, list[Any]]:
    """(condition, args) on a row that names an account in `column`: a subquery, however many accounts
    the viewer may see (a list of their ids would pass SQLite's limit on parameters)."""
    if viewer is None:
        return "1", []
    condition, args = visible(viewer)
    return f"{column} IN (SELECT id FROM accounts WHERE {condition})", args
