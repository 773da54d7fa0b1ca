"""An exception from the network (or a server's reply) as a sentence a sysadmin can act on."""

from __future__ import annotations

import ssl


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
