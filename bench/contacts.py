"""Importing 1,000,000 contacts with `mailfleetctl contacts import`, beside a bare executemany.

Run: .venv/bin/python -m bench.contacts [--rows N]

Baseline, same run, same machine: the same rows inserted with one
executemany in one transaction into a table of the same shape (no daemon,
no CSV, no validation). Target (issue 4): 1,000,000 contacts in <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ScratchDaemon


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mfc", dir="/tmp") as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        with open(csv_path, "w") as fh:
            fh.write("email,first_name,company,city\n")
            for i in range(args.rows):
                fh.write(f"User{i}@Example{i % 1000}.com,Name{i},Company {i % 5000},City {i % 300}\n")

        db = sqlite3.connect(Path(tmp) / "bare.db", isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, email_key TEXT UNIQUE, details TEXT, "
                   "created_at TEXT, updated_at TEXT)")
        rows = [(f"User{i}@Example{i % 1000}.com", f"user{i}@example{i % 1000}.com",
                 json.dumps({"first_name": f"Name{i}", "company": f"Company {i % 5000}", "city": f"City {i % 300}"}),
                 "now", "now") for i in range(args.rows)]
        t0 = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO contacts (email, email_key, details, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", rows)
        db.execute("COMMIT")
        bare = time.perf_counter() - t0
        db.close()
        del rows

        daemon = ScratchDaemon().start()
        try:
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "contacts", "import", str(csv_path)],
                                 env=daemon.env, capture_output=True, text=True, check=True)
            ours = time.perf_counter() - t0
        finally:
            daemon.cleanup()
    print(f"{args.rows:,} contacts, CSV with 3 details each")
    print(f"  bare executemany, one transaction (the floor): {bare:6.1f} s")
    print(f"  mailfleetctl contacts import (CSV, validation, chunks over ZeroMQ, upsert): {ours:6.1f} s  "
          f"({ours / bare:.1f}x the floor)")
    print(f"  -> {out.stdout.strip()}")
    print("  target: <= 60 s")


if __name__ == "__main__":
    main()
