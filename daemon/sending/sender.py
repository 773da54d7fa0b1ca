"""Delivering the queue: per account one connection, one message after another, a bounded number of
accounts at once, each within its limits (limits.py: one window per account, over everything it sends).

For each message: `sending` is committed, then MAIL FROM, RCPT TO, DATA; the server's 250 to DATA is
committed as `sent` in the same transaction that marks the next message `sending` (one commit a message),
or before any wait. What else can happen, and what becomes of the message:
- a 5xx reply (at MAIL FROM, RCPT TO or DATA): `failed`, and a bounce on the spot, written as the
  delivery status notification an MTA would send (RFC 3464) and read by the same classifier and marking
  rules as any bounce from a mailbox, in the same transaction;
- a 4xx reply, or the connection lost before DATA was sent: `deferred`, tried again after
  retry_base * 2^(tries-1) seconds; a throttling reply (421, 4.7.x, "454 Throttling") also pauses the
  account until then; after max_attempts, `failed`;
- the connection lost while DATA was under way (sent, no reply read), or the daemon killed between
  `sending` and `sent`: `uncertain`. The server may have the message; it is not sent again unless a
  person says so (`queue.retry`). Nothing is ever sent twice to a recipient a server accepted. (The
  next message's `sending` is committed while the one before it is on the wire, so a crash may also leave
  that one `uncertain`, never begun: the price of one commit a message instead of two in a row. Without
  a next one, the one before's `sent` is committed before this one begins.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiosmtplib

from ...shared.models import SendLimits
from ...shared.words import printable
from .. import marking, records
from ..failpoints import crash_point
from ..messages import Fetched
from ..net import sasl
from ..net.aconnect import open_connection
from ..net.sockets import ProxyFailed, tls_context
from ..oauth.broker import NoToken
from ..storage import accounts as account_store
from ..storage import contacts as contact_store
from ..storage import outbox
from ..storage.db import utcnow
from .compose import envelope_sender, render, smtp_path
from .limits import DAY, Window

if TYPE_CHECKING:
    from ..context import Services

log = logging.getLogger(__name__)

BATCH = 100  # due messages taken at a time per account
LONG_WAIT = 5.0  # a limit that asks for a longer wait frees the account's place instead of holding it
MAX_DELAY = 6 * 3600.0
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


class NoRoute(Exception):
    """The account cannot send now (no relay, not approved, no token): its messages wait."""


@dataclass
class Route:
    """Where an account's mail goes and how it signs in (the secret in memory only)."""

    host: str
    port: int
    security: str
    authenticate: bool
    user: str
    password: str = field(repr=False)
    token: str | None = field(repr=False)
    verify_tls: bool
    proxy: str | None


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def throttled(code: int, message: str) -> bool:
    """A server asking us to slow down: 421, an X.7.x policy deferral, or Microsoft's "454 Throttling"."""
    enhanced = _ENHANCED.search(message)
    return code == 421 or (code // 100 == 4 and enhanced is not None and enhanced.group(2) == "7") or \
        "throttl" in message.lower()


def bounce_report(row: Any, account_email: str, host: str, code: int, message: str, stage: str) -> bytes:
    """The refusal as an MTA reports it (RFC 3464; Postfix's wording of where it happened), for the
    classifier: a refusal here and one read from a mailbox go through the same rules."""
    enhanced = _ENHANCED.search(message)
    status = enhanced.group(0) if enhanced else f"{code // 100}.0.0"
    said = printable(f"{code} {message}")[:900]
    return (
        f"From: MAILER-DAEMON@mailfleet.invalid\r\nTo: {account_email}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <refused-{row['id']}@mailfleet.invalid>\r\n"
        "MIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"mf-report\"\r\n\r\n"
        "--mf-report\r\nContent-Type: text/plain\r\n\r\n"
        f"<{row['recipient']}>: host {host} said: {said} (in reply to {stage} command)\r\n"
        "--mf-report\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mailfleet.invalid\r\n\r\n"
        f"Final-Recipient: rfc822; {row['recipient']}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Remote-MTA: dns; {host}\r\nDiagnostic-Code: smtp; {said}\r\n\r\n"
        "--mf-report\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {row['message_id']}\r\nTo: {row['recipient']}\r\n\r\n--mf-report--\r\n"
    ).encode("utf-8")


@dataclass
class _Run:
    """One account's drain: its wire form, its route and connection, the job bodies it read, and the
    messages the server took that are not committed `sent` yet (they are with the next one's start)."""

    account: dict[str, Any]
    route: Route
    smtp: aiosmtplib.SMTP | None = None
    bodies: dict[int, bytes] = field(default_factory=dict)
    sent: list[tuple[Any, str]] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)  # jobs with messages sent since they were last checked
    ahead: Any | None = None  # the message marked `sending` ahead of its turn
    ahead_commit: asyncio.Task | None = None

    def prefetch(self, item: Any, commit) -> None:
        self.ahead, self.ahead_commit = item, asyncio.ensure_future(commit)

    async def take(self, item: Any) -> bool:
        """Whether `item` was marked `sending` ahead (its commit now finished)."""
        if self.ahead is not item:
            return False
        task, self.ahead, self.ahead_commit = self.ahead_commit, None, None
        await task
        return True

    async def settle(self) -> Any | None:
        """The message marked ahead whose turn did not come (its commit finished), or None."""
        item, task = self.ahead, self.ahead_commit
        self.ahead = self.ahead_commit = None
        if task is not None:
            try:
                await task
            except Exception:  # noqa: BLE001 (its commit failed: it was never marked)
                return None
        return item


