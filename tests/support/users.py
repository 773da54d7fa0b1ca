"""Other Unix users, for tests that play the attacker or the victim.

The test process runs as root; `as_user` forks and drops to a real user's
uid (the kernel, not a flag, decides what that user may do) and brings the
child's answer back through a pipe. The child cannot exec the venv's
interpreter (it lives under /root, 0700), so whatever it runs must already
be imported in the parent.
"""

from __future__ import annotations

import grp
import os
import pickle
import pwd
import signal
import subprocess
from collections.abc import Callable
from typing import Any


def ensure_user(name: str, group: str | None = None) -> pwd.struct_passwd:
    if group is not None:
        try:
            grp.getgrnam(group)
        except KeyError:
            subprocess.run(["groupadd", group], check=True)
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    if group is not None and name not in grp.getgrnam(group).gr_mem:
        subprocess.run(["usermod", "-aG", group, name], check=True)
    return pwd.getpwnam(name)


def _drop_to(user: str) -> None:
    entry = pwd.getpwnam(user)
    os.setgroups(os.getgrouplist(user, entry.pw_gid))
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)


def as_user(user: str, fn: Callable[..., Any], *args: Any, env: dict[str, str] | None = None) -> Any:
    """fn(*args) run as `user` in a forked child; its return value (or its exception, re-raised here)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            _drop_to(user)
            if env is not None:
                os.environ.clear()
                os.environ.update(env)
            outcome = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the test
            outcome = ("raised", f"{type(exc).__name__}: {exc}")
        try:
            os.write(write_end, pickle.dumps(outcome))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    kind, value = pickle.loads(data)
    if kind == "raised":
        raise AssertionError(f"the child running as {user} failed: {value}")
    return value


class Background:
    """fn(ready, *args) run as `user` in a child until stop(); fn calls ready() once it serves."""

    def __init__(self, user: str, fn: Callable[..., None], *args: Any) -> None:
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(read_end)
                _drop_to(user)
                fn(lambda: os.write(write_end, b"R"), *args)
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as fh:
            if fh.read(1) != b"R":
                raise AssertionError(f"the background child as {user} died before it was ready")

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


def run_ctl_as(user: str, argv: list[str], env: dict[str, str], stdin: bytes = b"") -> tuple[int, str, str]:
    """mailfleetctl as `user`: (exit code, stdout, stderr).

    Everything mailfleetctl may import is imported here, before the fork: the child runs as `user`, who
    may not read this checkout (a scratch clone is private to root), as an installed copy it could."""
    from mailfleet.ctl.cli import build_parser, main
    from mailfleet.shared import client  # noqa: F401 (loaded by main for commands that reach the daemon)

    build_parser()  # imports every command group

    def child() -> tuple[int, str, str]:
        import io
        import sys

        out, err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = out, err
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        return code, out.getvalue(), err.getvalue()

    return as_user(user, child, env=env)


def rpc_as(user: str, endpoint: str, method: str, params: dict | None = None, timeout_ms: int = 20000) -> dict:
    """One JSON-RPC call on a plain REQ socket, made by `user`: the whole reply object."""
    import json

    import zmq

    from mailfleet.shared import protocol as P

    def child() -> dict:
        ctx = zmq.Context()
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
        sock.connect(endpoint)
        sock.send(P.dumps(P.request(method, params, 1)))
        return json.loads(sock.recv())

    return as_user(user, child)
