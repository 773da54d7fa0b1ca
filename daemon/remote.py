"""The optional TCP endpoint for scripts on other hosts: CURVE only, keys by name.

A client is authorised by dropping its public key into the clients
directory as NAME.key (made by `mailfleetctl keygen NAME`); NAME is then
its user name for visibility and admin rights. A key not in the directory
gets nothing: libzmq drops the connection during the handshake, before any
request is read. The server's own key pair is made on first use and kept
in the state directory; clients need its public half (server.key).
"""

from __future__ import annotations

import logging
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.asyncio import AsyncioAuthenticator

log = logging.getLogger(__name__)


def load_client_names(clients_dir: Path) -> dict[bytes, str]:
    """z85 public key -> NAME, from NAME.key files."""
    names: dict[bytes, str] = {}
    if not clients_dir.is_dir():
        return names
    for path in sorted(clients_dir.glob("*.key")):
        try:
            public, _ = zmq.auth.load_certificate(path)
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: not a CURVE public key (%s)", path, exc)
            continue
        names[public] = path.stem
    return names


class NamedKeys(AsyncioAuthenticator):
    """ZAP handler that allows the keys in the clients directory and names each by its file."""

    def __init__(self, context: zmq.asyncio.Context, clients_dir: Path) -> None:
        super().__init__(context, log=logging.getLogger("mailfleet.daemon.zap"))
        self.clients_dir = clients_dir
        self.names: dict[bytes, str] = {}

    def load(self) -> int:
        self.names = load_client_names(self.clients_dir)
        # configure_curve wants a directory; an empty one allows nobody.
        self.clients_dir.mkdir(parents=True, exist_ok=True)
        self.configure_curve(domain="*", location=str(self.clients_dir))
        return len(self.names)

    def curve_user_id(self, client_public_key: bytes) -> str:
        return self.names.get(zmq.utils.z85.encode(client_public_key), "")


def server_keys(state_dir: Path) -> tuple[bytes, bytes]:
    """(public, secret) z85 keys of the daemon, made on first use."""
    keys = state_dir / "remote"
    secret_file = keys / "server.key_secret"
    if not secret_file.exists():
        keys.mkdir(parents=True, exist_ok=True, mode=0o700)
        zmq.auth.create_certificates(str(keys), "server")
        secret_file.chmod(0o600)
        log.info("made the remote endpoint's key pair; clients need %s", keys / "server.key")
    public, secret = zmq.auth.load_certificate(secret_file)
    return public, secret
