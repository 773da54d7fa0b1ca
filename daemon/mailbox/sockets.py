"""Opening a mail server connection, directly or through the account's proxy ("proxy mode").

Blocking (for the stdlib IMAP/POP3 clients in worker threads); the
asyncio SMTP probe has its own counterpart in probe/smtp.py.
"""

from __future__ import annotations

import functools
import socket
import ssl

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError
from python_socks.sync import Proxy


class ProxyFailed(Exception):
    """The proxy, not the mail server, refused or failed."""


PROXY_ERRORS = (ProxyError, ProxyConnectionError, ProxyTimeoutError)


@functools.cache
def tls_context(verify: bool) -> ssl.SSLContext:
    """Made once per kind and shared: building one loads the system CA store (milliseconds of CPU,
    which 200 tests at once would spend on the event loop). A restart picks up new CAs."""
    ctx = ssl.create_default_context()
    if not verify:  # the user turned verification off for this one account
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def open_socket(host: str, port: int, timeout: float, proxy: str | None) -> socket.socket:
    if not proxy:
        return socket.create_connection((host, port), timeout=timeout)
    try:
        sock = Proxy.from_url(proxy).connect(dest_host=host, dest_port=port, timeout=timeout)
    except PROXY_ERRORS as exc:
        raise ProxyFailed(f"proxy {proxy_label(proxy)}: {exc}") from None
    sock.settimeout(timeout)
    return sock


def proxy_label(proxy: str) -> str:
    """The proxy URL without credentials, for messages."""
    scheme, _, rest = proxy.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


class OnGivenSocket:
    """Mixin for the stdlib mail clients: use the socket we opened (proxied, TLS or not)
    instead of opening their own."""

    def __init__(self, sock: socket.socket, host: str, port: int, timeout: float) -> None:
        self._given = sock
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout):
        return self._given


def connect_client(factory, host: str, port: int, timeout: float, proxy: str | None, tls: bool, verify: bool):
    """TCP (or the proxy), then TLS when asked, then the client (whose constructor reads the greeting)."""
    sock = open_socket(host, port, timeout, proxy)
    try:
        if tls:
            sock = tls_context(verify).wrap_socket(sock, server_hostname=host)
        return factory(sock, host, port, timeout)
    except BaseException:
        sock.close()
        raise
