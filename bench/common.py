"""What every benchmark needs: a real daemon in a scratch dir, timing, percentiles."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailfleet.shared.client import Client, DaemonUnreachable, is_listening
from mailfleet.shared.paths import user_paths


class ScratchDaemon:
    def __init__(self, config: str = "") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mfb", dir="/tmp"))
        self.env = dict(os.environ)
        self.env.update(
            XDG_RUNTIME_DIR=str(self.root / "run"),
            XDG_DATA_HOME=str(self.root / "data"),
            XDG_CONFIG_HOME=str(self.root / "config"),
        )
        (self.root / "run").mkdir(mode=0o700)
        self.paths = user_paths(self.env)
        self.proc: subprocess.Popen | None = None
        if config:
            self.paths.config_dir.mkdir(parents=True, exist_ok=True)
            self.paths.config_file.write_text(config)

    def start(self) -> "ScratchDaemon":
        log = open(self.root / "daemon.log", "ab")
        with log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mailfleet.daemon", "--user", "--log-level", "warning"],
                env=self.env, stdout=log, stderr=log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if is_listening(self.paths.rpc_endpoint):
                try:
                    with Client(self.paths.rpc_endpoint, timeout=1) as c:
                        c.call("system.ping")
                    return self
                except DaemonUnreachable:
                    pass
            time.sleep(0.02)
        raise RuntimeError("daemon did not start")

    def client(self, timeout: float = 10.0) -> Client:
        return Client(self.paths.rpc_endpoint, timeout=timeout)

    def stop(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
            self.proc = None

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
