"""messages.send, queue.* and submission.*: handing mail to the daemon to send through an account (over the
API, or over SMTP with a login made here), and watching it go.

Mail is accepted only once committed (the job and a queue row per recipient), then sent by the sender
(daemon/sending/sender.py) as the account's limits and servers allow. A caller sends only through
accounts they may see; a marketing account sends through the platform relay once approved.
"""

from __future__ import annotations

from typing import Any

from ...shared import protocol as P
from ...shared.models import (FieldErrors, IdParams, JobParams, NoParams, QueueListParams, QueueSummaryParams,
                              RequeueParams, SendParams, SubmissionAddParams)
from .. import records
from ..rpc import Call, rpc_method
from ..sending.accept import accept
from ..sending.compose import body_of_message, body_of_parts
from ..failpoints import crash_point
from ..sending.submission import new_secret
from ..storage import accounts as account_store
from ..storage import outbox
from ..storage import submission as login_store
from ..storage.db import utcnow
from .accounts.core import visible_account


@rpc_method("messages.send", SendParams)
async def send(call: Call, params: SendParams) -> dict:
    """Queue one message for each recipient through the account; answers at once with the job id (what
    was suppressed, and why). Progress: send.progress (live) and send.done events; queue.job."""
    row = visible_account(call, await account_store.get(call.db.read, params.account_id), params.account_id)
    if row["kind"] == "marketing" and row["approval"] != "approved":
        raise P.forbidden("this marketing account is not approved yet: it may not send through the platform relay")
    body = body_of_message(params.raw.encode("utf-8", "surrogateescape")) if params.raw is not None \
        else body_of_parts(params)
    async with call.db.transaction() as tx:
        accepted = await accept(tx, row["id"], row["email"], call.caller.user, "api", body, params.to)
    crash_point("send.after_commit")  # committed, not yet answered
    call.sender.wake()
    return accepted.to_json()


def _entry(row: Any) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}


@rpc_method("queue.list", QueueListParams)
async def list_(call: Call, params: QueueListParams) -> dict:
    """A page of what was handed over to send, newest change first, of the accounts the caller may see."""
    if params.account_id is not None:
        visible_account(call, await account_store.get(call.db.read, params.account_id), params.account_id)
    total, rows = await outbox.list_(call.db.read, account_id=params.account_id, job_id=params.job,
                                     state=params.state, viewer=call.caller.viewer, offset=params.offset,
                                     limit=params.limit)
    return {"total": total, "offset": params.offset, "items": [_entry(r) for r in rows]}


@rpc_method("queue.job", JobParams)
async def job(call: Call, params: JobParams) -> dict:
    """One job: who handed it over, when, and how many of its recipients are in each state."""
    row, counts = await outbox.job(call.db.read, params.id)
    if row is None:
        raise P.not_found(f"job {params.id}")
    visible_account(call, await account_store.get(call.db.read, row["account_id"]), row["account_id"])
    return {**_entry(row), "states": counts, "done": row["done_at"] is not None}


@rpc_method("queue.retry", RequeueParams)
async def retry(call: Call, params: RequeueParams) -> dict:
    """Send these again now: uncertain ones (a person decided the server did not take them), failed or
    deferred ones. Only of accounts the caller may see."""
    ids = []
    for queue_id in params.ids:
        row = await outbox.get(call.db.read, queue_id)
        if row is None:
            raise FieldErrors({"ids": f"no queue entry {queue_id}"})
        visible_account(call, await account_store.get(call.db.read, row["account_id"]), row["account_id"])
        ids.append(queue_id)
    async with call.db.transaction() as tx:
        count = await outbox.requeue(tx.conn, ids, utcnow())
    call.sender.wake()
    return {"queued": count}


@rpc_method("submission.add", SubmissionAddParams)
async def submission_add(call: Call, params: SubmissionAddParams) -> dict:
    """A login for a mailer to submit mail over SMTP as the caller: its password is in this answer only."""
    login = f"{call.caller.user}-{params.name}"
    password, salt, digest = new_secret()
    async with call.db.transaction() as tx:
        login_id = await login_store.add(tx.conn, call.caller.user, params.name, login, salt, digest, utcnow())
        if login_id is None:
            raise P.conflict(f"you have a login named {params.name} already (revoke it first, or choose another name)")
    await call.submission.reload()
    return {"id": login_id, "login": login, "password": password, "listen": call.config.sending.submission or None}


@rpc_method("submission.list", NoParams)
async def submission_list(call: Call, params: NoParams) -> dict:
    """Your SMTP submission logins (admins: everyone's), never their passwords."""
    rows = await login_store.list_(call.db.read, call.caller.viewer)
    return {"items": [_entry(r) for r in rows], "listen": call.config.sending.submission or None}


@rpc_method("submission.revoke", IdParams)
async def submission_revoke(call: Call, params: IdParams) -> dict:
    """Revoke a login (the user who made it, or an admin): its next sign-in is refused."""
    row = await login_store.get(call.db.read, params.id)
    if row is None or not call.caller.can_manage(row["user"]):
        raise P.not_found(f"login {params.id}")
    async with call.db.transaction() as tx:
        await login_store.revoke(tx.conn, params.id, utcnow())
    await call.submission.reload()
    return {"revoked": params.id}


@rpc_method("queue.summary", QueueSummaryParams)
async def summary(call: Call, params: QueueSummaryParams) -> dict:
    """One account's queue at a glance: how many in each state, sent today (UTC) against its daily limit as
    it holds now (a warm-up's share of it, `warming_up`)."""
    row = visible_account(call, await account_store.get(call.db.read, params.account_id), params.account_id)
    today = utcnow()[:10] + "T00:00:00.000Z"
    tally = await outbox.tally(call.db.read, params.account_id, today)
    per_day, warming_up = await call.sender.daily_limit(params.account_id, records.validated(row, call.secrets).limits)
    return {"account_id": params.account_id, **tally, "per_day": per_day, "warming_up": warming_up,
            "paused": call.sender.paused(params.account_id)}
