"""OAuth 2.0 sign-in for accounts, end to end against real parts on 127.0.0.1: a real identity provider
(oidc-provider) issuing tokens by the device-code and client-credentials flows, Dovecot's oauth2 passdb
checking them for IMAP and POP3, and an aiosmtpd server asking the same provider for SMTP.

The person at the browser is played over HTTP, as a browser would (tests/support/idp.py). Every token the
provider issues is recorded, so that the tests can look for each one where none may be: the daemon's
log, its database file, its replies and its events."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request

import pytest

from mailfleet.shared import protocol as P

from ..support.daemons import scratch_dir
from ..support.idp import SERVER, IdentityProvider
from ..support.mailservers import oauth_smtp_server
from ..support.samples import dsn
from ..support.servers import Dovecot, free_port
from ..support.users import ensure_user, rpc_as

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ALICE = "alice@oauth.test"  # signs in by the device flow
ALICE_PW = "alice-idp-pw-7"  # her password at the identity provider (the browser's, never the daemon's)
RELAY = "relay@oauth.test"  # the relay client's mailbox (client credentials, app-only)
SCOPES = "openid offline_access mail"


@pytest.fixture(scope="module")
def record_dir():
    yield from scratch_dir("mfr")


LOOPBACK = free_port()  # the daemons' [oauth] loopback_port: where the code flow's browser comes back
SERVICE_ACCOUNT = "mailer@project.iam.test"


def rsa_key() -> tuple[str, str]:
    """(private key PEM, public key PEM): a service account's key pair, as Google Cloud makes one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode(),
            private.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo).decode())


SA_PRIVATE, SA_PUBLIC = rsa_key()
CODE_FLOW = f"[oauth]\nloopback_port = {LOOPBACK}\n"


@pytest.fixture(scope="module")
def idp(record_dir):
    provider = IdentityProvider(users={ALICE: ALICE_PW}, mailboxes={"mailrelay": RELAY}, ttl=900,
                                record=record_dir / "issued", redirect=f"http://127.0.0.1:{LOOPBACK}/",
                                service_accounts={SERVICE_ACCOUNT: SA_PUBLIC})
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def dovecot(idp):
    for root in scratch_dir("mfo"):
        server = Dovecot(root / "dovecot", introspection_url=idp.server_introspection_url)
        server.add_user(ALICE, "unused-by-the-daemon-1")
        server.add_user(RELAY, "unused-by-the-daemon-2")
        server.start()
        yield server
        server.stop()


@pytest.fixture(scope="module")
def smtp(idp):
    controller, handler = oauth_smtp_server(lambda token: idp.post("/token/introspection", {"token": token}, SERVER))
    yield controller
    controller.stop()


def account(idp, dovecot, smtp, *, email=ALICE, protocol="imap", flow="device", scopes=SCOPES, **oauth2) -> dict:
    port = dovecot.imap_port if protocol == "imap" else dovecot.pop3_port
    client = {"device": "mailtool", "code": "mailweb", "client_credentials": "mailrelay", "service_account": "mailsa"}[flow]
    settings = {"provider": "custom", "issuer": idp.issuer, "flow": flow, "scopes": scopes, "client_id": client,
                **oauth2}
    return {"name": f"OAuth {email}", "email": email,
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "user": email, "auth": "oauth2"},
            "incoming": {"protocol": protocol, "host": "127.0.0.1", "port": port, "ssl": False, "user": email,
                         "auth": "oauth2"},
            "oauth2": settings}


