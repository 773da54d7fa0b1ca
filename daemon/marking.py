"""What a round's verdicts do: the marking rules, inside the round's transaction.

Whom a bounce is about decides what it touches (shared/bounces/model.py):
- the recipient: a hard bounce marks the contact faulty at once; soft bounces are counted, and
  `soft_threshold` of them within `soft_window_days` mark it faulty (older ones no longer count: the
  contact shows its recent soft bounces beside its lifetime count);
- the sender (a blocklist, SPF/DKIM/DMARC, a rate limit): the account's health, never a contact;
- one message (its content, its size): recorded, nobody marked.
A spam complaint (RFC 5965) sets its contact `complained`: suppressed, not faulty. Every mark keeps the
rule that made it (contacts.unmark undoes a rule's marks). A bounce for an address that is no contact is
kept all the same. Mail from a known contact that is neither bounce nor auto-reply is `mail.received`.
A message the classifier could not read is kept for a person (`unparsed`), announced, and read again
once the classifier has changed. Each bounce records which sent message it is about and how that was
known (attribution.py: a per-recipient envelope sender's token, VERP, names its recipient whatever the
report says, and makes a report nobody could read a soft bounce); one naming an address the account
never mailed marks nobody unless [bounces] mark_strays. Each message counts once (its key is
remembered), each recipient once per message (the bounces table is unique on it).

Everything is done in batches (a handful of statements per round, whatever its size): a round of 10,000
bounces must not cost 10,000 round trips to the database thread.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..shared.bounces import version as classifier_version
from ..shared.bounces.senders import named_check
from . import attribution
from .config import BouncesSection
from .messages import Fetched
from .verp import Verp
from .storage import accounts as account_store
from .storage import bounces as bounce_store
from .storage import contacts as contact_store
from .storage import mailbox as mailbox_store
from .storage import outbox
from .storage import unparsed as unparsed_store
from .storage.db import Tx, days_ago

BOUNCE_KINDS = ("bounce", "delayed")
RETRY_UNPARSED = 100  # kept messages a round reads again, at most, when the classifier changed
MARKED_BY = "mailfleetd"


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


async def _read_again(tx: Tx, account_id: int, counts: Counter) -> list[Fetched]:
    """The kept messages a changed classifier can now read (no longer kept); the others keep waiting."""
    rows = await unparsed_store.stale(tx.conn, account_id, classifier_version(), RETRY_UNPARSED)
    if not rows:
        return []
    read, still = [], []
    for row in rows:
        m = Fetched(ref="", size=len(row["raw"] or b""), raw=row["raw"] or b"", _key=row["message_key"])
        m.classify()
        if m.verdict.kind == "unparsed":
            still.append((classifier_version(), m.verdict.note, row["id"]))
        else:
            read.append(m)
    await unparsed_store.still_unread(tx.conn, still)
    await unparsed_store.delete(tx.conn, [r["id"] for r in rows if r["id"] not in {i for _, _, i in still}])
    await mailbox_store.reseen(tx.conn, account_id, [(m.key, m.verdict.kind) for m in read])
    counts["read_again"] += len(read)
    return read


async def record(tx: Tx, rules: BouncesSection, account_id: int, messages: list[Fetched], now: str,
                 verp: Verp, *, read_again: bool = True) -> Outcome:
    """Record what these messages say. `read_again`: also read the kept messages a changed classifier may
    now read (once a round: its first commit)."""
    counts: Counter = Counter(fetched=len(messages))
    fresh = _fresh(messages, counts)
    already = await mailbox_store.seen(tx.conn, account_id, list(fresh))
    counts["already_seen"] = len(already)
    # A bounce is a bounce however often it arrives: every copy may be deleted, the first counted once.
    bounce_keys = {key for key, kind in already.items() if kind in BOUNCE_KINDS}
    new = [m for key, m in fresh.items() if key not in already]
    todo = new + (await _read_again(tx, account_id, counts) if read_again else [])
    returned = [m for m in todo if m.verdict.kind in (*BOUNCE_KINDS, "unparsed")]
    enveloped = await attribution.by_envelope(tx.conn, account_id, returned, verp)
    for m in returned:
        if m.key in enveloped:
            attribution.about_recipient(m.verdict, enveloped[m.key][1])
    for m in new:
        counts[m.verdict.kind] += 1

    bounced = [m for m in todo if m.verdict.kind in BOUNCE_KINDS]
    humans = [m for m in todo if m.verdict.kind == "mail" and m.verdict.sender]
    complaints = [m for m in todo if m.verdict.kind == "feedback"]
    addresses = {f.address for m in bounced for f in m.verdict.failures}
    addresses |= {a for m in complaints for a in m.verdict.complainants}
    known = await contact_store.existing(tx.conn, sorted(addresses | {m.verdict.sender for m in humans}))

    rows = []
    linked = await attribution.links(tx.conn, account_id, bounced + humans)
    for key, (queue_id, _) in enveloped.items():
        linked[key] = [("verp", queue_id), *linked.get(key, [])]
    mailed = await outbox.mailed(tx.conn, account_id, sorted({f.address for m in bounced for f in m.verdict.failures}))
    for m in bounced:
        raw = m.raw[: rules.raw_cap_bytes]
        for f in m.verdict.failures:
            contact = known.get(f.address)
            link = attribution.attribute(f.address, linked.get(m.key, []), mailed)
            rows.append({
                "account_id": account_id, "message_key": m.key, "message_id": m.verdict.message_id,
                "recipient": f.address, "contact_id": contact["id"] if contact else None, "hard": int(f.hard),
                "kind": m.verdict.kind, "status": f.status, "reason": f.reason, "diagnostic": f.diagnostic,
                "raw": raw, "raw_truncated": int(len(m.raw) > len(raw)), "received_at": now,
                "about": f.about, "rule": f.rule, "verdict_rule": m.verdict.rule, "evidence": f.evidence[:1000],
                "link": link.how, "queue_id": link.queue_id,
            })
    inserted = await bounce_store.insert_many(tx.conn, rows)
    events: list[tuple[str, dict[str, Any]]] = []
    for row in inserted:
        if row["about"] == "recipient":
            counts["hard" if row["hard"] else "soft"] += 1
        else:
            counts[f"about_{row['about']}"] += 1
        events.append(("bounce.hard" if row["hard"] else "bounce.soft", {
            "account_id": account_id, "bounce_id": row["id"], "recipient": row["recipient"],
            "status": row["status"], "reason": row["reason"], "contact": row["contact_id"] is not None,
            "about": row["about"], "rule": row["rule"], "link": row["link"],
        }))
    strays = [r for r in inserted if r["link"] == "stray"]
    counts["strays"] += len(strays)
    on_contacts = [r for r in inserted if r["contact_id"] is not None and r["about"] == "recipient"
                   and (r["link"] != "stray" or rules.mark_strays)]
    events += [(type, {**data, "account_id": account_id}) for type, data in
               await _mark(tx, rules, on_contacts, known, now, counts)]
    events += await _health(tx, account_id, [r for r in inserted if r["about"] == "sender"], now)
    events += [(type, {**data, "account_id": account_id}) for type, data in
               await _complained(tx, complaints, known, now, counts)]
    events += await _set_aside(tx, rules, account_id, [m for m in todo if m.verdict.kind == "unparsed"], now)
    for m in humans:
        if m.verdict.sender in known:
            counts["from_contacts"] += 1
            replied = [queue_id for how, queue_id in linked.get(m.key, []) if how == "references"]
            events.append(("mail.received", {
                "account_id": account_id, "contact": known[m.verdict.sender]["email"], "subject": m.verdict.subject,
                "message_id": m.verdict.message_id, "in_reply_to": replied[0] if replied else None,
            }))
    await tx.events_many(events)
    await mailbox_store.mark_seen(tx.conn, account_id, [(m.key, m.verdict.kind) for m in new], now)
    bounce_keys.update(m.key for m in bounced)
    return Outcome(counts, [m.ref for m in messages if m.raw is not None and m.key in bounce_keys])


async def _mark(tx: Tx, rules: BouncesSection, bounces: list[dict[str, Any]], known: dict[str, Any], now: str,
                counts: Counter) -> list[tuple[str, dict[str, Any]]]:
    """Count each contact's new bounces about it, then mark the ones that crossed a line faulty."""
    hard: Counter = Counter()
    soft: Counter = Counter()
    latest: dict[int, dict[str, Any]] = {}
    for b in bounces:
        (hard if b["hard"] else soft)[b["contact_id"]] += 1
        if b["hard"] or not latest.get(b["contact_id"], {}).get("hard"):
            latest[b["contact_id"]] = b  # the bounce that decides: a hard one, else the latest soft one
    await contact_store.count_bounces(tx.conn, [(hard[c], soft[c], now, now, c) for c in hard.keys() | soft.keys()])

    by_id = {row["id"]: row for row in known.values()}
    active = {c for c in hard.keys() | soft.keys() if by_id[c]["status"] == "active"}
    faulty: dict[int, str] = {c: f"hard bounce: {latest[c]['reason']}" for c in active if hard[c]}
    candidates = [c for c in active if c not in faulty and soft[c]]
    if candidates:
        recent = await contact_store.soft_bounces_since(tx.conn, candidates, days_ago(rules.soft_window_days))
        for c, n in recent.items():
            if n >= rules.soft_threshold:
                faulty[c] = f"{n} soft bounces in {rules.soft_window_days} days (latest: {latest[c]['reason']})"
    marked = await contact_store.mark(tx.conn, "faulty", [(c, why, latest[c]["rule"], latest[c]["id"])
                                                          for c, why in faulty.items()], MARKED_BY, now)
    counts["marked_faulty"] += len(marked)
    return [("contact.faulty", {"contact": by_id[c]["email"], "reason": faulty[c], "rule": latest[c]["rule"]})
            for c in marked]


