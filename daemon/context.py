"""What the parts below the app are given: storage, secrets, the config of the moment, the live-event
sink. The App (the composition root) builds one `Services` and hands it to the poller, the prober and
every request, instead of itself: a part can use only what it was given, and a reader sees what that is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .config import Config
from .secrets import SecretBox
from .verp import Verp
from .storage.db import Database

if TYPE_CHECKING:
    from ..shared.paths import Paths
    from .admission import LongWork
    from .oauth.broker import TokenBroker


@dataclass(frozen=True)
class Services:
    db: Database
    secrets: SecretBox
    # The config now: SIGHUP swaps it, so a part asks each time rather than keeping the one it started with.
    current_config: Callable[[], Config]
    # An event for subscribers only (probe steps): not stored.
    publish_live: Callable[[str, dict[str, Any]], None]
    # Access tokens of accounts that sign in with OAuth 2.0 (in memory; refreshed once per account).
    tokens: "TokenBroker"
    # Signs and reads the per-recipient envelope senders (VERP) of accounts that use them.
    verp: Verp

    @property
    def config(self) -> Config:
        return self.current_config()


class DaemonFacts(Protocol):
    """What system.info and system.status report about the daemon as a whole."""

    paths: "Paths"
    pid: int
    started_at: str | None
    log_file: Path | None
    long_work: "LongWork"
    remote_public_key: bytes | None
