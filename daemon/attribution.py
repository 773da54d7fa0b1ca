"""Which sent message a bounce or a reply is about (issue 16's attribution).

A bounce that came back to a per-recipient envelope sender of ours (VERP, verp.py) names its
message by the token in that address: the link `verp`, the surest, and the recipient it names is the one the
bounce is about whatever the report says (a report naming a forwarding address, or garbled past reading).
Otherwise, every Message-ID, In-Reply-To and References header anywhere in the message (its own header, and the
header of the message it returns, attached as message/rfc822 or text/rfc822-headers) is looked up among
the account's sent messages: a returned Message-ID of ours is the link `message_id`, one named by
In-Reply-To or References is `references`. Without such a link, a bounce whose recipient the account
mailed is `recipient`; one whose recipient it never mailed, while it does send through mailfleet, is
`stray` (forged, or mail that did not come from us) and by default marks nobody ([bounces] mark_strays).
An account that has sent nothing through mailfleet has nothing to match against: '' (and marks as ever).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..shared.bounces import Failure, Verdict
from ..shared.bounces.reasons import UNDEFINED_RULE
from .messages import Fetched
from .verp import Verp
from .storage import outbox

@dataclass
class Link:
    how: str  # message_id, references, recipient, stray, ''
    queue_id: int | None = None


async def links(conn, account_id: int, messages: list[Fetched]) -> dict[str, list[tuple[str, int]]]:
    """For each message (by key), the sent messages it refers to: [(how, queue_id)], best link first."""
    found = {m.key: m.references for m in messages}
    wanted = sorted({i for ids, refs in found.values() for i in ids + refs})
    ours = {}
    for start in range(0, len(wanted), 500):
        ours.update(await outbox.by_message_ids(conn, account_id, wanted[start:start + 500]))
    out: dict[str, list[tuple[str, int]]] = {}
    for key, (ids, refs) in found.items():
        out[key] = [("message_id", ours[i]["id"]) for i in ids if i in ours] + \
                   [("references", ours[i]["id"]) for i in refs if i in ours]
    return out


async def by_envelope(conn, account_id: int, messages: list[Fetched], verp: Verp) -> dict[str, tuple[int, str]]:
    """The messages (by key) that came to a VERP address of this account's: (queue_id, recipient) of the
    message its token names. A token of another account's message names nothing here."""
    tokens = {m.key: verp.queue_ids(m.raw or b"") for m in messages}
    ids = sorted({i for found in tokens.values() for i in found})
    if not ids:
        return {}
    ours: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        ours.update(await outbox.recipients(conn, account_id, ids[start:start + 500]))
    out: dict[str, tuple[int, str]] = {}
    for key, found in tokens.items():
        named = next((i for i in found if i in ours), None)
        if named is not None:
            out[key] = (named, ours[named])
    return out


def about_recipient(verdict: Verdict, recipient: str) -> None:
    """The verdict on a bounce whose envelope names `recipient`: its failures for that address; else (the
    report names another, e.g. the address it was forwarded to) the report's first failure, as the
    recipient's (the address the report named kept as its final recipient); and a report nobody could read
    is a soft bounce of unknown reason for the recipient: counted, never a mark on its own."""
    if verdict.kind == "unparsed":
        verdict.kind = "bounce"
        verdict.failures = [Failure(recipient, False, None, "undefined", verdict.note, rule=UNDEFINED_RULE,
                                    evidence=verdict.note)]
        return
    same = [f for f in verdict.failures if f.address == recipient]
    if same:
        verdict.failures = same
    elif verdict.failures:
        first = verdict.failures[0]
        verdict.failures = [Failure(recipient, first.hard, first.status, first.reason, first.diagnostic,
                                    first.final_recipient or first.address, first.rule, first.evidence)]


def attribute(address: str, linked: list[tuple[str, int]], mailed: tuple[bool, set[str]]) -> Link:
    """How one failed recipient of a bounce is linked to what the account sent: the bounce's links (from
    links()), else whether the account mailed the address (`mailed`, from outbox.mailed)."""
    if linked:
        return Link(*linked[0])
    ever, recipients = mailed
    if not ever:
        return Link("")
    return Link("recipient") if address in recipients else Link("stray")
