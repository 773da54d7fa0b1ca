"""Taking mail in: a job and one queue row per recipient, committed before the caller hears "accepted".

Recipients are matched to contacts by address: a faulty or complained contact is never sent to; its
row is `suppressed`, with the reason, so the job reports who was left out and why. Each recipient's
Message-ID is fixed here, so that a retry sends the same message and a bounce or reply that quotes it
finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..failpoints import crash_point
from ..storage import contacts as contact_store
from ..storage import outbox
from ..storage.db import Tx, utcnow
from .compose import new_message_id

SUPPRESSED = {"faulty": "a faulty contact (its address bounced)", "complained": "the contact complained (spam report)"}


@dataclass
class Accepted:
    job: int
    queued: int
    suppressed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job, "queued": self.queued, "suppressed": self.suppressed}


async def accept(tx: Tx, account_id: int, account_email: str, by: str, source: str, body: bytes,
                 recipients: list[str]) -> Accepted:
    """Queue `body` for each recipient (addresses already checked; the same address twice is sent once)."""
    now = utcnow()
    unique = list(dict.fromkeys(r.lower() for r in recipients))
    known = await contact_store.existing(tx.conn, unique)
    job = await outbox.create_job(tx.conn, account_id, by, source, body, len(unique), now)
    rows, suppressed = [], []
    for address in unique:
        contact = known.get(address)
        why = SUPPRESSED.get(contact["status"]) if contact else None
        if why:
            suppressed.append({"recipient": address, "why": why})
        rows.append((job, account_id, address, "suppressed" if why else "queued", new_message_id(account_email),
                     now, f"suppressed: {why}" if why else "", now))
    await outbox.add(tx.conn, rows)
    await tx.event("send.accepted", {"account_id": account_id, "job": job, "queued": len(rows) - len(suppressed),
                                     "suppressed": len(suppressed), "by": by, "source": source})
    for done, counts in await outbox.finish_jobs(tx.conn, [job], now):  # nobody to send to: done at once
        await tx.event("send.done", {"account_id": account_id, "job": done["id"], "states": counts})
    crash_point("send.before_commit")  # all written, nothing committed: the caller has heard nothing
    return Accepted(job, len(rows) - len(suppressed), suppressed)

