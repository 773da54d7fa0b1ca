"""Running connection tests: many accounts at once under a bound, steps published live.

A test of a saved account is stored and moves the account's status; a test
of unsaved form values (accounts.test {account}) is only answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ...shared.headers import sender_headers
from ...shared.models import AccountBase
from ..net.settings import IncomingSettings
from ..admission import FairLimiter
from .incoming import probe_incoming
from ..oauth.broker import NoToken
from .report import ProbeFailed, Report, Step
from .smtp import SmtpTarget, probe_smtp
from .watchdog import Watchdog

if TYPE_CHECKING:
    from ..context import Services


class Prober:
    def __init__(self, services: "Services") -> None:
        self.services = services
        # Fair between users: one caller's thousand queued tests never keep another's first one waiting
        # more than a turn, and no user holds more than concurrency_per_user of the places.
        self._slots = FairLimiter(services.config.probe.concurrency, services.config.probe.concurrency_per_user)
        # The IMAP/POP3 probes block on the network in threads: one thread per test allowed at once,
        # not the default executor's handful, or tests would queue for threads instead of servers.
        self._threads = ThreadPoolExecutor(max_workers=services.config.probe.concurrency, thread_name_prefix="probe")
        self._deadlines = Watchdog()  # for the steps those threads run

    def _smtp_target(self, account: AccountBase, smtp_password: str) -> SmtpTarget | None:
        cfg = self.services.config
        headers = sender_headers(account.model_dump(), {})
        if not (account.reply_to_email or account.reply_to_name):
            headers["reply_to"] = ""  # no Reply-To header unless the account has one
        rcpt = cfg.probe.rcpt_to or account.email
        if account.kind == "marketing":
            relay = cfg.relay
            if not relay.host:
                return None
            return SmtpTarget(relay.host, relay.port, relay.security, relay.authenticate, relay.user, relay.password,
                              relay.verify_tls, relay.proxy or None, account.email, rcpt, headers["from"],
                              headers["reply_to"])
        s = account.smtp
        return SmtpTarget(s.host, s.port, s.security, s.authenticate, s.user, smtp_password, s.verify_tls, s.proxy,
                          account.email, rcpt, headers["from"], headers["reply_to"])

    def _incoming(self, account: AccountBase, password: str) -> IncomingSettings | None:
        inc = getattr(account, "incoming", None)
        if inc is None:
            return None
        return IncomingSettings(
            protocol=inc.protocol, host=inc.host, port=inc.port, user=inc.user, password=password, ssl=inc.ssl,
            verify_tls=inc.verify_tls, folder=inc.folder, batch_size=inc.batch_size,
            timeout=self.services.config.probe.timeout, max_message_bytes=0,
            proxy=account.smtp.proxy if account.kind == "own" else None,
        )

    async def test(self, account: AccountBase, passwords: dict[str, str], job: str,
                   send_to: str | None = None, account_id: int | None = None, *, caller: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        timeout = self.services.config.probe.timeout

        def live(protocol: str):
            def publish(step: Step) -> None:
                data = {"job": job, "account_id": account_id, "protocol": protocol, "step": step.name,
                        "ok": step.ok, "ms": step.ms, "detail": step.detail, "by": caller}
                loop.call_soon_threadsafe(self.services.publish_live, "probe.step", data)
            return publish

        async with self._slots.slot(caller):
            started = time.perf_counter()
            smtp_target = self._smtp_target(account, passwords.get("smtp", ""))
            smtp_report = Report("smtp", on_step=live("smtp"))
            incoming = self._incoming(account, passwords.get("incoming", ""))
            in_report = Report(incoming.protocol, on_step=live(incoming.protocol)) if incoming else None
            # One token for both directions (one refresh, however many protocols sign in with it); the
            # step that got it is the first of each protocol that uses it.
            needs = [r for r, uses in ((smtp_report, smtp_target is not None and account.kind == "own"
                                        and account.smtp.auth == "oauth2" and account.smtp.authenticate),
                                       (in_report, incoming is not None and account.incoming.auth == "oauth2"))
                     if uses]
            if needs:
                token = await self._token(account, account_id, passwords.get("oauth2"), needs)
                if smtp_report in needs:
                    smtp_target = None if token is None else dataclasses.replace(smtp_target, token=token)
                if in_report in needs:
                    incoming = None if token is None else dataclasses.replace(incoming, token=token)
            if smtp_target is None and not smtp_report.steps:
                smtp_report.category, smtp_report.step = "protocol", "config"
                smtp_report.message = "no platform relay is configured ([relay] host in mailfleetd.toml)"
                smtp_task = _already(smtp_report)
            elif smtp_target is None:
                smtp_task = _already(smtp_report)  # no token: the token step says why
            else:
                smtp_task = probe_smtp(smtp_target, timeout, smtp_report, send_to)
            if incoming is not None:
                smtp_done, in_done = await asyncio.gather(
                    smtp_task, loop.run_in_executor(self._threads, probe_incoming, incoming, in_report, self._deadlines))
            else:
                smtp_done, in_done = await smtp_task, in_report
        result: dict[str, Any] = {
            "job": job,
            "ok": smtp_done.ok and (in_done is None or in_done.ok),
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "smtp": smtp_done.to_json(),
            "incoming": in_done.to_json() if in_done else None,
        }
        if account.kind == "marketing":
            result["relay"] = f"{smtp_target.host}:{smtp_target.port}" if smtp_target else None
        return result

    async def _token(self, account: AccountBase, account_id: int | None, typed_secret: str | None,
                     reports: list[Report]) -> str | None:
        """The access token the protocols sign in with, as the first step of each (from the cache,
        refreshed, or issued); None after recording why there is none."""
        started = time.perf_counter()
        try:
            obtained = await self.services.tokens.token(account_id, account, typed_secret)
        except NoToken as exc:
            for report in reports:
                report.fail("token", started, ProbeFailed(exc.category, exc.message, exc.hint))
            return None
        source = {"cache": "from the cache", "refreshed": "refreshed", "issued": "issued"}[obtained.source]
        for report in reports:
            report.record(Step("token", True, round((time.perf_counter() - started) * 1000, 1),
                               f"{source}, good for {obtained.expires_in / 60:.0f} more minutes"))
        return obtained.token

    async def folders(self, account: AccountBase, password: str, *, caller: str) -> dict[str, Any]:
        """The IMAP server's folder names, for the form to pick from: the test's layers up to the login,
        then LIST, under the same per-caller places as tests."""
        incoming = self._incoming(account, password)
        if incoming is None or incoming.protocol != "imap":
            return {"ok": False, "folders": [], "message": "only IMAP has folders (POP3 reads the one inbox)"}
        names: list[str] = []
        report = Report("imap")
        async with self._slots.slot(caller):
            await asyncio.get_running_loop().run_in_executor(self._threads, probe_incoming, incoming, report,
                                                             self._deadlines, names)
        result = report.to_json()
        return {"ok": result["ok"], "folders": names, "message": result["message"], "hint": result["hint"],
                "incoming": result}

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


async def _already(report: Report) -> Report:
    return report


def summary(result: dict[str, Any]) -> str:
    """One line for the account's status detail."""
    for key in ("smtp", "incoming"):
        part = result.get(key)
        if part and not part["ok"]:
            return f"{key} {part['step']}: {part['message']}"[:500]
    return ""


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, ensure_ascii=False)
