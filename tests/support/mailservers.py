"""SMTP servers (aiosmtpd), a TLS authority (trustme), SOCKS proxies (microsocks) and
misbehaving listeners, for the connection tests."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .servers import free_port, wait_for_port

USER, PASSWORD = "sender", "smtp-secret-5"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.time)  # when DATA ended: what limits are checked against


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                                      list(envelope.mail_options)))
        return "250 OK"


class Smtpd(Controller):
    """aiosmtpd with a listen backlog that holds a burst of connections (its default, 100,
    drops SYNs past that, and each dropped one costs the client a second)."""

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, host=self.hostname, port=self.port,
                                       ssl=self.ssl_context, backlog=1024)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 235/535 itself


class Authority:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, as files too."""

    def __init__(self, root: Path) -> None:
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert("127.0.0.1", "localhost")
        root.mkdir(parents=True, exist_ok=True)
        self.ca_file = root / "ca.pem"
        self.cert_file = root / "cert.pem"
        self.key_file = root / "key.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.cert.cert_chain_pems[0].write_to_path(str(self.cert_file))
        self.cert.private_key_pem.write_to_path(str(self.key_file))
        for path in (self.ca_file, self.cert_file, self.key_file):
            path.chmod(0o644)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(ctx)
        return ctx


def smtp_server(mode: str, authority: Authority | None = None, *, auth: bool = True) -> tuple[Controller, Handler]:
    """mode: plain (AUTH allowed without TLS), starttls (AUTH only after TLS), ssl (implicit TLS), notls."""
    handler = Handler()
    port = free_port()
    kwargs: dict = {"authenticator": authenticator if auth else None, "auth_require_tls": mode == "starttls"}
    if mode == "starttls":
        kwargs["tls_context"] = authority.server_context()
    if mode == "ssl":
        controller = Smtpd(handler, hostname="127.0.0.1", port=port, ssl_context=authority.server_context(), **kwargs)
    else:
        controller = Smtpd(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, handler


class OAuthHandler(Handler):
    """An SMTP server that takes bearer tokens (XOAUTH2, OAUTHBEARER) and asks the identity provider
    whether each is good (RFC 7662 introspection), as Dovecot's oauth2 passdb does: active, for the
    user the client names, with the "mail" scope. A refusal is RFC 7628 §3.2.2's: a 334 challenge with
    the base64 JSON error, then 535 once the client answers it."""

    def __init__(self, introspect) -> None:
        super().__init__()
        self.introspect = introspect  # token -> the introspection reply (a dict)

    async def _bearer(self, server, args, parse) -> AuthResult:
        import asyncio
        import base64
        import json

        blob = args[1] if len(args) > 1 else await server.challenge_auth("")
        try:
            user, token = parse(base64.b64decode(blob if isinstance(blob, (bytes, str)) else b"").decode())
        except ValueError:
            return AuthResult(success=False, handled=False, message="501 5.5.2 malformed")
        info = await asyncio.to_thread(self.introspect, token)
        if info.get("active") and info.get("email") == user and "mail" in str(info.get("scope", "")).split():
            return AuthResult(success=True, auth_data=user)
        status = "insufficient_scope" if info.get("active") else "invalid_token"
        await server.challenge_auth(json.dumps({"status": status, "scope": "mail"}))
        return AuthResult(success=False, handled=False, message="535 5.7.8 token refused")

    async def auth_XOAUTH2(self, server, args):
        def parse(text: str) -> tuple[str, str]:
            fields = dict(f.split("=", 1) for f in text.split("\x01") if "=" in f)
            return fields["user"], fields["auth"].removeprefix("Bearer ")
        return await self._bearer(server, args, parse)

    async def auth_OAUTHBEARER(self, server, args):
        def parse(text: str) -> tuple[str, str]:
            gs2, *kvs = text.split("\x01")
            user = next(p[2:] for p in gs2.split(",") if p.startswith("a=")).replace("=2C", ",").replace("=3D", "=")
            fields = dict(f.split("=", 1) for f in kvs if "=" in f)
            return user, fields["auth"].removeprefix("Bearer ")
        return await self._bearer(server, args, parse)


def oauth_smtp_server(introspect) -> tuple[Controller, OAuthHandler]:
    """aiosmtpd on 127.0.0.1 that signs in with bearer tokens only (no PLAIN or LOGIN), without TLS."""
    handler = OAuthHandler(introspect)
    controller = Smtpd(handler, hostname="127.0.0.1", port=free_port(), auth_required=True,
                       auth_require_tls=False, auth_exclude_mechanism=["PLAIN", "LOGIN"])
    controller.start()
    return controller, handler


class _Listener:
    """A port on 127.0.0.1 whose connections go, one by one, to `_accepted` (in the accepting thread)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(2048)  # a burst of a thousand connections (bench/busy.py) waits, it is not dropped
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self._accepted(conn)

    def _accepted(self, conn: socket.socket) -> None:
        pass

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


class Silent(_Listener):
    """Accepts connections and never says a word."""


class Greeter(_Listener):
    """Answers each connection with one line (or none) and hangs up: a server that refuses to talk ("554 No
    SMTP service here", RFC 5321 §3.1) or one that drops the connection."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting
        super().__init__()

    def _accepted(self, conn: socket.socket) -> None:
        with conn:
            if self.greeting:
                conn.sendall(self.greeting.encode() + b"\r\n")


class Liar(_Listener):
    """A mail server that logs anyone in, lists one small message, and then sends it without end
    (IMAP: a literal announced as 2 GB; POP3: lines and never the closing dot). `sent` counts
    what it managed to push before the client hung up. `trickle` names a command (IMAP
    "EXAMINE" or "UID SEARCH", POP3 "STAT" or "RETR") that it instead answers a short line every
    0.2 s, for ever: each read is in time, the answer never ends; `hung_up` is set once the
    client is gone."""

    def __init__(self, protocol: str, trickle: str = "", tls: ssl.SSLContext | None = None, flood: str = "") -> None:
        self.protocol = protocol
        self.trickle = trickle
        self.flood = flood  # an IMAP command answered with untagged "* 1 EXISTS" lines without end
        self.tls = tls  # implicit TLS (IMAPS, POP3S) with this server context
        self.hung_up = threading.Event()
        self.sent = 0
        super().__init__()

    def _accepted(self, conn: socket.socket) -> None:
        threading.Thread(target=self._serve_tls if self.tls else self._serve, args=(conn,), daemon=True).start()

    def _serve_tls(self, conn: socket.socket) -> None:
        try:
            conn = self.tls.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        self._serve(conn)

    def _flood(self, conn: socket.socket, chunk: bytes) -> None:
        try:
            while True:
                conn.sendall(chunk)
                self.sent += len(chunk)
        except OSError:
            self.hung_up.set()

    def _drip(self, conn: socket.socket, line: bytes) -> None:
        try:
            while True:
                conn.sendall(line)
                self.sent += len(line)
                time.sleep(0.2)
        except OSError:
            self.hung_up.set()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            imap = self.protocol == "imap"
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 UIDPLUS] ready\r\n" if imap else b"+OK ready\r\n")
            for line in lines:
                words = line.decode("latin-1").split()
                if not words:
                    continue
                if imap:
                    tag, command = words[0], " ".join(words[1:3]).upper()
                    if self.trickle and command.startswith(self.trickle):
                        return self._drip(conn, b"* OK still working\r\n")
                    if self.flood and command.startswith(self.flood):
                        return self._flood(conn, b"* 1 EXISTS\r\n" * 5000)
                    if command.startswith("SELECT"):
                        conn.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n")
                    elif command == "UID SEARCH":
                        conn.sendall(b"* SEARCH 1\r\n")
                    elif command == "UID FETCH":
                        conn.sendall(b"* 1 FETCH (UID 1 RFC822.SIZE 100 BODY[]<0> {2000000000}\r\n")
                        return self._flood(conn, b"x" * 65536)
                    elif command.startswith("CAPABILITY"):
                        conn.sendall(b"* CAPABILITY IMAP4rev1 UIDPLUS\r\n")
                    conn.sendall(f"{tag} OK done\r\n".encode())
                else:
                    command = words[0].upper()
                    if command == self.trickle:
                        conn.sendall(b"+OK\r\n" if command == "RETR" else b"")
                        return self._drip(conn, b"z\r\n" if command == "RETR" else b"+")
                    if command == "UIDL":
                        conn.sendall(b"+OK\r\n1 msg-1\r\n.\r\n")
                    elif command == "LIST":
                        conn.sendall(b"+OK\r\n1 100\r\n.\r\n")
                    elif command == "RETR":
                        conn.sendall(b"+OK\r\n")
                        return self._flood(conn, (b"y" * 1000 + b"\r\n") * 64)
                    else:
                        conn.sendall(b"+OK\r\n")


class Microsocks:
    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        cmd = ["microsocks", "-i", "127.0.0.1", "-p", str(self.port)]
        if user:
            cmd += ["-u", user, "-P", password]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Tinyproxy:
    """A real HTTP proxy (CONNECT) on a free port, in the foreground, from its own config file."""

    def __init__(self, root: Path, connect_ports: tuple[int, ...] = ()) -> None:
        self.port = free_port()
        root.mkdir(parents=True, exist_ok=True)
        config = root / f"tinyproxy-{self.port}.conf"
        allowed = "".join(f"ConnectPort {p}\n" for p in connect_ports)  # none listed: any port
        config.write_text(f"Port {self.port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nMaxClients 100\n"
                          f"LogLevel Error\nUser nobody\nGroup nogroup\n{allowed}")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class ScriptedImap(_Listener):
    """An IMAP server that lies as told: `uidvalidity` and `search` are sent as given (garbage too),
    and a FETCH answers only the messages it has (`messages`, by UID), silently leaving out the rest."""

    def __init__(self, messages: dict[int, bytes], search: bytes | None = None, uidvalidity: bytes = b"7") -> None:
        self.messages = messages
        self.search = search
        self.uidvalidity = uidvalidity
        super().__init__()

    def _accepted(self, conn: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 UIDPLUS] ready\r\n")
            try:
                for line in lines:
                    words = line.decode("latin-1").split()
                    if not words:
                        continue
                    tag, command = words[0], " ".join(words[1:3]).upper()
                    if command.startswith("SELECT"):
                        conn.sendall(b"* %d EXISTS\r\n* OK [UIDVALIDITY " % len(self.messages)
                                     + self.uidvalidity + b"] ok\r\n")
                    elif command == "UID SEARCH":
                        conn.sendall(b"* SEARCH " + (self.search if self.search is not None else
                                                      b" ".join(b"%d" % u for u in sorted(self.messages))) + b"\r\n")
                    elif command == "UID FETCH":
                        for uid, raw in sorted(self.messages.items()):
                            if raw is not None:
                                conn.sendall(b"* %d FETCH (UID %d RFC822.SIZE %d BODY[]<0> {%d}\r\n" % (
                                    uid, uid, len(raw), len(raw)) + raw + b")\r\n")
                    elif command.startswith("CAPABILITY"):
                        conn.sendall(b"* CAPABILITY IMAP4rev1 UIDPLUS\r\n")
                    elif command.startswith("LOGOUT"):
                        conn.sendall(b"* BYE\r\n" + tag.encode() + b" OK bye\r\n")
                        return
                    conn.sendall(f"{tag} OK done\r\n".encode())
            except OSError:
                return


class ScriptedPop3(_Listener):
    """A POP3 server that repeats UIDLs as told (`uidls`, one per message, duplicates allowed), and
    answers RETR of a message given as None with -ERR."""

    def __init__(self, messages: list[bytes | None], uidls: list[str]) -> None:
        self.messages, self.uidls = messages, uidls
        super().__init__()

    def _accepted(self, conn: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"+OK ready\r\n")
            try:
                for line in lines:
                    words = line.decode("latin-1").split()
                    command = words[0].upper() if words else ""
                    if command == "UIDL":
                        conn.sendall(b"+OK\r\n" + b"".join(b"%d %s\r\n" % (n, u.encode())
                                                          for n, u in enumerate(self.uidls, 1)) + b".\r\n")
                    elif command == "LIST":
                        conn.sendall(b"+OK\r\n" + b"".join(b"%d %d\r\n" % (n, len(m or b"x"))
                                                          for n, m in enumerate(self.messages, 1)) + b".\r\n")
                    elif command == "RETR":
                        message = self.messages[int(words[1]) - 1]
                        conn.sendall(b"-ERR [SYS/TEMP] message is locked\r\n" if message is None
                                     else b"+OK\r\n" + message + b".\r\n")
                    elif command == "QUIT":
                        conn.sendall(b"+OK bye\r\n")
                        return
                    else:
                        conn.sendall(b"+OK\r\n")
            except OSError:
                return


@dataclass
class Sink(Handler):
    """An SMTP server's answers for a delivery test: RCPT TO refused for `refuse` (address -> reply, as
    Postfix words it), deferred for `defer` (address -> reply, the first `defer_times` tries), else taken."""

    refuse: dict[str, str] = field(default_factory=dict)
    defer: dict[str, str] = field(default_factory=dict)
    defer_times: int = 1
    tried: dict[str, int] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.tried[address] = self.tried.get(address, 0) + 1
        if address in self.refuse:
            return self.refuse[address]
        if address in self.defer and self.tried[address] <= self.defer_times:
            return self.defer[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


def sink_server(handler: Sink, smtputf8: bool = True) -> Controller:
    """aiosmtpd on 127.0.0.1 taking AUTH (USER, PASSWORD) without TLS, answering as `handler` says;
    SMTPUTF8 (RFC 6531) offered unless `smtputf8` is False."""
    controller = Smtpd(handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                       auth_require_tls=False, enable_SMTPUTF8=smtputf8)
    controller.start()
    return controller
