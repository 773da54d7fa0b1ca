"""The stdlib IMAP client over a socket we opened, with bounds on what a server may send."""

from __future__ import annotations

import base64
import imaplib

from . import sasl, utf7
from .settings import IncomingSettings
from .sockets import OnGivenSocket, connect_client

MAX_UID = 2**32 - 1  # RFC 3501: UIDs (and UIDVALIDITY) are 32-bit, non-zero
FETCH_CHUNK = 500  # messages a round asks for in one FETCH: what the untagged bounds below allow for


def quote_folder(folder: str) -> str:
    """A folder name as SELECT takes it: modified UTF-7 (RFC 3501), then quoted."""
    encoded = utf7.encode(folder)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SocketIMAP4(OnGivenSocket, imaplib.IMAP4):
    """The stdlib client over a socket we opened. A literal longer than `max_literal` ends the
    session: a server that lies about sizes cannot make the daemon read without end."""

    max_literal = 1 << 20
    # What one command's untagged answer may hold. The largest we ask for is a FETCH of FETCH_CHUNK
    # messages (a few lines and one literal each); a server flooding "* 1 EXISTS" during a SEARCH
    # would otherwise fill memory until the round's deadline. imaplib keeps untagged data until
    # someone asks for it, so what a command left behind is dropped when the next one starts.
    max_untagged_lines = 20 * FETCH_CHUNK + 10_000
    max_untagged_text = 16 << 20  # bytes besides literals (each bounded by max_literal)
    _untagged_lines = _untagged_text = 0  # of the command under way (the greeting counts from zero too)

    def login_bearer(self, user: str, token: str) -> str:
        """Sign in with a token by the mechanism the server offers (AUTH=... in its capabilities); returns it."""
        mechanism = sasl.choose([c[5:] for c in self.capabilities if c.upper().startswith("AUTH=")])
        self.authenticate_bearer(mechanism, user, token, self.host, self.port)
        return mechanism

    def authenticate_bearer(self, mechanism: str, user: str, token: str, host: str = "", port: int = 0):
        """AUTHENTICATE XOAUTH2 or OAUTHBEARER (daemon/net/sasl.py). A refusal raises sasl.TokenRefused
        with the server's reasons, decoded from the challenge it sends before its NO."""
        challenges: list[bytes] = []

        def respond(challenge: bytes) -> bytes:
            if not challenges and not challenge:
                challenges.append(b"")  # the server's empty "+ ": our response
                return sasl.initial_response(mechanism, user, token, host, port)
            challenges.append(challenge)  # its error, after our response: end the exchange
            return sasl.ABORT[mechanism]

        try:
            return self.authenticate(mechanism, respond)
        except self.error as exc:
            said = next((c for c in challenges[1:] if c), b"")
            raise sasl.refusal(base64.b64encode(said) if said else b"", fallback=str(exc)) from None

    def read(self, size: int) -> bytes:
        if size > self.max_literal:
            raise self.abort(f"the server announced {size} bytes where at most {self.max_literal} were asked for")
        return super().read(size)

    def _command(self, name, *args):
        self._untagged_lines = self._untagged_text = 0
        for kept in [k for k in self.untagged_responses if k not in ("OK", "PREAUTH")]:
            del self.untagged_responses[kept]
        return super()._command(name, *args)

    def _append_untagged(self, typ, dat):
        self._untagged_lines += 1
        text = dat[0] if isinstance(dat, tuple) else dat
        self._untagged_text += len(text or b"")
        if self._untagged_lines > self.max_untagged_lines or self._untagged_text > self.max_untagged_text:
            example = (text or b"")[:80].decode("ascii", "replace")
            raise self.abort(f"the server sent more than {self.max_untagged_lines} lines or "
                             f"{self.max_untagged_text >> 20} MiB in answer to one command (like {typ} {example!r})")
        super()._append_untagged(typ, dat)


def connect(s: IncomingSettings, on_socket=None) -> imaplib.IMAP4:
    conn = connect_client(SocketIMAP4, s.host, s.port, s.timeout, s.proxy, s.ssl, s.verify_tls, on_socket)
    conn.max_literal = max(s.max_message_bytes, 1 << 20) + 65536  # what BODY.PEEK[]<0.cap> may send, and slack
    return conn
