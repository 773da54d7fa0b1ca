"""Trust boundaries, tried as the attacker: another local user, a caller on the socket.

Every test here runs the attacking side under a real second Unix user
(tests/support/users.py), never as a flag that claims to be one.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import zmq

import mailfleet.ctl.accounts  # noqa: F401 - imported before the fork: the child cannot read /root's stdlib
from mailfleet.shared import protocol as P

from ..support.mailservers import Sink, sink_server
from ..support.users import Background, ensure_user, rpc_as, run_ctl_as

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create Unix users and switch to them")

VICTIM, MALLORY = "mfvictim", "mfmallory"


@pytest.fixture(scope="module")
def users():
    return ensure_user(VICTIM), ensure_user(MALLORY)


def _fake_daemon(ready, directory: str, seen_path: str) -> None:
    """Mallory's trap: a world-writable /tmp/mailfleet-<victim> with a ROUTER that says yes to anything."""
    os.umask(0)
    os.makedirs(directory, mode=0o777, exist_ok=True)
    os.chmod(directory, 0o777)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.bind(f"ipc://{directory}/rpc.sock")
    ready()
    with open(seen_path, "ab", buffering=0) as seen:
        while True:
            *envelope, payload = sock.recv_multipart()
            seen.write(payload + b"\n")
            request = json.loads(payload)
            result = {"id": 1, "name": "x", "email": "x@example.com", "kind": "own", "status": "untested"}
            sock.send_multipart([*envelope, P.dumps(P.result(request.get("id"), result))])


