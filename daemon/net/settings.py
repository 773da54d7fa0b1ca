"""What a connection to a mailbox needs: the account's incoming settings, resolved (password decrypted,
or an OAuth access token in hand)."""

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
    token: str | None = field(default=None, repr=False)  # sign in with this bearer token instead of the password
