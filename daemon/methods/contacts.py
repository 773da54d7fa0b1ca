"""contacts.*: import from CSV, search, read with bounces, update.

Contacts belong to the organisation, not to one user: everyone sees them;
only admins change a contact's status (clearing `faulty` keeps its history).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from ...shared import protocol as P
from ...shared.validators import check_email
from ...shared.models import (ContactParams, ContactsImportParams, ContactsListParams, ContactsUnmarkParams,
                              ContactUpdateParams)
from ..rpc import Call, rpc_method
from ..storage import bounces as bounce_store
from ..storage import contacts as store
from ..storage.db import days_ago, utcnow
from .bounces import bounce_summary

EMAIL_HEADERS = ("email", "e-mail", "email address", "e-mail address", "mail", "address")
# Plain ASCII addresses are checked with this (1,000,000 rows must import in seconds);
# anything else goes through email-validator.
_ASCII_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
MAX_REPORTED = 20


def valid_email(value: str) -> str | None:
    value = value.strip()
    if len(value) > 254:
        return None
    if _ASCII_EMAIL.match(value) and ".." not in value and not value.startswith("."):
        return value
    if value.isascii():
        return None
    try:
        return check_email(value)
    except ValueError:
        return None


def parse_csv(text: str, first_row: int) -> tuple[dict[str, tuple[str, dict[str, str]]], list[dict[str, Any]], int]:
    """Rows by address key (a later row for the same address merges into the earlier), rejected rows, rejected count."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise P.invalid_params({"csv": "empty: the first row must name the columns"}) from None
    except csv.Error as exc:
        raise P.invalid_params({"csv": f"not CSV: {exc}"}) from None
    names = [h.strip() for h in header]
    lowered = [n.lower() for n in names]
    email_col = next((i for i, n in enumerate(lowered) if n in EMAIL_HEADERS), None)
    if email_col is None:
        raise P.invalid_params({"csv": f"no email column in the header row (one of: {', '.join(EMAIL_HEADERS)})"})
    if any(not n for i, n in enumerate(names) if i != email_col):
        raise P.invalid_params({"csv": "every column needs a name in the header row"})
    rows: dict[str, tuple[str, dict[str, str]]] = {}
    errors: list[dict[str, Any]] = []
    rejected = 0
    line = first_row
    try:
        for line, record in enumerate(reader, start=first_row):
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                why = f"{len(record)} fields, the header has {len(names)}"
            else:
                address = valid_email(record[email_col])
                why = "" if address else f"not a valid email address: {record[email_col][:80]!r}"
            if why:
                rejected += 1
                if len(errors) < MAX_REPORTED:
                    errors.append({"row": line, "why": why})
                continue
            details = {n: v for i, (n, v) in enumerate(zip(names, record)) if i != email_col and v != ""}
            key = address.lower()
            if key in rows:
                rows[key][1].update(details)
            else:
                rows[key] = (address, details)
    except csv.Error as exc:
        raise P.invalid_params({"csv": f"line {line + 1}: {exc}"}) from None
    return rows, errors, rejected


