"""A probe's steps and verdict, and the error → category/hint rules shared by SMTP and incoming.

Categories: dns, refused, timeout, tls, starttls_missing, auth, protocol, proxy, ok.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..net.words import failure


@dataclass
class Step:
    name: str
    ok: bool
    ms: float
    detail: str = ""


class ProbeFailed(Exception):
    def __init__(self, category: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.category = category
        self.message = message
        self.hint = hint


@dataclass
class Report:
    """What accounts.test answers per protocol."""

    protocol: str
    steps: list[Step] = field(default_factory=list)
    ok: bool = False
    category: str = "ok"
    step: str | None = None
    message: str = ""
    hint: str = ""
    on_step: Callable[[Step], None] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol, "steps": [asdict(s) for s in self.steps], "ok": self.ok,
            "category": self.category, "step": self.step, "message": self.message, "hint": self.hint,
        }

    def record(self, step: Step) -> None:
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    def fail(self, name: str, started: float, failed: ProbeFailed) -> None:
        self.record(Step(name, False, _ms(started), failed.message))
        self.ok, self.category, self.step = False, failed.category, name
        self.message, self.hint = failed.message, failed.hint

    def succeed(self) -> None:
        self.ok, self.category, self.step = True, "ok", None
        self.message = "all steps passed"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def cert_summary(der: bytes | None) -> str:
    """Subject, issuer and expiry of a certificate, for the hint of a TLS failure."""
    if not der:
        return ""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return ""
    expires = cert.not_valid_after_utc
    state = "EXPIRED" if expires < datetime.now(UTC) else "expires"
    self_signed = " (self-signed)" if cert.issuer == cert.subject else ""
    return (f"subject {cert.subject.rfc4514_string()}, issuer {cert.issuer.rfc4514_string()}{self_signed}, "
            f"{state} {expires:%Y-%m-%d}")


def fetch_certificate(host: str, port: int, timeout: float, starttls_smtp: bool = False) -> bytes | None:
    """The server's certificate, fetched without verifying it (only to explain why verification failed)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            if starttls_smtp:
                f = raw.makefile("rb")
                f.readline()
                raw.sendall(b"EHLO mailfleet\r\n")
                while f.readline()[3:4] == b"-":  # the EHLO reply's continuation lines
                    pass
                raw.sendall(b"STARTTLS\r\n")
                f.readline()
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None


def explain(step: str, exc: BaseException, host: str, port: int, timeout: float) -> ProbeFailed:
    """Any exception from a step as a category, a message and a hint (net/words.py, as a round words it)."""
    if isinstance(exc, ProbeFailed):
        return exc
    said = failure(exc, step, host, port, timeout)
    return ProbeFailed(said.category, said.message, said.hint)