def ctl(daemon, *args: str, stdin: str | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mailfleet.ctl", "--socket", daemon.endpoint, *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=daemon.env)


def sign_in_with_the_cli(daemon, idp, account_id: int, password: str = ALICE_PW) -> tuple[int, str, str]:
    """`mailfleetctl accounts auth ID` as a person runs it: it prints the address and the code, the person
    enters them in a browser (played here), and the command ends once the daemon has the grant."""
    proc = ctl(daemon, "accounts", "auth", str(account_id))
    first = proc.stdout.readline()  # "To sign in, open URL in any browser and enter the code CODE"
    words = first.split()
    uri, code = words[words.index("open") + 1], words[-1]
    page = idp.consent(uri, code, ALICE, password)
    assert "Sign-in Success" in page, page[-300:]
    out, err = proc.communicate(timeout=60)
    return proc.returncode, first + out, err


def steps(result: dict, protocol: str) -> dict[str, dict]:
    part = result["smtp"] if protocol == "smtp" else result["incoming"]
    return {s["name"]: s for s in part["steps"]}


def test_device_flow_signs_in_over_ssh_and_the_first_poll_succeeds(make_daemon, idp, dovecot, smtp):
    daemon = make_daemon().start()
    with daemon.client(timeout=30) as c:
        acc = c.call("accounts.create", account(idp, dovecot, smtp))
        assert (acc["status"], acc["auth_state"]) == ("signin_required", "signin_required")
        assert "mailfleetctl accounts auth" in acc["status_detail"]
        assert acc["oauth2"]["grant"] is None and "client_secret" not in acc["oauth2"]
        refused = c.call("accounts.poll", {"id": acc["id"]})
        assert not refused["ok"] and "not signed in yet" in refused["error"]

        code, out, err = sign_in_with_the_cli(daemon, idp, acc["id"])
        assert code == 0, (out, err)
        assert "enter the code" in out and out.rstrip().endswith(f"signed in: account {acc['id']} gets its tokens now")

        got = c.call("accounts.get", {"id": acc["id"]})
        # The poll refused before the sign-in is what the status says now, no longer the sign-in.
        assert (got["auth_state"], got["status"]) == ("ok", "incoming_failing")
        assert got["oauth2"]["grant"]["granted_by"] == got["owner"]
        dovecot.append(ALICE, dsn("gone@example.com", "5.1.1", "550 5.1.1 User unknown", "<o1@mx>"))
        first = c.call("accounts.poll", {"id": acc["id"]})
        assert first["ok"], first
        assert first["hard"] == 1

        result = c.call("accounts.test", {"id": acc["id"]}, timeout=60)
        assert result["ok"], result
        for protocol in ("smtp", "imap"):
            token = steps(result, protocol)["token"]
            assert token["ok"] and token["detail"].startswith("from the cache"), token
            auth = steps(result, protocol)["auth"]
            assert auth["ok"] and auth["detail"].startswith("XOAUTH2 (offered: "), auth
        assert c.call("accounts.get", {"id": acc["id"]})["status"] == "active"
        events = c.call("events.list", {"type": "account.auth"})["items"]
        assert [(e["state"], e["flow"]) for e in events] == [("granted", "device")]
    daemon.stop()
    assert_no_token_leaked(daemon, idp)


def assert_no_token_leaked(daemon, idp) -> None:
    """No token the provider issued is in the daemon's log or its database file in clear."""
    issued = idp.issued()
    assert issued, "the provider recorded what it issued"
    log = daemon.log()
    stored = b"".join(p.read_bytes() for p in daemon.paths.database.parent.glob(daemon.paths.database.name + "*"))
    for token in issued:
        assert token not in log, "a token in the log"
        assert token.encode() not in stored, "a token in the database file in clear"


def test_refresh_ahead_of_expiry_one_refresh_for_many_and_the_rotated_token_kept(make_daemon, idp, dovecot, smtp):
    # refresh_ahead beyond the provider's 900 s: every token is due at once, so each need refreshes.
    daemon = make_daemon(config="[oauth]\nrefresh_ahead = 3600.0\n").start()
    with daemon.client(timeout=60) as c:
        acc = c.call("accounts.create", account(idp, dovecot, smtp))
        assert sign_in_with_the_cli(daemon, idp, acc["id"])[0] == 0
        before = len(idp.issued("refresh_token"))
        result = c.call("accounts.test", {"id": acc["id"]})
        assert result["ok"], result
        assert steps(result, "smtp")["token"]["detail"].startswith("refreshed")
        assert len(idp.issued("refresh_token")) == before + 1, "rotated: the provider issued a new refresh token"

        # A poll and three tests at the same moment: one refresh between them. With a rotating provider a
        # second refresh would present the consumed token and be refused (and the grant revoked).
        results: list[dict] = []

        def run(method: str) -> None:
            with daemon.client(timeout=60) as own:
                results.append(own.call(method, {"id": acc["id"]}))

        threads = [threading.Thread(target=run, args=(m,)) for m in
                   ("accounts.test", "accounts.test", "accounts.test", "accounts.poll")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r["ok"] for r in results), results
        assert c.call("accounts.get", {"id": acc["id"]})["auth_state"] == "ok"
    daemon.stop()

    # The provider's 900 s tokens, refreshed 600 s ahead (the default): a token in hand serves.
    daemon.config_text = ""
    daemon.paths.config_file.write_text("")
    daemon.start()
    with daemon.client(timeout=60) as c:
        first = c.call("accounts.test", {"id": acc["id"]})
        second = c.call("accounts.test", {"id": acc["id"]})
        assert first["ok"] and second["ok"]
        assert steps(first, "smtp")["token"]["detail"].startswith("refreshed"), "a new daemon holds no token yet"
        assert steps(second, "smtp")["token"]["detail"].startswith("from the cache")
    daemon.stop()
    assert_no_token_leaked(daemon, idp)


@pytest.mark.parametrize("crash_at", ["oauth.received", "oauth.stored"])
def test_kill_9_around_storing_a_rotated_refresh_token(make_daemon, idp, dovecot, smtp, crash_at):
    """Crash after the provider rotated the refresh token and before it is stored, or just after: the stored
    token is always a whole one (the old or the new). This provider refuses a used refresh token (and
    revokes the grant), so after the first crash the account asks for a sign-in once, with the reason,
    and asks the provider nothing more until then; after the second it goes on with the new token."""
    daemon = make_daemon(config="[oauth]\nrefresh_ahead = 3600.0\n").start()
    with daemon.client(timeout=60) as c:
        acc = c.call("accounts.create", account(idp, dovecot, smtp))
        assert sign_in_with_the_cli(daemon, idp, acc["id"])[0] == 0
    daemon.stop()
    daemon.env["MAILFLEETD_CRASH_AT"] = crash_at
    daemon.start()
    with daemon.client(timeout=30) as c, pytest.raises(Exception):
        c.call("accounts.test", {"id": acc["id"]}, timeout=10)
    daemon.restart_after_the_crash()
    with daemon.client(timeout=60) as c:
        result = c.call("accounts.test", {"id": acc["id"]})
        got = c.call("accounts.get", {"id": acc["id"]})
        if crash_at == "oauth.stored":
            assert result["ok"], result
            assert got["auth_state"] == "ok"
        else:
            token = steps(result, "smtp")["token"]
            assert not token["ok"] and "invalid_grant" in token["detail"], token
            assert (got["status"], got["auth_state"]) == ("reauth_required", "reauth_required")
            assert "invalid_grant" in got["status_detail"]
            asked = len(idp.issued())
            again = c.call("accounts.test", {"id": acc["id"]})
            assert "sign in again" in steps(again, "smtp")["token"]["detail"]
            assert len(idp.issued()) == asked
            statuses = c.call("events.list", {"type": "account.status"})["items"]
            assert statuses[-1]["status"] == "reauth_required" and "invalid_grant" in statuses[-1]["detail"]
            # Signing in again mends it.
            assert sign_in_with_the_cli(daemon, idp, acc["id"])[0] == 0
            assert c.call("accounts.test", {"id": acc["id"]})["ok"]
            assert c.call("accounts.get", {"id": acc["id"]})["auth_state"] == "ok"
    daemon.stop()


def test_a_revoked_grant_asks_for_a_sign_in_instead_of_retrying(make_daemon, idp, dovecot, smtp):
    daemon = make_daemon().start()
    with daemon.client(timeout=60) as c:
        acc = c.call("accounts.create", account(idp, dovecot, smtp, protocol="pop3"))
        assert sign_in_with_the_cli(daemon, idp, acc["id"])[0] == 0
        assert c.call("accounts.poll", {"id": acc["id"]})["ok"]
    daemon.stop()
    idp.revoke(idp.issued("refresh_token")[-1], "mailtool")  # the person revoked the app's access (or changed the password)
    daemon.start()
    with daemon.client(timeout=60) as c:
        failed = c.call("accounts.poll", {"id": acc["id"]})
        assert not failed["ok"] and "sign in again" in failed["error"] and "invalid_grant" in failed["error"]
        got = c.call("accounts.get", {"id": acc["id"]})
        assert got["status"] == "reauth_required"
        listed = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "--socket", daemon.endpoint, "accounts",
                                 "list"], capture_output=True, text=True, env=daemon.env)
        assert "reauth_required" in listed.stdout
        status = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "--socket", daemon.endpoint, "status"],
                                capture_output=True, text=True, env=daemon.env)
        assert status.returncode == 1 and "To sign in (OAuth 2.0): 1" in status.stdout
        assert "sign in again" in status.stdout and "the provider refused the grant" in status.stdout
    daemon.stop()


