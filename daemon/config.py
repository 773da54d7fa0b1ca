"""mailfleetd.toml: every key has a default, so a missing file is a valid config.

Unknown sections and keys are errors (a typo that is silently ignored is a
setting that silently does not apply); errors name the file, line and key.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    pass


@dataclass
class DaemonSection:
    log_level: str = "info"
    # With --log-file (the per-user daemon): the file is rotated past this size, 3 old ones kept.
    log_file_bytes: int = 10 << 20
    # Largest ZeroMQ message accepted; bigger ones drop the sender's connection.
    max_message_bytes: int = 4 * 1024 * 1024
    # System mode: the group whose members may connect to the sockets.
    socket_group: str = ""
    # On SIGTERM, how long in-flight requests get to finish.
    shutdown_grace: float = 10.0
    # Short requests handled at once; more wait their turn.
    max_concurrent_requests: int = 64
    # Long requests (tests, polls, imports, backups) under way at once, in total and per user;
    # they never take the short requests' places, and past these they are refused as busy.
    max_long_requests: int = 4096
    max_long_requests_per_user: int = 1024


@dataclass
class AdminsSection:
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


@dataclass
class ContactsSection:
    # Contacts are everyone's: their details name the From and Reply-To of every account. Besides
    # admins, only these users and groups' members may import contacts and edit their details.
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


@dataclass
class PollSection:
    # Read mailboxes on their poll_interval; off: only accounts.poll reads (maintenance, tests).
    schedule: bool = True
    # Mailboxes read at once; more wait their turn.
    concurrency: int = 4
    # Messages larger than this are skipped (noted, never fetched whole).
    max_message_bytes: int = 10 * 1024 * 1024
    # Processes that classify big rounds (hundreds of messages) while they are fetched;
    # 0: every round classifies in its own thread.
    classify_workers: int = 2
    # Seconds a mailbox server gets for each step before the round fails.
    timeout: float = 30.0
    # Seconds a whole round may take: a server that trickles (every step just in time)
    # cannot hold a round, or a slot, for ever. The connection is cut and the round fails.
    round_timeout: float = 900.0
    # Each account's poll_interval varies by this fraction, so mailboxes are not read in lockstep.
    jitter: float = 0.1
    # After failures, wait poll_interval * 2^failures, at most this long.
    max_backoff: int = 3600


@dataclass
class BouncesSection:
    # Soft bounces within soft_window_days that make a contact faulty.
    soft_threshold: int = 3
    soft_window_days: int = 7
    # How much of each bounce message is kept for people to read.
    raw_cap_bytes: int = 64 * 1024


@dataclass
class ProbeSection:
    # Seconds each step of a connection test may take.
    timeout: float = 10.0
    # Accounts tested at once; more wait their turn. Tests mostly wait on servers far away.
    concurrency: int = 100
    # Of those, at most this many for one user; freed places go to each waiting user in turn. As many
    # as `concurrency` by default, so one user's big batch still runs at full width (issue 3's figure);
    # lower it on a shared host to keep places free for others.
    concurrency_per_user: int = 100
    # RCPT TO of the SMTP test (no message is sent); empty: the account's own address.
    rcpt_to: str = ""


@dataclass
class RelaySection:
    # The platform relay marketing accounts send through; empty host: none configured.
    host: str = ""
    port: int = 587
    security: str = "starttls"
    authenticate: bool = True
    user: str = ""
    password: str = ""
    verify_tls: bool = True
    proxy: str = ""


@dataclass
class RemoteSection:
    # A TCP endpoint for scripts on other hosts, CURVE only ("tcp://0.0.0.0:7353"); empty: none.
    endpoint: str = ""
    # Authorised clients' public keys as NAME.key; default: clients/ in the config directory.
    clients_dir: str = ""


@dataclass
class Config:
    daemon: DaemonSection = field(default_factory=DaemonSection)
    admins: AdminsSection = field(default_factory=AdminsSection)
    contacts: ContactsSection = field(default_factory=ContactsSection)
    poll: PollSection = field(default_factory=PollSection)
    bounces: BouncesSection = field(default_factory=BouncesSection)
    probe: ProbeSection = field(default_factory=ProbeSection)
    relay: RelaySection = field(default_factory=RelaySection)
    remote: RemoteSection = field(default_factory=RemoteSection)
    path: Path | None = None


_LEVELS = ("debug", "info", "warning", "error")


def _line_of(text: str, section: str, key: str | None) -> int | None:
    """Best-effort line number: tomllib does not report positions for semantic errors."""
    in_section = section == ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_section = stripped.strip("[] ") == section
            if in_section and key is None:
                return number
        elif in_section and key and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return None


def _check_type(name: str, value: Any, default: Any) -> None:
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, expected):
        raise ConfigError(f"{name}: must be {expected.__name__}, not {type(value).__name__}")
    if isinstance(default, list) and not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name}: must be a list of strings")


def load(path: Path | None) -> Config:
    config = Config(path=path)
    if path is None or not path.exists():
        return config
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    sections = {f.name: f for f in dataclasses.fields(Config) if f.name != "path"}
    for section_name, values in data.items():
        where = f"{path}:{_line_of(text, section_name, None) or '?'}"
        if section_name not in sections or not isinstance(values, dict):
            raise ConfigError(f"{where}: unknown section [{section_name}] (known: {', '.join(sections)})")
        section = getattr(config, section_name)
        known = {f.name for f in dataclasses.fields(section)}
        for key, value in values.items():
            where = f"{path}:{_line_of(text, section_name, key) or '?'}"
            if key not in known:
                raise ConfigError(f"{where}: unknown key {section_name}.{key} (known: {', '.join(sorted(known))})")
            try:
                _check_type(f"{section_name}.{key}", value, getattr(section, key))
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
            setattr(section, key, value)
    _check_values(config, path, text)
    return config


def _check_values(config: Config, path: Path, text: str) -> None:
    def fail(section: str, key: str, why: str) -> None:
        raise ConfigError(f"{path}:{_line_of(text, section, key) or '?'}: {section}.{key}: {why}")

    if config.daemon.log_level not in _LEVELS:
        fail("daemon", "log_level", f"must be one of {', '.join(_LEVELS)}")
    if config.daemon.log_file_bytes < 1024:
        fail("daemon", "log_file_bytes", "must be at least 1024")
    if not 1024 <= config.daemon.max_message_bytes <= 1 << 30:
        fail("daemon", "max_message_bytes", "must be 1024 to 1073741824")
    if config.daemon.max_concurrent_requests < 1:
        fail("daemon", "max_concurrent_requests", "must be at least 1")
    for key in ("max_long_requests", "max_long_requests_per_user"):
        if getattr(config.daemon, key) < 1:
            fail("daemon", key, "must be at least 1")
    if config.daemon.shutdown_grace < 0:
        fail("daemon", "shutdown_grace", "must not be negative")
    if config.poll.concurrency < 1:
        fail("poll", "concurrency", "must be at least 1")
    if config.poll.timeout <= 0:
        fail("poll", "timeout", "must be positive")
    if config.poll.classify_workers < 0:
        fail("poll", "classify_workers", "must be 0 or more")
    if config.poll.round_timeout <= 0:
        fail("poll", "round_timeout", "must be positive")
    if not 0 <= config.poll.jitter < 1:
        fail("poll", "jitter", "must be 0 to 0.99")
    if config.bounces.soft_threshold < 1:
        fail("bounces", "soft_threshold", "must be at least 1")
    if config.bounces.soft_window_days < 1:
        fail("bounces", "soft_window_days", "must be at least 1")
    if config.probe.timeout <= 0:
        fail("probe", "timeout", "must be positive")
    if config.probe.concurrency < 1:
        fail("probe", "concurrency", "must be at least 1")
    if config.probe.concurrency_per_user < 1:
        fail("probe", "concurrency_per_user", "must be at least 1")
    if config.relay.security not in ("none", "starttls", "ssl"):
        fail("relay", "security", "must be one of none, starttls, ssl")
    if not 1 <= config.relay.port <= 65535:
        fail("relay", "port", "must be 1-65535")
    if config.remote.endpoint and not re.fullmatch(r"tcp://[^\s:]+:\d{1,5}", config.remote.endpoint):
        fail("remote", "endpoint", "must look like tcp://HOST:PORT")
