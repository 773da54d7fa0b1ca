"""A POP3 round's conversation (stdlib poplib, run in a worker thread).

POP3 has no flags: reading marks nothing. UIDL names each message; DELE
takes effect at QUIT, after the round's results are committed.
"""

from __future__ import annotations

import poplib
from collections.abc import Iterator

from ..net.pop3 import connect
from ..net.settings import IncomingSettings
from ..messages import Fetched, header_message_id, message_key
from ..net.words import describe
from .session import MailboxError, Session


_CHUNK = 500  # messages handed on to be classified at once, while the next ones are fetched



def _joined(lines: list[bytes]) -> bytes:
    """A message as poplib hands it over (lines without their ends), as its bytes: what a key is made of."""
    return b"\r\n".join(lines) + b"\r\n"


class Pop3Mailbox(Session):
    refused = poplib.error_proto

    def __init__(self, settings: IncomingSettings) -> None:
        super().__init__(settings)
        self.conn: poplib.POP3 | None = None
        self.numbers: dict[str, int] = {}  # UIDL -> message number in this session
        self.sizes: dict[int, int] = {}

    def open(self) -> None:
        s = self.s
        self._connect_and_login(connect, lambda conn: (conn.user(s.user), conn.pass_(s.password)))
        assert self.conn is not None
        try:
            _, listing, _ = self.conn.uidl()
            _, sizes, _ = self.conn.list()
        except Exception as exc:
            raise MailboxError("list", describe(exc)) from None
        try:
            for line in listing:
                num, _, uidl = line.decode("ascii", "replace").partition(" ")
                uidl = uidl.strip()
                if not uidl:
                    raise ValueError(line)
                if uidl in self.numbers:
                    # RFC 1939 wants UIDLs unique; a server that repeats one must not hide the second message.
                    uidl = f"{uidl}#{int(num)}"
                self.numbers[uidl] = int(num)
            for line in sizes:
                num, _, size = line.decode("ascii", "replace").partition(" ")
                self.sizes[int(num)] = int(size.split()[0]) if size.split() else 0
        except ValueError:
            raise MailboxError("list", f"protocol: the server's UIDL or LIST answer is not a list of numbered "
                                       f"messages: {line[:80].decode('ascii', 'backslashreplace')!r}") from None

    def uidls(self) -> list[str]:
        return list(self.numbers)

    def fetch(self, uidls: list[str]) -> Iterator[tuple[list[Fetched], dict[str, str]]]:
        """These messages, a chunk at a time: the ones read, and those the server refused to hand over
        (RETR answered -ERR, the session still fine), with why."""
        assert self.conn is not None
        for i in range(0, len(uidls), _CHUNK):
            out: list[Fetched] = []
            unread: dict[str, str] = {}
            for uidl in uidls[i: i + _CHUNK]:
                num = self.numbers[uidl]
                item = Fetched(uidl, self.sizes.get(num, 0))
                if item.size <= self.s.max_message_bytes:
                    try:
                        _, lines, _ = self.conn.retr(num)
                    except poplib.error_proto as exc:
                        if not describe(exc).startswith("-ERR"):
                            raise MailboxError("fetch", describe(exc)) from None  # the answer itself was broken
                        unread[uidl] = f"the server refused to hand this message over: {describe(exc)[:200]}"
                        continue
                    except Exception as exc:
                        raise MailboxError("fetch", describe(exc)) from None
                    item.raw = _joined(lines)
                out.append(item)
            yield out, unread

    def keys(self) -> dict[str, str]:
        """Every message by UIDL, with the key a round stored each under: its Message-ID from the
        header (TOP n 0), else a hash of the whole message (RETR, as a round read it). One over the
        cap was never read, so has no key and is left out."""
        assert self.conn is not None
        keys: dict[str, str] = {}
        for uidl, num in self.numbers.items():
            if self.sizes.get(num, 0) > self.s.max_message_bytes:
                continue
            try:
                try:
                    _, lines, _ = self.conn.top(num, 0)
                except poplib.error_proto as exc:
                    if not describe(exc).startswith("-ERR"):
                        raise
                    lines = []  # TOP is optional (RFC 1939): the whole message tells as much
                mid = header_message_id(_joined(lines)) if lines else None
                if mid:
                    keys[uidl] = message_key(mid, b"")
                    continue
                _, lines, _ = self.conn.retr(num)
            except poplib.error_proto as exc:
                if not describe(exc).startswith("-ERR"):
                    raise MailboxError("fetch", describe(exc)) from None
                continue  # refused: a round sets such a message aside; it is not ours to delete
            except Exception as exc:
                raise MailboxError("fetch", describe(exc)) from None
            raw = _joined(lines)
            keys[uidl] = message_key(header_message_id(raw), raw)
        return keys

    def delete(self, refs: list[str]) -> int:
        """DELE these UIDLs; they go at QUIT (close)."""
        assert self.conn is not None
        count = 0
        for uidl in refs:
            num = self.numbers.get(uidl)
            if num is None:
                continue  # already gone
            try:
                self.conn.dele(num)
            except Exception as exc:
                raise MailboxError("delete", describe(exc)) from None
            count += 1
        return count

    def _goodbye(self, conn: poplib.POP3) -> None:
        conn.quit()  # QUIT: the DELEs take effect now; without it (a crash) the server keeps every message