def test_a_token_without_the_scope_is_refused_in_the_servers_words(make_daemon, idp, dovecot, smtp):
    daemon = make_daemon().start()
    with daemon.client(timeout=60) as c:
        acc = c.call("accounts.create", account(idp, dovecot, smtp, scopes="openid offline_access"))
        assert sign_in_with_the_cli(daemon, idp, acc["id"])[0] == 0
        result = c.call("accounts.test", {"id": acc["id"]})
        smtp_part = result["smtp"]
        assert (smtp_part["ok"], smtp_part["step"], smtp_part["category"]) == (False, "auth", "auth")
        assert smtp_part["message"] == "the token lacks the scope the server asks for: mail"
        assert "scope" in smtp_part["hint"]
    daemon.stop()


def test_client_credentials_need_no_person(make_daemon, idp, dovecot, smtp, tmp_path):
    daemon = make_daemon().start()
    secret_file = tmp_path / "secret"
    secret_file.write_text("relay-secret\n")
    add = ctl(daemon, "accounts", "add", "--name", "Shared bounces", "--email", RELAY, "--smtp-host", "127.0.0.1",
              "--smtp-port", str(smtp.port), "--smtp-security", "none", "--smtp-user", RELAY,
              "--smtp-auth-method", "oauth2", "--incoming-protocol", "pop3", "--incoming-host", "127.0.0.1",
              "--incoming-port", str(dovecot.pop3_port), "--no-incoming-ssl", "--incoming-user", RELAY,
              "--incoming-auth-method", "oauth2", "--oauth2-provider", "custom", "--oauth2-issuer", idp.issuer,
              "--oauth2-flow", "client_credentials", "--oauth2-client-id", "mailrelay", "--oauth2-scopes", "mail",
              "--oauth2-client-secret-file", str(secret_file), "--json")
    out, err = add.communicate(timeout=30)
    assert add.returncode == 0, err
    acc = json.loads(out)
    assert acc["status"] == "untested" and acc["auth_state"] is None, "no person needs to sign in"
    assert acc["oauth2"]["client_secret_set"] is True and "relay-secret" not in out
    with daemon.client(timeout=60) as c:
        granted = c.call("accounts.auth", {"id": acc["id"]})
        assert granted["state"] == "granted"
        result = c.call("accounts.test", {"id": acc["id"]})
        assert result["ok"], result
        assert steps(result, "pop3")["auth"]["detail"].startswith("XOAUTH2")
        dovecot.append(RELAY, dsn("nobody@example.com", "5.1.1", "550 5.1.1 User unknown", "<o2@mx>"))
        assert c.call("accounts.poll", {"id": acc["id"]})["hard"] == 1
        # A wrong secret: the provider's refusal, in words, and nothing else changes.
        c.call("accounts.update", {"id": acc["id"], "oauth2": {"client_secret": "not-the-secret"}})
        result = c.call("accounts.test", {"id": acc["id"]})
        token = steps(result, "smtp")["token"]
        assert not token["ok"] and "invalid_client" in token["detail"]
        assert "not-the-secret" not in json.dumps(c.call("accounts.get", {"id": acc["id"]}))
    daemon.stop()
    assert "relay-secret" not in daemon.log() and "not-the-secret" not in daemon.log()
    assert b"relay-secret" not in daemon.paths.database.read_bytes()


