"""The daemon's one app object: everything long-lived hangs off it.

Lifecycle: start() takes the lock, opens the database and binds the
sockets; run() serves until SIGTERM/SIGINT; shutdown() lets in-flight
requests finish, closes the database cleanly and removes the sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import zmq.asyncio

from ..shared import protocol as P
from ..shared.paths import Paths
from . import lifecycle, methods
from .config import Config, ConfigError, load
from .context import Services
from .identity import Caller, Identities
from .mailbox.classifying import ClassifierPool
from .mailbox.reader import Poller
from .notify import Notifier
from .oauth.broker import TokenBroker
from .oauth.signin import SignIns
from .probe.runner import Prober
from .sending.sender import Sender
from .sending.submission import Submission
from .verp import Verp
from .admission import LongWork
from .rpc import Call, Dispatcher, Parsed
from .remote import NamedKeys, server_keys
from .retention import EventPruner
from .secrets import SecretBox
from .events import EventHub, Peer
from .server import RpcServer, frame_meta, uid_of
from .storage import accounts as account_store
from .storage.db import Database, Event, utcnow

log = logging.getLogger("mailfleetd")


class App:
    """The composition root: builds the daemon's parts, hands each what it uses (`Services`, a request
    context per call), and tears them down in the reverse order of building, by construction."""

    def __init__(self, config: Config, paths: Paths) -> None:
        self.config = config
        self.paths = paths
        self.pid = os.getpid()
        self.started_at: str | None = None
        self.log_file: Path | None = None  # where --log-file sends the log, for system.info
        self.identities = Identities(config.admins, config.contacts)
        self.dispatcher = Dispatcher(methods.ALL)
        # One count of long work for the local and the remote endpoint: a user is one user on both.
        self.long_work = LongWork(config.daemon.max_long_requests, config.daemon.max_long_requests_per_user)
        self.db: Database | None = None
        self.poller: Poller | None = None
        self.remote_public_key: bytes | None = None
        self._zap: NamedKeys | None = None
        self._ctx: zmq.asyncio.Context | None = None
        self._publish: Callable[[list[Event]], None] = lambda events: None  # the event hub's, once built
        self._call: Callable[..., Call] | None = None  # a request context, given who asks
        self._parts = contextlib.AsyncExitStack()  # each part's teardown, pushed as it is built
        self._deadline = 0.0  # when shutdown's grace ends
        self._stop: asyncio.Event | None = None
        self.notify = Notifier()
        self._watchdog: asyncio.Task | None = None
        self._reloading: asyncio.Task | None = None

    def _grace_left(self) -> float:
        return max(0.0, self._deadline - asyncio.get_running_loop().time())

    async def start(self) -> None:
        """Build the parts in order, each teardown pushed at once: a start refused half-way (the lock
        held, the socket directory unusable) undoes exactly what it did."""
        parts = self._parts
        daemon_cfg = self.config.daemon
        lifecycle.prepare_dirs(self.paths, daemon_cfg.socket_group)
        lock = lifecycle.RuntimeLock.acquire(self.paths)
        parts.callback(lock.release)
        secrets = SecretBox.load(self.paths.key_file)
        self.db = db = await Database.open(self.paths.database)
        parts.push_async_callback(db.close)
        self._ctx = ctx = zmq.asyncio.Context()
        lifecycle.remove_stale_sockets(self.paths)
        parts.callback(lifecycle.remove_stale_sockets, self.paths)
        parts.callback(ctx.term)
        events = EventHub(lambda ids: account_store.owners(db.read, ids))
        parts.push_async_callback(events.stop)
        db.commit_listeners.append(events.publish)
        tokens = TokenBroker(db, secrets, lambda: self.config)
        services = Services(db, secrets, lambda: self.config, self.publish_live, tokens, Verp(secrets.derive("verp")))
        signins = SignIns(services, tokens)
        parts.push_async_callback(signins.close)
        self._publish = events.publish
        prober = Prober(services)
        parts.callback(prober.close)
        classifiers = ClassifierPool(self.config.poll.classify_workers)
        parts.callback(classifiers.close)
        pruner = EventPruner(db, lambda: self.config.events)
        self.poller = poller = Poller(services, classifiers)
        sender = Sender(services)
        submission = Submission(services, sender, self.identities.for_user)
        db.commit_listeners.append(poller.committed)  # account changes reach the schedule as committed events
        self._call = functools.partial(Call, services, events=events, poller=poller, prober=prober, signins=signins, sender=sender,
                                       submission=submission, daemon=self,
                                       methods=self.dispatcher.methods)
        servers = [self._server(ctx, self.paths.rpc_endpoint, lambda frame: self.identities.for_uid(uid_of(frame)))]
        lifecycle.open_sockets(self.paths, daemon_cfg.socket_group)
        if self.config.remote.endpoint:
            servers.append(self._remote(ctx))
        pruner.start()
        parts.push_async_callback(pruner.stop)
        poller.start()
        parts.push_async_callback(lambda: poller.stop(self._grace_left()))
        await sender.start()
        parts.push_async_callback(lambda: sender.stop(self._grace_left()))
        if self.config.sending.submission:
            host, _, port = self.config.sending.submission.rpartition(":")
            await submission.start(host.strip("[]"), int(port))
            parts.push_async_callback(submission.stop)
        events.start()
        for server in servers:
            server.start()
        parts.push_async_callback(lambda: asyncio.gather(*(server.stop(self._grace_left()) for server in servers)))
        # Last in, so first out: no round starts while the requests finish.
        parts.callback(poller.stopping)
        self.started_at = utcnow()
        log.info("mailfleetd %s mode, pid %d, serving %s", self.paths.mode, self.pid, self.paths.rpc_endpoint)

    def _server(self, ctx: zmq.asyncio.Context, endpoint: str, identify, **kw) -> RpcServer:
        daemon_cfg = self.config.daemon
        return RpcServer(ctx, endpoint, self.dispatcher, self._handle, identify, long_work=self.long_work,
                         max_message_bytes=daemon_cfg.max_message_bytes,
                         max_concurrent=daemon_cfg.max_concurrent_requests, **kw)

    def clients_dir(self) -> Path:
        configured = self.config.remote.clients_dir
        return Path(configured) if configured else self.paths.config_dir / "clients"

    def _remote(self, ctx: zmq.asyncio.Context) -> RpcServer:
        """The TCP endpoint: CURVE, a ZAP handler that knows the authorised keys by name."""
        self.remote_public_key, secret = server_keys(self.paths.state_dir)
        self._zap = zap = NamedKeys(ctx, self.clients_dir())
        zap.start()
        self._parts.callback(zap.stop)
        count = zap.load()
        log.info("remote endpoint %s (CURVE, %d authorised keys in %s)", self.config.remote.endpoint, count,
                 self.clients_dir())
        return self._server(ctx, self.config.remote.endpoint,
                            lambda frame: self.identities.for_key_name(frame_meta(frame, "User-Id")),
                            curve_secret=secret)

    async def _handle(self, parsed: Parsed, caller: Caller, peer: Peer) -> bytes | None:
        return await self.dispatcher.run(parsed, self._call(caller=caller, peer=peer))

    def publish_live(self, type: str, data: dict) -> None:
        """An event for subscribers only (probe steps): not stored, seq 0."""
        self._publish([Event(0, utcnow(), type, data)])

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
            loop.add_signal_handler(signal.SIGHUP, self._reload_soon)
            # The sockets are bound and the database is open: only now is the service ready.
            self.notify.ready(await self.status_line())
            if self.notify.watchdog_interval:
                self._watchdog = loop.create_task(self._watch(self.notify.watchdog_interval))
            await self._stop.wait()
        finally:
            self.notify.stopping()
            if self._watchdog is not None:
                self._watchdog.cancel()
            await self.shutdown()
            self.notify.close()

    def _reload_soon(self) -> None:
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.get_running_loop().create_task(self.reload())

    async def status_line(self) -> str:
        text = f"{await account_store.count(self.db.read)} accounts"
        if self.db.full_since:
            text = f"the database's disk is full (since {self.db.full_since[11:19]} UTC): writes fail; {text}"
        last = self.poller.last_round if self.poller else None
        if last:
            text += f"; last poll {last[0][11:19]} UTC {'ok' if last[1] else 'failed'}"
        return text

    async def _watch(self, interval: float) -> None:
        """Ping the watchdog only while a request through our own RPC socket is answered (the path every
        client takes: the socket file, the receive loop, a place for a short request) and the database
        answers. A live event loop behind a socket nobody can reach is not a healthy daemon."""
        while True:
            await asyncio.sleep(interval)
            try:
                async with asyncio.timeout(interval):
                    await self._ping_ourselves()
                    status = await self.status_line()
            except Exception as exc:  # no ping: systemd will restart a daemon that stays unhealthy
                why = str(exc) or type(exc).__name__
                if isinstance(exc, TimeoutError):
                    why = f"no answer through {self.paths.rpc_endpoint} within {interval:g}s"
                log.warning("health check failed, not pinging the watchdog: %s", why)
                self.notify.status(f"unhealthy: {why}")
                continue
            self.notify.watchdog()
            self.notify.status(status)

    async def _ping_ourselves(self) -> None:
        """system.ping through the RPC socket, as a client would send it."""
        if not self.paths.rpc_socket.exists():
            raise RuntimeError(f"the socket {self.paths.rpc_socket} is gone (removed by a cleanup of its directory?)")
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(self.paths.rpc_endpoint)
            await sock.send_multipart([b"", P.dumps(P.request("system.ping", None, "watchdog"))])
            while True:
                reply = json.loads((await sock.recv_multipart())[-1])
                if reply.get("id") == "watchdog":
                    if reply.get("result") != {"pong": True}:
                        raise RuntimeError(f"system.ping answered {reply.get('error')}")
                    return
        finally:
            sock.close()

    async def reload(self) -> None:
        """SIGHUP: read the config again; a bad one is refused and the running one kept."""
        self.notify.reloading()
        try:
            new = load(self.config.path)
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
        else:
            restart_only = self.config.restart_changes(new)
            self.config = new
            self.identities.reconfigure(new.admins, new.contacts)
            if self._zap is not None:
                self._zap.load()  # keys added or removed in the clients directory
            logging.getLogger().setLevel(new.daemon.log_level.upper())
            if self.poller is not None:
                self.poller.wake()  # poll intervals and the schedule switch may have changed
            log.info("config reloaded from %s%s", new.path,
                     f"; {', '.join(restart_only)} take effect at the next restart" if restart_only else "")
        self.notify.ready(await self.status_line())

    async def shutdown(self) -> None:
        """The parts torn down in the reverse order of building (start pushed each teardown): the
        schedule stops starting rounds, the servers finish their requests, the rounds end, ... the lock
        goes last. One grace period for everything under way: requests and rounds finish side by side,
        and what is left when it ends is cancelled (a round rolls back or leaves its deletes owed)."""
        self._deadline = asyncio.get_running_loop().time() + self.config.daemon.shutdown_grace
        await self._parts.aclose()
        self.db = self.poller = self._zap = None
        if self.started_at is not None:  # a start that was refused never ran: nothing "stopped"
            log.info("stopped")
