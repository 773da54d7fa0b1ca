"""SQL for the event log that subscribers catch up from, and its pruning."""

from __future__ import annotations

import sqlite3

import aiosqlite

from .visibility import visible


async def since(conn: aiosqlite.Connection, seq: int, type_prefix: str, limit: int, viewer: str | None,
                account_id: int | None = None, newest: bool = False) -> list[sqlite3.Row]:
    """Events after `seq` (with `newest`: the last `limit` of them), oldest first; with `account_id`, only
    that account's. With a viewer (not an admin): only those about accounts they can see, or no account."""
    where = ["e.seq > ?"]
    args: list = [seq]
    if account_id is not None:
        where.append("e.account_id = ?")
        args.append(account_id)
    if type_prefix:
        where.append("e.type LIKE ? ESCAPE '\\'")
        args.append(type_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if viewer is not None:
        # A deleted account's events stay visible to whoever could see it (owner/shared are in the event).
        # Account ids can be reused once deleted: an account never owns events older than itself.
        live, live_args = visible(viewer, "a.")
        where.append(
            f"(e.account_id IS NULL OR {live} OR "
            "(a.id IS NULL AND (json_extract(e.data, '$.owner') = ? OR json_extract(e.data, '$.shared'))))"
        )
        args += [*live_args, viewer]
    rows = list(await conn.execute_fetchall(
        "SELECT e.seq, e.time, e.type, e.account_id, e.data FROM events e "
        f"LEFT JOIN accounts a ON a.id = e.account_id AND a.created_at <= e.time WHERE {' AND '.join(where)} "
        f"ORDER BY e.seq {'DESC' if newest else 'ASC'} LIMIT ?",
        (*args, limit),
    ))
    return rows[::-1] if newest else rows


async def last_seq(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("SELECT coalesce(max(seq), 0) FROM events")
    return rows[0][0]


async def oldest(conn: aiosqlite.Connection, limit: int) -> list[tuple[int, str]]:
    """The oldest events' (seq, time): what pruning looks at, from the start of the primary key."""
    return [(r[0], r[1]) for r in await conn.execute_fetchall("SELECT seq, time FROM events ORDER BY seq LIMIT ?",
                                                               (limit,))]


async def delete_through(conn: aiosqlite.Connection, seq: int) -> int:
    """Delete every event up to `seq`; how many went."""
    cursor = await conn.execute("DELETE FROM events WHERE seq <= ?", (seq,))
    return cursor.rowcount


def may_see(caller, event, accounts: dict[int, tuple[str, bool, str]]) -> bool:
    """since()'s visibility rule for one live event, as it is delivered: `accounts` holds the committed
    (owner, shared, created_at) of the accounts the events name. Probe steps, never stored, go to
    whoever ran the test. Keep the two forms of the rule together, here."""
    if caller.admin:
        return True
    data = event.data
    if event.type == "probe.step":
        return data.get("by") == caller.user
    account_id = data.get("account_id")
    if account_id is None:
        return True
    current = accounts.get(account_id)
    if current is not None and current[2] <= event.time:
        owner, shared = current[0], current[1]
    else:  # deleted (or its id reused since): what the event itself recorded
        owner, shared = data.get("owner"), data.get("shared")
    return owner == caller.user or bool(shared)
