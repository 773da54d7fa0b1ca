"""An IMAP round's conversation (stdlib imaplib, run in a worker thread).

Messages are fetched with BODY.PEEK[] so \\Seen is never set; sizes come
first so a message over the cap is skipped without being downloaded.
"""

from __future__ import annotations

import imaplib
import re

from .session import Fetched, IncomingSettings, MailboxError, describe
from .sockets import OnGivenSocket, connect_client

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_FETCH_CHUNK = 500


def _uid_set(uids: list[int]) -> str:
    """1,2,3,7,8 -> '1:3,7:8': short command lines for big batches."""
    out, start, prev = [], None, None
    for uid in sorted(uids):
        if start is None:
            start = prev = uid
        elif uid == prev + 1:
            prev = uid
        else:
            out.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = uid
    if start is not None:
        out.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(out)


def quote_folder(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SocketIMAP4(OnGivenSocket, imaplib.IMAP4):
    """The stdlib client over a socket we opened."""


def connect(s: IncomingSettings) -> imaplib.IMAP4:
    return connect_client(SocketIMAP4, s.host, s.port, s.timeout, s.proxy, s.ssl, s.verify_tls)


class ImapMailbox:
    def __init__(self, settings: IncomingSettings) -> None:
        self.s = settings
        self.conn: imaplib.IMAP4 | None = None
        self.uidvalidity: int | None = None
        self.uidplus = False

    def open(self) -> int:
        s = self.s
        try:
            self.conn = connect(s)
        except Exception as exc:
            raise MailboxError("connect", f"{s.host}:{s.port}: {describe(exc)}") from None
        try:
            self.conn.login(s.user, s.password)
        except imaplib.IMAP4.error as exc:
            raise MailboxError("login", f"the server refused the user name or password ({describe(exc)})") from None
        except Exception as exc:
            raise MailboxError("login", describe(exc)) from None
        self.uidplus = "UIDPLUS" in self.conn.capabilities
        try:
            typ, data = self.conn.select(quote_folder(s.folder))
        except Exception as exc:
            raise MailboxError("select", describe(exc)) from None
        if typ != "OK":
            raise MailboxError("select", f"no folder named {s.folder!r} ({describe(data[0] if data else typ)})")
        value = self.conn.untagged_responses.get("UIDVALIDITY", [b"0"])[-1]
        self.uidvalidity = int(value)
        return self.uidvalidity

    def _cmd(self, step: str, *args: str):
        assert self.conn is not None
        try:
            typ, data = self.conn.uid(*args)
        except Exception as exc:
            raise MailboxError(step, describe(exc)) from None
        if typ != "OK":
            raise MailboxError(step, describe(data[0] if data and data[0] else typ))
        return data

    def fetch_new(self, last_uid: int) -> tuple[list[Fetched], int]:
        """Up to batch_size messages after last_uid, classified; and the highest UID read."""
        data = self._cmd("search", "SEARCH", f"UID {last_uid + 1}:*")
        uids = sorted(u for u in map(int, data[0].split()) if u > last_uid)[: self.s.batch_size]
        if not uids:
            return [], last_uid
        sizes: dict[int, int] = {}
        for i in range(0, len(uids), _FETCH_CHUNK):
            for item in self._cmd("fetch", "FETCH", _uid_set(uids[i: i + _FETCH_CHUNK]), "(UID RFC822.SIZE)"):
                meta = item if isinstance(item, bytes) else item[0]
                uid, size = _UID.search(meta), _SIZE.search(meta)
                if uid and size:
                    sizes[int(uid.group(1))] = int(size.group(1))
        items = {uid: Fetched(str(uid), sizes.get(uid, 0)) for uid in uids}
        wanted = [uid for uid in uids if sizes.get(uid, 0) <= self.s.max_message_bytes]
        for i in range(0, len(wanted), _FETCH_CHUNK):
            for item in self._cmd("fetch", "FETCH", _uid_set(wanted[i: i + _FETCH_CHUNK]), "(UID BODY.PEEK[])"):
                if isinstance(item, tuple):
                    uid = _UID.search(item[0])
                    if uid and int(uid.group(1)) in items:
                        items[int(uid.group(1))].raw = item[1]
        fetched = [items[uid] for uid in uids]
        for message in fetched:
            message.classify()
        return fetched, uids[-1]

    def delete(self, refs: list[str]) -> int:
        """Delete these UIDs (and only these); returns how many were asked for."""
        uids = [int(r) for r in refs]
        if not uids:
            return 0
        uid_set = _uid_set(uids)
        self._cmd("delete", "STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)")
        if self.uidplus:
            self._cmd("delete", "EXPUNGE", uid_set)
        else:
            # Without UIDPLUS, EXPUNGE removes every \Deleted message: only when those are all ours.
            flagged = set(map(int, self._cmd("delete", "SEARCH", "DELETED")[0].split()))
            if flagged <= set(uids):
                assert self.conn is not None
                self.conn.expunge()
        return len(uids)

    def close(self) -> None:
        if self.conn is None:
            return
        try:
            self.conn.logout()
        except Exception:
            pass
        self.conn = None
