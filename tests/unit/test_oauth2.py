"""The OAuth 2.0 settings as the models check them, the scopes and endpoints each provider gets, the
password cut-offs auth_report names, and how long a sign-in is known to last."""

from __future__ import annotations

import pytest

from mailfleet.daemon.oauth.broker import MICROSOFT_REFRESH_DAYS, refresh_expiry
from mailfleet.daemon.oauth.provider import Client, Tokens
from mailfleet.shared.models import FieldErrors, validate_account
from mailfleet.shared.oauth2 import cut_off, default_scopes, microsoft_endpoints

SMTP = {"host": "smtp.office365.com", "user": "box@contoso.com", "auth": "oauth2"}


def own(**oauth2) -> dict:
    return {"name": "Box", "email": "box@contoso.com", "smtp": SMTP,
            "incoming": {"protocol": "imap", "host": "outlook.office365.com", "user": "box@contoso.com",
                         "auth": "oauth2"},
            "oauth2": {"provider": "microsoft", "client_id": "0b5e-app", **oauth2}}


def errors(data: dict) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        validate_account(data)
    return caught.value.fields


def test_a_direction_on_oauth2_needs_no_password_but_the_oauth2_settings():
    account = validate_account(own())
    assert account.smtp.password is None and account.oauth2_protocols() == ["smtp", "imap"]
    assert errors({**own(), "oauth2": None}) == {
        "smtp.auth": "oauth2 needs the account's oauth2 settings (provider, client id)",
        "incoming.auth": "oauth2 needs the account's oauth2 settings (provider, client id)"}
    assert errors({**own(), "smtp": {**SMTP, "authenticate": False}})["smtp.auth"].startswith("oauth2 signs in with AUTH")


@pytest.mark.parametrize("settings, field, words", [
    ({"provider": "google", "flow": "device", "client_secret": "x"}, "oauth2.flow", "Google's device flow"),
    ({"provider": "google", "flow": "code"}, "oauth2.client_secret", "required"),
    ({"provider": "google", "flow": "service_account"}, "oauth2.service_account_key", "required"),
    ({"provider": "google", "flow": "service_account", "service_account_key": "{}"}, "oauth2.service_account_key",
     "no client_email"),
    ({"flow": "service_account", "service_account_key": '{"client_email": "a", "private_key": "k"}'}, "oauth2.flow",
     "client_credentials"),
    ({"flow": "client_credentials", "client_secret": "x"}, "oauth2.tenant", "needs the tenant"),
    ({"flow": "client_credentials", "tenant": "contoso.onmicrosoft.com"}, "oauth2.client_secret", "required"),
    ({"provider": "custom"}, "oauth2.issuer", "required for a custom provider"),
    ({"provider": "custom", "issuer": "http://idp.example.com"}, "oauth2.issuer", "must be https"),
    ({"issuer": "https://idp.example.com"}, "oauth2.issuer", "only for a custom provider"),
    ({"scopes": 'mail "quoted"'}, "oauth2.scopes", "not a valid scope"),
])
def test_settings_that_cannot_work_are_refused_where_they_are(settings, field, words):
    found = errors(own(**settings))
    assert field in found and words in found[field], found


def test_a_custom_provider_on_this_host_may_speak_http():
    account = validate_account(own(provider="custom", issuer="http://127.0.0.1:8080/realm", scopes="mail"))
    assert account.oauth2.issuer == "http://127.0.0.1:8080/realm"


def test_scopes_and_endpoints_by_provider_flow_and_protocol():
    assert default_scopes("microsoft", "device", ["smtp", "pop3"]) == [
        "https://outlook.office.com/SMTP.Send", "https://outlook.office.com/POP.AccessAsUser.All", "offline_access"]
    assert default_scopes("microsoft", "client_credentials", ["imap"]) == ["https://outlook.office365.com/.default"]
    assert default_scopes("google", "code", ["smtp", "imap"]) == ["https://mail.google.com/"]
    assert default_scopes("custom", "device", ["imap"]) == []
    assert microsoft_endpoints("contoso.onmicrosoft.com").device == \
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
    assert microsoft_endpoints("").token == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"


def test_the_cut_offs_name_the_hosts_that_stopped_taking_passwords():
    assert cut_off("SMTP.Office365.com", "smtp").when == "2026-12-31"
    assert cut_off("outlook.office365.com", "imap").when == "2022-10-01"
    assert cut_off("imap.gmail.com", "imap").provider == "google"
    assert cut_off("smtp.example.com", "smtp") is None and cut_off("smtp.office365.com", "imap") is None


def test_how_long_a_sign_in_is_known_to_last():
    microsoft = Client("microsoft", "device", "app", None, "", None, ())
    google = Client("google", "code", "app", "s", "", None, ())
    custom = Client("custom", "device", "app", None, "", "https://idp", ())
    assert refresh_expiry(microsoft, Tokens("a", 3600)) > refresh_expiry(google, Tokens("a", 3600, "r", 7 * 86400))
    assert MICROSOFT_REFRESH_DAYS == 90
    assert refresh_expiry(custom, Tokens("a", 3600)) is None, "unknown: nothing to warn about"


async def test_a_sign_in_near_its_end_is_listed_to_renew(tmp_path):
    """What `status` warns of: never signed in, refused, or a refresh token ending before the warning
    horizon; a grant with a distant or unknown end is not listed. Only accounts the viewer may see."""
    from mailfleet.daemon.storage import oauth as oauth_store
    from mailfleet.daemon.storage.db import Database, days_ago

    db = await Database.open(tmp_path / "m.db")
    try:
        async with db.transaction() as tx:
            for i, (owner, state) in enumerate([("ann", "ok"), ("ann", "ok"), ("ann", "reauth_required"),
                                                ("bob", "ok"), ("ann", "ok")], start=1):
                await tx.conn.execute(
                    "INSERT INTO accounts (id, kind, name, email, owner, created_at, updated_at, status, auth_state) "
                    "VALUES (?, 'own', ?, ?, ?, 'now', 'now', 'active', ?)", (i, f"a{i}", f"a{i}@x.test", owner, state))
            for account_id, ends in ((1, days_ago(-2)), (2, days_ago(-30)), (4, days_ago(-1)), (5, None)):
                await oauth_store.put_grant(tx.conn, account_id, b"encrypted", "b", "ann", "now", ends)
        total, items = await oauth_store.needing_sign_in(db.read, "ann", days_ago(-3))
        assert total == 2 and [i["id"] for i in items] == [1, 3], "soon-ending first, then the refused one"
        assert (await oauth_store.needing_sign_in(db.read, None, days_ago(-3)))[0] == 3, "an admin sees bob's too"
    finally:
        await db.close()
