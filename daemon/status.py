"""An own account's status follows its latest connection test or mailbox round.

SMTP and incoming mail each have a state of their own (`untested`, `ok`,
`failing`; none for incoming when there is no mailbox), kept apart so that
one failing never hides the other. `status` is the one word for the list,
derived from both (`smtp_failing` first, then `incoming_failing`, else
`active` once SMTP passed a test, else `untested`), with a detail beside it;
every change of it is an `account.status` event. Above both stands the OAuth
grant's state: `signin_required` (nobody has signed in yet) or
`reauth_required` (the provider refused the refresh token, or the settings it
was given for changed: only a person signing in again can fix it) is the
status until someone does.
"""

from __future__ import annotations

from typing import Any

from . import records
from .storage import accounts as account_store
from .storage.db import Tx, utcnow


def overall(smtp: str | None, incoming: str | None, auth: str | None = None) -> str:
    if auth in ("signin_required", "reauth_required"):
        return auth
    if smtp == "failing":
        return "smtp_failing"
    if incoming == "failing":
        return "incoming_failing"
    return "active" if smtp == "ok" else "untested"  # a tested SMTP makes an account active


async def _apply(tx: Tx, rows: dict[int, Any], changes: list[tuple[int, str | None, str | None, str]]) -> None:
    """(account_id, smtp_state, incoming_state, detail) for own accounts: stored in one statement, events
    for the ones whose status word changed."""
    now = utcnow()
    updates, events = [], []
    for account_id, smtp, incoming, detail in changes:
        row = rows.get(account_id)
        if row is None or row["kind"] != "own":
            continue
        new = overall(smtp, incoming, row["auth_state"])
        if new in ("signin_required", "reauth_required"):
            detail = row["status_detail"]  # what the provider said stays the news until someone signs in
        if (new, detail, smtp, incoming) == (row["status"], row["status_detail"], row["smtp_state"],
                                             row["incoming_state"]):
            continue
        updates.append((new, detail, smtp, incoming, now, account_id))
        if new != row["status"]:
            events.append(("account.status", records.event_data(row) | {
                "status": new, "detail": detail, "smtp_state": smtp, "incoming_state": incoming}))
    await account_store.set_status_many(tx.conn, updates)
    await tx.events_many(events)


async def set_incoming(tx: Tx, account_id: int, ok: bool, detail: str) -> None:
    """After a mailbox round: the incoming state; SMTP's stays as its last test left it."""
    row = await account_store.get(tx.conn, account_id)
    if row is None or row["kind"] != "own" or not row["incoming_protocol"]:
        return
    if ok and row["status"] != "smtp_failing":
        detail = ""
    elif ok:
        detail = row["status_detail"]  # SMTP's failure is still the news
    await _apply(tx, {account_id: row}, [(account_id, row["smtp_state"], "ok" if ok else "failing", detail)])


async def set_tested_many(tx: Tx, rows: dict[int, Any], results: list[tuple[int, bool, bool | None, str]]) -> None:
    """After connection tests, (account_id, smtp_ok, incoming_ok or None without a mailbox, detail) each,
    with the accounts' current `rows`, in one statement however many."""
    await _apply(tx, rows, [
        (account_id, "ok" if smtp_ok else "failing", None if incoming_ok is None else "ok" if incoming_ok else "failing",
         detail)
        for account_id, smtp_ok, incoming_ok, detail in results
    ])


async def set_auth(tx: Tx, account_id: int, state: str | None, detail: str, by: str = "mailfleetd") -> bool:
    """The OAuth grant's state (None: the account uses no oauth2; 'ok'; 'reauth_required'), the status word
    following it; an `account.status` event when the word changes. Returns False for no such account."""
    row = await account_store.get(tx.conn, account_id)
    if row is None or row["kind"] != "own":
        return False
    new = overall(row["smtp_state"], row["incoming_state"], state)
    if new in ("signin_required", "reauth_required"):
        words = detail
    elif row["status"] in ("signin_required", "reauth_required"):
        words = ""
    else:
        words = row["status_detail"]
    if (state, new, words) == (row["auth_state"], row["status"], row["status_detail"]):
        return True
    await account_store.update(tx.conn, account_id, {"auth_state": state, "status": new, "status_detail": words,
                                                     "updated_at": utcnow()})
    if new != row["status"]:
        await tx.event("account.status", records.event_data(row) | {
            "status": new, "detail": words, "smtp_state": row["smtp_state"], "incoming_state": row["incoming_state"],
            "by": by})
    return True
