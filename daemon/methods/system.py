"""system.*: is the daemon there, and who does it think I am."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from pathlib import Path

from ...shared import protocol as P
from ...shared.version import package_version
from ...shared.models import BackupChunkParams, BackupParams
from ..rpc import Call, rpc_method
from ..storage import accounts as account_store
from ..storage import oauth as oauth_store
from ..storage.db import days_ago, utcnow

_SNAPSHOT = re.compile(r"snapshot-[0-9TZ:.-]+\.db")


@rpc_method("system.ping")
async def ping(call: Call, params) -> dict:
    """Answer at once: liveness for scripts and health checks."""
    return {"pong": True}


@rpc_method("system.info")
async def info(call: Call, params) -> dict:
    """The daemon's version and mode, and the caller's user name and admin right."""
    daemon = call.daemon
    return {
        "version": package_version(),
        "mode": daemon.paths.mode,
        "pid": daemon.pid,
        "started_at": daemon.started_at,
        "user": call.caller.user,
        "admin": call.caller.admin,
        "endpoints": {"rpc": daemon.paths.rpc_endpoint},  # events: events.subscribe on this same socket
        "paths": {"config": str(call.config.path or daemon.paths.config_file), "database": str(daemon.paths.database),
                  "log": str(daemon.log_file) if daemon.log_file else "stderr (the journal, under systemd)"},
        # Long requests (tests, polls, imports, backups) under way: yours, and everyone's.
        "long_requests": {"yours": daemon.long_work.in_flight(call.caller.user), "all": daemon.long_work.in_flight(),
                          "limit": daemon.long_work.total, "limit_per_user": daemon.long_work.per_caller},
        "remote": {"endpoint": call.config.remote.endpoint,
                   "server_key": daemon.remote_public_key.decode() if daemon.remote_public_key else None}
        if call.caller.admin and call.config.remote.endpoint else None,
    }


@rpc_method("system.status")
async def status(call: Call, params) -> dict:
    """One screen of how things stand, as `mailfleetctl status` prints it: the daemon, the accounts you
    may see by kind and status, their mailboxes' last round, the next one and the backlog, the failures."""
    daemon = call.daemon
    viewer = call.caller.viewer
    tally = await account_store.tally(call.db.read, viewer)
    visible = None if viewer is None else await account_store.mailbox_ids(call.db.read, viewer)
    by_kind: dict[str, dict[str, int]] = {}
    for kind, word, n in tally["counts"]:
        by_kind.setdefault(kind, {})[word] = n
    return {
        "daemon": {"version": package_version(), "mode": daemon.paths.mode, "pid": daemon.pid,
                   "started_at": daemon.started_at, "endpoint": daemon.paths.rpc_endpoint,
                   # Any account's round: about other users' mailboxes, so for admins only.
                   "last_round": {"at": call.poller.last_round[0], "ok": call.poller.last_round[1]}
                   if call.poller.last_round and viewer is None else None},
        "accounts": {"total": sum(n for _, _, n in tally["counts"]), "by_kind": by_kind},
        "mailboxes": {"total": tally["mailboxes"], "failing": tally["mailboxes_failing"],
                      "last_poll_at": tally["last_poll_at"], **call.poller.outlook(visible)},
        "failing": {"total": tally["failing_total"], "items": tally["failing"]},
        # Refused as a sender (a blocklist, SPF/DKIM/DMARC, a rate limit): what to fix before mailing on.
        "sender_problems": {"total": tally["unhealthy_total"], "items": tally["unhealthy"]},
        # OAuth accounts a person must sign in (again), or soon: a refresh token near its end warns ahead.
        "sign_in": dict(zip(("total", "items"), await oauth_store.needing_sign_in(
            call.db.read, viewer, days_ago(-call.config.oauth.warn_days)))),
        "long_requests": {"yours": daemon.long_work.in_flight(call.caller.user), "all": daemon.long_work.in_flight()},
    }


def _admin(call: Call) -> None:
    if not call.caller.admin:
        raise P.forbidden("backups are for admins")


def _snapshot(call: Call, name: str) -> Path:
    if not _SNAPSHOT.fullmatch(name):
        raise P.invalid_params({"id": "not a backup id"})
    path = call.daemon.paths.state_dir / "backups" / name
    if not path.exists():
        raise P.not_found(f"backup {name}")
    return path


@rpc_method("system.backup", long=True)
async def backup(call: Call, params) -> dict:
    """Take a consistent copy of the database (admins); read it with system.backup_read."""
    _admin(call)
    folder = call.daemon.paths.state_dir / "backups"
    folder.mkdir(mode=0o700, exist_ok=True)
    for old in folder.glob("snapshot-*.db"):  # copies nobody came back for
        if old.stat().st_mtime < time.time() - 3600:
            old.unlink(missing_ok=True)
    name = f"snapshot-{utcnow().replace(':', '-')}.db"
    path = folder / name
    await call.db.backup_to(path)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"id": name, "size": path.stat().st_size, "sha256": digest.hexdigest()}


@rpc_method("system.backup_read", BackupChunkParams)
async def backup_read(call: Call, params: BackupChunkParams) -> dict:
    """A piece of a backup, base64 (admins)."""
    _admin(call)
    with open(_snapshot(call, params.id), "rb") as fh:
        fh.seek(params.offset)
        data = fh.read(params.length)
    return {"offset": params.offset, "data": base64.b64encode(data).decode()}


@rpc_method("system.backup_done", BackupParams)
async def backup_done(call: Call, params: BackupParams) -> dict:
    """Remove a backup's snapshot from the daemon's state directory (admins)."""
    _admin(call)
    _snapshot(call, params.id).unlink()
    return {"removed": params.id}
