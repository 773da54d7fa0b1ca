"""Reading mailboxes end to end: Postfix makes real bounces, Dovecot serves them, the daemon reads
them over IMAP and POP3, marks contacts, deletes only bounces, survives crashes and outages."""

from __future__ import annotations

import itertools
import json
import os
import smtplib
import sqlite3
import subprocess
import sys
import time

import pytest
import zmq

from mailfleet.shared import protocol as P

from ..support.daemons import scratch_dir
from ..support.samples import OWN, dsn
from ..support.mailservers import Liar, Sink, sink_server
from ..support.servers import Dovecot, Postfix
from mailfleet.daemon.net.imap import FETCH_CHUNK

DOMAIN = "bounce.test"
PASSWORD = "mailbox-secret-9"
_users = itertools.count(1)


@pytest.fixture(scope="module")
def mail_root():
    yield from scratch_dir("mfr")


POOL = 40  # users made before Dovecot starts (it caches its passwd-file)
# Rounds run when a test asks (accounts.poll), not when the schedule happens to fire.
MANUAL = "[poll]\nschedule = false\n"


@pytest.fixture
def daemon(make_daemon):
    return make_daemon(config=MANUAL).start()


@pytest.fixture(scope="module")
def dovecot(mail_root):
    server = Dovecot(mail_root / "dovecot")
    for n in range(1, POOL + 1):
        server.add_user(f"box{n}@{DOMAIN}", PASSWORD)
    server.add_user(f"bounces@{DOMAIN}", PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(dovecot):
    """A fresh Dovecot user (and so an empty mailbox) per test."""
    n = next(_users)
    assert n <= POOL, "raise POOL"
    return f"box{n}@{DOMAIN}"


@pytest.fixture(scope="module")
def postfix(mail_root, dovecot):
    server = Postfix(mail_root / "postfix", dovecot, domain=DOMAIN, user="bounces")
    server.start()
    yield server
    server.stop()


def incoming(dovecot: Dovecot, user: str, protocol: str = "imap", **extra) -> dict:
    port = dovecot.imap_port if protocol == "imap" else dovecot.pop3_port
    return {"protocol": protocol, "host": "127.0.0.1", "port": port, "ssl": False, "user": user,
            "password": PASSWORD, **extra}


def own_account(client, dovecot, user, protocol="imap", **extra) -> dict:
    return client.call("accounts.create", {**OWN, "email": user, "incoming": incoming(dovecot, user, protocol, **extra)})


def human(sender: str = "friend@example.com", subject: str = "Re: your offer", mid: str = "<h1@example.com>") -> bytes:
    return f"From: Friend <{sender}>\r\nTo: you@{DOMAIN}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n\r\nSounds good!\r\n".encode()


def send_to_unknown(postfix: Postfix, dovecot: Dovecot, recipient: str) -> None:
    """Mail an unknown user through Postfix and wait for its genuine DSN to reach the bounces mailbox."""
    user = f"bounces@{DOMAIN}"
    before = len(dovecot.messages(user))
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=10) as smtp:
        smtp.sendmail(user, [recipient],
                      f"From: {user}\r\nTo: {recipient}\r\nSubject: Offer\r\nMessage-ID: <o-{recipient}>\r\n\r\nHi\r\n".encode())
    deadline = time.monotonic() + 30
    while len(dovecot.messages(user)) == before:
        assert time.monotonic() < deadline, f"no bounce arrived:\n{postfix.log()[-2000:]}"
        time.sleep(0.05)


def test_genuine_postfix_bounce_over_imap_marks_the_contact_and_deletes_only_it(daemon, dovecot, postfix):
    user = f"bounces@{DOMAIN}"
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, user, delete_bounces=True)
        c.call("contacts.import", {"csv": "email,first_name\nghost@bounce.test,Casper\nfriend@example.com,Fred\n"})
        send_to_unknown(postfix, dovecot, "ghost@bounce.test")
        dovecot.append(user, human())
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["ok"] and result["bounce"] == 1 and result["hard"] == 1 and result["marked_faulty"] == 1
        assert result["mail"] == 1 and result["from_contacts"] == 1 and result["deleted"] == 1
        ghost = c.call("contacts.get", {"email": "Ghost@bounce.test"})
        assert ghost["status"] == "faulty" and ghost["hard_bounces"] == 1
        assert ghost["bounces"][0]["status"] == "5.1.1" and ghost["bounces"][0]["reason"] == "userunknown"
        bounce = c.call("bounces.get", {"id": ghost["bounces"][0]["id"]})
        assert "Undelivered Mail Returned to Sender" in bounce["raw"]
        types = [e["type"] for e in c.call("events.list", {})["items"]]
        assert {"bounce.hard", "contact.faulty", "mail.received"} <= set(types)
        assert c.call("accounts.get", {"id": acc["id"]})["status"] == "untested"  # a good round changes nothing
        # The round's log line says what it found; an empty round is not worth an INFO line.
        assert f"account {acc['id']}: read 2 messages" in daemon.log()
        assert "1 hard, 0 soft, 1 marked faulty, 0 set aside" in daemon.log()
        assert c.call("accounts.poll", {"id": acc["id"]})["fetched"] == 0
        assert "read 0 messages" not in daemon.log()
    left = dovecot.messages(user)
    assert len(left) == 1, "only the bounce is deleted"
    flags, raw = left[0]
    assert b"Sounds good!" in raw and b"\\Seen" not in flags, "human mail stays, unread"


def test_pop3_reads_bounces_deletes_them_and_keeps_human_mail(daemon, dovecot, mailbox):
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, "pop3", delete_bounces=True)
        c.call("contacts.import", {"csv": "email\nfull@example.com\n"})
        dovecot.append(mailbox, dsn("full@example.com", "5.2.2", "552 5.2.2 Mailbox full", "<d1@mx>"))
        dovecot.append(mailbox, human())
        first = c.call("accounts.poll", {"id": acc["id"]})
        assert first["ok"] and first["soft"] == 1 and first["deleted"] == 1
        again = c.call("accounts.poll", {"id": acc["id"]})
        assert again["ok"] and again.get("fetched", 0) == 0, "a message is read once"
        contact = c.call("contacts.get", {"email": "full@example.com"})
        assert contact["status"] == "active" and contact["soft_bounces"] == 1
    left = dovecot.messages(mailbox)
    assert len(left) == 1 and b"Sounds good!" in left[0][1]


def test_soft_bounces_mark_faulty_at_the_threshold(make_daemon, dovecot, mailbox):
    d = make_daemon(config=MANUAL + "[bounces]\nsoft_threshold = 3\nsoft_window_days = 7\n").start()
    with d.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox)
        c.call("contacts.import", {"csv": "email\nslow@example.com\n"})
        for n in range(1, 4):
            dovecot.append(mailbox, dsn("slow@example.com", "4.2.2", "452 4.2.2 Over quota", f"<s{n}@mx>"))
            c.call("accounts.poll", {"id": acc["id"]})
            contact = c.call("contacts.get", {"email": "slow@example.com"})
            assert contact["soft_bounces"] == n
            assert contact["status"] == ("faulty" if n == 3 else "active")
        assert "3 soft bounces" in contact["status_reason"]


