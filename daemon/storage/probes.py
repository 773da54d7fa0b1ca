"""SQL for stored connection test results."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

KEEP = 20  # results kept per account


async def add_many(conn: aiosqlite.Connection, results: list[tuple[int, str, bool, str]]) -> None:
    """(account_id, at, ok, result JSON) each; then each account keeps its latest KEEP."""
    await conn.executemany("INSERT INTO probe_results (account_id, at, ok, result) VALUES (?, ?, ?, ?)",
                           [(a, at, int(ok), result) for a, at, ok, result in results])
    await conn.executemany(
        "DELETE FROM probe_results WHERE account_id = ? AND id NOT IN "
        "(SELECT id FROM probe_results WHERE account_id = ? ORDER BY id DESC LIMIT ?)",
        [(a, a, KEEP) for a in dict.fromkeys(a for a, *_ in results)],
    )


async def latest(conn: aiosqlite.Connection, account_id: int) -> dict[str, Any] | None:
    row = await (await conn.execute(
        "SELECT at, result FROM probe_results WHERE account_id = ? ORDER BY id DESC LIMIT 1", (account_id,)
    )).fetchone()
    return {"at": row["at"], **json.loads(row["result"])} if row else None
