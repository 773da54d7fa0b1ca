"""The bounce classifier's speed, beside Sisimai 4.25 and the stdlib email parser measured in the same run.

Run: .venv/bin/python -m bench.bounces [--rounds N] [--batch 300]
(Sisimai: `apt-get install libsisimai-perl`; scripts/sisimai-verdicts.pl drives it.)

Ours is mailfleet as a user installs it: the wheel built from this checkout (its classifier compiled by
mypyc, setup.py) in a virtualenv of its own, build/bench-venv, made on the first run. The pure-Python
classifier of the editable .venv is measured beside it, for scale.

Three figures, on the same messages of ../shared/corpus (dev and dev2, every n-th file, so both
sets and every family are in the batch):
- a batch, process start-up included: `mailfleetctl classify --batch` against the Sisimai driver in
  batch mode, each started afresh with the batch's paths on stdin, the median of the rounds (what a
  user running either on an exported mailbox waits for; target >= 3x Sisimai);
- steady state, one process, messages already in memory: the best of the rounds (what the daemon's
  rounds cost; target >= 5x Sisimai);
- the stdlib email parser alone, for scale: the classifier parsed every message with it until it got a
  MIME reader of its own (shared/bounces/mime.py).

Every command runs once untimed first, and ours may write its bytecode (.pyc) as an installed package
has it: PYTHONDONTWRITEBYTECODE, set on some machines, would otherwise have Python compile our source on
every start, which no user's installation does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from email import message_from_bytes
from email.policy import compat32
from pathlib import Path

from tests.support import wheel

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SISIMAI = ["perl", str(ROOT / "scripts" / "sisimai-verdicts.pl")]
PURE = Path(sys.executable)  # the editable .venv: pure Python (scripts/setup)

# Our steady state, in the process of the python given: paths on stdin; messages a second, best round.
STEADY = """
import json, sys, time
from mailfleet.shared.bounces import classifier, classify
messages = [open(line.rstrip("\\n"), "rb").read() for line in sys.stdin]
for raw in messages:
    classify(raw)
best = 0.0
for _ in range(int(sys.argv[1])):
    start = time.perf_counter()
    for raw in messages:
        classify(raw)
    best = max(best, len(messages) / (time.perf_counter() - start))
print(json.dumps({"rate": best, "module": classifier.__file__}))
"""


def batch_of(size: int) -> list[Path]:
    files = [p for name in ("dev", "dev2") for p in sorted((CORPUS / name).iterdir()) if p.name != "labels.jsonl"]
    step = len(files) / size
    return [files[int(i * step)] for i in range(size)]


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(command: list[str], paths: list[Path]) -> float:
    """Seconds from start to exit, every verdict written, for the paths on stdin."""
    stdin = "".join(f"{p}\n" for p in paths)
    start = time.perf_counter()
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=True, env=ENV)
    took = time.perf_counter() - start
    assert done.stdout.count("\n") == len(paths), (command, done.stdout[-500:], done.stderr[-500:])
    return took


def rate(fn, messages: list[bytes], rounds: int) -> float:
    """Messages a second, the best of `rounds` passes."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for raw in messages:
            fn(raw)
        best = max(best, len(messages) / (time.perf_counter() - start))
    return best


def sisimai_steady(paths: list[Path], rounds: int) -> float:
    """Sisimai's messages a second, in its own process: it reads the files and warms up first, untimed."""
    done = subprocess.run([*SISIMAI, "steady", str(rounds)], input="".join(f"{p}\n" for p in paths),
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    return result["messages"] / result["seconds"]


def ours_steady(python: Path, paths: list[Path], rounds: int) -> tuple[float, str]:
    """Our messages a second with the given python's mailfleet, and the classifier module it ran."""
    done = subprocess.run([str(python), "-c", STEADY, str(rounds)], input="".join(f"{p}\n" for p in paths),
                          capture_output=True, text=True, check=True, env=ENV)
    result = json.loads(done.stdout)
    return result["rate"], result["module"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=300)
    args = parser.parse_args()
    if not shutil.which("perl") or subprocess.run(["perl", "-MSisimai", "-e1"], capture_output=True).returncode:
        sys.exit("Sisimai is not installed: apt-get install libsisimai-perl")
    print("building and installing the wheel into build/bench-venv ...", flush=True)
    installed = wheel.installed(ROOT / "build" / "bench-venv")
    compiled = ours_steady(installed, [], 0)[1]
    print(f"  its classifier: {Path(compiled).name}")
    paths = batch_of(args.batch)
    messages = [p.read_bytes() for p in paths]
    size = sum(map(len, messages)) / len(messages) / 1024
    print(f"{len(messages)} corpus messages (dev and dev2), {size:.1f} KiB on average; {args.rounds} rounds each")

    commands = {"sisimai": [*SISIMAI, "batch"], "ours": [str(installed.parent / "mailfleetctl"), "classify", "--batch"],
                "pure": [str(PURE.parent / "mailfleetctl"), "classify", "--batch"]}
    batch: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # untimed: our bytecode written, the files in the page cache
        wall(command, paths)
    for _ in range(args.rounds):  # in turn, so a slow moment of the machine falls on all
        for name, command in commands.items():
            batch[name].append(wall(command, paths))
    theirs_b, ours_b, pure_b = (statistics.median(batch[name]) for name in ("sisimai", "ours", "pure"))
    print("batch, process start-up included (median):")
    print(f"  Sisimai 4.25:              {theirs_b * 1000:7.0f} ms")
    print(f"  mailfleetctl classify:     {ours_b * 1000:7.0f} ms   {theirs_b / ours_b:.2f}x Sisimai (target >= 3x)")
    print(f"    pure Python (.venv):     {pure_b * 1000:7.0f} ms   {theirs_b / pure_b:.2f}x Sisimai")

    ours, pure, theirs, floor = 0.0, 0.0, 0.0, 0.0
    for _ in range(args.rounds):  # a round of each in turn
        ours = max(ours, ours_steady(installed, paths, 1)[0])
        pure = max(pure, ours_steady(PURE, paths, 1)[0])
        theirs = max(theirs, sisimai_steady(paths, 1))
        floor = max(floor, rate(lambda raw: message_from_bytes(raw, policy=compat32), messages, 1))
    print("steady state, one process, messages in memory (best round):")
    print(f"  Sisimai 4.25:              {theirs:7.0f} messages/s")
    print(f"  mailfleet classifier:      {ours:7.0f} messages/s   {ours / theirs:.2f}x Sisimai (target >= 5x)")
    print(f"    pure Python (.venv):     {pure:7.0f} messages/s   {pure / theirs:.2f}x Sisimai")
    print(f"  stdlib email parser alone: {floor:7.0f} messages/s   (parsing only, for scale: the classifier "
          f"is {ours / floor:.2f}x it)")


if __name__ == "__main__":
    main()