def test_unknown_address_autoreply_and_oversize(make_daemon, dovecot, mailbox):
    d = make_daemon(config=MANUAL + "max_message_bytes = 20000\n").start()
    with d.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, delete_bounces=True)
        dovecot.append(mailbox, dsn("stranger@example.com", "5.1.1", "550 5.1.1 User unknown", "<u1@mx>"))
        dovecot.append(mailbox, human(subject="Out of Office: back Monday", mid="<a1@example.com>").replace(
            b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:"))
        dovecot.append(mailbox, human(mid="<big@example.com>") + b"x" * 30000 + b"\r\n")
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["hard"] == 1 and result["autoreply"] == 1 and result["skipped_too_big"] == 1
        page = c.call("bounces.list", {})
        assert page["items"][0]["recipient"] == "stranger@example.com" and page["items"][0]["contact"] is False
        assert c.call("contacts.list", {})["total"] == 0, "a bounce for an unknown address makes no contact"
    assert len(dovecot.messages(mailbox)) == 2, "auto-reply and the oversized message stay"


def test_batch_size_and_checkpoint_survive_restart(make_daemon, dovecot, mailbox):
    d = make_daemon(config=MANUAL).start()
    with d.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, batch_size=2)
        for n in range(5):
            dovecot.append(mailbox, dsn(f"r{n}@example.com", "5.1.1", "550 5.1.1 unknown", f"<b{n}@mx>"))
        assert c.call("accounts.poll", {"id": acc["id"]})["fetched"] == 2
    assert d.stop() == 0
    d.start()
    with d.client(timeout=60) as c:
        assert c.call("accounts.poll", {"id": acc["id"]})["fetched"] == 2
        assert c.call("accounts.poll", {"id": acc["id"]})["fetched"] == 1
        assert c.call("accounts.poll", {"id": acc["id"]}).get("fetched", 0) == 0
        assert c.call("bounces.list", {})["total"] == 5


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
@pytest.mark.parametrize("crash_at", ["before_commit", "after_commit"])
def test_kill_9_mid_round_loses_nothing_and_counts_nothing_twice(make_daemon, dovecot, mailbox, protocol, crash_at):
    crashing = make_daemon(config=MANUAL, extra_env={"MAILFLEETD_CRASH_AT": crash_at}).start()
    with crashing.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, protocol, delete_bounces=True)
        c.call("contacts.import", {"csv": "email\nvictim@example.com\n"})
        dovecot.append(mailbox, dsn("victim@example.com", "5.1.1", "550 5.1.1 User unknown", "<k1@mx>"))
        dovecot.append(mailbox, human())
        with pytest.raises(Exception):
            c.call("accounts.poll", {"id": acc["id"]}, timeout=10)
    crashing.restart_after_the_crash()  # the same data, a daemon that does not crash
    with crashing.client(timeout=60) as c:
        c.call("accounts.poll", {"id": acc["id"]})
        c.call("accounts.poll", {"id": acc["id"]})
        contact = c.call("contacts.get", {"email": "victim@example.com"})
        assert contact["hard_bounces"] == 1 and contact["status"] == "faulty"
        assert c.call("bounces.list", {})["total"] == 1
    left = dovecot.messages(mailbox)
    assert len(left) == 1 and b"Sounds good!" in left[0][1], "the bounce is deleted once committed; human mail stays"


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
@pytest.mark.parametrize("crash_at", ["before_commit", "after_commit"])
def test_kill_9_in_a_round_of_many_chunks_loses_nothing_and_counts_nothing_twice(make_daemon, dovecot, mailbox,
                                                                                protocol, crash_at):
    """A backlog is committed a chunk at a time (or the chunks classified meanwhile, as one), and its bounces
    are deleted while later chunks commit: killed at its first commit, before or after, the round leaves
    every bounce counted once in the end, and none on the server."""
    count = 2 * FETCH_CHUNK + 100
    conn = dovecot.imap(mailbox)
    try:
        for n in range(count):
            typ, _ = conn.append("INBOX", None, None,
                                 dsn(f"r{n}@example.com", "5.1.1", "550 5.1.1 User unknown", f"<m{n}@mx>"))
            assert typ == "OK"
    finally:
        conn.logout()
    crashing = make_daemon(config=MANUAL, extra_env={"MAILFLEETD_CRASH_AT": crash_at}).start()
    with crashing.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, protocol, delete_bounces=True, batch_size=count)
        c.call("contacts.import", {"csv": "email\n" + "\n".join(f"r{n}@example.com" for n in range(count))})
    # Asked for without waiting on an answer that will never come: the daemon's death is the answer.
    poll = zmq.Context.instance().socket(zmq.DEALER)
    poll.setsockopt(zmq.LINGER, 0)
    poll.connect(crashing.endpoint)
    poll.send_multipart([b"", P.dumps(P.request("accounts.poll", {"id": acc["id"]}, 1))])
    crashing.restart_after_the_crash()
    poll.close()
    with crashing.client(timeout=120) as c:
        c.call("accounts.poll", {"id": acc["id"]})
        c.call("accounts.poll", {"id": acc["id"]})
        assert c.call("bounces.list", {})["total"] == count
        assert c.call("contacts.list", {"status": "faulty", "limit": 1})["total"] == count
        assert c.call("contacts.get", {"email": "r0@example.com"})["hard_bounces"] == 1
        assert c.call("contacts.get", {"email": f"r{count - 1}@example.com"})["hard_bounces"] == 1
    assert dovecot.messages(mailbox) == [], "every bounce deleted once committed"


def test_server_outage_fails_cleanly_backs_off_and_recovers(make_daemon, mail_root):
    server = Dovecot(mail_root / "outage")
    server.add_user(f"box@{DOMAIN}", PASSWORD)
    server.start()
    d = make_daemon(config=MANUAL).start()
    try:
        with d.client(timeout=60) as c:
            acc = own_account(c, server, f"box@{DOMAIN}")
            assert c.call("accounts.poll", {"id": acc["id"]})["ok"]
            server.stop()
            failed = c.call("accounts.poll", {"id": acc["id"]})
            assert failed["ok"] is False and "connect" in failed["error"]
            account = c.call("accounts.get", {"id": acc["id"]})
            assert account["status"] == "incoming_failing" and "refused" in account["status_detail"]
            assert c.call("system.ping") == {"pong": True}
            server.start()
            assert c.call("accounts.poll", {"id": acc["id"]})["ok"]
            recovered = c.call("accounts.get", {"id": acc["id"]})
            # The mailbox works again; SMTP was never tested, so the one word says so.
            assert recovered["incoming_state"] == "ok" and recovered["status"] == "untested"
            statuses = [e["status"] for e in c.call("events.list", {"type": "account.status"})["items"]]
            assert statuses == ["incoming_failing", "untested"]
    finally:
        server.stop()


def test_wrong_password_and_folder_are_named(daemon, dovecot, mailbox):
    with daemon.client(timeout=60) as c:
        bad = c.call("accounts.create", {**OWN, "email": mailbox, "incoming": {**incoming(dovecot, mailbox), "password": "nope"}})
        error = c.call("accounts.poll", {"id": bad["id"]})["error"]
        assert "login" in error and "[AUTHENTICATIONFAILED]" in error and "b'" not in error, error
        folder = c.call("accounts.create", {**OWN, "email": "x" + mailbox, "incoming": {**incoming(dovecot, mailbox), "folder": "Nope"}})
        assert "Nope" in c.call("accounts.poll", {"id": folder["id"]})["error"]


def test_the_schedule_reads_mailboxes_by_itself(make_daemon, dovecot, mailbox):
    daemon = make_daemon().start()  # the schedule on, as by default
    with daemon.client(timeout=60) as c:
        dovecot.append(mailbox, dsn("auto@example.com", "5.1.1", "550 5.1.1 unknown", "<auto@mx>"))
        own_account(c, dovecot, mailbox, poll_interval=10)
        deadline = time.monotonic() + 30
        while not c.call("events.list", {"type": "bounce."})["items"]:
            assert time.monotonic() < deadline, "the poller never read the mailbox"
            time.sleep(0.1)


