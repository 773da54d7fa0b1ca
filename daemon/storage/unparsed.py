"""SQL for the messages the classifier could not read: kept for a person, and read again by a newer classifier."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

from . import page
from .visibility import of_accounts

SUMMARY = "id, account_id, message_key, subject, note, classifier, received_at"


async def insert_many(conn: aiosqlite.Connection, rows: list[dict[str, Any]]) -> None:
    """rows: account_id, message_key, subject, note, raw, classifier, received_at (a message kept once)."""
    if rows:
        cols = list(rows[0])
        await conn.executemany(
            f"INSERT OR IGNORE INTO unparsed ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [tuple(r[c] for c in cols) for r in rows])


async def stale(conn: aiosqlite.Connection, account_id: int, classifier: str, limit: int) -> list[sqlite3.Row]:
    """The account's kept messages that a classifier other than this one gave up on."""
    return await conn.execute_fetchall(
        "SELECT id, message_key, raw FROM unparsed WHERE account_id = ? AND classifier != ? ORDER BY id LIMIT ?",
        (account_id, classifier, limit))


async def still_unread(conn: aiosqlite.Connection, rows: list[tuple[str, str, int]]) -> None:
    """rows: (classifier, note, id): this classifier could not read them either."""
    await conn.executemany("UPDATE unparsed SET classifier = ?, note = ? WHERE id = ?", rows)


async def delete(conn: aiosqlite.Connection, ids: list[int]) -> None:
    await conn.executemany("DELETE FROM unparsed WHERE id = ?", [(i,) for i in ids])


async def list_(conn: aiosqlite.Connection, *, account_id: int | None, viewer: str | None, offset: int,
                limit: int) -> tuple[int, list[sqlite3.Row]]:
    """A page of kept messages, newest first, of the accounts `viewer` may see (None: an admin, all)."""
    clauses, args = of_accounts(account_id, viewer)
    return await page(conn, "unparsed", SUMMARY, clauses, args, "id DESC", limit, offset)


async def get(conn: aiosqlite.Connection, unparsed_id: int) -> sqlite3.Row | None:
    return await (await conn.execute(f"SELECT {SUMMARY}, raw FROM unparsed WHERE id = ?", (unparsed_id,))).fetchone()
