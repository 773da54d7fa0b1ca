"""What every benchmark needs: a real daemon in a scratch dir, timing, percentiles.

Benchmarks run as modules from the repository's root (`.venv/bin/python -m bench.rpc`), so they
import this and the tests' servers (`tests.support`) as packages."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from pathlib import Path

from tests.support.daemons import Daemon


class ScratchDaemon(Daemon):
    """The tests' daemon (tests/support/daemons.py) in a scratch directory of its own, logging
    warnings only, removed by cleanup()."""

    def __init__(self, config: str = "", mode: str = "user") -> None:
        root = Path(tempfile.mkdtemp(prefix="mfb", dir="/tmp"))
        os.chmod(root, 0o755)  # a system-mode daemon's other users must reach its socket
        super().__init__(root, mode=mode, config=config)

    def start(self) -> "ScratchDaemon":
        self.proc = self.spawn("--log-level", "warning")
        self.wait_ready(self.proc)
        return self

    def stop(self) -> int:
        return super().stop() if self.proc is not None else 0

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(samples),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
    }


def us(seconds: float) -> str:
    return f"{seconds * 1e6:8.0f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f} ms"
