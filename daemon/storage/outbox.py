"""SQL for what is sent through the accounts: jobs (what one request handed over) and the queue (one row
per recipient, with its state). Rows in, rows out; the states are described in migrations.m011."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite

from . import page
from .visibility import of_accounts

DUE = ("queued", "deferred")
ROW = "id, job_id, account_id, recipient, state, message_id, attempts, next_at, reply, sent_at, updated_at"


async def create_job(conn: aiosqlite.Connection, account_id: int, by: str, source: str, body: bytes,
                     recipients: int, now: str) -> int:
    cur = await conn.execute("INSERT INTO send_jobs (account_id, by, source, body, recipients, created_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (account_id, by, source, body, recipients, now))
    return cur.lastrowid


async def add(conn: aiosqlite.Connection, rows: list[tuple[int, int, str, str, str, str, str, str]]) -> None:
    """(job_id, account_id, recipient, state, message_id, next_at, reply, updated_at) each."""
    await conn.executemany(
        "INSERT INTO send_queue (job_id, account_id, recipient, state, message_id, next_at, reply, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


async def due_accounts(conn: aiosqlite.Connection, now: str) -> list[int]:
    """The accounts with something to send now."""
    rows = await conn.execute_fetchall(
        f"SELECT DISTINCT account_id FROM send_queue WHERE state IN {DUE} AND next_at <= ?", (now,))
    return [r[0] for r in rows]


async def next_due_at(conn: aiosqlite.Connection) -> str | None:
    """When the soonest queued or deferred message is due (None: nothing waits)."""
    rows = await conn.execute_fetchall(f"SELECT min(next_at) FROM send_queue WHERE state IN {DUE}")
    return rows[0][0]


async def due(conn: aiosqlite.Connection, account_id: int, now: str, limit: int) -> list[sqlite3.Row]:
    """The account's messages due now, oldest first."""
    return await conn.execute_fetchall(
        f"SELECT {ROW} FROM send_queue WHERE account_id = ? AND state IN {DUE} AND next_at <= ? "
        "ORDER BY next_at, id LIMIT ?", (account_id, now, limit))


async def body(conn: aiosqlite.Connection, job_id: int) -> bytes | None:
    row = await (await conn.execute("SELECT body FROM send_jobs WHERE id = ?", (job_id,))).fetchone()
    return row[0] if row else None


async def set_state(conn: aiosqlite.Connection, queue_id: int, state: str, now: str, *, reply: str = "",
                    next_at: str | None = None, tried: bool = False, sent: bool = False) -> None:
    await conn.execute(
        "UPDATE send_queue SET state = ?, reply = ?, updated_at = ?, next_at = coalesce(?, next_at), "
        "attempts = attempts + ?, sent_at = CASE WHEN ? THEN ? ELSE sent_at END WHERE id = ?",
        (state, reply[:1000], now, next_at, int(tried), int(sent), now, queue_id))


async def advance(conn: aiosqlite.Connection, sent: list[tuple[int, str]], sending: int | None, now: str) -> None:
    """In one statement: the messages the server took become `sent` with its reply, and the next one
    (`sending`, if any) becomes `sending`, its try counted."""
    rows = [(queue_id, "sent", reply[:1000], 0, 1) for queue_id, reply in sent]
    if sending is not None:
        rows.append((sending, "sending", "", 1, 0))
    if not rows:
        return
    await conn.execute(
        f"WITH v(id, state, reply, tried, sent) AS (VALUES {', '.join(['(?, ?, ?, ?, ?)'] * len(rows))}) "
        "UPDATE send_queue SET state = v.state, reply = v.reply, updated_at = ?, attempts = attempts + v.tried, "
        "sent_at = CASE WHEN v.sent THEN ? ELSE send_queue.sent_at END FROM v WHERE send_queue.id = v.id",
        (*[value for row in rows for value in row], now, now))


async def in_flight_to_uncertain(conn: aiosqlite.Connection, now: str) -> list[sqlite3.Row]:
    """At start: what was `sending` when the daemon stopped, now `uncertain` (the server may have taken
    it). Returns those rows."""
    rows = await conn.execute_fetchall(f"SELECT {ROW} FROM send_queue WHERE state = 'sending'")
    await conn.execute("UPDATE send_queue SET state = 'uncertain', updated_at = ?, reply = "
                       "'the daemon stopped while this was being sent: the server may have it' "
                       "WHERE state = 'sending'", (now,))
    return rows


async def requeue(conn: aiosqlite.Connection, ids: list[int], now: str) -> int:
    """Send uncertain or failed ones again (a person's decision)."""
    marks = ", ".join("?" * len(ids))
    cur = await conn.execute(
        f"UPDATE send_queue SET state = 'queued', next_at = ?, updated_at = ? WHERE id IN ({marks}) "
        "AND state IN ('uncertain', 'failed', 'deferred')", (now, now, *ids))
    return cur.rowcount


async def get(conn: aiosqlite.Connection, queue_id: int) -> sqlite3.Row | None:
    return await (await conn.execute(f"SELECT {ROW} FROM send_queue WHERE id = ?", (queue_id,))).fetchone()


