"""The IMAP and POP3 probes: the stdlib clients in a worker thread, as the reader uses them.

DNS → connect (or the proxy) → TLS (when ssl) → greeting and capabilities →
login → IMAP: SELECT the folder (message count, UIDVALIDITY); POP3: STAT.
"""

from __future__ import annotations

import imaplib
import poplib
import re
import socket
import threading
import time

from ...shared.models import INCOMING_DEFAULT_PORTS
from ..net import sasl, utf7
from ..net.imap import SocketIMAP4, quote_folder
from ..net.pop3 import SocketPOP3
from ..net.settings import IncomingSettings
from ..net.sockets import open_socket, proxy_label, shut, tls_context
from .report import ProbeFailed, Report, Step, cert_summary, explain, fetch_certificate
from .watchdog import Watchdog


_LIST_NAME = re.compile(r'\) (?:"[^"]*"|NIL) (.+)$')


class _Stop(Exception):
    pass


def probe_incoming(s: IncomingSettings, report: Report, watchdog: Watchdog, folders: list[str] | None = None) -> Report:
    """Walk the layers and record each step in `report`. Given a `folders` list (IMAP), the last step lists
    the server's folders into it (decoded from modified UTF-7) instead of opening the account's folder."""
    conn = None
    live: list[socket.socket] = []  # the connection once it exists: what a step's deadline cuts

    def step(name: str, action, detail=lambda value: ""):
        started = time.perf_counter()
        # The socket timeout bounds each read; this bounds the step. A server that answers
        # a line at a time, each in time, and never finishes is cut off here.
        expired = threading.Event()

        def cut_off() -> None:
            expired.set()
            for sock in live:
                shut(sock)

        deadline = watchdog.arm(s.timeout, cut_off)
        try:
            value = action()
        except Exception as exc:
            if expired.is_set():
                failed = ProbeFailed("timeout", f"{s.host}:{s.port} kept answering but did not finish {name} within "
                                                f"{s.timeout:g}s", "a server that is overloaded, or that stalls on purpose")
            else:
                failed = explain(name, exc, s.host, s.port, s.timeout)
                _hints(failed, name, exc, s)
            report.fail(name, started, failed)
            raise _Stop from None
        finally:
            deadline.disarm()
        report.record(Step(name, True, round((time.perf_counter() - started) * 1000, 1), detail(value)))
        return value

    try:
        if not s.proxy:
            step("dns", lambda: socket.getaddrinfo(s.host, s.port, type=socket.SOCK_STREAM),
                 lambda v: ", ".join(sorted({i[4][0] for i in v})))
        sock = step("connect", lambda: open_socket(s.host, s.port, s.timeout, s.proxy),
                    lambda v: f"through {proxy_label(s.proxy)}" if s.proxy else "{}:{}".format(*v.getpeername()[:2]))
        live.append(sock)
        if s.ssl:
            sock = step("tls", lambda: tls_context(s.verify_tls).wrap_socket(sock, server_hostname=s.host),
                        lambda v: v.version() or "TLS")
            live.append(sock)  # wrapping took the descriptor over: cut this one
        if s.protocol == "imap":
            conn = step("greeting", lambda: SocketIMAP4(sock, s.host, s.port, s.timeout),
                        lambda c: "offers " + ", ".join(sorted(c.capabilities)))
            if s.token is not None:
                step("auth", lambda: conn.login_bearer(s.user, s.token), lambda m: f"{m} (offered: " + ", ".join(
                    sorted(c[5:] for c in conn.capabilities if c.upper().startswith("AUTH="))) + "): logged in")
            else:
                step("auth", lambda: _ok(conn.login(s.user, s.password)), lambda r: "logged in")
            if folders is not None:
                step("list", lambda: folders.extend(_folder_names(conn)), lambda v: f"{len(folders)} folders")
            else:
                step("select", lambda: _select(conn, s.folder), lambda v: v)
        else:
            conn = step("greeting", lambda: SocketPOP3(sock, s.host, s.port, s.timeout),
                        lambda c: c.getwelcome().decode(errors="replace")[:200])
            if s.token is not None:
                step("auth", lambda: conn.login_bearer(s.user, s.token), lambda m: f"{m}: logged in")
            else:
                step("auth", lambda: (conn.user(s.user), conn.pass_(s.password)), lambda r: "logged in")
            step("stat", conn.stat, lambda v: f"{v[0]} messages, {v[1]} bytes")
        report.succeed()
    except _Stop:
        pass
    finally:
        if conn is not None:
            try:
                conn.logout() if s.protocol == "imap" else conn.quit()
            except Exception:
                pass
    return report