def test_who_may_sign_an_account_in_as_other_unix_users(make_daemon, idp, dovecot, smtp):
    """Consent binds a mailbox: only the account's owner or an admin starts, finishes or waits on a sign-in.
    Someone an account is shared with uses it and sees its state, never its secrets; an account they
    cannot see stays not found, its sign-in events included. auth_report lists only visible accounts."""
    for user in ("mfalice", "mfbob", "mfcarol"):
        ensure_user(user, "mftest")
    config = '[daemon]\nsocket_group = "mftest"\n[admins]\nusers = ["mfcarol"]\n'
    daemon = make_daemon(mode="system", config=config).start()
    ep = daemon.endpoint

    def result(user, method, params=None):
        reply = rpc_as(user, ep, method, params)
        assert "result" in reply, reply
        return reply["result"]

    def code(user, method, params):
        return rpc_as(user, ep, method, params)["error"]["code"]

    private = result("mfbob", "accounts.create", account(idp, dovecot, smtp))
    shared = result("mfbob", "accounts.create", {**account(idp, dovecot, smtp, email="team@oauth.test"), "shared": True})
    legacy = result("mfbob", "accounts.create", {"name": "Legacy", "email": "legacy@oauth.test", "smtp": {
        "host": "smtp.office365.com", "user": "legacy@oauth.test", "password": "s3cret-smtp-pw"}})
    for method, params in (("accounts.auth", {"id": private["id"]}), ("accounts.auth_wait", {"id": private["id"]}),
                           ("accounts.auth_finish", {"id": private["id"], "returned": "x"})):
        assert code("mfalice", method, params) == P.NOT_FOUND
    assert code("mfalice", "accounts.auth", {"id": shared["id"]}) == P.FORBIDDEN
    assert code("mfalice", "accounts.auth_wait", {"id": shared["id"], "timeout": 0}) == P.FORBIDDEN

    started = result("mfbob", "accounts.auth", {"id": private["id"]})
    assert "Sign-in Success" in idp.consent(started["verification_uri"], started["user_code"], ALICE, ALICE_PW)
    assert result("mfbob", "accounts.auth_wait", {"id": private["id"], "timeout": 30})["state"] == "granted"
    assert result("mfcarol", "accounts.auth_wait", {"id": private["id"], "timeout": 0})["state"] == "granted"
    assert result("mfalice", "events.list", {"account_id": private["id"], "newest": True})["items"] == []
    seen_by_admin = result("mfcarol", "events.list", {"account_id": private["id"], "type": "account.auth"})["items"]
    assert [(e["state"], e["by"]) for e in seen_by_admin] == [("granted", "mfbob")]

    as_shared = result("mfalice", "accounts.get", {"id": shared["id"]})
    assert as_shared["status"] == "signin_required" and "client_secret" not in as_shared["oauth2"]
    assert "refresh_token" not in json.dumps(as_shared)
    mine = result("mfalice", "accounts.auth_report", {})
    assert mine["items"] == [], "bob's private password account is not alice's to see"
    bobs = result("mfbob", "accounts.auth_report", {})["items"]
    assert [(i["account_id"], i["direction"], i["provider"], i["cut_off"]) for i in bobs] == [
        (legacy["id"], "smtp", "microsoft", "2026-12-31")]
    daemon.stop()
    assert_no_token_leaked(daemon, idp)


