"""mailfleetd: the command line of the daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

import zmq

from ..shared.paths import system_paths, user_paths
from ..shared.clidocs import add_doc_options
from ..shared.version import VersionAction
from . import logs
from .app import App
from .config import ConfigError, documented, load
from .lifecycle import StartupError
from .secrets import SecretKeyError
from .storage import DatabaseError

EX_CONFIG = 78
EX_UNAVAILABLE = 69

log = logging.getLogger("mailfleetd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailfleetd",
        description="The mailfleet daemon: owns the database, serves JSON-RPC over ZeroMQ.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--user", action="store_true", help="per-user daemon with XDG paths (what `mailfleet` starts)")
    mode.add_argument("--system", action="store_true", help="system service paths (the default)")
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--config", type=Path, help="config file (default: mailfleetd.toml in the config dir)")
    parser.add_argument("--check-config", action="store_true", help="check the config and exit")
    parser.add_argument("--print-config", action="store_true",
                        help="print every config key with its default and what it does (a mailfleetd.toml to start "
                             "from), and exit")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="override daemon.log_level")
    parser.add_argument("--log-file", type=Path, metavar="FILE",
                        help="log to FILE, rotated by size (daemon.log_file_bytes), instead of stderr")
    parser.add_argument("--new-key", type=Path, metavar="FILE",
                        help="write a new encryption key to FILE (0600, never overwrites) and exit")
    add_doc_options(parser)
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def new_key(path: Path) -> int:
    """A key for systemd's LoadCredential= (or any key file): made once, kept with the backups."""
    from cryptography.fernet import Fernet

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"mailfleetd: {path} exists; not overwriting a key (the stored passwords depend on it)", file=sys.stderr)
        return 1
    with os.fdopen(fd, "wb") as fh:
        fh.write(Fernet.generate_key() + b"\n")
    print(f"wrote a new key to {path}; back it up with the database")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.new_key:
        return new_key(args.new_key)
    if args.print_config:
        print(documented(), end="")
        return 0
    paths = user_paths() if args.user else system_paths()
    os.umask(0o077 if args.user else 0o007)
    config_path = args.config or paths.config_file
    try:
        config = load(config_path)
    except ConfigError as exc:
        print(f"mailfleetd: config error: {exc}", file=sys.stderr)
        return EX_CONFIG
    if args.check_config:
        print(f"{config_path}: ok" if config_path.exists() else f"{config_path}: not found; all defaults apply")
        return 0
    logs.setup(args.log_level or config.daemon.log_level, args.log_file, config.daemon.log_file_bytes)
    try:
        app = App(config, paths)
        app.log_file = args.log_file
        asyncio.run(app.run())
    except (StartupError, DatabaseError, SecretKeyError) as exc:
        log.error("%s", exc)
        return EX_UNAVAILABLE
    except (OSError, zmq.ZMQError) as exc:
        log.error("cannot start: %s", exc)
        return EX_UNAVAILABLE
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
