"""Live events, each delivered only to subscribers who may see it, over the RPC sockets.

A PUB socket cannot tell its subscribers apart, so it told everyone
everything. Instead a client subscribes with `events.subscribe` on the same
ROUTER it calls methods on (where the kernel names the caller), and the
daemon pushes each committed event to it as a JSON-RPC notification
`{"jsonrpc": "2.0", "method": "event", "params": EVENT}`, after the one
visibility rule of stored events (`storage/events.py`) allows it. A
subscription lasts `LEASE` seconds unless renewed (calling subscribe again),
so a client that vanished costs nothing for long; a slow one loses events
past its queue (ROUTER drops, never blocks) and catches up with events.list.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..shared import protocol as P
from .identity import Caller
from .storage import events as event_store
from .storage.db import Event

log = logging.getLogger(__name__)

LEASE = 60.0  # seconds a subscription lives without renewal
MAX_PER_USER = 64  # subscriptions one user may hold at once


@dataclass(frozen=True)
class Peer:
    """Where a request came from: the server it arrived on and the envelope that routes back to it."""

    push: Callable[[list[bytes], bytes], None]
    envelope: tuple[bytes, ...]
    server: int  # which server (the local or the remote endpoint): envelopes are per socket


@dataclass
class Subscription:
    peer: Peer
    caller: Caller
    types: tuple[str, ...]
    expires: float = field(default=0.0)

    def wants(self, event: Event) -> bool:
        return not self.types or any(event.type.startswith(t) for t in self.types)


class EventHub:
    def __init__(self, accounts: Callable[[list[int]], Awaitable[dict[int, tuple[str, bool, str]]]]) -> None:
        # accounts(ids) -> {id: (owner, shared, created_at)} as committed: who may see each event's account.
        self._accounts = accounts
        self._subs: dict[tuple[int, tuple[bytes, ...]], Subscription] = {}
        self._queue: asyncio.Queue[list[Event]] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._deliver(), name="events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._subs.clear()

    def subscribe(self, peer: Peer, caller: Caller, types: list[str]) -> float:
        """Start or renew a subscription; returns its lease in seconds."""
        self._expire()
        key = (peer.server, peer.envelope)
        if key not in self._subs:
            held = sum(1 for s in self._subs.values() if s.caller.user == caller.user)
            if held >= MAX_PER_USER:
                raise P.RpcError(P.BUSY, f"busy: you hold {held} event subscriptions, the most one user may")
        self._subs[key] = Subscription(peer, caller, tuple(types), time.monotonic() + LEASE)
        return LEASE

    def unsubscribe(self, peer: Peer) -> bool:
        return self._subs.pop((peer.server, peer.envelope), None) is not None

    def publish(self, events: list[Event]) -> None:
        """After COMMIT (and for live-only events): queued, delivered in order by one task."""
        if events and self._subs:
            self._queue.put_nowait(events)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._subs.items() if s.expires < now]:
            del self._subs[key]

    async def _deliver(self) -> None:
        while True:
            events = await self._queue.get()
            while not self._queue.empty() and len(events) < 10000:
                events.extend(self._queue.get_nowait())
            try:
                await self._send(events)
            except Exception:
                log.exception("could not deliver %d events", len(events))

    async def _send(self, events: list[Event]) -> None:
        self._expire()
        if not self._subs:
            return
        ids = sorted({e.data["account_id"] for e in events if isinstance(e.data.get("account_id"), int)})
        accounts = await self._accounts(ids) if ids else {}
        frames = {}
        for sub in list(self._subs.values()):
            for event in events:
                if not sub.wants(event) or not event_store.may_see(sub.caller, event, accounts):
                    continue
                frame = frames.get(id(event))  # encoded once, however many subscribers get it
                if frame is None:
                    frame = frames[id(event)] = P.dumps(
                        {"jsonrpc": P.JSONRPC, "method": "event", "params": event.to_json()})
                sub.peer.push(list(sub.peer.envelope), frame)