async def _health(tx: Tx, account_id: int, refusals: list[dict[str, Any]], now: str) -> list[tuple[str, dict[str, Any]]]:
    """A refusal of the sender sets the account's health to the latest one, naming the list or check."""
    if not refusals:
        return []
    last = refusals[-1]
    check = named_check(f"{last['evidence']} {last['diagnostic']}")
    reason = f"{check}: {last['evidence']}" if check else last["evidence"] or last["diagnostic"][:300]
    before = await account_store.set_health(tx.conn, account_id, last["reason"], reason[:500], now)
    if before == (last["reason"], reason[:500]):
        return []  # the same refusal again: said once
    return [("account.health", {"account_id": account_id, "health": last["reason"], "check": check,
                                "reason": reason[:500], "bounce_id": last["id"]})]


async def _complained(tx: Tx, complaints: list[Fetched], known: dict[str, Any], now: str,
                      counts: Counter) -> list[tuple[str, dict[str, Any]]]:
    """A spam complaint suppresses its contact: `complained`, from active (a faulty contact stays faulty)."""
    named = {known[a]["id"]: a for m in complaints for a in m.verdict.complainants if a in known}
    if not named:
        return []
    await contact_store.count_complaints(tx.conn, list(named), now)
    marked = await contact_store.mark(tx.conn, "complained", [(c, "spam complaint (RFC 5965 feedback report)",
                                                               "rfc5965-feedback-report", None) for c in named],
                                      MARKED_BY, now)
    counts["complained"] += len(marked)
    return [("contact.complained", {"contact": known[named[c]]["email"]}) for c in marked]


async def _set_aside(tx: Tx, rules: BouncesSection, account_id: int, unread: list[Fetched],
                     now: str) -> list[tuple[str, dict[str, Any]]]:
    await unparsed_store.insert_many(tx.conn, [{
        "account_id": account_id, "message_key": m.key, "subject": m.verdict.subject, "note": m.verdict.note,
        "raw": m.raw[: rules.raw_cap_bytes], "classifier": classifier_version(), "received_at": now} for m in unread])
    return [("message.unparsed", {"account_id": account_id, "subject": m.verdict.subject, "note": m.verdict.note})
            for m in unread]
