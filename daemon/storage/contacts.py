"""SQL for contacts: bulk import, search, marking."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite

from . import page

COLUMNS = ("id, email, details, status, status_reason, hard_bounces, soft_bounces, last_bounce_at, complaints, "
           "created_at, updated_at")
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
            "AND hard = 0 AND about = 'recipient' AND received_at >= ? GROUP BY contact_id",
            (*part, since),
        )
        out.update((r[0], r[1]) for r in rows)
    return out


# Every change of a contact's status goes through mark() or unmark(), and each leaves a row in
# contact_marks: who or which rule changed it, from what, and why.
MARK_COLUMNS = "id, contact_id, status, previous, reason, rule, bounce_id, by, at, undone_at"


async def mark(conn: aiosqlite.Connection, status: str, rows: list[tuple[int, str, str, int | None]], by: str,
               now: str, only_from: tuple[str, ...] = ("active",)) -> list[int]:
    """rows: (contact id, reason, rule, bounce id). The contacts whose status is one of `only_from` become
    `status`; returns their ids (the others are left as they are, and no mark is written for them)."""
    wanted = {row[0]: row for row in rows}
    current: dict[int, str] = {}
    ids = list(wanted)
    for i in range(0, len(ids), _CHUNK):
        part = ids[i: i + _CHUNK]
        current.update(await conn.execute_fetchall(
            f"SELECT id, status FROM contacts WHERE id IN ({','.join('?' * len(part))})", part))
    changing = [c for c in ids if current.get(c) in only_from and current[c] != status]
    await conn.executemany("UPDATE contacts SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
                           [(status, wanted[c][1], now, c) for c in changing])
    await conn.executemany(
        "INSERT INTO contact_marks (contact_id, status, previous, reason, rule, bounce_id, by, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(c, status, current[c], wanted[c][1], wanted[c][2], wanted[c][3], by, now) for c in changing])
    return changing


async def count_complaints(conn: aiosqlite.Connection, contact_ids: list[int], now: str) -> None:
    await conn.executemany("UPDATE contacts SET complaints = complaints + 1, updated_at = ? WHERE id = ?",
                           [(now, c) for c in contact_ids])


async def unmark(conn: aiosqlite.Connection, rule: str, since: str, by: str, now: str) -> list[sqlite3.Row]:
    """Undo what `rule` did since `since`: each contact whose latest mark that rule made (the rule of the
    bounce's reason, or the one that decided whom the bounce is about), and which still has the status it
    set, gets its previous status back. The marks stay (undone_at set) and the undoing is a mark of its own.
    Returns (email, status restored, status undone) of each."""
    undo = await conn.execute_fetchall(
        "SELECT m.id, m.contact_id, m.status, m.previous, c.email FROM contact_marks m "
        "JOIN contacts c ON c.id = m.contact_id LEFT JOIN bounces b ON b.id = m.bounce_id "
        "WHERE (m.rule = ? OR b.verdict_rule = ?) AND m.at >= ? AND m.undone_at IS NULL AND c.status = m.status "
        "AND m.id = (SELECT max(id) FROM contact_marks WHERE contact_id = m.contact_id) ORDER BY c.email_key",
        (rule, rule, since))
    reason = f"restored: rule {rule} undone by {by}"
    await conn.executemany("UPDATE contacts SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
                           [(r["previous"], reason, now, r["contact_id"]) for r in undo])
    await conn.executemany("UPDATE contact_marks SET undone_at = ? WHERE id = ?", [(now, r["id"]) for r in undo])
    await conn.executemany(
        "INSERT INTO contact_marks (contact_id, status, previous, reason, rule, by, at) VALUES (?, ?, ?, ?, '', ?, ?)",
        [(r["contact_id"], r["previous"], r["status"], reason, by, now) for r in undo])
    return undo


async def marks(conn: aiosqlite.Connection, contact_id: int, limit: int = 100) -> list[sqlite3.Row]:
    """A contact's status history, newest first."""
    return await conn.execute_fetchall(
        f"SELECT {MARK_COLUMNS} FROM contact_marks WHERE contact_id = ? ORDER BY id DESC LIMIT ?", (contact_id, limit))
