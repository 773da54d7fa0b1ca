"""mailfleetctl as a shell user runs it: tables, --json, exit codes, deadlines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def ctl(daemon, *args: str, input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mailfleet.ctl", *args],
        env=daemon.env, input=input, capture_output=True, text=True, timeout=timeout,
    )


def test_add_list_show_edit_rm(daemon):
    added = ctl(daemon, "accounts", "add", "--name", "Sales", "--email", "sales@example.com",
                "--smtp-host", "smtp.example.com", "--smtp-user", "sales", "--smtp-password-file", "-",
                "--smtp-security", "ssl", "--shared", "--json", input="pw-from-stdin\n")
    assert added.returncode == 0, added.stderr
    acc = json.loads(added.stdout)
    assert acc["smtp"]["port"] == 465 and acc["smtp"]["password_set"] and acc["shared"] is True

    mkt = ctl(daemon, "accounts", "add", "--kind", "marketing", "--name", "News", "--email", "news@example.com")
    assert mkt.returncode == 0 and "pending" in mkt.stdout

    listed = ctl(daemon, "accounts", "list")
    assert listed.returncode == 0
    header, *rows, footer = listed.stdout.strip().splitlines()
    assert header.split() == ["ID", "NAME", "EMAIL", "KIND", "STATUS", "HEALTH", "CREATED", "OWNER", "SHARED"]
    assert rows[0].split()[1] == "News" and rows[1].split()[1] == "Sales"
    assert footer == "2 shown of 2"
    assert json.loads(ctl(daemon, "accounts", "list", "-q", "sales", "--json").stdout)["total"] == 1

    shown = ctl(daemon, "accounts", "show", str(acc["id"]))
    assert "smtp.example.com" in shown.stdout and "pw-from-stdin" not in shown.stdout

    moved = ctl(daemon, "accounts", "edit", str(acc["id"]), "--smtp-port", "2465")
    assert moved.returncode == 1 and "smtp.password: enter the password again" in moved.stderr, moved.stderr
    edited = ctl(daemon, "--json", "accounts", "edit", str(acc["id"]), "--smtp-port", "2465", "--no-shared",
                 "--smtp-password-file", "-", input="s3cret-smtp-pw\n")
    assert edited.returncode == 0, edited.stderr
    assert json.loads(edited.stdout)["smtp"]["port"] == 2465 and json.loads(edited.stdout)["shared"] is False

    approved = ctl(daemon, "accounts", "approve", str(json.loads(ctl(daemon, "accounts", "list", "--kind", "marketing", "--json").stdout)["items"][0]["id"]))
    assert approved.returncode == 0 and "approved" in approved.stdout

    assert ctl(daemon, "accounts", "rm", str(acc["id"])).returncode == 0
    assert ctl(daemon, "accounts", "show", str(acc["id"])).returncode == 1


def test_call_anything(daemon):
    out = ctl(daemon, "call", "system.ping")
    assert out.returncode == 0 and json.loads(out.stdout) == {"pong": True}
    out = ctl(daemon, "call", "accounts.list", "-", input='{"limit": 1}')
    assert json.loads(out.stdout)["total"] == 0


def test_exit_codes(daemon, make_daemon):
    bad = ctl(daemon, "accounts", "add", "--name", "X", "--email", "nope", "--smtp-host", "h", "--smtp-port", "0",
              "--smtp-user", "u", "--smtp-password-file", "/dev/null")
    assert bad.returncode == 1
    assert "email: not a valid email address" in bad.stderr and "smtp.port: must be 1-65535" in bad.stderr
    err = ctl(daemon, "--json", "call", "no.such.method")
    assert err.returncode == 1 and json.loads(err.stdout)["error"]["code"] == -32601
    assert ctl(daemon, "accounts", "frobnicate").returncode == 2
    assert ctl(daemon, "call", "system.ping", "{not json").returncode == 2

    nobody = make_daemon()  # never started: nothing listens at its socket
    down = ctl(nobody, "accounts", "list")
    assert down.returncode == 3
    assert len(down.stderr.strip().splitlines()) == 1 and "mailfleetd --user" in down.stderr


def test_a_stuck_daemon_never_hangs_a_command(daemon):
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        out = ctl(daemon, "--timeout", "1", "accounts", "list", timeout=20)
        elapsed = time.monotonic() - started
    finally:
        os.kill(daemon.proc.pid, signal.SIGCONT)
    assert out.returncode == 3 and "did not answer within 1s" in out.stderr
    assert elapsed < 15


def test_people_read_words_not_python_reprs_and_wide_names_align(daemon):
    from rich.cells import cell_len

    with daemon.client() as c:
        c.call("accounts.create", {"kind": "marketing", "name": "日本語の名前", "email": "jp@example.com"})
        acc = c.call("accounts.create", {"kind": "marketing", "name": "Plain", "email": "plain@example.com"})
        c.call("accounts.test", {"id": acc["id"]})  # no relay configured: a stored result with steps
        c.call("contacts.import", {"csv": "email,first_name\nann@example.com,Ann\n"})
    listed = ctl(daemon, "accounts", "list").stdout.splitlines()
    status_at = {cell_len(line[: line.index("pending")]) for line in listed[1:] if "pending" in line}
    assert len(status_at) == 1, f"columns skewed by wide characters:\n{listed}"
    for out in (ctl(daemon, "accounts", "show", str(acc["id"])).stdout, ctl(daemon, "contacts", "list").stdout,
                ctl(daemon, "contacts", "show", "ann@example.com").stdout):
        assert not any(mark in out for mark in ("[{", "{'", "True", "None", "b'")), out
    assert "first_name: Ann" in ctl(daemon, "contacts", "list").stdout


def test_version_broken_pipe_and_a_non_utf8_csv_never_show_a_traceback(daemon, tmp_path):
    for module, name in (("mailfleet.ctl", "mailfleetctl"), ("mailfleet.daemon", "mailfleetd"), ("mailfleet.tui", "mailfleet")):
        done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and done.stdout.startswith(f"{name} "), (done.stdout, done.stderr)
    with daemon.client() as c:
        c.call("contacts.import", {"csv": "email\n" + "".join(f"c{i}@example.com\n" for i in range(300))})
    env = {**daemon.env}
    piped = subprocess.run(f"{sys.executable} -m mailfleet.ctl --socket {daemon.paths.rpc_socket} contacts list "
                           "--limit 300 | head -1", shell=True, capture_output=True, text=True, env=env, timeout=30)
    assert "Traceback" not in piped.stderr and "Error" not in piped.stderr, piped.stderr
    latin = tmp_path / "kontakty.csv"
    latin.write_bytes("email,imię\nanna@example.com,Zoë\n".encode("cp1250"))  # what Excel writes in Poland
    bad = ctl(daemon, "contacts", "import", str(latin))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert "line 1 is not utf-8 (byte 0xea)" in bad.stderr and "look like cp1250" in bad.stderr, bad.stderr
    read = ctl(daemon, "contacts", "import", "--encoding", "cp1250", str(latin))
    assert read.returncode == 0 and "1 new" in read.stdout, read.stderr
    with daemon.client() as c:
        assert c.call("contacts.get", {"email": "anna@example.com"})["details"] == {"imię": "Zoë"}
    unknown = ctl(daemon, "contacts", "import", "--encoding", "klingon", str(latin))
    assert unknown.returncode == 2 and "'klingon' is not an encoding" in unknown.stderr


def test_a_semicolon_csv_is_read_and_rejected_rows_fail_the_command(daemon, tmp_path):
    polish = tmp_path / "kontakty.csv"
    polish.write_text("\ufeffemail;imię;firma\nanna@example.com;Anna;\"ACME; sp. z o.o.\"\nnot-an-address;X;Y\n",
                      encoding="utf-8")  # what a spreadsheet saves in a Polish locale, BOM included
    done = ctl(daemon, "contacts", "import", str(polish))
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "1 new, 0 updated, 1 rejected" in done.stdout and "line 3" in done.stdout
    with daemon.client() as c:
        anna = c.call("contacts.get", {"email": "anna@example.com"})
    assert anna["details"] == {"imię": "Anna", "firma": "ACME; sp. z o.o."}
    clean = tmp_path / "clean.csv"
    clean.write_text("email;imię\nbob@example.com;Bob\n", encoding="utf-8")
    assert ctl(daemon, "contacts", "import", str(clean)).returncode == 0


def test_status_says_how_things_stand(daemon, own_account):
    quiet = ctl(daemon, "status")
    assert quiet.returncode == 0 and "accounts:  0 (none yet: mailfleetctl accounts add)" in quiet.stdout
    account = json.loads(ctl(daemon, "call", "accounts.create", "-", input=json.dumps({
        **own_account, "incoming": {"protocol": "imap", "host": "127.0.0.1", "port": 1, "ssl": False,
                                    "user": "u", "password": "pw"}})).stdout)
    assert ctl(daemon, "accounts", "poll", str(account["id"])).returncode == 1  # nothing listens on port 1
    shown = ctl(daemon, "status")
    assert shown.returncode == 1, shown.stderr  # something fails: scripts can tell
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("● mailfleetd ") and "running, pid" in lines[0]
    assert "    own:       1: 1 incoming failing" in lines
    assert "  mailboxes: 1, 1 failing" in lines
    assert any(line.startswith("    last round:  20") and "ago)" in line for line in lines)
    assert any(line.startswith("    backlog:     0 reading now") for line in lines)
    assert "Failing: 1" in lines and any("incoming" in line and "Sales team" in line for line in lines)
    assert json.loads(ctl(daemon, "status", "--json").stdout)["mailboxes"]["failing"] == 1


def test_events_read_as_words_and_follow_live(daemon, own_account):
    follower = subprocess.Popen([sys.executable, "-m", "mailfleet.ctl", "events", "--follow"], env=daemon.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with daemon.client() as c:
            c.call("system.ping")
            account = c.call("accounts.create", {**own_account, "smtp": {
                **own_account["smtp"], "host": "127.0.0.1", "port": 1, "security": "none"}})
            c.call("accounts.test", {"id": account["id"]})
        seen: list[str] = []
        while not any("account.status" in line for line in seen):
            line = follower.stdout.readline()  # the follower prints each event as it comes
            assert line, follower.stderr.read()
            seen.append(line)
    finally:
        follower.terminate()
        follower.wait(10)
    created = next(line for line in seen if "account.created" in line)
    assert f"account {account['id']}" in created and "account created (own, owner " in created
    status = next(line for line in seen if "account.status" in line)
    assert "status smtp_failing: smtp connect: 127.0.0.1:1 refused" in status and status.split()[0].isdigit()
    assert not any(line.lstrip().startswith("{") for line in seen)
    lines = ctl(daemon, "events", "--json").stdout.splitlines()
    assert [json.loads(line)["type"] for line in lines][:2] == ["account.created", "account.status"]
