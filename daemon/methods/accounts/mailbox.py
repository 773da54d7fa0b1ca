"""accounts.poll and accounts.purge_bounces: an account's incoming mailbox, read now or purged of the bounces
already read (both between the schedule's rounds, under the account's round lock)."""

from __future__ import annotations

import logging

from ....shared import protocol as P
from ....shared.models import IdParams
from ...mailbox.purge import run_purge
from ...rpc import Call, rpc_method
from ...storage import accounts as account_store
from .core import visible_account

log = logging.getLogger(__name__)


@rpc_method("accounts.poll", IdParams, long=True)
async def poll(call: Call, params: IdParams) -> dict:
    """Read the account's incoming mailbox now; the round's counts (or its error)."""
    row = visible_account(call, await account_store.get(call.db.read, params.id), params.id)
    if row["kind"] != "own" or not row["incoming_protocol"]:
        raise P.conflict("this account has no incoming mailbox to read")
    return await call.poller.poll_now(params.id)


@rpc_method("accounts.purge_bounces", IdParams, long=True)
async def purge_bounces(call: Call, params: IdParams) -> dict:
    """Delete from the server the messages already read and recorded as bounces (and only those): for a
    mailbox read while delete_bounces was off. Human mail, unread and set-aside messages stay."""
    row = visible_account(call, await account_store.get(call.db.read, params.id), params.id)
    if row["kind"] != "own" or not row["incoming_protocol"]:
        raise P.conflict("this account has no incoming mailbox to purge")
    log.info("account %d: %s asked to purge the bounces already read from %s:%s", params.id, call.caller.user,
             row["incoming_host"], row["incoming_port"])
    result = await call.poller.between_rounds(params.id, "purge", lambda: run_purge(call.services, params.id))
    if result["ok"]:
        log.info("account %d: purged %d bounces already read (of %d messages in the mailbox)",
                 params.id, result["deleted"], result["examined"])
    return result
