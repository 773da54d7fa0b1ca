"""accounts.*: create, read, search, edit, delete, approve and reject accounts.

Visibility is checked here, once per method: a user sees their own
accounts and shared ones; an account they cannot see is "not found"
(its existence is not theirs to learn); admins see all.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ....shared import protocol as P
from ....shared.headers import sender_headers
from ....shared.models import (
    AccountCreate,
    AccountSummary,
    AccountUpdate,
    FieldErrors,
    HeadersParams,
    IdParams,
    ListParams,
    RejectParams,
    validate_account,
)
from ....shared.validators import redact_proxy
from ... import records
from ...oauth.broker import auth_after_edit
from ...rpc import Call, rpc_method
from ...status import overall as status_word
from ...storage import account_search
from ...storage import accounts as store
from ...storage import contacts as contact_store
from ...storage import mailbox as mailbox_store
from ...storage import oauth as oauth_store
from ...storage import probes as probe_store
from ...storage.db import Tx, utcnow


def visible_account(call: Call, row: sqlite3.Row | None, account_id: int) -> sqlite3.Row:
    if row is None or not call.caller.can_see(row["owner"], bool(row["shared"])):
        raise P.not_found(f"account {account_id}")
    return row


async def _load_for_write(tx: Tx, call: Call, account_id: int) -> sqlite3.Row:
    return visible_account(call, await store.get(tx.conn, account_id), account_id)


async def _wire(conn, call: Call, row: sqlite3.Row) -> dict[str, Any]:
    """The account as the wire shows it, with its mailbox's last round when it has one."""
    account = records.to_wire(row, call.secrets)
    account["last_test"] = await probe_store.latest(conn, row["id"])
    if account.get("oauth2"):
        grant = await oauth_store.grant(conn, row["id"])
        # When and by whom consent was given, and when the refresh token ends (as far as is known): never it.
        account["oauth2"]["grant"] = {key: grant[key] for key in ("granted_by", "granted_at", "refreshed_at",
                                                                  "expires_at")} if grant else None
    if account.get("incoming"):
        state = await mailbox_store.state(conn, row["id"])
        account["incoming"]["last_poll"] = {
            "at": state["last_poll_at"], "ok_at": state["last_ok_at"], "error": state["last_error"],
            "failures": state["failures"], "counts": json.loads(state["last_counts"]),
        } if state and state["last_poll_at"] else None
        # What the server would not hand over, tried and set aside: for a person to look into.
        account["incoming"]["unreadable"] = await mailbox_store.set_aside(conn, row["id"])
    return account


async def _reply(tx: Tx, call: Call, account_id: int) -> dict[str, Any]:
    return await _wire(tx.conn, call, await store.get(tx.conn, account_id))


@rpc_method("accounts.list", ListParams, result=AccountSummary)
async def list_(call: Call, params: ListParams) -> dict:
    """Search and page the accounts the caller may see; `total` counts every match."""
    search = account_search.Search(
        query=params.query,
        kind=params.kind,
        status=params.status,
        offset=params.offset,
        limit=params.limit,
        sort=params.sort,
        viewer=call.caller.viewer,
    )
    total, rows = await account_search.search(call.db.read, search)
    return {"total": total, "offset": params.offset, "items": [records.to_summary(r) for r in rows]}


@rpc_method("accounts.get", IdParams)
async def get(call: Call, params: IdParams) -> dict:
    """One account with every field; passwords appear only as password_set."""
    row = visible_account(call, await store.get(call.db.read, params.id), params.id)
    return await _wire(call.db.read, call, row)


@rpc_method("accounts.create", AccountCreate)
async def create(call: Call, params: AccountCreate) -> dict:
    """Create an account owned by the caller; marketing accounts start pending approval."""
    account = params.root
    row = records.to_row(account, call.secrets)
    now = utcnow()
    marketing = account.kind == "marketing"
    row.update(
        owner=call.caller.user,
        created_at=now,
        updated_at=now,
        status="pending" if marketing else "untested",
        approval="pending" if marketing else None,
        smtp_state=None if marketing else "untested",
        incoming_state="untested" if getattr(account, "incoming", None) is not None else None,
    )
    state, detail, _ = auth_after_edit(account, None, None)
    if state is not None:
        row.update(auth_state=state, status=state, status_detail=detail)
    async with call.db.transaction() as tx:
        try:
            account_id = await store.insert(tx.conn, row)
        except store.EmailTaken:
            raise _address_taken(account.email) from None
        reply = await _reply(tx, call, account_id)
        await tx.event("account.created", records.event_data(reply))
    return reply


