"""Classifier throughput on the labelled corpus, beside the stdlib email parser alone on the same files.

Run: .venv/bin/python -m bench.bounces [--rounds N]

The parser alone is the floor: the classifier parses every message with it
and then decides. Target (issue 4): >= 3,000 messages/s in one process.
"""

from __future__ import annotations

import argparse
import time
from email import message_from_bytes
from email.policy import compat32
from pathlib import Path

from mailfleet.shared.bounces import classify

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"


def rate(fn, messages: list[bytes], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for raw in messages:
            fn(raw)
        best = max(best, len(messages) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    messages = [p.read_bytes() for p in sorted(CORPUS.iterdir()) if p.name != "labels.jsonl"]
    rate(classify, messages, 1)  # warm-up: compile the patterns
    parse = rate(lambda raw: message_from_bytes(raw, policy=compat32), messages, args.rounds)
    ours = rate(classify, messages, args.rounds)
    size = sum(map(len, messages)) / len(messages) / 1024
    print(f"{len(messages)} corpus messages, {size:.1f} KiB on average; best of {args.rounds} rounds, one process")
    print(f"  stdlib email parser alone (the floor): {parse:8.0f} messages/s")
    print(f"  mailfleet classifier:                  {ours:8.0f} messages/s   ({ours / parse:.2f}x the parser alone)")
    print("  target: >= 3000 messages/s")


if __name__ == "__main__":
    main()
