"""scripts/reply-consistency.py: each reply a folder of bounces quotes, reported again by every MTA, read alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..unit.test_classifier import dsn

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "reply-consistency.py"
UNKNOWN = "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table"
# A 5xx code under a 4.x.x status, as Exchange answers an expired message (sendmail reports it with no
# Diagnostic-Code, and the transcript has it).
EXPIRED = "550 4.4.7 QUEUE.Expired; message expired"
# RFC 5321's 504 to RCPT TO: sendmail gives it its default X.5.x status, read as a system error; Exim and Postfix
# X.0.0, no reason. Soft either way; one of the replies of the corpus still read differently through the real
# MTAs (README, "Bounces").
NOT_IMPLEMENTED = "504 Command parameter not implemented"


def folder(tmp_path: Path, *diagnostics: str) -> Path:
    """A folder of bounces, one a reply, each refusing x@example.com."""
    box = tmp_path / "bounces"
    box.mkdir()
    for i, diagnostic in enumerate(diagnostics):
        (box / f"{i}.eml").write_bytes(dsn([("x@example.com", "failed", diagnostic)]))
    return box


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)


def test_replies_read_alike_through_every_template_at_every_stage(tmp_path):
    box = folder(tmp_path, UNKNOWN, "552 5.2.2 <x@example.com>: Mailbox full", EXPIRED)
    for stage in ("rcpt", "mail", "data"):
        done = run(str(box), "--stage", stage)
        assert (done.returncode, done.stdout) == (0, f"0 of 3 replies read differently at {stage}\n"), done.stderr


def test_a_reply_the_real_mtas_read_differently_is_listed_with_what_each_said(tmp_path):
    done = run(str(folder(tmp_path, UNKNOWN, EXPIRED, NOT_IMPLEMENTED)), "--mtas")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == NOT_IMPLEMENTED
    assert lines[1:4] == ["    exim      the recipient: soft, undefined, about the recipient",
                          "    postfix   the recipient: soft, undefined, about the recipient",
                          "    sendmail  the recipient: soft, systemerror, about the recipient"]
    assert lines[-1] == "1 of 3 replies read differently at rcpt"
