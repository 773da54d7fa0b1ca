"""SQL for the accounts table. Rows in, rows out: no encryption, no wire shapes."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import aiosqlite

from .visibility import visible

SUMMARY_COLUMNS = ("id, kind, name, email, display_name, created_at, status, status_detail, smtp_state, "
                   "incoming_state, shared, owner")

_SORT_SQL = {
    "name": "name COLLATE NOCASE {d}, id {d}",
    "email": "email COLLATE NOCASE {d}, id {d}",
    "created_at": "created_at {d}, id {d}",
    "updated_at": "updated_at {d}, id {d}",
    "status": "status {d}, name COLLATE NOCASE {d}, id {d}",
    "kind": "kind {d}, name COLLATE NOCASE {d}, id {d}",
    "id": "id {d}",
}


class EmailTaken(Exception):
    pass


@dataclass(frozen=True)
class Search:
    query: str = ""
    kind: str = "all"
    status: str | None = None
    offset: int = 0
    limit: int = 50
    sort: str = "name"
    viewer: str | None = None  # None: an admin, who sees every account


def _fts_phrase(query: str) -> str:
    return '"' + query.replace('"', '""') + '"'


def _like_pattern(query: str) -> str:
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(s: Search) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    # With a trigram match, the match list drives the query; a unary + keeps
    # SQLite from scanning an index on the other terms instead (measured: 2x).
    plus = ""
    if s.query:
        if len(s.query) >= 3:
            clauses.append("id IN (SELECT rowid FROM accounts_fts WHERE accounts_fts MATCH ?)")
            args.append(_fts_phrase(s.query))
            plus = "+"
        else:
            # Trigrams need three characters; one or two scan the (covering) name index.
            clauses.append("(name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')")
            args += [_like_pattern(s.query)] * 2
    if s.kind != "all":
        clauses.append(f"{plus}kind = ?")
        args.append(s.kind)
    if s.status in ("smtp_failing", "incoming_failing"):
        # Failing is per direction: an account failing SMTP shows under "incoming failing" too when its
        # mailbox fails as well.
        clauses.append(f"{plus}{s.status.removesuffix('_failing')}_state = 'failing'")
    elif s.status:
        clauses.append(f"{plus}status = ?")
        args.append(s.status)
    if s.viewer is not None:
        condition, more = visible(s.viewer, plus)
        clauses.append(condition)
        args += more
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


# Above this many matches, walking the name index and keeping the matching
# rows beats sorting every match (measured in bench/rpc.py).
DENSE_MATCHES = 2000


async def _count(conn: aiosqlite.Connection, s: Search, where: str, args: list[Any]) -> int:
    if len(s.query) >= 3 and s.kind == "all" and s.status is None and s.viewer is None:
        # Nothing but the text query: the trigram index counts on its own.
        sql, args = "SELECT count(*) FROM accounts_fts WHERE accounts_fts MATCH ?", [_fts_phrase(s.query)]
    else:
        sql = f"SELECT count(*) FROM accounts{where}"
    return (await conn.execute_fetchall(sql, args))[0][0]


def _index_hint(s: Search, total: int) -> str:
    dense = len(s.query) >= 3 and total >= DENSE_MATCHES
    return " INDEXED BY accounts_name" if dense and s.sort.lstrip("-") == "name" else ""


async def search(conn: aiosqlite.Connection, s: Search) -> tuple[int, list[sqlite3.Row]]:
    """One page and the number of all matches. The count comes first: it picks the plan."""
    where, args = _where(s)
    total = await _count(conn, s, where, args)
    if s.offset >= total:
        return total, []
    key = s.sort.lstrip("-")
    order = _SORT_SQL[key].format(d="DESC" if s.sort.startswith("-") else "ASC")
    rows = await conn.execute_fetchall(
        f"SELECT {SUMMARY_COLUMNS} FROM accounts{_index_hint(s, total)}{where} ORDER BY {order} LIMIT ? OFFSET ?",
        (*args, s.limit, s.offset),
    )
    return total, list(rows)


async def get(conn: aiosqlite.Connection, account_id: int) -> sqlite3.Row | None:
    return await (await conn.execute("SELECT * FROM accounts WHERE id = ?", (account_id,))).fetchone()


async def get_many(conn: aiosqlite.Connection, ids: list[int]) -> dict[int, sqlite3.Row]:
    """Rows by id, in statements of at most 500 ids (SQLite's variable limit stays far away)."""
    out: dict[int, sqlite3.Row] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for row in await (await conn.execute(f"SELECT * FROM accounts WHERE id IN ({marks})", chunk)).fetchall():
            out[row["id"]] = row
    return out


async def set_status_many(conn: aiosqlite.Connection, rows: list[tuple[str, str, str | None, str | None, str, int]]) -> None:
    """(status, detail, smtp_state, incoming_state, updated_at, id) each, in one statement."""
    await conn.executemany("UPDATE accounts SET status = ?, status_detail = ?, smtp_state = ?, incoming_state = ?, "
                           "updated_at = ? WHERE id = ?", rows)


async def insert(conn: aiosqlite.Connection, row: dict[str, Any]) -> int:
    cols = ", ".join(row)
    marks = ", ".join("?" * len(row))
    try:
        cur = await conn.execute(f"INSERT INTO accounts ({cols}) VALUES ({marks})", tuple(row.values()))
    except sqlite3.IntegrityError as exc:
        if "accounts.email" in str(exc):
            raise EmailTaken(row["email"]) from None
        raise
    return cur.lastrowid


async def update(conn: aiosqlite.Connection, account_id: int, changes: dict[str, Any]) -> None:
    sets = ", ".join(f"{col} = ?" for col in changes)
    try:
        await conn.execute(f"UPDATE accounts SET {sets} WHERE id = ?", (*changes.values(), account_id))
    except sqlite3.IntegrityError as exc:
        if "accounts.email" in str(exc):
            raise EmailTaken(changes.get("email", "")) from None
        raise


async def delete(conn: aiosqlite.Connection, account_id: int) -> bool:
    cur = await conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
    return cur.rowcount > 0


async def owners(conn: aiosqlite.Connection, ids: list[int]) -> dict[int, tuple[str, bool, str]]:
    """{id: (owner, shared, created_at)} of the accounts that exist among `ids`: who may see their events."""
    out: dict[int, tuple[str, bool, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = await conn.execute_fetchall(
            f"SELECT id, owner, shared, created_at FROM accounts WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
        out.update({r[0]: (r[1], bool(r[2]), r[3]) for r in rows})
    return out


async def tally(conn: aiosqlite.Connection, viewer: str | None, failing_limit: int = 10) -> dict[str, Any]:
    """What `system.status` shows of the accounts `viewer` may see (None: an admin, all):
    counts by kind and status, the mailboxes' last round, and the failing accounts, newest change first."""
    where, args = _where(Search(viewer=viewer))
    counts = await conn.execute_fetchall(f"SELECT kind, status, count(*) FROM accounts{where} GROUP BY kind, status",
                                         args)
    also = " AND " if where else " WHERE "
    last = await conn.execute_fetchall(
        f"SELECT count(*), max(m.last_poll_at), sum(coalesce(m.failures, 0) > 0) "
        f"FROM (SELECT id FROM accounts{where}{also}incoming_protocol IS NOT NULL) a "
        f"LEFT JOIN mailbox_state m ON m.account_id = a.id", args)
    failing = await conn.execute_fetchall(
        f"SELECT id, name, email, status, status_detail, smtp_state, incoming_state, updated_at FROM accounts{where}"
        f"{also}(smtp_state = 'failing' OR incoming_state = 'failing') ORDER BY updated_at DESC, id LIMIT ?",
        (*args, failing_limit))
    failing_total = await conn.execute_fetchall(
        f"SELECT count(*) FROM accounts{where}{also}(smtp_state = 'failing' OR incoming_state = 'failing')", args)
    return {
        "counts": [(r[0], r[1], r[2]) for r in counts],
        "mailboxes": last[0][0], "last_poll_at": last[0][1], "mailboxes_failing": last[0][2] or 0,
        "failing": [dict(r) for r in failing], "failing_total": failing_total[0][0],
    }


async def mailbox_ids(conn: aiosqlite.Connection, viewer: str) -> set[int]:
    """The accounts with an incoming mailbox that `viewer` may see."""
    where, args = _where(Search(viewer=viewer))
    rows = await conn.execute_fetchall(f"SELECT id FROM accounts{where} AND incoming_protocol IS NOT NULL", args)
    return {r[0] for r in rows}
