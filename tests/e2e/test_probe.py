"""Connection tests against real servers on 127.0.0.1: aiosmtpd, Dovecot, microsocks, and servers that misbehave."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
import zmq

from mailfleet.daemon.probe.watchdog import Watchdog
from mailfleet.shared import protocol as P

from ..support.daemons import scratch_dir
from ..support.mailservers import PASSWORD, USER, Authority, Liar, Microsocks, Silent, Tinyproxy, smtp_server
from ..support.servers import Dovecot

TIMEOUT = 3  # [probe] timeout for these tests: a hang must end as "timeout" quickly
BOX, BOX_PW = "probe@example.com", "dovecot-secret-3"


@pytest.fixture(scope="module")
def root():
    yield from scratch_dir("mfp")


@pytest.fixture(scope="module")
def authority(root):
    return Authority(root / "ca")


@pytest.fixture(scope="module")
def servers(authority):
    made = {mode: smtp_server(mode, authority) for mode in ("plain", "starttls", "ssl")}
    yield {mode: (c.port, h) for mode, (c, h) in made.items()}
    for controller, _ in made.values():
        controller.stop()


@pytest.fixture(scope="module")
def dovecot(root, authority):
    server = Dovecot(root / "dovecot", cert=authority.cert_file, key=authority.key_file)
    server.add_user(BOX, BOX_PW)
    server.start()
    server.append(BOX, b"From: a@example.com\r\nSubject: x\r\n\r\nhello\r\n")
    server.append(BOX, b"From: a@example.com\r\nSubject: y\r\n\r\nhello\r\n", folder="Bounces")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def socks():
    open_proxy, locked = Microsocks(), Microsocks("proxyuser", "proxy-pw-77")
    yield open_proxy, locked
    open_proxy.stop()
    locked.stop()


@pytest.fixture
def probed(make_daemon, authority):
    """A daemon that trusts the test CA (as a system store would)."""
    return make_daemon(config=f"[probe]\ntimeout = {TIMEOUT}\n[poll]\nschedule = false\n",
                       extra_env={"SSL_CERT_FILE": str(authority.ca_file)}).start()


def smtp(port: int, security: str = "none", **extra) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": security, "user": USER, "password": PASSWORD, **extra}


def account(smtp_settings: dict, **extra) -> dict:
    return {"kind": "own", "name": "probe", "email": "sender@example.com", "smtp": smtp_settings, **extra}


def probe(client, params) -> dict:
    return client.call("accounts.test", params, timeout=60)


def steps(report: dict) -> list[str]:
    return [s["name"] for s in report["steps"]]


def test_plain_smtp_with_auth_walks_every_layer(probed, servers):
    with probed.client() as c:
        r = probe(c, {"account": account(smtp(servers["plain"][0]))})
    s = r["smtp"]
    assert r["ok"] and s["ok"] and s["category"] == "ok"
    assert steps(s) == ["dns", "connect", "greeting", "ehlo", "auth", "mail_from", "rcpt_to", "rset"]
    assert all(step["ok"] and step["ms"] >= 0 for step in s["steps"])
    assert r["incoming"] is None


def test_bad_credentials_are_auth_with_the_servers_words(probed, servers):
    with probed.client() as c:
        s = probe(c, {"account": account(smtp(servers["plain"][0], password="wrong"))})["smtp"]
    assert (s["ok"], s["category"], s["step"]) == (False, "auth", "auth")
    assert "535" in s["message"] and "Authentication credentials invalid" in s["message"]


def test_starttls_and_auth_only_after_tls(probed, servers):
    port = servers["starttls"][0]
    with probed.client() as c:
        good = probe(c, {"account": account(smtp(port, "starttls"))})["smtp"]
        assert good["ok"] and "starttls" in steps(good) and steps(good).count("ehlo") == 2
        plain = probe(c, {"account": account(smtp(port, "none"))})["smtp"]
    assert (plain["category"], plain["step"]) == ("auth", "auth")
    assert "only after TLS" in plain["hint"]


def test_starttls_chosen_against_a_server_without_it_never_falls_back(probed, servers):
    with probed.client() as c:
        s = probe(c, {"account": account(smtp(servers["plain"][0], "starttls"))})["smtp"]
    assert (s["category"], s["step"]) == ("starttls_missing", "starttls")
    assert "auth" not in steps(s), "no credentials are sent over plain text"


def test_implicit_tls_and_a_real_test_message(probed, servers):
    port, handler = servers["ssl"]
    params = {"account": account(smtp(port, "ssl"), display_name="ACME Sales", reply_to_email="replies@example.com"),
              "send_to": "someone@example.org"}
    with probed.client() as c:
        r = probe(c, params)
    assert r["ok"] and steps(r["smtp"])[-1] == "data" and "tls" in steps(r["smtp"])
    received = handler.messages[-1]
    assert received.mail_from == "sender@example.com" and received.rcpt_tos == ["someone@example.org"]
    text = received.data.decode()
    assert "From: ACME Sales <sender@example.com>" in text and "Reply-To: replies@example.com" in text


def test_untrusted_certificate_fails_as_tls_unless_verification_is_off(make_daemon, servers):
    port = servers["ssl"][0]
    d = make_daemon(config=f"[probe]\ntimeout = {TIMEOUT}\n").start()  # does not trust the test CA
    with d.client() as c:
        s = probe(c, {"account": account(smtp(port, "ssl"))})["smtp"]
        assert (s["category"], s["step"]) == ("tls", "tls")
        assert "certificate" in s["message"] and "issuer" in s["hint"] and "expires" in s["hint"]
        assert "verify_tls" in s["hint"]
        trusting = probe(c, {"account": account(smtp(port, "ssl", verify_tls=False))})["smtp"]
    assert trusting["ok"]


def test_refused_silent_and_unresolvable(probed):
    silent = Silent()
    try:
        with probed.client() as c:
            refused = probe(c, {"account": account(smtp(1, authenticate=False))})["smtp"]
            started = time.monotonic()
            hung = probe(c, {"account": account(smtp(silent.port, authenticate=False))})["smtp"]
            elapsed = time.monotonic() - started
            dns = probe(c, {"account": account({**smtp(25, authenticate=False), "host": "no-such-host.invalid"})})["smtp"]
    finally:
        silent.close()
    assert (refused["category"], refused["step"]) == ("refused", "connect")
    assert (hung["category"], hung["step"]) == ("timeout", "greeting") and elapsed < TIMEOUT + 5
    assert (dns["category"], dns["step"]) == ("dns", "dns")


def test_ssl_against_a_plain_port_gets_a_hint(probed, servers):
    with probed.client() as c:
        s = probe(c, {"account": account(smtp(servers["plain"][0], "ssl"))})["smtp"]
    assert s["category"] in ("tls", "timeout") and s["step"] == "tls"


def test_through_socks_proxies(probed, servers, socks):
    open_proxy, locked = socks
    port = servers["plain"][0]
    with probed.client() as c:
        via = probe(c, {"account": account(smtp(port, proxy=f"socks5://127.0.0.1:{open_proxy.port}"))})["smtp"]
        assert via["ok"] and steps(via)[0] == "connect" and "through socks5://127.0.0.1" in via["steps"][0]["detail"]
        authed = probe(c, {"account": account(smtp(port, proxy=f"socks5://proxyuser:proxy-pw-77@127.0.0.1:{locked.port}"))})["smtp"]
        assert authed["ok"]
        refused = probe(c, {"account": account(smtp(port, proxy=f"socks5://proxyuser:wrong@127.0.0.1:{locked.port}"))})["smtp"]
        assert (refused["category"], refused["step"]) == ("proxy", "connect")
        assert "proxy-pw-77" not in json.dumps(refused) and "wrong" not in refused["message"]
        dead = probe(c, {"account": account(smtp(port, proxy="socks5://127.0.0.1:1"))})["smtp"]
        assert (dead["category"], dead["step"]) == ("proxy", "connect")


def test_through_an_http_connect_proxy(probed, servers, dovecot, root):
    proxy = Tinyproxy(root / "tinyproxy")
    try:
        url = f"http://127.0.0.1:{proxy.port}"
        with probed.client() as c:
            r = probe(c, {"account": account(smtp(servers["plain"][0], proxy=url), incoming=imap(dovecot))})
    finally:
        proxy.stop()
    assert r["ok"], r
    assert r["smtp"]["steps"][0]["detail"].startswith("through http://127.0.0.1")
    assert r["incoming"]["steps"][0]["detail"].startswith("through http://127.0.0.1"), "incoming mail uses it too"
    strict = Tinyproxy(root / "tinyproxy", connect_ports=(443,))  # refuses CONNECT to anything else
    try:
        with probed.client() as c:
            s = probe(c, {"account": account(smtp(servers["plain"][0], proxy=f"http://127.0.0.1:{strict.port}"))})["smtp"]
    finally:
        strict.stop()
    assert (s["category"], s["step"]) == ("proxy", "connect") and "refused" in s["message"]


def imap(dovecot: Dovecot, ssl: bool = False, **extra) -> dict:
    port = dovecot.imaps_port if ssl else dovecot.imap_port
    return {"protocol": "imap", "host": "127.0.0.1", "port": port, "ssl": ssl, "user": BOX, "password": BOX_PW, **extra}


def pop3(dovecot: Dovecot, ssl: bool = False, **extra) -> dict:
    port = dovecot.pop3s_port if ssl else dovecot.pop3_port
    return {"protocol": "pop3", "host": "127.0.0.1", "port": port, "ssl": ssl, "user": BOX, "password": BOX_PW, **extra}


def test_incoming_imap_and_pop3_plain_and_tls(probed, servers, dovecot):
    with probed.client() as c:
        for incoming in (imap(dovecot), imap(dovecot, ssl=True), pop3(dovecot), pop3(dovecot, ssl=True)):
            r = probe(c, {"account": account(smtp(servers["plain"][0]), incoming=incoming)})
            inc = r["incoming"]
            assert inc["ok"], (incoming, inc)
            assert ("tls" in steps(inc)) == incoming["ssl"]
            last = inc["steps"][-1]
            assert last["name"] == ("select" if incoming["protocol"] == "imap" else "stat")
            assert "1 messages" in last["detail"]
            if incoming["protocol"] == "imap":
                assert "UIDVALIDITY" in last["detail"]


def test_incoming_bad_password_and_missing_folder(make_daemon, authority, servers, dovecot):
    # Dovecot delays failed logins, longer after each one (2 s, 4 s, ...): give steps the default time.
    probed = make_daemon(extra_env={"SSL_CERT_FILE": str(authority.ca_file)}).start()
    with probed.client() as c:
        bad = probe(c, {"account": account(smtp(servers["plain"][0]), incoming=imap(dovecot, password="nope"))})
        assert (bad["incoming"]["category"], bad["incoming"]["step"]) == ("auth", "auth")
        assert bad["ok"] is False and bad["smtp"]["ok"] is True
        pbad = probe(c, {"account": account(smtp(servers["plain"][0]), incoming=pop3(dovecot, password="nope"))})
        assert pbad["incoming"]["category"] == "auth"
        folder = probe(c, {"account": account(smtp(servers["plain"][0]), incoming=imap(dovecot, folder="Bounce"))})
    inc = folder["incoming"]
    assert inc["step"] == "select" and "Bounce" in inc["message"]
    assert "INBOX" in inc["hint"] and "Bounces" in inc["hint"]


def test_saved_account_status_history_and_live_steps(probed, servers, dovecot):
    with probed.client() as c:
        c.call("events.subscribe", {"types": ["probe.step"]})
        acc = c.call("accounts.create", account(smtp(servers["plain"][0]), incoming=imap(dovecot)))
        r = probe(c, {"id": acc["id"], "job": "job-1"})
        assert r["ok"]
        got = [c.next_event(timeout=5) for _ in range(3)]
        assert all(e["type"] == "probe.step" and e["account_id"] == acc["id"] and e["job"] == "job-1"
                   and e["by"] == "root" for e in got)
        account_now = c.call("accounts.get", {"id": acc["id"]})
        assert account_now["status"] == "active" and account_now["last_test"]["ok"]
        c.call("accounts.update", {"id": acc["id"], "smtp": {"password": "wrong"}})
        failing = probe(c, {"id": acc["id"]})
        assert failing["smtp"]["category"] == "auth"
        account_now = c.call("accounts.get", {"id": acc["id"]})
        assert account_now["status"] == "smtp_failing" and "535" in account_now["status_detail"]
        c.call("accounts.update", {"id": acc["id"], "smtp": {"password": PASSWORD}, "incoming": {"folder": "Nope"}})
        probe(c, {"id": acc["id"]})
        assert c.call("accounts.get", {"id": acc["id"]})["status"] == "incoming_failing"
        # Unsaved edits on top of the saved account: answered, not stored.
        trial = probe(c, {"id": acc["id"], "account": {"incoming": {"folder": "INBOX"}}})
        assert trial["ok"] and c.call("accounts.get", {"id": acc["id"]})["status"] == "incoming_failing"
        statuses = [e["status"] for e in c.call("events.list", {"type": "account.status"})["items"]]
        assert statuses == ["active", "smtp_failing", "incoming_failing"]


def test_marketing_accounts_test_the_platform_relay(make_daemon, servers):
    port = servers["plain"][0]
    d = make_daemon(config=f'[relay]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nuser = "{USER}"\n'
                           f'password = "{PASSWORD}"\n[probe]\ntimeout = {TIMEOUT}\n').start()
    with d.client() as c:
        acc = c.call("accounts.create", {"kind": "marketing", "name": "News", "email": "news@example.com"})
        r = probe(c, {"id": acc["id"]})
    assert r["ok"] and r["approval"] == "pending" and r["relay"] == f"127.0.0.1:{port}"
    assert any(s["name"] == "mail_from" and s["ok"] for s in r["smtp"]["steps"])
    assert PASSWORD not in d.log()


def test_a_slow_server_does_not_delay_the_others(probed, servers):
    silent = Silent()
    try:
        with probed.client() as c:
            slow = c.call("accounts.create", {**account(smtp(silent.port, authenticate=False)), "email": "slow@example.com"})
            fast = [c.call("accounts.create", {**account(smtp(servers["plain"][0])), "email": f"f{i}@example.com"})["id"]
                    for i in range(8)]
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, 30000)
        sock.connect(probed.endpoint)
        started = time.monotonic()
        for account_id in [slow["id"], *fast]:
            sock.send_multipart([b"", P.dumps(P.request("accounts.test", {"id": account_id}, account_id))])
        order, when = [], {}
        for _ in range(9):
            reply = json.loads(sock.recv_multipart()[-1])
            order.append(reply["id"])
            when[reply["id"]] = time.monotonic() - started
        sock.close()
    finally:
        silent.close()
    assert order[-1] == slow["id"], "the slow server answers last"
    assert max(when[i] for i in fast) < TIMEOUT, "the fast ones did not wait for it"


def test_ctl_accounts_test(probed, servers):
    with probed.client() as c:
        good = c.call("accounts.create", account(smtp(servers["plain"][0])))
        bad = c.call("accounts.create", {**account(smtp(1, authenticate=False)), "email": "bad@example.com"})
    run = lambda *args: subprocess.run([sys.executable, "-m", "mailfleet.ctl", *args], env=probed.env,
                                       capture_output=True, text=True, timeout=120)
    ok = run("accounts", "test", str(good["id"]))
    assert ok.returncode == 0, ok.stderr
    assert "rcpt_to" in ok.stdout and "ok" in ok.stdout
    both = run("accounts", "test", "--all", "--json")
    assert both.returncode == 1
    result = json.loads(both.stdout)
    assert {r["account_id"]: r["ok"] for r in result["results"]} == {good["id"]: True, bad["id"]: False}
    failed = run("accounts", "test", str(bad["id"]))
    assert failed.returncode == 1 and "refused" in failed.stdout and "nothing listens" in failed.stdout

    every = run("accounts", "test", "--all")
    assert every.returncode == 1
    *lines, summary = every.stdout.splitlines()
    assert sorted(line[:6] for line in lines) == ["[1/2] ", "[2/2] "], lines  # one line per account, as each ends
    assert any(line.startswith(f"ok      {good['name']} ({good['id']})  ", 6) for line in lines)
    assert any(f"FAILED  {bad['name']} ({bad['id']}): smtp failed at connect" in line and "hint:" in line
               for line in lines)
    assert summary.startswith("2 tested in ") and summary.endswith(f"1 passed, 1 failed ({bad['name']} ({bad['id']}))")
    failures = run("accounts", "test", "--all", "--failures-only")
    assert failures.returncode == 1 and len(failures.stdout.splitlines()) == 2
    assert "FAILED" in failures.stdout and f"({good['id']})" not in failures.stdout


@pytest.mark.parametrize("protocol,stalled,command,tls", [
    ("imap", "select", "EXAMINE", False), ("pop3", "stat", "STAT", False), ("imap", "select", "EXAMINE", True),
])
def test_incoming_server_that_answers_for_ever_times_out_at_its_step(probed, servers, authority, protocol, stalled,
                                                                     command, tls):
    """Each line in time, the answer never done: the step's own deadline cuts it, as `timeout` (over TLS too,
    where the socket to cut is the wrapped one)."""
    liar = Liar(protocol, trickle=command, tls=authority.server_context() if tls else None)
    try:
        with probed.client() as c:
            started = time.monotonic()
            r = probe(c, {"account": account(smtp(servers["plain"][0]), incoming={
                "protocol": protocol, "host": "127.0.0.1", "port": liar.port, "ssl": tls,
                "user": "u", "password": "p"})})
            elapsed = time.monotonic() - started
        inc = r["incoming"]
        assert (inc["category"], inc["step"]) == ("timeout", stalled) and "did not finish" in inc["message"], inc
        assert elapsed < TIMEOUT + 5 and liar.hung_up.wait(10)
    finally:
        liar.close()


def test_incoming_server_that_opens_a_folder_without_its_counts(probed, servers):
    """RFC 3501 wants EXISTS and UIDVALIDITY in the answer to EXAMINE; a server without them gets a sentence."""
    liar = Liar("imap")  # answers EXAMINE with a bare OK
    try:
        with probed.client() as c:
            inc = probe(c, {"account": account(smtp(servers["plain"][0]), incoming={
                "protocol": "imap", "host": "127.0.0.1", "port": liar.port, "ssl": False, "user": "u",
                "password": "p"})})["incoming"]
        assert (inc["category"], inc["step"]) == ("protocol", "select") and "UIDVALIDITY" in inc["message"]
    finally:
        liar.close()


def test_watchdog_fires_the_soonest_first_and_never_what_was_disarmed():
    watchdog, fired, done = Watchdog(), [], threading.Event()
    watchdog.arm(30, lambda: fired.append("late"))  # the thread now waits 30 s ...
    watchdog.arm(0.05, lambda: fired.append("disarmed")).disarm()
    watchdog.arm(0.1, lambda: (fired.append("soon"), done.set()))  # ... and must wake for this
    assert done.wait(5)
    assert fired == ["soon"]


def test_smtp_and_incoming_states_are_kept_apart(probed, dovecot):
    """An account failing SMTP whose mailbox fails too shows both, and is found by both filters."""
    with probed.client() as c:
        acc = c.call("accounts.create", account(smtp(1, authenticate=False), incoming=imap(dovecot, password="nope")))
        result = probe(c, {"id": acc["id"]})
        assert not result["smtp"]["ok"] and not result["incoming"]["ok"]
        shown = c.call("accounts.get", {"id": acc["id"]})
        assert (shown["status"], shown["smtp_state"], shown["incoming_state"]) == ("smtp_failing", "failing", "failing")
        for status in ("smtp_failing", "incoming_failing"):
            found = c.call("accounts.list", {"status": status})["items"]
            assert [(i["id"], i["smtp_state"], i["incoming_state"]) for i in found] == [
                (acc["id"], "failing", "failing")], status
