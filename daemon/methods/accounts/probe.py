"""accounts.test: connection tests of saved accounts, of unsaved form values, or of both mixed."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from ....shared import protocol as P
from ....shared.models import FieldErrors, TestManyParams, TestParams, validate_account
from ... import records, status
from ...probe.runner import dumps, summary
from ...rpc import Call, rpc_method
from ...storage import accounts as store
from ...storage import probes as probe_store
from ...storage.db import utcnow
from .core import bind_stored_passwords, merge_patch, visible_account

log = logging.getLogger(__name__)

async def _resolve(call: Call, params: TestParams):
    """(validated account, passwords, saved id or None)."""
    if params.id is None:
        account = validate_account(params.account)
        return account, _passwords(account, None, call), None
    row = visible_account(call, await store.get(call.db.read, params.id), params.id)
    current = records.to_input(row, call.secrets)
    dropped: set[str] = set()
    if params.account:
        patch = {k: v for k, v in params.account.items() if k != "id"}
        account = validate_account(merge_patch(current, patch), stored_passwords=records.stored_secret_sections(row))
        dropped = bind_stored_passwords(row, current, account)
    else:
        account = validate_account(current, stored_passwords=records.stored_secret_sections(row))
    return account, _passwords(account, row, call, dropped), row["id"]


def _passwords(account, row, call: Call, dropped: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    """The secrets a test sends: typed ones, else the stored ones (already bound to this server). A typed
    oauth2 client secret is passed as "oauth2"; a stored one the token broker reads itself."""
    out = {}
    oauth2 = getattr(account, "oauth2", None)
    if oauth2 is not None and oauth2.client_secret is not None:
        out["oauth2"] = oauth2.client_secret
    for section in ("smtp", "incoming"):
        if section in dropped:
            continue
        settings = getattr(account, section, None)
        if settings is None:
            continue
        if settings.password is not None:
            out[section] = settings.password
        elif row is not None and row[f"{section}_password"] is not None:
            out[section] = call.secrets.decrypt(row[f"{section}_password"])
    return out


async def _store(call: Call, results: list[tuple[int, dict[str, Any]]]) -> None:
    """Results of saved accounts and their new status, in one transaction and a few statements however many."""
    async with call.db.transaction() as tx:
        now = utcnow()
        rows = await store.get_many(tx.conn, [account_id for account_id, _ in results])
        kept = [(account_id, result) for account_id, result in results if account_id in rows]  # not deleted meanwhile
        await probe_store.add_many(tx.conn, [(account_id, now, r["ok"], dumps(r)) for account_id, r in kept])
        await status.set_tested_many(tx, rows, [
            (account_id, r["smtp"]["ok"], None if r.get("incoming") is None else r["incoming"]["ok"], summary(r))
            for account_id, r in kept
        ])


def _targets(call: Call, account, saved_id: int | None) -> str:
    if account.kind == "marketing":
        relay = call.config.relay
        parts = [f"relay {relay.host}:{relay.port}" if relay.host else "no relay"]
    else:
        parts = [f"smtp {account.smtp.host}:{account.smtp.port}"]
        if account.smtp.proxy:
            parts[0] += " via a proxy"
    incoming = getattr(account, "incoming", None)
    if incoming is not None:
        parts.append(f"{incoming.protocol} {incoming.host}:{incoming.port}")
    return ", ".join(parts) + (f" (account {saved_id})" if saved_id is not None else " (unsaved)")


async def _may_send_through_relay(call: Call, params: TestParams, saved_id: int | None) -> None:
    """The platform relay is the platform's reputation: a test message (DATA) goes through it only for a
    saved, approved marketing account as it was approved, asked for by its owner or an admin. Anyone
    else's test stops after RCPT TO, which sends nothing."""
    if saved_id is None:
        raise P.forbidden("a test message through the platform relay needs a saved, approved account; "
                          "test without send_to to check the relay up to RCPT TO")
    if params.account:
        raise P.forbidden("a test message through the platform relay is sent only with the account as approved, "
                          "not with unsaved changes")
    row = await store.get(call.db.read, saved_id)
    if row is None or row["approval"] != "approved":
        raise P.forbidden("this marketing account is not approved yet, so it may not send through the platform "
                          "relay; test without send_to, or ask an admin to approve it")
    if not call.caller.can_manage(row["owner"]):
        raise P.forbidden("only the account's owner or an admin may send a test message through the platform relay")


async def run_test(call: Call, params: TestParams) -> dict[str, Any]:
    """One test; the caller stores it (a test of the saved account as it is counts, a trial of edits does not)."""
    account, passwords, saved_id = await _resolve(call, params)
    # Who made the daemon connect where (or tried to): tests reach any host and port a caller names.
    log.info("connection test by %s: %s", call.caller.user, _targets(call, account, saved_id))
    if account.kind == "marketing" and params.send_to:
        await _may_send_through_relay(call, params, saved_id)
    job = params.job or uuid.uuid4().hex[:12]
    result = await call.prober.test(account, passwords, job, params.send_to, saved_id, caller=call.caller.user)
    if saved_id is not None:
        result["account_id"] = saved_id
    if account.kind == "marketing" and saved_id is not None:
        row = await store.get(call.db.read, saved_id)
        result["approval"] = row["approval"] if row else None
    return result


@rpc_method("accounts.test", TestParams, long=True)
async def test(call: Call, params: TestParams) -> dict:
    """Test an account's connections layer by layer; each step is also published as probe.step."""
    result = await run_test(call, params)
    if params.id is not None and params.account is None:
        await _store(call, [(params.id, result)])
    return result


@rpc_method("accounts.test_many", TestManyParams, long=True)
async def test_many(call: Call, params: TestManyParams) -> dict:
    """Test many saved accounts at once (a bound of [probe] concurrency); one slow server delays no other result."""
    async def one(account_id: int) -> dict:
        try:
            return await run_test(call, TestParams(id=account_id))
        except P.RpcError as exc:
            return {"account_id": account_id, "ok": False, "error": exc.to_json()}
        except FieldErrors as exc:
            return {"account_id": account_id, "ok": False, "error": P.invalid_params(exc.fields).to_json()}

    results = await asyncio.gather(*(one(i) for i in dict.fromkeys(params.ids)))
    await _store(call, [(r["account_id"], r) for r in results if "error" not in r])
    return {"ok": all(r["ok"] for r in results), "results": results}


@rpc_method("accounts.folders", TestParams, long=True)
async def folders(call: Call, params: TestParams) -> dict:
    """The IMAP folders of a saved account, of unsaved form values, or of both: what the form's folder picker lists."""
    account, passwords, saved_id = await _resolve(call, params)
    log.info("folder list by %s: %s", call.caller.user, _targets(call, account, saved_id))
    return await call.prober.folders(account, passwords.get("incoming", ""), caller=call.caller.user)
