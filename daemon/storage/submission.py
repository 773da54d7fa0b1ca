"""SQL for SMTP submission logins: who made them, their scrypt hash, revoked or not."""

from __future__ import annotations

import sqlite3

import aiosqlite


async def add(conn: aiosqlite.Connection, user: str, name: str, login: str, salt: bytes, secret_hash: bytes,
              now: str) -> int | None:
    """A new login; None if the login exists (one name per user)."""
    try:
        cur = await conn.execute("INSERT INTO submission_logins (user, name, login, salt, secret_hash, created_at) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (user, name, login, salt, secret_hash, now))
    except sqlite3.IntegrityError:
        return None
    return cur.lastrowid


async def active(conn: aiosqlite.Connection) -> list[sqlite3.Row]:
    return await conn.execute_fetchall("SELECT id, user, login, salt, secret_hash FROM submission_logins "
                                       "WHERE revoked_at IS NULL")


async def list_(conn: aiosqlite.Connection, user: str | None) -> list[sqlite3.Row]:
    """The logins `user` made (None: an admin, all), newest first; never their hashes."""
    where, args = ("", ()) if user is None else (" WHERE user = ?", (user,))
    return await conn.execute_fetchall(
        f"SELECT id, user, name, login, created_at, last_used_at, revoked_at FROM submission_logins{where} "
        "ORDER BY id DESC", args)


async def get(conn: aiosqlite.Connection, login_id: int) -> sqlite3.Row | None:
    return await (await conn.execute("SELECT id, user, login, revoked_at FROM submission_logins WHERE id = ?",
                                     (login_id,))).fetchone()


async def revoke(conn: aiosqlite.Connection, login_id: int, now: str) -> None:
    await conn.execute("UPDATE submission_logins SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                       (now, login_id))


async def used(conn: aiosqlite.Connection, login_id: int, now: str) -> None:
    await conn.execute("UPDATE submission_logins SET last_used_at = ? WHERE id = ?", (now, login_id))
