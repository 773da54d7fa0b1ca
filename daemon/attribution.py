"""Which sent message a bounce or a reply is about (issue 16's attribution).

Every Message-ID, In-Reply-To and References header anywhere in the message (its own header, and the
header of the message it returns, attached as message/rfc822 or text/rfc822-headers) is looked up among
the account's sent messages: a returned Message-ID of ours is the link `message_id`, one named by
In-Reply-To or References is `references`. Without such a link, a bounce whose recipient the account
mailed is `recipient`; one whose recipient it never mailed, while it does send through mailfleet, is
`stray` (forged, or mail that did not come from us) and by default marks nobody ([bounces] mark_strays).
An account that has sent nothing through mailfleet has nothing to match against: '' (and marks as ever).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .messages import Fetched
from .storage import outbox

_FIELD = re.compile(rb"^(message-id|in-reply-to|references)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_ID = re.compile(rb"<([^<>\s]{1,400})>")
MAX_IDS = 50  # a References chain is long; the newest (last) are the ones that matter


def referenced(raw: bytes) -> tuple[list[str], list[str]]:
    """(Message-IDs, In-Reply-To/References IDs) found in any header of the message, with their <>."""
    ids: list[str] = []
    refs: list[str] = []
    for m in _FIELD.finditer(raw):
        found = [f"<{v.decode('ascii', 'replace')}>" for v in _ID.findall(m.group(2))]
        (ids if m.group(1).lower() == b"message-id" else refs).extend(found)
    return ids[-MAX_IDS:], refs[-MAX_IDS:]


@dataclass
class Link:
    how: str  # message_id, references, recipient, stray, ''
    queue_id: int | None = None


async def links(conn, account_id: int, messages: list[Fetched]) -> dict[str, list[tuple[str, int]]]:
    """For each message (by key), the sent messages it refers to: [(how, queue_id)], best link first."""
    found: dict[str, tuple[list[str], list[str]]] = {m.key: referenced(m.raw or b"") for m in messages}
    wanted = sorted({i for ids, refs in found.values() for i in ids + refs})
    ours = {}
    for start in range(0, len(wanted), 500):
        ours.update(await outbox.by_message_ids(conn, account_id, wanted[start:start + 500]))
    out: dict[str, list[tuple[str, int]]] = {}
    for key, (ids, refs) in found.items():
        out[key] = [("message_id", ours[i]["id"]) for i in ids if i in ours] + \
                   [("references", ours[i]["id"]) for i in refs if i in ours]
    return out


def attribute(address: str, linked: list[tuple[str, int]], mailed: tuple[bool, set[str]]) -> Link:
    """How one failed recipient of a bounce is linked to what the account sent: the bounce's links (from
    links()), else whether the account mailed the address (`mailed`, from outbox.mailed)."""
    if linked:
        return Link(*linked[0])
    ever, recipients = mailed
    if not ever:
        return Link("")
    return Link("recipient") if address in recipients else Link("stray")
