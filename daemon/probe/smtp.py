"""The SMTP probe (aiosmtplib over a socket we open: directly or through the proxy).

DNS → connect → TLS (implicit) → greeting → EHLO → STARTTLS (offered and
taken: never a silent fallback to plain text) → AUTH → MAIL FROM → RCPT TO →
RSET, or DATA when a real test message is asked for.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from ...shared.models import SMTP_DEFAULT_PORTS
from ..net import sasl
from ..net.aconnect import connect_any, resolve, via_proxy
from ..net.sockets import proxy_label, tls_context
from .report import ProbeFailed, Report, Step, cert_summary, explain, fetch_certificate


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # none, starttls, ssl
    authenticate: bool
    user: str
    password: str = field(repr=False)
    verify_tls: bool
    proxy: str | None
    mail_from: str
    rcpt_to: str
    from_header: str = ""
    reply_to_header: str = ""
    token: str | None = field(default=None, repr=False)  # sign in with this OAuth bearer token (auth oauth2)


class _Stop(Exception):
    pass


def _port_hint(t: SmtpTarget) -> str:
    ports = SMTP_DEFAULT_PORTS
    if t.port == ports["ssl"] and t.security != "ssl":
        return f"port {t.port} expects TLS from the first byte: choose ssl (or port {ports['starttls']} with starttls)"
    if t.port in (ports["starttls"], ports["none"]) and t.security == "ssl":
        return f"port {t.port} speaks plain SMTP first: choose starttls (or port {ports['ssl']} with ssl)"
    return ""


def test_message(t: SmtpTarget, send_to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = t.from_header or t.mail_from
    if t.reply_to_header:
        msg["Reply-To"] = t.reply_to_header
    msg["To"] = send_to
    msg["Subject"] = "mailfleet connection test"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=t.mail_from.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("This is a test message from mailfleet: the account can send mail.\n")
    return bytes(msg)


async def probe_smtp(t: SmtpTarget, timeout: float, report: Report, send_to: str | None = None) -> Report:
    smtp: aiosmtplib.SMTP | None = None

    async def step(name: str, action, detail=lambda value: ""):
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                value = await action()
        except Exception as exc:
            failed = explain(name, exc, t.host, t.port, timeout)
            await _add_hints(failed, name, exc, t, timeout)
            report.fail(name, started, failed)
            raise _Stop from None
        report.record(Step(name, True, round((time.perf_counter() - started) * 1000, 1), detail(value)))
        return value

    try:
        if not t.proxy:
            infos = await step("dns", lambda: resolve(t.host, t.port), lambda v: ", ".join(sorted({i[4][0] for i in v})))
            sock = await step("connect", lambda: connect_any(infos), lambda s: "{}:{}".format(*s.getpeername()[:2]))
        else:
            sock = await step("connect", lambda: via_proxy(t.proxy, t.host, t.port, timeout),
                              lambda s: f"through {proxy_label(t.proxy)} (the proxy resolves {t.host})")
        ctx = tls_context(t.verify_tls)
        # hostname names the server for TLS; the socket is already connected, so no port.
        smtp = aiosmtplib.SMTP(hostname=t.host, use_tls=t.security == "ssl", start_tls=False,
                               tls_context=ctx, timeout=timeout, local_hostname="mailfleet.probe")
        greeting = await step("tls" if t.security == "ssl" else "greeting", lambda: smtp.connect(sock=sock),
                              lambda r: f"{r.code} {r.message[:200]}")
        del greeting
        await step("ehlo", smtp.ehlo, lambda r: "offers " + (", ".join(sorted(smtp.esmtp_extensions)) or "nothing"))
        if t.security == "starttls":
            if not smtp.supports_extension("starttls"):
                report.fail("starttls", time.perf_counter(), ProbeFailed(
                    "starttls_missing", f"{t.host}:{t.port} does not offer STARTTLS",
                    _port_hint(t) or "choose ssl if the server speaks TLS from the start, or ask for STARTTLS; "
                    "mailfleet never falls back to plain text"))
                raise _Stop
            await step("starttls", lambda: smtp.starttls(tls_context=ctx), lambda r: "TLS established")
            await step("ehlo", smtp.ehlo, lambda r: "offers " + ", ".join(sorted(smtp.esmtp_extensions)))
        if t.authenticate:
            if not smtp.supports_extension("auth"):
                hint = ("the server offers AUTH only after TLS: choose starttls" if t.security == "none"
                        else "the server offers no AUTH: turn authenticate off if it relays for you")
                report.fail("auth", time.perf_counter(), ProbeFailed("auth", "AUTH is not offered", hint))
                raise _Stop
            if t.token is not None:
                offered = smtp.esmtp_extensions.get("auth", "").upper().split()
                await step("auth", lambda: _bearer(smtp, offered, t),
                           lambda r: f"{r[0]} (offered: {', '.join(offered)}): {r[1].code} {r[1].message[:200]}")
            else:
                await step("auth", lambda: smtp.login(t.user, t.password), lambda r: f"{r.code} {r.message[:200]}")
        await step("mail_from", lambda: smtp.mail(t.mail_from), lambda r: f"{r.code} {r.message[:200]}")
        await step("rcpt_to", lambda: smtp.rcpt(t.rcpt_to if not send_to else send_to),
                   lambda r: f"{r.code} {r.message[:200]}")
        if send_to:
            await step("data", lambda: smtp.data(test_message(t, send_to)), lambda r: f"sent: {r.message[:200]}")
        else:
            await step("rset", smtp.rset, lambda r: "no message sent")
        report.succeed()
    except _Stop:
        pass
    finally:
        if smtp is not None and smtp.is_connected:
            try:
                async with asyncio.timeout(2):
                    await smtp.quit()
            except Exception:
                smtp.close()
    return report


async def _bearer(smtp: aiosmtplib.SMTP, offered: list[str], t: SmtpTarget):
    mechanism = sasl.choose(offered)
    return mechanism, await sasl.smtp_authenticate(smtp, mechanism, t.user, t.token or "", t.host, t.port)


async def _add_hints(failed: ProbeFailed, step: str, exc: BaseException, t: SmtpTarget, timeout: float) -> None:
    """Server words where the server spoke; the likely fix where one is known."""
    if isinstance(exc, (sasl.TokenRefused, sasl.NoMechanism)):
        failed.category, failed.message = "auth", str(exc)
        failed.hint = exc.hint if isinstance(exc, sasl.TokenRefused) else "sign in with a password, or ask the " \
            "server's admin for XOAUTH2 (Microsoft 365: SMTP AUTH must be enabled for the mailbox)"
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        failed.message = f"{exc.code} {exc.message}"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            failed.category, failed.hint = "auth", "the server refused this user name and password"
        elif step == "mail_from":
            failed.hint = "the server refused the account's address as sender"
        elif step == "rcpt_to":
            failed.hint = "the server refused the test recipient ([probe] rcpt_to)"
    if failed.category == "tls":
        if not failed.hint:
            failed.hint = _port_hint(t)
        if "certificate" in failed.message and not t.proxy:
            der = await asyncio.to_thread(fetch_certificate, t.host, t.port, timeout, t.security == "starttls")
            summary = cert_summary(der)
            failed.hint = (f"the server's certificate: {summary}. " if summary else "") + (
                "Turn off verify_tls for this account only if you trust this server.")
    elif failed.category == "timeout" and not failed.hint:
        failed.hint = _port_hint(t) or failed.hint
    elif failed.category == "protocol" and not failed.hint:
        failed.hint = _port_hint(t)
