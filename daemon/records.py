"""Between validated accounts, table rows and what the wire shows.

Secrets are encrypted on the way in and never leave on the way out:
passwords become `password_set`, a client secret `client_secret_set`, a
proxy URL loses its password. (The OAuth grant is stored apart:
storage/oauth.py.)
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..shared.models import AccountBase, IncomingSettings, OAuth2Settings, SendLimits, SmtpSettings, validate_account
from ..shared.validators import redact_proxy
from .secrets import SecretBox

# The columns come from the models (a field added there is stored once a migration adds its column):
# secrets (passwords, the OAuth client secret, the proxy URL with its password) are stored encrypted, apart.
_SECRET = {"password", "proxy", "client_secret", "service_account_key"}
_COMMON = ("kind", *AccountBase.model_fields)
_SMTP = tuple(k for k in SmtpSettings.model_fields if k not in _SECRET)
_INCOMING = tuple(k for k in IncomingSettings.model_fields if k not in _SECRET)
_OAUTH2 = tuple(k for k in OAuth2Settings.model_fields if k not in _SECRET)
_LIMITS = tuple(SendLimits.model_fields)
_BOOLS = {f"{prefix}{key}" for prefix, model in (("", AccountBase), ("smtp_", SmtpSettings), ("incoming_", IncomingSettings))
          for key, info in model.model_fields.items() if info.annotation is bool}


def to_row(account: AccountBase, box: SecretBox, old: sqlite3.Row | None = None) -> dict[str, Any]:
    """Columns for a validated account; a password left out keeps the one in `old`."""
    row: dict[str, Any] = {key: getattr(account, key) for key in _COMMON}
    for key in _LIMITS:
        row[f"limits_{key}"] = getattr(account.limits, key)
    smtp: SmtpSettings | None = getattr(account, "smtp", None)
    incoming: IncomingSettings | None = getattr(account, "incoming", None)
    for key in _SMTP:
        row[f"smtp_{key}"] = getattr(smtp, key) if smtp else None
    for key in _INCOMING:
        row[f"incoming_{key}"] = getattr(incoming, key) if incoming else None
    oauth2: OAuth2Settings | None = getattr(account, "oauth2", None)
    for key in _OAUTH2:
        row[f"oauth2_{key}"] = getattr(oauth2, key) if oauth2 else None
    row["oauth2_client_secret"] = _secret(oauth2.client_secret if oauth2 else None, "oauth2_client_secret", box, old,
                                          keep=oauth2 is not None)
    row["oauth2_service_account_key"] = _secret(oauth2.service_account_key if oauth2 else None,
                                                "oauth2_service_account_key", box, old, keep=oauth2 is not None)
    row["smtp_password"] = _secret(smtp.password if smtp else None, "smtp_password", box, old, keep=smtp is not None)
    row["incoming_password"] = _secret(
        incoming.password if incoming else None, "incoming_password", box, old, keep=incoming is not None
    )
    row["smtp_proxy"] = box.encrypt(smtp.proxy) if smtp and smtp.proxy else None
    for key in _BOOLS:
        if row.get(key) is not None:
            row[key] = int(row[key])
    return row


def _secret(value: str | None, column: str, box: SecretBox, old: sqlite3.Row | None, keep: bool) -> bytes | None:
    if value is not None:
        return box.encrypt(value)
    if keep and old is not None:
        return old[column]
    return None


def to_input(row: sqlite3.Row, box: SecretBox) -> dict[str, Any]:
    """The stored account as validate_account() takes it, passwords left out (an update merges into this)."""
    data: dict[str, Any] = {key: bool(row[key]) if key in _BOOLS else row[key] for key in _COMMON}
    data["limits"] = _section(row, "limits", _LIMITS)
    if row["kind"] == "own":
        data["smtp"] = _section(row, "smtp", _SMTP)
        if row["smtp_proxy"]:
            data["smtp"]["proxy"] = box.decrypt(row["smtp_proxy"])
        data["incoming"] = _section(row, "incoming", _INCOMING) if row["incoming_protocol"] else None
        data["oauth2"] = _oauth2(row)
    return data


def _oauth2(row: sqlite3.Row) -> dict[str, Any] | None:
    if not row["oauth2_provider"]:
        return None
    out = _section(row, "oauth2", _OAUTH2)
    if out["issuer"] is None:
        del out["issuer"]
    return out


def _section(row: sqlite3.Row, prefix: str, keys: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for key in keys:
        value = row[f"{prefix}_{key}"]
        out[key] = bool(value) if f"{prefix}_{key}" in _BOOLS else value
    return out


def to_wire(row: sqlite3.Row, box: SecretBox) -> dict[str, Any]:
    """The account as accounts.get shows it."""
    data: dict[str, Any] = {"id": row["id"]}
    data.update({key: bool(row[key]) if key in _BOOLS else row[key] for key in _COMMON})
    data["limits"] = _section(row, "limits", _LIMITS)
    data.update(
        owner=row["owner"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=row["status"],
        status_detail=row["status_detail"],
        health=row["health"],
        health_reason=row["health_reason"],
        health_at=row["health_at"],
    )
    if row["kind"] == "marketing":
        data.update(approval=row["approval"], approval_reason=row["approval_reason"])
        return data
    smtp = _section(row, "smtp", _SMTP)
    data.update(smtp_state=row["smtp_state"], incoming_state=row["incoming_state"])
    smtp["password_set"] = row["smtp_password"] is not None
    smtp["proxy"] = redact_proxy(box.decrypt(row["smtp_proxy"])) if row["smtp_proxy"] else None
    data["smtp"] = smtp
    if row["incoming_protocol"]:
        incoming = _section(row, "incoming", _INCOMING)
        incoming["password_set"] = row["incoming_password"] is not None
        data["incoming"] = incoming
    else:
        data["incoming"] = None
    data["auth_state"] = row["auth_state"]
    data["oauth2"] = _oauth2(row)
    if data["oauth2"] is not None:
        data["oauth2"]["client_secret_set"] = row["oauth2_client_secret"] is not None
        data["oauth2"]["service_account_key_set"] = row["oauth2_service_account_key"] is not None
    return data


def to_summary(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "name": row["name"],
        "email": row["email"],
        "display_name": row["display_name"],
        "created_at": row["created_at"],
        "status": row["status"],
        "status_detail": row["status_detail"],
        "smtp_state": row["smtp_state"],
        "incoming_state": row["incoming_state"],
        "health": row["health"],
        "health_reason": row["health_reason"],
        "shared": bool(row["shared"]),
        "owner": row["owner"],
    }


def event_data(row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
    """What an event tells every subscriber: enough to refetch, nothing private."""
    return {
        "account_id": row["id"],
        "kind": row["kind"],
        "owner": row["owner"],
        "shared": bool(row["shared"]),
        "status": row["status"],
    }


def server_of(account: Any, section: str) -> tuple | None:
    """Where, and how, a section's secret is sent: the server it was given for. For oauth2, the token
    endpoint's identity (provider, tenant, issuer) and the client: a client secret goes nowhere else."""
    settings = getattr(account, section, None)
    if settings is None:
        return None
    if section == "oauth2":
        return (settings.provider, settings.tenant.lower(), settings.issuer, settings.client_id)
    smtp = getattr(account, "smtp", None)
    proxy = smtp.proxy if smtp is not None else None  # the proxy carries incoming connections too
    if section == "smtp":
        return (settings.host.lower(), settings.port, settings.user, settings.security, settings.verify_tls, proxy)
    return (settings.protocol, settings.host.lower(), settings.port, settings.user, settings.ssl,
            settings.verify_tls, proxy)


