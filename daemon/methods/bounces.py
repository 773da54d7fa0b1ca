"""bounces.*, accounts.poll, accounts.purge_bounces and accounts.headers: what reading mailboxes produced."""

from __future__ import annotations

import json
import logging
from typing import Any

from ...shared import protocol as P
from ...shared.headers import sender_headers
from ...shared.models import BounceParams, BouncesListParams, HeadersParams, IdParams
from .. import records
from ..mailbox.purge import run_purge
from ..rpc import Call, rpc_method
from ..storage import accounts as account_store
from ..storage import bounces as store
from ..storage import contacts as contact_store
from .accounts import visible_account

log = logging.getLogger(__name__)


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
        "received_at": row["received_at"],
    }


@rpc_method("bounces.list", BouncesListParams)
async def list_(call: Call, params: BouncesListParams) -> dict:
    """Bounces, newest first: all, or for one contact, one account, hard or soft."""
    contact_id = None
    if params.contact:
        contact = await contact_store.get(call.app.db.read, params.contact.strip().lower())
        if contact is None:
            return {"total": 0, "offset": params.offset, "items": []}
        contact_id = contact["id"]
    if params.account_id is not None:
        visible_account(call, await account_store.get(call.app.db.read, params.account_id), params.account_id)
    total, rows = await store.list_(call.app.db.read, contact_id=contact_id, account_id=params.account_id,
                                    viewer=call.caller.viewer, hard=params.hard, offset=params.offset,
                                    limit=params.limit)
    return {"total": total, "offset": params.offset, "items": [bounce_summary(r) for r in rows]}


@rpc_method("bounces.get", BounceParams)
async def get(call: Call, params: BounceParams) -> dict:
    """One bounce with the message as received (capped)."""
    row = await store.get(call.app.db.read, params.id)
    account = await account_store.get(call.app.db.read, row["account_id"]) if row is not None else None
    if account is None or not call.caller.can_see(account["owner"], bool(account["shared"])):
        raise P.not_found(f"bounce {params.id}")
    raw = row["raw"] or b""
    return {**bounce_summary(row), "raw": raw.decode("utf-8", "replace"), "raw_truncated": bool(row["raw_truncated"])}


@rpc_method("accounts.poll", IdParams, long=True)
async def poll(call: Call, params: IdParams) -> dict:
    """Read the account's incoming mailbox now; the round's counts (or its error)."""
    row = visible_account(call, await account_store.get(call.app.db.read, params.id), params.id)
    if row["kind"] != "own" or not row["incoming_protocol"]:
        raise P.conflict("this account has no incoming mailbox to read")
    return await call.app.poller.poll_now(params.id)


@rpc_method("accounts.purge_bounces", IdParams, long=True)
async def purge_bounces(call: Call, params: IdParams) -> dict:
    """Delete from the server the messages already read and recorded as bounces (and only those): for a
    mailbox read while delete_bounces was off. Human mail, unread and set-aside messages stay."""
    row = visible_account(call, await account_store.get(call.app.db.read, params.id), params.id)
    if row["kind"] != "own" or not row["incoming_protocol"]:
        raise P.conflict("this account has no incoming mailbox to purge")
    log.info("account %d: %s asked to purge the bounces already read from %s:%s", params.id, call.caller.user,
             row["incoming_host"], row["incoming_port"])
    result = await call.app.poller.between_rounds(params.id, "purge", lambda: run_purge(call.app, params.id))
    if result["ok"]:
        log.info("account %d: purged %d bounces already read (of %d messages in the mailbox)",
                 params.id, result["deleted"], result["examined"])
    return result


@rpc_method("accounts.headers", HeadersParams)
async def headers(call: Call, params: HeadersParams) -> dict:
    """The From and Reply-To this contact gets from this account (its details fill the names)."""
    row = visible_account(call, await account_store.get(call.app.db.read, params.id), params.id)
    contact = await contact_store.get(call.app.db.read, params.contact.strip().lower())
    details = json.loads(contact["details"]) if contact else {}
    return {**sender_headers(records.to_wire(row, call.app.secrets), details), "contact_known": contact is not None}
