"""Access tokens for accounts that sign in with OAuth 2.0: fresh, one refresh at a time, never stored.

- Only the refresh token (or, for client credentials, the client secret) is stored, encrypted. Access
  tokens live here, in memory, and are refreshed `[oauth] refresh_ahead` seconds before they expire.
- One refresh per account at a time: a poll, a test and a send that need a token at the same moment
  wait on one lock, and the second finds the first one's token.
- A rotated refresh token replaces the old one in one UPDATE, and only then is the access token used.
  A crash before that UPDATE leaves the old one stored whole; whether the provider still takes it is
  the provider's rule (Microsoft keeps it valid; a strictly rotating provider refuses it, and the
  account then asks for a sign-in once, saying why, instead of retrying).
- `invalid_grant` (revoked, expired, password changed) sets the account `reauth_required` with the
  provider's words and an `account.status` event; nothing retries it until someone signs in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ...shared.models import FieldErrors
from ...shared.oauth2 import APP_FLOWS
from .. import records, status
from ..failpoints import crash_point
from ..storage import accounts as account_store
from ..storage import oauth as oauth_store
from ..storage.db import utcnow
from . import provider
from .provider import Client, Refused, Tokens, Unreachable

if TYPE_CHECKING:
    from ..config import Config
    from ..secrets import SecretBox
    from ..storage.db import Database

log = logging.getLogger(__name__)

# Microsoft: "refresh tokens ... have a lifetime of 90 days", sliding with each use (learn.microsoft.com,
# "Refresh tokens in the Microsoft identity platform"). Other providers say so in refresh_token_expires_in.
MICROSOFT_REFRESH_DAYS = 90


class NoToken(Exception):
    """No access token can be had; `message` says why and `hint` what a person does about it."""

    def __init__(self, message: str, hint: str = "", *, category: str = "auth") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.category = category


@dataclass(frozen=True)
class Obtained:
    token: str = field(repr=False)
    source: str  # cache, refreshed, issued (client credentials)
    expires_in: float


@dataclass
class _Cached:
    binding: str
    token: str = field(repr=False)
    expires_at: float  # time.monotonic()
    got_at: float = field(default_factory=time.monotonic)


def binding_of(client: Client, account: Any) -> str:
    """What a grant and a cached token are bound to: the provider, client and scopes, and the servers the
    token goes to."""
    return client.binding() + "#" + records.token_servers(account)


def client_for(account: Any, secret: str | None, service_key: str | None = None) -> Client:
    return provider.Client.of(account.oauth2, secret, account.oauth2_protocols(), service_key, mailbox_user(account))


def mailbox_user(account: Any) -> str:
    """Whose mailbox a service account asks access for: the incoming user when incoming mail signs in with
    oauth2, else SMTP's."""
    incoming = getattr(account, "incoming", None)
    if incoming is not None and incoming.auth == "oauth2":
        return incoming.user
    return account.smtp.user