def test_contacts_import_search_update_and_headers(daemon, tmp_path):
    with daemon.client() as c:
        csv = ("Email,first_name,company\nAnna@Example.com,Anna,ACME\nbad-address,X,Y\n"
               "jurgen@example.de,\"Jürgen\r\nBcc: evil@example.com\",Müller GmbH\nanna@example.com,Anne,\n")
        result = c.call("contacts.import", {"csv": csv})
        assert result == {"new": 2, "updated": 0, "rejected": 1, "errors": [{"row": 3, "why": "not a valid email address: 'bad-address'"}]}
        again = c.call("contacts.import", {"csv": "email,city\nANNA@example.com,Berlin\n"})
        assert again["new"] == 0 and again["updated"] == 1
        anna = c.call("contacts.get", {"email": "anna@EXAMPLE.com"})
        assert anna["email"] == "Anna@Example.com" and anna["details"] == {"first_name": "Anne", "company": "ACME", "city": "Berlin"}
        assert c.call("contacts.list", {"query": "müller"})["total"] == 1
        assert c.call("contacts.list", {"query": "example", "status": "faulty"})["total"] == 0

        acc = c.call("accounts.create", {**OWN, "email": "news@example.org", "display_name": "ACME News",
                                         "from_name_field": "first_name", "reply_to_email": "reply@example.org",
                                         "reply_to_name_field": "company"})
        h = c.call("accounts.headers", {"id": acc["id"], "contact": "jurgen@example.de"})
        assert "\r" not in h["from"] and "\n" not in h["from"] and h["from"].startswith("=?utf-8?")
        assert h["from"].endswith("<news@example.org>") and h["reply_to"].endswith("<reply@example.org>")
        from email.header import decode_header, make_header
        assert str(make_header(decode_header(h["from"]))).startswith("Jürgen Bcc: evil@example.com")
        plain = c.call("accounts.headers", {"id": acc["id"], "contact": "nobody@example.com"})
        assert plain == {"from": "ACME News <news@example.org>", "reply_to": "reply@example.org", "contact_known": False}

        cleared = c.call("contacts.update", {"email": "anna@example.com", "status": "faulty"})
        assert cleared["status"] == "faulty"
        assert c.call("contacts.update", {"email": "anna@example.com", "status": "active"})["status"] == "active"
        with pytest.raises(P.RpcError) as err:
            c.call("contacts.update", {"email": "nobody@example.com", "status": "active"})
        assert err.value.code == P.NOT_FOUND
        with pytest.raises(P.RpcError) as err:
            c.call("contacts.import", {"csv": "name,city\nx,y\n"})
        assert "no email column" in err.value.data["fields"]["csv"]


def test_ctl_contacts_import_in_chunks_and_events(daemon, tmp_path):
    path = tmp_path / "contacts.csv"
    rows = ["email,first_name"] + [f"user{i}@example.com,User {i}" for i in range(2500)] + ["broken,row"]
    path.write_text("\n".join(rows) + "\n")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "contacts", "import", str(path), "--chunk-rows", "1000"],
                         env=daemon.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr  # one row rejected: a script must notice
    assert "2,500 new, 0 updated, 1 rejected" in out.stdout and "line 2502" in out.stdout
    with daemon.client() as c:
        assert c.call("contacts.list", {"limit": 1})["total"] == 2500
        c.call("accounts.create", {**OWN})
    events = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "events", "--type", "account.", "--json"],
                            env=daemon.env, capture_output=True, text=True, timeout=60)
    assert [json.loads(line)["type"] for line in events.stdout.splitlines()] == ["account.created"]


def test_a_renumbered_mailbox_counts_nothing_twice(daemon, dovecot, mailbox):
    """A new UIDVALIDITY means every UID is new: the Message-IDs keep the old bounces from counting again."""
    messages = [dsn(f"gone{n}@example.com", "5.1.1", "550 5.1.1 User unknown", f"<renum{n}@mx>") for n in range(2)]
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, folder="Bounces")
        for raw in messages:
            dovecot.append(mailbox, raw, folder="Bounces")
        assert c.call("accounts.poll", {"id": acc["id"]})["hard"] == 2
        conn = dovecot.imap(mailbox)
        assert conn.delete("Bounces")[0] == "OK"
        conn.logout()
        for raw in messages:
            dovecot.append(mailbox, raw, folder="Bounces")
        again = c.call("accounts.poll", {"id": acc["id"]})
        assert again["fetched"] == 2 and again["already_seen"] == 2 and again.get("hard", 0) == 0
        assert c.call("bounces.list", {})["total"] == 2


def test_deleting_bounces_leaves_what_another_client_marked_deleted(daemon, dovecot, mailbox):
    """UID EXPUNGE (UIDPLUS, which Dovecot names only after login) removes our bounces and nothing
    else: a message another client flagged \\Deleted but has not expunged stays for that client."""
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, delete_bounces=True)
        dovecot.append(mailbox, human(mid="<theirs@example.com>"), flags="(\\Deleted)")
        dovecot.append(mailbox, dsn("gone@example.com", "5.1.1", "550 5.1.1 User unknown", "<ours@mx>"))
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["bounce"] == 1 and result["deleted"] == 1
    left = dovecot.messages(mailbox)
    assert len(left) == 1 and b"theirs@example.com" in left[0][1] and b"\\Deleted" in left[0][0]


def test_without_uidplus_a_foreign_deleted_flag_defers_our_deletes(make_daemon, mail_root, mailbox):
    """A server without UIDPLUS has only EXPUNGE, which takes every \\Deleted message: while another
    client's flag is there ours stay owed, flagged, and go in a later round once expunging is safe."""
    old = Dovecot(mail_root / "no-uidplus", extra="protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ IDLE\n}\n")
    old.add_user(mailbox, PASSWORD)
    old.start()
    try:
        d = make_daemon(config=MANUAL).start()
        with d.client(timeout=60) as c:
            acc = own_account(c, old, mailbox, delete_bounces=True)
            old.append(mailbox, human(mid="<theirs@example.com>"), flags="(\\Deleted)")
            old.append(mailbox, dsn("gone@example.com", "5.1.1", "550 5.1.1 User unknown", "<ours@mx>"))
            first = c.call("accounts.poll", {"id": acc["id"]})
            assert first["bounce"] == 1 and first.get("deleted", 0) == 0
            assert len(old.messages(mailbox)) == 2, "nothing expunged while a foreign \\Deleted is there"
            conn = old.imap(mailbox)  # the other client takes its flag back
            conn.select("INBOX")
            conn.uid("STORE", "1", "-FLAGS.SILENT", "(\\Deleted)")
            conn.logout()
            second = c.call("accounts.poll", {"id": acc["id"]})
            assert second["deleted"] == 1 and second.get("bounce", 0) == 0
        left = old.messages(mailbox)
        assert len(left) == 1 and b"theirs@example.com" in left[0][1]
    finally:
        old.stop()


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_server_that_sends_without_end_fails_the_round_not_the_daemon(daemon, protocol):
    """A message announced small, then sent for ever: the round stops at a bound and says why."""
    liar = Liar(protocol)
    try:
        with daemon.client(timeout=60) as c:
            acc = c.call("accounts.create", {**OWN, "email": f"liar-{protocol}@{DOMAIN}", "incoming": {
                "protocol": protocol, "host": "127.0.0.1", "port": liar.port, "ssl": False, "user": "u",
                "password": "p"}})
            result = c.call("accounts.poll", {"id": acc["id"]})
            assert result["ok"] is False and "fetch" in result["error"]
            assert ("announced 2000000000 bytes" if protocol == "imap" else "more than") in result["error"]
            assert c.call("system.ping") == {"pong": True}
            assert c.call("accounts.get", {"id": acc["id"]})["status"] == "incoming_failing"
        assert liar.sent < 200 << 20, "the daemon stopped reading"
    finally:
        liar.close()


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_server_that_trickles_is_cut_off_at_the_round_deadline(make_daemon, protocol):
    """Every read in time, the answer never done: poll.round_timeout ends the round and the
    connection, and the account's next round is not stuck behind the first."""
    liar = Liar(protocol, trickle="UID SEARCH" if protocol == "imap" else "RETR")
    d = make_daemon(config=MANUAL + "round_timeout = 1.5\n").start()
    try:
        with d.client(timeout=60) as c:
            acc = c.call("accounts.create", {**OWN, "email": f"slow-{protocol}@{DOMAIN}", "incoming": {
                "protocol": protocol, "host": "127.0.0.1", "port": liar.port, "ssl": False, "user": "u",
                "password": "p"}})
            for _ in range(2):
                result = c.call("accounts.poll", {"id": acc["id"]})
                assert result["ok"] is False and "poll.round_timeout" in result["error"]
            assert liar.hung_up.wait(10), "the connection was cut"
            assert c.call("system.ping") == {"pong": True}
            assert "round_timeout" in c.call("accounts.get", {"id": acc["id"]})["status_detail"]
    finally:
        liar.close()


