"""An own account's status follows its latest connection test or mailbox round.

One word for the list (`active`, `untested`, `smtp_failing`, `incoming_failing`)
and a detail beside it; every change is an `account.status` event.
"""

from __future__ import annotations

from typing import Any

from . import records
from .storage import accounts as account_store
from .storage.db import Tx, utcnow


async def set_incoming(tx: Tx, account_id: int, ok: bool, detail: str) -> None:
    row = await account_store.get(tx.conn, account_id)
    if row is None or row["kind"] != "own":
        return
    status = row["status"]
    if ok and status == "incoming_failing":
        status, detail = "active", ""
    elif not ok and status in ("untested", "active", "incoming_failing"):
        status = "incoming_failing"
    else:
        return
    if status == row["status"] and detail == row["status_detail"]:
        return
    await account_store.update(tx.conn, account_id, {"status": status, "status_detail": detail, "updated_at": utcnow()})
    if status != row["status"]:
        data = records.event_data(row) | {"status": status, "detail": detail}
        await tx.event("account.status", data)


async def set_tested_many(tx: Tx, rows: dict[int, Any], results: list[tuple[int, bool, bool, str]]) -> None:
    """After connection tests, (account_id, smtp_ok, incoming_ok, detail) each, with the accounts' current
    `rows`: own accounts become active, smtp_failing or incoming_failing, in one statement however many."""
    now = utcnow()
    changes, events = [], []
    for account_id, smtp_ok, incoming_ok, detail in results:
        row = rows.get(account_id)
        if row is None or row["kind"] != "own":
            continue
        new = "smtp_failing" if not smtp_ok else "incoming_failing" if not incoming_ok else "active"
        if new == row["status"] and detail == row["status_detail"]:
            continue
        changes.append((new, detail, now, account_id))
        if new != row["status"]:
            events.append(("account.status", records.event_data(row) | {"status": new, "detail": detail}))
    await account_store.set_status_many(tx.conn, changes)
    await tx.events_many(events)
