"""Who sees what, decided by the caller's real uid: several Unix users against one system-mode daemon."""

from __future__ import annotations

import grp
import os

import pytest

from mailfleet.shared import protocol as P

from ..support.users import ensure_user, rpc_as

GROUP = "mftest"
USERS = ("mfalice", "mfbob", "mfcarol")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create Unix users and switch to them")


@pytest.fixture(scope="module")
def unix_users():
    for user in USERS:
        ensure_user(user, GROUP)  # members of the socket group, as `usermod -aG` makes them
    return USERS


def call_as(user: str, endpoint: str, method: str, params: dict | None = None) -> dict:
    """One JSON-RPC call from a forked child running under `user`'s uid, on a plain REQ socket."""
    return rpc_as(user, endpoint, method, params, timeout_ms=10000)


@pytest.fixture
def system_daemon(make_daemon, unix_users):
    config = f'[daemon]\nsocket_group = "{GROUP}"\n[admins]\nusers = ["mfcarol"]\n'
    return make_daemon(mode="system", config=config).start()


def test_visibility_between_users(system_daemon, own_account, marketing_account):
    ep = system_daemon.endpoint

    def ok(user, method, params=None):
        reply = call_as(user, ep, method, params)
        assert "result" in reply, reply
        return reply["result"]

    def code(user, method, params=None):
        return call_as(user, ep, method, params)["error"]["code"]

    with system_daemon.client() as root:
        private = root.call("accounts.create", own_account)
        shared = root.call("accounts.create", {**marketing_account, "shared": True})

    assert ok("mfalice", "system.info")["user"] == "mfalice"
    assert ok("mfalice", "system.info")["admin"] is False
    assert ok("mfcarol", "system.info")["admin"] is True

    alice_view = ok("mfalice", "accounts.list")
    assert [i["id"] for i in alice_view["items"]] == [shared["id"]] and alice_view["total"] == 1
    assert code("mfalice", "accounts.get", {"id": private["id"]}) == P.NOT_FOUND
    assert code("mfalice", "accounts.update", {"id": private["id"], "name": "mine now"}) == P.NOT_FOUND
    assert code("mfalice", "accounts.delete", {"id": private["id"]}) == P.NOT_FOUND
    assert code("mfalice", "accounts.purge_bounces", {"id": private["id"]}) == P.NOT_FOUND

    alices = ok("mfalice", "accounts.create", {**own_account, "email": "alice@example.com", "name": "Alice box"})
    assert alices["owner"] == "mfalice"
    assert code("mfbob", "accounts.get", {"id": alices["id"]}) == P.NOT_FOUND
    assert ok("mfbob", "accounts.list")["total"] == 1

    # A shared account: others may edit it, but only its owner (or an admin) deletes it or unshares it.
    assert ok("mfbob", "accounts.update", {"id": shared["id"], "display_name": "Bob was here"})["display_name"] == "Bob was here"
    assert code("mfbob", "accounts.delete", {"id": shared["id"]}) == P.FORBIDDEN
    assert code("mfbob", "accounts.update", {"id": shared["id"], "shared": False}) == P.FORBIDDEN

    # Approval is for admins: root, the daemon's own user, and those named in the config.
    assert code("mfalice", "accounts.approve", {"id": shared["id"]}) == P.FORBIDDEN
    assert code("mfbob", "accounts.reject", {"id": shared["id"], "reason": "no"}) == P.FORBIDDEN
    assert ok("mfcarol", "accounts.approve", {"id": shared["id"]})["status"] == "active"
    assert ok("mfcarol", "accounts.list")["total"] == 3  # admins see every account
    assert ok("mfcarol", "accounts.get", {"id": alices["id"]})["owner"] == "mfalice"

    with system_daemon.client() as root:
        assert root.call("accounts.list")["total"] == 3
        assert root.call("accounts.reject", {"id": shared["id"], "reason": "bounce rate"})["status"] == "rejected"


def test_system_mode_socket_is_for_the_group_only(system_daemon):
    sock = system_daemon.paths.rpc_socket
    st = sock.stat()
    assert st.st_mode & 0o777 == 0o660
    assert st.st_gid == grp.getgrnam(GROUP).gr_gid


