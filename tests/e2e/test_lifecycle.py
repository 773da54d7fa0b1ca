"""Start, stop, crash and restart: data survives, locks hold, secrets stay secret."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import threading
import time

import pytest
import zmq

from mailfleet.shared import protocol as P
from mailfleet.shared.client import DaemonUnreachable

SECRETS = ("s3cret-smtp-pw", "incoming-pw-42", "proxy-pw-77")


def test_data_survives_restart_and_kill_9(make_daemon, own_account, marketing_account):
    d = make_daemon().start()
    with d.client() as c:
        acc = c.call("accounts.create", own_account)
        mkt = c.call("accounts.create", marketing_account)
    assert d.stop() == 0
    d.start()
    with d.client() as c:
        assert c.call("accounts.get", {"id": acc["id"]}) == acc
        # Committed just before the crash: must be there after it.
        later = c.call("accounts.update", {"id": mkt["id"], "name": "After restart"})
    d.kill()
    d.start()
    with d.client() as c:
        assert c.call("accounts.get", {"id": mkt["id"]}) == later
        assert c.call("accounts.list", {})["total"] == 2


def test_sigterm_finishes_requests_in_flight_and_exits_0(make_daemon, own_account):
    d = make_daemon().start()
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 15000)
    sock.connect(d.endpoint)
    sent = 40
    for i in range(sent):
        params = {**own_account, "email": f"box{i}@example.com"}
        sock.send_multipart([b"", P.dumps(P.request("accounts.create", params, i))])
    # Signal once the daemon has started answering, so requests are truly in flight.
    first = json.loads(sock.recv_multipart()[-1])
    d.proc.send_signal(signal.SIGTERM)
    answered = [first]
    try:
        while len(answered) < sent:
            answered.append(json.loads(sock.recv_multipart()[-1]))
    except zmq.Again:
        pass
    assert d.proc.wait(timeout=30) == 0
    d.proc = None
    created = {r["result"]["email"] for r in answered if "result" in r}
    # Every request that got an answer is committed, and nothing unanswered was half-done.
    db = sqlite3.connect(d.paths.database)
    stored = {row[0] for row in db.execute("SELECT email FROM accounts")}
    assert stored == created and len(created) >= 1
    assert not d.paths.rpc_socket.exists(), "a clean stop removes its socket"
    assert "stopping (SIGTERM)" in d.log()


def test_second_daemon_refuses_and_stale_socket_does_not_block(make_daemon):
    d = make_daemon().start()
    second = d.spawn()
    assert second.wait(timeout=30) == 69
    assert "already serving" in d.log()
    with d.client() as c:
        assert c.call("system.ping") == {"pong": True}
    d.kill()
    assert d.paths.rpc_socket.exists()  # left behind by the crash
    d.start()
    with d.client() as c:
        assert c.call("system.ping") == {"pong": True}


def test_files_are_private_and_secrets_never_leak(make_daemon, own_account):
    d = make_daemon().start()
    own_account["smtp"]["password"] = SECRETS[0]
    own_account["smtp"]["proxy"] = f"socks5://u:{SECRETS[2]}@127.0.0.1:1080"
    own_account["incoming"] = {"protocol": "pop3", "host": "pop.example.com", "user": "u", "password": SECRETS[1]}
    replies = []
    with d.client() as c:
        acc = c.call("accounts.create", own_account)
        replies += [acc, c.call("accounts.get", {"id": acc["id"]}), c.call("accounts.list", {})]
        replies.append(c.call("accounts.update", {"id": acc["id"], "smtp": {"password": SECRETS[0] + "x"}}))
        with pytest.raises(P.RpcError) as bad:  # a rejected update must not echo the password either
            c.call("accounts.update", {"id": acc["id"], "smtp": {"password": SECRETS[0] + "\n", "port": 0}})
        replies.append(bad.value.to_json())
    assert d.stop() == 0
    text = json.dumps(replies)
    files = [d.paths.database, d.paths.database.with_name("mailfleet.db-wal"), d.log_path]
    blobs = b"".join(f.read_bytes() for f in files if f.exists())
    for secret in SECRETS:
        assert secret not in text
        assert secret.encode() not in blobs
    for path in (d.paths.database, d.paths.key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(d.paths.state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(d.paths.rpc_socket.parent.stat().st_mode) == 0o700


def test_key_from_systemd_credentials(make_daemon, own_account, short_tmp):
    from cryptography.fernet import Fernet

    creds = short_tmp / "creds"
    creds.mkdir()
    key = Fernet.generate_key()
    (creds / "mailfleet.key").write_bytes(key)
    d = make_daemon(extra_env={"CREDENTIALS_DIRECTORY": str(creds)}).start()
    with d.client() as c:
        acc = c.call("accounts.create", own_account)
    assert d.stop() == 0
    assert not d.paths.key_file.exists(), "with a credential, no key file is written"
    db = sqlite3.connect(d.paths.database)
    token = db.execute("SELECT smtp_password FROM accounts WHERE id = ?", (acc["id"],)).fetchone()[0]
    assert Fernet(key).decrypt(token).decode() == own_account["smtp"]["password"]


def test_newer_schema_is_refused_not_rewritten(make_daemon):
    d = make_daemon().start()
    assert d.stop() == 0
    db = sqlite3.connect(d.paths.database)
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()
    before = d.paths.database.read_bytes()
    proc = d.spawn()
    assert proc.wait(timeout=30) == 69
    assert "newer than this mailfleetd understands" in d.log()
    assert d.paths.database.read_bytes() == before


def test_corrupt_database_is_refused(make_daemon):
    d = make_daemon()
    d.paths.state_dir.mkdir(parents=True)
    d.paths.database.write_bytes(b"this is no database" * 1000)
    assert d.spawn().wait(timeout=30) == 69
    assert "not a usable SQLite database" in d.log()


@pytest.mark.parametrize(
    "config,expect",
    [
        ("[daemon]\nmax_message_bytes = 'big'\n", ":2: daemon.max_message_bytes: must be an integer"),
        ("[poll]\nschedule = false\nconcurrency = 0\n", ":3: poll.concurrency: must be at least 1"),
        ("[events]\nkeep_days = 1.5\n", ":2: events.keep_days: must be an integer"),
        ("[relay]\nproxy = 'ftp://relay:21'\n", ":2: relay.proxy: scheme must be socks5 or http"),
        ("[daemon]\nlog_levle = 'info'\n", ":2: unknown key daemon.log_levle"),
        ("[nonsense]\n", ":1: unknown section [nonsense]"),
        ("[daemon\n", "mailfleetd.toml"),
        ("[daemon]\nlog_level = 'loud'\n", ":2: daemon.log_level: must be one of"),
    ],
)
def test_bad_config_exits_78_naming_file_line_and_key(make_daemon, config, expect):
    d = make_daemon(config=config)
    proc = subprocess.run(d.command(), env=d.env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 78
    assert expect in proc.stderr
    check = subprocess.run(d.command("--check-config"), env=d.env, capture_output=True, text=True, timeout=30)
    assert check.returncode == 78


def test_check_config_accepts_a_good_file(make_daemon):
    d = make_daemon(config="[daemon]\nlog_level = 'debug'\n[admins]\nusers = ['alice']\n")
    check = subprocess.run(d.command("--check-config"), env=d.env, capture_output=True, text=True, timeout=30)
    assert check.returncode == 0 and "ok" in check.stdout


def test_client_deadline_on_a_stopped_daemon(daemon):
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    try:
        with daemon.client(timeout=0.5) as c:
            with pytest.raises(DaemonUnreachable):
                c.call("system.ping")
    finally:
        os.kill(daemon.proc.pid, signal.SIGCONT)
    with daemon.client() as c:
        assert c.call("system.ping") == {"pong": True}


def test_concurrent_writers_never_interleave(daemon, own_account):
    """Many clients writing at once: every write lands whole, and ids are unique."""
    errors: list[Exception] = []

    def writer(n: int) -> None:
        try:
            with daemon.client() as c:
                for i in range(10):
                    acc = c.call("accounts.create", {**own_account, "email": f"w{n}-{i}@example.com"})
                    c.call("accounts.update", {"id": acc["id"], "name": f"writer {n} #{i}"})
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with daemon.client() as c:
        page = c.call("accounts.list", {"limit": 1000})
    assert page["total"] == 80
    assert all(item["name"].startswith("writer ") for item in page["items"])


def test_the_event_log_is_pruned_to_its_bounds_at_start(make_daemon, own_account):
    """[events] keep_count: a daemon started on a longer log keeps the newest events, and says so."""
    d = make_daemon(config="[events]\nkeep_count = 100\n").start()
    with d.client() as c:
        for n in range(120):  # one account.created event each
            c.call("accounts.create", {**own_account, "name": f"n{n}", "email": f"n{n}@example.com"})
    d.stop()
    d.start()
    with d.client() as c:
        deadline = time.monotonic() + 30
        while (first := c.call("events.list", {"limit": 1})["items"][0]["seq"]) < 21:
            assert time.monotonic() < deadline, d.log()[-2000:]
        assert first == 21 and len(c.call("events.list", {"limit": 1000})["items"]) == 100
    assert "pruned 20 events (older than 90 days, or beyond the newest 100)" in d.log()
