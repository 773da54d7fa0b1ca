"""Short requests while long work hangs: system.ping and accounts.list with 1,000 connection tests and
100 mailbox polls in flight against servers that accept and never speak.

Run: .venv/bin/python -m bench.busy [--tests N] [--polls N] [--rounds N]

Baseline, same run, same daemon: the same calls with nothing else under way.
Target (issue 11): p99 <= 50 ms for both under load. Before long work had its
own bounds, 80 such tests held every request place and a ping waited 9.6 s.
"""

from __future__ import annotations

import argparse
import json
import time

import zmq

from bench.common import ScratchDaemon, ms, summary
from rpc import roundtrips

from tests.support.mailservers import Silent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()
    smtp, imap = Silent(), Silent()
    load = args.tests + args.polls
    daemon = ScratchDaemon(config=(
        f"[daemon]\nmax_long_requests_per_user = {load + 100}\nmax_long_requests = {load + 100}\n"
        "[poll]\nschedule = false\ntimeout = 600\nround_timeout = 600\n"
        # Every test holds a connection: the worst case, not the default bound of 100 (50 per user).
        f"[probe]\ntimeout = 600\nconcurrency = {args.tests}\nconcurrency_per_user = {args.tests}\n")).start()
    ep = daemon.paths.rpc_endpoint
    out = []
    try:
        with daemon.client(timeout=60) as c:
            ids = [c.call("accounts.create", {
                "kind": "own", "name": f"Box {i}", "email": f"box{i}@example.com",
                "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "authenticate": False},
                "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": imap.port, "ssl": False,
                             "user": "u", "password": "bench-pw"}})["id"] for i in range(args.polls)]
        pages = [{"query": "box"}, {"kind": "own"}, {}]
        roundtrips(ep, "system.ping", [None], 200)
        idle = {"system.ping": summary(roundtrips(ep, "system.ping", [None], args.rounds)),
                "accounts.list": summary(roundtrips(ep, "accounts.list", pages, args.rounds))}

        dealer = zmq.Context.instance().socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(ep)
        hanging = {"kind": "own", "name": "Hangs", "email": "hangs@example.com",
                   "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "authenticate": False}}
        for i in range(args.tests):
            dealer.send_multipart([b"", json.dumps({"jsonrpc": "2.0", "id": i, "method": "accounts.test",
                                                    "params": {"account": hanging}}).encode()])
        for i, account_id in enumerate(ids):
            dealer.send_multipart([b"", json.dumps({"jsonrpc": "2.0", "id": f"p{i}", "method": "accounts.poll",
                                                    "params": {"id": account_id}}).encode()])
        with daemon.client() as c:
            deadline = time.monotonic() + 120
            while c.call("system.info")["long_requests"]["all"] < load:
                if time.monotonic() > deadline:
                    raise RuntimeError("the long requests were not all admitted")
                time.sleep(0.05)
        if dealer.poll(0):
            raise RuntimeError(f"a long request was answered early: {dealer.recv_multipart()[-1][:200]!r}")
        busy = {"system.ping": summary(roundtrips(ep, "system.ping", [None], args.rounds)),
                "accounts.list": summary(roundtrips(ep, "accounts.list", pages, args.rounds))}
        with daemon.client() as c:
            still = c.call("system.info")["long_requests"]["all"]
        out.append(f"short requests with {args.tests:,} tests and {args.polls} polls in flight against silent servers "
                   f"({len(smtp.conns)} SMTP and {len(imap.conns)} IMAP connections open, {still} long requests "
                   f"still under way at the end); {args.rounds} calls each, REQ socket")
        for method in idle:
            i, b = idle[method], busy[method]
            out.append(f"  {method:14s} idle: p50 {ms(i['p50'])}  p99 {ms(i['p99'])}    "
                       f"busy: p50 {ms(b['p50'])}  p99 {ms(b['p99'])}    p99 ratio {b['p99'] / i['p99']:.2f}x")
        out.append("  target: p99 <= 50 ms under load")
        dealer.close()
    finally:
        daemon.cleanup()
        smtp.close()
        imap.close()
    print("\n".join(out))


if __name__ == "__main__":
    main()
