"""SQL for OAuth 2.0 grants (the refresh token consent gave, encrypted by the caller) and the account's
auth_state. Rows in, rows out."""

from __future__ import annotations

import sqlite3

import aiosqlite

from .visibility import visible


async def grant(conn: aiosqlite.Connection, account_id: int) -> sqlite3.Row | None:
    return await (await conn.execute("SELECT * FROM oauth_grants WHERE account_id = ?", (account_id,))).fetchone()


async def put_grant(conn: aiosqlite.Connection, account_id: int, refresh_token: bytes | None, binding: str,
                    granted_by: str, at: str, expires_at: str | None) -> None:
    """A new grant (consent given again replaces the old one whole)."""
    await conn.execute(
        "INSERT INTO oauth_grants (account_id, refresh_token, binding, granted_by, granted_at, refreshed_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET refresh_token = excluded.refresh_token, "
        "binding = excluded.binding, granted_by = excluded.granted_by, granted_at = excluded.granted_at, "
        "refreshed_at = excluded.refreshed_at, expires_at = excluded.expires_at",
        (account_id, refresh_token, binding, granted_by, at, at, expires_at))


async def rotate(conn: aiosqlite.Connection, account_id: int, old: bytes | None, new: bytes | None, at: str,
                 expires_at: str | None) -> bool:
    """Record a refresh: the rotated refresh token (None: the provider kept the old one) and when. Only if
    the grant still holds `old` (a grant replaced meanwhile is not overwritten); returns whether it did."""
    cur = await conn.execute(
        "UPDATE oauth_grants SET refresh_token = coalesce(?, refresh_token), refreshed_at = ?, expires_at = ? "
        "WHERE account_id = ? AND refresh_token IS ?", (new, at, expires_at, account_id, old))
    return cur.rowcount > 0


async def drop_grant(conn: aiosqlite.Connection, account_id: int) -> bool:
    cur = await conn.execute("DELETE FROM oauth_grants WHERE account_id = ?", (account_id,))
    return cur.rowcount > 0


async def needing_sign_in(conn: aiosqlite.Connection, viewer: str | None, before: str,
                          limit: int = 10) -> tuple[int, list[dict]]:
    """(total, the first `limit`) of the accounts `viewer` may see that need a person to sign in: never
    signed in, refused by the provider, or with a refresh token that ends before `before`."""
    condition, args = visible(viewer, "a.")
    where = (f"FROM accounts a LEFT JOIN oauth_grants g ON g.account_id = a.id WHERE {condition} AND "
             f"(a.auth_state IN ('signin_required', 'reauth_required') OR (g.expires_at IS NOT NULL AND "
             f"g.expires_at < ?))")
    total = (await conn.execute_fetchall(f"SELECT count(*) {where}", (*args, before)))[0][0]
    rows = await conn.execute_fetchall(
        f"SELECT a.id, a.name, a.email, a.auth_state, a.status_detail, g.expires_at {where} "
        f"ORDER BY g.expires_at IS NULL, g.expires_at, a.id LIMIT ?", (*args, before, limit))
    return total, [dict(r) for r in rows]
