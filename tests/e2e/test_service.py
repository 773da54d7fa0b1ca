"""Running as a service: the unit file, sd_notify, reload, journald logs, backups, CURVE over TCP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

from mailfleet.daemon.config import Config, load
from mailfleet.shared import protocol as P
from mailfleet.shared.client import Client, CurveKeys, DaemonUnreachable
from mailfleet.shared.paths import user_paths

from ..support.samples import OWN
from ..support.servers import free_port

REPO = Path(__file__).resolve().parents[2]


def test_unit_file_verifies(tmp_path):
    unit = (REPO / "systemd" / "mailfleetd.service").read_text()
    assert "PrivateUsers" not in unit.replace("Not PrivateUsers", "")
    for must in ("Type=notify", "WatchdogSec=", "ExecReload=", "Restart=on-failure", "LoadCredential=mailfleet.key",
                 "ProtectSystem=strict", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service", "UMask=0007"):
        assert must in unit, must
    # verify checks that ExecStart exists: point it at this checkout's daemon.
    local = tmp_path / "mailfleetd.service"
    local.write_text(unit.replace("/opt/mailfleet/venv/bin/mailfleetd", str(Path(sys.executable).parent / "mailfleetd")))
    out = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_example_config_documents_every_key_with_its_default():
    """The shipped file is what `mailfleetd --print-config` writes from the models: every key, its default
    and its docstring; and it loads back to the defaults."""
    shipped = REPO / "systemd" / "mailfleetd.toml"
    printed = subprocess.run([sys.executable, "-m", "mailfleet.daemon", "--print-config"], capture_output=True,
                             text=True, timeout=60)
    assert printed.returncode == 0 and printed.stdout == shipped.read_text(), "run mailfleetd --print-config"
    assert load(shipped).model_dump() == Config().model_dump()
    example = tomllib.loads(shipped.read_text())
    assert set(example) == set(Config.sections())
    for section, model in Config.sections().items():
        assert set(example[section]) == set(model.model_fields), section
        for key, field in model.model_fields.items():
            assert field.description or section in ("admins", "contacts", "relay"), f"{section}.{key}: say what it does"


class NotifySocket:
    """The test's own $NOTIFY_SOCKET: a datagram socket that collects what the daemon says."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(15)

    def next(self) -> dict[str, str]:
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.splitlines() if "=" in line)

    def until(self, key: str) -> dict[str, str]:
        while True:
            msg = self.next()
            if key in msg:
                return msg


def test_sd_notify_ready_status_watchdog_reload_stopping(make_daemon, short_tmp):
    notify = NotifySocket(short_tmp / "notify.sock")
    d = make_daemon(mode="system", extra_env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "400000"})
    d.proc = d.spawn()
    ready = notify.until("READY")
    # READY only once the socket answers: ask it right now, without waiting.
    with Client(d.endpoint, timeout=2) as c:
        assert c.call("system.ping") == {"pong": True}
    assert ready["STATUS"] == "0 accounts" and ready["MAINPID"] == str(d.proc.pid)
    assert "WATCHDOG" in notify.until("WATCHDOG")
    d.paths.config_file.write_text("[daemon]\nlog_level = 'debug'\n")
    d.proc.send_signal(signal.SIGHUP)
    reloading = notify.until("RELOADING")
    assert "MONOTONIC_USEC" in reloading
    assert "READY" in notify.until("READY")
    d.proc.send_signal(signal.SIGTERM)
    assert notify.until("STOPPING")["STATUS"] == "stopping"
    assert d.proc.wait(timeout=30) == 0
    d.proc = None
    assert "config reloaded" in d.log()


