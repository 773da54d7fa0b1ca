"""Sending: messages handed to the daemon → delivered into an SMTP sink, beside a raw aiosmtplib loop over
the same kind of connection, to the same sink, in the same run; then a long run under a per-minute limit,
counting the windows where the sink saw more than the limit.

Run: .venv/bin/python -m bench.send [--messages N] [--limited N] [--per-minute N]

Targets (issue 16): the daemon's throughput ≥ 0.7× the raw loop's (it commits each message's state, in
one statement that also marks the next one `sending`, renders its headers, and keeps the account's
window; the raw loop only sends), and 0 window violations for 100,000 messages under a per-minute limit.
"""

from __future__ import annotations

import argparse
import asyncio
import smtplib
import os
import subprocess
import sys
import tempfile
import time

import aiosmtplib

from bench.common import ScratchDaemon

from tests.support.mailservers import PASSWORD, USER
from tests.support.servers import free_port

BODY = b"From: sales@shop.test\r\nTo: someone@example.net\r\nSubject: Spring offer\r\n\r\n" + b"Hello there.\r\n" * 20


def raw_loop(port: int, n: int) -> float:
    """aiosmtplib alone: one connection, MAIL/RCPT/DATA for each message; seconds taken."""
    async def run() -> float:
        started = time.perf_counter()
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60) as smtp:
            await smtp.login(USER, PASSWORD)
            for i in range(n):
                await smtp.sendmail("sales@shop.test", [f"raw{i}@example.net"], BODY)
        return time.perf_counter() - started
    return asyncio.run(run())


class SinkProcess:
    """The SMTP sink in a process of its own (neither the raw loop nor the daemon shares its interpreter):
    aiosmtpd taking every message, one line per message (when, to whom) in a file."""

    SCRIPT = """
import sys, time
from tests.support.mailservers import Sink, sink_server
out = open(sys.argv[1], "a", buffering=1)
class Recording(Sink):
    async def handle_DATA(self, server, session, envelope):
        out.write(f"{time.time()} {envelope.rcpt_tos[0]}\\n")
        return "250 OK"
controller = sink_server(Recording())
print(controller.port, flush=True)
sys.stdin.read()
controller.stop()
"""

    def __init__(self) -> None:
        self.file = tempfile.NamedTemporaryFile(prefix="mfsink", delete=False).name
        self.proc = subprocess.Popen([sys.executable, "-c", self.SCRIPT, self.file], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     cwd=os.getcwd())
        self.port = int(self.proc.stdout.readline())

    def lines(self) -> list[str]:
        with open(self.file) as fh:
            return fh.read().splitlines()

    def count(self) -> int:
        with open(self.file, "rb") as fh:
            return fh.read().count(b"\n")

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        os.unlink(self.file)


def through_daemon(daemon: ScratchDaemon, sink: SinkProcess, account: int, n: int, tag: str) -> float:
    """messages.send in jobs of 1,000 recipients, until the sink has them all; seconds taken."""
    before = sink.count()
    started = time.perf_counter()
    with daemon.client(timeout=120) as c:
        for first in range(0, n, 1000):
            c.call("messages.send", {"account_id": account, "subject": "Spring offer", "text": "Hello there.\n" * 20,
                                     "to": [f"{tag}{i}@example.net" for i in range(first, min(n, first + 1000))]})
    while sink.count() - before < n:
        time.sleep(0.01)  # the sink's count is the condition; a benchmark's poll, not a test's
    return time.perf_counter() - started


def through_submission(port: int, login: dict, sink: SinkProcess, n: int, tag: str) -> float:
    """SMTP submission (smtplib, as a mailer), 1,000 recipients a message, until the sink has them all."""
    before = sink.count()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        smtp.login(login["login"], login["password"])
        for first in range(0, n, 1000):
            smtp.sendmail("free@shop.test", [f"{tag}{i}@example.net" for i in range(first, min(n, first + 1000))],
                          BODY)
    while sink.count() - before < n:
        time.sleep(0.01)
    return time.perf_counter() - started


def busiest_minute(times: list[float]) -> int:
    """The most messages the sink received within any 60 seconds (two pointers over sorted times)."""
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 60.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="messages for the throughput comparison")
    parser.add_argument("--limited", type=int, default=100_000, help="messages for the limited run (0: skip)")
    parser.add_argument("--per-minute", type=int, default=12_000, help="the limited run's per-minute limit")
    args = parser.parse_args()

    sink = SinkProcess()
    submission = free_port()
    daemon = ScratchDaemon(config=f'[sending]\nsubmission = "127.0.0.1:{submission}"\n').start()
    try:
        with daemon.client() as c:
            def account(name: str, **limits) -> int:
                return c.call("accounts.create", {
                    "name": name, "email": f"{name}@shop.test", "limits": limits,
                    "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none", "user": USER,
                             "password": PASSWORD}})["id"]
            free, limited = account("free"), account("limited", per_minute=args.per_minute)
            login = c.call("submission.add", {"name": "bench"})
        through_daemon(daemon, sink, free, 200, "warm")  # the first connection, imports, caches
        raw_loop(sink.port, 200)
        ours, raw, smtp = [], [], []
        for round_ in range(3):  # in turn: the machine's noise falls on all three
            raw.append(raw_loop(sink.port, args.messages))
            ours.append(through_daemon(daemon, sink, free, args.messages, f"r{round_}-"))
            smtp.append(through_submission(submission, login, sink, args.messages, f"s{round_}-"))
        best_raw = min(raw)
        print(f"throughput, {args.messages} messages, best of 3:")
        print(f"  raw aiosmtplib loop              {args.messages / best_raw:8.0f} msg/s")
        for label, times in (("messages.send → sink", ours), ("SMTP submission → sink", smtp)):
            print(f"  mailfleet, {label:22} {args.messages / min(times):8.0f} msg/s   ratio "
                  f"{best_raw / min(times):.2f}× (target ≥ 0.7×)")
        if args.limited:
            start = sink.count()
            took = through_daemon(daemon, sink, limited, args.limited, "lim")
            most = busiest_minute([float(line.split()[0]) for line in sink.lines()[start:]])
            least = max(0, args.limited - args.per_minute) / args.per_minute  # a full window at once, then the rate
            print(f"limited run: {args.limited} messages at ≤ {args.per_minute}/minute took {took / 60:.1f} min "
                  f"(the least the limit allows: {least:.1f} min); busiest 60 s held {most}; "
                  f"{'no window over the limit' if most <= args.per_minute else 'OVER THE LIMIT'}")
    finally:
        daemon.cleanup()
        sink.stop()


if __name__ == "__main__":
    main()
