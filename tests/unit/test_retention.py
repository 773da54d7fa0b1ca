"""The event log's bounds ([events] keep_days, keep_count) on a real database file, no daemon."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from mailfleet.daemon.config import EventsSection
from mailfleet.daemon.retention import EventPruner
from mailfleet.daemon.storage.db import Database


def _at(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _seed(db: Database, ages: list[float]) -> None:
    """Events in seq order, oldest first, `days_ago` each."""
    async with db.transaction() as tx:
        await tx.conn.executemany("INSERT INTO events (time, type, account_id, data) VALUES (?, 'account.status', 1, ?)",
                                  [(_at(age), json.dumps({"n": n})) for n, age in enumerate(ages)])


async def _seqs(db: Database) -> list[int]:
    return [r[0] for r in await db.read.execute_fetchall("SELECT seq FROM events ORDER BY seq")]


async def test_events_older_than_keep_days_go_and_the_rest_stay(tmp_path):
    db = await Database.open(tmp_path / "db.sqlite")
    try:
        await _seed(db, [200] * 30 + [31] * 20 + [29] * 10 + [0] * 5)
        pruner = EventPruner(db, lambda: EventsSection(keep_days=30, keep_count=1000))
        assert await pruner.prune() == 50
        assert await _seqs(db) == list(range(51, 66))
        assert await pruner.prune() == 0, "nothing more to do"
    finally:
        await db.close()


async def test_only_the_newest_keep_count_are_kept_in_batches(tmp_path, monkeypatch):
    from mailfleet.daemon import retention

    monkeypatch.setattr(retention, "BATCH", 7)  # several batches, the last one partly
    db = await Database.open(tmp_path / "db.sqlite")
    try:
        await _seed(db, [1] * 250)
        rules = EventsSection(keep_days=90, keep_count=100)
        assert await EventPruner(db, lambda: rules).prune() == 150
        assert await _seqs(db) == list(range(151, 251))
        await _seed(db, [0] * 3)  # seqs go on from where they were, never reused
        assert await EventPruner(db, lambda: rules).prune() == 3
        assert await _seqs(db) == list(range(154, 254))
    finally:
        await db.close()


async def test_a_reloaded_limit_applies_at_the_next_pass(tmp_path):
    db = await Database.open(tmp_path / "db.sqlite")
    try:
        await _seed(db, [10] * 20)
        rules = {"now": EventsSection(keep_days=30, keep_count=1000)}
        pruner = EventPruner(db, lambda: rules["now"])
        assert await pruner.prune() == 0
        rules["now"] = EventsSection(keep_days=5, keep_count=1000)
        assert await pruner.prune() == 20 and await _seqs(db) == []
    finally:
        await db.close()
