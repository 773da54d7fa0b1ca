"""What a round's verdicts do to contacts: the marking rules, inside the round's transaction.

A hard bounce marks the contact faulty at once; soft bounces are counted
and `soft_threshold` of them within `soft_window_days` mark it faulty. A
bounce for an address that is no contact is kept all the same. Mail from a
known contact that is neither bounce nor auto-reply is `mail.received`.
Each message counts once (its key is remembered), each recipient once per
message (the bounces table is unique on it).

Everything is done in batches (a handful of statements per round, whatever
its size): a round of 10,000 bounces must not cost 10,000 round trips to
the database thread.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .config import BouncesSection
from .messages import Fetched
from .storage import bounces as bounce_store
from .storage import contacts as contact_store
from .storage import mailbox as mailbox_store
from .storage.db import Tx

BOUNCE_KINDS = ("bounce", "delayed")


@dataclass
class Outcome:
    counts: Counter
    delete_refs: list[str]  # bounce messages (and copies of ones counted before) that may be deleted from the server


def _fresh(messages: list[Fetched], counts: Counter) -> dict[str, Fetched]:
    fresh: dict[str, Fetched] = {}
    for m in messages:
        if m.raw is None:
            counts["skipped_too_big"] += 1
        elif m.key not in fresh:
            fresh[m.key] = m
    return fresh


async def record(tx: Tx, rules: BouncesSection, account_id: int, messages: list[Fetched], now: str) -> Outcome:
    counts: Counter = Counter(fetched=len(messages))
    fresh = _fresh(messages, counts)
    already = await mailbox_store.seen(tx.conn, account_id, list(fresh))
    counts["already_seen"] = len(already)
    # A bounce is a bounce however often it arrives: every copy may be deleted, the first counted once.
    bounce_keys = {key for key, kind in already.items() if kind in BOUNCE_KINDS}
    todo = [m for key, m in fresh.items() if key not in already]
    for m in todo:
        counts[m.verdict.kind] += 1

    bounced = [m for m in todo if m.verdict.kind in BOUNCE_KINDS]
    humans = [m for m in todo if m.verdict.kind == "mail" and m.verdict.sender]
    addresses = {f.address for m in bounced for f in m.verdict.failures}
    known = await contact_store.existing(tx.conn, sorted(addresses | {m.verdict.sender for m in humans}))

    rows = []
    for m in bounced:
        raw = m.raw[: rules.raw_cap_bytes]
        for f in m.verdict.failures:
            contact = known.get(f.address)
            rows.append({
                "account_id": account_id, "message_key": m.key, "message_id": m.verdict.message_id,
                "recipient": f.address, "contact_id": contact["id"] if contact else None, "hard": int(f.hard),
                "kind": m.verdict.kind, "status": f.status, "reason": f.reason, "diagnostic": f.diagnostic,
                "raw": raw, "raw_truncated": int(len(m.raw) > len(raw)), "received_at": now,
            })
    inserted = await bounce_store.insert_many(tx.conn, rows)
    events: list[tuple[str, dict[str, Any]]] = []
    for row in inserted:
        counts["hard" if row["hard"] else "soft"] += 1
        events.append(("bounce.hard" if row["hard"] else "bounce.soft", {
            "account_id": account_id, "bounce_id": row["id"], "recipient": row["recipient"],
            "status": row["status"], "reason": row["reason"], "contact": row["contact_id"] is not None,
        }))
    events += [(type, {**data, "account_id": account_id}) for type, data in
               await _mark(tx, rules, [r for r in inserted if r["contact_id"] is not None], known, now, counts)]
    for m in humans:
        if m.verdict.sender in known:
            counts["from_contacts"] += 1
            events.append(("mail.received", {
                "account_id": account_id, "contact": known[m.verdict.sender]["email"], "subject": m.verdict.subject,
                "message_id": m.verdict.message_id,
            }))
    await tx.events_many(events)
    await mailbox_store.mark_seen(tx.conn, account_id, [(m.key, m.verdict.kind) for m in todo], now)
    bounce_keys.update(m.key for m in bounced)
    return Outcome(counts, [m.ref for m in messages if m.raw is not None and m.key in bounce_keys])


async def _mark(tx: Tx, rules: BouncesSection, bounces: list[dict[str, Any]], known: dict[str, Any], now: str,
                counts: Counter) -> list[tuple[str, dict[str, Any]]]:
    """Count each contact's new bounces, then mark the ones that crossed a line faulty."""
    hard: Counter = Counter()
    soft: Counter = Counter()
    latest_reason: dict[int, str] = {}
    for b in bounces:
        (hard if b["hard"] else soft)[b["contact_id"]] += 1
        latest_reason[b["contact_id"]] = b["reason"]
    await contact_store.count_bounces(tx.conn, [(hard[c], soft[c], now, now, c) for c in hard.keys() | soft.keys()])

    by_id = {row["id"]: row for row in known.values()}
    active = {c for c in hard.keys() | soft.keys() if by_id[c]["status"] == "active"}
    faulty: dict[int, str] = {c: f"hard bounce: {latest_reason[c]}" for c in active if hard[c]}
    candidates = [c for c in active if c not in faulty and soft[c]]
    if candidates:
        since = (datetime.now(UTC) - timedelta(days=rules.soft_window_days)).isoformat(timespec="milliseconds")
        recent = await contact_store.soft_bounces_since(tx.conn, candidates, since.replace("+00:00", "Z"))
        for c, n in recent.items():
            if n >= rules.soft_threshold:
                faulty[c] = f"{n} soft bounces in {rules.soft_window_days} days (latest: {latest_reason[c]})"
    await contact_store.mark_faulty(tx.conn, [(why, now, c) for c, why in faulty.items()])
    counts["marked_faulty"] += len(faulty)
    return [("contact.faulty", {"contact": by_id[c]["email"], "reason": why}) for c, why in faulty.items()]
