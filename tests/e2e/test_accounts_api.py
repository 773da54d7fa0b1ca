"""accounts.* against a real daemon: CRUD of both kinds, validation on the wire, search, events."""

from __future__ import annotations

import json

import pytest

from mailfleet.shared import protocol as P
from mailfleet.shared.models import AccountSummary


def rpc_error(client, method, params) -> P.RpcError:
    with pytest.raises(P.RpcError) as info:
        client.call(method, params)
    return info.value


def test_own_account_crud(client, own_account):
    created = client.call("accounts.create", own_account)
    assert created["kind"] == "own" and created["status"] == "untested" and created["owner"] == "root"
    assert created["smtp"]["password_set"] is True and "password" not in created["smtp"]
    assert created["incoming"] is None
    fetched = client.call("accounts.get", {"id": created["id"]})
    assert fetched == created

    # A stored password is only sent to the server it was stored for: a new port needs it again.
    moved = rpc_error(client, "accounts.update", {"id": created["id"], "smtp": {"port": 2525}})
    assert list(moved.data["fields"]) == ["smtp.password"]
    updated = client.call("accounts.update", {"id": created["id"], "display_name": "Sales",
                                              "smtp": {"port": 2525, "password": "s3cret-smtp-pw"}})
    assert updated["display_name"] == "Sales" and updated["smtp"]["port"] == 2525
    assert updated["smtp"]["host"] == "smtp.example.com" and updated["smtp"]["password_set"] is True
    assert updated["updated_at"] >= created["updated_at"]

    incoming = {"protocol": "imap", "host": "imap.example.com", "user": "sales", "password": "in-pw"}
    with_incoming = client.call("accounts.update", {"id": created["id"], "incoming": incoming})
    assert with_incoming["incoming"]["port"] == 993 and with_incoming["incoming"]["password_set"]
    assert with_incoming["incoming"]["folder"] == "INBOX"
    # Changing one incoming field keeps its password; turning incoming off forgets it.
    kept = client.call("accounts.update", {"id": created["id"], "incoming": {"folder": "Bounces"}})
    assert kept["incoming"]["folder"] == "Bounces" and kept["incoming"]["password_set"]
    off = client.call("accounts.update", {"id": created["id"], "incoming": None})
    assert off["incoming"] is None
    again = rpc_error(client, "accounts.update", {"id": created["id"], "incoming": {**incoming, "password": None}})
    assert again.data["fields"] == {"incoming.password": "required"}

    assert client.call("accounts.delete", {"id": created["id"]}) == {"deleted": created["id"]}
    assert rpc_error(client, "accounts.get", {"id": created["id"]}).code == P.NOT_FOUND


def test_marketing_account_approval_cycle(client, marketing_account):
    created = client.call("accounts.create", marketing_account)
    assert created["status"] == "pending" and created["approval"] == "pending"
    assert "smtp" not in created
    approved = client.call("accounts.approve", {"id": created["id"]})
    assert approved["status"] == "active" and approved["approval"] == "approved"
    # A new sending address needs approval again; a new name does not.
    renamed = client.call("accounts.update", {"id": created["id"], "name": "Monthly news"})
    assert renamed["status"] == "active"
    moved = client.call("accounts.update", {"id": created["id"], "email": "letters@example.com"})
    assert moved["status"] == "pending" and moved["approval"] == "pending"
    rejected = client.call("accounts.reject", {"id": created["id"], "reason": "domain not verified"})
    assert rejected["status"] == "rejected" and rejected["approval_reason"] == "domain not verified"
    assert rpc_error(client, "accounts.reject", {"id": created["id"]}).data["fields"] == {"reason": "required"}


def test_approval_is_for_marketing_accounts_only(client, own_account):
    created = client.call("accounts.create", own_account)
    assert rpc_error(client, "accounts.approve", {"id": created["id"]}).code == P.CONFLICT


def test_validation_errors_name_each_field_and_change_nothing(client, own_account):
    own_account["email"] = "nope"
    own_account["smtp"]["port"] = 70000
    own_account["smtp"]["proxy"] = "ftp://x:1"
    own_account["display_name"] = "Evil\r\nBcc: all@example.com"
    own_account["incoming"] = {"protocol": "imap", "host": "imap.example.com", "user": "u", "password": "p", "batch_size": 0}
    err = rpc_error(client, "accounts.create", own_account)
    assert err.code == P.INVALID_PARAMS
    assert set(err.data["fields"]) == {"email", "smtp.port", "smtp.proxy", "display_name", "incoming.batch_size"}
    assert client.call("accounts.list", {})["total"] == 0


def test_marketing_with_smtp_is_refused(client, marketing_account, own_account):
    err = rpc_error(client, "accounts.create", {**marketing_account, "smtp": own_account["smtp"]})
    assert list(err.data["fields"]) == ["smtp"]


