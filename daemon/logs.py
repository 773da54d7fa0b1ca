"""Logging to stderr (journald priorities under systemd, timestamps elsewhere), or to a file
rotated by size (the per-user daemon `mailfleet` starts: $XDG_STATE_HOME/mailfleet/mailfleetd.log).

Nothing logged here ever carries request params: handlers log method names
and outcomes, because params may hold passwords.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """`<N>message`: journald reads the priority; it adds the time itself."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prio = _PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{prio}>{line}" for line in text.splitlines())


def under_journald() -> bool:
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{st.st_dev}:{st.st_ino}"


def setup(level: str, file: Path | None = None, max_bytes: int = 10 << 20, keep: int = 3) -> None:
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # 0600 from its first byte
        handler = logging.handlers.RotatingFileHandler(file, maxBytes=max_bytes, backupCount=keep,
                                                       encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    elif under_journald():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosqlite logs every statement (with its values) at debug level.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
