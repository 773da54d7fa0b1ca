"""An IMAP round's conversation (stdlib imaplib, run in a worker thread).

Messages are fetched with BODY.PEEK[] so \\Seen is never set, and only up to
the size cap: a message over it is skipped without being downloaded whole.
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator

from ..net.imap import FETCH_CHUNK, MAX_UID, connect, quote_folder
from ..net.settings import IncomingSettings
from ..net.words import describe
from ..messages import Fetched, header_message_id, message_key
from .session import MailboxError, Session

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


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


def _sample(value) -> str:
    """What the server sent, for a message: short, and never read as anything but text."""
    text = value.decode("ascii", "backslashreplace") if isinstance(value, bytes) else str(value)
    return repr(text[:80] + ("…" if len(text) > 80 else ""))


def _fetch_items(response: list) -> list[tuple[bytes, bytes | None]]:
    """imaplib's FETCH answer as (the message's data items, its literal or None): a literal comes
    as (the text before it, the literal), and the rest of that message's line (`UID 7)`) as the
    next plain bytes; a message without a literal is plain bytes alone."""
    out: list[tuple[bytes, bytes | None]] = []
    after_literal = False
    for part in response:
        if isinstance(part, tuple):
            out.append((part[0], part[1]))
            after_literal = True
        elif isinstance(part, bytes):
            if after_literal:
                out[-1] = (out[-1][0] + b" " + part, out[-1][1])
                after_literal = False
            else:
                out.append((part, None))
    return out


class ImapMailbox(Session):
    refused = imaplib.IMAP4.error

    def __init__(self, settings: IncomingSettings) -> None:
        super().__init__(settings)
        self.conn: imaplib.IMAP4 | None = None
        self.uidvalidity: int | None = None
        self.uidplus = False

    def open(self) -> int:
        s = self.s
        self._connect_and_login(connect, lambda conn: conn.login(s.user, s.password))
        assert self.conn is not None
        # Servers name their extensions again once logged in (Dovecot lists UIDPLUS only then);
        # imaplib keeps the greeting's list, so ask.
        try:
            typ, data = self.conn.capability()
        except Exception as exc:
            raise MailboxError("login", describe(exc)) from None
        caps = data[0].upper().split() if typ == "OK" and data and data[0] else []
        self.uidplus = b"UIDPLUS" in caps
        try:
            typ, data = self.conn.select(quote_folder(s.folder))
        except Exception as exc:
            raise MailboxError("select", describe(exc)) from None
        if typ != "OK":
            raise MailboxError("select", f"no folder named {s.folder!r} ({describe(data[0] if data else typ)})")
        value = self.conn.untagged_responses.get("UIDVALIDITY", [b"0"])[-1]
        try:
            self.uidvalidity = int(value)
        except (TypeError, ValueError):
            self.uidvalidity = -1
        if not 0 <= self.uidvalidity <= MAX_UID:
            raise MailboxError("select", f"protocol: the server's UIDVALIDITY is not a 32-bit number: {_sample(value)}")
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

    def new_uids(self, last_uid: int, skip: frozenset[int] = frozenset()) -> tuple[list[str], dict[str, str]]:
        """Up to batch_size UIDs after last_uid (but those in `skip`, already set aside), oldest first: never
        one past 32 bits, which no checkpoint can hold (those come back with why, to be set aside)."""
        data = self._cmd("search", "SEARCH", f"UID {last_uid + 1}:*")
        words = (data[0] or b"").split() if data else []
        if not all(w.isdigit() for w in words):
            raise MailboxError("search", f"protocol: the server's SEARCH answer is not a list of UIDs: {_sample(data[0])}")
        found = sorted({u for u in map(int, words) if u > last_uid and u not in skip})
        unread = {str(u): f"the server listed UID {u}, beyond the 32-bit UIDs IMAP allows" for u in found if u > MAX_UID}
        return [str(u) for u in found if u <= MAX_UID][: self.s.batch_size], unread

    def fetch(self, refs: list[str]) -> Iterator[tuple[list[Fetched], dict[str, str]]]:
        """These UIDs, a chunk at a time: the messages the server handed over, and the ones it did not,
        with why.

        One FETCH per chunk asks for the size and at most the cap's bytes (a partial
        BODY.PEEK[]<0.cap>): a message over the cap costs no more than the cap to skip,
        and no second pass is needed to learn the sizes first."""
        cap = self.s.max_message_bytes
        for i in range(0, len(refs), FETCH_CHUNK):
            chunk = refs[i: i + FETCH_CHUNK]
            items = {ref: Fetched(ref, 0) for ref in chunk}
            answered: set[str] = set()
            response = self._cmd("fetch", "FETCH", _uid_set([int(r) for r in chunk]),
                                 f"(UID RFC822.SIZE BODY.PEEK[]<0.{cap}>)")
            for meta, body in _fetch_items(response):
                uid, size = _UID.search(meta), _SIZE.search(meta)
                if not (uid and size) or uid.group(1).decode() not in items:
                    continue
                item = items[uid.group(1).decode()]
                answered.add(item.ref)
                item.size = int(size.group(1))
                if item.size <= cap:
                    item.raw = body if body is not None else b""  # an empty body has no literal
            unread = {ref: "the server's FETCH answer did not hand this message over (or could not be read)"
                      for ref in chunk if ref not in answered}
            yield [items[ref] for ref in chunk if ref in answered], unread

    def keys(self) -> dict[str, str]:
        """Every message of the folder by UID, with the key a round stored it under: its Message-ID, read
        from that header alone; a message without one is fetched whole (up to the cap, as a round
        fetched it) to be hashed. One over the cap was never read, so has no key and is left out."""
        data = self._cmd("search", "SEARCH", "ALL")
        words = (data[0] or b"").split() if data else []
        if not all(w.isdigit() for w in words):
            raise MailboxError("search", f"protocol: the server's SEARCH answer is not a list of UIDs: {_sample(data[0])}")
        uids = sorted({u for u in map(int, words) if u <= MAX_UID})
        keys: dict[int, str] = {}
        anonymous: list[int] = []
        for i in range(0, len(uids), FETCH_CHUNK):
            response = self._cmd("fetch", "FETCH", _uid_set(uids[i: i + FETCH_CHUNK]),
                                 "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for meta, header in _fetch_items(response):
                if uid := _UID.search(meta):
                    if mid := header_message_id(header or b""):
                        keys[uid.group(1).decode()] = message_key(mid, b"")
                    else:
                        anonymous.append(int(uid.group(1)))
        cap = self.s.max_message_bytes
        for i in range(0, len(anonymous), FETCH_CHUNK):
            response = self._cmd("fetch", "FETCH", _uid_set(anonymous[i: i + FETCH_CHUNK]),
                                 f"(UID RFC822.SIZE BODY.PEEK[]<0.{cap}>)")
            for meta, body in _fetch_items(response):
                uid, size = _UID.search(meta), _SIZE.search(meta)
                if uid and size and int(size.group(1)) <= cap:
                    keys[uid.group(1).decode()] = message_key(None, body or b"")
        return keys

    def delete(self, refs: list[str]) -> int | None:
        """Delete these UIDs (and only these); returns how many are gone: all, or None (still owed) when
        the server lacks UIDPLUS and another client's \\Deleted messages make EXPUNGE unsafe."""
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
            if not flagged <= set(uids):
                return None  # flagged, and still owed: a later round expunges them when it is safe
            assert self.conn is not None
            self.conn.expunge()
        return len(uids)

    def _goodbye(self, conn: imaplib.IMAP4) -> None:
        conn.logout()
