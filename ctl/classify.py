"""`mailfleetctl classify`: the bounce classifier on files, with no daemon.

`--batch` speaks the corpus scoring protocol: message paths on stdin, one
JSON line per path on stdout, in order, flushed at the end.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from typing import Any, TextIO

from ..shared.bounces import Verdict, classify, rule_source
from ..shared.words import printable
from . import output

# Larger files are read only this far (the classifier reads no further anyway).
READ_LIMIT = 4 * 1024 * 1024

MARKS_CONTACTS = ("bounce", "delayed")


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        # Asked for READ_LIMIT bytes, read() makes a buffer that large first: 4 MiB made and freed for each
        # 4 KiB bounce tripled the time spent reading. A file's size says how much there is (0: not known).
        return fh.read(min(os.fstat(fh.fileno()).st_size, READ_LIMIT) or READ_LIMIT)


def results(verdict: Verdict) -> list[dict[str, Any]]:
    if verdict.kind not in MARKS_CONTACTS:
        return []
    return [{"address": f.address, "hard": f.hard, "status": f.status, "reason": f.reason} for f in verdict.failures]


def batch(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    # What is imported by now lives until exit. Frozen (gc.freeze), the cyclic collector stops walking it each
    # time it looks at the older generations, and at exit: 3% of a batch of 300 bounces, counted in instructions.
    gc.freeze()
    for line in stdin:
        path = line.rstrip("\r\n")
        if not path:
            continue
        try:
            verdict = classify(_read(path))
            record: dict[str, Any] = {"file": path, "results": results(verdict), "kind": verdict.kind}
        except OSError as exc:
            record = {"file": path, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    stdout.flush()
    return 0


def explain(name: str, verdict: Verdict) -> str:
    """Why: the rule that decided the kind, and for each recipient its rule, where that rule comes from and
    the words of the message it rested on."""
    lines = [f"{printable(name)}: {verdict.kind}, by rule {verdict.rule} ({rule_source(verdict.rule)})"]
    if verdict.note:
        lines.append(f"  note: {printable(verdict.note)}")
    for address in verdict.complainants:
        lines.append(f"  complained: {printable(address)} (suppressed, not faulty)")
    for f in verdict.failures:
        lines += [f"  {printable(f.address)}: {'HARD' if f.hard else 'soft'}, {f.reason}, about the {f.about}",
                  f"    status    {f.status or '-'}",
                  f"    rule      {f.rule} ({rule_source(f.rule)})",
                  f"    evidence  {printable(f.evidence) or '-'}"]
    return "\n".join(lines)


def show(paths: list[str], as_json: bool, explained: bool = False) -> int:
    rows: list[dict[str, Any]] = []
    failed = False
    for path in paths:
        try:
            verdict = classify(_read(path))
        except OSError as exc:
            print(f"mailfleetctl: {path}: {exc.strerror or exc}", file=sys.stderr)
            failed = True
            continue
        if as_json:
            print(json.dumps({"file": path, **verdict.to_json()}, ensure_ascii=False))
            continue
        name = os.path.basename(path)  # not pathlib: its import was a fortieth of `classify`'s start-up
        if explained:
            print(explain(name, verdict))
            continue
        if not verdict.failures:
            rows.append({"file": name, "kind": verdict.kind, "address": "-", "verdict": "-"})
        for f in verdict.failures:
            rows.append({
                "file": name, "kind": verdict.kind, "address": f.address,
                "verdict": "HARD" if f.hard else "soft", "status": f.status, "reason": f.reason,
                "diagnostic": f.diagnostic,
            })
    if rows:
        print(output.table(rows, [("file", "FILE"), ("kind", "KIND"), ("address", "ADDRESS"), ("verdict", "VERDICT"),
                                  ("status", "STATUS"), ("reason", "REASON"), ("diagnostic", "DIAGNOSTIC")]))
    return 1 if failed else 0
