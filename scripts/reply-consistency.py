#!/usr/bin/env python3
"""Does a server's reply read the same whichever MTA reports it? Where it does not, that is a gap to mend.

    .venv/bin/python scripts/reply-consistency.py MAILBOX [--stage rcpt|mail|data] [--mtas] [--temporary]

Every distinct SMTP reply quoted in MAILBOX's bounces (5xx; 4xx too with --temporary) is given back as the answer
to one command (--stage: RCPT TO, the default; MAIL FROM; the end of DATA) and reported by four MTAs:
- by default, as Postfix, Exim, qmail and sendmail write their bounces without a delivery-status part (the
  templates of tests/unit/test_mta_templates.py, each written from the MTA's source); no privileges needed;
- with --mtas, by the real Exim, Postfix and sendmail the test suite runs (as root, after scripts/system-deps),
  a next hop on 127.0.0.1 refusing with the reply, their bounces read back (slower: a minute or two per
  hundred replies for each MTA).
A line is printed for each reply whose failed recipients (hard or soft, the reason, whom it is about) differ
from one MTA to another. MAILBOX is read as scripts/disagreements.py reads it (a folder, a Maildir, an mbox).
Exit 0 when every reply reads the same, 1 when some does not.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from disagreements import messages  # noqa: E402  (the folder, Maildir or mbox reader, as that script reads)

from mailfleet.shared.bounces import classify  # noqa: E402

# A reply as a report quotes it: its code first. A multi-line reply folded to one line keeps its "550-" code.
REPLY = re.compile(r"^([245]\d\d)-?(?=[ \d])")
PLACEHOLDER = "gone@example.com"  # the refused recipient, wherever the reply named it


def replies(source: Path, temporary: bool) -> list[str]:
    """The distinct replies the bounces quote, in order, the refused address put as PLACEHOLDER."""
    found: dict[str, None] = {}
    classes = ("5", "4") if temporary else ("5",)
    with tempfile.TemporaryDirectory() as scratch:
        for _, path in messages(source, Path(scratch)):
            for failure in classify(path.read_bytes()).failures:
                reply = " ".join((failure.diagnostic or "").split())
                m = REPLY.match(reply)
                if m and reply[0] in classes and reply.isascii():
                    reply = f"{m.group(1)} {reply[m.end():].lstrip()}".replace(failure.address, PLACEHOLDER)
                    found.setdefault(reply[:300], None)
    return list(found)


def through_templates(stage: str, replies: list[str]) -> list[dict[str, tuple]]:
    from tests.unit.test_mta_templates import staged

    return [{mta: _read(classify(staged(mta, stage, reply)), PLACEHOLDER)
             for mta in ("postfix", "exim", "qmail", "sendmail")} for reply in replies]


def through_mtas(stage: str, replies: list[str]) -> list[dict[str, tuple]]:
    from tests.e2e.test_genuine_bounces import Case, at, bounced
    from tests.support.mtas import Exim, PostfixRelay, Sendmail

    cases = []
    for i, reply in enumerate(replies):
        local = f"r{i}"
        text = reply.replace(PLACEHOLDER, at(local))
        answers = {"replies": {local: text}} if stage == "rcpt" else {stage: text}
        cases.append(Case(f"c{i}", "", {at(local): (False, "", "")}, **answers))
    read: list[dict[str, tuple]] = [{} for _ in replies]
    for name, mta in (("exim", Exim), ("postfix", PostfixRelay), ("sendmail", Sendmail)):
        bounces = bounced(mta, cases)
        for i, case in enumerate(cases):
            read[i][name] = _read(classify(bounces[case.name]), at(f"r{i}"))
    return read


def _read(verdict, recipient: str) -> tuple:
    """What a bounce says of the refused recipient, and of any other address it names as failed."""
    return tuple(sorted(("" if f.address == recipient else f.address, f.hard, f.reason, f.about)
                        for f in verdict.failures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mailbox", type=Path, help="a folder of message files, a Maildir or an mbox file")
    parser.add_argument("--stage", choices=("rcpt", "mail", "data"), default="rcpt",
                        help="the command the replies answer: RCPT TO (default), MAIL FROM, the end of DATA")
    parser.add_argument("--mtas", action="store_true", help="through the real Exim, Postfix and sendmail (root)")
    parser.add_argument("--temporary", action="store_true", help="4xx replies too")
    args = parser.parse_args(argv)
    quoted = replies(args.mailbox, args.temporary)
    read = (through_mtas if args.mtas else through_templates)(args.stage, quoted)
    differ = 0
    for reply, by_mta in zip(quoted, read):
        if len(set(by_mta.values())) > 1:
            differ += 1
            print(reply)
            for mta, failures in by_mta.items():
                said = "; ".join(f"{address or 'the recipient'}: {'hard' if hard else 'soft'}, {reason}, about the "
                                 f"{about}" for address, hard, reason, about in failures) or "nobody failed"
                print(f"    {mta:9} {said}")
    print(f"{differ} of {len(quoted)} replies read differently at {args.stage}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