def test_update_rules(client, own_account, marketing_account):
    acc = client.call("accounts.create", own_account)
    fields = rpc_error(client, "accounts.update", {"id": acc["id"], "kind": "marketing"}).data["fields"]
    assert fields == {"kind": "cannot be changed; create a new account instead"}
    fields = rpc_error(client, "accounts.update", {"id": acc["id"], "owner": "mallory", "status": "active"}).data["fields"]
    assert fields == {"owner": "read-only", "status": "read-only"}
    fields = rpc_error(client, "accounts.update", {"id": acc["id"], "smtp": {"port": "x"}}).data["fields"]
    assert fields == {"smtp.port": "must be an integer"}
    assert rpc_error(client, "accounts.update", {"id": 999, "name": "x"}).code == P.NOT_FOUND
    assert rpc_error(client, "accounts.update", {"name": "x"}).data["fields"] == {"id": "required"}
    assert client.call("accounts.get", {"id": acc["id"]}) == acc


def test_proxy_password_is_kept_when_the_redacted_url_comes_back(client, own_account, daemon):
    own_account["smtp"]["proxy"] = "socks5://puser:proxy-secret-1@127.0.0.1:1080"
    acc = client.call("accounts.create", own_account)
    assert acc["smtp"]["proxy"] == "socks5://puser:********@127.0.0.1:1080"
    # Sending back what accounts.get showed changes nothing.
    smtp = {k: v for k, v in acc["smtp"].items() if k != "password_set"}
    same = client.call("accounts.update", {"id": acc["id"], "smtp": smtp})
    assert same["smtp"]["proxy"] == acc["smtp"]["proxy"]
    db = daemon.paths.database.read_bytes()
    assert b"proxy-secret-1" not in db


def test_duplicate_address_is_a_conflict(client, own_account, marketing_account):
    client.call("accounts.create", own_account)
    err = rpc_error(client, "accounts.create", {**marketing_account, "email": own_account["email"].upper()})
    assert err.code == P.CONFLICT
    other = client.call("accounts.create", marketing_account)
    assert rpc_error(client, "accounts.update", {"id": other["id"], "email": own_account["email"]}).code == P.CONFLICT


def test_list_search_filter_sort_page(client, own_account, marketing_account):
    names = ["Alpha Sales", "beta support", "Gamma Billing", "delta"]
    for i, name in enumerate(names):
        own_account.update(name=name, email=f"box{i}@acme-{i}.example.com")
        client.call("accounts.create", own_account)
        client.call("accounts.create", {**marketing_account, "name": f"News {name}", "email": f"news{i}@letters.example.org"})

    page = client.call("accounts.list", {})
    assert page["total"] == 8
    assert set(page["items"][0]) == set(AccountSummary.model_fields)
    assert [i["name"] for i in page["items"]][:4] == ["Alpha Sales", "beta support", "delta", "Gamma Billing"]

    def names_for(**params):
        return [i["name"] for i in client.call("accounts.list", params)["items"]]

    assert names_for(query="SALES") == ["Alpha Sales", "News Alpha Sales"]  # case-insensitive, name
    assert names_for(query="acme-2") == ["Gamma Billing"]  # email
    assert names_for(query="ta") == ["beta support", "delta", "News beta support", "News delta"]  # short query
    assert names_for(query="100%") == []
    assert names_for(query='"') == []
    assert names_for(kind="marketing", query="billing") == ["News Gamma Billing"]
    assert names_for(kind="own", status="untested", sort="-name") == ["Gamma Billing", "delta", "beta support", "Alpha Sales"]
    assert names_for(status="pending", limit=2, offset=1) == ["News beta support", "News delta"]
    paged = client.call("accounts.list", {"kind": "own", "limit": 3, "offset": 3})
    assert paged["total"] == 4 and len(paged["items"]) == 1


def test_events_are_pushed_to_subscribers_with_increasing_seq(daemon, client, own_account):
    with daemon.client() as sub:
        reply = sub.call("events.subscribe", {"types": ["account."]})
        assert reply["subscribed"] and reply["lease"] > 0
        acc = client.call("accounts.create", own_account)
        client.call("accounts.update", {"id": acc["id"], "name": "Renamed"})
        client.call("accounts.delete", {"id": acc["id"]})
        bodies = [sub.next_event(timeout=5) for _ in range(3)]
    assert [b["type"] for b in bodies] == ["account.created", "account.updated", "account.deleted"]
    assert all(b["account_id"] == acc["id"] and b["time"] for b in bodies)
    seqs = [b["seq"] for b in bodies]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and seqs[0] > reply["last_seq"]
    assert all("password" not in json.dumps(b) for b in bodies)


def test_discover_documents_every_method_from_the_models(client):
    doc = client.call("rpc.discover")
    assert doc["openrpc"].startswith("1.")
    methods = {m["name"]: m for m in doc["methods"]}
    for name in ("system.ping", "system.info", "accounts.list", "accounts.get", "accounts.create",
                 "accounts.update", "accounts.delete", "accounts.approve", "accounts.reject", "rpc.discover"):
        assert name in methods
    params = {p["name"]: p for p in methods["accounts.list"]["params"]}
    assert set(params) == {"query", "kind", "status", "offset", "limit", "sort"}
    create = {p["name"]: p for p in methods["accounts.create"]["params"]}
    assert create["name"]["required"] and create["email"]["required"]
    assert "SmtpSettings" in doc["components"]["schemas"]
    assert "-32602" in doc["info"]["description"]