def test_code_flow_comes_back_through_the_loopback_or_by_pasting(make_daemon, idp, dovecot, smtp):
    """Google's way (and any provider's): the person opens the address printed, signs in, and the browser
    comes back to the daemon's loopback port (through the `ssh -L` line printed), or they paste the
    address it landed on."""
    daemon = make_daemon(config=CODE_FLOW).start()
    with daemon.client(timeout=60) as c:
        acc = c.call("accounts.create", account(idp, dovecot, smtp, flow="code", client_secret="web-secret"))
        proc = ctl(daemon, "accounts", "auth", str(acc["id"]))
        lines = []
        while not any(line.startswith("  http") for line in lines):
            lines.append(proc.stdout.readline())
        url = next(line.strip() for line in lines if line.startswith("  http"))
        assert f"code_challenge_method=S256" in url and "prompt=consent" in url
        forward = "".join(proc.stdout.readline() for _ in range(4))
        assert f"ssh -L {LOOPBACK}:127.0.0.1:{LOOPBACK} THIS-HOST" in forward
        back = idp.sign_in_at(url, ALICE, ALICE_PW)
        assert back.startswith(f"http://127.0.0.1:{LOOPBACK}/?code=")
        with urllib.request.urlopen(back, timeout=30) as page:  # the browser, back through the tunnel
            assert page.read().decode() == "mailfleet: signed in. You can close this tab."
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "signed in" in out, (out, err)
        assert c.call("accounts.test", {"id": acc["id"]})["ok"]

        pasted = c.call("accounts.create", account(idp, dovecot, smtp, email="paste@oauth.test", flow="code",
                                                   client_secret="web-secret"))
        url = c.call("accounts.auth", {"id": pasted["id"]})["authorize_url"]
        back = idp.sign_in_at(url, ALICE, ALICE_PW)
        forged = back.replace("state=", "state=x")
        wrong = ctl(daemon, "accounts", "auth", str(pasted["id"]), "--paste", forged)
        assert wrong.wait(timeout=30) == 1 and "another sign-in" in wrong.stderr.read()
        done = ctl(daemon, "accounts", "auth", str(pasted["id"]), "--paste", back)
        out, err = done.communicate(timeout=30)
        assert done.returncode == 0 and "signed in" in out, (out, err)
        assert c.call("accounts.get", {"id": pasted["id"]})["auth_state"] == "ok"
    daemon.stop()
    assert "web-secret" not in daemon.log()
    assert_no_token_leaked(daemon, idp)


