"""Talking to an OAuth 2.0 provider: the token endpoint's grants (RFC 6749: client credentials, refresh,
authorization code with PKCE, RFC 7636), the device authorization request (RFC 8628) and the discovery
of a custom issuer's endpoints (RFC 8414 / OpenID Connect Discovery).

Authlib's client (on httpx2) does the grants: the client authentication methods, PKCE and the error
responses, the same for Microsoft, Google and any standards-conforming provider; joserfc (Authlib's JOSE
library) signs a service account's assertion. One code path for
all three is what the tests drive against a real provider (oidc-provider) on this host.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import httpx2
from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.jwk import RSAKey
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from ...shared.oauth2 import DEVICE_GRANT, GOOGLE, JWT_BEARER_GRANT, Endpoints, default_scopes, microsoft_endpoints
from ...shared.words import printable

TIMEOUT = 20.0


@dataclass(frozen=True)
class Client:
    """An account's oauth2 settings as the provider sees them, the secret decrypted."""

    provider: str
    flow: str
    client_id: str
    client_secret: str | None = field(repr=False)
    tenant: str
    issuer: str | None
    scopes: tuple[str, ...]
    service_key: str | None = field(default=None, repr=False)  # a service account's key file (JSON)
    subject: str = ""  # service_account: the mailbox user the assertion asks access for

    @classmethod
    def of(cls, settings: Any, secret: str | None, protocols: list[str], service_key: str | None = None,
           subject: str = "") -> "Client":
        scopes = settings.scopes.split() or default_scopes(settings.provider, settings.flow, protocols)
        return cls(settings.provider, settings.flow, settings.client_id, secret, settings.tenant or "",
                   settings.issuer, tuple(scopes), service_key, subject)

    def binding(self) -> str:
        """What a grant is bound to: the endpoint, client and scopes it was given for."""
        return "|".join((self.provider, self.tenant.lower(), self.issuer or "", self.client_id, " ".join(self.scopes)))


@dataclass(frozen=True)
class Tokens:
    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_in: float | None = None  # Google sends it for apps in "testing" (7 days)
    scope: str = ""


@dataclass(frozen=True)
class DeviceStart:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float
    message: str


class Refused(Exception):
    """The provider said no (RFC 6749 section 5.2): its error code and its words, printable and bounded."""

    def __init__(self, error: str, description: str = "") -> None:
        self.error = printable(error or "error")[:80]
        self.description = printable(description or "")[:300]
        super().__init__(f"{self.error}: {self.description}" if self.description else self.error)

    @property
    def needs_consent(self) -> bool:
        """invalid_grant: the refresh token was revoked, expired or used; only a person can fix that."""
        return self.error in ("invalid_grant", "interaction_required", "consent_required")


class Unreachable(Exception):
    """The provider could not be asked (network, TLS, an answer that is not OAuth)."""


# A custom issuer's discovery document, kept for a while (bounded: a few issuers in any real setup).
_DISCOVERED: OrderedDict[str, tuple[float, Endpoints, tuple[str, ...]]] = OrderedDict()
_DISCOVERY_TTL = 3600.0


async def _discover(issuer: str) -> tuple[Endpoints, tuple[str, ...]]:
    hit = _DISCOVERED.get(issuer)
    if hit and hit[0] > time.monotonic():
        return hit[1], hit[2]
    base = issuer.rstrip("/")
    document = None
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
            try:
                reply = await http.get(base + path)
            except httpx2.HTTPError as exc:
                raise Unreachable(f"{issuer}: {printable(str(exc)) or type(exc).__name__}") from None
            if reply.status_code == 200:
                document = reply.json()
                break
    if not isinstance(document, dict) or not isinstance(document.get("token_endpoint"), str):
        raise Unreachable(f"{issuer} publishes no discovery document with a token endpoint (RFC 8414)")
    found = Endpoints(token=document["token_endpoint"], device=document.get("device_authorization_endpoint"),
                      authorize=document.get("authorization_endpoint"))
    methods = tuple(document.get("token_endpoint_auth_methods_supported") or ("client_secret_basic",))
    _DISCOVERED[issuer] = (time.monotonic() + _DISCOVERY_TTL, found, methods)
    while len(_DISCOVERED) > 32:
        _DISCOVERED.popitem(last=False)
    return found, methods


async def endpoints(client: Client) -> tuple[Endpoints, str]:
    """(the endpoints, the client authentication method): 'none' for a public client; else HTTP Basic,
    which RFC 6749 section 2.3.1 makes every server support, unless a provider lists only the form post."""
    if client.provider == "microsoft":
        found, methods = microsoft_endpoints(client.tenant), ("client_secret_basic", "client_secret_post")
    elif client.provider == "google":
        found, methods = GOOGLE, ("client_secret_basic", "client_secret_post")
    else:
        found, methods = await _discover(client.issuer or "")
    if not client.client_secret:
        return found, "none"
    return found, "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"


def _tokens(reply: dict[str, Any]) -> Tokens:
    if not isinstance(reply.get("access_token"), str):
        raise Unreachable("the provider's answer holds no access token")
    refresh_life = reply.get("refresh_token_expires_in")
    return Tokens(reply["access_token"], float(reply.get("expires_in") or 3600), reply.get("refresh_token"),
                  float(refresh_life) if isinstance(refresh_life, (int, float)) else None, str(reply.get("scope") or ""))