def test_a_socket_another_user_planted_gets_nothing(users):
    victim, mallory = users
    trap = Path(f"/tmp/mailfleet-{victim.pw_uid}")
    shutil.rmtree(trap, ignore_errors=True)
    home = Path(tempfile.mkdtemp(prefix="mfv", dir="/tmp"))
    os.chown(home, victim.pw_uid, victim.pw_gid)
    seen = Path(tempfile.mkdtemp(prefix="mfm", dir="/tmp")) / "seen"
    os.chmod(seen.parent, 0o755)
    seen.touch()
    os.chown(seen, mallory.pw_uid, mallory.pw_gid)
    (home / "pw").write_text("victim-secret-pw\n")
    os.chown(home / "pw", victim.pw_uid, victim.pw_gid)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}  # no XDG_RUNTIME_DIR: the /tmp fallback
    trap_daemon = Background(MALLORY, _fake_daemon, str(trap), str(seen))
    try:
        code, out, err = run_ctl_as(VICTIM, [
            "accounts", "add", "--name", "Mine", "--email", "me@example.com", "--smtp-host", "smtp.example.com",
            "--smtp-user", "me", "--smtp-password-file", str(home / "pw")], env)
        assert code == 3, (code, out, err)
        assert f"{trap} belongs to {MALLORY}" in err and "rm -r" in err, err
        assert seen.read_bytes() == b"", "the planted socket received a request"

        # The same directory, once the victim owns it but others may still write it: refused too.
        os.chown(trap, victim.pw_uid, victim.pw_gid)
        code, _, err = run_ctl_as(VICTIM, ["accounts", "list"], env)
        assert code == 3 and "can be written by other users (mode 0777)" in err and f"chmod 700 {trap}" in err, err

        # Naming the planted socket explicitly changes nothing.
        os.chown(trap, mallory.pw_uid, mallory.pw_gid)
        code, _, err = run_ctl_as(VICTIM, ["--socket", str(trap / "rpc.sock"), "accounts", "list"], env)
        assert code == 3 and "belongs to" in err, err
        assert seen.read_bytes() == b""
    finally:
        trap_daemon.stop()
        shutil.rmtree(trap, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(seen.parent, ignore_errors=True)


def test_a_symlinked_socket_directory_is_refused(users, short_tmp):
    victim, mallory = users
    target = short_tmp / "elsewhere"
    target.mkdir(mode=0o700)
    os.chown(target, victim.pw_uid, victim.pw_gid)
    runtime = short_tmp / "xdg"
    runtime.mkdir(mode=0o700)
    os.chown(runtime, victim.pw_uid, victim.pw_gid)
    (runtime / "mailfleet").symlink_to(target)
    env = {"HOME": str(short_tmp), "XDG_RUNTIME_DIR": str(runtime), "PATH": "/usr/bin:/bin"}
    code, _, err = run_ctl_as(VICTIM, ["accounts", "list"], env)
    assert code == 3 and "is a symbolic link" in err, err


@pytest.mark.parametrize("owner, mode, words", [
    (MALLORY, 0o700, f"belongs to {MALLORY}"),
    ("root", 0o777, "can be written by other users"),
])
def test_the_daemon_will_not_serve_from_a_directory_others_control(users, make_daemon, owner, mode, words):
    d = make_daemon()
    runtime = d.paths.runtime_dir
    runtime.mkdir(parents=True, mode=mode)
    os.chmod(runtime, mode)
    entry = pwd.getpwnam(owner)
    os.chown(runtime, entry.pw_uid, entry.pw_gid)
    proc = d.spawn()
    assert proc.wait(timeout=30) == 69
    assert words in d.log() and "refusing to put sockets there" in d.log(), d.log()
    assert not d.paths.rpc_socket.exists()


def test_the_real_daemon_is_still_found(users, daemon):
    """The owner's own daemon, in a directory only they control, is trusted (here: root's, found by path)."""
    done = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "--socket", str(daemon.paths.rpc_socket),
                           "accounts", "list"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


GROUP = "mftrust"
BOB, CAROL = "mftbob", "mftcarol"


@pytest.fixture(scope="module")
def group_users():
    return ensure_user(BOB, GROUP), ensure_user(CAROL, GROUP)


@pytest.fixture
def system_daemon(make_daemon, group_users):
    return make_daemon(mode="system", config=f'[daemon]\nsocket_group = "{GROUP}"\n').start()


class Thief:
    """An SMTP server of the attacker's that takes any AUTH and keeps what it was given."""

    def __init__(self) -> None:
        from aiosmtpd.smtp import AuthResult

        from ..support.mailservers import Handler, Smtpd
        from ..support.servers import free_port

        self.credentials: list[bytes] = []

        def take(server, session, envelope, mechanism, auth_data):
            self.credentials.append(bytes(getattr(auth_data, "password", b"") or b""))
            return AuthResult(success=True, handled=False)

        self.port = free_port()
        self.controller = Smtpd(Handler(), hostname="127.0.0.1", port=self.port, authenticator=take,
                                auth_require_tls=False)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def _error_fields(reply: dict) -> dict:
    assert reply.get("error", {}).get("code") == P.INVALID_PARAMS, reply
    return reply["error"]["data"]["fields"]


def test_a_stored_password_goes_only_to_its_own_server(system_daemon, own_account):
    ep = system_daemon.endpoint
    own_account["incoming"] = {"protocol": "imap", "host": "imap.example.com", "user": "sales",
                               "password": "incoming-pw-42"}
    with system_daemon.client() as root:
        shared = root.call("accounts.create", {**own_account, "shared": True})
    thief = Thief()
    try:
        elsewhere = {"host": "127.0.0.1", "port": thief.port, "security": "none"}
        # Bob may see and test the shared account, but not point its password at his own server.
        reply = rpc_as(BOB, ep, "accounts.test", {"id": shared["id"], "account": {"smtp": elsewhere}})
        assert "smtp.password" in _error_fields(reply)
        for change in ({"port": 2525}, {"user": "bob"}, {"security": "none"}, {"proxy": "socks5://127.0.0.1:1080"}):
            reply = rpc_as(BOB, ep, "accounts.test", {"id": shared["id"], "account": {"smtp": change}})
            assert "smtp.password" in _error_fields(reply), change
        reply = rpc_as(BOB, ep, "accounts.test", {"id": shared["id"], "account": {
            "incoming": {"host": "127.0.0.1", "port": thief.port}}})
        assert "incoming.password" in _error_fields(reply)
        # Editing the host, then testing the saved account: the edit itself is refused, nothing changes.
        reply = rpc_as(BOB, ep, "accounts.update", {"id": shared["id"], "smtp": elsewhere})
        assert "smtp.password" in _error_fields(reply)
        # Whoever asks: the owner (root) too.
        with system_daemon.client() as root:
            with pytest.raises(P.RpcError) as refused:
                root.call("accounts.update", {"id": shared["id"], "smtp": elsewhere})
            assert "smtp.password" in refused.value.data["fields"]
            assert root.call("accounts.get", {"id": shared["id"]})["smtp"]["host"] == "smtp.example.com"
        assert thief.credentials == []

        # With AUTH off the stored password is dropped, not carried: turning AUTH on asks for one.
        moved = rpc_as(BOB, ep, "accounts.update", {"id": shared["id"], "smtp": {**elsewhere, "authenticate": False}})
        assert moved["result"]["smtp"]["password_set"] is False, moved
        reply = rpc_as(BOB, ep, "accounts.test", {"id": shared["id"], "account": {"smtp": {"authenticate": True}}})
        assert "smtp.password" in _error_fields(reply)
        assert thief.credentials == []

        # A password typed for the new server is the caller's own to send.
        done = rpc_as(BOB, ep, "accounts.test", {"id": shared["id"], "account": {
            "smtp": {"authenticate": True, "password": "bobs-own-pw"}, "incoming": None}})
        assert done["result"]["smtp"]["ok"], done
        assert thief.credentials == [b"bobs-own-pw"]
    finally:
        thief.stop()


def test_the_platform_relay_sends_only_for_approved_accounts_of_their_owner(make_daemon, group_users):
    from ..support.mailservers import smtp_server

    relay, received = smtp_server("plain", auth=False)
    d = make_daemon(mode="system", config=f'[daemon]\nsocket_group = "{GROUP}"\n[relay]\nhost = "127.0.0.1"\n'
                                          f'port = {relay.port}\nsecurity = "none"\nauthenticate = false\n').start()
    ep = d.endpoint
    forged = {"kind": "marketing", "name": "Forged", "email": "ceo@bank.example", "display_name": "Your Bank",
              "reply_to_email": "phish@evil.example"}
    try:
        def forbidden(params: dict) -> str:
            reply = rpc_as(BOB, ep, "accounts.test", params)
            assert reply.get("error", {}).get("code") == P.FORBIDDEN, reply
            return reply["error"]["message"]

        assert "saved, approved" in forbidden({"account": forged, "send_to": "victim@example.com"})
        bobs = rpc_as(BOB, ep, "accounts.create", {**forged, "email": "news@bob.example"})["result"]
        assert "not approved" in forbidden({"id": bobs["id"], "send_to": "victim@example.com"})
        # Up to RCPT TO, without DATA, anyone may check the relay.
        checked = rpc_as(BOB, ep, "accounts.test", {"id": bobs["id"]})["result"]
        assert checked["ok"] and any(s["name"] == "rcpt_to" and s["ok"] for s in checked["smtp"]["steps"]), checked
        with d.client() as root:
            root.call("accounts.approve", {"id": bobs["id"]})
            theirs = root.call("accounts.create", {**forged, "email": "news@root.example", "shared": True})
            root.call("accounts.approve", {"id": theirs["id"]})
        assert "owner" in forbidden({"id": theirs["id"], "send_to": "victim@example.com"})
        assert "unsaved changes" in forbidden({"id": bobs["id"], "account": {"display_name": "Your Bank Security"},
                                               "send_to": "victim@example.com"})
        assert received.messages == []

        sent = rpc_as(BOB, ep, "accounts.test", {"id": bobs["id"], "send_to": "me@bob.example"})["result"]
        assert sent["ok"], sent
        assert [m.rcpt_tos for m in received.messages] == [["me@bob.example"]]
        # Who made the daemon connect where is logged, for every test.
        assert f"connection test by {BOB}: relay 127.0.0.1:{relay.port} (unsaved)" in d.log()
        assert f"connection test by {BOB}: relay 127.0.0.1:{relay.port} (account {bobs['id']})" in d.log()
    finally:
        relay.stop()


def _file_for(user: str) -> Path:
    """An empty file `user` may write (in a directory of its own under /tmp, removed by the test)."""
    path = Path(tempfile.mkdtemp(prefix="mfu", dir="/tmp")) / "out"
    os.chmod(path.parent, 0o755)
    path.touch()
    os.chown(path, pwd.getpwnam(user).pw_uid, -1)
    return path


def _flood(user: str, endpoint: str, requests: list[tuple[str, dict]], ready_file: str):
    """Background: `user` sends every request at once on one DEALER and keeps the replies in a file."""
    def run(ready):
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        for i, (method, params) in enumerate(requests):
            sock.send_multipart([b"", P.dumps(P.request(method, params, i))])
        ready()
        with open(ready_file, "ab", buffering=0) as out:
            while True:
                out.write(sock.recv_multipart()[-1] + b"\n")
    return Background(user, run)


def _wait_for(predicate, what: str, timeout: float = 30.0):
    import time

    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)
    return value