@pytest.mark.parametrize("protocol, ending", [("imap", "stop"), ("pop3", "stop"), ("imap", "kill")])
def test_a_backlog_is_classified_by_worker_processes_as_it_would_be_in_the_thread(make_daemon, dovecot, mailbox,
                                                                                  protocol, ending):
    """Hundreds of messages go to the classifier workers in batches; verdicts and counts are the same."""
    d = make_daemon(config=MANUAL).start()
    n = 240
    with d.client(timeout=120) as c:
        acc = own_account(c, dovecot, mailbox, protocol, batch_size=1000)
        c.call("contacts.import", {"csv": "email\n" + "".join(f"gone{i}@example.com\n" for i in range(0, n, 2))})
        conn = dovecot.imap(mailbox)
        for i in range(n):
            status, diag = ("5.1.1", "550 5.1.1 User unknown") if i % 2 == 0 else ("4.2.2", "452 4.2.2 Mailbox full")
            assert conn.append("INBOX", None, None, dsn(f"gone{i}@example.com", status, diag, f"<backlog{i}@mx>"))[0] == "OK"
        conn.append("INBOX", None, None, human())
        conn.logout()
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["ok"] and result["fetched"] == n + 1
        assert result["hard"] == n // 2 and result["soft"] == n // 2 and result["marked_faulty"] == n // 2
        assert result["mail"] == 1
    workers = _children(d.proc.pid)
    assert len(workers) >= 2, "the backlog went to worker processes (and their resource tracker)"
    if ending == "stop":
        assert d.stop() == 0
    else:
        d.kill()  # however the daemon dies, its workers and their resource tracker go with it
    deadline = time.monotonic() + 10
    while alive := [pid for pid in workers if _running(pid)]:
        assert time.monotonic() < deadline, f"the workers go with the daemon: {alive} still run"
        time.sleep(0.05)


def test_an_installed_daemon_s_compiled_classifier_workers_send_their_verdicts_back(make_daemon, dovecot, mailbox,
                                                                                    compiled_site):
    """The daemon as a user installs it, its classifier compiled (setup.py): the workers' verdicts come back
    to the reader through pickle, which a compiled class refuses unless it says how it is rebuilt."""
    d = make_daemon(config=MANUAL, extra_env={"PYTHONPATH": str(compiled_site)}).start()
    n = 200  # MIN_BATCH and more in one chunk: the workers take it
    with d.client(timeout=120) as c:
        acc = own_account(c, dovecot, mailbox, "imap", batch_size=1000)
        conn = dovecot.imap(mailbox)
        for i in range(n):
            status, diag = ("5.1.1", "550 5.1.1 User unknown") if i % 2 == 0 else ("4.2.2", "452 4.2.2 Mailbox full")
            assert conn.append("INBOX", None, None, dsn(f"gone{i}@example.com", status, diag, f"<c{i}@mx>"))[0] == "OK"
        conn.logout()
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["ok"] and (result["hard"], result["soft"]) == (n // 2, n // 2)
    workers = [pid for pid in _children(d.proc.pid) if _maps(pid, "__mypyc")]
    assert workers, "no worker process ran the compiled classifier"
    assert all(str(compiled_site) in path for pid in workers for path in _maps(pid, "__mypyc"))
    assert "classifier workers failed" not in d.log(), d.log()[-2000:]


def _maps(pid: int, name: str) -> list[str]:
    """The files a process has mapped whose path holds `name` (the compiled modules, once imported)."""
    try:
        with open(f"/proc/{pid}/maps") as maps:
            return sorted({line.split(None, 5)[-1].strip() for line in maps if name in line})
    except OSError:
        return []


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it to reap it."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def test_classifier_workers_that_die_leave_the_round_to_its_thread():
    from mailfleet.daemon.mailbox.classifying import MIN_BATCH, ClassifierPool
    from mailfleet.daemon.messages import Fetched

    def batch():
        return [Fetched(str(i), 0, dsn(f"x{i}@example.com", "5.1.1", "550 5.1.1 User unknown", f"<w{i}@mx>"))
                for i in range(MIN_BATCH)]

    pool = ClassifierPool(2)
    try:
        first = batch()
        pool.start(first)()
        assert all(m.verdict.failures[0].hard for m in first)
        for process in list(pool._pool._processes.values()):  # noqa: SLF001 - killing them is the test
            os.kill(process.pid, 9)
            process.join()
        second = batch()
        pool.start(second)()
        assert all(m.verdict.failures[0].hard for m in second), "classified in the calling thread"
        third = batch()
        pool.start(third)()  # and a fresh pool after that
        assert all(m.verdict is not None for m in third)
    finally:
        pool.close()


def test_a_round_big_enough_for_the_workers_starts_them_before_its_first_chunk():
    """A worker takes a fifth of a second to start: a backlog's round starts them as it starts fetching, and a
    round too small to use them starts none (a daemon that never meets a backlog keeps no idle processes)."""
    from mailfleet.daemon.mailbox.classifying import MIN_BATCH, ClassifierPool
    from mailfleet.daemon.messages import Fetched

    pool = ClassifierPool(2)
    try:
        pool.warm(MIN_BATCH - 1)
        assert pool._pool is None  # noqa: SLF001
        pool.warm(MIN_BATCH)
        assert len(pool._pool._processes) == 2  # noqa: SLF001 - the processes are what is promised
        batch = [Fetched(str(i), 0, dsn(f"x{i}@example.com", "5.1.1", "550 5.1.1 User unknown", f"<v{i}@mx>"))
                 for i in range(MIN_BATCH)]
        pool.start(batch)()
        assert all(m.verdict.failures[0].hard for m in batch)
        assert all(m.references == ([f"<v{i}@mx>"], []) for i, m in enumerate(batch)), "read beside the verdict"
    finally:
        pool.close()


def test_an_imap_server_flooding_untagged_lines_fails_the_round_not_the_memory(make_daemon):
    """`* 1 EXISTS` without end during UID SEARCH: each line comes in time, so only a bound on what one
    command's answer may hold ends it (before, memory grew until the 900 s round deadline)."""
    liar = Liar("imap", flood="UID SEARCH")
    d = make_daemon(config=MANUAL).start()
    try:
        with d.client(timeout=60) as c:
            acc = c.call("accounts.create", {**OWN, "email": f"flood@{DOMAIN}", "incoming": {
                "protocol": "imap", "host": "127.0.0.1", "port": liar.port, "ssl": False, "user": "u",
                "password": "p"}})
            result = c.call("accounts.poll", {"id": acc["id"]})
            assert result["ok"] is False and "in answer to one command" in result["error"], result
            assert "EXISTS" in result["error"]
            assert liar.hung_up.wait(10), "the connection was cut"
            assert c.call("system.ping") == {"pong": True}
    finally:
        liar.close()


def _lying_box(c, server, protocol: str = "imap") -> int:
    """An account reading the scripted server's mailbox."""
    return c.call("accounts.create", {**OWN, "email": f"liar{server.port}@{DOMAIN}", "incoming": {
        "protocol": protocol, "host": "127.0.0.1", "port": server.port, "ssl": False, "user": "u",
        "password": "p"}})["id"]


def test_a_message_the_server_will_not_hand_over_is_retried_then_set_aside_never_passed(make_daemon):
    from ..support.mailservers import ScriptedImap

    lost = ScriptedImap({1: human(mid="<m1@x>"), 2: None, 3: human(mid="<m3@x>")})  # UID 2 listed, never sent
    d = make_daemon(config=MANUAL).start()
    try:
        with d.client(timeout=60) as c:
            box = _lying_box(c, lost)
            c.call("events.subscribe", {"types": ["mail.unreadable"]})
            first = c.call("accounts.poll", {"id": box})
            assert first["ok"] and first["fetched"] == 2 and first["unreadable"] == 1 and first["set_aside"] == 0
            second = c.call("accounts.poll", {"id": box})  # UID 3 comes again: known, not counted twice
            assert second["unreadable"] == 1 and second["already_seen"] == 1 and second.get("mail", 0) == 0
            third = c.call("accounts.poll", {"id": box})
            assert third["set_aside"] == 1 and third["unreadable"] == 0
            event = c.next_event(timeout=10)
            assert event["type"] == "mail.unreadable" and event["ref"] == "2" and event["tries"] == 3
            shown = c.call("accounts.get", {"id": box})["incoming"]["unreadable"]
            assert [(u["ref"], u["tries"]) for u in shown] == [("2", 3)] and "did not hand" in shown[0]["reason"]
            fourth = c.call("accounts.poll", {"id": box})  # set aside: the checkpoint may pass it now
            assert fourth["fetched"] == 0 and fourth["set_aside"] == 0
    finally:
        lost.close()


@pytest.mark.parametrize("field, value, words", [
    ("uidvalidity", b"abc", "UIDVALIDITY is not a 32-bit number: 'abc'"),
    ("search", b"1 two 3", "SEARCH answer is not a list of UIDs: '1 two 3'"),
])
def test_protocol_nonsense_fails_the_round_naming_what_the_server_sent(make_daemon, field, value, words):
    from ..support.mailservers import ScriptedImap

    server = ScriptedImap({1: human()}, **{field: value})
    d = make_daemon(config=MANUAL).start()
    try:
        with d.client(timeout=60) as c:
            result = c.call("accounts.poll", {"id": _lying_box(c, server)})
        assert result["ok"] is False and "protocol" in result["error"] and words in result["error"], result
        assert "internal error" not in result["error"] and "Traceback" not in d.log()
    finally:
        server.close()


def test_an_impossible_uid_is_set_aside_and_never_stops_the_mailbox(make_daemon):
    from ..support.mailservers import ScriptedImap

    huge = 2**63 + 5
    server = ScriptedImap({1: human(mid="<ok@x>"), huge: None})
    d = make_daemon(config=MANUAL).start()
    try:
        with d.client(timeout=60) as c:
            box = _lying_box(c, server)
            results = [c.call("accounts.poll", {"id": box}) for _ in range(4)]
        assert all(r["ok"] for r in results), results
        assert results[0]["fetched"] == 1 and results[2]["set_aside"] == 1
        with d.client() as c:
            shown = c.call("accounts.get", {"id": box})["incoming"]["unreadable"]
        assert shown[0]["ref"] == str(huge) and "32-bit" in shown[0]["reason"]
    finally:
        server.close()


def test_a_repeated_pop3_uidl_hides_no_message(make_daemon):
    from ..support.mailservers import ScriptedPop3

    server = ScriptedPop3([human(mid="<a@x>"), human(mid="<b@x>", subject="another")], ["same", "same"])
    d = make_daemon(config=MANUAL).start()
    try:
        with d.client(timeout=60) as c:
            box = _lying_box(c, server, "pop3")
            first = c.call("accounts.poll", {"id": box})
            assert first["ok"] and first["fetched"] == 2 and first["mail"] == 2, first
            again = c.call("accounts.poll", {"id": box})
            assert again["ok"] and again["fetched"] == 0, "each read once"
    finally:
        server.close()


def test_modified_utf7_folder_names_both_ways():
    from mailfleet.daemon.net import utf7

    assert utf7.encode("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"  # RFC 3501's example
    for name in ("Zwroty-ęą", "A&B", "INBOX", "Ώ", "Mixed ascii ünd 日本"):
        assert utf7.decode(utf7.encode(name)) == name
    assert utf7.decode("&broken") == "&broken"


def test_a_folder_named_in_polish_is_read_and_listed_in_words(daemon, dovecot, mailbox):
    from mailfleet.daemon.net import utf7

    conn = dovecot.imap(mailbox)
    assert conn.create(utf7.encode("Zwroty-ęą"))[0] == "OK"
    assert conn.append(utf7.encode("Zwroty-ęą"), None, None, dsn("gone@example.com", "5.1.1", "550 5.1.1 unknown",
                                                                 "<pl@mx>"))[0] == "OK"
    conn.logout()
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, folder="Zwroty-ęą")
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["ok"] and result["hard"] == 1, result
        wrong = c.call("accounts.test", {"id": acc["id"], "account": {"incoming": {"folder": "Zwroty"}}})
        assert "Zwroty-ęą" in wrong["incoming"]["hint"], wrong["incoming"]
        # The form's folder picker: the server's folders in words, for unsaved values as for the saved account.
        listed = c.call("accounts.folders", {"id": acc["id"]})
        assert listed["ok"] and {"INBOX", "Zwroty-ęą"} <= set(listed["folders"]), listed
        unsaved = c.call("accounts.folders", {"account": {**OWN, "incoming": incoming(dovecot, mailbox)}})
        assert set(unsaved["folders"]) == set(listed["folders"])
        refused = c.call("accounts.folders", {"account": {**OWN, "incoming": incoming(dovecot, mailbox,
                                                                                       password="wrong-pw")}})
        assert not refused["ok"] and refused["folders"] == [] and refused["incoming"]["step"] == "auth", refused
    shown = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "accounts", "folders", str(acc["id"])],
                           env=daemon.env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "Zwroty-ęą" in shown.stdout.splitlines(), shown