async def test_the_terminal_ui_signs_an_account_in_and_lists_the_password_holdouts(make_daemon, idp, dovecot, smtp):
    """Over SSH in the TUI: 'o' on the account shows the address and the code (the provider's text shown as
    text), the person signs in elsewhere, and the screen says so; the palette's report lists an account
    still signing in to Microsoft 365 with a password, with the cut-off."""
    from mailfleet.tui.components.account_form import AccountForm
    from mailfleet.tui.components.account_table import AccountTable
    from mailfleet.tui.components.dialogs import Confirm
    from mailfleet.tui.components.auth_report import AuthReportScreen
    from mailfleet.tui.components.sign_in import SignInScreen

    from .test_tui import SIZE, app_for, displayed, until

    daemon = make_daemon().start()
    with daemon.client() as c:
        acc = c.call("accounts.create", {**account(idp, dovecot, smtp), "name": "Boîte [b]x[/b] 日本"})
        c.call("accounts.create", {"name": "Legacy", "email": "legacy@oauth.test", "smtp": {
            "host": "smtp.office365.com", "user": "legacy@oauth.test", "password": "s3cret-smtp-pw"}})
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 2 and table.current is not None)
        while table.current["id"] != acc["id"]:
            await pilot.press("j")
        assert "signin_required" in displayed(app)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, SignInScreen) and "Enter the code" in displayed(app))
        shown = displayed(app)
        code = shown.split("Enter the code")[1].split()[0]
        uri = f"{idp.issuer}/device"
        assert f"Open {uri} in any browser" in shown and "Sign in Boîte [b]x[/b] 日本" in shown
        idp.consent(uri, code, ALICE, ALICE_PW)
        await until(pilot, lambda: "Signed in: the account gets its tokens now" in displayed(app), timeout=30)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SignInScreen))
        await pilot.press("e")  # the form shows the OAuth settings a direction signs in with, no secret
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        app.screen.query_one("#f-oauth2-scopes").scroll_visible(animate=False)
        await until(pilot, lambda: "Client (application) id" in displayed(app) and idp.issuer in displayed(app))
        assert "mailtool" in displayed(app)
        app.screen.query_one("#f-smtp-auth").value = "password"
        app.screen.query_one("#f-incoming-auth").value = "password"
        await until(pilot, lambda: not app.screen.query_one("#sec-oauth2").display)
        await pilot.press("ctrl+s")  # back to passwords: none is stored, so the form asks for them
        await until(pilot, lambda: app.screen.query_one("#e-smtp-password").render().plain == "required when "
                                                                                              "authenticate is on")
        await pilot.press("escape")  # a changed form asks before it is thrown away
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.click("#yes")
        await until(pilot, lambda: isinstance(app.screen.query_one(AccountTable), AccountTable))
        await pilot.press("O")
        await until(pilot, lambda: isinstance(app.screen, AuthReportScreen) and "2026-12-31" in displayed(app))
        assert "smtp.office365.com" in displayed(app) and "1 to move to OAuth 2.0" in displayed(app)
    daemon.stop()