def contact_json(row: Any, recent_soft: int) -> dict[str, Any]:
    return {
        "email": row["email"],
        "details": json.loads(row["details"]),
        "status": row["status"],
        "status_reason": row["status_reason"],
        "hard_bounces": row["hard_bounces"],
        "soft_bounces": row["soft_bounces"],
        "soft_bounces_recent": recent_soft,
        "complaints": row["complaints"],
        "last_bounce_at": row["last_bounce_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def _recent_soft(call: Call, conn, ids: list[int]) -> dict[int, int]:
    """Soft bounces about each contact within the window that marks (older ones have decayed)."""
    return await store.soft_bounces_since(conn, ids, days_ago(call.config.bounces.soft_window_days))


def _mark_json(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in ("status", "previous", "reason", "rule", "bounce_id", "by", "at", "undone_at")}


def _may_write(call: Call) -> None:
    """Contacts are everyone's, and their details fill every account's From and Reply-To names."""
    if not call.caller.contacts:
        raise P.forbidden("only admins and the users in [contacts] of mailfleetd.toml may import contacts "
                          "or change their details")


@rpc_method("contacts.import", ContactsImportParams, long=True)
async def import_(call: Call, params: ContactsImportParams) -> dict:
    """Add or update contacts from CSV text (send a large file in chunks, each with the header row)."""
    _may_write(call)
    rows, errors, rejected = parse_csv(params.csv, params.first_row)
    now = utcnow()
    async with call.db.transaction() as tx:
        existing = await store.existing(tx.conn, list(rows))
        new = [(email, key, json.dumps(details, ensure_ascii=False), now)
               for key, (email, details) in rows.items() if key not in existing]
        changed = [(json.dumps(details, ensure_ascii=False), now, key)
                   for key, (email, details) in rows.items() if key in existing and details]
        await store.insert_many(tx.conn, new)
        await store.merge_details_many(tx.conn, changed)
    return {"new": len(new), "updated": len(rows) - len(new), "rejected": rejected, "errors": errors}


@rpc_method("contacts.list", ContactsListParams)
async def list_(call: Call, params: ContactsListParams) -> dict:
    """Search contacts by address or detail (case-insensitive substring), optionally by status."""
    total, rows = await store.search(call.db.read, params.query, params.status, params.offset, params.limit)
    recent = await _recent_soft(call, call.db.read, [r["id"] for r in rows])
    return {"total": total, "offset": params.offset, "items": [contact_json(r, recent.get(r["id"], 0)) for r in rows]}


async def _contact(conn, email: str) -> Any:
    row = await store.get(conn, email.strip().lower())
    if row is None:
        raise P.not_found(f"contact {email}")
    return row


@rpc_method("contacts.get", ContactParams)
async def get(call: Call, params: ContactParams) -> dict:
    """One contact with its latest bounces (those from accounts the caller can see) and its status history."""
    row = await _contact(call.db.read, params.email)
    total, bounces = await bounce_store.list_(call.db.read, contact_id=row["id"], account_id=None,
                                              viewer=call.caller.viewer, hard=None, offset=0, limit=100)
    recent = await _recent_soft(call, call.db.read, [row["id"]])
    history = await store.marks(call.db.read, row["id"])
    return {**contact_json(row, recent.get(row["id"], 0)), "history": [_mark_json(m) for m in history],
            "bounces_total": total, "bounces": [bounce_summary(b) for b in bounces]}


@rpc_method("contacts.update", ContactUpdateParams)
async def update(call: Call, params: ContactUpdateParams) -> dict:
    """Change details ([contacts] writers) or status (admins: clearing `faulty` keeps the bounce history)."""
    if params.details is not None:
        _may_write(call)
    async with call.db.transaction() as tx:
        row = await _contact(tx.conn, params.email)
        now = utcnow()
        status = row["status"]
        if params.status is not None and params.status != row["status"]:
            if not call.caller.admin:
                raise P.forbidden("only admins change a contact's status")
            status = params.status
            await store.mark(tx.conn, status, [(row["id"], f"set by {call.caller.user}", "", None)], call.caller.user,
                             now, only_from=(row["status"],))
        if params.details is not None:
            await store.merge_details(tx.conn, row["id"], params.details)
            await store.update(tx.conn, row["id"], {"updated_at": now})
        if status != row["status"] or params.details is not None:
            await tx.event("contact.updated", {"contact": row["email"], "status": status, "by": call.caller.user})
        row = await store.get(tx.conn, row["email"].lower())
        recent = await _recent_soft(call, tx.conn, [row["id"]])
    return contact_json(row, recent.get(row["id"], 0))


@rpc_method("contacts.unmark", ContactsUnmarkParams)
async def unmark(call: Call, params: ContactsUnmarkParams) -> dict:
    """Undo a classifier rule found wrong (admins): every contact that rule marked (since a time), and that
    nothing changed since, gets its previous status back. The bounces and the marks stay, as history."""
    if not call.caller.admin:
        raise P.forbidden("only admins change a contact's status")
    async with call.db.transaction() as tx:
        undone = await store.unmark(tx.conn, params.rule, params.since, call.caller.user, utcnow())
        restored = [{"email": r["email"], "status": r["previous"], "was": r["status"]} for r in undone]
        if restored:
            await tx.event("contacts.unmarked", {"rule": params.rule, "since": params.since, "count": len(restored),
                                                 "contacts": [r["email"] for r in restored[:MAX_REPORTED]],
                                                 "by": call.caller.user})
    return {"rule": params.rule, "since": params.since, "restored": len(restored),
            "contacts": restored[:1000]}


@rpc_method("contacts.details")
async def details(call: Call, params) -> dict:
    """The detail names contacts have (from a sample of them): what "overwrite FROM" can pick."""
    return {"names": await store.detail_names(call.db.read)}
