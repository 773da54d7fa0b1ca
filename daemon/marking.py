"""What a round's verdicts do to contacts: the marking rules, inside the round's transaction.

A hard bounce marks the contact faulty at once; soft bounces are counted
and `soft_threshold` of them within `soft_window_days` mark it faulty. A
bounce for an address that is no contact is kept all the same. Mail from a
known contact that is neither bounce nor auto-reply is `mail.received`.
Each message counts once (its key is remembered), each recipient once per
message (the bounces table is unique on it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .config import BouncesSection
from .mailbox.session import Fetched
from .storage import bounces as bounce_store
from .storage import contacts as contact_store
from .storage import mailbox as mailbox_store
from .storage.db import Tx

BOUNCE_KINDS = ("bounce", "delayed")


@dataclass
class Outcome:
    counts: Counter
    delete_refs: list[str]  # bounce messages that may be deleted from the server


async def record(tx: Tx, rules: BouncesSection, account_id: int, messages: list[Fetched], now: str) -> Outcome:
    counts: Counter = Counter(fetched=len(messages))
    fresh: dict[str, Fetched] = {}
    for m in messages:
        if m.raw is None:
            counts["skipped_too_big"] += 1
        elif m.key not in fresh:
            fresh[m.key] = m
    already = await mailbox_store.seen(tx.conn, account_id, list(fresh))
    counts["already_seen"] = len(already)
    todo = [m for key, m in fresh.items() if key not in already]

    addresses = {f.address for m in todo if m.verdict.kind in BOUNCE_KINDS for f in m.verdict.failures}
    senders = {m.verdict.sender for m in todo if m.verdict.kind == "mail" and m.verdict.sender}
    known = await contact_store.existing(tx.conn, sorted(addresses | senders))
    since = (datetime.now(UTC) - timedelta(days=rules.soft_window_days)).isoformat(timespec="milliseconds")
    since = since.replace("+00:00", "Z")
    delete_refs: list[str] = []
    marked: set[int] = set()  # contacts made faulty in this round (the rows above are from before it)

    for m in todo:
        v = m.verdict
        counts[v.kind] += 1
        if v.kind in BOUNCE_KINDS:
            delete_refs.append(m.ref)
            raw = m.raw[: rules.raw_cap_bytes]
            for f in v.failures:
                contact = known.get(f.address)
                bounce_id = await bounce_store.insert(tx.conn, {
                    "account_id": account_id, "message_key": m.key, "message_id": v.message_id,
                    "recipient": f.address, "contact_id": contact["id"] if contact else None, "hard": int(f.hard),
                    "kind": v.kind, "status": f.status, "reason": f.reason, "diagnostic": f.diagnostic,
                    "raw": raw, "raw_truncated": int(len(m.raw) > len(raw)), "received_at": now,
                })
                if bounce_id is None:
                    continue
                counts["hard" if f.hard else "soft"] += 1
                await tx.event("bounce.hard" if f.hard else "bounce.soft", {
                    "account_id": account_id, "bounce_id": bounce_id, "recipient": f.address,
                    "status": f.status, "reason": f.reason, "contact": bool(contact),
                })
                if contact is not None:
                    await _mark(tx, rules, contact, f.hard, f.reason, since, now, counts, marked)
        elif v.kind == "mail" and v.sender in known:
            counts["from_contacts"] += 1
            await tx.event("mail.received", {
                "account_id": account_id, "contact": known[v.sender]["email"], "subject": v.subject,
                "message_id": v.message_id,
            })
    await mailbox_store.mark_seen(tx.conn, account_id, [(m.key, m.verdict.kind) for m in todo], now)
    return Outcome(counts, delete_refs)


async def _mark(tx: Tx, rules: BouncesSection, contact: Any, hard: bool, reason: str, since: str, now: str,
                counts: Counter, marked: set[int]) -> None:
    await contact_store.count_bounce(tx.conn, contact["id"], hard, now)
    if contact["status"] == "faulty" or contact["id"] in marked:
        return
    if hard:
        why = f"hard bounce: {reason}"
    else:
        recent = await contact_store.soft_bounces_since(tx.conn, contact["id"], since)
        if recent < rules.soft_threshold:
            return
        why = f"{recent} soft bounces in {rules.soft_window_days} days (latest: {reason})"
    await contact_store.mark_faulty(tx.conn, contact["id"], why, now)
    marked.add(contact["id"])
    counts["marked_faulty"] += 1
    await tx.event("contact.faulty", {"contact": contact["email"], "reason": why})
