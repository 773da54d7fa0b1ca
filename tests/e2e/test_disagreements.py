"""scripts/disagreements.py: mailfleet, Sisimai and flufl.bounce over an exported mailbox, where they differ.

The messages are written here from the standards (an RFC 3464 report; RFC 5321's reply after DATA),
not taken from any project's fixtures.
"""

from __future__ import annotations

import json
import mailbox
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "disagreements.py"


def report(recipient: str, diagnostic: str, mid: str) -> bytes:
    status = diagnostic.split()[1]
    return (
        "From: MAILER-DAEMON@mx.example.net\nTo: news@example.org\nSubject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: <{mid}@mx.example.net>\nMIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
        "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n\n--B--\n"
    ).encode()


DEAD = report("gone@example.com", "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in "
              "local recipient table", "m1")
AFTER_DATA = report("maybe@example.com", "550 5.1.1 <maybe@example.com>: User unknown (in reply to end of "
                    "DATA command)", "m2")
HUMAN = b"From: Anna <anna@example.com>\nTo: news@example.org\nSubject: Re: offer\nMessage-ID: <h@x>\n\nThanks!\n"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_an_mbox_export_is_read_message_by_message_and_every_verdict_shown(tmp_path):
    box = mailbox.mbox(tmp_path / "Bounces.mbox")
    for raw in (DEAD, AFTER_DATA, HUMAN):
        box.add(raw)
    box.flush()
    done = run(str(tmp_path / "Bounces.mbox"), "--all", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["message"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert list(rows) == ["Bounces.mbox#1", "Bounces.mbox#2", "Bounces.mbox#3"]
    dead = rows["Bounces.mbox#1"]
    # An RFC 3464 report naming its recipient: every bounce parser reads it.
    assert dead["mailfleet"] == {"kind": "bounce", "failures": {"gone@example.com": True}}
    assert dead["sisimai"] == {"gone@example.com": True} and dead["flufl"] == ["gone@example.com"]
    assert rows["Bounces.mbox#3"] == {"message": "Bounces.mbox#3", "mailfleet": {"kind": "mail", "failures": {}},
                                      "sisimai": {}, "flufl": []}


def test_by_default_only_the_disagreements_are_listed(tmp_path):
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "dead.eml").write_bytes(DEAD)
    (folder / "after-data.eml").write_bytes(AFTER_DATA)
    done = run(str(folder))
    assert done.returncode == 0, done.stderr
    # mailfleet will not call an address dead on a "user unknown" answered after DATA (a content filter's
    # habit; README, Bounces); that is the kind of difference the tool is for.
    assert "after-data.eml\n  mailfleet (bounce): maybe@example.com soft\n" in done.stdout
    assert "dead.eml" not in done.stdout
    assert done.stdout.rstrip().endswith("2 messages, 1 with a disagreement (mailfleetctl classify --explain FILE "
                                         "says why mailfleet decided)")


def test_a_missing_mailbox_is_said_not_a_traceback(tmp_path):
    done = run(str(tmp_path / "nope"))
    assert done.returncode == 2 and done.stderr.strip() == f"{tmp_path / 'nope'}: no such file or folder"