async def _grant(client: Client, **form: Any) -> Tokens:
    found, method = await endpoints(client)
    async with AsyncOAuth2Client(client.client_id, client.client_secret, token_endpoint_auth_method=method,
                                 timeout=TIMEOUT) as oauth:
        try:
            return _tokens(await oauth.fetch_token(found.token, **form))
        except OAuthError as exc:
            raise Refused(exc.error, exc.description or "") from None
        except (httpx2.HTTPError, ValueError) as exc:
            raise Unreachable(f"{found.token}: {printable(str(exc))[:200] or type(exc).__name__}") from None


async def client_credentials(client: Client) -> Tokens:
    return await _grant(client, grant_type="client_credentials", scope=" ".join(client.scopes))


async def service_account(client: Client) -> Tokens:
    """A service account's access for the mailbox user (RFC 7523 JWT bearer grant; Google's "Using OAuth
    2.0 for Server to Server Applications", with domain-wide delegation: the assertion's `sub`). The
    assertion is signed RS256 with the key file's private key, for the token endpoint as audience. A
    custom provider also hears the client id (RFC 6749 section 2.3 for a client without a secret)."""
    found, _ = await endpoints(client)
    key = json.loads(client.service_key or "{}")
    now = int(time.time())
    claims = {"iss": key.get("client_email"), "sub": client.subject, "scope": " ".join(client.scopes),
              "aud": found.token, "iat": now, "exp": now + 3600}
    header = {"alg": "RS256", "typ": "JWT", **({"kid": key["private_key_id"]} if key.get("private_key_id") else {})}
    try:
        assertion = jwt.encode(header, claims, RSAKey.import_key(key.get("private_key", "")))
    except Exception as exc:  # noqa: BLE001 (a key that does not sign is the person's to fix; never quoted)
        raise Refused("invalid_key", f"the service account key cannot sign ({type(exc).__name__})") from None
    form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
    if client.provider == "custom":
        form["client_id"] = client.client_id
    try:
        async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
            reply = await http.post(found.token, data=form)
        body = reply.json()
    except (httpx2.HTTPError, ValueError) as exc:
        raise Unreachable(f"{found.token}: {printable(str(exc))[:200] or type(exc).__name__}") from None
    if not isinstance(body, dict) or "error" in body or reply.status_code != 200:
        body = body if isinstance(body, dict) else {}
        raise Refused(str(body.get("error") or reply.status_code), str(body.get("error_description") or ""))
    return _tokens(body)


async def refresh(client: Client, refresh_token: str) -> Tokens:
    return await _grant(client, grant_type="refresh_token", refresh_token=refresh_token,
                        scope=" ".join(client.scopes))


async def device_start(client: Client) -> DeviceStart:
    found, method = await endpoints(client)
    if not found.device:
        raise Unreachable("this provider offers no device flow (no device authorization endpoint): use code")
    form = {"client_id": client.client_id, "scope": " ".join(client.scopes)}
    auth = (client.client_id, client.client_secret) if method == "client_secret_basic" else None
    if method == "client_secret_post":
        form["client_secret"] = client.client_secret or ""
    try:
        async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
            reply = await http.post(found.device, data=form, auth=auth)
        body = reply.json()
    except (httpx2.HTTPError, ValueError) as exc:
        raise Unreachable(f"{found.device}: {printable(str(exc))[:200] or type(exc).__name__}") from None
    if "error" in body or reply.status_code != 200:
        raise Refused(str(body.get("error") or reply.status_code), str(body.get("error_description") or ""))
    uri = body.get("verification_uri") or body.get("verification_url")  # Google and Microsoft v1 say _url
    if not all(isinstance(v, str) for v in (body.get("device_code"), body.get("user_code"), uri)):
        raise Unreachable("the provider's device authorization answer is incomplete")
    complete = body.get("verification_uri_complete")
    return DeviceStart(body["device_code"], printable(body["user_code"])[:40], printable(uri)[:500],
                       printable(complete)[:600] if isinstance(complete, str) else None,
                       float(body.get("expires_in") or 900), float(body.get("interval") or 5),
                       printable(str(body.get("message") or ""))[:500])


async def device_poll(client: Client, device_code: str) -> Tokens:
    """One poll; Refused('authorization_pending' or 'slow_down') while the person has not finished."""
    return await _grant(client, grant_type=DEVICE_GRANT, device_code=device_code)


@dataclass(frozen=True)
class CodeStart:
    url: str
    state: str
    verifier: str = field(repr=False)
    redirect_uri: str


async def code_start(client: Client, redirect_uri: str) -> CodeStart:
    """Where the person signs in (authorization code with PKCE S256, RFC 7636), a refresh token asked for:
    Google's access_type=offline and prompt=consent (else it is given only the first time); with
    offline_access, prompt=consent as OpenID Connect Core section 11 requires."""
    found, method = await endpoints(client)
    if not found.authorize:
        raise Unreachable("this provider publishes no authorization endpoint")
    verifier = generate_token(64)
    state = secrets.token_urlsafe(24)
    extra = {"access_type": "offline", "prompt": "consent"} if client.provider == "google" else \
        {"prompt": "consent"} if "offline_access" in client.scopes and client.provider == "custom" else {}
    async with AsyncOAuth2Client(client.client_id, client.client_secret, token_endpoint_auth_method=method,
                                 scope=" ".join(client.scopes), redirect_uri=redirect_uri,
                                 code_challenge_method="S256") as oauth:
        url, _ = oauth.create_authorization_url(found.authorize, state=state, code_verifier=verifier, **extra)
    return CodeStart(url, state, verifier, redirect_uri)


async def code_finish(client: Client, start: CodeStart, code: str) -> Tokens:
    return await _grant(client, grant_type="authorization_code", code=code, redirect_uri=start.redirect_uri,
                        code_verifier=start.verifier)