def test_one_users_tests_against_a_silent_server_starve_nobody(make_daemon, group_users, own_account):
    """Mallory's 200 tests hang on a server that never speaks; Bob's ping, list and own test go through."""
    from ..support.mailservers import Silent, smtp_server

    silent = Silent()
    fast, _ = smtp_server("plain", auth=False)
    d = make_daemon(mode="system", config=(
        f'[daemon]\nsocket_group = "{GROUP}"\nmax_concurrent_requests = 8\nmax_long_requests_per_user = 150\n'
        '[probe]\ntimeout = 60\nconcurrency = 20\nconcurrency_per_user = 10\n')).start()
    replies = _file_for(CAROL)
    hanging = {**own_account, "smtp": {"host": "127.0.0.1", "port": silent.port, "security": "none",
                                       "authenticate": False}}
    flood = _flood(CAROL, d.endpoint, [("accounts.test", {"account": hanging})] * 200, str(replies))
    try:
        def info():
            with d.client() as root:
                return root.call("system.info")["long_requests"]
        # 150 admitted (the per-user bound), the other 50 refused at once as busy.
        _wait_for(lambda: info()["all"] == 150, "Carol's tests admitted")
        busy = _wait_for(lambda: [line for line in replies.read_bytes().splitlines()
                                  if json.loads(line)["error"]["code"] == P.BUSY] if replies.stat().st_size else [],
                         "the refusals")
        assert len(busy) == 50 and "max_long_requests_per_user" in json.loads(busy[0])["error"]["message"]
        _wait_for(lambda: len(silent.conns) >= 10, "Carol's tests connected")

        assert rpc_as(BOB, d.endpoint, "system.ping", timeout_ms=5000)["result"] == {"pong": True}
        assert rpc_as(BOB, d.endpoint, "accounts.list", timeout_ms=5000)["result"]["total"] == 0
        mine = {**own_account, "smtp": {"host": "127.0.0.1", "port": fast.port, "security": "none",
                                        "authenticate": False}}
        tested = rpc_as(BOB, d.endpoint, "accounts.test", {"account": mine}, timeout_ms=20000)
        assert tested["result"]["ok"], tested
        assert len(silent.conns) == 10, "Carol never holds more than her share of the test places"
    finally:
        flood.stop()
        silent.close()
        fast.stop()
        shutil.rmtree(replies.parent, ignore_errors=True)


