"""Crash points for the crash-safety tests: `MAILFLEETD_CRASH_AT=name` kills the daemon there with SIGKILL
the first time it is passed, `name@N` the N-th time (the second message of a batch, say).

Off unless that variable is set; the tests use it to prove that a crash at the worst moment of a
mailbox round or a delivery loses nothing, counts nothing twice and sends nothing twice.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_passed: Counter[str] = Counter()


def crash_point(name: str) -> None:
    wanted = os.environ.get("MAILFLEETD_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _passed[name] += 1
    if _passed[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
