"""Who is calling: the kernel's word (SO_PEERCRED via ZeroMQ metadata), never the caller's.

Over ipc, libzmq sets the message property `Peer-Address` to
`<addr>:<uid>:<gid>:<pid>`; the uid is mapped to a user name. Admins are
root, the daemon's own user and the users and groups named in the config.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass

from .config import AdminsSection, ContactsSection


@dataclass(frozen=True)
class Caller:
    user: str
    uid: int | None
    admin: bool
    contacts: bool = False  # may write contacts (admins, and [contacts] users and groups)

    @property
    def viewer(self) -> str | None:
        """Whose visibility applies in SQL (storage/visibility.py): None for an admin, who sees everything."""
        return None if self.admin else self.user

    def can_see(self, owner: str, shared: bool) -> bool:
        """The visibility rule for one account in hand; storage/visibility.py is its SQL form."""
        return self.admin or shared or owner == self.user

    def can_manage(self, owner: str) -> bool:
        """Delete, or change sharing: the owner and admins, not everyone a shared account is shown to."""
        return self.admin or owner == self.user


def parse_peer_uid(peer_address: str | None) -> int | None:
    if not peer_address:
        return None
    parts = peer_address.rsplit(":", 3)
    if len(parts) != 4:
        return None
    try:
        return int(parts[1])
    except ValueError:
        return None


class Identities:
    def __init__(self, admins: AdminsSection, contacts: ContactsSection) -> None:
        self._admins = admins
        self._contacts = contacts
        self._own_uid = os.getuid()
        self._cache: dict[int, Caller] = {}

    def reconfigure(self, admins: AdminsSection, contacts: ContactsSection) -> None:
        self._admins = admins
        self._contacts = contacts
        self._cache.clear()

    def for_uid(self, uid: int | None) -> Caller | None:
        if uid is None:
            return None
        caller = self._cache.get(uid)
        if caller is None:
            caller = self._cache[uid] = self._resolve(uid)
        return caller

    def for_key_name(self, name: str) -> Caller | None:
        """A CURVE client, named by its key file: admin only if named in [admins] users."""
        if not name:
            return None
        admin = name in self._admins.users
        return Caller(user=name, uid=None, admin=admin, contacts=admin or name in self._contacts.users)

    def for_user(self, name: str) -> Caller | None:
        """Someone known by name (who made an SMTP submission login): their Unix account's rights, else a
        CURVE client's of that name."""
        try:
            return self.for_uid(pwd.getpwnam(name).pw_uid)
        except KeyError:
            return self.for_key_name(name)

    def _resolve(self, uid: int) -> Caller:
        try:
            entry = pwd.getpwuid(uid)
            name, gid = entry.pw_name, entry.pw_gid
        except KeyError:
            admin = uid in (0, self._own_uid)
            return Caller(user=f"uid:{uid}", uid=uid, admin=admin, contacts=admin)
        admin = uid in (0, self._own_uid) or self._named(name, gid, self._admins)
        return Caller(user=name, uid=uid, admin=admin, contacts=admin or self._named(name, gid, self._contacts))

    @staticmethod
    def _named(name: str, gid: int, section: AdminsSection | ContactsSection) -> bool:
        if name in section.users:
            return True
        for group in section.groups:
            try:
                entry = grp.getgrnam(group)
            except KeyError:
                continue
            if entry.gr_gid == gid or name in entry.gr_mem:
                return True
        return False
