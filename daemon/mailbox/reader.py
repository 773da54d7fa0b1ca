"""One round of reading a mailbox, and the schedule that runs rounds.

A round, the same for IMAP and POP3 (only the checkpoint differs): fetch up
to batch_size new messages in chunks; each chunk is classified while the
next is fetched, then committed (its verdicts, the deletes it owes and the
checkpoint past it, in one transaction) while the ones after it are fetched
and classified. Only committed bounce messages are deleted, with any
deletes still owed by a round that crashed after a commit: once the fetching
is done with the connection, those committed so far go while later chunks
commit, the rest at the end. A crash before a chunk's commit re-reads that
chunk and those after it next time; a crash after it leaves its deletes
owed. Either way nothing is counted twice (message keys) and nothing is
lost, and a round cut short keeps what it committed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Any

from .. import marking, status
from ..failpoints import crash_point
from ..storage import accounts as account_store
from ..storage import mailbox as mailbox_store
from ..storage.db import Event, utcnow
from ..storage import DiskFull
from ..net.imap import MAX_UID
from ..net.settings import IncomingSettings
from ..oauth.broker import NoToken
from ..net.words import describe
from .imap import ImapMailbox
from .pop3 import Pop3Mailbox
from ..messages import Fetched
from .session import MailboxError

if TYPE_CHECKING:
    from ..context import Services
    from .classifying import ClassifierPool

log = logging.getLogger(__name__)


def settings_for(services: "Services", row: Any) -> IncomingSettings:
    cfg = services.config.poll
    return IncomingSettings(
        protocol=row["incoming_protocol"],
        host=row["incoming_host"],
        port=row["incoming_port"],
        user=row["incoming_user"],
        password=services.secrets.decrypt(row["incoming_password"]) if row["incoming_password"] else "",
        ssl=bool(row["incoming_ssl"]),
        verify_tls=bool(row["incoming_verify_tls"]),
        folder=row["incoming_folder"] or "INBOX",
        batch_size=row["incoming_batch_size"] or 100,
        timeout=cfg.timeout,
        max_message_bytes=cfg.max_message_bytes,
        # Proxy mode is per account: incoming mail goes through the same proxy as SMTP.
        proxy=services.secrets.decrypt(row["smtp_proxy"]) if row["smtp_proxy"] else None,
    )


UNREADABLE_TRIES = 3  # rounds a message the server will not hand over is tried before it is set aside


class ImapCheckpoint:
    """Where reading an IMAP folder stands: its UIDVALIDITY and the last UID passed. A new UIDVALIDITY
    means the UIDs name other messages now: reading starts again (message keys keep counts right)."""

    def __init__(self) -> None:
        self.uidvalidity = 0
        self.last_uid = 0
        self.same_box = False
        self._passed = 0  # the highest UID of the chunks committed so far
        self._held: list[int] = []  # UIDs of this round to try again: the checkpoint stays before them

    async def load(self, conn, account_id: int, uidvalidity: int) -> None:
        state = await mailbox_store.state(conn, account_id)
        self.uidvalidity = uidvalidity
        self.same_box = bool(state and state["uidvalidity"] == uidvalidity)
        self.last_uid = state["last_uid"] if self.same_box else 0
        self._passed, self._held = self.last_uid, []

    def wanted(self, box: ImapMailbox, aside: frozenset[str]) -> tuple[list[str], dict[str, str]]:
        """In the worker thread: what to read now, and what cannot be (UIDs past 32 bits)."""
        return box.new_uids(self.last_uid, frozenset(int(r) for r in aside if r.isdigit()))

    async def save(self, conn, account_id: int, asked: list[str], read: list[str], retry: list, put_aside: list) -> None:
        """After each chunk, in its transaction: `asked`, the chunk's UIDs (the round's chunks come in order)."""
        # The checkpoint never passes a message that is still to be tried again, in this chunk or an earlier
        # one; those after it are fetched again next round and known by their key, so nothing counts twice.
        # (A UID past 32 bits is never behind a checkpoint: every SEARCH finds it again until it is set aside.)
        self._passed = max([self._passed, *(int(r) for r in asked)])
        self._held += [int(ref) for ref, _, _ in retry if int(ref) <= MAX_UID]
        highest = min(self._held) - 1 if self._held else self._passed
        await mailbox_store.save_state(conn, account_id, uidvalidity=self.uidvalidity,
                                       last_uid=max(highest, self.last_uid))


class Pop3Checkpoint:
    """Where reading a POP3 mailbox stands: the UIDLs read (or set aside). POP3 has no folder identity:
    a UIDL names one message for as long as it is on the server."""

    same_box = True

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.gone: list[str] = []

    async def load(self, conn, account_id: int, _identity: None) -> None:
        self.seen = await mailbox_store.pop3_seen(conn, account_id)

    def wanted(self, box: Pop3Mailbox, _aside: frozenset[str]) -> tuple[list[str], dict[str, str]]:
        on_server = box.uidls()
        self.gone = sorted(self.seen - set(on_server))  # no longer on the server: need not be remembered
        return [u for u in on_server if u not in self.seen][: box.s.batch_size], {}

    async def save(self, conn, account_id: int, asked: list[str], read: list[str], retry: list, put_aside: list) -> None:
        # Read, or set aside: not asked for again. Refused ones are, next round.
        await mailbox_store.add_pop3_seen(conn, account_id, read + [ref for ref, _, _ in put_aside])
        await mailbox_store.forget_pop3_seen(conn, account_id, self.gone)
        self.gone = []  # forgotten once, by the round's first commit


@asynccontextmanager
async def conversation(services: "Services", account_id: int) -> AsyncIterator[tuple[Any, ImapMailbox | Pop3Mailbox]]:
    """(the account's row, its mailbox) for one conversation, a round's or a purge's, driven from worker
    threads. Cancelled, the connection is cut (it unblocks the worker thread; with no QUIT a POP3
    server keeps every message); however it ends, a goodbye not yet said is said (a second is nothing)."""
    row = await account_store.get(services.db.read, account_id)
    if row is None or row["kind"] != "own" or not row["incoming_protocol"]:
        raise MailboxError("config", "this account has no incoming mailbox")
    settings = settings_for(services, row)
    if row["incoming_auth"] == "oauth2":
        try:
            obtained = await services.tokens.for_saved(account_id)
        except NoToken as exc:
            raise MailboxError("auth", f"{exc.message}{f' ({exc.hint})' if exc.hint else ''}") from None
        settings = dataclasses.replace(settings, token=obtained.token)
    box: ImapMailbox | Pop3Mailbox = (ImapMailbox if settings.protocol == "imap" else Pop3Mailbox)(settings)
    try:
        yield row, box
    except asyncio.CancelledError:
        box.abort()
        raise
    finally:
        await asyncio.to_thread(box.close)


async def run_round(services: "Services", classifiers: "ClassifierPool", account_id: int) -> dict[str, int]:
    """Read the account's mailbox once; returns the round's counts. Raises MailboxError on failure.

    One round for both protocols; only the checkpoint differs. Deletes (this round's, and those
    owed by a round that crashed after its commit) come after the commit; a POP3 server applies
    them at QUIT, so a crash before it deletes nothing and they stay owed."""
    counts: Counter = Counter()
    async with conversation(services, account_id) as (row, box):
        mark: ImapCheckpoint | Pop3Checkpoint = ImapCheckpoint() if isinstance(box, ImapMailbox) else Pop3Checkpoint()
        identity = await asyncio.to_thread(box.open)  # IMAP: the UIDVALIDITY; POP3: none
        await mark.load(services.db.read, account_id, identity)
        owed = await mailbox_store.pending_deletes(services.db.read, account_id)
        if owed and not mark.same_box:  # a renumbered box: those UIDs name other messages now
            async with services.db.transaction() as tx:
                await mailbox_store.clear_pending_deletes(tx.conn, account_id, owed)
            owed = []
        known = await mailbox_store.unreadable(services.db.read, account_id) if mark.same_box else {}
        aside = frozenset(ref for ref, item in known.items() if item["set_aside"])
        asked, unread = await asyncio.to_thread(mark.wanted, box, aside)
        deleting = _Deleting(box, owed)

        async def commit(chunk: list[Fetched], refused: dict[str, str], *, first: bool) -> None:
            now = utcnow()
            retry, put_aside = _tries({**unread, **refused} if first else refused, known)
            async with services.db.transaction() as tx:
                outcome = await marking.record(tx, services.config.bounces, account_id, chunk, now, services.verp,
                                               read_again=first)
                owes = outcome.delete_refs if row["incoming_delete_bounces"] else []
                await mailbox_store.add_pending_deletes(tx.conn, account_id, owes)
                await _note_unreadable(tx, account_id, retry, put_aside, [m.ref for m in chunk if m.ref in known], now)
                await mark.save(tx.conn, account_id, [m.ref for m in chunk] + list(refused),
                                [m.ref for m in chunk], retry, put_aside)
                crash_point("before_commit")
            crash_point("after_commit")
            deleting.owe(owes)
            counts.update(outcome.counts)
            counts.update(unreadable=len(retry), set_aside=len(put_aside))

        try:
            first = True
            async with aclosing(_read(services, classifiers, account_id, box, asked)) as chunks:
                async for chunk, refused, fetched_all in chunks:
                    await commit(chunk, refused, first=first)
                    first = False
                    if fetched_all:  # the connection is free: delete what is committed while the rest commits
                        deleting.start()
            if first:  # nothing to fetch: the checkpoint, the unreadable and the classifier's retries still
                await commit([], {}, first=True)
            await deleting.finish()
        except BaseException:
            deleting.cut()
            raise
        finally:
            await deleting.settle()
        counts["deleted"] += deleting.count
        await asyncio.to_thread(box.close)  # POP3: QUIT, and the DELEs take effect now
        if deleting.gone:  # the rest could not be deleted safely yet (no UIDPLUS): still owed
            async with services.db.transaction() as tx:
                await mailbox_store.clear_pending_deletes(tx.conn, account_id, deleting.gone)
    return dict(counts)


class _Deleting:
    """A round's deletes: what earlier rounds still owe and what each commit adds, asked of the server a
    request at a time on the round's connection, once the fetching is done with it. Those of the chunks
    committed so far go while later chunks commit (the server's work beside the database's); what is
    left, at the end. Only committed deletes are ever asked for."""

    def __init__(self, box: ImapMailbox | Pop3Mailbox, owed: list[str]) -> None:
        self.box = box
        self.count = 0  # messages the server deleted
        self.gone: list[str] = []  # refs no longer owed
        self._owed = list(owed)
        self._unsafe = False  # the server said deleting is not safe now: the rest stays owed
        self._turn = asyncio.Lock()
        self._under_way: list[asyncio.Task] = []

    def owe(self, refs: list[str]) -> None:
        self._owed += refs

    def start(self) -> None:
        """Ask for the deletes owed so far, beside whatever the round does next."""
        if self._owed:
            refs, self._owed = self._owed, []
            self._under_way.append(asyncio.get_running_loop().create_task(self._delete(refs)))

    async def finish(self) -> None:
        self.start()
        for task in self._under_way:
            await task  # a delete's error is the round's

    def cut(self) -> None:
        """The round failed or was cut: a delete under way is cut with it (what it did not do stays owed)."""
        if any(not task.done() for task in self._under_way):
            self.box.abort()

    async def settle(self) -> None:
        """Nothing of ours uses the connection any more once this returns."""
        await asyncio.gather(*self._under_way, return_exceptions=True)

    async def _delete(self, refs: list[str]) -> None:
        async with self._turn:
            if self._unsafe:
                return
            done = await asyncio.to_thread(self.box.delete, sorted(set(refs)))
            if done is None:
                self._unsafe = True
                return
            self.count += done
            self.gone += refs


_END = object()  # what the fetching thread hands over last, however it ended


async def _read(services: "Services", classifiers: "ClassifierPool", account_id: int,
                box: ImapMailbox | Pop3Mailbox, refs: list[str]) -> AsyncIterator[tuple[list[Fetched], dict[str, str], bool]]:
    """These messages a chunk at a time, in order: each chunk with its verdicts, the refs in it the server
    did not hand over (with why), and whether the fetching is over (the connection free for deletes).

    One worker thread fetches, handing each chunk to the classifier (across processes for a backlog)
    and going on with the next, while the round commits the chunks before; a message whose key (its
    Message-ID, read from the header) a round has already recorded is not classified again. Chunks
    that came while the last one was committed come as one: a commit has a fixed cost (its fsync),
    and a backlog would pay it for every chunk. Closed early (a commit failed, the round was cut),
    the fetching stops."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[Any] = asyncio.Queue()
    over = threading.Event()

    def recorded(keys: list[str]) -> set[str]:
        return asyncio.run_coroutine_threadsafe(mailbox_store.seen(services.db.read, account_id, keys), loop).result()

    def work() -> None:
        try:
            classifiers.warm(len(refs))
            for chunk, refused in box.fetch(refs):
                known = recorded([m.key for m in chunk if m.raw is not None])
                wait = classifiers.start([m for m in chunk if m.key not in known])
                loop.call_soon_threadsafe(ready.put_nowait, (chunk, refused, wait))
        finally:
            over.set()  # the connection is free from here on
            loop.call_soon_threadsafe(ready.put_nowait, _END)

    fetching = loop.run_in_executor(None, work)
    try:
        ended = False
        while not ended and (item := await ready.get()) is not _END:
            came = [item]
            while not ready.empty() and not ended:
                item = ready.get_nowait()
                ended = item is _END
                if not ended:
                    came.append(item)
            await asyncio.to_thread(lambda came=came: [wait() for _, _, wait in came])
            if ended:
                await fetching  # the fetch's own error, if it failed
            yield ([m for chunk, _, _ in came for m in chunk],
                   {ref: why for _, refused, _ in came for ref, why in refused.items()}, over.is_set())
        await fetching  # the fetch's own error, if it failed
    finally:
        if not fetching.done():
            box.abort()  # the thread's call on the connection ends with an error, and the thread with it
            await asyncio.gather(fetching, return_exceptions=True)


def _tries(unread: dict[str, str], known: dict) -> tuple[list, list]:
    """(to retry, to set aside now): (ref, reason, tries) each, counting this round's try."""
    retry, put_aside = [], []
    for ref, reason in unread.items():
        tries = (known[ref]["tries"] if ref in known else 0) + 1
        (put_aside if tries >= UNREADABLE_TRIES else retry).append((ref, reason, tries))
    return retry, put_aside


async def _note_unreadable(tx, account_id: int, retry: list, put_aside: list, read_now: list[str], now: str) -> None:
    """Messages the server did not hand over: counted to try again, or set aside where a person sees them
    (accounts.get, the `mail.unreadable` event) once tried UNREADABLE_TRIES times."""
    await mailbox_store.note_unreadable(tx.conn, account_id, [(r, why, n, False) for r, why, n in retry] +
                                        [(r, why, n, True) for r, why, n in put_aside], now)
    await mailbox_store.forget_unreadable(tx.conn, account_id, read_now)
    await tx.events_many([("mail.unreadable", {"account_id": account_id, "ref": ref, "reason": why, "tries": n})
                          for ref, why, n in put_aside])


# The committed events after which the schedule is looked at again.
_SCHEDULE_CHANGES = frozenset({"account.created", "account.updated", "account.deleted"})


class Poller:
    """Runs every incoming mailbox's rounds on its poll_interval (jittered), a bounded number at once,
    backing off after failures. accounts.poll runs a round now through the same per-account lock."""

    def __init__(self, services: "Services", classifiers: "ClassifierPool") -> None:
        self.services = services
        self._classifiers = classifiers
        self._slots = asyncio.Semaphore(services.config.poll.concurrency)
        self._locks: dict[int, asyncio.Lock] = {}
        self._due: dict[int, float] = {}
        self._intervals: dict[int, int] = {}
        self._running: dict[int, asyncio.Task] = {}
        self._queued: dict[int, asyncio.Task] = {}  # accounts.poll rounds not yet started, one per account
        self._stopping = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.last_round: tuple[str, bool] | None = None  # (when, ok): for the service's status line

    def outlook(self, visible: set[int] | None) -> dict[str, Any]:
        """The schedule as `system.status` shows it, for the accounts in `visible` (None: all):
        rounds under way, rounds due but waiting for a place (the backlog), seconds to the next one."""
        now = time.monotonic()
        mine = (lambda a: True) if visible is None else visible.__contains__
        running = [a for a in self._running if mine(a)]
        waiting = {a for a, due in self._due.items() if due <= now and a not in self._running and mine(a)}
        waiting |= {a for a in self._queued if mine(a) and a not in self._running}
        upcoming = [due - now for a, due in self._due.items() if due > now and mine(a) and a not in self._running]
        return {"running": len(running), "waiting": len(waiting), "scheduled": self.services.config.poll.schedule,
                "next_in": round(min(upcoming), 1) if upcoming else None}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="poller")

    def wake(self) -> None:
        """Look at the schedule again (the config was reloaded)."""
        self._wake.set()

    def committed(self, events: list[Event]) -> None:
        """A commit's events (the database hands them over): an account made, changed or deleted may
        have a mailbox to read, another interval, or none any more. Nobody has to remember to tell us."""
        if any(event.type in _SCHEDULE_CHANGES for event in events):
            self._wake.set()

    def stopping(self) -> None:
        """SIGTERM: no round starts from now on (those waiting for a place end at once, unread)."""
        self._stopping = True
        if self._task:
            self._task.cancel()

    async def stop(self, grace: float) -> None:
        """No new rounds; rounds under way get `grace` seconds to finish (a cancelled one
        rolls back, or leaves its deletes owed for the next start)."""
        self.stopping()
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)
        running = [*self._running.values(), *self._queued.values()]
        if running:
            _, pending = await asyncio.wait(running, timeout=max(grace, 0.0))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def poll_now(self, account_id: int) -> dict[str, Any]:
        """One round right away (after one under way finishes). Polls asked for while a round waits to
        start share that round and its result: a hundred polls of one mailbox read it once, not in turn."""
        task = self._queued.get(account_id)
        if task is None:
            task = self._queued[account_id] = asyncio.get_running_loop().create_task(self._round(account_id))
            task.add_done_callback(lambda t, a=account_id: self._queued.pop(a, None) if self._queued.get(a) is t
                                   else None)
        # shield: one caller giving up (its request cancelled at shutdown) does not cancel the others' round.
        return await asyncio.shield(task)

    async def between_rounds(self, account_id: int, what: str,
                             work: Callable[[], Awaitable[dict[str, int]]]) -> dict[str, Any]:
        """Other work on the account's mailbox (a purge), never interleaved with its rounds: under the
        account's round lock and a round's place, cut at the round deadline like a round; its counts,
        or its error in words."""
        async with self._locks.setdefault(account_id, asyncio.Lock()), self._slots:
            if self._stopping:
                return {"ok": False, "error": "not done: the daemon is stopping"}
            limit = self.services.config.poll.round_timeout
            deadline = asyncio.timeout(limit)
            try:
                async with deadline:
                    return {"ok": True, **await work()}
            except MailboxError as exc:
                return {"ok": False, "error": str(exc)}
            except Exception as exc:
                if isinstance(exc, TimeoutError) and deadline.expired():
                    return {"ok": False, "error": f"{what}: not done after {limit:g} s (poll.round_timeout)"}
                log.exception("%s of account %d failed", what, account_id)
                return {"ok": False, "error": f"internal error: {describe(exc)}"}

    async def _loop(self) -> None:
        while True:
            try:
                await self._schedule()
            except Exception:
                log.exception("the poll schedule failed; trying again in a minute")
                self._wake.clear()
                await asyncio.sleep(60)
                continue
            self._wake.clear()
            now = time.monotonic()
            wait = min((d - now for d in self._due.values()), default=300.0)
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
                # arrives as the event is set, and then shutdown waits forever.
                async with asyncio.timeout(max(0.05, min(wait, 300.0))):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _schedule(self) -> None:
        if not self.services.config.poll.schedule:
            self._due.clear()
            return
        rows = await account_store.poll_intervals(self.services.db.read)
        jitter = self.services.config.poll.jitter
        now = time.monotonic()
        active = set()
        for account_id, interval in rows:
            active.add(account_id)
            self._intervals[account_id] = interval
            if account_id not in self._due:
                # Spread the first rounds over a few seconds rather than all at start-up.
                self._due[account_id] = now + random.uniform(0, min(5.0, interval * jitter))
            if self._due[account_id] <= now and account_id not in self._running:
                task = asyncio.get_running_loop().create_task(self._round(account_id))
                self._running[account_id] = task
                task.add_done_callback(lambda _t, a=account_id: self._running.pop(a, None))
        for gone in set(self._due) - active:
            self._due.pop(gone, None)

    async def _round(self, account_id: int) -> dict[str, Any]:
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock, self._slots:
            if self._queued.get(account_id) is asyncio.current_task():
                del self._queued[account_id]  # started: a poll asked for from now on needs a round of its own
            if self._stopping:
                return {"ok": False, "error": "not read: the daemon is stopping"}
            started = time.monotonic()
            limit = self.services.config.poll.round_timeout
            deadline = asyncio.timeout(limit)
            try:
                async with deadline:
                    counts = await run_round(self.services, self._classifiers, account_id)
            except MailboxError as exc:
                await self._failed(account_id, str(exc))
                return {"ok": False, "error": str(exc)}
            except DiskFull as exc:  # nothing was kept; the next round reads the same messages again
                log.error("account %d: %s", account_id, exc)
                return {"ok": False, "error": str(exc)}
            except Exception as exc:  # a bug or an unexpected server: logged, never fatal to the loop
                if isinstance(exc, TimeoutError) and deadline.expired():
                    error = f"round: not done after {limit:g} s (poll.round_timeout); the connection was cut"
                    await self._failed(account_id, error)
                    return {"ok": False, "error": error}
                log.exception("mailbox round for account %d failed", account_id)
                await self._failed(account_id, f"internal error: {describe(exc)}")
                return {"ok": False, "error": f"internal error: {describe(exc)}"}
            await self._succeeded(account_id, counts)
            # An empty round is routine (DEBUG); one that read mail says what it found.
            log.log(logging.INFO if counts.get("fetched") else logging.DEBUG,
                    "account %d: read %d messages in %.2fs: %d hard, %d soft, %d marked faulty, %d set aside",
                    account_id, counts.get("fetched", 0), time.monotonic() - started, counts.get("hard", 0),
                    counts.get("soft", 0), counts.get("marked_faulty", 0), counts.get("set_aside", 0))
            return {"ok": True, **counts}

    def _next(self, account_id: int, failures: int) -> None:
        row_interval = self._intervals.get(account_id, 300)
        delay = row_interval * (1 + random.uniform(-1, 1) * self.services.config.poll.jitter)
        if failures:
            delay = min(row_interval * 2 ** min(failures, 16), self.services.config.poll.max_backoff)
        self._due[account_id] = time.monotonic() + delay

    async def _succeeded(self, account_id: int, counts: dict[str, int]) -> None:
        now = utcnow()
        async with self.services.db.transaction() as tx:
            await mailbox_store.save_state(tx.conn, account_id, last_poll_at=now, last_ok_at=now, last_error="",
                                           failures=0, last_counts=counts)
            await status.set_incoming(tx, account_id, ok=True, detail="")
        self._next(account_id, 0)
        self.last_round = (now, True)

    async def _failed(self, account_id: int, error: str) -> None:
        log.warning("account %d: mailbox round failed: %s", account_id, error)
        async with self.services.db.transaction() as tx:
            state = await mailbox_store.state(tx.conn, account_id)
            failures = (state["failures"] if state else 0) + 1
            if await account_store.get(tx.conn, account_id) is None:
                return  # deleted meanwhile
            await mailbox_store.save_state(tx.conn, account_id, last_poll_at=utcnow(), last_error=error,
                                           failures=failures)
            await status.set_incoming(tx, account_id, ok=False, detail=error)
        self._next(account_id, failures)
        self.last_round = (utcnow(), False)
