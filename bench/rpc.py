"""RPC latency: system.ping beside a raw pyzmq echo, and accounts.list at 100,000 accounts.

Run (as root: it makes a Unix user to ask as a non-admin): .venv/bin/python -m bench.rpc [--accounts N] [--rounds N]

The baselines are measured in the same run on the same machine: for ping, a
REQ socket talking to an asyncio ROUTER that only decodes and re-encodes
JSON, the floor for any Python JSON-RPC server; for accounts.list, the
same storage query (count and page) run in this process on the same
database file, with no daemon, wire or JSON: the raw floor. The list is
asked by an admin (root) and by a non-admin Unix user, who sees their own
accounts and the shared ones (about 15% of the rows). Targets: ping median
<= 1.5x the echo (issue 2); accounts.list p95 <= 10 ms for every shape, for
both callers (issue 15).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zmq

from bench.common import ScratchDaemon, ms, summary, us
from mailfleet.daemon import records
from mailfleet.daemon.secrets import SecretBox
from mailfleet.shared.models import validate_account
from tests.support.users import as_user, ensure_user

ECHO_SERVER = r"""
import asyncio, json, sys, zmq, zmq.asyncio
async def main(endpoint):
    sock = zmq.asyncio.Context().socket(zmq.ROUTER)
    sock.bind(endpoint)
    print("ready", flush=True)
    while True:
        frames = await sock.recv_multipart()
        req = json.loads(frames[-1])
        reply = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": {"pong": True}}).encode()
        await sock.send_multipart(frames[:-1] + [reply])
asyncio.run(main(sys.argv[1]))
"""

WORDS = ["north", "south", "acme", "globex", "initech", "umbrella", "stark", "wayne", "hooli", "vandelay",
         "sales", "support", "billing", "news", "promo", "events", "alpha", "beta", "gamma", "delta"]


def roundtrips(endpoint: str, method: str, params_list: list[dict | None], rounds: int) -> list[float]:
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    samples = []
    for i in range(rounds):
        params = params_list[i % len(params_list)]
        msg = {"jsonrpc": "2.0", "id": i, "method": method}
        if params is not None:
            msg["params"] = params
        t0 = time.perf_counter()
        sock.send(json.dumps(msg).encode())
        reply = json.loads(sock.recv())
        samples.append(time.perf_counter() - t0)
        if "error" in reply:
            raise RuntimeError(reply["error"])
    sock.close()
    return samples


NON_ADMIN = "mfbench"
OWNERS = 20  # accounts are spread over this many owners; one in OWNERS is the non-admin's


def seed(daemon: ScratchDaemon, n: int) -> None:
    """Fill the (migrated) database through the daemon's own row mapping, in one transaction."""
    box = SecretBox.load(daemon.paths.key_file)
    template = validate_account({
        "kind": "own", "name": "x", "email": "x@example.com",
        "smtp": {"host": "smtp.example.com", "user": "u", "password": "bench-password"},
    })
    base = records.to_row(template, box)
    rng = random.Random(7)
    rows = []
    now = "2026-01-01T00:00:00.000Z"
    for i in range(n):
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        kind = "own" if i % 2 else "marketing"
        owner = NON_ADMIN if i % OWNERS == 0 else f"user{i % OWNERS}"
        row = dict(base, kind=kind, name=f"{a.title()} {b} {i}", email=f"{b}.{i}@{a}-{i % 997}.example.com",
                   owner=owner, shared=int(i % 10 == 3), created_at=now, updated_at=now, status="untested" if kind == "own" else "pending",
                   approval=None if kind == "own" else "pending")
        if kind == "marketing":
            row.update({k: None for k in row if k.startswith("smtp_")})
        rows.append(row)
    cols = list(rows[0])
    db = sqlite3.connect(daemon.paths.database)
    db.execute("PRAGMA cache_size = -262144")  # 256 MB: a hundred thousand rows into a dozen indexes at once
    with db:
        db.executemany(
            f"INSERT INTO accounts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [tuple(r[c] for c in cols) for r in rows],
        )
    db.execute("PRAGMA optimize")
    db.close()