def test_a_pop3_message_the_server_refuses_is_retried_then_set_aside(make_daemon):
    from ..support.mailservers import ScriptedPop3

    server = ScriptedPop3([human(mid="<p1@x>"), None], ["one", "two"])
    d = make_daemon(config=MANUAL).start()
    try:
        with d.client(timeout=60) as c:
            box = _lying_box(c, server, "pop3")
            rounds = [c.call("accounts.poll", {"id": box}) for _ in range(4)]
            assert all(r["ok"] for r in rounds), rounds
            assert [r["fetched"] for r in rounds] == [1, 0, 0, 0]
            assert [r.get("unreadable", 0) for r in rounds] == [1, 1, 0, 0]
            assert [r.get("set_aside", 0) for r in rounds] == [0, 0, 1, 0]
            shown = c.call("accounts.get", {"id": box})["incoming"]["unreadable"]
            assert shown[0]["ref"] == "two" and "message is locked" in shown[0]["reason"]
    finally:
        server.close()


async def test_the_activity_view_shows_an_accounts_bounces_and_replies_live(daemon, dovecot, mailbox):
    """In the TUI, `l` on an account: its history, then each bounce and reply as the round records it."""
    from mailfleet.tui.components.account_table import AccountTable

    from .test_tui import app_for, displayed, until

    hostile = "Re: [b]offer[/b] [/red] 名前"
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox)
        c.call("contacts.import", {"csv": "email\nghost@bounce.test\nfriend@example.com\n"})
    app = app_for(daemon)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.query_one(AccountTable).current is not None)
        await pilot.press("l")
        await until(pilot, lambda: "Activity of" in displayed(app) and "account.created" in displayed(app))
        dovecot.append(mailbox, dsn("ghost@bounce.test", "5.1.1", "550 5.1.1 User unknown", "<act1@mx>"))
        dovecot.append(mailbox, human(subject=hostile, mid="<act2@example.com>"))
        with daemon.client(timeout=60) as c:
            assert c.call("accounts.poll", {"id": acc["id"]})["hard"] == 1
        await until(pilot, lambda: "mail from contact friend@example.com" in displayed(app))
        shown = displayed(app)
        assert "hard bounce from ghost@bounce.test: 5.1.1 userunknown" in shown
        assert "ghost@bounce.test marked faulty: hard bounce: userunknown" in shown
        assert f"mail from contact friend@example.com: {hostile}" in shown  # a subject is text, not markup
        assert shown.index("account.created") < shown.index("bounce.hard")  # history first, then live


