"""accounts.auth, auth_finish, auth_wait, auth_report: signing an account in with OAuth 2.0, and which
accounts still sign in with a password where the provider stopped taking one."""

from __future__ import annotations

import logging
from typing import Any

from ....shared import protocol as P
from ....shared.models import AuthFinishParams, AuthReportParams, AuthWaitParams, FieldErrors, IdParams
from ....shared.oauth2 import cut_off
from ... import records
from ...oauth.signin import SignInError
from ...rpc import Call, rpc_method
from ...storage import accounts as store
from .core import visible_account

log = logging.getLogger(__name__)


async def _manageable(call: Call, account_id: int):
    """The saved account, validated, for its owner or an admin: consent binds a mailbox, so only they
    may give it (someone it is shared with may use the account, not sign it in)."""
    row = visible_account(call, await store.get(call.db.read, account_id), account_id)
    if not call.caller.can_manage(row["owner"]):
        raise P.forbidden("only the account's owner or an admin can sign it in")
    if row["kind"] != "own" or not row["oauth2_provider"]:
        raise P.conflict("this account has no oauth2 settings: set smtp.auth or incoming.auth to oauth2 and the "
                         "oauth2 section first")
    try:
        account = records.validated(row, call.secrets)
    except FieldErrors as exc:
        raise P.conflict(f"the stored settings no longer validate ({exc}): edit the account first") from None
    return row, account


@rpc_method("accounts.auth", IdParams)
async def auth(call: Call, params: IdParams) -> dict:
    """Sign the account in with OAuth 2.0 (its owner or an admin). Device flow: answers the URL and code a
    person enters in any browser, while the daemon waits for consent; code flow: the address to sign in
    at (the browser comes back through `ssh -L`, or the address it lands on is pasted to
    accounts.auth_finish); client credentials: a token is got at once. The end is an account.auth event
    and accounts.auth_wait's answer."""
    row, account = await _manageable(call, params.id)
    secret = call.secrets.decrypt(row["oauth2_client_secret"]) if row["oauth2_client_secret"] else None
    key = call.secrets.decrypt(row["oauth2_service_account_key"]) if row["oauth2_service_account_key"] else None
    log.info("account %d: sign-in (%s flow) started by %s", params.id, account.oauth2.flow, call.caller.user)
    try:
        return {"account_id": params.id, **await call.signins.start(params.id, account, secret, call.caller.user,
                                                                      key)}
    except SignInError as exc:
        raise P.conflict(str(exc)) from None


@rpc_method("accounts.auth_finish", AuthFinishParams, long=True)
async def auth_finish(call: Call, params: AuthFinishParams) -> dict:
    """The code flow's end: the address the browser landed on, pasted back (its owner or an admin)."""
    await _manageable(call, params.id)
    try:
        return {"account_id": params.id, **await call.signins.finish_code(params.id, params.returned,
                                                                           call.caller.user)}
    except SignInError as exc:
        raise P.conflict(str(exc)) from None


@rpc_method("accounts.auth_wait", AuthWaitParams, long=True)
async def auth_wait(call: Call, params: AuthWaitParams) -> dict:
    """How the account's sign-in ended, waiting up to `timeout` seconds: pending, granted, failed (with the
    reason), or none (no sign-in under way)."""
    await _manageable(call, params.id)
    return {"account_id": params.id, **await call.signins.wait(params.id, params.timeout)}


@rpc_method("accounts.auth_report", AuthReportParams)
async def auth_report(call: Call, params: AuthReportParams) -> dict:
    """The accounts the caller may see that still sign in with a password to Microsoft 365, Outlook.com or
    Google mail hosts, each with the provider's cut-off date and where it was announced."""
    items: list[dict[str, Any]] = []
    for row in await store.password_sign_ins(call.db.read, call.caller.viewer):
        for section, host, protocol in (("smtp", row["smtp_host"], "smtp"),
                                        ("incoming", row["incoming_host"], row["incoming_protocol"])):
            if not host or row[f"{section}_auth"] != "password" or (section == "smtp" and not row["smtp_authenticate"]):
                continue
            rule = cut_off(host, protocol)
            if rule is not None:
                items.append({"account_id": row["id"], "name": row["name"], "email": row["email"],
                              "owner": row["owner"], "direction": section, "protocol": protocol, "host": host,
                              "provider": rule.provider, "cut_off": rule.when, "source": rule.source})
    return {"total": len(items), "items": items}
