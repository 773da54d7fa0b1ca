"""`mailfleetctl backup FILE` and `mailfleetctl keygen NAME`."""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import output
from .common import Command, Usage

if TYPE_CHECKING:
    from ..shared.client import Client

CHUNK = 1 << 20


def _backup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="where to write it (FILE.partial until the sha256 matches)")


def _keygen_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the name the daemon will know this key by (its user name)")
    p.add_argument("--dir", default=".", help="where to write the two files (default: here)")


def run(args: argparse.Namespace, client: Client) -> int:
    """Copy the daemon's snapshot here piece by piece, check its sha256, then let the daemon drop it."""
    target = Path(args.file)
    partial = target.with_name(target.name + ".partial")
    snap = client.call("system.backup", timeout=max(client.timeout, 600))
    digest = hashlib.sha256()
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            offset = 0
            while offset < snap["size"]:
                piece = client.call("system.backup_read", {"id": snap["id"], "offset": offset, "length": CHUNK})
                data = base64.b64decode(piece["data"])
                if not data:
                    raise Usage("the backup ended early")
                fh.write(data)
                digest.update(data)
                offset += len(data)
            fh.flush()
            os.fsync(fh.fileno())
        if digest.hexdigest() != snap["sha256"]:
            raise Usage("the copy does not match the daemon's checksum; try again")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        client.call("system.backup_done", {"id": snap["id"]})
    result = {"file": str(target), "size": snap["size"], "sha256": snap["sha256"]}
    print(output.as_json(result) if args.json else f"wrote {target} ({snap['size']:,} bytes, sha256 {snap['sha256'][:16]}…)")
    return 0


def keygen(args: argparse.Namespace, client: None = None) -> int:
    folder = Path(args.dir)
    if not args.name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise Usage("NAME: letters, digits, '-', '_' and '.' only")
    if (folder / f"{args.name}.key").exists() or (folder / f"{args.name}.key_secret").exists():
        print(f"mailfleetctl: {folder / args.name}.key already exists; not overwriting", file=sys.stderr)
        return 1
    folder.mkdir(parents=True, exist_ok=True)
    import zmq.auth  # here, not at the top: `mailfleetctl classify` starts without it

    public, secret = zmq.auth.create_certificates(str(folder), args.name)
    os.chmod(secret, 0o600)
    print(f"public key: {public}\n  -> copy it into the daemon's clients directory (/etc/mailfleet/clients/)")
    print(f"secret key: {secret}\n  -> keep it here; use it with --key (and the daemon's server.key with --server-key)")
    return 0


BACKUP = Command("backup", "write a consistent copy of the database to FILE (admins)", run, _backup_arguments)
KEYGEN = Command("keygen", "make a CURVE key pair for the remote endpoint: NAME.key, NAME.key_secret", keygen,
                 _keygen_arguments, offline=True)