async def test_the_form_lists_the_servers_folders_to_pick_from(daemon, dovecot, mailbox):
    from mailfleet.daemon.net import utf7
    from mailfleet.tui.components.account_form import AccountForm
    from mailfleet.tui.components.account_table import AccountTable

    from .test_tui import app_for, displayed, until

    conn = dovecot.imap(mailbox)
    assert conn.create(utf7.encode("Zwroty-ęą"))[0] == "OK"
    conn.logout()
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox)
    app = app_for(daemon)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.query_one(AccountTable).current is not None)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        await pilot.press("ctrl+l")
        await until(pilot, lambda: "Folders on the server" in displayed(app))
        assert "Zwroty-ęą" in displayed(app) and "&AQUBBQ-" not in displayed(app)  # in words, not UTF-7
        options = app.screen.query_one("#folder-list")
        while options.get_option_at_index(options.highlighted or 0).prompt.plain != "Zwroty-ęą":
            await pilot.press("down")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, AccountForm))
    with daemon.client(timeout=60) as c:
        assert c.call("accounts.get", {"id": acc["id"]})["incoming"]["folder"] == "Zwroty-ęą"


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_purge_deletes_the_bounces_already_read_and_only_those(daemon, dovecot, mailbox, protocol):
    """delete_bounces was off while bounces were read: a purge deletes them (and copies of them) from the
    server, and leaves human mail and what no round has read yet."""
    anonymous = dsn("nomid@example.com", "5.1.1", "550 5.1.1 No such user", "<x>").replace(b"Message-ID: <x>\r\n", b"")
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, protocol)
        c.call("contacts.import", {"csv": "email\nghost@example.com\nnomid@example.com\n"})
        dovecot.append(mailbox, dsn("ghost@example.com", "5.1.1", "550 5.1.1 User unknown", "<pg1@mx>"))
        dovecot.append(mailbox, anonymous)  # no Message-ID: known by the hash of the whole message
        dovecot.append(mailbox, human(mid="<ph1@example.com>"))
        first = c.call("accounts.poll", {"id": acc["id"]})
        assert first["ok"] and first["hard"] == 2 and first.get("deleted", 0) == 0, first
        dovecot.append(mailbox, dsn("ghost@example.com", "5.1.1", "550 5.1.1 User unknown", "<pg1@mx>"))  # a copy
        dovecot.append(mailbox, dsn("late@example.com", "5.1.1", "550 5.1.1 User unknown", "<pg2@mx>"))  # unread
        purged = c.call("accounts.purge_bounces", {"id": acc["id"]})
        assert purged == {"ok": True, "examined": 5, "bounces": 3, "deleted": 3}, purged
        left = [raw for _, raw in dovecot.messages(mailbox)]
        assert len(left) == 2 and any(b"Sounds good!" in r for r in left) and any(b"<pg2@mx>" in r for r in left)
        assert c.call("accounts.purge_bounces", {"id": acc["id"]})["deleted"] == 0
        after = c.call("accounts.poll", {"id": acc["id"]})
        assert after["ok"] and after["hard"] == 1, "the unread bounce is read as usual"
        assert c.call("contacts.get", {"email": "ghost@example.com"})["hard_bounces"] == 1, "nothing counted twice"
        assert "asked to purge the bounces already read" in daemon.log()
    if protocol == "imap":  # the command line says it in words
        dovecot.append(mailbox, dsn("ghost@example.com", "5.1.1", "550 5.1.1 User unknown", "<pg1@mx>"))
        shown = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "accounts", "purge-bounces", str(acc["id"]),
                                "--yes"], env=daemon.env, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == f"account {acc['id']}: deleted 2 of 2 bounces already read (3 messages looked at)\n"


def test_a_purge_needs_a_mailbox_and_says_why_it_failed(daemon, dovecot, mailbox):
    with daemon.client(timeout=60) as c:
        bare = c.call("accounts.create", {**OWN, "email": "bare@example.com"})
        with pytest.raises(P.RpcError) as refused:
            c.call("accounts.purge_bounces", {"id": bare["id"]})
        assert refused.value.code == P.CONFLICT and "no incoming mailbox" in refused.value.message
        acc = own_account(c, dovecot, mailbox)
        c.call("accounts.update", {"id": acc["id"], "incoming": {**incoming(dovecot, mailbox), "password": "wrong"}})
        failed = c.call("accounts.purge_bounces", {"id": acc["id"]})
        assert not failed["ok"] and failed["error"].startswith("login: the server refused"), failed


async def test_the_tui_purges_the_bounces_already_read_after_asking(daemon, dovecot, mailbox):
    """P on an account with a mailbox: a question first (Cancel focused), then what was deleted, in words."""
    from mailfleet.tui.components.account_table import AccountTable
    from mailfleet.tui.components.dialogs import Confirm

    from .test_tui import app_for, displayed, until

    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox)
        dovecot.append(mailbox, dsn("ghost@example.com", "5.1.1", "550 5.1.1 User unknown", "<tp1@mx>"))
        dovecot.append(mailbox, human(mid="<tp2@example.com>"))
        assert c.call("accounts.poll", {"id": acc["id"]})["hard"] == 1
    app = app_for(daemon)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:  # toasts drawn, as a person sees them
        await until(pilot, lambda: app.query_one(AccountTable).current is not None)
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert "the bounces already read?" in displayed(app)
        await pilot.press("enter")  # Cancel has the focus: nothing happens
        await until(pilot, lambda: not isinstance(app.screen, Confirm))
        assert len(dovecot.messages(mailbox)) == 2
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.click("#yes")
        await until(pilot, lambda: "deleted 1 of 1 bounces already read" in displayed(app))
    left = dovecot.messages(mailbox)
    assert len(left) == 1 and b"Sounds good!" in left[0][1]


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_second_copy_of_a_counted_bounce_is_deleted_and_not_counted(daemon, dovecot, mailbox, protocol):
    """delete_bounces: a bounce that arrives again (a relay's retry, a forwarded copy) goes like the first,
    counted once; a second copy of human mail stays."""
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, protocol, delete_bounces=True)
        c.call("contacts.import", {"csv": "email\ntwice@example.com\n"})
        bounce = dsn("twice@example.com", "5.1.1", "550 5.1.1 User unknown", "<copy1@mx>")
        dovecot.append(mailbox, bounce)
        dovecot.append(mailbox, human(mid="<copyh@example.com>"))
        first = c.call("accounts.poll", {"id": acc["id"]})
        assert first["hard"] == 1 and first["deleted"] == 1, first
        dovecot.append(mailbox, bounce)
        dovecot.append(mailbox, human(mid="<copyh@example.com>"))
        again = c.call("accounts.poll", {"id": acc["id"]})
        assert again["already_seen"] == 2 and again.get("hard", 0) == 0 and again["deleted"] == 1, again
        assert c.call("contacts.get", {"email": "twice@example.com"})["hard_bounces"] == 1
    left = [raw for _, raw in dovecot.messages(mailbox)]
    assert len(left) == 2 and all(b"Sounds good!" in r for r in left)


def arf(complainant: str, mid: str) -> bytes:
    """A spam complaint as RFC 5965 §2 and its appendix B lay it out: a human part, the machine-readable
    feedback-report (Original-Rcpt-To names whom our mail reached), and the headers of our message."""
    return (
        f"From: <abuse@isp.example>\r\nTo: <box@{DOMAIN}>\r\nSubject: FW: Our offer\r\nMessage-ID: {mid}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n"
        "--F\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report for an email message received.\r\n"
        "--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\n"
        f"Version: 1\r\nOriginal-Mail-From: <box@{DOMAIN}>\r\nOriginal-Rcpt-To: <{complainant}>\r\n\r\n"
        f"--F\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: <box@{DOMAIN}>\r\nTo: <{complainant}>\r\n"
        "Subject: Our offer\r\n\r\n--F--\r\n"
    ).encode()