def test_a_service_account_signs_in_for_the_mailbox_with_no_person(make_daemon, idp, dovecot, smtp, record_dir):
    """Google Workspace's domain-wide delegation, as the standard it is (RFC 7523): a service account's
    key file given from a file, an assertion signed with it for the mailbox user, a token for that mailbox
    that IMAP and SMTP take. The key is in neither the log nor the database in clear; a key the provider
    does not know is refused in its words."""
    daemon = make_daemon().start()
    key_file = record_dir / "key.json"
    key_file.write_text(json.dumps({"type": "service_account", "client_email": SERVICE_ACCOUNT,
                                    "private_key_id": "k1", "private_key": SA_PRIVATE, "client_id": "10001"}, indent=2))
    settings = account(idp, dovecot, smtp, flow="service_account", scopes="mail")
    with daemon.client(timeout=60) as c:
        acc = c.call("accounts.create", {**settings, "oauth2": {**settings["oauth2"],
                                                                "service_account_key": key_file.read_text()}})
    assert acc["status"] == "untested" and acc["oauth2"]["service_account_key_set"] is True
    auth = ctl(daemon, "accounts", "auth", str(acc["id"]))
    out, err = auth.communicate(timeout=30)
    assert auth.returncode == 0 and "signed in" in out, (out, err)
    with daemon.client(timeout=60) as c:
        result = c.call("accounts.test", {"id": acc["id"]})
        assert result["ok"], result
        assert steps(result, "imap")["token"]["detail"].startswith("from the cache")
        dovecot.append(ALICE, dsn("sa@example.com", "5.1.1", "550 5.1.1 User unknown", "<sa1@mx>"))
        assert c.call("accounts.poll", {"id": acc["id"]})["ok"]
        recorded = {b["recipient"] for b in c.call("bounces.list", {})["items"]}
        assert "sa@example.com" in recorded, "ALICE's mailbox, read as her"
    # Another key under the same name (from a file, as the CLI reads it): the provider refuses it.
    key_file.write_text(json.dumps({"client_email": SERVICE_ACCOUNT, "private_key": rsa_key()[0]}, indent=2))
    edit = ctl(daemon, "accounts", "edit", str(acc["id"]), "--oauth2-service-account-key-file", str(key_file))
    assert edit.wait(timeout=30) == 0, edit.stderr.read()
    with daemon.client(timeout=60) as c:
        token = steps(c.call("accounts.test", {"id": acc["id"]}), "smtp")["token"]
        assert not token["ok"] and "invalid_grant" in token["detail"], token
    daemon.stop()
    assert "PRIVATE KEY" not in daemon.log() and b"PRIVATE KEY" not in daemon.paths.database.read_bytes()
    assert_no_token_leaked(daemon, idp)
