"""bounces.*: the bounces reading mailboxes recorded, and the messages the classifier could not read, of the
accounts the caller may see."""

from __future__ import annotations

from typing import Any

from ...shared import protocol as P
from ...shared.models import BounceParams, BouncesListParams, UnparsedListParams
from ..rpc import Call, rpc_method
from ..storage import accounts as account_store
from ..storage import bounces as store
from ..storage import contacts as contact_store
from ..storage import unparsed as unparsed_store
from .accounts.core import visible_account


def bounce_summary(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "message_id": row["message_id"],
        "recipient": row["recipient"],
        "contact": row["contact_id"] is not None,
        "hard": bool(row["hard"]),
        "kind": row["kind"],
        "status": row["status"],
        "reason": row["reason"],
        "diagnostic": row["diagnostic"],
        "about": row["about"],
        "rule": row["rule"],
        # What decided the message's kind; where it chose whom the bounce is about, unmark takes it too.
        "verdict_rule": row["verdict_rule"],
        "evidence": row["evidence"],
        # Which sent message it is about, and how that is known (daemon/attribution.py).
        "link": row["link"],
        "queue_id": row["queue_id"],
        "received_at": row["received_at"],
    }


async def _of_a_visible_account(call: Call, row: Any, what: str) -> Any:
    """The row, when it exists and its account is one the caller may see; else "not found" (never "forbidden":
    that would tell who has which bounces)."""
    account = await account_store.get(call.db.read, row["account_id"]) if row is not None else None
    if account is None or not call.caller.can_see(account["owner"], bool(account["shared"])):
        raise P.not_found(what)
    return row


@rpc_method("bounces.list", BouncesListParams)
async def list_(call: Call, params: BouncesListParams) -> dict:
    """Bounces, newest first: all, or for one contact, one account, hard or soft."""
    contact_id = None
    if params.contact:
        contact = await contact_store.get(call.db.read, params.contact.strip().lower())
        if contact is None:
            return {"total": 0, "offset": params.offset, "items": []}
        contact_id = contact["id"]
    if params.account_id is not None:
        visible_account(call, await account_store.get(call.db.read, params.account_id), params.account_id)
    total, rows = await store.list_(call.db.read, contact_id=contact_id, account_id=params.account_id,
                                    viewer=call.caller.viewer, hard=params.hard, offset=params.offset,
                                    limit=params.limit)
    return {"total": total, "offset": params.offset, "items": [bounce_summary(r) for r in rows]}


@rpc_method("bounces.get", BounceParams)
async def get(call: Call, params: BounceParams) -> dict:
    """One bounce with the message as received (capped)."""
    row = await _of_a_visible_account(call, await store.get(call.db.read, params.id), f"bounce {params.id}")
    raw = row["raw"] or b""
    return {**bounce_summary(row), "raw": raw.decode("utf-8", "replace"), "raw_truncated": bool(row["raw_truncated"])}


def _unparsed_summary(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in ("id", "account_id", "subject", "note", "received_at")}


@rpc_method("bounces.unparsed", UnparsedListParams)
async def unparsed(call: Call, params: UnparsedListParams) -> dict:
    """Messages the classifier could not read (a bounce naming no readable recipient), newest first: kept
    on the server and here for a person, and read again once the classifier changes."""
    if params.account_id is not None:
        visible_account(call, await account_store.get(call.db.read, params.account_id), params.account_id)
    total, rows = await unparsed_store.list_(call.db.read, account_id=params.account_id, viewer=call.caller.viewer,
                                             offset=params.offset, limit=params.limit)
    return {"total": total, "offset": params.offset, "items": [_unparsed_summary(r) for r in rows]}


@rpc_method("bounces.unparsed_get", BounceParams)
async def unparsed_get(call: Call, params: BounceParams) -> dict:
    """One message the classifier could not read, as received (capped)."""
    row = await _of_a_visible_account(call, await unparsed_store.get(call.db.read, params.id),
                                      f"unparsed message {params.id}")
    return {**_unparsed_summary(row), "raw": (row["raw"] or b"").decode("utf-8", "replace")}