def test_sender_side_refusals_touch_no_contact_and_say_so_on_the_account(make_daemon, dovecot, mailbox):
    """A blocklist is about us: however many times it refuses, the contact is not counted, the account is."""
    d = make_daemon(config=MANUAL + "[bounces]\nsoft_threshold = 2\n").start()
    with d.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, delete_bounces=True)
        c.call("contacts.import", {"csv": "email\nliked@example.com\n"})
        for n in range(3):
            dovecot.append(mailbox, dsn("liked@example.com", "5.7.1", "554 5.7.1 Service unavailable; Client host "
                                        f"[192.0.2.1] blocked using zen.spamhaus.org [{n}]", f"<bl{n}@mx>"))
        dovecot.append(mailbox, dsn("liked@example.com", "5.3.4", "552 5.3.4 Message size exceeds fixed limit",
                                    "<big1@mx>"))
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["about_sender"] == 3 and result["about_message"] == 1 and result.get("soft", 0) == 0, result
        contact = c.call("contacts.get", {"email": "liked@example.com"})
        assert (contact["status"], contact["soft_bounces"], contact["hard_bounces"]) == ("active", 0, 0)
        assert {(b["about"], b["rule"]) for b in contact["bounces"]} == {("sender", "blocklist"),
                                                                         ("message", "message-too-big")}
        account = c.call("accounts.get", {"id": acc["id"]})
        assert account["health"] == "blocked" and account["health_reason"].startswith("Spamhaus: 554 5.7.1")
        assert c.call("accounts.list", {})["items"][0]["health"] == "blocked"
        health = c.call("events.list", {"type": "account.health", "account_id": acc["id"]})["items"]
        assert len(health) == 1 and health[0]["check"] == "Spamhaus", "the same refusal is said once"
        status = c.call("system.status")
        assert status["sender_problems"]["total"] == 1
        assert c.call("accounts.health_ok", {"id": acc["id"]})["health"] is None
        assert c.call("system.status")["sender_problems"]["total"] == 0
    assert dovecot.messages(mailbox) == [], "they are bounces all the same: deleted once recorded"


def test_a_spam_complaint_suppresses_the_contact_without_calling_it_faulty(daemon, dovecot, mailbox):
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox)
        c.call("contacts.import", {"csv": "email\nangry@example.com\ncalm@example.com\n"})
        dovecot.append(mailbox, arf("angry@example.com", "<arf1@isp.example>"))
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["feedback"] == 1 and result["complained"] == 1
        angry = c.call("contacts.get", {"email": "angry@example.com"})
        assert (angry["status"], angry["complaints"], angry["hard_bounces"]) == ("complained", 1, 0)
        assert angry["history"][0]["rule"] == "rfc5965-feedback-report"
        assert c.call("contacts.get", {"email": "calm@example.com"})["status"] == "active"
        assert [i["email"] for i in c.call("contacts.list", {"status": "complained"})["items"]] == ["angry@example.com"]
        assert c.call("events.list", {"type": "contact.complained"})["items"][0]["contact"] == "angry@example.com"


def test_unmark_restores_exactly_the_contacts_a_rule_marked_and_keeps_the_history(daemon, dovecot, mailbox):
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox)
        c.call("contacts.import", {"csv": "email\na@example.com\nb@example.com\nc@example.com\nd@example.com\n"})
        unknown = "550 5.1.1 <{0}>: Recipient address rejected: User unknown in local recipient table"
        for n, who in enumerate(("a", "c")):
            dovecot.append(mailbox, dsn(f"{who}@example.com", "5.1.1", unknown.format(f"{who}@example.com"),
                                        f"<u{n}@mx>"))
        dovecot.append(mailbox, dsn("b@example.com", "5.1.2", "Host or domain name not found. Name service error "
                                    "for name=nowhere.example type=A: Host not found", "<h1@mx>"))
        dovecot.append(mailbox, arf("d@example.com", "<arf2@isp.example>"))
        c.call("accounts.poll", {"id": acc["id"]})
        statuses = {e: c.call("contacts.get", {"email": f"{e}@example.com"})["status"] for e in "abcd"}
        assert statuses == {"a": "faulty", "b": "faulty", "c": "faulty", "d": "complained"}
        # A person looked at c since, and decided it is dead: the rule is no longer what holds it.
        c.call("contacts.update", {"email": "c@example.com", "status": "active"})
        c.call("contacts.update", {"email": "c@example.com", "status": "faulty"})

        with pytest.raises(P.RpcError) as refused:
            c.call("contacts.unmark", {"rule": "no-such-rule"})
        assert refused.value.code == P.INVALID_PARAMS and "no classifier rule is named" in str(refused.value)
        later = c.call("contacts.unmark", {"rule": "user-unknown", "since": "2999-01-01"})
        assert later["restored"] == 0, "--since leaves what the rule did before it"

        undone = c.call("contacts.unmark", {"rule": "user-unknown"})
        assert [(r["email"], r["was"], r["status"]) for r in undone["contacts"]] == [("a@example.com", "faulty",
                                                                                       "active")]
        statuses = {e: c.call("contacts.get", {"email": f"{e}@example.com"})["status"] for e in "abcd"}
        assert statuses == {"a": "active", "b": "faulty", "c": "faulty", "d": "complained"}
        assert c.call("contacts.unmark", {"rule": "user-unknown"})["restored"] == 0, "undone once"
        a = c.call("contacts.get", {"email": "a@example.com"})
        assert [(h["previous"], h["status"], h["rule"], h["undone_at"] is not None) for h in a["history"]] == [
            ("faulty", "active", "", False), ("active", "faulty", "user-unknown", True)]
        assert a["hard_bounces"] == 1 and a["bounces_total"] == 1, "the bounce stays: history, not erased"
        assert c.call("events.list", {"type": "contacts.unmarked"})["items"][0]["count"] == 1


def test_unmark_takes_the_rule_that_chose_whom_a_bounce_is_about(daemon, dovecot, mailbox):
    """A gateway's notice naming nobody is about the one address its returned message was for (rule
    returned-recipient), marked dead by its words (user-unknown). Were returned-recipient found wrong, undoing
    it restores the contacts it chose, and only those: a bounce that named its recipient keeps its mark."""
    with daemon.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox)
        c.call("contacts.import", {"csv": "email\ne@example.com\nf@example.com\n"})
        dovecot.append(mailbox, (
            "From: postmaster@gw.example.net\r\nTo: box@bounce.test\r\nSubject: Undeliverable Message\r\n"
            "Message-ID: <gw1@gw.example.net>\r\n\r\nMessage could not be delivered.\r\n"
            "Error: No valid recipients for this message\r\n\r\nOriginal Message:\r\nFrom: box@bounce.test\r\n"
            "To: e@example.com\r\nSubject: Our offer\r\n").encode())
        dovecot.append(mailbox, dsn("f@example.com", "5.1.1", "550 5.1.1 <f@example.com>: User unknown", "<f1@mx>"))
        c.call("accounts.poll", {"id": acc["id"]})
        assert {e: c.call("contacts.get", {"email": f"{e}@example.com"})["status"] for e in "ef"} == {
            "e": "faulty", "f": "faulty"}
        chosen = c.call("bounces.list", {"contact": "e@example.com"})["items"]
        assert [(b["rule"], b["verdict_rule"]) for b in chosen] == [("user-unknown", "returned-recipient")]

        undone = c.call("contacts.unmark", {"rule": "returned-recipient"})
        assert [(r["email"], r["was"], r["status"]) for r in undone["contacts"]] == [("e@example.com", "faulty",
                                                                                       "active")]
        assert {e: c.call("contacts.get", {"email": f"{e}@example.com"})["status"] for e in "ef"} == {
            "e": "active", "f": "faulty"}
        assert c.call("contacts.unmark", {"rule": "user-unknown"})["restored"] == 1, "f's, by its reason's rule"


def test_an_unreadable_bounce_is_kept_announced_left_on_the_server_and_read_again(make_daemon, dovecot, mailbox):
    d = make_daemon(config=MANUAL)
    d.start()
    with d.client(timeout=60) as c:
        acc = own_account(c, dovecot, mailbox, delete_bounces=True)
        c.call("contacts.import", {"csv": "email\ngone@example.com\n"})
        dovecot.append(mailbox, (f"From: MAILER-DAEMON@mx.example.net\r\nTo: box@{DOMAIN}\r\n"
                                 "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <garbled@mx>\r\n\r\n"
                                 "Delivery to the following recipients failed: [\x1b[31m#redacted#]\r\n").encode())
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["unparsed"] == 1 and result.get("deleted", 0) == 0
        (kept,) = c.call("bounces.unparsed", {})["items"]
        assert kept["subject"] == "Undelivered Mail Returned to Sender" and "no recipient" in kept["note"]
        assert "#redacted#" in c.call("bounces.unparsed_get", {"id": kept["id"]})["raw"]
        assert c.call("events.list", {"type": "message.unparsed"})["items"][0]["account_id"] == acc["id"]
        assert c.call("accounts.poll", {"id": acc["id"]}).get("unparsed", 0) == 0, "kept once, announced once"
    assert len(dovecot.messages(mailbox)) == 1, "never deleted, never passed as mail"
    d.stop()
    # What an older classifier gave up on, a newer one reads: here the kept message is one this classifier
    # reads, marked as set aside by another version.
    readable = dsn("gone@example.com", "5.1.1", "550 5.1.1 <gone@example.com>: User unknown in local recipient "
                   "table", "<garbled@mx>")
    with sqlite3.connect(d.paths.database) as db:
        db.execute("UPDATE unparsed SET classifier = 'an-older-one', raw = ?", (readable,))
    d.start()
    with d.client(timeout=60) as c:
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["read_again"] == 1 and result["hard"] == 1, result
        assert c.call("contacts.get", {"email": "gone@example.com"})["status"] == "faulty"
        assert c.call("bounces.unparsed", {})["total"] == 0


