"""Deleting from the server the bounces already read: asked for by a person, never by the schedule.

A mailbox read while `delete_bounces` was off keeps every bounce it held; turning the setting on
later deletes only what arrives from then on. A purge looks at every message in the mailbox, finds
each one's key (the Message-ID, else a hash, as the round stored it) and deletes the messages
recorded as bounces (`seen_messages` of a bounce kind), and copies of them, and only those: human
mail, auto-replies, messages not yet read and ones set aside stay. It runs under the account's round lock, so a
round and a purge never interleave.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..marking import BOUNCE_KINDS
from ..storage import accounts as account_store
from ..storage import mailbox as mailbox_store
from .imap import ImapMailbox
from .pop3 import Pop3Mailbox
from .reader import settings_for
from .session import MailboxError

if TYPE_CHECKING:
    from ..app import App


async def run_purge(app: "App", account_id: int) -> dict[str, int]:
    """Delete the account's bounces already read; returns how many messages were looked at and deleted.
    Raises MailboxError on failure (nothing is deleted then, or, for POP3, only at a completed QUIT)."""
    row = await account_store.get(app.db.read, account_id)
    if row is None or row["kind"] != "own" or not row["incoming_protocol"]:
        raise MailboxError("config", "this account has no incoming mailbox")
    settings = settings_for(app, row)
    if settings.protocol == "imap":
        return await _imap(app, account_id, ImapMailbox(settings))
    return await _pop3(app, account_id, Pop3Mailbox(settings))


async def _bounces(app: "App", account_id: int, keys: dict) -> list:
    recorded = await mailbox_store.seen(app.db.read, account_id, sorted(set(keys.values())))
    return sorted(ref for ref, key in keys.items() if recorded.get(key) in BOUNCE_KINDS)


async def _imap(app: "App", account_id: int, box: ImapMailbox) -> dict[str, int]:
    try:
        uidvalidity = await asyncio.to_thread(box.open)
        keys = await asyncio.to_thread(box.keys)
        doomed = [str(uid) for uid in await _bounces(app, account_id, keys)]
        deleted = await asyncio.to_thread(box.delete, doomed) if doomed else 0
        if doomed:
            await _settle(app, account_id, doomed, deleted, uidvalidity)
        deleted = deleted or 0
    except asyncio.CancelledError:
        box.abort()
        raise
    finally:
        await asyncio.to_thread(box.close)
    return {"examined": len(keys), "bounces": len(doomed), "deleted": deleted}


async def _settle(app: "App", account_id: int, doomed: list[str], deleted: int | None, uidvalidity: int) -> None:
    async with app.db.transaction() as tx:
        if deleted is not None:
            await mailbox_store.clear_pending_deletes(tx.conn, account_id, doomed)
        else:
            # Flagged \Deleted, but another client's flags make EXPUNGE unsafe without UIDPLUS: owed,
            # for a round to expunge when it is safe (as a round's own deletes are).
            state = await mailbox_store.state(tx.conn, account_id)
            if state and state["uidvalidity"] == uidvalidity:
                await mailbox_store.add_pending_deletes(tx.conn, account_id, doomed)


async def _pop3(app: "App", account_id: int, box: Pop3Mailbox) -> dict[str, int]:
    closed = False
    try:
        await asyncio.to_thread(box.open)
        keys = await asyncio.to_thread(box.keys, box.uidls())
        doomed = await _bounces(app, account_id, keys)
        deleted = await asyncio.to_thread(box.delete, doomed) if doomed else 0
        await asyncio.to_thread(box.close)  # QUIT: the DELEs take effect now
        closed = True
        if doomed:
            async with app.db.transaction() as tx:
                await mailbox_store.clear_pending_deletes(tx.conn, account_id, doomed)
    except asyncio.CancelledError:
        box.abort()  # no QUIT: the server keeps every message
        raise
    finally:
        if not closed:
            await asyncio.to_thread(box.close)
    return {"examined": len(keys), "bounces": len(doomed), "deleted": deleted}
