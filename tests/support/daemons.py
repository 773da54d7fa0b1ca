"""A real mailfleetd process in directories of its own, for the tests and the benchmarks alike.

Socket paths must stay under ~100 bytes (sun_path), so each daemon's
directories live in a short mkdtemp under /tmp rather than pytest's tmp_path.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailfleet.shared.client import Client, DaemonUnreachable, is_listening
from mailfleet.shared.paths import Paths, system_paths, user_paths

START_TIMEOUT = 20.0
# Every password the tests hand the daemon; none may ever show up in a log.
TEST_SECRETS = ("s3cret-smtp-pw", "mailbox-secret-9", "incoming-pw-42", "proxy-pw-77", "pw-from-stdin",
                "in-pw", "proxy-secret-1", "bench-pw", "smtp-secret-5", "dovecot-secret-3")


class Daemon:
    """One mailfleetd subprocess: start, stop (SIGTERM), kill (-9), restart on the same data."""

    def __init__(self, root: Path, *, mode: str = "user", config: str = "", extra_env: dict[str, str] | None = None):
        self.root = root
        self.mode = mode
        self.config_text = config
        self.log_path = root / "daemon.log"
        self.env = dict(os.environ)
        if mode == "user":
            self.env.update(
                XDG_RUNTIME_DIR=str(root / "run"),
                XDG_DATA_HOME=str(root / "data"),
                XDG_CONFIG_HOME=str(root / "config"),
            )
            (root / "run").mkdir(exist_ok=True, mode=0o700)
            self.paths: Paths = user_paths(self.env)
        else:
            self.env.update(
                RUNTIME_DIRECTORY=str(root / "run"),
                STATE_DIRECTORY=str(root / "state"),
                CONFIGURATION_DIRECTORY=str(root / "etc"),
            )
            self.paths = system_paths(self.env)
        for inherited in ("CREDENTIALS_DIRECTORY", "JOURNAL_STREAM", "NOTIFY_SOCKET"):
            self.env.pop(inherited, None)
        self.env.update(extra_env or {})
        self.paths.config_dir.mkdir(parents=True, exist_ok=True)
        if config:
            self.paths.config_file.write_text(config)
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return self.paths.rpc_endpoint

    def command(self, *args: str) -> list[str]:
        flag = ["--user"] if self.mode == "user" else ["--system"]
        return [sys.executable, "-m", "mailfleet.daemon", *flag, *args]

    def spawn(self, *args: str) -> subprocess.Popen:
        log = open(self.log_path, "ab")
        with log:
            return subprocess.Popen(self.command(*args), env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def start(self) -> "Daemon":
        self.proc = self.spawn()
        self.wait_ready(self.proc)
        return self

    def wait_ready(self, proc: subprocess.Popen) -> None:
        """Wait until the daemon answers a ping (or dies): synchronisation on the real condition."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"mailfleetd exited with {proc.returncode}:\n{self.log()}")
            if is_listening(self.endpoint):
                with Client(self.endpoint, timeout=1.0) as c:
                    try:
                        c.call("system.ping")
                        return
                    except DaemonUnreachable:
                        continue
            time.sleep(0.02)
        raise AssertionError(f"mailfleetd did not answer within {START_TIMEOUT}s:\n{self.log()}")

    def client(self, timeout: float = 10.0) -> Client:
        return Client(self.endpoint, timeout=timeout)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.proc = None
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc = None

    def restart_after_the_crash(self) -> None:
        """Killed at its crash point (MAILFLEETD_CRASH_AT: SIGKILL, nothing ran after it), started again
        without one."""
        assert self.proc is not None
        assert self.proc.wait(timeout=60) == -9
        self.proc = None
        del self.env["MAILFLEETD_CRASH_AT"]
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def scratch_dir(prefix: str = "mf"):
    """A short directory under /tmp that the servers' own users can enter; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


