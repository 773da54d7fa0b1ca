"""Bounds on long work (tests, polls, backups, imports) that one caller cannot use up for everyone.

Short requests (a ping, a page of the list) hold one of the RPC server's
slots for a few milliseconds. Long ones wait on the network for seconds, so
they never take those slots: they are admitted by `LongWork` (a count in
flight, per caller and in total, refused at once past it) and then wait for
the network under a `FairLimiter`, which hands each freed place to the next
caller in turn rather than to whoever queued the most.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class LongWork:
    """How many long requests are in flight, per caller and in total; admit() says whether one more may be."""

    def __init__(self, total: int, per_caller: int) -> None:
        self.total = total
        self.per_caller = per_caller
        self._held: Counter[Hashable] = Counter()
        self._count = 0

    def admit(self, caller: Hashable) -> str | None:
        """None (admitted; call done() when it ends), or why not, in words for the caller."""
        if self._held[caller] >= self.per_caller:
            return (f"busy: you have {self._held[caller]} long requests (tests, polls, imports, backups) under way, "
                    f"the most one user may ([daemon] max_long_requests_per_user); wait for some to finish")
        if self._count >= self.total:
            return (f"busy: {self._count} long requests are under way, the most the daemon takes "
                    "([daemon] max_long_requests); try again shortly")
        self._held[caller] += 1
        self._count += 1
        return None

    def done(self, caller: Hashable) -> None:
        self._held[caller] -= 1
        if self._held[caller] <= 0:
            del self._held[caller]
        self._count -= 1

    def in_flight(self, caller: Hashable | None = None) -> int:
        return self._count if caller is None else self._held[caller]


class FairLimiter:
    """At most `total` holders at once and at most `per_key` for any one key; waiters are served
    round-robin by key, so a key with a thousand queued never delays another key's first one by more
    than a turn."""

    def __init__(self, total: int, per_key: int) -> None:
        self.total = total
        self.per_key = max(1, min(per_key, total))
        self._held: Counter[Hashable] = Counter()
        self._count = 0
        self._waiting: OrderedDict[Hashable, deque[asyncio.Future]] = OrderedDict()

    @asynccontextmanager
    async def slot(self, key: Hashable) -> AsyncIterator[None]:
        if self._count < self.total and self._held[key] < self.per_key and key not in self._waiting:
            self._take(key)
        else:
            future = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(key, deque()).append(future)
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release(key)  # granted as we were cancelled: give it on
                else:
                    self._forget(key, future)
                raise
        try:
            yield
        finally:
            self._release(key)

    def _take(self, key: Hashable) -> None:
        self._held[key] += 1
        self._count += 1

    def _release(self, key: Hashable) -> None:
        self._held[key] -= 1
        if self._held[key] <= 0:
            del self._held[key]
        self._count -= 1
        self._grant()

    def _forget(self, key: Hashable, future: asyncio.Future) -> None:
        queue = self._waiting.get(key)
        if queue is not None:
            try:
                queue.remove(future)
            except ValueError:
                pass
            if not queue:
                del self._waiting[key]

    def _grant(self) -> None:
        while self._count < self.total:
            for key in self._waiting:
                if self._held[key] < self.per_key:
                    break
            else:
                return
            queue = self._waiting[key]
            future = queue.popleft()
            if queue:
                self._waiting.move_to_end(key)  # its next waiter goes after everyone else's
            else:
                del self._waiting[key]
            if future.done():
                continue  # its task was cancelled and has not yet taken itself off the queue
            self._take(key)
            future.set_result(None)
