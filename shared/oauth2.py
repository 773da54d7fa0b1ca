"""What mailfleet knows of OAuth 2.0 providers: their endpoints, the scopes mail needs, and which mail
hosts stopped taking passwords (and when).

Plain data and small functions, no network: the daemon's token code (daemon/oauth/) reads the endpoints
and scopes from here, the models check settings against it, and `accounts auth-report` names the
cut-offs. A custom provider's endpoints come from its issuer's discovery document (RFC 8414), which
the daemon fetches.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

# The device-code grant type (RFC 8628 section 3.4); the JWT bearer grant (RFC 7523 section 2.1).
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
APP_FLOWS = ("client_credentials", "service_account")  # no person: the app's own access

# Tenants that name no single directory: a person can sign in with them, an app alone cannot.
MICROSOFT_SHARED_TENANTS = ("", "common", "organizations", "consumers")


@dataclass(frozen=True)
class Endpoints:
    token: str
    device: str | None = None  # RFC 8628 device authorization endpoint
    authorize: str | None = None  # where a person signs in, for the code flow


def microsoft_endpoints(tenant: str) -> Endpoints:
    """Microsoft identity platform v2.0 (learn.microsoft.com, "Microsoft identity platform and OAuth 2.0
    device authorization grant flow" and "... client credentials flow")."""
    base = f"https://login.microsoftonline.com/{tenant or 'organizations'}/oauth2/v2.0"
    return Endpoints(token=f"{base}/token", device=f"{base}/devicecode", authorize=f"{base}/authorize")


# Google: developers.google.com/identity/protocols/oauth2/native-app (loopback redirect, PKCE). Google's
# device flow ("OAuth 2.0 for TV and Limited-Input Device Applications") does not allow the mail scope.
GOOGLE = Endpoints(token="https://oauth2.googleapis.com/token",
                   authorize="https://accounts.google.com/o/oauth2/v2/auth")

# Scopes by provider, for a person's delegated access (device and code flows), per protocol. Microsoft:
# learn.microsoft.com "Authenticate an IMAP, POP or SMTP connection using OAuth"; Google: "Gmail API
# scopes" (IMAP, POP and SMTP all need https://mail.google.com/).
_DELEGATED = {
    "microsoft": {"imap": "https://outlook.office.com/IMAP.AccessAsUser.All",
                  "pop3": "https://outlook.office.com/POP.AccessAsUser.All",
                  "smtp": "https://outlook.office.com/SMTP.Send"},
    "google": {"imap": "https://mail.google.com/", "pop3": "https://mail.google.com/",
               "smtp": "https://mail.google.com/"},
}
# App-only access (client credentials) to Exchange Online's IMAP, POP and SMTP: one resource scope.
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"


def default_scopes(provider: str, flow: str, protocols: list[str]) -> list[str]:
    """The scopes asked for when the settings name none; [] for a custom provider (its scopes are its own)."""
    if provider == "microsoft" and flow == "client_credentials":
        return [MICROSOFT_APP_SCOPE]
    if provider not in _DELEGATED:
        return []
    scopes = list(dict.fromkeys(_DELEGATED[provider][p] for p in protocols))
    if provider == "microsoft":
        scopes.append("offline_access")  # a refresh token, so that consent is given once
    return scopes


@dataclass(frozen=True)
class CutOff:
    """A provider that stopped (or will stop) taking passwords on its mail hosts."""

    provider: str
    hosts: tuple[str, ...]  # shell patterns, lower case
    protocols: tuple[str, ...]  # smtp, imap, pop3
    when: str  # ISO date
    source: str


CUT_OFFS = (
    CutOff("microsoft", ("outlook.office365.com", "*.outlook.office365.com", "outlook.office.com"),
           ("imap", "pop3"), "2022-10-01",
           "Microsoft: Basic authentication deprecation in Exchange Online (basic auth off for IMAP and POP)"),
    CutOff("microsoft", ("smtp.office365.com", "*.mail.protection.outlook.com", "outlook.office365.com"),
           ("smtp",), "2026-12-31",
           "Microsoft message center MC786329: SMTP AUTH basic authentication off by default for existing tenants"),
    CutOff("microsoft", ("smtp-mail.outlook.com", "outlook.live.com", "imap-mail.outlook.com",
                         "pop-mail.outlook.com"), ("smtp", "imap", "pop3"), "2024-09-16",
           "Microsoft: Outlook.com consumer accounts require modern authentication"),
    CutOff("google", ("smtp.gmail.com", "imap.gmail.com", "pop.gmail.com", "smtp-relay.gmail.com"),
           ("smtp", "imap", "pop3"), "2024-09-30",
           "Google Workspace Updates: less secure apps (password sign-in) turned off"),
)


def cut_off(host: str, protocol: str) -> CutOff | None:
    """The cut-off that applies to signing in with a password to `host` over `protocol`, if any."""
    host = host.lower().rstrip(".")
    for rule in CUT_OFFS:
        if protocol in rule.protocols and any(fnmatch.fnmatchcase(host, pattern) for pattern in rule.hosts):
            return rule
    return None
