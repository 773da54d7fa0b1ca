"""Per-recipient envelope senders (VERP): a bounce names the message it is about by the address it came to.

With an account's `verp` on, the envelope sender (MAIL FROM) of each message is the reply address with a
token after a '+' (the subaddress delimiter of Postfix's `recipient_delimiter = +`, Gmail and Microsoft
365's plus addressing, Sieve's RFC 5233): replies+mf-2s-k3v7q2xa@shop.test. A bounce goes to the envelope
sender (RFC 5321 section 4.5.5), so the token comes back in the bounce's To, Delivered-To or X-Original-To
however garbled the report itself is, and names one queued message and so one recipient.

The token is the queue row's id and an HMAC of it under a key derived from the daemon's secret key: a
forged or mistyped token names nobody. Lower case base 36 / base 32, so a server that folds the local part's
case loses nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

PREFIX = "mf-"
_SIG_CHARS = 8  # 40 bits: a forger has one chance in 10^12 per guess
_TOKEN = re.compile(rb"\+mf-([0-9a-z]{1,12})-([a-z2-7]{8})@", re.IGNORECASE)
MAX_TOKENS = 20  # tokens looked at in one message (a report quoting many addresses names at most these)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


class Verp:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _signature(self, queue_id: int) -> str:
        digest = hmac.new(self._key, f"verp:{queue_id}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:5]).decode().lower()

    def address(self, envelope: str, queue_id: int) -> str:
        """`envelope` with the token of queue row `queue_id` after a '+' in its local part."""
        local, _, domain = envelope.rpartition("@")
        return f"{local}+{PREFIX}{_base36(queue_id)}-{self._signature(queue_id)}@{domain}"

    def queue_ids(self, raw: bytes) -> list[int]:
        """The queue rows named by a genuine token anywhere in the message, first found first."""
        found: list[int] = []
        for m in _TOKEN.finditer(raw):
            queue_id = int(m.group(1).decode(), 36)
            if hmac.compare_digest(m.group(2).decode().lower(), self._signature(queue_id)) and queue_id not in found:
                found.append(queue_id)
                if len(found) >= MAX_TOKENS:
                    break
        return found
