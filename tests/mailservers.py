"""SMTP servers (aiosmtpd), a TLS authority (trustme), SOCKS proxies (microsocks) and
misbehaving listeners, for the connection tests."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
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


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
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


class Silent:
    """Accepts connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


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
