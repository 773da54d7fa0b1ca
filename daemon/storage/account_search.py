"""The account list's search: which accounts match a query, the filters and who asks, how many, and
one page of them in order. At 100,000 accounts every shape is answered within about 10 ms, for an
admin and for a non-admin (bench/rpc.py). Three structures do it (migrations.m008):

- the trigram index `accounts_fts`: each name and email, and in `tags` the kind, the shared flag and
  the owner (a trigram each), so a text query of two characters or more, the kind and who may see the account are one
  match, counted by the index alone;
- a name index per filter (all, kind, status, each state), holding email, owner and shared: a page
  of many matches is found by walking one in order, without reading a row;
- accounts_owner and accounts_shared: a non-admin's own accounts and the shared ones, counted apart.

How each shape is answered is chosen from the count, which comes first.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import aiosqlite

from .migrations import END_MARK, KIND_MARK, OWNER_CODE_SQL, OWNER_MARK, SHARED_MARK
from .visibility import fts_phrase, visible, visible_match, visible_parts

SUMMARY_COLUMNS = ("id, kind, name, email, display_name, created_at, status, status_detail, smtp_state, "
                   "incoming_state, health, health_reason, shared, owner")

_SORT_SQL = {
    "name": "name COLLATE NOCASE {d}, id {d}",
    "email": "email COLLATE NOCASE {d}, id {d}",
    "created_at": "created_at {d}, id {d}",
    "updated_at": "updated_at {d}, id {d}",
    "status": "status {d}, name COLLATE NOCASE {d}, id {d}",
    "kind": "kind {d}, name COLLATE NOCASE {d}, id {d}",
    "id": "id {d}",
}

# What reading and sorting one matched row costs, in index entries walked (measured in bench/rpc.py).
ROW_COST = 20

# The control characters the trigram index holds besides the text: a query holding one matches nothing.
_MARKS = frozenset(ch for mark in (END_MARK, SHARED_MARK, OWNER_MARK, *KIND_MARK.values()) for ch in mark
                   if not ch.isprintable())


@dataclass(frozen=True)
class Search:
    query: str = ""
    kind: str = "all"
    status: str | None = None
    offset: int = 0
    limit: int = 50
    sort: str = "name"
    viewer: str | None = None  # None: an admin, who sees every account


class _Nothing(Exception):
    """No account can match (a query holding the index's marks, or two characters no text has)."""


async def search(conn: aiosqlite.Connection, s: Search) -> tuple[int, list[sqlite3.Row]]:
    """One page and the number of all matches."""
    try:
        match = await _match(conn, s)
    except _Nothing:
        return 0, []
    total = await _count(conn, s, match)
    if s.offset >= total:
        return total, []
    order = _SORT_SQL[s.sort.lstrip("-")].format(d="DESC" if s.sort.startswith("-") else "ASC")
    page = f"ORDER BY {order} LIMIT ? OFFSET ?"
    if match is None:
        where, args = _where(s)
        sql = f"SELECT {SUMMARY_COLUMNS} FROM accounts{where} {page}"
    elif await _walk(conn, s, total):
        index, lead = _name_index(s)
        if s.query.isascii():
            # Tested on each entry: LIKE folds ASCII as the trigram index does, and costs less than
            # looking the match up again.
            where, args = _where(s, lead=lead)
        else:
            where, args = _where(s, match, lead=lead)
        sql = f"SELECT {SUMMARY_COLUMNS} FROM accounts INDEXED BY {index}{where} {page}"
    else:
        # Few matches: the filter index keeps those in the state asked for, and only they are read.
        where, args = _where(Search(status=s.status), match)
        sql = (f"SELECT {SUMMARY_COLUMNS} FROM accounts WHERE id IN "
               f"(SELECT id FROM accounts INDEXED BY accounts_filter{where}) {page}")
    return total, list(await conn.execute_fetchall(sql, (*args, s.limit, s.offset)))


async def _match(conn: aiosqlite.Connection, s: Search) -> str | None:
    """The trigram index's expression for the query (two characters or more), the kind and the viewer;
    None for no query or one character (nearly every row holds a common letter: no index helps).

    Two characters are a substring exactly when a trigram starts with them (the end mark makes the
    last two start one too): the vocabulary names those trigrams, and the query is their OR. It holds
    trigrams folded to lower case, as the index folds a query."""
    if any(ch in _MARKS for ch in s.query):
        raise _Nothing
    if len(s.query) >= 3:
        text = fts_phrase(s.query)
    elif len(s.query) == 2:
        folded = s.query.lower()
        terms = await conn.execute_fetchall("SELECT term FROM accounts_fts_terms WHERE term >= ? AND term < ?",
                                            (folded, folded + "\U0010ffff\U0010ffff"))
        if not terms:
            raise _Nothing
        text = " OR ".join(fts_phrase(term) for (term,) in terms)
    else:
        return None
    parts = [f"{{name email}} : ({text})"]
    if s.kind != "all":
        parts.append(f"tags : {fts_phrase(KIND_MARK[s.kind])}")
    if s.viewer is not None:
        code = await conn.execute_fetchall(OWNER_CODE_SQL, (s.viewer,))
        parts.append(visible_match(code[0][0] if code else None))
    return " AND ".join(parts)


async def _count(conn: aiosqlite.Connection, s: Search, match: str | None) -> int:
    if match is not None and s.status is None:
        # The query, the kind and the viewer: the trigram index alone.
        sql, args = "SELECT count(*) FROM accounts_fts WHERE accounts_fts MATCH ?", [match]
    elif match is not None:
        # The matches checked for the state against the narrow filter index, never the wide rows.
        where, args = _where(Search(status=s.status), match)
        sql = f"SELECT count(*) FROM accounts INDEXED BY accounts_filter{where}"
    elif s.viewer is not None:
        # What a non-admin sees, in two disjoint parts, each on its own index (which holds name and
        # email for a one-character query): only their rows are read.
        where, args = _where(Search(query=s.query, kind=s.kind, status=s.status))
        total = 0
        for condition, more in visible_parts(s.viewer):
            sql = f"SELECT count(*) FROM accounts{where}{' AND ' if where else ' WHERE '}{condition}"
            total += (await conn.execute_fetchall(sql, [*args, *more]))[0][0]
        return total
    else:
        where, args = _where(s)
        sql = f"SELECT count(*) FROM accounts{where}"
    return (await conn.execute_fetchall(sql, args))[0][0]


def _name_index(s: Search) -> tuple[str, str | None]:
    """(index, its leading column): the index in name order over the rows the filter keeps."""
    if s.kind != "all":
        return "accounts_kind_name", "kind"
    if s.status in ("smtp_failing", "incoming_failing"):
        state = s.status.removesuffix("_failing") + "_state"
        return f"accounts_{state}", state
    if s.status:
        return "accounts_status_name", "status"
    return "accounts_name", None


async def _walk(conn: aiosqlite.Connection, s: Search, total: int) -> bool:
    """Whether walking the name index in order and keeping the matching entries beats reading and
    sorting every match: the walk finds the page after about (offset + limit) * rows / total entries,
    the other way reads `total` rows."""
    if s.sort.lstrip("-") != "name":
        return False
    rows = (await conn.execute_fetchall("SELECT max(id) FROM accounts"))[0][0] or 0  # ids are never reused
    return total * ROW_COST * total >= (s.offset + s.limit) * rows


def _where(s: Search, match: str | None = None, lead: str | None = None) -> tuple[str, list[Any]]:
    """The WHERE clause and its args: the trigram match if given, else the query by LIKE (which folds
    ASCII only: a letter beyond it is looked for in both cases), then the filters and the viewer. With
    a match, it drives the query: a unary + keeps SQLite from scanning an index on the other terms
    instead (measured: 2x), except on `lead`, the first column of the name index being walked."""
    clauses: list[str] = []
    args: list[Any] = []
    plus = ""
    if match is not None:
        clauses.append("id IN (SELECT rowid FROM accounts_fts WHERE accounts_fts MATCH ?)")
        args.append(match)
        plus = "+"
    elif s.query:
        spellings = sorted({s.query} if s.query.isascii() else {s.query.lower(), s.query.upper()})
        clauses.append("(" + " OR ".join(["name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\'"] * len(spellings)) + ")")
        args += [_like_pattern(spelling) for spelling in spellings for _ in (0, 1)]

    def column(name: str) -> str:
        return name if name == lead else plus + name

    if s.kind != "all":
        clauses.append(f"{column('kind')} = ?")
        args.append(s.kind)
    if s.status in ("smtp_failing", "incoming_failing"):
        # Failing is per direction: an account failing SMTP shows under "incoming failing" too when its
        # mailbox fails as well.
        clauses.append(f"{column(s.status.removesuffix('_failing') + '_state')} = 'failing'")
    elif s.status:
        clauses.append(f"{column('status')} = ?")
        args.append(s.status)
    if s.viewer is not None:
        condition, more = visible(s.viewer, plus)
        clauses.append(condition)
        args += more
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _like_pattern(query: str) -> str:
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
