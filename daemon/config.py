"""mailfleetd.toml: every key has a default, so a missing file is a valid config.

Each section is a pydantic model, strict like the account models (no "25"
for a number, no unknown keys: a typo that is silently ignored is a setting
that silently does not apply), with its bounds on the field and a docstring
per field. The docstrings are the documentation: `mailfleetd --print-config`
writes the annotated file from them (`systemd/mailfleetd.toml` is its
output, a test keeps the two equal), and errors name the file, line and key.
"""

from __future__ import annotations

import inspect
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..shared.models import SMTP_DEFAULT_PORTS, FieldErrors, validate_model
from ..shared.validators import check_proxy

RESTART = {"restart": True}  # a field whose change applies at the next start, not on reload


class ConfigError(Exception):
    pass


class Section(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", use_attribute_docstrings=True, hide_input_in_errors=True)


Positive = Annotated[float, Field(gt=0)]


def _check_endpoint(value: str) -> str:
    if value and not re.fullmatch(r"tcp://[^\s:]+:\d{1,5}", value):
        raise ValueError("must look like tcp://HOST:PORT")
    return value


class DaemonSection(Section):
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """debug, info, warning, error"""
    log_file_bytes: Annotated[int, Field(ge=1024)] = 10 << 20
    """With --log-file (the per-user daemon `mailfleet` starts logs to $XDG_STATE_HOME/mailfleet/
    mailfleetd.log): rotated past this many bytes, three old files kept."""
    max_message_bytes: Annotated[int, Field(ge=1024, le=1 << 30, json_schema_extra=RESTART)] = 4 * 1024 * 1024
    """Largest request accepted, in bytes; a bigger one drops the sender's connection."""
    socket_group: Annotated[str, Field(json_schema_extra=RESTART)] = ""
    """System mode: a group (besides the daemon's own) whose members may connect."""
    shutdown_grace: Annotated[float, Field(ge=0)] = 10.0
    """Seconds requests and mailbox rounds under way get to finish on SIGTERM."""
    max_concurrent_requests: Annotated[int, Field(ge=1, json_schema_extra=RESTART)] = 64
    """Short requests (pings, lists, edits) handled at once; more wait their turn."""
    max_long_requests: Annotated[int, Field(ge=1, json_schema_extra=RESTART)] = 4096
    """Long requests (tests, polls, imports, backups) under way at once, in total and for one user.
    They never take the short requests' places; past these limits they are refused as busy
    (error -32011), so no caller can starve the others."""
    max_long_requests_per_user: Annotated[int, Field(ge=1, json_schema_extra=RESTART)] = 1024
    """Of those, at most this many for one user."""


class AdminsSection(Section):
    """Besides root and the daemon's own user: who may approve and reject
    marketing accounts, see every account and change contacts' status."""

    users: list[str] = []
    groups: list[str] = []


class ContactsSection(Section):
    """Contacts are shared by everyone, and their details become the From and Reply-To names
    of every account's mail. Besides admins, only these users (and members of these groups)
    may import contacts and edit their details; everyone may read them."""

    users: list[str] = []
    groups: list[str] = []


class PollSection(Section):
    schedule: bool = True
    """Read every mailbox on its poll_interval. false: only `mailfleetctl accounts poll`
    reads (say, while a mail server is under maintenance)."""
    concurrency: Annotated[int, Field(ge=1, json_schema_extra=RESTART)] = 4
    """Mailboxes read at once."""
    max_message_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    """Messages larger than this are skipped (and counted as skipped_too_big)."""
    classify_workers: Annotated[int, Field(ge=0, json_schema_extra=RESTART)] = 2
    """Processes that classify a big round (a backlog) while it is fetched; 0: none."""
    timeout: Positive = 30.0
    """Seconds a mailbox server gets for each step of a round."""
    round_timeout: Positive = 900.0
    """Seconds a whole round may take (a server that trickles cannot hold it for ever)."""
    jitter: Annotated[float, Field(ge=0, lt=1)] = 0.1
    """Each account's poll_interval varies by this fraction."""
    max_backoff: Annotated[int, Field(ge=1)] = 3600
    """After failures a mailbox is retried after poll_interval * 2^failures seconds, at most this."""


class BouncesSection(Section):
    soft_threshold: Annotated[int, Field(ge=1)] = 3
    """A contact becomes faulty after this many soft bounces within soft_window_days
    (a hard bounce makes it faulty at once)."""
    soft_window_days: Annotated[int, Field(ge=1)] = 7
    """The days soft_threshold counts soft bounces over."""
    raw_cap_bytes: Annotated[int, Field(ge=0)] = 64 * 1024
    """How much of each bounce message is kept for people to read, in bytes."""
    mark_strays: bool = False
    """A bounce naming an address the account never mailed (once it sends through mailfleet) is
    recorded and flagged `stray` (forged, or mail that did not come from mailfleet); true: it marks
    the contact all the same."""


class EventsSection(Section):
    """The event log (`events.list`, `mailfleetctl events`, the UI's activity view) is pruned
    at start and every hour, oldest first, in small batches: what is older than keep_days
    goes, and what is beyond the newest keep_count. A client catching up from a seq that
    was pruned gets what is left after it."""

    keep_days: Annotated[int, Field(ge=1)] = 90
    """Events older than this many days are deleted."""
    keep_count: Annotated[int, Field(ge=100)] = 500_000
    """At most this many events are kept (the newest), whatever their age: a round of
    10,000 bounces stores about 12,500."""


class RemoteSection(Section):
    endpoint: Annotated[str, AfterValidator(_check_endpoint), Field(json_schema_extra=RESTART)] = ""
    """A TCP endpoint for scripts on other hosts, CURVE only, e.g. "tcp://0.0.0.0:7353".
    Empty: no TCP endpoint at all."""
    clients_dir: str = ""
    """Authorised clients: their public keys as NAME.key (from `mailfleetctl keygen NAME`);
    NAME is the user name the daemon knows them by. Empty: clients/ in the config
    directory (/etc/mailfleet/clients). Re-read on reload."""


class ProbeSection(Section):
    timeout: Positive = 10.0
    """Seconds each step of a connection test may take."""
    concurrency: Annotated[int, Field(ge=1, json_schema_extra=RESTART)] = 100
    """Accounts tested at once; more wait their turn."""
    concurrency_per_user: Annotated[int, Field(ge=1, json_schema_extra=RESTART)] = 100
    """Of those, at most this many for one user; a freed place goes to each waiting user in turn, so
    nobody queues behind another's batch for more than a turn. The default lets one user's batch
    use every place; lower it on a host shared by many users."""
    rcpt_to: str = ""
    """RCPT TO of the SMTP test (no message is sent without send_to); empty: the account's own address."""


class RelaySection(Section):
    """The platform relay that marketing accounts send through (and are tested against).
    Empty host: none configured. Keep this file 0640 root:mailfleet if it holds a password."""

    host: str = ""
    port: Annotated[int, Field(ge=1, le=65535)] = SMTP_DEFAULT_PORTS["starttls"]
    security: Literal["none", "starttls", "ssl"] = "starttls"
    """none, starttls or ssl"""
    authenticate: bool = True
    user: str = ""
    password: str = ""
    verify_tls: bool = True
    proxy: Annotated[str, AfterValidator(lambda v: check_proxy(v) if v else v)] = ""
    """Optional socks5://[user:pass@]host:port or http://host:port"""


class OAuthSection(Section):
    """OAuth 2.0 sign-in (accounts whose SMTP or incoming auth is oauth2)."""

    refresh_ahead: Annotated[float, Field(ge=300)] = 600.0
    """An access token is refreshed this many seconds before it expires (at least 300), so that
    no poll, test or send starts with one about to lapse."""
    warn_days: Annotated[int, Field(ge=1)] = 3
    """A refresh token that ends within this many days (Google "testing" apps: 7 days after
    consent; Microsoft: 90 days unused) is listed by `mailfleetctl status` to sign in again."""
    loopback_port: Annotated[int, Field(ge=1024, le=65535)] = 8765
    """The code flow: the port on 127.0.0.1 the browser is sent back to (through `ssh -L`, printed
    for the person), while a sign-in waits; register http://127.0.0.1:PORT/ as the redirect."""


def _check_submission(value: str) -> str:
    if not value:
        return value
    host, _, port = value.rpartition(":")
    if host.strip("[]") not in ("127.0.0.1", "::1", "localhost") or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("must be 127.0.0.1:PORT (or [::1]:PORT): mailers sign in without TLS, so on this host only")
    return value


class SendingSection(Section):
    """Sending through the accounts (messages.send, SMTP submission)."""

    concurrency: Annotated[int, Field(ge=1)] = 20
    """Accounts sending at once (each sends over one connection, one message after another)."""
    timeout: Positive = 60.0
    """Seconds each SMTP step of a delivery may take."""
    retry_base: Annotated[float, Field(ge=1)] = 60.0
    """A message deferred (4xx, a network failure) is tried again after retry_base * 2^(tries-1)
    seconds, at most six hours."""
    max_attempts: Annotated[int, Field(ge=1)] = 10
    """After this many tries a deferred message fails for good (its last reply says why)."""
    submission: Annotated[str, AfterValidator(_check_submission), Field(json_schema_extra=RESTART)] = ""
    """SMTP submission for mailers (listmonk, Mautic, smtplib), on this host only, e.g.
    "127.0.0.1:2525"; they sign in with a login from `mailfleetctl submission add NAME`.
    Empty: no listener."""


class Config(Section):
    daemon: DaemonSection = Field(default_factory=DaemonSection)
    admins: AdminsSection = Field(default_factory=AdminsSection)
    contacts: ContactsSection = Field(default_factory=ContactsSection)
    poll: PollSection = Field(default_factory=PollSection)
    bounces: BouncesSection = Field(default_factory=BouncesSection)
    events: EventsSection = Field(default_factory=EventsSection)
    remote: RemoteSection = Field(default_factory=RemoteSection)
    probe: ProbeSection = Field(default_factory=ProbeSection)
    relay: RelaySection = Field(default_factory=RelaySection)
    oauth: OAuthSection = Field(default_factory=OAuthSection)
    sending: SendingSection = Field(default_factory=SendingSection)
    path: Path | None = Field(None, exclude=True)  # where it was read from; not a section

    @classmethod
    def sections(cls) -> dict[str, type[Section]]:
        return {name: f.annotation for name, f in cls.model_fields.items() if name != "path"}  # type: ignore[misc]

    def restart_changes(self, new: "Config") -> list[str]:
        """The keys marked restart-only that differ in `new`: kept as they are until the next start."""
        return [f"{name}.{key}" for name, model in self.sections().items()
                for key, f in model.model_fields.items()
                if (f.json_schema_extra or {}).get("restart")
                and getattr(getattr(new, name), key) != getattr(getattr(self, name), key)]


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


def load(path: Path | None) -> Config:
    if path is None or not path.exists():
        return Config(path=path)
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    sections = Config.sections()
    for name, values in data.items():
        if name not in sections or not isinstance(values, dict):
            raise ConfigError(f"{path}:{_line_of(text, name, None) or '?'}: unknown section [{name}] "
                              f"(known: {', '.join(sections)})")
    try:
        config = validate_model(Config, data)
    except FieldErrors as exc:
        raise ConfigError("\n".join(_explain(path, text, sections, where, why)
                                    for where, why in exc.fields.items())) from None
    config.path = path
    return config


def _explain(path: Path, text: str, sections: dict[str, type[Section]], where: str, why: str) -> str:
    section, _, key = where.partition(".")
    key = key.partition(".")[0]
    line = _line_of(text, section, key or None) or "?"
    if why == "unknown field":
        known = ", ".join(sorted(sections[section].model_fields))
        return f"{path}:{line}: unknown key {section}.{key} (known: {known})"
    return f"{path}:{line}: {section}.{key}: {why}"


HEADER = """\
# /etc/mailfleet/mailfleetd.toml — every key, with its default.
# No file at all means these defaults. Unknown keys are errors (a typo is
# not silently ignored); `mailfleetd --check-config` checks without starting;
# `systemctl reload mailfleetd` applies changes (a bad file is refused and
# the running config kept). Keys marked "restart" apply at the next start.
# (Written by `mailfleetd --print-config` from the daemon's own models.)
"""


def _comment(doc: str | None, restart: bool = False) -> str:
    text = inspect.cleandoc(doc or "")
    if restart:
        text = f"{text} (restart)" if text else "(restart)"
    return "".join(f"# {line}".rstrip() + "\n" for line in text.splitlines()) if text else ""


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)  # strings and lists of strings: TOML reads JSON's forms


def documented() -> str:
    """The whole config file, every key with its default and what it does, from the models."""
    out = [HEADER]
    for name, model in Config.sections().items():
        out.append(f"\n[{name}]\n")
        if model.__doc__:
            out.append(_comment(model.__doc__) + "\n")
        defaults = model()
        for key, f in model.model_fields.items():
            out.append(_comment(f.description, bool((f.json_schema_extra or {}).get("restart"))))
            out.append(f"{key} = {_toml(getattr(defaults, key))}\n")
    return "".join(out)
