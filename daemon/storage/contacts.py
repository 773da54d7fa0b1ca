"""SQL for contacts: bulk import, search, marking."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite

from . import page

COLUMNS = "id, email, details, status, status_reason, hard_bounces, soft_bounces, last_bounce_at, created_at, updated_at"
_CHUNK = 500  # bound variables per IN (...)


def _like(query: str) -> str:
    return "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def existing(conn: aiosqlite.Connection, keys: list[str]) -> dict[str, sqlite3.Row]:
    """The contacts among these lower-cased addresses, by key."""
    found: dict[str, sqlite3.Row] = {}
    for i in range(0, len(keys), _CHUNK):
        part = keys[i: i + _CHUNK]
        rows = await conn.execute_fetchall(
            f"SELECT email_key, {COLUMNS} FROM contacts WHERE email_key IN ({','.join('?' * len(part))})", part
        )
        found.update((row["email_key"], row) for row in rows)
    return found


async def insert_many(conn: aiosqlite.Connection, rows: list[tuple[str, str, str, str]]) -> None:
    """rows: (email, email_key, details JSON, now)."""
    await conn.executemany(
        "INSERT INTO contacts (email, email_key, details, created_at, updated_at) VALUES (?, ?, ?, ?4, ?4)", rows
    )


async def merge_details_many(conn: aiosqlite.Connection, rows: list[tuple[str, str, str]]) -> None:
    """rows: (details JSON to merge in, now, email_key)."""
    await conn.executemany(
        "UPDATE contacts SET details = json_patch(details, ?), updated_at = ? WHERE email_key = ?", rows
    )


async def search(
    conn: aiosqlite.Connection, query: str, status: str | None, offset: int, limit: int
) -> tuple[int, list[sqlite3.Row]]:
    clauses, args = [], []
    if query:
        clauses.append("(email_key LIKE ? ESCAPE '\\' OR lower(details) LIKE ? ESCAPE '\\')")
        args += [_like(query)] * 2
    if status:
        clauses.append("status = ?")
        args.append(status)
    return await page(conn, "contacts", COLUMNS, clauses, args, "email_key", limit, offset)


async def get(conn: aiosqlite.Connection, key: str) -> sqlite3.Row | None:
    return await (await conn.execute(f"SELECT {COLUMNS} FROM contacts WHERE email_key = ?", (key,))).fetchone()


async def update(conn: aiosqlite.Connection, contact_id: int, changes: dict[str, Any]) -> None:
    sets = ", ".join(f"{col} = ?" for col in changes)
    await conn.execute(f"UPDATE contacts SET {sets} WHERE id = ?", (*changes.values(), contact_id))


async def merge_details(conn: aiosqlite.Connection, contact_id: int, details: dict[str, str | None]) -> None:
    """JSON merge patch of one contact's details: null removes a detail."""
    await conn.execute("UPDATE contacts SET details = json_patch(details, ?) WHERE id = ?",
                       (json.dumps(details, ensure_ascii=False), contact_id))


async def detail_names(conn: aiosqlite.Connection, sample: int = 20000, limit: int = 500) -> list[str]:
    """The detail names contacts have, from a sample of them (a million contacts are not read for a hint)."""
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT j.key FROM (SELECT details FROM contacts LIMIT ?) c, json_each(c.details) j "
        "ORDER BY j.key LIMIT ?", (sample, limit))
    return [r[0] for r in rows]


async def count_bounces(conn: aiosqlite.Connection, rows: list[tuple[int, int, str, str, int]]) -> None:
    """rows: (new hard bounces, new soft bounces, last bounce at, now, contact id)."""
    await conn.executemany(
        "UPDATE contacts SET hard_bounces = hard_bounces + ?, soft_bounces = soft_bounces + ?, "
        "last_bounce_at = ?, updated_at = ? WHERE id = ?",
        rows,
    )


async def soft_bounces_since(conn: aiosqlite.Connection, contact_ids: list[int], since: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(contact_ids), _CHUNK):
        part = contact_ids[i: i + _CHUNK]
        rows = await conn.execute_fetchall(
            f"SELECT contact_id, count(*) FROM bounces WHERE contact_id IN ({','.join('?' * len(part))}) "
            "AND hard = 0 AND received_at >= ? GROUP BY contact_id",
            (*part, since),
        )
        out.update((r[0], r[1]) for r in rows)
    return out


async def mark_faulty(conn: aiosqlite.Connection, rows: list[tuple[str, str, int]]) -> None:
    """rows: (reason, now, contact id); only contacts still active change."""
    await conn.executemany(
        "UPDATE contacts SET status = 'faulty', status_reason = ?, updated_at = ? WHERE id = ? AND status = 'active'",
        rows,
    )
