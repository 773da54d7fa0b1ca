"""Classifying a big round's messages on every core while the round fetches on.

The classifier is pure Python and holds the GIL: one process classifies
some 5,000 messages a second. A round through a backlog hands each fetched
chunk to worker processes and fetches the next meanwhile; a small round
classifies in its own thread, where a process hop would cost more than it
saves. If the workers die, the round classifies in its own thread and the
pool starts afresh next time.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from ..messages import Fetched, read_many
from .session import classify_here

log = logging.getLogger(__name__)

MIN_BATCH = 100  # fewer messages than this are classified in the calling thread


def _die_with(parent: int) -> None:
    """In each worker: exit as soon as the daemon that made it is gone, however it went (kill -9 too).

    A worker only ever waits on its task queue, so without this a killed daemon leaves it (and the
    resource tracker it keeps alive) for good. A pidfd becomes readable when the process exits;
    where there is none (old kernels), the worker notices its parent change."""
    def watch() -> None:
        try:
            fd = os.pidfd_open(parent)
        except (AttributeError, OSError):
            while os.getppid() == parent:
                time.sleep(1.0)
        else:
            select.select([fd], [], [])
        os._exit(0)

    if os.getppid() != parent:
        os._exit(0)
    threading.Thread(target=watch, name="die-with-daemon", daemon=True).start()


class ClassifierPool:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def warm(self, expected: int) -> None:
        """Start the workers now when a round of this many messages will hand them chunks: a worker takes
        a fifth of a second to start and import the classifier, which the first chunk's fetch then hides.
        (Not at the daemon's start: a daemon that never meets a backlog keeps no idle processes.)"""
        if self.workers < 1 or expected < MIN_BATCH:
            return
        try:
            executor = self._executor()
            for _ in range(self.workers):  # workers start on demand: one for each task no other has taken
                executor.submit(read_many, [])
        except Exception as exc:
            self._broken(exc)

    def start(self, messages: list[Fetched]) -> Callable[[], None]:
        """Start classifying these messages; returns what to call, in the same thread, to wait
        until every one has its verdict."""
        todo = [m for m in messages if m.raw is not None]
        if self.workers < 1 or len(todo) < MIN_BATCH:
            return classify_here(todo)
        try:
            future = self._executor().submit(read_many, [m.raw for m in todo])
        except Exception as exc:  # a broken or shut pool: this thread does it
            self._broken(exc)
            return classify_here(todo)

        def finish() -> None:
            try:
                read = future.result()
            except Exception as exc:
                self._broken(exc)
                classify_here(todo)
                return
            for message, (verdict, references) in zip(todo, read):
                message.read_elsewhere(verdict, references)

        return finish

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn: a fork of a threaded daemon with open sockets is not safe.
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_die_with, initargs=(os.getpid(),))
            return self._pool

    def _broken(self, exc: BaseException) -> None:
        log.warning("classifier workers failed (%s); classifying in the reader's thread", exc)
        self.close()  # the next big round starts a fresh pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