def test_a_later_bounce_is_matched_to_the_message_sent_and_a_stray_marks_nobody(daemon, dovecot, postfix):
    """Sent through a real Postfix that takes the message (250) and bounces it later into the mailbox the
    account reads: the bounce is linked to the message sent (its returned Message-ID). A bounce naming an
    address the account never mailed is recorded as a stray and marks nobody."""
    user = f"bounces@{DOMAIN}"
    with daemon.client(timeout=60) as c:
        acc = c.call("accounts.create", {**OWN, "email": user, "incoming": incoming(dovecot, user),
                                         "smtp": {"host": "127.0.0.1", "port": postfix.port, "security": "none",
                                                  "authenticate": False}})
        c.call("contacts.import", {"csv": "email\nlater@bounce.test\nnever@example.org\n"})
        before = len(dovecot.messages(user))
        job = c.call("messages.send", {"account_id": acc["id"], "to": ["later@bounce.test"], "subject": "Offer",
                                       "text": "Hi"})["job"]
        deadline = time.monotonic() + 30
        while len(dovecot.messages(user)) == before:  # Postfix's own DSN, on its way to the mailbox
            assert time.monotonic() < deadline, f"no bounce arrived:\n{postfix.log()[-2000:]}"
            time.sleep(0.05)
        sent = c.call("queue.list", {"job": job})["items"][0]
        assert sent["state"] == "sent" and sent["reply"].startswith("250")
        dovecot.append(user, dsn("never@example.org", "5.1.1", "550 5.1.1 User unknown", "<forged-1@mx>",
                                 to=user))
        result = c.call("accounts.poll", {"id": acc["id"]})
        assert result["ok"] and result["hard"] == 2 and result["strays"] == 1 and result["marked_faulty"] == 1
        by = {b["recipient"]: b for b in c.call("bounces.list", {})["items"]}
        assert (by["later@bounce.test"]["link"], by["later@bounce.test"]["queue_id"]) == ("message_id", sent["id"])
        assert (by["never@example.org"]["link"], by["never@example.org"]["queue_id"]) == ("stray", None)
        assert c.call("contacts.get", {"email": "later@bounce.test"})["status"] == "faulty"
        assert c.call("contacts.get", {"email": "never@example.org"})["status"] == "active"


@pytest.fixture
def relay(mail_root, dovecot):
    """Postfix as a relay in front of the world: unknown users of its own domain refused at RCPT (its
    default), mail for later.test taken and handed to a next hop that refuses it, so Postfix bounces it
    later; the bounces are delivered to the account's mailbox."""
    refuse = "550 5.1.1 <{}>: Recipient address rejected: User unknown in relay recipient table"
    hop = sink_server(Sink(refuse={a: refuse.format(a) for a in ("later@later.test", "garbled@later.test")}))
    server = Postfix(mail_root / "relay", dovecot, domain=DOMAIN, user="bounces", reject_unlisted=True,
                     later=("later.test", hop.port))
    server.start()
    yield server
    server.stop()
    hop.stop()


def _garbled(report: bytes) -> bytes:
    """A bounce's header block (where it was delivered to) over a body no reader makes sense of."""
    head = report.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].split(b"\n")
    kept = [line for line in head if not line.lower().startswith((b"content-", b"mime-version"))]
    kept = [line for line in kept if not (line.startswith((b" ", b"\t")) and b"boundary" in line)]
    return b"\r\n".join(kept) + b"\r\n\r\nDelivery to the following recipients failed: [#redacted#]\r\n"


def test_per_recipient_envelopes_name_who_bounced_even_when_the_report_is_garbled(daemon, dovecot, relay):
    """VERP through a real Postfix: an unknown user of the relay's domain is refused at RCPT (a bounce on
    the spot); two messages the relay takes bounce later to their own envelope addresses. Read from a
    folder a filter would file them in: one bounce as Postfix wrote it, one with its report garbled past
    reading, and a garbled one whose token is forged. The token names the recipient of the first two; the
    forged one names nobody and is set aside like any unreadable report."""
    user = f"bounces@{DOMAIN}"
    with daemon.client(timeout=60) as c:
        acc = c.call("accounts.create", {**OWN, "email": user, "verp": True,
                                         "incoming": incoming(dovecot, user, folder="Returned"),
                                         "smtp": {"host": "127.0.0.1", "port": relay.port, "security": "none",
                                                  "authenticate": False}})
        assert c.call("accounts.get", {"id": acc["id"]})["verp"] is True
        c.call("contacts.import", {"csv": "email\nghost@bounce.test\nlater@later.test\ngarbled@later.test\n"})
        before = len(dovecot.messages(user))
        job = c.call("messages.send", {"account_id": acc["id"], "subject": "Offer", "text": "Hi",
                                       "to": ["ghost@bounce.test", "later@later.test", "garbled@later.test"]})["job"]
        deadline = time.monotonic() + 30
        while len(dovecot.messages(user)) < before + 2:  # Postfix's own DSNs, on their way to the mailbox
            assert time.monotonic() < deadline, f"no bounces arrived:\n{relay.log()[-2000:]}"
            time.sleep(0.05)
        rows = {r["recipient"]: r for r in c.call("queue.list", {"job": job})["items"]}
        assert rows["ghost@bounce.test"]["state"] == "failed"
        assert "User unknown in virtual mailbox table" in rows["ghost@bounce.test"]["reply"]
        assert c.call("contacts.get", {"email": "ghost@bounce.test"})["status"] == "faulty", "a bounce on the spot"

        reports = {r: raw for _, raw in dovecot.messages(user)[before:]
                   for r in ("later@later.test", "garbled@later.test") if f"<{r}>".encode() in raw}
        envelope = [line for line in reports["later@later.test"].split(b"\r\n") if line.startswith(b"To: ")][0]
        assert envelope.startswith(b"To: bounces+mf-"), "the bounce went to the message's own envelope sender"
        dovecot.append(user, reports["later@later.test"], folder="Returned")
        dovecot.append(user, _garbled(reports["garbled@later.test"]), folder="Returned")
        forged = _garbled(reports["garbled@later.test"]).replace(b"bounces+mf-", b"bounces+mf-1").replace(
            b"Message-Id: <", b"Message-Id: <forged.")
        dovecot.append(user, forged, folder="Returned")

        result = c.call("accounts.poll", {"id": acc["id"]})
        assert (result["hard"], result["soft"], result["unparsed"]) == (1, 1, 1), result
        by = {b["recipient"]: b for b in c.call("bounces.list", {})["items"]}
        assert (by["later@later.test"]["link"], by["later@later.test"]["queue_id"]) == (
            "verp", rows["later@later.test"]["id"])
        assert (by["garbled@later.test"]["link"], by["garbled@later.test"]["queue_id"], by["garbled@later.test"]["hard"]) \
            == ("verp", rows["garbled@later.test"]["id"], 0)
        assert c.call("contacts.get", {"email": "later@later.test"})["status"] == "faulty"
        garbled = c.call("contacts.get", {"email": "garbled@later.test"})
        assert (garbled["status"], garbled["soft_bounces"]) == ("active", 1), "doubt costs no contact"
        (kept,) = c.call("bounces.unparsed", {})["items"]
        assert "no recipient" in kept["note"], "a forged token names nobody"