def _ok(result):
    typ, data = result
    if typ != "OK":
        raise ProbeFailed("auth", (data[0] or b"").decode(errors="replace"))
    return result


def _folder_names(conn: imaplib.IMAP4) -> list[str]:
    """The server's folders (LIST "" "*"), as people read them: modified UTF-7 decoded (RFC 3501 5.1.3)."""
    typ, listing = conn.list()
    if typ != "OK":
        raise ProbeFailed("protocol", f"the server refused LIST: {(listing[0] or b'').decode(errors='replace')}")
    return [utf7.decode(m.group(1).strip('"')) for line in listing or [] if isinstance(line, bytes)
            and (m := _LIST_NAME.search(line.decode(errors="replace")))]


def _select(conn: imaplib.IMAP4, folder: str) -> str:
    typ, data = conn.select(quote_folder(folder), readonly=True)
    if typ != "OK":
        names = _folder_names(conn)
        raise ProbeFailed("protocol", f"no folder named {folder!r} ({(data[0] or b'').decode(errors='replace')})",
                          f"folders on the server: {', '.join(names[:20]) or 'none listed'}")
    uidvalidity = conn.untagged_responses.get("UIDVALIDITY", [b"?"])[-1]
    count = data[0] if data and isinstance(data[0], bytes) and data[0].isdigit() else None
    if count is None or uidvalidity == b"?":
        # RFC 3501 requires both in the answer to SELECT/EXAMINE; a server without them cannot be read.
        raise ProbeFailed("protocol", f"the server opened {folder!r} without saying how many messages it holds "
                                      "or its UIDVALIDITY", "this server does not follow RFC 3501")
    return f"{int(count)} messages, UIDVALIDITY {uidvalidity.decode(errors='replace')}"


def _hints(failed: ProbeFailed, step: str, exc: BaseException, s: IncomingSettings) -> None:
    if isinstance(exc, (sasl.TokenRefused, sasl.NoMechanism)):
        failed.category, failed.message = "auth", str(exc)
        failed.hint = exc.hint if isinstance(exc, sasl.TokenRefused) else "sign in with a password, or ask the " \
            "server's admin to offer XOAUTH2 or OAUTHBEARER"
        return
    if isinstance(exc, (imaplib.IMAP4.error, poplib.error_proto)) and step == "auth":
        failed.category = "auth"
        failed.message = str(exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes)
                             else exc)
        failed.hint = "the server refused this user name and password"
    if failed.category == "tls" and "certificate" in failed.message and not s.proxy:
        summary = cert_summary(fetch_certificate(s.host, s.port, s.timeout))
        failed.hint = (f"the server's certificate: {summary}. " if summary else "") + (
            "Turn off verify_tls for this account only if you trust this server.")
    expected = INCOMING_DEFAULT_PORTS
    if failed.category in ("tls", "timeout", "protocol") and not failed.hint:
        if s.ssl and s.port == expected[(s.protocol, False)]:
            failed.hint = f"port {s.port} speaks plain {s.protocol.upper()}: turn ssl off, or use port {expected[(s.protocol, True)]}"
        elif not s.ssl and s.port == expected[(s.protocol, True)]:
            failed.hint = f"port {s.port} expects TLS: turn ssl on, or use port {expected[(s.protocol, False)]}"
