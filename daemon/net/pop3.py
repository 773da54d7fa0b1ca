"""The stdlib POP3 client over a socket we opened, with a bound on what a server may send."""

from __future__ import annotations

import base64
import poplib

from . import sasl
from .settings import IncomingSettings
from .sockets import OnGivenSocket, connect_client


class SocketPOP3(OnGivenSocket, poplib.POP3):
    """The stdlib client over a socket we opened. A multi-line answer longer than `max_response`
    ends the session: a server that lies about a message's size, or never sends the closing
    ".", cannot make the daemon read without end."""

    max_response = 32 << 20

    def login_bearer(self, user: str, token: str) -> str:
        """Sign in with a token by the mechanism the server lists in CAPA's SASL line (RFC 5034); a server
        without CAPA is tried with XOAUTH2. Returns the mechanism."""
        try:
            offered = self.capa().get("SASL", [])
        except poplib.error_proto:
            offered = ["XOAUTH2"]
        mechanism = sasl.choose(offered)
        self.authenticate_bearer(mechanism, user, token, self.host, self.port)
        return mechanism

    def authenticate_bearer(self, mechanism: str, user: str, token: str, host: str = "", port: int = 0) -> bytes:
        """AUTH XOAUTH2 or OAUTHBEARER (RFC 5034) in two steps: the command alone, the server's empty "+ ",
        then the response (Microsoft 365 refuses it on the AUTH line itself). The stdlib client has no
        SASL. A refusal is "+ " and the base64 JSON error, our empty answer, then -ERR: it raises
        sasl.TokenRefused with the server's reasons."""
        self._shortcmd(f"AUTH {mechanism}")  # "+ ": go on (an -ERR raises error_proto: no such mechanism)
        self._putcmd(base64.b64encode(sasl.initial_response(mechanism, user, token, host, port)).decode())
        line, _ = self._getline()
        if line.startswith(b"+OK"):
            return line
        if line.startswith(b"+"):
            self._putcmd(base64.b64encode(sasl.ABORT[mechanism]).decode())
            final, _ = self._getline()
            raise sasl.refusal(line[1:].strip(), fallback=final.decode("utf-8", "replace"))
        raise sasl.refusal(b"", fallback=line.decode("utf-8", "replace"))

    def _getlongresp(self):
        # poplib's own loop, with a limit.
        resp = self._getresp()
        lines, octets = [], 0
        line, o = self._getline()
        while line != b".":
            if line.startswith(b".."):
                o -= 1
                line = line[1:]
            octets += o
            if octets > self.max_response:
                raise poplib.error_proto(f"the server sent more than {self.max_response} bytes in one answer")
            lines.append(line)
            line, o = self._getline()
        return resp, lines, octets


def connect(s: IncomingSettings, on_socket=None) -> poplib.POP3:
    conn = connect_client(SocketPOP3, s.host, s.port, s.timeout, s.proxy, s.ssl, s.verify_tls, on_socket)
    # A message is at most the cap; a listing of a very big mailbox may be longer than that.
    conn.max_response = max(s.max_message_bytes + 65536, 32 << 20)
    return conn