class Sender:
    """Runs the accounts' deliveries: woken when mail is accepted, and when the next deferred one is due."""

    def __init__(self, services: "Services") -> None:
        self.services = services
        self._wake = asyncio.Event()
        self._running: dict[int, asyncio.Task] = {}
        self._paused: dict[int, float] = {}  # account -> monotonic time it may send again (throttled)
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._progress_at: dict[int, float] = {}
        self._windows: dict[int, Window] = {}  # each account's send times, for its limits

    async def start(self) -> None:
        """What was being sent when the daemon stopped is `uncertain` now; then the loop starts."""
        async with self.services.db.transaction() as tx:
            rows = await outbox.in_flight_to_uncertain(tx.conn, utcnow())
            for job in sorted({r["job_id"] for r in rows}):
                mine = [r for r in rows if r["job_id"] == job]
                await tx.event("send.uncertain", {"account_id": mine[0]["account_id"], "job": job,
                                                  "recipients": [r["recipient"] for r in mine][:100],
                                                  "count": len(mine)})
        if rows:
            log.warning("%d message(s) were being sent when the daemon stopped: marked uncertain, not sent again "
                        "(mailfleetctl queue list --state uncertain)", len(rows))
        self._task = asyncio.create_task(self._loop(), name="sender")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, grace: float) -> None:
        self._stopping = True
        self._wake.set()
        tasks = [t for t in (self._task, *self._running.values()) if t is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._dispatch()
                wait = await self._next_wait()
            except Exception:  # noqa: BLE001 (the loop outlives a bad turn; it says so)
                log.exception("the sender's turn failed; trying again in a minute")
                wait = 60.0
            try:
                await asyncio.wait_for(self._wake.wait(), wait)  # woken by new mail, or when the next is due
            except TimeoutError:
                pass

    async def _dispatch(self) -> None:
        db, cfg = self.services.db, self.services.config.sending
        now = time.monotonic()
        for account_id in [a for a, until in self._paused.items() if until <= now]:
            del self._paused[account_id]  # waited enough
        for account_id in await outbox.due_accounts(db.read, utcnow()):
            if len(self._running) >= cfg.concurrency:
                return
            if account_id in self._running or self._paused.get(account_id, 0) > now:
                continue
            task = asyncio.create_task(self._drain(account_id), name=f"send-{account_id}")
            self._running[account_id] = task
            task.add_done_callback(lambda _t, a=account_id: self._finished(a))

    def _finished(self, account_id: int) -> None:
        self._running.pop(account_id, None)
        self._wake.set()  # another account may be waiting for the place

    async def _next_wait(self) -> float:
        if self._running:
            return 60.0  # a finishing drain wakes the loop
        soonest = await outbox.next_due_at(self.services.db.read)
        waits = [60.0]
        if soonest is not None:
            due = datetime.fromisoformat(soonest.replace("Z", "+00:00"))
            waits.append((due - datetime.now(UTC)).total_seconds())
        now = time.monotonic()
        waits += [until - now for until in self._paused.values() if until > now]
        return max(0.05, min(waits))

    # --- one account ------------------------------------------------------------------------------

    async def _drain(self, account_id: int) -> None:
        try:
            await self._drain_account(account_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 (one account's trouble never stops the others)
            log.exception("account %d: sending failed; trying again in a minute", account_id)
            self._paused[account_id] = time.monotonic() + 60  # not at once: the same trouble, in a loop

    async def _route(self, row: Any) -> Route:
        services = self.services
        if row["kind"] == "marketing":
            relay = services.config.relay
            if row["approval"] != "approved":
                raise NoRoute("the marketing account is not approved to send through the platform relay")
            if not relay.host:
                raise NoRoute("no platform relay is configured ([relay] host)")
            return Route(relay.host, relay.port, relay.security, relay.authenticate, relay.user, relay.password, None,
                         relay.verify_tls, relay.proxy or None)
        account = records.validated(row, services.secrets)
        s = account.smtp
        token = None
        if s.authenticate and s.auth == "oauth2":
            try:
                token = (await services.tokens.token(row["id"], account)).token
            except NoToken as exc:
                raise NoRoute(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None
        password = services.secrets.decrypt(row["smtp_password"]) if row["smtp_password"] else ""
        return Route(s.host, s.port, s.security, s.authenticate, s.user, password, token, s.verify_tls, s.proxy)

    async def _open(self, route: Route) -> aiosmtplib.SMTP:
        timeout = self.services.config.sending.timeout
        ctx = tls_context(route.verify_tls)
        sock = await open_connection(route.host, route.port, route.proxy, timeout)
        smtp = aiosmtplib.SMTP(hostname=route.host, use_tls=route.security == "ssl", start_tls=False,
                               tls_context=ctx, timeout=timeout)
        await smtp.connect(sock=sock)
        await smtp.ehlo()
        if route.security == "starttls":
            if not smtp.supports_extension("starttls"):
                raise aiosmtplib.SMTPException(f"{route.host} does not offer STARTTLS (never sent in plain text)")
            await smtp.starttls(tls_context=ctx)
            await smtp.ehlo()
        if route.authenticate:
            if route.token is not None:
                offered = smtp.esmtp_extensions.get("auth", "").upper().split()
                await sasl.smtp_authenticate(smtp, sasl.choose(offered), route.user, route.token, route.host,
                                             route.port)
            else:
                await smtp.login(route.user, route.password)
        return smtp

    async def _drain_account(self, account_id: int) -> None:
        services = self.services
        row = await account_store.get(services.db.read, account_id)
        if row is None:
            return
        wire = records.to_wire(row, services.secrets)
        try:
            route = await self._route(row)
        except NoRoute as exc:
            await self._hold(account_id, str(exc))
            return
        limits = records.validated(row, services.secrets).limits
        windows = limits.windows()
        window = await self._window(account_id)
        run = _Run(wire, route)
        try:
            while not self._stopping:
                due = await outbox.due(services.db.read, account_id, utcnow(), BATCH)
                if not due:
                    return
                details = await contact_store.existing(services.db.read, [r["recipient"] for r in due])
                for i, item in enumerate(due):
                    if self._stopping:
                        return
                    wait = window.wait(windows, limits.warmup_days, time.time())
                    if wait > 0:
                        await self._unprefetch(run)
                        await self._commit(run)  # nothing left unrecorded while waiting
                    if wait > LONG_WAIT:  # a day's or an hour's limit reached: the account waits, the place is freed
                        self._paused[account_id] = time.monotonic() + wait
                        return
                    if wait > 0:
                        await asyncio.sleep(wait)  # the account's limit: the pace it may send at
                    if run.smtp is None or not run.smtp.is_connected:
                        await self._unprefetch(run)
                        await self._commit(run)
                        try:
                            run.smtp = await self._open(route)
                        except (aiosmtplib.SMTPException, OSError, TimeoutError, ProxyFailed, sasl.TokenRefused,
                                sasl.NoMechanism) as exc:
                            await self._deferred(item, f"could not connect or sign in: {_words(exc)}", counted=False)
                            self._pause(account_id, item["attempts"] + 1)
                            return
                    contact = details.get(item["recipient"])
                    # The next one's `sending` is committed while this one is sent, when its turn will not
                    # have to wait for a limit: a commit a message, overlapped with the server's round trips.
                    nxt = due[i + 1] if i + 1 < len(due) and window.room(windows, limits.warmup_days,
                                                                         time.time()) >= 2 else None
                    going = await self._deliver(run, item, json.loads(contact["details"]) if contact else {}, nxt)
                    # Counted from when the server's answer came: the server saw the message before that, so
                    # the next one, a window later, reaches it a window later at least, whatever the latency.
                    window.record(time.time())
                    if not going:
                        return  # throttled or the connection is gone: this account waits
                await self._unprefetch(run)
                await self._commit(run)
        finally:
            await self._unprefetch(run)
            await self._commit(run)
            if run.smtp is not None and run.smtp.is_connected:
                try:
                    await asyncio.wait_for(run.smtp.quit(), 5)
                except Exception:  # noqa: BLE001 (saying goodbye is a courtesy)
                    run.smtp.close()

    async def _commit(self, run: "_Run", sending: Any | None = None) -> None:
        """One transaction: the messages the server took since the last one become `sent`, and `sending` is
        set on the next (so a message costs one commit, not two). Without a next one (a batch's end, a wait,
        the drain's end) the jobs it touched are checked for being done: not after every message, as that
        counts the job's rows."""
        if not run.sent and sending is None:
            return
        sent, run.sent = run.sent, []
        took = [(item["id"], reply) for item, reply in sent]
        run.touched.update(item["job_id"] for item, _ in sent)
        if sending is not None:
            await self.services.db.single(outbox.advance, took, sending["id"], utcnow())
        else:
            async with self.services.db.transaction() as tx:
                await outbox.advance(tx.conn, took, None, utcnow())
                if run.touched:
                    await self._finish(tx, sorted(run.touched))
                    run.touched.clear()
        if took:
            crash_point("send.sent_committed")
        for item, _ in sent:
            self._progress(item)

    async def _unprefetch(self, run: "_Run") -> None:
        """A message marked `sending` ahead whose turn did not come (a wait, a lost connection, the end):
        back to waiting, its try not counted. (Killed before this, it is `uncertain` at the next start:
        at most one message never begun may be among the uncertain ones.)"""
        item = await run.settle()
        if item is not None:
            async with self.services.db.transaction() as tx:
                await outbox.unsend(tx.conn, item["id"], utcnow())

    async def _finish(self, tx, job_ids: list[int]) -> None:
        for job, counts in await outbox.finish_jobs(tx.conn, job_ids, utcnow()):
            await tx.event("send.done", {"account_id": job["account_id"], "job": job["id"], "states": counts})

    async def _deliver(self, run: "_Run", item: Any, details: dict[str, str], nxt: Any | None) -> bool:
        """One message; `nxt`, the one after it, is marked `sending` meanwhile (None: not yet). True: go on
        with the next on this connection."""
        services, smtp, account = self.services, run.smtp, run.account
        body = run.bodies.get(item["job_id"])
        if body is None:
            body = await outbox.body(services.db.read, item["job_id"])
            if body is None:
                return True  # its job was deleted with the account
            if len(run.bodies) > 16:
                run.bodies.clear()
            run.bodies[item["job_id"]] = body
        envelope = envelope_sender(account)
        envelope = services.verp.address(envelope, item["id"]) if account.get("verp") else envelope
        try:
            (sender, utf8_from), (recipient, utf8_to) = smtp_path(envelope), smtp_path(item["recipient"])
            utf8 = utf8_from or utf8_to
            if utf8 and not smtp.supports_extension("smtputf8"):
                raise ValueError(f"{run.route.host} does not offer SMTPUTF8 (RFC 6531), which a non-ASCII "
                                 "local part needs")
            message = render(body, account, details, item["recipient"], item["message_id"])
        except (ValueError, UnicodeError) as exc:  # this message cannot go; the others can
            await run.take(item)  # marked `sending` ahead: that commit first, then `failed`
            await self._set(item, "failed", f"not sent: {_words(exc)}")
            return True
        if not await run.take(item):  # not marked ahead: now
            await self._unprefetch(run)
            await self._commit(run, sending=item)
        if nxt is not None:
            run.prefetch(nxt, self._commit(run, sending=nxt))  # its `sending`, committed while this one goes
        elif run.sent:
            await self._commit(run)  # no next one to carry the one before's 250: committed before this one goes
        crash_point("send.before_data")
        stage = "MAIL FROM"
        try:
            # The commands by hand: the addresses are ours and checked, so aiosmtplib's parsing of them (a
            # tenth of a message's cost) is spared, and a non-ASCII one goes as RFC 6531 says.
            answer = await smtp.execute_command(b"MAIL", b"FROM:" + sender, *([b"SMTPUTF8"] if utf8 else []))
            if answer.code != 250:
                raise aiosmtplib.SMTPSenderRefused(answer.code, answer.message, envelope)
            stage = "RCPT TO"
            answer = await smtp.execute_command(b"RCPT", b"TO:" + recipient)
            if answer.code not in (250, 251):
                raise aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, item["recipient"])
            stage = "DATA"
            reply = await smtp.data(message)
        except aiosmtplib.SMTPResponseException as exc:
            code, words = exc.code, printable(exc.message)
            if code >= 500:
                await self._refused(item, account, run.route.host, code, words, stage)
            else:
                await self._deferred(item, f"{code} {words}")
                if throttled(code, words):
                    self._pause(item["account_id"], item["attempts"] + 1)
                    return False
            try:
                await smtp.rset()
            except aiosmtplib.SMTPException:
                return False
            return True
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            if stage == "DATA":
                await self._set(item, "uncertain", f"the connection failed during DATA ({_words(exc)}): the server "
                                                   "may have the message")
            else:
                await self._deferred(item, f"the connection failed at {stage}: {_words(exc)}")
            return False
        crash_point("send.after_data")
        run.sent.append((item, f"{reply.code} {printable(reply.message)}"))  # committed with the next one's start
        return True

    async def _set(self, item: Any, state: str, reply: str, *, next_at: str | None = None,
                   tried: bool = False, tx_extra=None) -> None:
        async with self.services.db.transaction() as tx:
            await outbox.set_state(tx.conn, item["id"], state, utcnow(), reply=reply, next_at=next_at, tried=tried)
            if tx_extra is not None:
                await tx_extra(tx)
            await self._finish(tx, [item["job_id"]])
        self._progress(item)

    async def _deferred(self, item: Any, reply: str, *, counted: bool = True) -> None:
        """Try again later. `counted`: the try was counted when the message became `sending`; a try that
        never got that far (no connection, no route) is counted here."""
        cfg = self.services.config.sending
        tries = item["attempts"] + 1
        if tries >= cfg.max_attempts:
            await self._set(item, "failed", f"gave up after {tries} tries: {reply}", tried=not counted)
        else:
            await self._set(item, "deferred", reply, tried=not counted,
                            next_at=later(min(cfg.retry_base * 2 ** (tries - 1), MAX_DELAY)))

    async def _refused(self, item: Any, account: dict[str, Any], host: str, code: int, words: str, stage: str) -> None:
        """A 5xx: failed, and recorded as a bounce by the same rules as one read from the mailbox."""
        report = bounce_report(item, account["email"], host, code, words, stage)
        message = Fetched(ref="", size=len(report), raw=report)
        message.classify()
        rules, verp = self.services.config.bounces, self.services.verp

        async def record(tx) -> None:
            await marking.record(tx, rules, item["account_id"], [message], utcnow(), verp)

        await self._set(item, "failed", f"{code} {words} (at {stage})", tx_extra=record)

    async def _hold(self, account_id: int, why: str) -> None:
        """The account cannot send at all now: its due messages wait (deferred with the reason)."""
        for item in await outbox.due(self.services.db.read, account_id, utcnow(), BATCH):
            await self._deferred(item, why, counted=False)
        self._pause(account_id, 1)

    def _pause(self, account_id: int, tries: int) -> None:
        cfg = self.services.config.sending
        self._paused[account_id] = time.monotonic() + min(cfg.retry_base * 2 ** (tries - 1), MAX_DELAY)

    def _progress(self, item: Any) -> None:
        """A live event per job at most once a second: progress without a stored event per message."""
        now = time.monotonic()
        if now - self._progress_at.get(item["job_id"], 0) < 1.0:
            return
        self._progress_at[item["job_id"]] = now
        if len(self._progress_at) > 10_000:
            self._progress_at.clear()
        self.services.publish_live("send.progress", {"account_id": item["account_id"], "job": item["job_id"]})

    async def _window(self, account_id: int) -> Window:
        """The account's send times of the last day: kept while the daemon runs, read from the queue first."""
        window = self._windows.get(account_id)
        if window is None:
            since = datetime.fromtimestamp(time.time() - DAY, UTC).isoformat().replace("+00:00", "Z")
            window = self._windows[account_id] = Window(*await outbox.sent_times(self.services.db.read, account_id,
                                                                                 since))
        return window

    async def daily_limit(self, account_id: int, limits: SendLimits) -> tuple[int | None, bool]:
        """(the daily limit as it holds now, whether a warm-up has it below the one set)."""
        windows = limits.windows()
        if DAY not in windows:
            return None, False
        now = (await self._window(account_id)).allowed(windows, limits.warmup_days, time.time())[DAY]
        return now, now < windows[DAY]

    def paused(self, account_id: int) -> float | None:
        """Seconds until the account may send again (throttled, or a limit reached); None: it may."""
        left = self._paused.get(account_id, 0) - time.monotonic()
        return round(left, 1) if left > 0 else None


def _words(exc: BaseException) -> str:
    return printable(str(exc))[:300] or type(exc).__name__
