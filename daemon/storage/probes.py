"""SQL for stored connection test results."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

KEEP = 20  # results kept per account


async def add(conn: aiosqlite.Connection, account_id: int, at: str, ok: bool, result: str) -> None:
    await conn.execute("INSERT INTO probe_results (account_id, at, ok, result) VALUES (?, ?, ?, ?)",
                       (account_id, at, int(ok), result))
    await conn.execute(
        "DELETE FROM probe_results WHERE account_id = ? AND id NOT IN "
        "(SELECT id FROM probe_results WHERE account_id = ? ORDER BY id DESC LIMIT ?)",
        (account_id, account_id, KEEP),
    )


async def latest(conn: aiosqlite.Connection, account_id: int) -> dict[str, Any] | None:
    row = await (await conn.execute(
        "SELECT at, result FROM probe_results WHERE account_id = ? ORDER BY id DESC LIMIT 1", (account_id,)
    )).fetchone()
    return {"at": row["at"], **json.loads(row["result"])} if row else None
