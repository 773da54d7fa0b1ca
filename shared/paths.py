"""Where the daemon keeps its sockets, data and config, in both modes.

One function per mode so the daemon, the TUI and mailfleetctl agree on the
endpoints without talking to each other first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .trust import service_uids

RPC_SOCKET = "rpc.sock"
EVENTS_SOCKET = "events.sock"
CONFIG_FILE = "mailfleetd.toml"
DATABASE_FILE = "mailfleet.db"
KEY_FILE = "mailfleet.key"
LOG_FILE = "mailfleetd.log"


@dataclass(frozen=True)
class Paths:
    mode: str  # "system" or "user"
    runtime_dir: Path
    state_dir: Path
    config_dir: Path
    log_dir: Path | None = None  # user mode: where the daemon writes its log; system mode: the journal

    def socket_owners(self) -> set[int]:
        """Who may own the sockets a client of this mode connects to (shared/trust.py)."""
        return {os.getuid()} if self.mode == "user" else service_uids()

    @property
    def rpc_socket(self) -> Path:
        return self.runtime_dir / RPC_SOCKET

    @property
    def events_socket(self) -> Path:
        """Where daemons before per-subscriber delivery published events; only ever removed now."""
        return self.runtime_dir / EVENTS_SOCKET

    @property
    def rpc_endpoint(self) -> str:
        return f"ipc://{self.rpc_socket}"

    @property
    def config_file(self) -> Path:
        return self.config_dir / CONFIG_FILE

    @property
    def database(self) -> Path:
        return self.state_dir / DATABASE_FILE

    @property
    def key_file(self) -> Path:
        return self.state_dir / KEY_FILE

    @property
    def log_file(self) -> Path | None:
        return self.log_dir / LOG_FILE if self.log_dir else None


def _first_dir(value: str | None, default: str) -> Path:
    # systemd passes colon-separated lists when a unit names several dirs.
    if value:
        return Path(value.split(":")[0])
    return Path(default)


def system_paths(env: os._Environ[str] | dict[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env
    return Paths(
        mode="system",
        runtime_dir=_first_dir(env.get("RUNTIME_DIRECTORY"), "/run/mailfleet"),
        state_dir=_first_dir(env.get("STATE_DIRECTORY"), "/var/lib/mailfleet"),
        config_dir=_first_dir(env.get("CONFIGURATION_DIRECTORY"), "/etc/mailfleet"),
    )


def user_paths(env: os._Environ[str] | dict[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    runtime = env.get("XDG_RUNTIME_DIR")
    # Without a session runtime dir (su, cron, containers) fall back to a
    # per-uid dir in /tmp; the daemon creates it 0700 and checks its owner.
    runtime_dir = Path(runtime) / "mailfleet" if runtime else Path(f"/tmp/mailfleet-{os.getuid()}")
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    state = Path(env.get("XDG_STATE_HOME") or home / ".local" / "state")  # logs are state, not data
    return Paths(
        mode="user",
        runtime_dir=runtime_dir,
        state_dir=data / "mailfleet",
        config_dir=config / "mailfleet",
        log_dir=state / "mailfleet",
    )


def candidates() -> list[Paths]:
    """Where a client looks for a daemon: the system service first, then the user's own."""
    return [system_paths(), user_paths()]


def candidate_endpoints() -> list[str]:
    return [paths.rpc_endpoint for paths in candidates()]