def test_the_watchdog_is_fed_only_while_the_rpc_socket_answers(make_daemon, short_tmp):
    """A live event loop is not enough: with its socket gone (a cleanup of /tmp, say) nobody can reach
    the daemon, so systemd must stop hearing from it and restart it."""
    notify = NotifySocket(short_tmp / "notify.sock")
    d = make_daemon(mode="system", extra_env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "300000"})
    d.proc = d.spawn()
    notify.until("READY")
    assert "WATCHDOG" in notify.until("WATCHDOG")
    d.paths.rpc_socket.unlink()
    first = notify.until("STATUS")
    while not first["STATUS"].startswith("unhealthy"):  # checks from before the unlink may still come
        first = notify.until("STATUS")
    assert "rpc.sock is gone" in first["STATUS"], first
    # From the first unhealthy check to the next one, no ping.
    following = notify.next()
    while "STATUS" not in following:
        assert "WATCHDOG" not in following, following
        following = notify.next()
    assert "WATCHDOG" not in following and following["STATUS"].startswith("unhealthy"), following
    assert "health check failed" in d.log()


def test_reload_applies_a_good_config_and_refuses_a_bad_one(make_daemon):
    d = make_daemon(config="[admins]\nusers = []\n").start()
    d.paths.config_file.write_text("[daemon]\nlog_levle = 'debug'\n")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while "reload refused" not in d.log():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "unknown key daemon.log_levle" in d.log() and "keeping the running config" in d.log()
    with d.client() as c:
        assert c.call("system.ping") == {"pong": True}
    d.paths.config_file.write_text("[poll]\nconcurrency = 9\n")
    d.proc.send_signal(signal.SIGHUP)
    while "config reloaded" not in d.log():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "poll.concurrency take effect at the next restart" in d.log()
    assert d.stop() == 0


def test_journald_lines_carry_priorities_and_no_timestamps(make_daemon):
    d = make_daemon()
    d.log_path.write_bytes(b"")
    st = os.stat(d.log_path)
    d.env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    d.start()
    d.paths.config_file.write_text("[nonsense]\n")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while "reload refused" not in d.log():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert d.stop() == 0
    lines = [line for line in d.log().splitlines() if line]
    assert lines and all(line[:3] in ("<6>", "<4>", "<3>", "<7>") for line in lines), lines
    assert any(line.startswith("<3>") and "reload refused" in line for line in lines)
    assert not any(line[3:7].isdigit() for line in lines), "journald adds the time itself"


def test_backup_while_writes_happen(daemon, own_account, tmp_path):
    stop = threading.Event()
    committed: list[int] = []

    def writer() -> None:
        with daemon.client() as c:
            n = 0
            while not stop.is_set():
                n += 1
                committed.append(c.call("accounts.create", {**own_account, "email": f"w{n}@example.com"})["id"])

    thread = threading.Thread(target=writer)
    thread.start()
    while len(committed) < 20:
        time.sleep(0.01)
    before = list(committed)
    target = tmp_path / "backup.db"
    out = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "backup", str(target)], env=daemon.env,
                         capture_output=True, text=True, timeout=120)
    stop.set()
    thread.join()
    assert out.returncode == 0, out.stderr
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = {row[0] for row in copy.execute("SELECT id FROM accounts")}
    assert set(before) <= ids, "every row committed before the backup began is in it"
    assert not list((daemon.paths.state_dir / "backups").glob("*.db")), "the daemon drops its snapshot afterwards"
    # The copy restores: a daemon started on it serves the same accounts.
    copy.close()


def test_a_backup_id_names_a_backup_and_nothing_else(daemon):
    """(Who may take a backup is tested as other Unix users in test_visibility.py.)"""
    with daemon.client() as c:
        info = c.call("system.backup")
        with pytest.raises(P.RpcError) as refused:
            c.call("system.backup_read", {"id": "../../etc/passwd"})
        assert refused.value.code == P.INVALID_PARAMS
        c.call("system.backup_done", {"id": info["id"]})


