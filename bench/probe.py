"""200 own accounts tested at once against local servers (aiosmtpd SMTP + Dovecot IMAP), beside one probe.

Run (as root, Dovecot installed): .venv/bin/python bench/probe.py [--accounts N]

The baseline is one account's test measured in the same run. Target
(issue 3): all 200 finish within 3x the time of one — the concurrency
bound does its job and nothing serialises.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ScratchDaemon  # noqa: E402

from tests.mailservers import PASSWORD, USER, smtp_server  # noqa: E402
from tests.servers import Dovecot  # noqa: E402

BOX_PW = "bench-pw"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=0, help="[probe] concurrency (default: the daemon's)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mfq", dir="/tmp"))
    os.chmod(root, 0o755)
    dovecot = Dovecot(root / "dovecot")
    for n in range(args.accounts):  # a mailbox each, as real accounts have: no lock shared by all
        dovecot.add_user(f"box{n}@example.com", BOX_PW)
    dovecot.start()
    controller, _ = smtp_server("plain")
    daemon = ScratchDaemon(f"[probe]\nconcurrency = {args.concurrency}\n" if args.concurrency else "").start()
    try:
        with daemon.client(timeout=600) as c:
            ids = []
            for n in range(args.accounts):
                ids.append(c.call("accounts.create", {
                    "kind": "own", "name": f"bench {n}", "email": f"b{n}@example.com",
                    "smtp": {"host": "127.0.0.1", "port": controller.port, "security": "none", "user": USER,
                             "password": PASSWORD},
                    "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": dovecot.imap_port, "ssl": False,
                                 "user": f"box{n}@example.com", "password": BOX_PW, "poll_interval": 86400},
                })["id"])
            c.call("accounts.test", {"id": ids[0]})  # warm-up
            singles = []
            for _ in range(5):
                t0 = time.perf_counter()
                assert c.call("accounts.test", {"id": ids[0]})["ok"]
                singles.append(time.perf_counter() - t0)
            one = statistics.median(singles)
            t0 = time.perf_counter()
            result = c.call("accounts.test_many", {"ids": ids})
            many = time.perf_counter() - t0
        assert result["ok"], [r for r in result["results"] if not r["ok"]][:1]
        if os.environ.get("MF_BENCH_STEPS"):
            import collections
            worst = collections.defaultdict(list)
            for r in result["results"]:
                for key in ("smtp", "incoming"):
                    for st in r[key]["steps"]:
                        worst[(key, st["name"])].append(st["ms"])
            for k, v in sorted(worst.items(), key=lambda kv: -max(kv[1])):
                print(k, "max", max(v), "median", statistics.median(v))
        print(f"connection tests (SMTP: aiosmtpd, IMAP: Dovecot; 127.0.0.1; [probe] concurrency "
              f"{args.concurrency or 'default'})")
        print(f"  one account (median of 5):    {one * 1000:7.1f} ms")
        print(f"  {args.accounts} accounts at once:      {many * 1000:7.1f} ms   ({many / one:.1f}x one; target <= 3x)")
    finally:
        daemon.cleanup()
        controller.stop()
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