async def job(conn: aiosqlite.Connection, job_id: int) -> tuple[sqlite3.Row | None, dict[str, int]]:
    """The job and how many of its recipients are in each state."""
    row = await (await conn.execute("SELECT id, account_id, by, source, recipients, created_at, done_at FROM send_jobs "
                                    "WHERE id = ?", (job_id,))).fetchone()
    counts = await conn.execute_fetchall("SELECT state, count(*) FROM send_queue WHERE job_id = ? GROUP BY state",
                                         (job_id,))
    return row, {r[0]: r[1] for r in counts}


async def list_(conn: aiosqlite.Connection, *, account_id: int | None, job_id: int | None, state: str | None,
                viewer: str | None, offset: int, limit: int) -> tuple[int, list[sqlite3.Row]]:
    """A page of the queue, newest change first, of the accounts `viewer` may see."""
    clauses, args = of_accounts(account_id, viewer)
    if job_id is not None:
        clauses.append("job_id = ?")
        args.append(job_id)
    if state is not None:
        clauses.append("state = ?")
        args.append(state)
    return await page(conn, "send_queue", ROW, clauses, args, "updated_at DESC, id DESC", limit, offset)


async def tally(conn: aiosqlite.Connection, account_id: int, today: str) -> dict[str, Any]:
    """One account's queue by state, and what it sent since `today` (its day's quota so far)."""
    rows = await conn.execute_fetchall("SELECT state, count(*) FROM send_queue WHERE account_id = ? GROUP BY state",
                                       (account_id,))
    sent = await conn.execute_fetchall("SELECT count(*) FROM send_queue WHERE account_id = ? AND sent_at >= ?",
                                       (account_id, today))
    return {"states": {r[0]: r[1] for r in rows}, "sent_today": sent[0][0]}



async def finish_jobs(conn: aiosqlite.Connection, job_ids: list[int], now: str) -> list[tuple[sqlite3.Row, dict]]:
    """Of these jobs, the ones with nothing left to send (no recipient queued, deferred or sending) that
    were not finished yet: now finished, each with its counts by state."""
    done = []
    for job_id in job_ids:
        row, counts = await job(conn, job_id)
        if row is None or any(counts.get(s) for s in ("queued", "deferred", "sending")):
            continue
        cur = await conn.execute("UPDATE send_jobs SET done_at = ? WHERE id = ? AND done_at IS NULL", (now, job_id))
        if cur.rowcount:
            done.append((row, counts))
    return done


async def sent_times(conn: aiosqlite.Connection, account_id: int, since: str) -> tuple[list[str], str | None]:
    """(when each message the account sent since `since` went, oldest first; when it first sent anything):
    what its limits count from after a restart."""
    rows = await conn.execute_fetchall("SELECT sent_at FROM send_queue WHERE account_id = ? AND sent_at >= ? "
                                       "ORDER BY sent_at", (account_id, since))
    first = await conn.execute_fetchall("SELECT min(sent_at) FROM send_queue WHERE account_id = ? AND "
                                        "sent_at IS NOT NULL", (account_id,))
    return [r[0] for r in rows], first[0][0]


async def unsend(conn: aiosqlite.Connection, queue_id: int, now: str) -> None:
    """A message marked `sending` ahead of its turn that was not begun: waiting again, the try uncounted."""
    await conn.execute("UPDATE send_queue SET state = CASE WHEN attempts > 1 THEN 'deferred' ELSE 'queued' END, "
                       "attempts = attempts - 1, updated_at = ? WHERE id = ? AND state = 'sending'", (now, queue_id))


async def by_message_ids(conn: aiosqlite.Connection, account_id: int, message_ids: list[str]) -> dict[str, sqlite3.Row]:
    """The account's sent messages among these Message-IDs (with <>), by Message-ID."""
    if not message_ids:
        return {}
    marks = ", ".join("?" * len(message_ids))
    rows = await conn.execute_fetchall(f"SELECT id, recipient, message_id FROM send_queue WHERE account_id = ? "
                                       f"AND message_id IN ({marks})", (account_id, *message_ids))
    return {r["message_id"]: r for r in rows}


async def recipients(conn: aiosqlite.Connection, account_id: int, queue_ids: list[int]) -> dict[int, str]:
    """{queue id: recipient} of those of the account's queued messages among `queue_ids`."""
    rows = await conn.execute_fetchall(f"SELECT id, recipient FROM send_queue WHERE account_id = ? AND id IN "
                                       f"({', '.join('?' * len(queue_ids))})", (account_id, *queue_ids))
    return {row[0]: row[1] for row in rows}


async def mailed(conn: aiosqlite.Connection, account_id: int, recipients: list[str]) -> tuple[bool, set[str]]:
    """(whether the account ever sent through mailfleet, which of these addresses it sent to)."""
    ever = await conn.execute_fetchall("SELECT 1 FROM send_queue WHERE account_id = ? AND state = 'sent' LIMIT 1",
                                       (account_id,))
    if not ever or not recipients:
        return bool(ever), set()
    marks = ", ".join("?" * len(recipients))
    rows = await conn.execute_fetchall(f"SELECT DISTINCT recipient FROM send_queue WHERE account_id = ? AND "
                                       f"recipient IN ({marks})", (account_id, *recipients))
    return True, {r[0] for r in rows}
