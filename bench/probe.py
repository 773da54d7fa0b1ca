"""200 own accounts tested at once against local servers (aiosmtpd SMTP + Dovecot IMAP), beside one probe.

Run (as root, Dovecot installed): .venv/bin/python -m bench.probe [--accounts N]

The baseline is one account's test measured in the same run. Target
(issue 3): all 200 finish within 3x the time of one — the concurrency
bound does its job and nothing serialises. Measured twice: straight to the
servers on 127.0.0.1, where a test is pure CPU shared by the daemon and
both servers on the same cores, and through `link.py`, a relay that gives
each connection the round trip of a real network (`--rtt`, default 40 ms),
where what matters is whether the waits overlap.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import ScratchDaemon
from bench.link import Link

from tests.support.mailservers import PASSWORD, USER, smtp_server
from tests.support.servers import Dovecot

BOX_PW = "bench-pw"


def create_accounts(c, n: int, tag: str, smtp_port: int, imap_port: int) -> list[int]:
    return [c.call("accounts.create", {
        "kind": "own", "name": f"bench {tag} {i}", "email": f"{tag}{i}@example.com",
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "user": USER, "password": PASSWORD},
        "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": imap_port, "ssl": False,
                     "user": f"box{i}@example.com", "password": BOX_PW, "poll_interval": 86400},
    })["id"] for i in range(n)]


def measure(c, ids: list[int]) -> tuple[float, float]:
    """(one account's test, median of 5; all of them at once), in seconds."""
    c.call("accounts.test", {"id": ids[0]})  # warm-up
    singles = []
    for _ in range(5):
        t0 = time.perf_counter()
        assert c.call("accounts.test", {"id": ids[0]})["ok"]
        singles.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    result = c.call("accounts.test_many", {"ids": ids})
    many = time.perf_counter() - t0
    assert result["ok"], [r for r in result["results"] if not r["ok"]][:1]
    return statistics.median(singles), many


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--rtt", type=float, default=40, help="round trip of the emulated link, ms")
    parser.add_argument("--concurrency", type=int, default=0, help="[probe] concurrency (default: the daemon's)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mfq", dir="/tmp"))
    os.chmod(root, 0o755)
    dovecot = Dovecot(root / "dovecot")
    for n in range(args.accounts):  # a mailbox each, as real accounts have: no lock shared by all
        dovecot.add_user(f"box{n}@example.com", BOX_PW)
    dovecot.start()
    controller, _ = smtp_server("plain")
    link = Link({"smtp": controller.port, "imap": dovecot.imap_port}, args.rtt).start()
    # The poll schedule off: a new account's first mailbox read would otherwise run during the tests.
    config = "[poll]\nschedule = false\n"
    if args.concurrency:
        config += f"[probe]\nconcurrency = {args.concurrency}\n"
    daemon = ScratchDaemon(config).start()
    try:
        with daemon.client(timeout=600) as c:
            direct = create_accounts(c, args.accounts, "d", controller.port, dovecot.imap_port)
            remote = create_accounts(c, args.accounts, "r", link.ports["smtp"], link.ports["imap"])
            rows = [("127.0.0.1, direct", *measure(c, direct)),
                    (f"through a {args.rtt:g} ms RTT link", *measure(c, remote))]
        print(f"connection tests (SMTP: aiosmtpd, IMAP: Dovecot; {args.accounts} accounts; [probe] concurrency "
              f"{args.concurrency or 'default'})")
        for label, one, many in rows:
            print(f"  {label}:")
            print(f"    one account (median of 5):  {one * 1000:8.1f} ms")
            print(f"    {args.accounts} accounts at once:    {many * 1000:8.1f} ms   ({many / one:.1f}x one; target <= 3x)")
    finally:
        daemon.cleanup()
        link.stop()
        controller.stop()
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
