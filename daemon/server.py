"""The ZeroMQ side: a ROUTER for requests, a PUB for events.

The ROUTER answers REQ sockets (scripts) and DEALER sockets (the TUI, many
requests in flight) alike by echoing each message's envelope. Each request
runs in its own task. Short ones take one of `max_concurrent` places; long
ones (tests, polls: they wait on the network) are admitted by `LongWork`,
per caller and in total, and never take those places, so no number of
tests against a silent server holds up a ping. `MAXMSGSIZE` makes libzmq
drop an oversized message's connection before it is ever read into memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import zmq
import zmq.asyncio

from ..shared import protocol as P
from .admission import LongWork
from .events import Peer
from .identity import Caller, parse_peer_uid
from .rpc import Dispatcher, Parsed


def frame_meta(frame: zmq.Frame, name: str) -> str:
    try:
        return frame.get(name) or ""
    except zmq.ZMQError:
        return ""


def uid_of(frame: zmq.Frame) -> int | None:
    """The caller's uid over ipc (SO_PEERCRED, as libzmq reports it)."""
    return parse_peer_uid(frame_meta(frame, "Peer-Address"))

log = logging.getLogger(__name__)

Handle = Callable[[Parsed, Caller, Peer], Awaitable[bytes | None]]


def _log_undelivered(sent: asyncio.Future[object]) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        log.debug("event not delivered: %s", sent.exception())


class RpcServer:
    def __init__(
        self,
        ctx: zmq.asyncio.Context,
        endpoint: str,
        dispatcher: Dispatcher,
        handle: Handle,
        identify: Callable[[zmq.Frame], Caller | None],
        *,
        long_work: LongWork,
        max_message_bytes: int,
        max_concurrent: int,
        curve_secret: bytes | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._handle = handle
        self._identify = identify
        self._long = long_work
        self._sock = ctx.socket(zmq.ROUTER)
        if curve_secret is not None:
            # Every connection must complete a CURVE handshake the ZAP handler accepts.
            self._sock.curve_server = True
            self._sock.curve_secretkey = curve_secret
        self._sock.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
        self._sock.setsockopt(zmq.LINGER, 1000)
        self._sock.setsockopt(zmq.SNDHWM, 10000)
        self._sock.bind(endpoint)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._inflight: set[asyncio.Task] = set()
        self._receiving: asyncio.Task | None = None

    def start(self) -> None:
        self._receiving = asyncio.get_running_loop().create_task(self._receive(), name="rpc-receive")

    async def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            frames = await self._sock.recv_multipart(copy=False)
            if len(frames) < 2:
                continue  # nothing but an identity: no request to answer
            envelope = [f.bytes for f in frames[:-1]]
            caller = self._identify(frames[-1])
            parsed = self._dispatcher.parse(frames[-1].bytes)
            if caller is not None and parsed.long:
                refusal = self._long.admit(caller.user)
                if refusal is not None:
                    await self._send(envelope, self._dispatcher.refuse(parsed, P.RpcError(P.BUSY, refusal)))
                    continue
                task = loop.create_task(self._serve(envelope, parsed, caller))
                task.add_done_callback(lambda _t, user=caller.user: self._long.done(user))
            else:
                await self._slots.acquire()
                task = loop.create_task(self._serve(envelope, parsed, caller))
                task.add_done_callback(lambda _t: self._slots.release())
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    def push(self, envelope: list[bytes], frame: bytes) -> None:
        """A message the peer did not ask for (an event it subscribed to), sent at once without awaiting:
        a ROUTER drops what a peer's queue cannot take, it never blocks.

        It goes through the asyncio socket, never a plain handle on the same libzmq socket: a send
        processes the socket's pending commands, which clears its edge-triggered FD, and only the
        asyncio socket then looks again for requests that arrived meanwhile. A push from a plain
        handle left such a request unread until some other traffic woke the socket (a subscriber's
        next call after an event went unanswered)."""
        sent = self._sock.send_multipart([*envelope, frame], flags=zmq.NOBLOCK)
        sent.add_done_callback(_log_undelivered)

    async def _send(self, envelope: list[bytes], reply: bytes | None) -> None:
        # A message of notifications only still gets an (empty) reply, or a REQ socket would wait forever.
        try:
            await self._sock.send_multipart(envelope + [reply or b""])
        except Exception:
            log.exception("could not answer a request")

    async def _serve(self, envelope: list[bytes], parsed: Parsed, caller: Caller | None) -> None:
        try:
            if caller is None:
                err = P.RpcError(P.FORBIDDEN, "cannot tell who is calling (only ipc and CURVE endpoints are served)")
                reply: bytes | None = P.dumps(P.error(None, err))
            else:
                reply = await self._handle(parsed, caller, Peer(self.push, tuple(envelope), id(self)))
        except Exception:
            log.exception("could not answer a request")
            return
        await self._send(envelope, reply)

    async def stop(self, grace: float) -> None:
        """Stop taking requests, let those under way finish (up to `grace` seconds), close."""
        if self._receiving:
            self._receiving.cancel()
            await asyncio.gather(self._receiving, return_exceptions=True)
        log.debug("receiving stopped; %d in flight", len(self._inflight))
        if self._inflight:
            done, pending = await asyncio.wait(set(self._inflight), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d requests did not finish within %.0fs and were cancelled", len(pending), grace)
                await asyncio.gather(*pending, return_exceptions=True)
        self._sock.close()
