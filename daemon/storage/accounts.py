"""SQL for the accounts table. Rows in, rows out: no encryption, no wire shapes. The list's search
is in account_search.py."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

from .visibility import visible


class EmailTaken(Exception):
    pass


async def count(conn: aiosqlite.Connection) -> int:
    return (await conn.execute_fetchall("SELECT count(*) FROM accounts"))[0][0]


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
    condition, args = visible(viewer)
    where, also = f" WHERE {condition}", " AND "
    counts = await conn.execute_fetchall(f"SELECT kind, status, count(*) FROM accounts{where} GROUP BY kind, status",
                                         args)
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
    unhealthy = await conn.execute_fetchall(
        f"SELECT id, name, email, health, health_reason, health_at FROM accounts{where}{also}health IS NOT NULL "
        f"ORDER BY health_at DESC, id LIMIT ?", (*args, failing_limit))
    unhealthy_total = await conn.execute_fetchall(f"SELECT count(*) FROM accounts{where}{also}health IS NOT NULL", args)
    return {
        "counts": [(r[0], r[1], r[2]) for r in counts],
        "mailboxes": last[0][0], "last_poll_at": last[0][1], "mailboxes_failing": last[0][2] or 0,
        "failing": [dict(r) for r in failing], "failing_total": failing_total[0][0],
        "unhealthy": [dict(r) for r in unhealthy], "unhealthy_total": unhealthy_total[0][0],
    }


async def poll_intervals(conn: aiosqlite.Connection) -> list[tuple[int, int]]:
    """(id, poll interval) of every account whose mailbox the schedule reads."""
    rows = await conn.execute_fetchall(
        "SELECT id, incoming_poll_interval FROM accounts WHERE kind = 'own' AND incoming_protocol IS NOT NULL")
    return [(r[0], r[1]) for r in rows]


async def mailbox_ids(conn: aiosqlite.Connection, viewer: str) -> set[int]:
    """The accounts with an incoming mailbox that `viewer` may see."""
    condition, args = visible(viewer)
    rows = await conn.execute_fetchall(f"SELECT id FROM accounts WHERE {condition} AND incoming_protocol IS NOT NULL",
                                       args)
    return {r[0] for r in rows}


async def set_health(conn: aiosqlite.Connection, account_id: int, health: str | None, reason: str,
                     at: str | None) -> tuple[str | None, str] | None:
    """Set an account's health (None: nothing known against it); returns what it was, None for no account."""
    row = await (await conn.execute("SELECT health, health_reason FROM accounts WHERE id = ?", (account_id,))).fetchone()
    if row is None:
        return None
    await conn.execute("UPDATE accounts SET health = ?, health_reason = ?, health_at = ? WHERE id = ?",
                       (health, reason, at, account_id))
    return row["health"], row["health_reason"]


async def password_sign_ins(conn: aiosqlite.Connection, viewer: str | None) -> list[sqlite3.Row]:
    """The own accounts `viewer` may see where a direction signs in with a password (what auth_report
    checks against the providers' cut-offs)."""
    condition, args = visible(viewer)
    return await conn.execute_fetchall(
        f"SELECT id, name, email, owner, smtp_host, smtp_auth, smtp_authenticate, incoming_host, incoming_protocol, "
        f"incoming_auth FROM accounts WHERE {condition} AND kind = 'own' AND "
        f"(smtp_auth = 'password' OR incoming_auth = 'password') ORDER BY name COLLATE NOCASE, id", args)


async def sending_as(conn: aiosqlite.Connection, viewer: str | None, addresses: list[str]) -> sqlite3.Row | None:
    """The account `viewer` may see whose address (or reply address) is the first of `addresses` that one
    has: how SMTP submission picks the account, by the envelope sender, else the From address."""
    condition, args = visible(viewer)
    for address in addresses:
        row = await (await conn.execute(
            f"SELECT * FROM accounts WHERE {condition} AND (lower(email) = ? OR lower(reply_to_email) = ?) "
            f"ORDER BY lower(email) = ? DESC, id LIMIT 1", (*args, address.lower(), address.lower(),
                                                           address.lower()))).fetchone()
        if row is not None:
            return row
    return None
