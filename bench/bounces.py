"""The bounce classifier's speed, beside Sisimai 4.25 and the stdlib email parser measured in the same run.

Run: .venv/bin/python -m bench.bounces [--rounds N] [--batch 300]
(Sisimai: `apt-get install libsisimai-perl`; scripts/sisimai-verdicts.pl drives it.)

Three figures, on the same messages of ../shared/corpus (dev and dev2, every n-th file, so both
sets and every family are in the batch):
- a batch, process start-up included: `mailfleetctl classify --batch` against the Sisimai driver in
  batch mode, each started afresh with the batch's paths on stdin, the median of the rounds (what a
  user running either on an exported mailbox waits for; target >= 3x Sisimai);
- steady state, one process, messages already in memory: the best of the rounds (what the daemon's
  rounds cost; target >= 5x Sisimai);
- the stdlib email parser alone, for scale: the classifier parsed every message with it until it got a
  MIME reader of its own (shared/bounces/mime.py).

Both batch commands run once untimed first, and ours may write its bytecode (.pyc) as an installed
package has it: PYTHONDONTWRITEBYTECODE, set on some machines, would otherwise have Python compile our
source on every start, which no user's installation does.
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

from mailfleet.shared.bounces import classify

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SISIMAI = ["perl", str(ROOT / "scripts" / "sisimai-verdicts.pl")]
OURS = [str(Path(sys.executable).parent / "mailfleetctl"), "classify", "--batch"]


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=300)
    args = parser.parse_args()
    if not shutil.which("perl") or subprocess.run(["perl", "-MSisimai", "-e1"], capture_output=True).returncode:
        sys.exit("Sisimai is not installed: apt-get install libsisimai-perl")
    paths = batch_of(args.batch)
    messages = [p.read_bytes() for p in paths]
    size = sum(map(len, messages)) / len(messages) / 1024
    print(f"{len(messages)} corpus messages (dev and dev2), {size:.1f} KiB on average; {args.rounds} rounds each")

    ours_batch, their_batch = [], []
    wall(OURS, paths)  # untimed, both: our bytecode written, the files in the page cache
    wall([*SISIMAI, "batch"], paths)
    for _ in range(args.rounds):  # alternating, so a slow moment of the machine falls on both
        ours_batch.append(wall(OURS, paths))
        their_batch.append(wall([*SISIMAI, "batch"], paths))
    ours_b, their_b = statistics.median(ours_batch), statistics.median(their_batch)
    print("batch, process start-up included (median):")
    print(f"  Sisimai 4.25:              {their_b * 1000:7.0f} ms")
    print(f"  mailfleetctl classify:     {ours_b * 1000:7.0f} ms   {their_b / ours_b:.2f}x Sisimai (target >= 3x)")

    rate(classify, messages, 1)  # warm-up: compile the patterns
    ours, theirs, floor = 0.0, 0.0, 0.0
    for _ in range(args.rounds):  # a round of each in turn: the machine's slow moments fall on all three
        ours = max(ours, rate(classify, messages, 1))
        theirs = max(theirs, sisimai_steady(paths, 1))
        floor = max(floor, rate(lambda raw: message_from_bytes(raw, policy=compat32), messages, 1))
    print("steady state, one process, messages in memory (best round):")
    print(f"  Sisimai 4.25:              {theirs:7.0f} messages/s")
    print(f"  mailfleet classifier:      {ours:7.0f} messages/s   {ours / theirs:.2f}x Sisimai (target >= 5x)")
    print(f"  stdlib email parser alone: {floor:7.0f} messages/s   (parsing only, for scale: the classifier "
          f"is {ours / floor:.2f}x it)")


if __name__ == "__main__":
    main()