def raw_floor(path: Path, params_list: list[dict], viewer: str | None, rounds: int) -> list[float]:
    """The storage query alone, in this process: what a request costs before the daemon and the wire."""
    from mailfleet.daemon.storage import account_search
    from mailfleet.daemon.storage.db import Database

    async def run() -> list[float]:
        db = await Database.open(path)
        samples = []
        try:
            for i in range(rounds):
                s = account_search.Search(**params_list[i % len(params_list)], viewer=viewer)
                t0 = time.perf_counter()
                await account_search.search(db.read, s)
                samples.append(time.perf_counter() - t0)
        finally:
            await db.close()
        return samples

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    out: list[str] = []

    # Baseline: the raw echo.
    with tempfile.TemporaryDirectory(prefix="mfe", dir="/tmp") as tmp:
        endpoint = f"ipc://{tmp}/echo.sock"
        echo = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, endpoint], stdout=subprocess.PIPE, text=True)
        echo.stdout.readline()
        roundtrips(endpoint, "system.ping", [None], 300)  # warm-up
        echo_s = summary(roundtrips(endpoint, "system.ping", [None], args.rounds))
        echo.kill()

    ensure_user(NON_ADMIN, "mfbenchers")
    daemon = ScratchDaemon('[daemon]\nsocket_group = "mfbenchers"\n', mode="system").start()
    try:
        roundtrips(daemon.paths.rpc_endpoint, "system.ping", [None], 300)
        ping_s = summary(roundtrips(daemon.paths.rpc_endpoint, "system.ping", [None], args.rounds))
        out.append("system.ping round trip (REQ socket, same machine, same run)")
        out.append(f"  raw pyzmq REQ->asyncio ROUTER JSON echo: median {us(echo_s['p50'])}  p99 {us(echo_s['p99'])}")
        out.append(f"  mailfleetd system.ping:                  median {us(ping_s['p50'])}  p99 {us(ping_s['p99'])}")
        out.append(f"  ratio (median): {ping_s['p50'] / echo_s['p50']:.2f}x   target <= 1.5x")

        daemon.stop()
        t0 = time.perf_counter()
        seed(daemon, args.accounts)
        seeded = time.perf_counter() - t0
        daemon.start()
        ep = daemon.paths.rpc_endpoint
        rng = random.Random(11)
        cases = {
            "query, selective (a number: 1-10 matches)": [{"query": str(rng.randrange(args.accounts))} for _ in range(50)],
            "query, a word (~10% of rows match)": [{"query": w} for w in WORDS],
            "query, 2 characters (table scan)": [{"query": w[:2]} for w in WORDS],
            "kind filter (half the rows)": [{"kind": "marketing"}, {"kind": "own"}],
            "kind filter + word query": [{"kind": "own", "query": w} for w in WORDS],
            "kind filter, page 100 (offset 5000)": [{"kind": "own", "offset": 5000}],
        }
        out.append("")
        out.append(f"accounts.list at {args.accounts:,} accounts (seeded in {seeded:.1f}s), 50 rows a page, "
                   f"with total; round trip incl. wire, beside the storage query alone in-process (raw)")
        for who, viewer in (("admin", None), (f"non-admin {NON_ADMIN}", NON_ADMIN)):
            out.append(f"  as {who}:")
            for label, params in cases.items():
                raw = summary(raw_floor(daemon.paths.database, params, viewer, 300))
                if viewer is None:
                    roundtrips(ep, "accounts.list", params, 20)
                    s = summary(roundtrips(ep, "accounts.list", params, 300))
                else:
                    s = summary(as_user(NON_ADMIN, roundtrips, ep, "accounts.list", params, 320)[20:])
                out.append(f"    {label:42s} p50 {ms(s['p50'])}  p95 {ms(s['p95'])}   "
                           f"raw p50 {ms(raw['p50'])}  p95 {ms(raw['p95'])}")
        out.append("  target: p95 <= 10 ms for every shape, both callers")
    finally:
        daemon.cleanup()
    print("\n".join(out))


if __name__ == "__main__":
    main()
