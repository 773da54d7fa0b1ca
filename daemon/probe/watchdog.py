"""Deadlines for steps that run in worker threads, kept by one thread for all of them.

A blocking client's socket timeout bounds each read, not a step: a server
that answers a line at a time, each in time, never finishes. A step arms a
deadline whose callback cuts its socket. A threading.Timer per step would
start a thread per step — measurable when 200 accounts are tested at once.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Deadline:
    """One armed callback; disarm() before it fires and it never will."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback

    def disarm(self) -> None:
        self.callback = None


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, callback: Callable[[], None]) -> Deadline:
        deadline = Deadline(callback)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="probe-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is deadline:
                self._cond.notify()  # sooner than what the thread waits for
        return deadline

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].callback is None:
                        heapq.heappop(self._heap)  # disarmed
                    if self._heap and self._heap[0][0] <= time.monotonic():
                        deadline = heapq.heappop(self._heap)[2]
                        callback, deadline.callback = deadline.callback, None
                        break
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
            if callback is not None:
                try:
                    callback()
                except Exception:  # a cut that fails changes nothing: the step ends by itself
                    pass
