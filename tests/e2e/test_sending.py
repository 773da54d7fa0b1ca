"""Sending through the accounts, against a real SMTP server on 127.0.0.1 (aiosmtpd, answering as a
Postfix relay would): what each recipient gets, who is never sent to, a refusal as a bounce on the spot,
a deferral tried again, and kill -9 at each point of a delivery: nothing accepted is lost and nothing
is sent twice to a recipient the server took."""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import subprocess
import sys
import time

import pytest

from mailfleet.shared import protocol as P

from ..support.mailservers import PASSWORD, USER, Microsocks, Sink, Tinyproxy, sink_server
from ..support.servers import free_port
from ..support.users import ensure_user, rpc_as

FAST_RETRY = "[sending]\nretry_base = 1.0\n"


@pytest.fixture
def sink():
    handler = Sink(refuse={"ghost@example.net": "550 5.1.1 <ghost@example.net>: Recipient address rejected: "
                                                "User unknown in virtual mailbox table"},
                   defer={"slow@example.net": "451 4.3.0 <slow@example.net>: Temporary lookup failure"})
    controller = sink_server(handler)
    yield controller, handler
    controller.stop()


def sales(port: int, **extra) -> dict:
    return {"name": "Sales", "email": "sales@shop.test", "display_name": "ACME Sales",
            "from_name_field": "owner_name", "reply_to_email": "replies@shop.test",
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "user": USER, "password": PASSWORD},
            **extra}