def _address_taken(email: str) -> P.RpcError:
    """One account per address, whoever holds it (bounces and reputation follow the address). The
    answer confirms only that the address is in use: not who holds it, nor anything of its settings."""
    return P.conflict(f"the address {email} is already used by an account (yours, or one you cannot see); "
                      "each address can belong to one account only")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: an object changes only the keys it holds, null removes a key (its default applies when
    the result is validated), anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


# A stored secret by name (records.stored_secret_sections): its section, its field, its column, in words.
_SECRETS = {
    "smtp": ("smtp", "password", "smtp_password", "password"),
    "incoming": ("incoming", "password", "incoming_password", "password"),
    "oauth2": ("oauth2", "client_secret", "oauth2_client_secret", "client secret"),
    "oauth2_key": ("oauth2", "service_account_key", "oauth2_service_account_key", "service account key"),
}


def bind_stored_passwords(row: sqlite3.Row, current: dict[str, Any], account: Any) -> set[str]:
    """A stored secret is only ever sent to the server it was stored for: a password to its host, port,
    user, TLS and proxy; a client secret or service account key to its provider's token endpoint, with its
    client id.

    `account` is the edited account, validated as if it kept the stored secrets. A section pointed
    elsewhere without a new secret is refused where the secret is needed; where none is needed (SMTP
    without AUTH, a section signing in with oauth2) the stored one is dropped, so switching back later
    cannot send it to the new server. Returns the sections whose stored secret must be dropped."""
    kept = records.stored_secret_sections(row)
    try:
        before = validate_account(current, stored_passwords=kept)
    except FieldErrors:
        before = None  # stored values that no longer validate: trust none of them
    refused, dropped = {}, set()
    for name in kept:
        section, key, _, what = _SECRETS[name]
        settings = getattr(account, section, None)
        if settings is None or getattr(settings, key) is not None:
            continue
        if before is not None and records.server_of(before, section) == records.server_of(account, section):
            continue
        unneeded = section != "oauth2" and (settings.auth == "oauth2" or (section == "smtp" and not settings.authenticate))
        if unneeded:
            dropped.add(name)
        else:
            refused[f"{section}.{key}"] = (f"enter the {what} again: a stored {what} is only sent to the "
                                           f"server it was saved for, and the server, user, TLS or proxy changed")
    if refused:
        raise FieldErrors(refused)
    return dropped


@rpc_method("accounts.update", AccountUpdate)
async def update(call: Call, params: AccountUpdate) -> dict:
    """Change some fields (a merge patch); omitted fields (passwords too) keep their values."""
    account_id = params.id
    patch = params.changes()
    async with call.db.transaction() as tx:
        row = await _load_for_write(tx, call, account_id)
        if "kind" in patch and patch["kind"] != row["kind"]:
            raise FieldErrors({"kind": "cannot be changed; create a new account instead"})
        if "shared" in patch and patch["shared"] != bool(row["shared"]) and not call.caller.can_manage(row["owner"]):
            raise P.forbidden("only the owner or an admin can change sharing")
        current = records.to_input(row, call.secrets)
        merged = merge_patch(current, patch)
        smtp = merged.get("smtp")
        old_proxy = (current.get("smtp") or {}).get("proxy")
        if isinstance(smtp, dict) and old_proxy and smtp.get("proxy") == redact_proxy(old_proxy):
            smtp["proxy"] = old_proxy  # the redacted URL sent back unchanged keeps the real one
        account = validate_account(merged, stored_passwords=records.stored_secret_sections(row))
        dropped = bind_stored_passwords(row, current, account)
        changes = records.to_row(account, call.secrets, old=row)
        for name in dropped:
            changes[_SECRETS[name][2]] = None
        changes["updated_at"] = utcnow()
        if account.kind == "own":
            # A mailbox added starts untested, one removed has no state; the status word follows, and
            # above it the OAuth grant's state: a grant given for other settings is dropped.
            incoming = None if account.incoming is None else (row["incoming_state"] or "untested")
            grant = await oauth_store.grant(tx.conn, account_id)
            auth_state, auth_detail, drop = auth_after_edit(account, grant["binding"] if grant else None,
                                                            row["auth_state"])
            if drop:
                await oauth_store.drop_grant(tx.conn, account_id)
            call.services.tokens.forget(account_id)
            word = status_word(row["smtp_state"], incoming, auth_state)
            detail = row["status_detail"] if incoming == row["incoming_state"] and word == row["status"] else ""
            changes.update(incoming_state=incoming, status=word, auth_state=auth_state,
                           status_detail=auth_detail or detail)
        if account.kind == "marketing" and account.email.lower() != row["email"].lower():
            # A new sending address needs a new approval.
            changes.update(approval="pending", approval_reason="", status="pending", status_detail="")
        try:
            await store.update(tx.conn, account_id, changes)
        except store.EmailTaken:
            raise _address_taken(account.email) from None
        reply = await _reply(tx, call, account_id)
        await tx.event("account.updated", records.event_data(reply))
    return reply