def test_polls_of_a_silent_mailbox_collapse_and_leave_the_daemon_answering(make_daemon, group_users, own_account):
    from ..support.mailservers import Silent

    silent = Silent()
    d = make_daemon(mode="system", config=(
        f'[daemon]\nsocket_group = "{GROUP}"\nmax_concurrent_requests = 8\n'
        '[poll]\nschedule = false\ntimeout = 60\n')).start()
    replies = _file_for(CAROL)
    box = rpc_as(CAROL, d.endpoint, "accounts.create", {**own_account, "incoming": {
        "protocol": "imap", "host": "127.0.0.1", "port": silent.port, "ssl": False, "user": "u",
        "password": "incoming-pw-42"}})["result"]
    flood = _flood(CAROL, d.endpoint, [("accounts.poll", {"id": box["id"]})] * 100, str(replies))
    try:
        with d.client() as root:
            _wait_for(lambda: root.call("system.info")["long_requests"]["all"] == 100, "the polls admitted")
            _wait_for(lambda: silent.conns, "the first round connected")
            assert root.call("system.ping", timeout=5) == {"pong": True}
            assert root.call("accounts.list", timeout=5)["total"] == 1
        assert rpc_as(BOB, d.endpoint, "system.ping", timeout_ms=5000)["result"] == {"pong": True}
        # One round reads; the other 99 polls share the one round queued behind it, not 99 rounds in turn.
        assert len(silent.conns) == 1
        silent.conns[0].close()  # the first round fails at once ...
        _wait_for(lambda: len(silent.conns) == 2, "the queued round connected")
        silent.conns[1].close()  # ... and so does the one queued behind it, which answers all the others
        lines = _wait_for(lambda: (lambda ls: ls if len(ls) == 100 else None)(replies.read_bytes().splitlines()),
                          "every poll answered")
        assert all(json.loads(line)["result"]["ok"] is False for line in lines)
        assert len(silent.conns) == 2
    finally:
        flood.stop()
        silent.close()
        shutil.rmtree(replies.parent, ignore_errors=True)