def token_servers(account: Any) -> str:
    """The servers an account's OAuth tokens go to: part of what a grant is bound to, so that a token
    consent gave for one server is never sent to another one an edit names."""
    parts = []
    for section in ("smtp", "incoming"):
        settings = getattr(account, section, None)
        if settings is not None and settings.auth == "oauth2":
            parts.append(repr(server_of(account, section)))
    return ";".join(parts)


def stored_secret_sections(row: sqlite3.Row) -> set[str]:
    """Sections whose stored secret an edit keeps (the section existed and had one): smtp and incoming
    passwords, the oauth2 client secret ("oauth2") and service account key ("oauth2_key")."""
    kept = set()
    if row["smtp_password"] is not None and row["smtp_host"] is not None:
        kept.add("smtp")
    if row["incoming_password"] is not None and row["incoming_protocol"] is not None:
        kept.add("incoming")
    if row["oauth2_client_secret"] is not None and row["oauth2_provider"] is not None:
        kept.add("oauth2")
    if row["oauth2_service_account_key"] is not None and row["oauth2_provider"] is not None:
        kept.add("oauth2_key")
    return kept


def validated(row: sqlite3.Row, box: SecretBox) -> AccountBase:
    """The stored account, validated as the models say (FieldErrors if it no longer does)."""
    return validate_account(to_input(row, box), stored_passwords=stored_secret_sections(row))
