"""SMTP submission on the local host (aiosmtpd, on the daemon's own event loop): what existing mailers —
listmonk, Mautic, a script with smtplib — point their SMTP setting at.

A mailer signs in with a login made for it (`mailfleetctl submission add NAME`: only a scrypt hash of its
password is kept) and sends as the Unix user who made it: only through accounts that user may see, the
account chosen by the envelope sender (the account's address or reply address), else the From address.
A message is answered 250 only once it is committed to the queue; each recipient then gets a message of
their own, as through messages.send.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from ...shared.models import FieldErrors, MAX_RECIPIENTS
from ...shared.validators import check_email
from ..failpoints import crash_point
from ..storage import accounts as account_store
from ..storage import submission as login_store
from ..storage.db import utcnow
from .accept import accept
from .compose import body_of_message

if TYPE_CHECKING:
    from ..context import Services
    from ..identity import Caller
    from .sender import Sender

log = logging.getLogger(__name__)

# scrypt as RFC 7914 suggests for interactive logins (16 MiB, ~50 ms): a stolen database yields no password.
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_secret(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT)


def new_secret() -> tuple[str, bytes, bytes]:
    """(password, salt, hash) for a new login; the password is shown once and never kept."""
    password = secrets.token_urlsafe(24)
    salt = secrets.token_bytes(16)
    return password, salt, hash_secret(password, salt)


class Logins:
    """The active logins in memory (aiosmtpd asks synchronously), reloaded after each change. A password
    once checked is remembered by its SHA-256 for the daemon's life, so a mailer's thousand connections
    cost one scrypt."""

    def __init__(self) -> None:
        self._by_login: dict[str, Any] = {}
        self._checked: dict[str, bytes] = {}

    async def load(self, conn) -> None:
        self._by_login = {row["login"]: row for row in await login_store.active(conn)}
        self._checked.clear()

    def check(self, login: str, password: str) -> Any | None:
        row = self._by_login.get(login)
        if row is None:
            return None
        quick = hashlib.sha256(f"{login}\0{password}".encode()).digest()
        if hmac.compare_digest(self._checked.get(login, b""), quick):
            return row
        if not hmac.compare_digest(hash_secret(password, row["salt"]), row["secret_hash"]):
            return None
        self._checked[login] = quick
        return row


class _Handler:
    def __init__(self, services: "Services", logins: Logins, sender: "Sender",
                 caller_of: Callable[[str], "Caller | None"]) -> None:
        self.services, self.logins, self.sender, self.caller_of = services, logins, sender, caller_of

    def authenticate(self, server, session, envelope, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        row = self.logins.check(auth_data.login.decode("utf-8", "replace"), auth_data.password.decode("utf-8",
                                                                                                      "replace"))
        if row is None:
            log.warning("submission: a wrong login or password from %s", session.peer)
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=row)

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list[str]) -> str:
        try:
            check_email(address)
        except ValueError:
            return "553 5.1.3 not a valid recipient address"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return f"452 4.5.3 at most {MAX_RECIPIENTS} recipients a message: send the rest in another"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        login = session.auth_data
        caller = self.caller_of(login["user"])
        if caller is None:
            return "535 5.7.8 this login's user is unknown now"
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        try:
            body = body_of_message(raw)
        except FieldErrors:
            return "554 5.6.0 not an RFC 5322 message"
        froms = [addr for _, addr in getaddresses(_header_values(raw, b"from")) if addr]
        db = self.services.db
        row = await account_store.sending_as(db.read, caller.viewer, [envelope.mail_from or "", *froms])
        if row is None:
            return (f"550 5.7.1 no account {login['user']} may use sends as {envelope.mail_from or 'this sender'} "
                    "(the envelope sender or From must be an account's address)")
        if row["kind"] == "marketing" and row["approval"] != "approved":
            return "550 5.7.1 this marketing account is not approved to send yet"
        try:
            async with db.transaction() as tx:
                accepted = await accept(tx, row["id"], row["email"], login["user"], "smtp", body,
                                        [a.lower() for a in envelope.rcpt_tos])
                await login_store.used(tx.conn, login["id"], utcnow())
        except Exception:  # noqa: BLE001 (the mailer hears "try later", never a lost message)
            log.exception("submission: could not queue a message")
            return "451 4.3.0 could not queue the message now; try again"
        crash_point("send.after_commit")  # committed, the mailer not yet answered
        self.sender.wake()
        suppressed = f", {len(accepted.suppressed)} suppressed" if accepted.suppressed else ""
        return f"250 2.0.0 queued as job {accepted.job} ({accepted.queued} to send{suppressed})"


def _header_values(raw: bytes, name: bytes) -> list[str]:
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    values = []
    for line in raw[:end].replace(b"\r\n", b"\n").replace(b"\n ", b" ").replace(b"\n\t", b" ").split(b"\n"):
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name:
            values.append(value.decode("utf-8", "replace").strip())
    return values


class Submission:
    """The listener: started when [sending] submission names an address."""

    def __init__(self, services: "Services", sender: "Sender", caller_of: Callable[[str], "Caller | None"]) -> None:
        self.services = services
        self.logins = Logins()
        self.handler = _Handler(services, self.logins, sender, caller_of)
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        await self.logins.load(self.services.db.read)
        loopback = host in ("127.0.0.1", "::1", "localhost")
        max_bytes = self.services.config.daemon.max_message_bytes * 4

        def factory() -> SMTP:
            # AUTH without TLS only where nothing crosses a network: on this host.
            return SMTP(self.handler, hostname="mailfleet", authenticator=self.handler.authenticate,
                        auth_required=True, auth_require_tls=not loopback, data_size_limit=max_bytes,
                        decode_data=False)

        self._server = await asyncio.get_running_loop().create_server(factory, host, port)
        log.info("SMTP submission on %s:%d", host, port)

    async def reload(self) -> None:
        await self.logins.load(self.services.db.read)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
