"""Keeping the event log within bounds: [events] keep_days and keep_count.

Every round, test and import adds events, and nothing else ever removes them
(a round of 10,000 bounces stores about 12,500). The pruner deletes from the
old end, at start and then every hour: events older than keep_days, and
those beyond the newest keep_count. It deletes in batches of a few thousand,
each its own short transaction, so the single writer is never held for long
and a request's write waits at most one batch. Each pass ends by refreshing
the query planner's statistics (Database.analyze).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .config import EventsSection
from .storage import DiskFull
from .storage import events as event_store
from .storage.db import Database

log = logging.getLogger(__name__)

BATCH = 5000
INTERVAL = 3600.0  # seconds between passes


class EventPruner:
    def __init__(self, db: Database, rules: Callable[[], EventsSection]) -> None:
        self.db = db
        self.rules = rules  # read at each pass: a reload's new limits apply from the next one
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="event pruner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.prune()
            except DiskFull as exc:  # a DELETE needs room in the journal too: next time
                log.warning("pruning events: %s", exc)
            except Exception:
                log.exception("pruning events failed; trying again in an hour")
            try:
                # The same hourly pass refreshes the query planner's statistics: a prune changes the
                # events table most, and accounts added since change which plan the list should take.
                await self.db.analyze()
            except Exception:
                log.exception("refreshing the planner's statistics failed; trying again in an hour")
            await asyncio.sleep(INTERVAL)

    async def prune(self) -> int:
        """One pass: delete what the rules say is too old or too many; how many events went."""
        rules = self.rules()
        cutoff = (datetime.now(UTC) - timedelta(days=rules.keep_days)).isoformat(timespec="milliseconds")
        cutoff = cutoff.replace("+00:00", "Z")  # as utcnow() writes event times
        beyond = await event_store.last_seq(self.db.read) - rules.keep_count  # seqs up to this are too many
        total = 0
        while True:
            rows = await event_store.oldest(self.db.read, BATCH)
            through = None
            for seq, time in rows:  # seqs follow time: stop at the first event to keep
                if seq > beyond and time >= cutoff:
                    break
                through = seq
            if through is None:
                break
            async with self.db.transaction() as tx:
                total += await event_store.delete_through(tx.conn, through)
            if through != rows[-1][0] or len(rows) < BATCH:
                break
        if total:
            log.info("pruned %d events (older than %d days, or beyond the newest %d)", total, rules.keep_days,
                     rules.keep_count)
        return total
