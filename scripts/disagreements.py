#!/usr/bin/env python3
"""Where mailfleet, Sisimai and flufl.bounce disagree on your own bounces: what to report to us.

    .venv/bin/python scripts/disagreements.py MAILBOX [--json] [--all]

MAILBOX is what a mail client or server exports: a folder of message files (one each, .eml or
not), a Maildir (cur/ and new/), or an mbox file. Each message is classified by the three:
- mailfleet (this checkout's classifier),
- Sisimai 4.25 (Debian's libsisimai-perl, through scripts/sisimai-verdicts.pl),
- flufl.bounce (GNU Mailman's bounce detector, from PyPI; it says which addresses failed,
  permanently or not, and nothing of why),
and a line is printed for each message on which they disagree: which addresses each names, and hard
or soft. Hard is the corpus's sense (../shared/corpus/README.md): the address itself is dead. flufl's
"permanent" is not that (a block is permanent to it), so flufl is compared on addresses only.

`mailfleetctl classify --explain FILE` then says why mailfleet decided as it did. Exit 0; 2 when a
baseline is missing (and how to install it is said).
"""

from __future__ import annotations

import argparse
import json
import mailbox
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

from mailfleet.shared.bounces import classify
from mailfleet.shared.words import printable

SISIMAI = ["perl", str(Path(__file__).resolve().parent / "sisimai-verdicts.pl"), "batch"]
MARKS = ("bounce", "delayed")  # the kinds whose failures a contact would pay for


@dataclass
class Row:
    """One message and what each one says of it: address -> hard (None: named, hard or soft unsaid)."""

    name: str
    path: Path
    ours: dict[str, bool] = field(default_factory=dict)
    ours_kind: str = ""
    sisimai: dict[str, bool] = field(default_factory=dict)
    flufl: dict[str, bool | None] = field(default_factory=dict)

    def agreed(self) -> bool:
        return self.ours == self.sisimai and set(self.ours) == set(self.flufl)

    def to_json(self) -> dict:
        return {"message": self.name, "mailfleet": {"kind": self.ours_kind, "failures": self.ours},
                "sisimai": self.sisimai, "flufl": sorted(self.flufl)}


def messages(source: Path, scratch: Path) -> list[tuple[str, Path]]:
    """(name, file holding just that message) for each message of a folder, Maildir or mbox."""
    if source.is_dir() and (source / "cur").is_dir():
        box: mailbox.Mailbox = mailbox.Maildir(source, create=False)
    elif source.is_dir():
        return [(p.name, p) for p in sorted(source.iterdir()) if p.is_file() and not p.name.startswith(".")]
    else:
        box = mailbox.mbox(source, create=False)
    out = []
    for n, key in enumerate(box.iterkeys(), start=1):
        path = scratch / f"{n:06d}.eml"
        path.write_bytes(box.get_bytes(key))
        out.append((f"{source.name}#{n}", path))
    return out


def sisimai_verdicts(paths: list[Path]) -> dict[Path, dict[str, bool]]:
    done = subprocess.run(SISIMAI, input="".join(f"{p}\n" for p in paths), capture_output=True, text=True,
                          check=True)
    out = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        out[Path(record["file"])] = {r["address"]: r["hard"] for r in record["results"] if r["address"]}
    return out


def flufl_verdicts(raw: bytes) -> dict[str, bool | None]:
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message_from_bytes(raw))
    except Exception:  # flufl gives up on some mail: that is a verdict too (nobody named)
        return {}
    named = {a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a): None for a in temporary | permanent}
    return {a.lower().strip("<>"): v for a, v in named.items()}


def missing_baseline() -> str | None:
    if subprocess.run(["perl", "-MSisimai", "-e1"], capture_output=True).returncode:
        return "Sisimai is not installed: apt-get install libsisimai-perl"
    try:
        import flufl.bounce  # noqa: F401
    except ImportError:
        return "flufl.bounce is not installed: .venv/bin/python -m pip install flufl.bounce"
    return None


def compare(source: Path) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="mfdis") as scratch:
        found = messages(source, Path(scratch))
        theirs = sisimai_verdicts([p for _, p in found])
        rows = []
        for name, path in found:
            raw = path.read_bytes()
            verdict = classify(raw)
            ours = {f.address: f.hard for f in verdict.failures} if verdict.kind in MARKS else {}
            rows.append(Row(name, path, ours, verdict.kind, theirs.get(path, {}), flufl_verdicts(raw)))
    return rows


def _said(failures: dict[str, bool | None]) -> str:
    if not failures:
        return "nobody"
    return ", ".join(f"{a} {'' if hard is None else 'HARD' if hard else 'soft'}".strip()
                     for a, hard in sorted(failures.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mailbox", type=Path, help="a folder of message files, a Maildir, or an mbox file")
    parser.add_argument("--json", action="store_true", help="one JSON line per message shown")
    parser.add_argument("--all", action="store_true", help="every message, not only where they disagree")
    args = parser.parse_args(argv)
    problem = missing_baseline()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not args.mailbox.exists():
        print(f"{args.mailbox}: no such file or folder", file=sys.stderr)
        return 2
    rows = compare(args.mailbox)
    shown = [r for r in rows if args.all or not r.agreed()]
    for r in shown:
        if args.json:
            print(json.dumps(r.to_json(), ensure_ascii=False))
            continue
        print(printable(r.name))
        print(f"  mailfleet ({r.ours_kind}): {printable(_said(r.ours))}")
        print(f"  Sisimai:   {printable(_said(r.sisimai))}")
        print(f"  flufl:     {printable(_said(r.flufl))}")
    if not args.json:
        print(f"{len(rows)} messages, {sum(not r.agreed() for r in rows)} with a disagreement"
              + (" (mailfleetctl classify --explain FILE says why mailfleet decided)" if shown else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
