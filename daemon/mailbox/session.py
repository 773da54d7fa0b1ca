"""What both protocol sessions share: settings, errors, fetched messages.

Sessions are blocking (imaplib, poplib) and run in a worker thread: the
stdlib IMAP client fetches about ten times faster than aioimaplib here
(bench/poll.py), and a round is one thread doing one conversation.
"""

from __future__ import annotations

import hashlib
import ssl
from email import message_from_bytes
from email.policy import compat32
from collections.abc import Callable
from dataclasses import dataclass, field

from ...shared.bounces import Verdict, classify
from .sockets import shut


class MailboxError(Exception):
    """A round failed at `step`; the message says why in words a sysadmin can act on."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


@dataclass(frozen=True)
class IncomingSettings:
    protocol: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    ssl: bool
    verify_tls: bool
    folder: str
    batch_size: int
    timeout: float
    max_message_bytes: int
    proxy: str | None = None


@dataclass
class Fetched:
    """One message of a round: where it is on the server, and what it is."""

    ref: str  # IMAP UID or POP3 UIDL: what a delete needs
    size: int
    raw: bytes | None = None  # None: skipped (too big)
    verdict: Verdict | None = None

    @property
    def key(self) -> str:
        """What makes a message the same message, even if the server renumbers it."""
        return message_key(self.verdict.message_id if self.verdict else None, self.raw or self.ref.encode())

    def classify(self) -> None:
        if self.raw is not None:
            self.verdict = classify(self.raw)


def message_key(message_id: str | None, raw: bytes) -> str:
    """A message's key (as `seen_messages` and `bounces` keep it): its Message-ID, else a hash of it whole."""
    if message_id:
        return "mid:" + message_id.strip("<> \t")[:400]
    return "sha:" + hashlib.sha256(raw).hexdigest()[:40]


def header_message_id(header: bytes) -> str | None:
    """The Message-ID of a message's header section, read as the classifier reads it (the first one,
    stripped, cut at 500), so that a key made from the header alone is the key the round stored."""
    values = message_from_bytes(header, policy=compat32).get_all("message-id")
    return str(values[0]).strip()[:500] or None if values else None


class Session:
    """What the IMAP and POP3 conversations share: connecting and logging in with errors a
    sysadmin can act on, being cut from another thread, and saying goodbye."""

    refused: type[Exception] = Exception  # the protocol's "no" to a user name and password

    def __init__(self, settings: IncomingSettings) -> None:
        self.s = settings
        self.conn = None
        self._sock = None  # the connection's socket from the moment it exists: what abort() cuts
        self._aborted = False

    def _opened(self, sock) -> None:
        self._sock = sock
        if self._aborted:
            shut(sock)

    def _connect_and_login(self, connect: Callable, login: Callable) -> None:
        s = self.s
        try:
            self.conn = connect(s, on_socket=self._opened)
        except Exception as exc:
            raise MailboxError("connect", f"{s.host}:{s.port}: {describe(exc)}") from None
        try:
            login(self.conn)
        except self.refused as exc:
            raise MailboxError("login", f"the server refused the user name or password ({describe(exc)})") from None
        except Exception as exc:
            raise MailboxError("login", describe(exc)) from None

    def abort(self) -> None:
        """Cut the connection from another thread: a call blocked on it ends with an error (and
        with no goodbye, a POP3 server keeps every message, DELEs included)."""
        self._aborted = True
        shut(getattr(self.conn, "sock", None) or self._sock)

    def close(self) -> None:
        """Say goodbye (IMAP LOGOUT; POP3 QUIT, which commits the DELEs)."""
        if self.conn is None:
            return
        try:
            self._goodbye(self.conn)
        except Exception:
            pass
        self.conn = None

    def _goodbye(self, conn) -> None:
        raise NotImplementedError


# Starts classifying a batch of fetched messages; what it returns waits until they all have verdicts.
Classify = Callable[[list[Fetched]], Callable[[], None]]


def classify_here(messages: list[Fetched]) -> Callable[[], None]:
    """In the calling thread, at once."""
    for message in messages:
        message.classify()
    return lambda: None


def describe(exc: BaseException | bytes | str) -> str:
    """An exception (or a server's reply) as a sentence: never a bare 'timed out', never b'...'."""
    if isinstance(exc, bytes):
        return exc.decode("utf-8", "replace")
    if isinstance(exc, str):
        return exc
    if type(exc).__name__ == "ProxyFailed":
        return str(exc)
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return "the server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the port right, is the server running?)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if exc.args and all(isinstance(a, bytes) for a in exc.args):
        # imaplib and poplib raise with the server's reply as bytes: str() would show b'...'.
        return " ".join(a.decode("utf-8", "replace") for a in exc.args).strip() or type(exc).__name__
    return str(exc) or type(exc).__name__