def refresh_expiry(client: Client, tokens: Tokens) -> str | None:
    """When the refresh token ends, as far as is known: what warns ahead."""
    if tokens.refresh_expires_in:
        days = tokens.refresh_expires_in / 86400
    elif client.provider == "microsoft":
        days = MICROSOFT_REFRESH_DAYS
    else:
        return None
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TokenBroker:
    def __init__(self, db: "Database", secrets: "SecretBox", current_config: Callable[[], "Config"]) -> None:
        self.db, self.secrets, self.current_config = db, secrets, current_config
        self._cache: dict[int, _Cached] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def forget(self, account_id: int) -> None:
        """Drop the account's access token (settings changed, a new grant, the account deleted). The
        lock goes too unless someone holds it: what is kept is bounded by the accounts in use."""
        self._cache.pop(account_id, None)
        lock = self._locks.get(account_id)
        if lock is not None and not lock.locked():
            del self._locks[account_id]

    def keep(self, account_id: int, binding: str, tokens: Tokens) -> None:
        self._cache[account_id] = _Cached(binding, tokens.access_token, time.monotonic() + tokens.expires_in)

    def _fresh(self, account_id: int, binding: str) -> _Cached | None:
        hit = self._cache.get(account_id)
        ahead = self.current_config().oauth.refresh_ahead
        if hit and hit.binding == binding and hit.expires_at - time.monotonic() > ahead:
            return hit
        return None

    async def for_saved(self, account_id: int) -> Obtained:
        """A token for a saved account as it is stored."""
        row = await account_store.get(self.db.read, account_id)
        if row is None or row["kind"] != "own" or not row["oauth2_provider"]:
            raise NoToken("this account has no oauth2 settings", category="config")
        account = _validated(row, self.secrets)
        return await self.token(account_id, account)

    async def token(self, account_id: int | None, account: Any, typed_secret: str | None = None) -> Obtained:
        """An access token for `account` (validated), saved as `account_id` (None: unsaved form values,
        which only client credentials can serve, with the secret typed)."""
        if account_id is None or typed_secret is not None:
            return await self._unsaved(account, typed_secret)
        asked = time.monotonic()
        async with self._locks.setdefault(account_id, asyncio.Lock()):  # one refresh per account at a time
            hit = self._cache.get(account_id)
            if hit is not None and hit.got_at >= asked and hit.expires_at > time.monotonic():
                # Got while this one waited: the refresh it waited on serves it too, however near the
                # token is to refresh_ahead (a provider's short-lived tokens always are).
                return Obtained(hit.token, "cache", hit.expires_at - time.monotonic())
            return await self._token(account_id, account)

    async def _unsaved(self, account: Any, secret: str | None) -> Obtained:
        if account.oauth2.flow != "client_credentials":  # a service account's key is read once it is saved
            raise NoToken("not signed in yet", "save the account, then sign in: mailfleetctl accounts auth ID")
        tokens = await _ask(provider.client_credentials(client_for(account, secret)))
        return Obtained(tokens.access_token, "issued", tokens.expires_in)

    async def _token(self, account_id: int, account: Any) -> Obtained:
        db, box = self.db, self.secrets
        row = await account_store.get(db.read, account_id)
        if row is None:
            raise NoToken("the account was deleted", category="config")
        secret = box.decrypt(row["oauth2_client_secret"]) if row["oauth2_client_secret"] else None
        key = box.decrypt(row["oauth2_service_account_key"]) if row["oauth2_service_account_key"] else None
        client = client_for(account, secret, key)
        binding = binding_of(client, account)
        hit = self._fresh(account_id, binding)
        if hit is not None:
            return Obtained(hit.token, "cache", hit.expires_at - time.monotonic())
        if client.flow in APP_FLOWS:
            grant = provider.client_credentials if client.flow == "client_credentials" else provider.service_account
            tokens = await _ask(grant(client))
            self.keep(account_id, binding, tokens)
            return Obtained(tokens.access_token, "issued", tokens.expires_in)
        grant = await oauth_store.grant(db.read, account_id)
        if row["auth_state"] == "reauth_required":
            raise NoToken(f"sign in again: {row['status_detail'] or 'the provider refused the grant'}",
                          f"mailfleetctl accounts auth {account_id}")
        if grant is None or grant["refresh_token"] is None:
            raise NoToken("not signed in yet", f"sign in: mailfleetctl accounts auth {account_id}")
        if grant["binding"] != binding:
            raise NoToken("the provider, client, scopes or servers changed since consent was given",
                          f"save the account and sign in again: mailfleetctl accounts auth {account_id}")
        old = grant["refresh_token"]
        try:
            tokens = await provider.refresh(client, box.decrypt(old))
        except Refused as exc:
            if exc.needs_consent:
                await self._reauth(account_id, f"the provider refused the grant ({exc})")
                raise NoToken(f"sign in again: the provider refused the grant ({exc})",
                              f"mailfleetctl accounts auth {account_id}") from None
            raise NoToken(f"the provider refused a token: {exc}", _hint(exc)) from None
        except Unreachable as exc:
            raise NoToken(f"could not reach the provider: {exc}", category="connect") from None
        crash_point("oauth.received")  # the rotated refresh token is in hand and not stored yet
        new = box.encrypt(tokens.refresh_token) if tokens.refresh_token else None
        async with db.transaction() as tx:
            await oauth_store.rotate(tx.conn, account_id, old, new, utcnow(), refresh_expiry(client, tokens))
            if row["auth_state"] != "ok":
                await status.set_auth(tx, account_id, "ok", "")
        crash_point("oauth.stored")
        self.keep(account_id, binding, tokens)
        return Obtained(tokens.access_token, "refreshed", tokens.expires_in)

    async def _reauth(self, account_id: int, reason: str) -> None:
        self.forget(account_id)
        log.warning("account %d: %s; it needs a sign-in", account_id, reason)
        async with self.db.transaction() as tx:
            await status.set_auth(tx, account_id, "reauth_required", reason[:500])


async def _ask(pending) -> Tokens:
    try:
        return await pending
    except Refused as exc:
        raise NoToken(f"the provider refused a token: {exc}", _hint(exc)) from None
    except Unreachable as exc:
        raise NoToken(f"could not reach the provider: {exc}", category="connect") from None


def _hint(exc: Refused) -> str:
    return {
        "invalid_client": "check the client id and secret (a secret expires: Entra shows its end date)",
        "unauthorized_client": "the app registration does not allow this flow; see the README's steps",
        "invalid_scope": "the app was not granted these scopes (Entra: API permissions, admin consent)",
        "invalid_request": "check the tenant and the client id",
    }.get(exc.error, "")


def _validated(row: Any, box: "SecretBox") -> Any:
    try:
        return records.validated(row, box)
    except FieldErrors as exc:
        raise NoToken(f"the stored settings no longer validate: {exc}", category="config") from None


def needs_person(account: Any) -> bool:
    """Whether the account's tokens come from a person's consent (device or code flow) for a direction
    that signs in with oauth2."""
    oauth2 = getattr(account, "oauth2", None)
    return oauth2 is not None and oauth2.flow not in APP_FLOWS and bool(account.oauth2_protocols())


def auth_after_edit(account: Any, grant_binding: str | None, current: str | None) -> tuple[str | None, str, bool]:
    """(auth_state, status detail, drop the grant) for a saved account's settings against its grant (its
    binding; None: no grant) and its current auth_state. A grant given for other settings is dropped:
    a token is never sent to a server, or asked from a provider, it was not given for."""
    if not needs_person(account):
        return None, "", grant_binding is not None
    binding = binding_of(client_for(account, None), account)
    if grant_binding is None:
        if current == "reauth_required":
            return current, "", False  # the provider's refusal stays the news
        return "signin_required", "not signed in yet: mailfleetctl accounts auth ID, or 'Sign in' in the UI", False
    if grant_binding != binding:
        return "reauth_required", "the provider, client, scopes or servers changed since sign-in: sign in again", True
    return current or "ok", "", False
