"""Is this socket the daemon's, or something another local user put in its place?

A client hands passwords to whatever answers at the socket path, so before
connecting it checks the path the way OpenSSH checks a key file: the socket
and the directory holding it belong to the user the client expects (the
caller for a per-user daemon; root or the service user for the system
one), neither is a symbolic link, the directory is writable by nobody else,
and no directory above it lets another user swap it (writable by others
only with the sticky bit, as /tmp is). A directory that nobody else can
write cannot have its socket replaced after the check, so checking before
`connect()` is enough.

The daemon applies the same rule to the directory it binds in.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Iterable
from pathlib import Path

SERVICE_USER = "mailfleet"  # systemd/mailfleet.sysusers.conf


class UntrustedPath(Exception):
    """A socket or directory that may belong to someone else; the message says what and how to fix it."""


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def service_uids() -> set[int]:
    """Who may own the system daemon's sockets: root, and the service user when it exists."""
    uids = {0}
    try:
        uids.add(pwd.getpwnam(SERVICE_USER).pw_uid)
    except KeyError:
        pass
    return uids


def _names(uids: Iterable[int]) -> str:
    return " or ".join(sorted(user_name(u) for u in uids))


def check_private_dir(directory: Path, owners: set[int], fix_mode: str = "700") -> None:
    """The directory exists, is a real directory owned by one of `owners`, and nobody else may write it."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UntrustedPath(f"{directory} is a symbolic link; refusing to follow it to a socket. "
                            f"Remove it (rm {directory}) and start the daemon again")
    if not stat.S_ISDIR(st.st_mode):
        raise UntrustedPath(f"{directory} is not a directory; remove it and start the daemon again")
    if st.st_uid not in owners:
        raise UntrustedPath(
            f"{directory} belongs to {user_name(st.st_uid)}, not to {_names(owners)}: another user may have "
            f"made it to catch what you send. Have it removed (as root: rm -r {directory}), or set "
            "XDG_RUNTIME_DIR to a directory of your own, then start the daemon again")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UntrustedPath(
            f"{directory} can be written by other users (mode {stat.S_IMODE(st.st_mode):04o}), so its socket "
            f"could be replaced: fix it with chmod {fix_mode} {directory} (owner {user_name(st.st_uid)})")
    for parent in Path(os.path.realpath(directory)).parents:
        pst = os.stat(parent)
        if pst.st_uid not in owners | {0}:
            raise UntrustedPath(f"{parent} (above {directory}) belongs to {user_name(pst.st_uid)}, "
                                "who could swap the socket directory; use a directory under one you or root own")
        if pst.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not pst.st_mode & stat.S_ISVTX:
            raise UntrustedPath(f"{parent} (above {directory}) can be written by other users and is not sticky, "
                                "so the socket directory could be swapped; use another directory")


def check_socket(path: Path, owners: set[int]) -> bool:
    """True when a trusted socket is there, False when there is none; raises UntrustedPath otherwise."""
    check_private_dir(path.parent, owners)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(st.st_mode):
        raise UntrustedPath(f"{path} is not a socket ({'a symbolic link' if stat.S_ISLNK(st.st_mode) else 'a file'}); "
                            "refusing to use it. Remove it and start the daemon again")
    if st.st_uid not in owners:
        raise UntrustedPath(f"{path} belongs to {user_name(st.st_uid)}, not to {_names(owners)}: "
                            "it is not the daemon you mean. Remove it and start the daemon again")
    return True
