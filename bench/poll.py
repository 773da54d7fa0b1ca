"""A mailbox round at scale: 10,000 bounces in one Dovecot mailbox, read, classified, committed, deleted.

Run (as root, Dovecot installed): .venv/bin/python -m bench.poll [--messages N] [--runs N]

Baseline, measured in the same run on the same mailbox: a raw imaplib
`UID FETCH 1:* BODY.PEEK[]` of the same messages, plus the classifier alone
over them. Target (issue 4): the daemon's round <= 1.5x that sum. Each run measures its own floor
and a fresh daemon's round; the figure is the median ratio, since these machines' speed moves between runs
by more than the target's margin.
"""

from __future__ import annotations

import argparse
import imaplib
import os
import pwd
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import ScratchDaemon

from mailfleet.shared.bounces import classify
from tests.support.servers import Dovecot

USER, PASSWORD = "bench@bounce.test", "bench-pw"
REASONS = [("5.1.1", "550 5.1.1 <{r}>: Recipient address rejected: User unknown"),
           ("5.2.2", "552 5.2.2 <{r}>: Mailbox full"),
           ("4.4.7", "Delivery time expired"),
           ("5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org")]


def bounce(n: int) -> bytes:
    r = f"rcpt{n}@example.com"
    status, diag = REASONS[n % len(REASONS)]
    return (
        f"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\nTo: {USER}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bench-{n}@mx.example.net>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        f"--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.net.\r\n\r\n"
        f"<{r}>: host mx.example.com said: {diag.format(r=r)}\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {r}\r\nOriginal-Recipient: rfc822;{r}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diag.format(r=r)}\r\n\r\n"
        f"--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: {USER}\r\nTo: {r}\r\nSubject: Our news\r\n\r\n"
        + "Some newsletter text.\r\n" * 40 + "--B--\r\n"
    ).encode()


def fill_maildir(dovecot: Dovecot, count: int) -> None:
    """Drop the messages straight into the Maildir (APPENDing 10,000 would take longer than the benchmark)."""
    new = dovecot.mail / USER / "new"
    for sub in ("new", "cur", "tmp"):
        (dovecot.mail / USER / sub).mkdir(parents=True, exist_ok=True)
    entry = pwd.getpwnam("dovecot")
    for n in range(count):
        path = new / f"{1700000000 + n}.M{n}P1.bench"
        path.write_bytes(bounce(n))
    for root, dirs, files in os.walk(dovecot.mail):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def raw_fetch(dovecot: Dovecot) -> list[bytes]:
    conn = imaplib.IMAP4("127.0.0.1", dovecot.imap_port)
    conn.login(USER, PASSWORD)
    conn.select("INBOX")
    _, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
    conn.logout()
    return [item[1] for item in data if isinstance(item, tuple)]


def one_run(dovecot: Dovecot, count: int) -> tuple[float, float, float, dict]:
    """One measurement: the floor's two parts, then a fresh daemon's round over the same mailbox, refilled."""
    fill_maildir(dovecot, count)
    raw_fetch(dovecot)  # let Dovecot index the new Maildir before anything is timed

    t0 = time.perf_counter()
    messages = raw_fetch(dovecot)
    t_fetch = time.perf_counter() - t0
    t0 = time.perf_counter()
    for raw in messages:
        classify(raw)
    t_classify = time.perf_counter() - t0
    assert len(messages) == count

    daemon = ScratchDaemon().start()
    try:
        with daemon.client(timeout=600) as c:
            c.call("contacts.import", {"csv": "email\n" + "\n".join(f"rcpt{n}@example.com" for n in range(count))})
            acc = c.call("accounts.create", {
                "kind": "own", "name": "bench", "email": USER,
                "smtp": {"host": "127.0.0.1", "authenticate": False, "security": "none"},
                "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": dovecot.imap_port, "ssl": False,
                             "user": USER, "password": PASSWORD, "batch_size": 10000, "delete_bounces": True,
                             "poll_interval": 86400},
            })
            t0 = time.perf_counter()
            result = c.call("accounts.poll", {"id": acc["id"]})
            t_round = time.perf_counter() - t0
    finally:
        daemon.cleanup()
    assert result["ok"] and result["fetched"] == count and result["deleted"] == count, result
    assert len(raw_fetch(dovecot)) == 0
    return t_fetch, t_classify, t_round, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5,
                        help="measurements, each with its own floor and a fresh daemon; the median ratio is the figure")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mfp", dir="/tmp"))
    os.chmod(root, 0o755)
    dovecot = Dovecot(root / "dovecot")
    dovecot.add_user(USER, PASSWORD)
    dovecot.start()
    try:
        print(f"{args.messages:,} bounce messages in one Dovecot mailbox (IMAP on 127.0.0.1), {args.runs} runs")
        ratios = []
        for run in range(1, args.runs + 1):
            t_fetch, t_classify, t_round, result = one_run(dovecot, args.messages)
            floor = t_fetch + t_classify
            ratios.append(t_round / floor)
            print(f"run {run}:")
            print(f"  raw imaplib UID FETCH BODY.PEEK[]:   {t_fetch:6.2f} s  ({args.messages / t_fetch:8.0f} msg/s)")
            print(f"  classifier alone over them:          {t_classify:6.2f} s  ({args.messages / t_classify:8.0f} msg/s)")
            print(f"  sum (the floor):                     {floor:6.2f} s")
            print(f"  mailfleetd round (read, classify, commit {result['hard']} hard + {result['soft']} soft, "
                  f"mark {result.get('marked_faulty', 0)}, delete {result['deleted']}): {t_round:6.2f} s")
            print(f"  ratio: {t_round / floor:.2f}x")
        print(f"ratio over {args.runs} runs: median {statistics.median(ratios):.2f}x, "
              f"{min(ratios):.2f}-{max(ratios):.2f}x   target <= 1.5x")
    finally:
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