def test_curve_endpoint_with_authorised_and_unauthorised_keys(make_daemon, short_tmp):
    port = free_port()
    keys = short_tmp / "keys"
    for name in ("alice", "mallory"):
        out = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "keygen", name, "--dir", str(keys)],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
    d = make_daemon(config=f'[remote]\nendpoint = "tcp://127.0.0.1:{port}"\n[admins]\nusers = ["alice"]\n')
    clients = d.paths.config_dir / "clients"
    clients.mkdir(parents=True)
    shutil.copy(keys / "alice.key", clients / "alice.key")
    d.start()
    server_key = d.paths.state_dir / "remote" / "server.key"
    endpoint = f"tcp://127.0.0.1:{port}"
    with Client(endpoint, timeout=5, curve=CurveKeys.from_files(str(keys / "alice.key_secret"), str(server_key))) as c:
        info = c.call("system.info")
        assert info["user"] == "alice" and info["admin"] is True
        created = c.call("accounts.create", OWN)
        assert created["owner"] == "alice"
    with Client(endpoint, timeout=2, curve=CurveKeys.from_files(str(keys / "mallory.key_secret"), str(server_key))) as c:
        with pytest.raises(DaemonUnreachable):
            c.call("system.ping")
    with Client(endpoint, timeout=2) as c:  # no CURVE at all
        with pytest.raises(DaemonUnreachable):
            c.call("system.ping")
    out = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "--socket", endpoint, "--key", str(keys / "alice.key_secret"),
                          "--server-key", str(server_key), "--json", "call", "system.info"],
                         env=d.env, capture_output=True, text=True, timeout=30)
    assert json.loads(out.stdout)["user"] == "alice"
    # Authorising mallory is dropping the key in and reloading.
    shutil.copy(keys / "mallory.key", clients / "mallory.key")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while d.log().count("config reloaded") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with Client(endpoint, timeout=5, curve=CurveKeys.from_files(str(keys / "mallory.key_secret"), str(server_key))) as c:
        assert c.call("system.info")["admin"] is False


def test_a_full_disk_is_said_in_words_changes_nothing_and_writes_resume_after(make_daemon, short_tmp, own_account):
    data = short_tmp / "small"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(data)], check=True)
    notify = NotifySocket(short_tmp / "notify.sock")
    try:
        d = make_daemon(extra_env={"XDG_DATA_HOME": str(data), "NOTIFY_SOCKET": str(notify.path),
                                   "WATCHDOG_USEC": "300000"})
        d.paths = user_paths(d.env)
        d.start()
        filler = data / "filler"
        with open(filler, "wb", buffering=0) as fh:  # take every byte the disk has left (unbuffered: no flush at close)
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        with d.client() as c:
            before = c.call("accounts.list")["total"]
            for i in range(20):  # until the WAL runs out of the room it already had
                try:
                    c.call("accounts.create", {**own_account, "email": f"full{i}@example.com", "name": "x" * 200})
                except P.RpcError as exc:
                    refused = exc
                    break
            else:
                raise AssertionError("the disk never filled")
            assert refused.code == P.UNAVAILABLE and "the database's disk is full" in refused.message
            assert "free some space" in refused.message
            created = c.call("accounts.list")["total"] - before
            status = notify.until("STATUS")
            while "disk is full" not in status["STATUS"]:
                status = notify.until("STATUS")
            filler.unlink()
            again = c.call("accounts.create", {**own_account, "email": "after@example.com"})
            assert again["id"] and c.call("accounts.list")["total"] == before + created + 1
        assert "the database's disk is full" in d.log()
        assert d.stop() == 0
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def test_a_log_file_is_rotated_by_size_and_a_refused_start_says_only_why(make_daemon, own_account):
    d = make_daemon(config="[daemon]\nlog_file_bytes = 2048\n")
    log_file = d.root / "state" / "mailfleetd.log"
    d.proc = d.spawn("--log-file", str(log_file))
    d.wait_ready(d.proc)
    with d.client() as c:
        info = c.call("system.info")
        assert info["paths"] == {"config": str(d.paths.config_file), "database": str(d.paths.database),
                                 "log": str(log_file)}
        for i in range(40):  # each test logs who tested what
            c.call("accounts.test", {"account": {**own_account, "email": f"r{i}@example.com",
                                                 "smtp": {"host": "127.0.0.1", "port": 1, "authenticate": False}}})
    rotated = log_file.with_name(log_file.name + ".1")
    assert rotated.exists() and log_file.stat().st_size <= 2048 + 500
    assert oct(log_file.stat().st_mode & 0o777) == "0o600"
    second = d.spawn()
    assert second.wait(timeout=30) == 69
    refused = d.log()
    assert "another mailfleetd" in refused and "stopped" not in refused, refused
    assert d.stop() == 0
