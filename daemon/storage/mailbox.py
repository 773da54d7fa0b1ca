"""SQL for reading mailboxes: checkpoints, messages already seen, deletes still owed."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import aiosqlite

_CHUNK = 500


async def state(conn: aiosqlite.Connection, account_id: int) -> sqlite3.Row | None:
    return await (await conn.execute("SELECT * FROM mailbox_state WHERE account_id = ?", (account_id,))).fetchone()


async def save_state(conn: aiosqlite.Connection, account_id: int, **fields: Any) -> None:
    if "last_counts" in fields:
        fields["last_counts"] = json.dumps(fields["last_counts"])
    cols = ", ".join(fields)
    updates = ", ".join(f"{c} = excluded.{c}" for c in fields)
    await conn.execute(
        f"INSERT INTO mailbox_state (account_id, {cols}) VALUES (?, {', '.join('?' * len(fields))}) "
        f"ON CONFLICT (account_id) DO UPDATE SET {updates}",
        (account_id, *fields.values()),
    )


async def seen(conn: aiosqlite.Connection, account_id: int, keys: list[str]) -> dict[str, str]:
    """Which of these message keys a round has recorded, each with the kind it was found to be."""
    found: dict[str, str] = {}
    for i in range(0, len(keys), _CHUNK):
        part = keys[i: i + _CHUNK]
        rows = await conn.execute_fetchall(
            "SELECT message_key, kind FROM seen_messages "
            f"WHERE account_id = ? AND message_key IN ({','.join('?' * len(part))})",
            (account_id, *part),
        )
        found.update((r[0], r[1]) for r in rows)
    return found


async def mark_seen(conn: aiosqlite.Connection, account_id: int, items: list[tuple[str, str]], at: str) -> None:
    """items: (message_key, kind)."""
    await conn.executemany(
        "INSERT OR IGNORE INTO seen_messages (account_id, message_key, kind, seen_at) VALUES (?, ?, ?, ?)",
        [(account_id, key, kind, at) for key, kind in items],
    )


async def pop3_seen(conn: aiosqlite.Connection, account_id: int) -> set[str]:
    rows = await conn.execute_fetchall("SELECT uidl FROM pop3_seen WHERE account_id = ?", (account_id,))
    return {r[0] for r in rows}


async def add_pop3_seen(conn: aiosqlite.Connection, account_id: int, uidls: list[str]) -> None:
    await conn.executemany("INSERT OR IGNORE INTO pop3_seen (account_id, uidl) VALUES (?, ?)",
                           [(account_id, u) for u in uidls])


async def forget_pop3_seen(conn: aiosqlite.Connection, account_id: int, uidls: list[str]) -> None:
    """UIDLs no longer on the server need not be remembered."""
    await conn.executemany("DELETE FROM pop3_seen WHERE account_id = ? AND uidl = ?", [(account_id, u) for u in uidls])


async def pending_deletes(conn: aiosqlite.Connection, account_id: int) -> list[str]:
    rows = await conn.execute_fetchall("SELECT ref FROM pending_deletes WHERE account_id = ?", (account_id,))
    return [r[0] for r in rows]


async def add_pending_deletes(conn: aiosqlite.Connection, account_id: int, refs: list[str]) -> None:
    await conn.executemany("INSERT OR IGNORE INTO pending_deletes (account_id, ref) VALUES (?, ?)",
                           [(account_id, r) for r in refs])


async def clear_pending_deletes(conn: aiosqlite.Connection, account_id: int, refs: list[str]) -> None:
    await conn.executemany("DELETE FROM pending_deletes WHERE account_id = ? AND ref = ?", [(account_id, r) for r in refs])


async def unreadable(conn: aiosqlite.Connection, account_id: int) -> dict[str, sqlite3.Row]:
    rows = await conn.execute_fetchall("SELECT * FROM unreadable WHERE account_id = ?", (account_id,))
    return {r["ref"]: r for r in rows}


async def note_unreadable(conn: aiosqlite.Connection, account_id: int, items: list[tuple[str, str, int, bool]],
                          at: str) -> None:
    """items: (ref, reason, tries so far, set aside)."""
    await conn.executemany(
        "INSERT INTO unreadable (account_id, ref, reason, tries, first_at, last_at, set_aside) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, ref) DO UPDATE SET reason = excluded.reason, "
        "tries = excluded.tries, last_at = excluded.last_at, set_aside = excluded.set_aside",
        [(account_id, ref, reason, tries, at, at, int(aside)) for ref, reason, tries, aside in items],
    )


async def forget_unreadable(conn: aiosqlite.Connection, account_id: int, refs: list[str]) -> None:
    """Read after all (or gone from the server): no longer anyone's concern."""
    await conn.executemany("DELETE FROM unreadable WHERE account_id = ? AND ref = ?", [(account_id, r) for r in refs])


async def set_aside(conn: aiosqlite.Connection, account_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = await conn.execute_fetchall(
        "SELECT ref, reason, tries, first_at, last_at FROM unreadable WHERE account_id = ? AND set_aside = 1 "
        "ORDER BY last_at DESC LIMIT ?", (account_id, limit))
    return [dict(r) for r in rows]



async def reseen(conn: aiosqlite.Connection, account_id: int, items: list[tuple[str, str]]) -> None:
    """items: (message key, kind): what a message recorded before is now known to be."""
    await conn.executemany("UPDATE seen_messages SET kind = ? WHERE account_id = ? AND message_key = ?",
                           [(kind, account_id, key) for key, kind in items])
