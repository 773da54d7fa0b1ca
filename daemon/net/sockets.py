"""Opening a mail server connection, directly or through the account's proxy ("proxy mode").

Blocking (for the stdlib IMAP/POP3 clients in worker threads); the
asyncio SMTP probe has its own counterpart in probe/smtp.py.
"""

from __future__ import annotations

import base64
import functools
import socket
import ssl
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

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
    if proxy.startswith("http://"):
        return http_connect(proxy, host, port, timeout)
    try:
        sock = Proxy.from_url(proxy).connect(dest_host=host, dest_port=port, timeout=timeout)
    except PROXY_ERRORS as exc:
        raise ProxyFailed(f"proxy {proxy_label(proxy)}: {exc}") from None
    sock.settimeout(timeout)
    return sock


MAX_PROXY_HEADER = 16384


def connect_request(proxy: str, host: str, port: int) -> bytes:
    url = urlsplit(proxy)
    auth = ""
    if url.username:
        token = base64.b64encode(f"{unquote(url.username)}:{unquote(url.password or '')}".encode()).decode()
        auth = f"Proxy-Authorization: Basic {token}\r\n"
    return f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n".encode()


class ConnectReply:
    """The proxy's answer to CONNECT, fed one byte at a time (by blocking or asyncio code alike):
    nothing past its header is read, since that already belongs to the mail server."""

    def __init__(self, proxy: str) -> None:
        self.proxy = proxy
        self.head = b""

    def feed(self, byte: bytes) -> bool:
        """True once the header is complete and says 200; raises ProxyFailed otherwise."""
        if not byte or len(self.head) > MAX_PROXY_HEADER:
            raise ProxyFailed(f"proxy {proxy_label(self.proxy)} closed the connection or answered nonsense")
        self.head += byte
        if not self.head.endswith(b"\r\n\r\n"):
            return False
        status_line = self.head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or parts[1] != "200":
            raise ProxyFailed(f"proxy {proxy_label(self.proxy)} refused: {status_line[:200]}")
        return True


def http_connect(proxy: str, host: str, port: int, timeout: float) -> socket.socket:
    """HTTP CONNECT, read to the end of the proxy's header and not one byte further: mail servers
    speak first, and their greeting may arrive in the same packet. (python-socks reads one whole
    packet and drops what follows the header, which loses the greeting now and then.)"""
    url = urlsplit(proxy)
    try:
        sock = socket.create_connection((url.hostname, url.port), timeout=timeout)
    except OSError as exc:
        raise ProxyFailed(f"proxy {proxy_label(proxy)}: {exc.strerror or exc}") from None
    try:
        sock.sendall(connect_request(proxy, host, port))
        reply = ConnectReply(proxy)
        while not reply.feed(sock.recv(1)):
            pass
        return sock
    except BaseException:
        sock.close()
        raise


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


def shut(sock: socket.socket | None) -> None:
    """Shut a socket down, from any thread: reads blocked on it return at once."""
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def connect_client(factory, host: str, port: int, timeout: float, proxy: str | None, tls: bool, verify: bool,
                   on_socket: Callable[[socket.socket], None] | None = None):
    """TCP (or the proxy), then TLS when asked, then the client (whose constructor reads the greeting).
    `on_socket` learns of each socket as soon as it exists, so another thread can cut a connection
    that hangs before the client object is even made (a server that accepts and never greets)."""
    sock = open_socket(host, port, timeout, proxy)
    try:
        if on_socket is not None:
            on_socket(sock)
        if tls:
            sock = tls_context(verify).wrap_socket(sock, server_hostname=host)
            if on_socket is not None:
                on_socket(sock)
        return factory(sock, host, port, timeout)
    except BaseException:
        sock.close()
        raise