def wait_done(client, job: int, timeout: float = 30.0) -> dict:
    """Until the job has nothing left to send: the real condition, asked of the daemon."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.call("queue.job", {"id": job})
        if state["done"]:
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.05)


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def test_each_recipient_gets_a_message_of_their_own_and_faulty_contacts_none(make_daemon, sink):
    controller, handler = sink
    daemon = make_daemon().start()
    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port))
        c.call("contacts.import", {"csv": "email,owner_name\nanna@example.net,Zoë Müller\nbob@example.net,\n"
                                          "dead@example.net,Old\n"})
        c.call("contacts.update", {"email": "dead@example.net", "status": "faulty"})
        sent = c.call("messages.send", {"account_id": acc["id"], "to": ["anna@example.net", "Bob@example.net",
                                                                        "dead@example.net", "anna@example.net"],
                                        "subject": "Spring offer ✿", "text": "Hello,\nour offer.\n",
                                        "html": "<p>Hello, <b>our offer</b></p>", "headers": {"X-Campaign": "spring"}})
        assert sent["queued"] == 2, "anna twice is one message"
        assert sent["suppressed"] == [{"recipient": "dead@example.net",
                                       "why": "a faulty contact (its address bounced)"}]
        done = wait_done(c, sent["job"])
        assert done["states"] == {"sent": 2, "suppressed": 1}
        rows = {r["recipient"]: r for r in c.call("queue.list", {"job": sent["job"]})["items"]}
    daemon.stop()
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == ["anna@example.net", "bob@example.net"]
    for m in handler.messages:
        assert m.mail_from == "replies@shop.test", "bounces go to the reply address"
        assert len(m.rcpt_tos) == 1
        msg = parsed(m.data)
        recipient = m.rcpt_tos[0]
        assert msg["To"] == recipient and msg["Reply-To"] == "replies@shop.test"
        assert msg["Message-ID"] == rows[recipient]["message_id"], "the Message-ID recorded is the one sent"
        assert msg["Subject"] == "Spring offer ✿" and msg["X-Campaign"] == "spring"
        assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello,\nour offer.\n"
        assert "<b>our offer</b>" in msg.get_body(("html",)).get_content()
    froms = {m.rcpt_tos[0]: parsed(m.data)["From"] for m in handler.messages}
    assert froms == {"anna@example.net": "Zoë Müller <sales@shop.test>",
                     "bob@example.net": "ACME Sales <sales@shop.test>"}, "overwrite FROM from the contact's details"
    assert b"=?utf-8?" in next(m.data for m in handler.messages if m.rcpt_tos == ["anna@example.net"]), "RFC 2047"


def test_a_refusal_is_a_bounce_on_the_spot_and_a_deferral_is_tried_again(make_daemon, sink):
    controller, handler = sink
    daemon = make_daemon(config=FAST_RETRY).start()
    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port))
        c.call("contacts.import", {"csv": "email\nghost@example.net\nslow@example.net\n"})
        sent = c.call("messages.send", {"account_id": acc["id"], "subject": "Hi", "text": "hi",
                                        "to": ["ghost@example.net", "slow@example.net", "ok@example.net"]})
        done = wait_done(c, sent["job"])
        assert done["states"] == {"failed": 1, "sent": 2}
        rows = {r["recipient"]: r for r in c.call("queue.list", {"job": sent["job"]})["items"]}
        assert rows["ghost@example.net"]["reply"].startswith("550 5.1.1") and "(at RCPT TO)" in rows[
            "ghost@example.net"]["reply"]
        assert rows["slow@example.net"]["attempts"] == 2
        bounce = c.call("bounces.list", {})["items"]
        assert [(b["recipient"], b["hard"], b["about"]) for b in bounce] == [("ghost@example.net", 1, "recipient")]
        assert c.call("contacts.get", {"email": "ghost@example.net"})["status"] == "faulty"
        assert c.call("contacts.get", {"email": "slow@example.net"})["status"] == "active"
        again = c.call("messages.send", {"account_id": acc["id"], "subject": "Hi", "text": "hi",
                                         "to": ["ghost@example.net"]})
        assert again["queued"] == 0 and again["suppressed"][0]["recipient"] == "ghost@example.net"
        events = [e["type"] for e in c.call("events.list", {"type": "send.", "limit": 100})["items"]]
        assert events == ["send.accepted", "send.done", "send.accepted", "send.done"]
    daemon.stop()
    assert handler.tried["slow@example.net"] == 2 and handler.tried["ghost@example.net"] == 1
    assert [m.rcpt_tos for m in handler.messages] == [["ok@example.net"], ["slow@example.net"]] or \
        sorted(m.rcpt_tos[0] for m in handler.messages) == ["ok@example.net", "slow@example.net"]


@pytest.mark.parametrize("crash_at", ["send.before_data", "send.after_data"])
def test_kill_9_mid_delivery_loses_nothing_and_sends_nothing_twice(make_daemon, sink, crash_at):
    """Killed after `sending` is committed and before DATA (the server has nothing), or after the server's
    250 and before `sent` is committed (it has the message): either way the message is `uncertain` after
    the restart and is not sent again by itself. A person who knows it did not arrive sends it again."""
    controller, handler = sink
    daemon = make_daemon(extra_env={"MAILFLEETD_CRASH_AT": crash_at}).start()
    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port))
        sent = c.call("messages.send", {"account_id": acc["id"], "subject": "Hi", "text": "hi",
                                        "to": ["anna@example.net"]})
    daemon.restart_after_the_crash()
    with daemon.client() as c:
        job = c.call("queue.job", {"id": sent["job"]})
        assert job["states"] == {"uncertain": 1} and job["done"] is False
        entry = c.call("queue.list", {"job": sent["job"]})["items"][0]
        assert "the server may have it" in entry["reply"]
        assert c.call("events.list", {"type": "send.uncertain"})["items"][0]["recipients"] == ["anna@example.net"]
        assert len(handler.messages) == (1 if crash_at == "send.after_data" else 0)
        if crash_at == "send.before_data":
            assert c.call("queue.retry", {"ids": [entry["id"]]}) == {"queued": 1}
            assert wait_done(c, sent["job"])["states"] == {"sent": 1}
    daemon.stop()
    assert len(handler.messages) == 1, "sent once, whatever the crash"


def _hand_over(way: str, daemon, port: int, account: dict) -> None:
    """One message to anna@example.net through `way` (the API, or SMTP submission with a fresh login),
    into a daemon that is killed along the way: whatever the caller hears is not waited for."""
    if way == "api":
        try:
            with daemon.client(timeout=5) as c:
                c.call("messages.send", {"account_id": account["id"], "text": "hi", "to": ["anna@example.net"]})
        except Exception:  # noqa: BLE001 (killed before or after answering)
            pass
        return
    with daemon.client() as c:
        login = c.call("submission.add", {"name": "crash"})
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.login(login["login"], login["password"])
            smtp.sendmail("sales@shop.test", ["anna@example.net"], b"Subject: Hi\r\n\r\nhi\r\n")
    except (smtplib.SMTPException, OSError):
        pass


@pytest.mark.parametrize("way", ["api", "smtp"])
@pytest.mark.parametrize("crash_at", ["send.before_commit", "send.after_commit"])
def test_kill_9_around_the_commit_of_what_is_handed_over(make_daemon, sink, way, crash_at):
    """Killed with the message written and not committed, the caller heard nothing and nothing is queued
    (it hands it over again); killed once it is committed and before the caller heard, it is sent, once."""
    controller, handler = sink
    port = free_port()
    daemon = make_daemon(config=f'[sending]\nsubmission = "127.0.0.1:{port}"\n').start()
    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port))
    daemon.env["MAILFLEETD_CRASH_AT"] = crash_at
    daemon.stop()
    daemon.start()
    _hand_over(way, daemon, port, acc)
    daemon.restart_after_the_crash()
    with daemon.client() as c:
        jobs = c.call("queue.list", {})["items"]
        if crash_at == "send.before_commit":
            assert jobs == []
        else:
            assert [j["recipient"] for j in jobs] == ["anna@example.net"]
            assert wait_done(c, jobs[0]["job_id"])["states"] == {"sent": 1}
    daemon.stop()
    assert len(handler.messages) == (0 if crash_at == "send.before_commit" else 1)


def test_kill_9_before_the_last_message_of_a_batch_leaves_the_one_before_it_sent(make_daemon, sink):
    """The second of two killed before its DATA: the first, which the server took, is `sent` (its 250 was
    committed before the second began), the second `uncertain`; nothing is sent again."""
    controller, handler = sink
    daemon = make_daemon(extra_env={"MAILFLEETD_CRASH_AT": "send.before_data@2"}).start()
    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port))
        sent = c.call("messages.send", {"account_id": acc["id"], "text": "hi",
                                        "to": ["anna@example.net", "bob@example.net"]})
    daemon.restart_after_the_crash()
    with daemon.client() as c:
        states = {r["recipient"]: r["state"] for r in c.call("queue.list", {"job": sent["job"]})["items"]}
    daemon.stop()
    assert states == {"anna@example.net": "sent", "bob@example.net": "uncertain"}
    assert [m.rcpt_tos for m in handler.messages] == [["anna@example.net"]]


def test_kill_9_once_sent_is_committed_sends_nothing_again(make_daemon, sink):
    controller, handler = sink
    daemon = make_daemon(extra_env={"MAILFLEETD_CRASH_AT": "send.sent_committed"}).start()
    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port))
        sent = c.call("messages.send", {"account_id": acc["id"], "text": "hi", "to": ["anna@example.net"]})
    daemon.restart_after_the_crash()
    with daemon.client() as c:
        job = c.call("queue.job", {"id": sent["job"]})
        assert job["states"] == {"sent": 1} and job["done"] is True
    daemon.stop()
    assert len(handler.messages) == 1


def test_the_cli_sends_and_lists_the_queue(make_daemon, sink, tmp_path):
    controller, handler = sink
    daemon = make_daemon().start()
    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port))
    (tmp_path / "body.txt").write_text("Dear customer,\nhello.\n")
    (tmp_path / "prices.pdf").write_bytes(b"%PDF-1.4 not really\n")

    def ctl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mailfleet.ctl", "--socket", daemon.endpoint, *args],
                              capture_output=True, text=True, env=daemon.env, timeout=30)

    out = ctl("send", "--account", str(acc["id"]), "--to", "anna@example.net", "--subject", "Prices",
              "--text", str(tmp_path / "body.txt"), "--attach", str(tmp_path / "prices.pdf"))
    assert out.returncode == 0 and out.stdout.startswith("job 1: 1 queued"), out
    with daemon.client() as c:
        wait_done(c, 1)
    listed = ctl("queue", "list", "--state", "sent")
    assert listed.returncode == 0 and "anna@example.net" in listed.stdout and "250" in listed.stdout
    msg = parsed(handler.messages[0].data)
    attachment = next(msg.iter_attachments())
    assert attachment.get_filename() == "prices.pdf" and attachment.get_content() == b"%PDF-1.4 not really\n"
    refused = ctl("send", "--account", str(acc["id"]), "--to", "x@example.net", "--text", "-",
                  "--header", "Bcc: someone@example.net")
    assert refused.returncode == 1 and "set per recipient by mailfleet" in refused.stderr
    daemon.stop()


def test_only_through_accounts_you_may_see_as_other_unix_users(make_daemon, sink):
    controller, _ = sink
    for user in ("mfalice", "mfbob"):
        ensure_user(user, "mftest")
    daemon = make_daemon(mode="system", config='[daemon]\nsocket_group = "mftest"\n').start()
    ep = daemon.endpoint
    private = rpc_as("mfbob", ep, "accounts.create", sales(controller.port))["result"]
    sent = rpc_as("mfbob", ep, "messages.send", {"account_id": private["id"], "to": ["a@example.net"], "text": "x"})
    job = sent["result"]["job"]
    for method, params in (("messages.send", {"account_id": private["id"], "to": ["a@example.net"], "text": "x"}),
                           ("queue.job", {"id": job}), ("queue.list", {"account_id": private["id"]}),
                           ("queue.retry", {"ids": [1]}), ("queue.summary", {"account_id": private["id"]})):
        assert rpc_as("mfalice", ep, method, params)["error"]["code"] == P.NOT_FOUND, method
    assert rpc_as("mfalice", ep, "queue.list", {})["result"]["total"] == 0
    assert rpc_as("mfalice", ep, "events.list", {"type": "send."})["result"]["items"] == []
    assert rpc_as("mfbob", ep, "queue.list", {})["result"]["total"] == 1
    daemon.stop()


def test_a_mailer_submits_over_smtp_with_a_login_of_its_own(make_daemon, sink):
    """A plain smtplib client, as a mailer's SMTP setting would: a login made with mailfleetctl, the account
    picked by the envelope sender, 250 only once queued; a wrong or revoked password, or an address no
    account of the user's sends as, is refused."""
    import smtplib

    from ..support.servers import free_port

    controller, handler = sink
    port = free_port()
    daemon = make_daemon(config=f'[sending]\nsubmission = "127.0.0.1:{port}"\n').start()
    with daemon.client() as c:
        c.call("accounts.create", sales(controller.port))
    made = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "--socket", daemon.endpoint, "submission", "add",
                           "listmonk", "--json"], capture_output=True, text=True, env=daemon.env, timeout=30)
    assert made.returncode == 0, made.stderr
    login = json.loads(made.stdout)
    assert login["listen"] == f"127.0.0.1:{port}"
    message = (b"From: Shop <sales@shop.test>\r\nTo: Undisclosed <list@shop.test>\r\nSubject: News\r\n"
               b"Message-ID: <from-the-mailer@x>\r\n\r\nHello\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.login(login["login"], login["password"])
        refused = smtp.sendmail("sales@shop.test", ["anna@example.net", "bob@example.net"], message)
        assert refused == {}
        with pytest.raises(smtplib.SMTPDataError) as nobody:
            smtp.sendmail("ceo@elsewhere.test", ["anna@example.net"],
                          message.replace(b"sales@shop.test", b"ceo@elsewhere.test"))
        assert nobody.value.smtp_code == 550
    with daemon.client() as c:
        wait_done(c, 1)
        assert c.call("queue.job", {"id": 1})["states"] == {"sent": 2} and c.call("queue.job", {"id": 1})[
            "source"] == "smtp"
        listed = c.call("submission.list", {})["items"]
        assert listed[0]["last_used_at"] and "password" not in listed[0] and "secret_hash" not in listed[0]
    got = sorted(handler.messages, key=lambda m: m.rcpt_tos[0])
    assert [m.rcpt_tos for m in got] == [["anna@example.net"], ["bob@example.net"]]
    for m in got:  # each its own To and our Message-ID, not the mailer's
        assert f"To: {m.rcpt_tos[0]}".encode() in m.data and b"<from-the-mailer@x>" not in m.data
    for wrong in ("not-the-password", None):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp, pytest.raises(smtplib.SMTPAuthenticationError):
            if wrong is None:
                with daemon.client() as c:
                    c.call("submission.revoke", {"id": login["id"]})
            smtp.login(login["login"], wrong or login["password"])
    daemon.stop()
    assert login["password"] not in daemon.log()
    assert login["password"].encode() not in daemon.paths.database.read_bytes()


def test_limits_hold_over_everything_that_sends_through_the_account(make_daemon, sink):
    """Eight senders at once (four over the API, four over SMTP submission), one account limited to five
    messages a second: at the server, no second ever holds more than five."""
    import smtplib
    import threading

    from ..support.servers import free_port

    controller, handler = sink
    port = free_port()
    daemon = make_daemon(config=f'[sending]\nsubmission = "127.0.0.1:{port}"\n').start()
    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port, limits={"per_second": 5}))
        login = c.call("submission.add", {"name": "bulk"})

    def over_api(n: int) -> None:
        with daemon.client() as own:
            own.call("messages.send", {"account_id": acc["id"], "text": "x",
                                       "to": [f"api{n}-{i}@example.net" for i in range(5)]})

    def over_smtp(n: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.login(login["login"], login["password"])
            smtp.sendmail("sales@shop.test", [f"smtp{n}-{i}@example.net" for i in range(5)],
                          b"From: sales@shop.test\r\nSubject: x\r\n\r\nx\r\n")

    threads = [threading.Thread(target=f, args=(n,)) for n in range(4) for f in (over_api, over_smtp)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with daemon.client() as c:
        for job in range(1, 9):
            wait_done(c, job)
    daemon.stop()
    times = sorted(m.at for m in handler.messages)
    assert len(times) == 40
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 5, f"{busiest} messages within one second"


async def test_the_queue_as_a_person_sees_it_in_the_terminal_ui(make_daemon):
    """'u' on an account: its counts (sent today against the preset's daily limit) and each recipient's
    state, the server's reply shown as text (markup and wide characters in it), live as it changes."""
    from mailfleet.tui.components.account_table import AccountTable
    from mailfleet.tui.components.queue import QueueScreen

    from .test_tui import SIZE, app_for, displayed, until

    handler = Sink(refuse={"ghost@example.net": "550 5.1.1 <ghost@example.net>: [b]no such user[/b] 日本"})
    controller = sink_server(handler)
    daemon = make_daemon().start()
    try:
        with daemon.client() as c:
            acc = c.call("accounts.create", sales(controller.port, limits={"preset": "google_workspace"}))
            c.call("contacts.import", {"csv": "email\nhush@example.net\nghost@example.net\n"})
            c.call("contacts.update", {"email": "hush@example.net", "status": "faulty"})
            job = c.call("messages.send", {"account_id": acc["id"], "text": "x",
                                           "to": ["anna@example.net", "ghost@example.net", "hush@example.net"]})
            wait_done(c, job["job"])
        app = app_for(daemon)
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            table = app.query_one(AccountTable)
            await until(pilot, lambda: table.total == 1 and table.current is not None)
            await pilot.press("u")
            await until(pilot, lambda: isinstance(app.screen, QueueScreen) and "sent today" in displayed(app))
            shown = " ".join(displayed(app).split())
            assert "queued 0 · sending 0 · sent today 1 of 2,000 · deferred 0 · failed 1 · suppressed 1" in shown
            assert "anna@example.net sent 1" in shown and "suppressed: a faulty contact" in shown
            # Newest change first: the refused one (anna's 250 was committed before ghost was tried), its
            # reply in full below the list.
            await until(pilot, lambda: "550 5.1.1 <ghost@example.net>: [b]no such user[/b] 日本 (at RCPT TO)"
                        in " ".join(displayed(app).split()))
            with daemon.client() as c:  # sent elsewhere meanwhile: the screen follows
                c.call("messages.send", {"account_id": acc["id"], "text": "x", "to": ["bob@example.net"]})
            await until(pilot, lambda: "sent today 2 of 2,000" in " ".join(displayed(app).split()), timeout=20)
            await pilot.press("escape", "c")  # the refused address's contact: its bounce, and what it was matched by
            await until(pilot, lambda: type(app.screen).__name__ == "ContactsScreen" and "ghost@example.net" in
                        displayed(app))
            await pilot.press("f")  # the faulty ones: ghost (marked by the refusal) and hush
            await until(pilot, lambda: app.screen.query_one("#contacts-table").row_count == 2)
            await pilot.press("enter")
            await until(pilot, lambda: "(matched by the returned Message-ID)" in " ".join(displayed(app).split()))
            assert "HARD 5.1.1 userunknown" in " ".join(displayed(app).split())
    finally:
        daemon.stop()
        controller.stop()


def test_an_account_with_a_proxy_sends_through_it(make_daemon, sink, tmp_path):
    """Proxy mode applies to sending as to tests: through SOCKS5 with a login and through an HTTP CONNECT
    proxy the message arrives; a proxy that refuses the login defers it, in words that name the proxy and
    not its password."""
    controller, handler = sink
    socks, http = Microsocks("proxyuser", "proxy-pw-77"), Tinyproxy(tmp_path / "tinyproxy")
    daemon = make_daemon().start()
    try:
        with daemon.client() as c:
            def via(proxy: str, to: str) -> dict:
                acc = c.call("accounts.create", sales(controller.port, name=f"Via {to}", email=f"sales-{to}",
                                                      smtp={**sales(controller.port)["smtp"], "proxy": proxy}))
                job = c.call("messages.send", {"account_id": acc["id"], "to": [to], "text": "hi"})["job"]
                deadline = time.monotonic() + 30
                while (row := c.call("queue.list", {"job": job})["items"][0])["state"] in ("queued", "sending"):
                    assert time.monotonic() < deadline, row
                    time.sleep(0.05)
                return row

            assert via(f"socks5://proxyuser:proxy-pw-77@127.0.0.1:{socks.port}", "a@example.net")["state"] == "sent"
            assert via(f"http://127.0.0.1:{http.port}", "b@example.net")["state"] == "sent"
            refused = via(f"socks5://proxyuser:wrong-pw@127.0.0.1:{socks.port}", "c@example.net")
            assert refused["state"] == "deferred" and "proxy" in refused["reply"].lower(), refused
            assert "wrong-pw" not in refused["reply"]
    finally:
        daemon.stop()
        socks.stop()
        http.stop()
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == ["a@example.net", "b@example.net"]
    assert "wrong-pw" not in daemon.log() and "proxy-pw-77" not in daemon.log()


def test_non_ascii_addresses_go_as_rfc_6531_says(make_daemon, sink):
    """A non-ASCII domain goes as its A-label, which any server takes; a non-ASCII local part goes with
    SMTPUTF8 where the server offers it, and a server without it fails that message in words, not the
    account's other mail."""
    controller, handler = sink
    plain_handler = Sink()
    plain = sink_server(plain_handler, smtputf8=False)
    daemon = make_daemon().start()
    try:
        with daemon.client() as c:
            to = ["anna@bücher.example", "zoë@example.net", "bob@example.net"]
            acc = c.call("accounts.create", sales(controller.port))
            job = c.call("messages.send", {"account_id": acc["id"], "text": "hi", "to": to})["job"]
            assert wait_done(c, job)["states"] == {"sent": 3}
            old = c.call("accounts.create", sales(plain.port, name="Old", email="old@shop.test"))
            job = c.call("messages.send", {"account_id": old["id"], "text": "hi", "to": to})["job"]
            assert wait_done(c, job)["states"] == {"sent": 2, "failed": 1}
            rows = {r["recipient"]: r for r in c.call("queue.list", {"job": job})["items"]}
    finally:
        daemon.stop()
        plain.stop()
    assert "does not offer SMTPUTF8" in rows["zoë@example.net"]["reply"]
    by = {m.rcpt_tos[0]: m for m in handler.messages}
    assert sorted(by) == ["anna@xn--bcher-kva.example", "bob@example.net", "zoë@example.net"]
    assert "SMTPUTF8" in by["zoë@example.net"].mail_options and not by["bob@example.net"].mail_options
    assert parsed(by["anna@xn--bcher-kva.example"].data)["To"] == "anna@xn--bcher-kva.example"
    assert parsed(by["zoë@example.net"].data)["To"] == "zoë@example.net"
    assert sorted(m.rcpt_tos[0] for m in plain_handler.messages) == ["anna@xn--bcher-kva.example", "bob@example.net"]


def test_a_warm_up_holds_the_first_day_to_its_share_across_a_restart(make_daemon, sink):
    """20 a day over a 10-day warm-up: 2 on the first day. Five handed over: two go, three wait, and the
    account says why; after a restart the day's two are read back from the queue, so none more go."""
    controller, handler = sink
    daemon = make_daemon().start()

    def paused_summary(c, account_id: int) -> dict:
        deadline = time.monotonic() + 30
        while not (summary := c.call("queue.summary", {"account_id": account_id}))["paused"]:
            assert time.monotonic() < deadline, summary
            time.sleep(0.05)
        return summary

    with daemon.client() as c:
        acc = c.call("accounts.create", sales(controller.port, limits={"per_day": 20, "warmup_days": 10}))
        c.call("messages.send", {"account_id": acc["id"], "text": "hi", "to": [f"r{i}@example.net" for i in range(5)]})
        summary = paused_summary(c, acc["id"])
    assert (summary["sent_today"], summary["states"]["queued"], summary["per_day"], summary["warming_up"]) == (
        2, 3, 2, True)
    assert summary["paused"] > 3600, "the next one waits for the day's window, not a retry"
    shown = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "--socket", daemon.endpoint, "queue", "summary",
                            str(acc["id"])], capture_output=True, text=True, env=daemon.env, timeout=30)
    assert "sent today          2 of 2 a day (warming up)" in shown.stdout, shown
    daemon.stop()
    daemon.start()
    with daemon.client() as c:
        summary = paused_summary(c, acc["id"])
    daemon.stop()
    assert (summary["sent_today"], summary["states"]["queued"]) == (2, 3), "a restart starts no new day"
    assert len(handler.messages) == 2
