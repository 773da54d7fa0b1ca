"""SQL for the event log that PUB subscribers can catch up from."""

from __future__ import annotations

import sqlite3

import aiosqlite


async def since(conn: aiosqlite.Connection, seq: int, type_prefix: str, limit: int, viewer: str | None) -> list[sqlite3.Row]:
    """Events after `seq`. With a viewer (not an admin): only those about accounts they can see, or no account."""
    where = ["e.seq > ?"]
    args: list = [seq]
    if type_prefix:
        where.append("e.type LIKE ? ESCAPE '\\'")
        args.append(type_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if viewer is not None:
        # A deleted account's events stay visible to whoever could see it (owner/shared are in the event).
        where.append(
            "(e.account_id IS NULL OR a.owner = ? OR a.shared = 1 OR "
            "(a.id IS NULL AND (json_extract(e.data, '$.owner') = ? OR json_extract(e.data, '$.shared'))))"
        )
        args += [viewer, viewer]
    return list(await conn.execute_fetchall(
        "SELECT e.seq, e.time, e.type, e.account_id, e.data FROM events e "
        f"LEFT JOIN accounts a ON a.id = e.account_id WHERE {' AND '.join(where)} ORDER BY e.seq LIMIT ?",
        (*args, limit),
    ))
