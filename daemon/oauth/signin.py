"""Sign-ins a person finishes in a browser, anywhere: the device flow (RFC 8628: a URL and a short code
on the screen, the daemon polling until consent) and the code flow (the browser comes back to the
daemon's loopback port, through `ssh -L`, or the person pastes the address it landed on). Client
credentials need no person: "signing in" checks that the secret gets a token.

One sign-in per account at a time (a new one replaces the old). Its end is an `account.auth` event
(granted or failed, with the reason) and the answer to `accounts.auth_wait`. The refresh token consent
gives is stored encrypted with what it is bound to; the access token goes to the broker's memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ...shared.oauth2 import APP_FLOWS
from ...shared.words import printable
from .. import status
from ..storage import oauth as oauth_store
from ..storage.db import utcnow
from . import provider
from .broker import TokenBroker, binding_of, client_for, refresh_expiry
from .provider import Client, CodeStart, Refused, Tokens, Unreachable

if TYPE_CHECKING:
    from ..context import Services

log = logging.getLogger(__name__)


class SignInError(Exception):
    """A sign-in could not start or finish; the message is for the person."""


@dataclass
class _Pending:
    account_id: int
    by: str
    client: Client = field(repr=False)
    binding: str
    done: asyncio.Future
    task: asyncio.Task | None = None
    code: CodeStart | None = None
    started: float = field(default_factory=time.monotonic)


class SignIns:
    def __init__(self, services: "Services", broker: TokenBroker) -> None:
        self.services = services
        self.broker = broker
        self._pending: dict[int, _Pending] = {}
        self._loopback: asyncio.Server | None = None

    # --- starting -----------------------------------------------------------

    async def start(self, account_id: int, account: Any, secret: str | None, by: str,
                    service_key: str | None = None) -> dict[str, Any]:
        """Begin a sign-in for a saved account; what the person needs to finish it."""
        client = client_for(account, secret, service_key)
        binding = binding_of(client, account)
        self.cancel(account_id)
        flow = client.flow
        if flow in APP_FLOWS:  # no person: getting a token is the whole of it
            grant = provider.client_credentials if flow == "client_credentials" else provider.service_account
            tokens = await _asked(grant(client))
            self.broker.keep(account_id, binding, tokens)
            async with self.services.db.transaction() as tx:
                await tx.event("account.auth", {"account_id": account_id, "state": "granted", "flow": flow,
                                                "reason": "", "by": by})
            return {"flow": flow, "state": "granted", "expires_in": round(tokens.expires_in)}
        pending = _Pending(account_id, by, client, binding, asyncio.get_running_loop().create_future())
        if flow == "device":
            start = await _asked(provider.device_start(client))
            pending.task = asyncio.create_task(self._poll(pending, start), name=f"signin-{account_id}")
            self._pending[account_id] = pending
            return {"flow": flow, "state": "pending", "verification_uri": start.verification_uri,
                    "verification_uri_complete": start.verification_uri_complete, "user_code": start.user_code,
                    "expires_in": round(start.expires_in), "message": start.message}
        port = self.services.config.oauth.loopback_port
        redirect = f"http://127.0.0.1:{port}/"
        pending.code = await _asked(provider.code_start(client, redirect))
        listening = await self._listen(port)
        pending.task = asyncio.create_task(self._expire(pending, 900), name=f"signin-{account_id}")
        self._pending[account_id] = pending
        return {"flow": flow, "state": "pending", "authorize_url": pending.code.url, "redirect_uri": redirect,
                "listening": listening, "ssh_forward": f"ssh -L {port}:127.0.0.1:{port} THIS-HOST",
                "expires_in": 900}

    def cancel(self, account_id: int) -> None:
        old = self._pending.pop(account_id, None)
        if old is not None:
            if old.task is not None:
                old.task.cancel()
            if not old.done.done():
                old.done.set_result({"state": "failed", "reason": "replaced by a newer sign-in"})
        self._close_loopback_if_idle()

    # --- finishing ----------------------------------------------------------

    async def _poll(self, pending: _Pending, start: provider.DeviceStart) -> None:
        """RFC 8628 section 3.5: every `interval` seconds (five more after slow_down) until the person
        consents, refuses, or the code expires."""
        interval, deadline = start.interval, time.monotonic() + start.expires_in
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(interval)  # the provider's pace: RFC 8628 asks clients to wait between polls
                try:
                    tokens = await provider.device_poll(pending.client, start.device_code)
                except Refused as exc:
                    if exc.error == "authorization_pending":
                        continue
                    if exc.error == "slow_down":
                        interval += 5
                        continue
                    await self._failed(pending, _refusal_words(exc))
                    return
                except Unreachable as exc:
                    log.warning("account %d: sign-in poll: %s", pending.account_id, exc)
                    continue  # the network blinked; the code is still good until it expires
                await self._granted(pending, tokens)
                return
            await self._failed(pending, "the code expired before anyone signed in; start again")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (a sign-in that breaks says so, it never hangs)
            log.exception("account %d: sign-in failed", pending.account_id)
            await self._failed(pending, f"the sign-in broke: {type(exc).__name__}")

    async def _expire(self, pending: _Pending, seconds: float) -> None:
        await asyncio.sleep(seconds)  # how long a code flow's browser round may take
        await self._failed(pending, "nobody came back from the browser in time; start again")

    async def finish_code(self, account_id: int, returned: str, by: str) -> dict[str, Any]:
        """The code flow's end: the address the browser landed on (or just its code), pasted back."""
        pending = self._pending.get(account_id)
        if pending is None or pending.code is None:
            raise SignInError("no code sign-in is waiting for this account: start one with accounts.auth")
        query = parse_qs(urlsplit(returned.strip()).query) if "?" in returned else {"code": [returned.strip()]}
        await self._code_returned(pending, query)
        return await self.wait(account_id, 0)

    async def _code_returned(self, pending: _Pending, query: dict[str, list[str]]) -> None:
        if "error" in query:
            await self._failed(pending, _refusal_words(Refused(query["error"][0],
                                                               (query.get("error_description") or [""])[0])))
            return
        state = (query.get("state") or [None])[0]
        if state is not None and state != pending.code.state:
            raise SignInError("this address belongs to another sign-in (its state does not match)")
        code = (query.get("code") or [""])[0]
        if not code:
            raise SignInError("the address holds no code: paste the whole address the browser shows")
        try:
            tokens = await provider.code_finish(pending.client, pending.code, code)
        except Refused as exc:
            await self._failed(pending, _refusal_words(exc))
            return
        except Unreachable as exc:
            raise SignInError(f"could not reach the provider: {exc}") from None
        await self._granted(pending, tokens)

    async def wait(self, account_id: int, timeout: float) -> dict[str, Any]:
        """The sign-in's outcome, waiting up to `timeout` seconds for it: pending, granted or failed."""
        pending = self._pending.get(account_id)
        if pending is None:
            return {"state": "none"}
        try:
            return await asyncio.wait_for(asyncio.shield(pending.done), timeout) if timeout else \
                (pending.done.result() if pending.done.done() else {"state": "pending"})
        except TimeoutError:
            return {"state": "pending"}

    async def _granted(self, pending: _Pending, tokens: Tokens) -> None:
        if not tokens.refresh_token:
            await self._failed(pending, "the provider gave no refresh token, so the sign-in would not outlive the "
                                        "hour: ask for offline access (Microsoft: offline_access in the scopes)")
            return
        box = self.services.secrets
        async with self.services.db.transaction() as tx:
            await oauth_store.put_grant(tx.conn, pending.account_id, box.encrypt(tokens.refresh_token),
                                        pending.binding, pending.by, utcnow(), refresh_expiry(pending.client, tokens))
            await status.set_auth(tx, pending.account_id, "ok", "", by=pending.by)
            await tx.event("account.auth", {"account_id": pending.account_id, "state": "granted",
                                            "flow": pending.client.flow, "reason": "", "by": pending.by})
        self.broker.keep(pending.account_id, pending.binding, tokens)
        log.info("account %d: signed in by %s (%s flow)", pending.account_id, pending.by, pending.client.flow)
        self._settle(pending, {"state": "granted"})

    async def _failed(self, pending: _Pending, reason: str) -> None:
        async with self.services.db.transaction() as tx:
            await tx.event("account.auth", {"account_id": pending.account_id, "state": "failed",
                                            "flow": pending.client.flow, "reason": reason, "by": pending.by})
        self._settle(pending, {"state": "failed", "reason": reason})

    def _settle(self, pending: _Pending, outcome: dict[str, Any]) -> None:
        if not pending.done.done():
            pending.done.set_result(outcome)
        if self._pending.get(pending.account_id) is pending:
            # Kept a while so that a late accounts.auth_wait still hears the outcome; a new start replaces it.
            pending.task = None
        self._close_loopback_if_idle()

    # --- the loopback redirect ---------------------------------------------

    async def _listen(self, port: int) -> bool:
        """Listen on 127.0.0.1:port for the browser's return, while a code sign-in waits. False if the port
        is taken (pasting the address back still works)."""
        if self._loopback is not None:
            return True
        try:
            self._loopback = await asyncio.start_server(self._redirected, "127.0.0.1", port)
        except OSError as exc:
            log.warning("oauth loopback port %d: %s; sign-ins paste the address back", port, exc)
            return False
        return True

    def _close_loopback_if_idle(self) -> None:
        waiting = any(p.code is not None and not p.done.done() for p in self._pending.values())
        if self._loopback is not None and not waiting:
            self._loopback.close()
            self._loopback = None

    async def _redirected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One browser request: `GET /?code=...&state=...`. Only the request line is read; the state
        names the sign-in (any other request is told so and nothing happens)."""
        try:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1")
            parts = line.split()
            query = parse_qs(urlsplit(parts[1]).query) if len(parts) >= 2 else {}
            state = (query.get("state") or [""])[0]
            pending = next((p for p in self._pending.values() if p.code and p.code.state == state
                            and not p.done.done()), None)
            if pending is None:
                body = "mailfleet: no sign-in is waiting for this address."
            else:
                try:
                    await self._code_returned(pending, query)
                except SignInError as exc:
                    await self._failed(pending, str(exc))
                outcome = pending.done.result() if pending.done.done() else {"state": "pending"}
                body = ("mailfleet: signed in. You can close this tab." if outcome["state"] == "granted" else
                        f"mailfleet: the sign-in failed: {outcome.get('reason', '')}")
            data = body.encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
            await writer.drain()
        except (OSError, TimeoutError, UnicodeError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        for account_id in list(self._pending):
            self.cancel(account_id)
        if self._loopback is not None:
            self._loopback.close()
            self._loopback = None


async def _asked(pending) -> Any:
    try:
        return await pending
    except Refused as exc:
        raise SignInError(_refusal_words(exc)) from None
    except Unreachable as exc:
        raise SignInError(f"could not reach the provider: {exc}") from None


def _refusal_words(exc: Refused) -> str:
    words = {
        "access_denied": "the person at the browser declined",
        "expired_token": "the code expired before anyone signed in; start again",
        "invalid_client": "the provider does not know this client id (or its secret)",
        "unauthorized_client": "the app registration does not allow this flow (Entra: 'Allow public client flows' "
                               "for the device flow)",
        "invalid_scope": "the provider refused the scopes asked for",
    }.get(exc.error)
    return printable(f"{words} ({exc})" if words else f"the provider refused: {exc}")[:500]