@rpc_method("accounts.delete", IdParams)
async def delete(call: Call, params: IdParams) -> dict:
    """Delete an account (its owner or an admin)."""
    async with call.db.transaction() as tx:
        row = await _load_for_write(tx, call, params.id)
        if not call.caller.can_manage(row["owner"]):
            raise P.forbidden("only the owner or an admin can delete this account")
        await store.delete(tx.conn, params.id)
        await tx.event("account.deleted", records.event_data(row))
    call.services.tokens.forget(params.id)
    if call.signins is not None:
        call.signins.cancel(params.id)
    return {"deleted": params.id}


@rpc_method("accounts.health_ok", IdParams)
async def health_ok(call: Call, params: IdParams) -> dict:
    """Say a sender-side problem is fixed (delisted, DNS records corrected): the account's health clears
    (its owner or an admin). The next refusal of the sender sets it again."""
    async with call.db.transaction() as tx:
        row = await _load_for_write(tx, call, params.id)
        if not call.caller.can_manage(row["owner"]):
            raise P.forbidden("only the owner or an admin can clear this account's health")
        if row["health"] is not None:
            await store.set_health(tx.conn, params.id, None, "", None)
            await tx.event("account.health", {"account_id": params.id, "health": None, "check": "",
                                              "reason": f"cleared by {call.caller.user}", "bounce_id": None})
        row = await store.get(tx.conn, params.id)
    return records.to_wire(row, call.secrets)


async def _decide(call: Call, account_id: int, approval: str, reason: str) -> dict:
    if not call.caller.admin:
        raise P.forbidden("only admins approve or reject marketing accounts")
    status = "active" if approval == "approved" else "rejected"
    async with call.db.transaction() as tx:
        row = await _load_for_write(tx, call, account_id)
        if row["kind"] != "marketing":
            raise P.conflict("only marketing accounts need approval")
        await store.update(
            tx.conn,
            account_id,
            {"approval": approval, "approval_reason": reason, "status": status, "status_detail": reason,
             "updated_at": utcnow()},
        )
        reply = await _reply(tx, call, account_id)
        await tx.event("account.status", {**records.event_data(reply), "detail": reason, "by": call.caller.user})
    return reply


@rpc_method("accounts.approve", IdParams)
async def approve(call: Call, params: IdParams) -> dict:
    """Let a marketing account send through the platform relay (admins)."""
    return await _decide(call, params.id, "approved", "")


@rpc_method("accounts.reject", RejectParams)
async def reject(call: Call, params: RejectParams) -> dict:
    """Refuse a marketing account, with the reason its owner will see (admins)."""
    return await _decide(call, params.id, "rejected", params.reason)


@rpc_method("accounts.headers", HeadersParams)
async def headers(call: Call, params: HeadersParams) -> dict:
    """The From and Reply-To this contact gets from this account (its details fill the names)."""
    row = visible_account(call, await store.get(call.db.read, params.id), params.id)
    contact = await contact_store.get(call.db.read, params.contact.strip().lower())
    details = json.loads(contact["details"]) if contact else {}
    return {**sender_headers(records.to_wire(row, call.secrets), details), "contact_known": contact is not None}
