"""SQL for bounces: one row per failed recipient of a message, kept with its evidence."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

from . import page
from .visibility import of_accounts

SUMMARY = ("id, account_id, message_id, recipient, contact_id, hard, kind, status, reason, diagnostic, received_at, "
           "about, rule, verdict_rule, evidence, link, queue_id")


async def insert_many(conn: aiosqlite.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert bounces; returns the ones that are new, each with its id. A message already counted
    for a recipient is skipped (unique on account, message, recipient)."""
    if not rows:
        return []
    cols = list(rows[0])
    before = (await conn.execute_fetchall("SELECT coalesce(max(id), 0) FROM bounces"))[0][0]
    await conn.executemany(
        f"INSERT OR IGNORE INTO bounces ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [tuple(r[c] for c in cols) for r in rows],
    )
    made = await conn.execute_fetchall(
        "SELECT id, account_id, message_key, recipient FROM bounces WHERE id > ?", (before,)
    )
    ids = {(r["account_id"], r["message_key"], r["recipient"]): r["id"] for r in made}
    out = []
    for r in rows:
        bounce_id = ids.pop((r["account_id"], r["message_key"], r["recipient"]), None)
        if bounce_id is not None:
            out.append({**r, "id": bounce_id})
    return out


async def list_(
    conn: aiosqlite.Connection, *, contact_id: int | None, account_id: int | None, viewer: str | None,
    hard: bool | None, offset: int, limit: int,
) -> tuple[int, list[sqlite3.Row]]:
    """A page of bounces, newest first, of the accounts `viewer` may see (None: an admin, all)."""
    clauses, args = of_accounts(account_id, viewer)
    if contact_id is not None:
        clauses.append("contact_id = ?")
        args.append(contact_id)
    if hard is not None:
        clauses.append("hard = ?")
        args.append(int(hard))
    return await page(conn, "bounces", SUMMARY, clauses, args, "id DESC", limit, offset)


async def get(conn: aiosqlite.Connection, bounce_id: int) -> sqlite3.Row | None:
    return await (await conn.execute(
        f"SELECT {SUMMARY}, raw, raw_truncated, message_key FROM bounces WHERE id = ?", (bounce_id,)
    )).fetchone()
