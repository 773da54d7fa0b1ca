"""The daemon's one app object: everything long-lived hangs off it.

Lifecycle: start() takes the lock, opens the database and binds the
sockets; run() serves until SIGTERM/SIGINT; shutdown() lets in-flight
requests finish, closes the database cleanly and removes the sockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import zmq.asyncio

from ..shared.paths import Paths
from . import lifecycle, methods
from .config import Config
from .identity import Caller, Identities
from .mailbox.reader import Poller
from .rpc import Call, Dispatcher
from .secrets import SecretBox
from .server import EventPublisher, RpcServer
from .storage.db import Database, utcnow

log = logging.getLogger("mailfleetd")


class App:
    def __init__(self, config: Config, paths: Paths) -> None:
        self.config = config
        self.paths = paths
        self.pid = os.getpid()
        self.started_at: str | None = None
        self.identities = Identities(config.admins)
        self.dispatcher = Dispatcher(methods.ALL)
        self.db: Database
        self.secrets: SecretBox
        self._lock: lifecycle.RuntimeLock | None = None
        self._ctx: zmq.asyncio.Context | None = None
        self._server: RpcServer | None = None
        self._events: EventPublisher | None = None
        self._stop: asyncio.Event | None = None
        self.poller: Poller | None = None

    async def start(self) -> None:
        daemon_cfg = self.config.daemon
        lifecycle.prepare_dirs(self.paths, daemon_cfg.socket_group)
        self._lock = lifecycle.RuntimeLock.acquire(self.paths)
        self.secrets = SecretBox.load(self.paths.key_file)
        self.db = await Database.open(self.paths.database)
        self._ctx = zmq.asyncio.Context()
        lifecycle.remove_stale_sockets(self.paths)
        self._events = EventPublisher(self._ctx, self.paths.events_endpoint)
        self.db.on_commit = self._events.publish
        self._server = RpcServer(
            self._ctx,
            self.paths.rpc_endpoint,
            self._handle,
            self.identities.for_uid,
            max_message_bytes=daemon_cfg.max_message_bytes,
            max_concurrent=daemon_cfg.max_concurrent_requests,
        )
        lifecycle.open_sockets(self.paths, daemon_cfg.socket_group)
        self.poller = Poller(self)
        self.poller.start()
        self._server.start()
        self.started_at = utcnow()
        log.info("mailfleetd %s mode, pid %d, serving %s", self.paths.mode, self.pid, self.paths.rpc_endpoint)

    async def _handle(self, payload: bytes, caller: Caller) -> bytes | None:
        return await self.dispatcher.handle(payload, Call(self, caller))

    def accounts_changed(self) -> None:
        """Mailbox settings may have changed: the poll schedule looks again."""
        if self.poller is not None:
            self.poller.wake()

    def request_stop(self, why: str = "") -> None:
        if self._stop is not None and not self._stop.is_set():
            log.info("stopping%s", f" ({why})" if why else "")
            self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.start()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop, sig.name)
            await self._stop.wait()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        log.debug("shutdown: server")
        if self._server is not None:
            await self._server.stop(self.config.daemon.shutdown_grace)
            self._server = None
        log.debug("shutdown: poller")
        if self.poller is not None:
            await self.poller.stop(self.config.daemon.shutdown_grace)
            self.poller = None
        log.debug("shutdown: db")
        if self._events is not None:
            self._events.close()
            self._events = None
        if getattr(self, "db", None) is not None:
            await self.db.close()
            del self.db
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None
            lifecycle.remove_stale_sockets(self.paths)
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        log.info("stopped")
