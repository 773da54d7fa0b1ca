"""What both protocol sessions share: errors, connecting and logging in, being cut, saying goodbye.

Sessions are blocking (imaplib, poplib) and run in a worker thread: the
stdlib IMAP client fetches about ten times faster than aioimaplib here
(bench/poll.py), and a round is one thread doing one conversation.
"""

from __future__ import annotations

from collections.abc import Callable

from ..messages import Fetched
from ..net import sasl
from ..net.settings import IncomingSettings
from ..net.sockets import shut
from ..net.words import describe, failure


class MailboxError(Exception):
    """A round failed at `step`; the message says why in words a sysadmin can act on."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


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
            # The words a connection test uses for the same failure (net/words.py).
            raise MailboxError("connect", failure(exc, "connect", s.host, s.port, s.timeout).sentence()) from None
        try:
            if s.token is not None:
                self.conn.login_bearer(s.user, s.token)
            else:
                login(self.conn)
        except (sasl.TokenRefused, sasl.NoMechanism) as exc:
            hint = f"; {exc.hint}" if isinstance(exc, sasl.TokenRefused) else ""
            raise MailboxError("login", f"{exc}{hint}") from None
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
