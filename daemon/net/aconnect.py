"""Opening a TCP connection from the event loop: directly (every address in turn) or through the
account's proxy (SOCKS5 with python-socks, or HTTP CONNECT). What the SMTP test and the sender stand on;
the blocking twins for the IMAP/POP3 threads are in sockets.py."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from python_socks.async_.asyncio import Proxy

from .sockets import PROXY_ERRORS, ConnectReply, ProxyFailed, connect_request, proxy_label


async def resolve(host: str, port: int):
    """getaddrinfo, except for an IP address (no thread hop for what needs no lookup)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]


async def connect_any(infos) -> socket.socket:
    """The first of the resolved addresses that accepts."""
    last: Exception | None = None
    loop = asyncio.get_running_loop()
    for family, type_, proto, _, address in infos:
        sock = socket.socket(family, type_, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError("no address to connect to")


async def via_proxy(proxy: str, host: str, port: int, timeout: float) -> socket.socket:
    if proxy.startswith("http://"):
        return await _http_connect(proxy, host, port)
    try:
        return await Proxy.from_url(proxy).connect(dest_host=host, dest_port=port, timeout=timeout)
    except PROXY_ERRORS as exc:
        raise ProxyFailed(f"proxy {proxy_label(proxy)}: {exc}") from None


async def open_connection(host: str, port: int, proxy: str | None, timeout: float) -> socket.socket:
    """A connected socket to host:port, through the proxy when there is one, within `timeout`."""
    async with asyncio.timeout(timeout):
        if proxy:
            return await via_proxy(proxy, host, port, timeout)
        return await connect_any(await resolve(host, port))


async def _http_connect(proxy: str, host: str, port: int) -> socket.socket:
    """HTTP CONNECT without reading past the proxy's header (see sockets.http_connect)."""
    loop = asyncio.get_running_loop()
    url = urlsplit(proxy)
    try:
        infos = await loop.getaddrinfo(url.hostname, url.port, type=socket.SOCK_STREAM)
        sock = await connect_any(infos)
    except OSError as exc:
        raise ProxyFailed(f"proxy {proxy_label(proxy)}: {exc.strerror or exc}") from None
    try:
        await loop.sock_sendall(sock, connect_request(proxy, host, port))
        reply = ConnectReply(proxy)
        while not reply.feed(await loop.sock_recv(sock, 1)):
            pass
        return sock
    except BaseException:
        sock.close()
        raise
