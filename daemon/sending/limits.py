"""An account's sending limits, enforced over everything that sends through it: one window of send times
per account, kept by the one task that sends for the account (the sender runs one per account), so the
real rate is never the limit times the number of workers.

A window's limit holds for every span of that length (a sliding window, not a counter reset on the
minute), counted from when the server answered each message: it received the message before then, so a
message sent a window later reaches it at least a window later, whatever the network's delays. After a restart the times come back from
the queue (when each was sent). A warm-up ramps the daily limit from 1/warmup_days of it on the day of
the first message to all of it on day warmup_days.
"""

from __future__ import annotations

import bisect
import math
from datetime import datetime

DAY = 86400


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Window:
    def __init__(self, sent: list[str], first_sent: str | None) -> None:
        self.times: list[float] = [_epoch(s) for s in sent]  # ascending
        self.first = _epoch(first_sent) if first_sent else None

    def allowed(self, windows: dict[int, int], warmup_days: int, now: float) -> dict[int, int]:
        """The windows as they apply today: the daily one ramped while warming up."""
        out = dict(windows)
        if warmup_days and DAY in out:
            day = 0 if self.first is None else int((now - self.first) // DAY)
            if day < warmup_days:
                out[DAY] = max(1, math.ceil(out[DAY] * (day + 1) / warmup_days))
        return out

    def wait(self, windows: dict[int, int], warmup_days: int, now: float) -> float:
        """Seconds until one more message keeps every window within its limit (0: now)."""
        longest = 0.0
        for span, limit in self.allowed(windows, warmup_days, now).items():
            start = bisect.bisect_right(self.times, now - span)
            inside = len(self.times) - start
            if inside >= limit:
                # The message that must leave the window first: then there is room for one more.
                longest = max(longest, self.times[start + inside - limit] + span - now)
        return longest

    def room(self, windows: dict[int, int], warmup_days: int, now: float) -> int:
        """How many more messages every window takes now (a large number without limits)."""
        least = 1 << 30
        for span, limit in self.allowed(windows, warmup_days, now).items():
            inside = len(self.times) - bisect.bisect_right(self.times, now - span)
            least = min(least, limit - inside)
        return least

    def record(self, now: float) -> None:
        bisect.insort(self.times, now)
        if self.first is None:
            self.first = now
        if len(self.times) > 4096 and self.times[0] < now - DAY:
            del self.times[:bisect.bisect_right(self.times, now - DAY)]
