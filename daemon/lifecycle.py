"""Directories, the one-daemon-per-socket lock, and socket permissions.

The lock is an flock on a pid file beside the sockets: the kernel drops it
when the process dies, however it dies, so a socket file left by a
`kill -9` never blocks the restart, while a live daemon always does.
"""

from __future__ import annotations

import fcntl
import grp
import os
from pathlib import Path

from ..shared.paths import Paths
from ..shared.trust import UntrustedPath, check_private_dir

LOCK_FILE = "mailfleetd.pid"


class StartupError(Exception):
    """The daemon must not start; the message says why and what to do."""


class RuntimeLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, paths: Paths) -> "RuntimeLock":
        path = paths.runtime_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StartupError(
                f"another mailfleetd (pid {other}) is already serving {paths.rpc_endpoint}; "
                "stop it first, or use it"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        try:
            os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)


def prepare_dirs(paths: Paths, socket_group: str) -> None:
    if paths.mode == "user":
        _private_dir(paths.runtime_dir)
    else:
        paths.runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        _refuse_untrusted(paths.runtime_dir, "750")
        os.chmod(paths.runtime_dir, 0o750)
        gid = group_id(socket_group)
        if gid is not None:
            os.chown(paths.runtime_dir, -1, gid)
    paths.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if paths.state_dir.stat().st_uid == os.getuid():
        os.chmod(paths.state_dir, 0o700)


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _refuse_untrusted(path, "700")
    os.chmod(path, 0o700)


def _refuse_untrusted(path: Path, mode: str) -> None:
    """The same rule the clients apply (shared/trust.py): never serve from a directory someone else
    owns or may write, where a socket of theirs could stand in for ours."""
    try:
        check_private_dir(path, {os.getuid()}, fix_mode=mode)
    except UntrustedPath as exc:
        raise StartupError(f"refusing to put sockets there: {exc}") from None


def group_id(name: str) -> int | None:
    if not name:
        return None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise StartupError(f"daemon.socket_group: no group named {name!r}") from None


def remove_stale_sockets(paths: Paths) -> None:
    """Called with the lock held: any socket file here belongs to a daemon that is gone."""
    # events.sock: where daemons before per-user event delivery published; nothing binds it now.
    for sock in (paths.rpc_socket, paths.events_socket):
        sock.unlink(missing_ok=True)


def open_sockets(paths: Paths, socket_group: str) -> None:
    """User mode: only you. System mode: the daemon's user and the socket group."""
    gid = group_id(socket_group) if paths.mode == "system" else None
    os.chmod(paths.rpc_socket, 0o660 if paths.mode == "system" else 0o600)
    if gid is not None:
        os.chown(paths.rpc_socket, -1, gid)
