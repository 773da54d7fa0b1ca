"""The database: one writer connection behind a lock, one reader, WAL between them.

Every write goes through `Database.transaction()`, so two coroutines never
interleave statements inside one transaction; reads use their own
connection and, thanks to WAL, see the last committed state without waiting
for a writer. Events written inside a transaction are handed to each of
`commit_listeners` only after COMMIT returns, so no subscriber (the event
hub, the poll schedule) ever hears of a change that was rolled back.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from . import DatabaseError, DiskFull, migrations

BUSY_TIMEOUT_MS = 5000


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def days_ago(days: float) -> str:
    """The time `days` ago (negative: ahead), as utcnow() writes times (so the two compare as text)."""
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Event:
    seq: int
    time: str
    type: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "type": self.type, **self.data}


@dataclass
class Tx:
    """An open write transaction: the connection, and the events to announce after COMMIT."""

    conn: aiosqlite.Connection
    events: list[Event] = field(default_factory=list)

    async def event(self, type: str, data: dict[str, Any]) -> Event:
        return (await self.events_many([(type, data)]))[0]

    async def events_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[Event]:
        """Store events in one statement. Their seqs follow the largest so far: this transaction
        holds the write lock, and AUTOINCREMENT numbers an executemany's rows in order."""
        if not items:
            return []
        time = utcnow()
        row = await (await self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'")).fetchone()
        base = row[0] if row else 0
        await self.conn.executemany(
            "INSERT INTO events (time, type, account_id, data) VALUES (?, ?, ?, ?)",
            [(time, type, data.get("account_id"), json.dumps(data)) for type, data in items],
        )
        made = [Event(base + i, time, type, data) for i, (type, data) in enumerate(items, start=1)]
        self.events.extend(made)
        return made


async def _connect(path: Path, *, readonly: bool) -> aiosqlite.Connection:
    target = f"file:{path}?mode=ro" if readonly else str(path)
    conn = await aiosqlite.connect(target, uri=readonly, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _is_full(exc: BaseException) -> bool:
    # SQLITE_FULL (13): the disk or a quota is full; an OSError ENOSPC where SQLite writes the WAL itself.
    return (isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == 13) or (
        isinstance(exc, OSError) and exc.errno == 28)


async def _analyze(conn: aiosqlite.Connection) -> None:
    """The planner's statistics, from a sample of each index (analysis_limit): milliseconds at any size.
    Without them SQLite guesses, and at 100,000 accounts a guess made a non-admin's count 7x slower."""
    await conn.execute("PRAGMA analysis_limit = 1000")
    await conn.execute("ANALYZE")


class Database:
    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self.read = reader
        self._lock = asyncio.Lock()
        self.commit_listeners: list[Callable[[list[Event]], None]] = []
        self.full_since: str | None = None  # when a write last found the disk full, until one succeeds

    @classmethod
    async def open(cls, path: Path) -> "Database":
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create the file ourselves so it is 0600 from its first byte; SQLite
        # gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        writer = await _connect(path, readonly=False)
        try:
            await cls._check_integrity(writer, path)
            mode = await (await writer.execute("PRAGMA journal_mode = WAL")).fetchone()
            if mode[0].lower() != "wal":
                raise DatabaseError(f"{path}: cannot switch to WAL journal mode (got {mode[0]})")
            # FULL: a commit that was answered survives a power cut, not only a crash.
            await writer.execute("PRAGMA synchronous = FULL")
            await migrations.apply(writer, path)
            await _analyze(writer)
            reader = await _connect(path, readonly=True)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    @staticmethod
    async def _check_integrity(conn: aiosqlite.Connection, path: Path) -> None:
        try:
            row = await (await conn.execute("PRAGMA quick_check")).fetchone()
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"{path}: not a usable SQLite database ({exc}); restore a backup") from None
        if row[0] != "ok":
            raise DatabaseError(f"{path}: database is corrupt ({row[0]}); restore a backup")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            tx = Tx(self._writer)
            try:
                yield tx
                await asyncio.shield(self._writer.execute("COMMIT"))
            except BaseException as exc:
                # Shielded: a cancelled request must still leave no half transaction.
                if self._writer.in_transaction:
                    await asyncio.shield(self._writer.execute("ROLLBACK"))
                if _is_full(exc):
                    raise self._full() from None
                raise
        self.full_since = None
        if tx.events:
            for listener in self.commit_listeners:
                listener(tx.events)

    async def single(self, write: Callable[..., Awaitable[None]], *args: Any) -> None:
        """A write that is one statement (`write(conn, *args)` runs exactly one), in the implicit transaction
        SQLite gives a statement of its own: as atomic and as durable as any commit, in one trip to the
        database thread instead of three (BEGIN, the statement, COMMIT). It announces no events."""
        async with self._lock:
            try:
                await write(self._writer, *args)
            except BaseException as exc:
                if _is_full(exc):
                    raise self._full() from None
                raise
        self.full_since = None

    def _full(self) -> DiskFull:
        self.full_since = self.full_since or utcnow()
        return DiskFull(f"the database's disk is full ({self.path.parent}): nothing was changed; "
                        "free some space there and try again (no restart needed)")

    async def analyze(self) -> None:
        """Refresh the query planner's statistics (hourly, beside the event pruning): the list's plans
        depend on how many rows each filter keeps, and that changes as accounts are added."""
        async with self._lock:
            await _analyze(self._writer)

    async def backup_to(self, path: Path) -> None:
        """A consistent copy through SQLite's online backup API: one step, from the read
        connection, so writers go on (WAL) and the copy is the state of one moment."""
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600))
        target = sqlite3.connect(path, check_same_thread=False)
        try:
            await self.read.backup(target)
        finally:
            target.close()

    async def close(self) -> None:
        async with self._lock:
            await self.read.close()
            try:
                # Fold the WAL back so the file stands alone after a clean stop.
                await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                await self._writer.close()