def test_status_counts_only_what_the_caller_may_see(system_daemon, own_account):
    """mailfleetctl status as two Unix users: each sees their own accounts' states and failures, never others'."""
    from ..support.users import run_ctl_as

    refused = {**own_account["smtp"], "host": "127.0.0.1", "port": 1, "security": "none"}
    for user, name in (("mfalice", "Alice [b]failing[/b]"), ("mfbob", "Bob failing 名前")):
        reply = call_as(user, system_daemon.endpoint, "accounts.create", {
            **own_account, "name": name, "email": f"{user}@example.com", "smtp": refused})
        account_id = reply["result"]["id"]
        assert "result" in call_as(user, system_daemon.endpoint, "accounts.test", {"id": account_id})
    call_as("mfbob", system_daemon.endpoint, "accounts.create", {"kind": "marketing", "name": "Bob news",
                                                                "email": "bobnews@example.com"})
    env = {"PATH": os.environ["PATH"]}
    argv = ["--socket", system_daemon.endpoint, "status"]
    code, out, err = run_ctl_as("mfalice", argv, env)
    assert code == 1, err  # an account of hers fails
    assert "accounts:  1" in out and "own:       1: 1 smtp failing" in out, (out, err)
    assert "Alice [b]failing[/b]" in out and "smtp" in out and "Bob" not in out and "marketing" not in out
    code, out, err = run_ctl_as("mfbob", argv, env)
    assert code == 1 and "accounts:  2" in out and "marketing: 1: 1 pending" in out and "Bob failing 名前" in out
    assert "Alice" not in out
    code, out, err = run_ctl_as("mfcarol", argv, env)  # the admin sees everything
    assert "accounts:  3" in out and "Failing: 2" in out and "Alice" in out and "Bob failing" in out


def test_an_accounts_activity_is_only_for_who_may_see_it(system_daemon, own_account):
    with system_daemon.client() as root:
        private = root.call("accounts.create", own_account)
    mine = call_as("mfalice", system_daemon.endpoint, "events.list", {"account_id": private["id"], "newest": True})
    assert mine["result"]["items"] == []
    admin = call_as("mfcarol", system_daemon.endpoint, "events.list", {"account_id": private["id"], "newest": True})
    assert [e["type"] for e in admin["result"]["items"]] == ["account.created"]


def test_backup_is_for_admins_only(system_daemon):
    """A backup holds every account's encrypted passwords and every contact: a non-admin gets none of it,
    not even a snapshot an admin took, whose id they learnt somehow."""
    ep = system_daemon.endpoint
    taken = call_as("mfcarol", ep, "system.backup")["result"]  # an admin named in the config
    assert taken["id"] and taken["size"] > 0
    for method, params in (("system.backup", None), ("system.backup_read", {"id": taken["id"], "offset": 0}),
                           ("system.backup_done", {"id": taken["id"]})):
        assert call_as("mfalice", ep, method, params)["error"]["code"] == P.FORBIDDEN, method
    assert "result" in call_as("mfcarol", ep, "system.backup_read", {"id": taken["id"], "offset": 0})
    assert "result" in call_as("mfcarol", ep, "system.backup_done", {"id": taken["id"]})


def test_verdict_controls_are_for_who_may_use_them(system_daemon, own_account, marketing_account):
    """Undoing a rule's marks is an admin's; an account's health is cleared by whom may manage it; what the
    classifier could not read is shown only of accounts the caller may see."""
    ep = system_daemon.endpoint
    with system_daemon.client() as root:
        private = root.call("accounts.create", own_account)
        shared = root.call("accounts.create", {**marketing_account, "shared": True})
    assert call_as("mfalice", ep, "contacts.unmark", {"rule": "user-unknown"})["error"]["code"] == P.FORBIDDEN
    assert call_as("mfcarol", ep, "contacts.unmark", {"rule": "user-unknown"})["result"]["restored"] == 0
    assert call_as("mfalice", ep, "accounts.health_ok", {"id": private["id"]})["error"]["code"] == P.NOT_FOUND
    assert call_as("mfalice", ep, "accounts.health_ok", {"id": shared["id"]})["error"]["code"] == P.FORBIDDEN
    assert call_as("mfcarol", ep, "accounts.health_ok", {"id": shared["id"]})["result"]["health"] is None
    reply = call_as("mfalice", ep, "bounces.unparsed", {"account_id": private["id"]})
    assert reply["error"]["code"] == P.NOT_FOUND
    assert call_as("mfalice", ep, "bounces.unparsed_get", {"id": 1})["error"]["code"] == P.NOT_FOUND