def test_sigterm_ends_rounds_hung_before_the_greeting_within_one_grace_period(make_daemon, own_account):
    """Polls of mailboxes that accept and never greet: SIGTERM starts no new round and exits in the grace
    period (the hung connections are cut, not waited for through poll.timeout)."""
    from ..support.mailservers import Silent

    silent = Silent()
    d = make_daemon(config="[daemon]\nshutdown_grace = 1\n[poll]\nschedule = false\ntimeout = 600\n"
                           "round_timeout = 600\nconcurrency = 4\n").start()
    try:
        with d.client() as c:
            ids = [c.call("accounts.create", {**own_account, "email": f"hung{i}@example.com", "incoming": {
                "protocol": "imap" if i % 2 else "pop3", "host": "127.0.0.1", "port": silent.port, "ssl": False,
                "user": "u", "password": "incoming-pw-42"}})["id"] for i in range(20)]
        flood = zmq.Context.instance().socket(zmq.DEALER)
        flood.setsockopt(zmq.LINGER, 0)
        flood.connect(d.endpoint)
        for account_id in ids:
            flood.send_multipart([b"", P.dumps(P.request("accounts.poll", {"id": account_id}, account_id))])
        _wait_for(lambda: len(silent.conns) == 4, "four rounds (poll.concurrency) connected")
        d.proc.send_signal(15)
        assert d.proc.wait(timeout=30) == 0, d.log()
        d.proc = None
        assert len(silent.conns) == 4, "no round started after SIGTERM"
        flood.close()
    finally:
        silent.close()


def _listen_as(user: str, endpoint: str, out_path: str) -> Background:
    """`user` subscribes to every event and writes each one it receives, a JSON line each."""
    from mailfleet.shared.client import Client

    def run(ready):
        with Client(endpoint, timeout=10) as client, open(out_path, "a", buffering=1) as out:
            client.call("events.subscribe", {})
            ready()
            while True:
                event = client.next_event(timeout=60)
                if event is not None:
                    out.write(json.dumps(event) + "\n")
    return Background(user, run)


