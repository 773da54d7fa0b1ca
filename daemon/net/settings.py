"""What a connection to a mailbox needs: the account's incoming settings, resolved (password decrypted)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IncomingSettings:
    protocol: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    ssl: bool
    verify_tls: bool
    folder: str
    batch_size: int
    timeout: float
    max_message_bytes: int
    proxy: str | None = None
