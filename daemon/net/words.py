"""An exception from the network (or a server's reply) as words a sysadmin can act on: the one
translator, for connection tests and mailbox rounds alike (a refused port reads the same in both).

`failure` gives a category, a sentence and a hint, naming the server and the step when the caller
knows them; `describe` is its sentence alone, for a server's reply or where no server is named.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from .sockets import PROXY_ERRORS, ProxyFailed


@dataclass(frozen=True)
class Failure:
    category: str  # proxy, timeout, dns, refused, tls, protocol
    message: str
    hint: str = ""

    def sentence(self) -> str:
        return self.message + (f"; {self.hint}" if self.hint else "")


def failure(exc: BaseException, step: str = "", host: str | None = None, port: int | None = None,
            timeout: float | None = None) -> Failure:
    """Any exception of a step against host:port as a category, a message and a hint."""
    chain = _chain(exc)
    where = f"{host}:{port}" if host else "the server"
    proxy = next((e for e in chain if isinstance(e, (ProxyFailed, *PROXY_ERRORS))), None)
    if proxy is not None:
        return Failure("proxy", str(proxy), "check the proxy URL, that the proxy runs, and its user and password")
    if any(isinstance(e, TimeoutError) for e in chain) or "timed out" in str(exc).lower():
        hint = ("servers delay their answer to a wrong password, longer after each failure: check the password"
                if step == "auth" else "a firewall that drops packets, or a server that accepts and never speaks")
        within = f" within {timeout:g}s" if timeout else " in time"
        return Failure("timeout", f"no answer from {where}{within}" + (f" during {step}" if step else ""), hint)
    gai = next((e for e in chain if isinstance(e, socket.gaierror)), None)
    if gai is not None:
        return Failure("dns", f"{host or 'the host'} does not resolve: {gai.strerror}",
                       "check the host name's spelling and DNS")
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return Failure("refused", f"{where} refused the connection",
                       "nothing listens on that port: check the port and that the server runs")
    verify = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if verify is not None:
        return Failure("tls", f"certificate not trusted: {verify.verify_message}")
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        return Failure("tls", f"TLS failed: {getattr(tls, 'reason', None) or tls}")
    os_error = next((e for e in chain if isinstance(e, OSError) and e.strerror), None)
    if os_error is not None and step in ("", "connect", "dns"):  # later, a broken talk is the protocol's
        return Failure("refused", f"{where}: {os_error.strerror}", "check the host, port and firewall")
    if exc.args and all(isinstance(a, bytes) for a in exc.args):
        # imaplib and poplib raise with the server's reply as bytes: str() would show b'...'.
        return Failure("protocol", " ".join(a.decode("utf-8", "replace") for a in exc.args).strip()
                       or type(exc).__name__)
    return Failure("protocol", str(exc) or type(exc).__name__)


def describe(exc: BaseException | bytes | str) -> str:
    """An exception (or a server's reply) as a sentence: never a bare 'timed out', never b'...'."""
    if isinstance(exc, bytes):
        return exc.decode("utf-8", "replace")
    if isinstance(exc, str):
        return exc
    return failure(exc).message


def _chain(exc: BaseException) -> list[BaseException]:
    out, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out.append(current)
        current = current.__cause__ or current.__context__
    return out