def test_events_reach_only_those_who_may_see_them(make_daemon, group_users, short_tmp, own_account):
    from mailfleet.shared.client import Client

    from ..support.servers import Dovecot
    from .test_reader import dsn, human

    dovecot = Dovecot(short_tmp / "dovecot")
    dovecot.add_user("box@bounce.test", "mailbox-secret-9")
    dovecot.start()
    sink = sink_server(Sink(refuse={"ghost@example.net": "550 5.1.1 <ghost@example.net>: User unknown"}))
    d = make_daemon(mode="system", config=f'[daemon]\nsocket_group = "{GROUP}"\n[poll]\nschedule = false\n').start()
    heard = short_tmp / "carol.jsonl"
    heard.touch()
    os.chown(heard, pwd.getpwnam(CAROL).pw_uid, -1)
    carol = _listen_as(CAROL, d.endpoint, str(heard))
    try:
        with Client(d.endpoint) as admin, d.client() as root:
            admin.call("events.subscribe", {})
            # Everything below happens to root's private account, on every event path there is.
            box = root.call("accounts.create", {**own_account, "email": "box@bounce.test", "incoming": {
                "protocol": "imap", "host": "127.0.0.1", "port": dovecot.imap_port, "ssl": False,
                "user": "box@bounce.test", "password": "mailbox-secret-9"}})
            root.call("contacts.import", {"csv": "email\ngone@example.com\nfriend@example.com\n"})
            dovecot.append("box@bounce.test", dsn("gone@example.com", "5.1.1", "550 5.1.1 User unknown", "<b1@mx>"))
            dovecot.append("box@bounce.test", human("friend@example.com", "secret plans"))
            assert root.call("accounts.poll", {"id": box["id"]})["hard"] == 1
            root.call("accounts.test", {"id": box["id"]})  # probe.step (and account.status)
            root.call("accounts.test", {"account": {**own_account, "email": "unsaved@example.com"}})
            # Sending through root's private account: send.accepted, send.progress (live), send.done, and the
            # bounce on the spot of a recipient the server refuses.
            sender = root.call("accounts.create", {**own_account, "email": "sender@example.com", "smtp": {
                "host": "127.0.0.1", "port": sink.port, "security": "none", "authenticate": False}})
            job = root.call("messages.send", {"account_id": sender["id"], "text": "secret offer",
                                               "to": ["ghost@example.net", "anna@example.net"]})["job"]
            _wait_for(lambda: root.call("queue.job", {"id": job})["done"], "the job is done")
            root.call("accounts.delete", {"id": sender["id"]})
            root.call("accounts.update", {"id": box["id"], "name": "Renamed"})
            root.call("accounts.delete", {"id": box["id"]})
            # Then one event Carol may see, last: once she has it, she has had every chance at the others.
            bobs = rpc_as(BOB, d.endpoint, "accounts.create", {**own_account, "email": "bob@example.com",
                                                                "shared": True})["result"]
            seen_by_admin = []
            while not any(e["type"] == "account.created" and e["owner"] == BOB for e in seen_by_admin):
                event = admin.next_event(timeout=10)
                assert event is not None, seen_by_admin
                seen_by_admin.append(event)
        types = {e["type"] for e in seen_by_admin}
        assert {"account.created", "bounce.hard", "contact.faulty", "mail.received", "probe.step",
                "account.status", "account.updated", "account.deleted", "send.accepted", "send.progress",
                "send.done"} <= types, types

        def carols() -> list[dict]:
            return [json.loads(line) for line in heard.read_text().splitlines()]
        _wait_for(lambda: any(e.get("owner") == BOB for e in carols()), "Carol hears of Bob's account")
        # Bob's account reuses the deleted one's id: events of the old one must still not reach her.
        assert bobs["id"] == box["id"]
        leaked = [e for e in carols() if e.get("owner") != BOB and e["type"] != "contact.updated"]
        assert leaked == [], leaked
        assert "secret plans" not in heard.read_text() and "gone@example.com" not in heard.read_text()
        assert "ghost@example.net" not in heard.read_text()
        # The stored log answers the same: nothing of root's deleted private account for Carol.
        stored = rpc_as(CAROL, d.endpoint, "events.list", {"limit": 1000})["result"]["items"]
        assert [e for e in stored if e.get("owner") != BOB and e["type"] != "contact.updated"] == [], stored
    finally:
        carol.stop()
        dovecot.stop()
        sink.stop()


def test_only_admins_and_named_writers_change_contacts(make_daemon, group_users):
    d = make_daemon(mode="system", config=f'[daemon]\nsocket_group = "{GROUP}"\n[contacts]\nusers = ["{BOB}"]\n').start()
    ep = d.endpoint
    with d.client() as root:
        root.call("contacts.import", {"csv": "email,first_name\nanna@example.com,Anna\n"})
    for method, params in (("contacts.import", {"csv": "email,first_name\nanna@example.com,Mallory\n"}),
                           ("contacts.update", {"email": "anna@example.com", "details": {"first_name": "Mallory"}})):
        reply = rpc_as(CAROL, ep, method, params)
        assert reply["error"]["code"] == P.FORBIDDEN and "[contacts]" in reply["error"]["message"], reply
    seen = rpc_as(CAROL, ep, "contacts.get", {"email": "anna@example.com"})["result"]
    assert seen["details"] == {"first_name": "Anna"}, "reading stays open to everyone; nothing changed"
    assert rpc_as(BOB, ep, "contacts.import", {"csv": "email,first_name\nbob@example.com,Bob\n"})["result"]["new"] == 1
    edited = rpc_as(BOB, ep, "contacts.update", {"email": "anna@example.com", "details": {"first_name": "Ann"}})
    assert edited["result"]["details"] == {"first_name": "Ann"}
    assert rpc_as(BOB, ep, "contacts.update", {"email": "anna@example.com", "status": "faulty"})["error"]["code"] \
        == P.FORBIDDEN, "status stays for admins"


def test_a_taken_address_says_only_that_it_is_taken(system_daemon, own_account):
    with system_daemon.client() as root:
        root.call("accounts.create", {**own_account, "email": "private@example.com", "name": "Root's own"})
    reply = rpc_as(BOB, system_daemon.endpoint, "accounts.create", {**own_account, "email": "Private@example.com"})
    assert reply["error"]["code"] == P.CONFLICT
    message = reply["error"]["message"]
    assert "one you cannot see" in message and "root" not in message and "Root's own" not in message
