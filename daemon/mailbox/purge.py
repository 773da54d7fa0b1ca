"""Deleting from the server the bounces already read: asked for by a person, never by the schedule.

A mailbox read while `delete_bounces` was off keeps every bounce it held; turning the setting on
later deletes only what arrives from then on. A purge looks at every message in the mailbox, finds
each one's key (the Message-ID, else a hash, as the round stored it) and deletes the messages
recorded as bounces (`seen_messages` of a bounce kind), and copies of them, and only those: human
mail, auto-replies, messages not yet read and ones set aside stay. It runs under the account's round
lock, so a round and a purge never interleave.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..marking import BOUNCE_KINDS
from ..storage import mailbox as mailbox_store
from .reader import conversation

if TYPE_CHECKING:
    from ..context import Services


async def run_purge(services: "Services", account_id: int) -> dict[str, int]:
    """Delete the account's bounces already read; returns how many messages were looked at and deleted.
    Raises MailboxError on failure (nothing is deleted then, or, for POP3, only at a completed QUIT)."""
    async with conversation(services, account_id) as (_, box):
        identity = await asyncio.to_thread(box.open)  # IMAP: the UIDVALIDITY; POP3: none
        keys = await asyncio.to_thread(box.keys)
        recorded = await mailbox_store.seen(services.db.read, account_id, sorted(set(keys.values())))
        doomed = sorted(ref for ref, key in keys.items() if recorded.get(key) in BOUNCE_KINDS)
        deleted = await asyncio.to_thread(box.delete, doomed) if doomed else 0
        await asyncio.to_thread(box.close)  # POP3: QUIT, and the DELEs take effect now
        if doomed:
            await _settle(services, account_id, doomed, deleted, identity)
    return {"examined": len(keys), "bounces": len(doomed), "deleted": deleted or 0}


async def _settle(services: "Services", account_id: int, doomed: list[str], deleted: int | None, identity: int | None) -> None:
    async with services.db.transaction() as tx:
        if deleted is not None:
            await mailbox_store.clear_pending_deletes(tx.conn, account_id, doomed)
        else:
            # IMAP: flagged \Deleted, but another client's flags make EXPUNGE unsafe without UIDPLUS: owed,
            # for a round to expunge when it is safe (as a round's own deletes are).
            state = await mailbox_store.state(tx.conn, account_id)
            if state and state["uidvalidity"] == identity:
                await mailbox_store.add_pending_deletes(tx.conn, account_id, doomed)
