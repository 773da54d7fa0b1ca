"""Encryption of stored passwords (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key comes from systemd's credential store when the unit provides one
(`LoadCredential=mailfleet.key:...`), else from a 0600 file beside the
database that is created on first start. Losing the key loses the stored
passwords, not the accounts: README says to back it up with the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..shared.paths import KEY_FILE

log = logging.getLogger(__name__)


class SecretKeyError(Exception):
    """The key exists but cannot be used."""


class SecretBox:
    def __init__(self, key: bytes, source: Path) -> None:
        try:
            self._fernet = Fernet(key.strip())
        except ValueError:
            raise SecretKeyError(f"{source}: not a valid mailfleet key (expected 32 url-safe base64 bytes)") from None
        self._key = base64.urlsafe_b64decode(key.strip())
        self.source = source

    def derive(self, purpose: str) -> bytes:
        """A key of its own for one purpose (HMAC-SHA256 of the purpose under the master key): signing
        something must not use the key that encrypts, and one purpose's key says nothing of another's."""
        return hmac.new(self._key, f"mailfleet {purpose}".encode(), hashlib.sha256).digest()

    @classmethod
    def load(cls, key_file: Path, env: dict[str, str] | os._Environ[str] | None = None) -> "SecretBox":
        env = os.environ if env is None else env
        creds = env.get("CREDENTIALS_DIRECTORY")
        if creds and (Path(creds) / KEY_FILE).exists():
            path = Path(creds) / KEY_FILE
            return cls(path.read_bytes(), path)
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process won the race; read theirs
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key() + b"\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                log.info("created a new encryption key at %s; back it up with the database", key_file)
        mode = stat.S_IMODE(key_file.stat().st_mode)
        if mode & 0o077:
            log.warning("%s is readable by others (mode %o); tightening to 0600", key_file, mode)
            os.chmod(key_file, 0o600)
        return cls(key_file.read_bytes(), key_file)

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise SecretKeyError(f"a stored secret does not match the key in {self.source}") from None
