"""Talking to mailfleetd: finding it, calling it with a deadline, starting one.

`Client` is a DEALER with a deadline on every call: a dead or stopped
daemon costs a caller at most that long, never a hang. Replies whose id
is not the one awaited (late answers to calls that already timed out)
are skipped, as circusctl does.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.auth

from . import protocol as P
from .paths import candidate_endpoints, candidates, user_paths
from .trust import UntrustedPath, check_socket, service_uids

DEFAULT_TIMEOUT = P.DEFAULT_TIMEOUT
HOW_TO_START = "start one with `mailfleetd --user &` (or `systemctl start mailfleetd` for the service), or just run `mailfleet`"


class DaemonUnreachable(Exception):
    pass


def is_event(message: Any) -> bool:
    """A notification the daemon pushes to a subscriber: {"jsonrpc": "2.0", "method": "event", "params": {...}}."""
    return isinstance(message, dict) and message.get("method") == "event" and isinstance(message.get("params"), dict)


def normalise_endpoint(value: str) -> str:
    """Accept a socket path as well as a ZeroMQ endpoint."""
    return value if "://" in value else f"ipc://{os.path.abspath(value)}"


def is_listening(endpoint: str) -> bool:
    """Does something accept connections there? (Cheap: no ZeroMQ, no request.)"""
    if not endpoint.startswith("ipc://"):
        return True
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(endpoint.removeprefix("ipc://"))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def trusted(socket_path: Path, owners: set[int]) -> bool:
    """Is a socket there that the expected user owns? Refuses (DaemonUnreachable) one that someone else
    could have put there: a client must never hand a password to another user's listener."""
    try:
        return check_socket(socket_path, owners)
    except UntrustedPath as exc:
        raise DaemonUnreachable(f"not connecting: {exc}") from None


def find_endpoint(explicit: str | None = None) -> str | None:
    """The system service's socket if it listens, else the user's own daemon's; only trusted sockets."""
    if explicit:
        endpoint = normalise_endpoint(explicit)
        if endpoint.startswith("ipc://"):
            # A path you name may be your own daemon's or the system one's, nobody else's.
            trusted(Path(endpoint.removeprefix("ipc://")), {os.getuid()} | service_uids())
        return endpoint
    for paths in candidates():
        if trusted(paths.rpc_socket, paths.socket_owners()) and is_listening(paths.rpc_endpoint):
            return paths.rpc_endpoint
    return None


@dataclass(frozen=True)
class CurveKeys:
    """For a tcp:// endpoint: this client's key pair and the server's public key (z85)."""

    public: bytes
    secret: bytes
    server: bytes

    @classmethod
    def from_files(cls, secret_file: str, server_file: str) -> "CurveKeys":
        try:
            public, secret = zmq.auth.load_certificate(secret_file)
            server, _ = zmq.auth.load_certificate(server_file)
        except (OSError, ValueError) as exc:
            raise DaemonUnreachable(f"cannot read the CURVE keys: {exc}") from None
        if secret is None:
            raise DaemonUnreachable(f"{secret_file} holds no secret key (use NAME.key_secret)")
        return cls(public, secret, server)


