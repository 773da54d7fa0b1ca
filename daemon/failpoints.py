"""Crash points for the crash-safety tests: `MAILFLEETD_CRASH_AT=name` kills the daemon there with SIGKILL.

Off unless that variable is set; the tests use it to prove that a crash at
the worst moment of a mailbox round loses nothing and counts nothing twice.
"""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("MAILFLEETD_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
