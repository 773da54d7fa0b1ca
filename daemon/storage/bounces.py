"""SQL for bounces: one row per failed recipient of a message, kept with its evidence."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

SUMMARY = "id, account_id, message_id, recipient, contact_id, hard, kind, status, reason, diagnostic, received_at"


async def insert(conn: aiosqlite.Connection, row: dict[str, Any]) -> int | None:
    """The new bounce's id, or None when this message already counted for this recipient."""
    cols = ", ".join(row)
    cur = await conn.execute(
        f"INSERT OR IGNORE INTO bounces ({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
    )
    return cur.lastrowid if cur.rowcount else None


async def list_(
    conn: aiosqlite.Connection, *, contact_id: int | None, account_ids: list[int] | None, hard: bool | None,
    offset: int, limit: int,
) -> tuple[int, list[sqlite3.Row]]:
    clauses, args = [], []
    if contact_id is not None:
        clauses.append("contact_id = ?")
        args.append(contact_id)
    if account_ids is not None:
        clauses.append(f"account_id IN ({','.join('?' * len(account_ids))})" if account_ids else "0")
        args += account_ids
    if hard is not None:
        clauses.append("hard = ?")
        args.append(int(hard))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    total = (await conn.execute_fetchall(f"SELECT count(*) FROM bounces{where}", args))[0][0]
    rows = await conn.execute_fetchall(
        f"SELECT {SUMMARY} FROM bounces{where} ORDER BY id DESC LIMIT ? OFFSET ?", (*args, limit, offset)
    )
    return total, list(rows)


async def get(conn: aiosqlite.Connection, bounce_id: int) -> sqlite3.Row | None:
    return await (await conn.execute(
        f"SELECT {SUMMARY}, raw, raw_truncated, message_key FROM bounces WHERE id = ?", (bounce_id,)
    )).fetchone()