class Client:
    def __init__(self, endpoint: str, timeout: float = DEFAULT_TIMEOUT, curve: CurveKeys | None = None) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        if curve is not None:
            self._sock.curve_publickey = curve.public
            self._sock.curve_secretkey = curve.secret
            self._sock.curve_serverkey = curve.server
        self._sock.connect(endpoint)
        self._events: deque[dict[str, Any]] = deque(maxlen=100_000)  # pushed while a call waited

    @classmethod
    def connect(cls, endpoint: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                curve: CurveKeys | None = None) -> "Client":
        found = find_endpoint(endpoint)
        if found is None or not is_listening(found):
            where = found or " or ".join(candidate_endpoints())
            raise DaemonUnreachable(f"no mailfleetd is listening at {where}; {HOW_TO_START}")
        if found.startswith("tcp://") and curve is None:
            raise DaemonUnreachable("a tcp:// endpoint needs CURVE keys: --key NAME.key_secret --server-key server.key")
        return cls(found, timeout, curve)

    def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        rid = next(self._ids)
        reply = self._roundtrip(P.dumps(P.request(method, params, rid)), rid, timeout)
        if "error" in reply:
            raise P.RpcError.from_json(reply["error"])
        return reply.get("result")

    def _roundtrip(self, payload: bytes, rid: int, timeout: float | None) -> dict[str, Any]:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        self._sock.send_multipart([b"", payload])
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._sock.poll(remaining * 1000):
                break
            frames = self._sock.recv_multipart()
            try:
                reply = json.loads(frames[-1])
            except (ValueError, UnicodeDecodeError):
                continue
            if is_event(reply):
                self._events.append(reply["params"])
            elif isinstance(reply, dict) and reply.get("id") == rid:
                return reply
        raise DaemonUnreachable(f"mailfleetd at {self.endpoint} did not answer within {limit:g}s")

    def call_many(self, method: str, params: list[dict[str, Any]], *, window: int, timeout: float
                  ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Call `method` once per params, at most `window` in flight, yielding (index, reply) as each
        reply arrives: what `accounts test --all` prints progress from. A reply is the JSON-RPC
        object (`result` or `error`); one not answered within `timeout` s of being sent raises."""
        pending: dict[int, tuple[int, float]] = {}  # rid -> (index, deadline)
        todo = iter(enumerate(params))
        while True:
            while len(pending) < window and (item := next(todo, None)) is not None:
                rid = next(self._ids)
                self._sock.send_multipart([b"", P.dumps(P.request(method, item[1], rid))])
                pending[rid] = (item[0], time.monotonic() + timeout)
            if not pending:
                return
            remaining = min(deadline for _, deadline in pending.values()) - time.monotonic()
            if remaining <= 0 or not self._sock.poll(remaining * 1000):
                raise DaemonUnreachable(f"mailfleetd at {self.endpoint} did not answer within {timeout:g}s")
            try:
                reply = json.loads(self._sock.recv_multipart()[-1])
            except (ValueError, UnicodeDecodeError):
                continue
            if is_event(reply):
                self._events.append(reply["params"])
            elif isinstance(reply, dict) and reply.get("id") in pending:
                yield pending.pop(reply["id"])[0], reply

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event this connection subscribed to (events.subscribe), or None after `timeout` s."""
        if self._events:
            return self._events.popleft()
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0 and self._sock.poll(remaining * 1000):
            try:
                message = json.loads(self._sock.recv_multipart()[-1])
            except (ValueError, UnicodeDecodeError):
                continue
            if is_event(message):
                return message["params"]
        return None

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_user_daemon(wait: float = 15.0) -> str:
    """Start the per-user daemon in the background and return its endpoint once it answers."""
    paths = user_paths()
    trusted(paths.rpc_socket, paths.socket_owners())  # refuse before starting into someone else's directory
    assert paths.log_dir is not None and paths.log_file is not None
    paths.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path = paths.log_file
    # The daemon logs to its (rotated) file itself; what it prints before that (a crash at import) goes here.
    early = open(os.open(paths.log_dir / "mailfleetd.stderr", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
    with early:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailfleet.daemon", "--user", "--log-file", str(log_path)],
            stdin=subprocess.DEVNULL,
            stdout=early,
            stderr=early,
            start_new_session=True,  # outlives the terminal that started it
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if trusted(paths.rpc_socket, paths.socket_owners()) and is_listening(paths.rpc_endpoint):
            with Client(paths.rpc_endpoint, timeout=2.0) as client:
                try:
                    client.call("system.ping")
                    return paths.rpc_endpoint
                except DaemonUnreachable:
                    pass
        if proc.poll() is not None:
            if trusted(paths.rpc_socket, paths.socket_owners()) and is_listening(paths.rpc_endpoint):
                return paths.rpc_endpoint  # another start won the race; use it
            raise DaemonUnreachable(f"mailfleetd exited with code {proc.returncode}; see {log_path}")
        time.sleep(0.05)
    raise DaemonUnreachable(f"mailfleetd did not answer within {wait:g}s; see {log_path}")


class AsyncClient:
    """asyncio DEALER with many requests in flight (the TUI's client). Every call has a deadline;
    a late reply to a call that gave up is dropped by its id."""

    def __init__(self, endpoint: str, timeout: float = DEFAULT_TIMEOUT, curve: CurveKeys | None = None) -> None:
        import zmq.asyncio

        self.endpoint = endpoint
        self.timeout = timeout
        self.curve = curve
        self._ctx = zmq.asyncio.Context.instance()
        self._ids = itertools.count(1)
        self._pending: dict[int, Any] = {}
        self._sock = None
        self._reader = None
        self.on_event: Any = None  # called with each event pushed to this connection (events.subscribe)

    def _ensure(self) -> None:
        import asyncio

        if self._sock is None:
            self._sock = self._ctx.socket(zmq.DEALER)
            self._sock.setsockopt(zmq.LINGER, 0)
            if self.curve is not None:
                self._sock.curve_publickey = self.curve.public
                self._sock.curve_secretkey = self.curve.secret
                self._sock.curve_serverkey = self.curve.server
            self._sock.connect(self.endpoint)
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            frames = await self._sock.recv_multipart()
            try:
                reply = json.loads(frames[-1])
            except (ValueError, UnicodeDecodeError):
                continue
            if is_event(reply):
                if self.on_event is not None:
                    self.on_event(reply["params"])
                continue
            future = self._pending.pop(reply.get("id"), None) if isinstance(reply, dict) else None
            if future is not None and not future.done():
                future.set_result(reply)

    async def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        import asyncio

        self._ensure()
        rid = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        limit = self.timeout if timeout is None else timeout
        await self._sock.send_multipart([b"", P.dumps(P.request(method, params, rid))])
        try:
            async with asyncio.timeout(limit):
                reply = await future
        except TimeoutError:
            self._pending.pop(rid, None)
            raise DaemonUnreachable(f"mailfleetd at {self.endpoint} did not answer within {limit:g}s") from None
        if "error" in reply:
            raise P.RpcError.from_json(reply["error"])
        return reply.get("result")

    def reset(self) -> None:
        """Drop the connection (after the daemon went away): the next call makes a fresh one."""
        if self._reader is not None:
            self._reader.cancel()
        if self._sock is not None:
            self._sock.close()
        self._sock = self._reader = None
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._pending.clear()

    def close(self) -> None:
        self.reset()
