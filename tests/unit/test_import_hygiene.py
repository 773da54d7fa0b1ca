"""Headless code stays headless: daemon/ and shared/ never import Textual; tui/ never touches SQLite; and the
import-linter contracts of the architecture hold."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import importlib, pkgutil, sys
import mailfleet.{pkg} as pkg
for mod in pkgutil.walk_packages(pkg.__path__, "mailfleet.{pkg}."):
    if mod.name.endswith("__main__"):
        continue
    importlib.import_module(mod.name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {forbidden})
print(",".join(bad))
"""


@pytest.mark.parametrize(
    "pkg,forbidden",
    [("daemon", {"textual"}), ("shared", {"textual", "sqlite3", "aiosqlite"}), ("ctl", {"textual", "sqlite3", "aiosqlite"}),
     ("tui", {"sqlite3", "aiosqlite"})],
)
def test_import_hygiene(pkg, forbidden):
    out = subprocess.run([sys.executable, "-c", CHECK.format(pkg=pkg, forbidden=forbidden)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"mailfleet.{pkg} pulls in {out.stdout.strip()}"


def test_the_architecture_holds():
    """import-linter's contracts (pyproject.toml, each with its reason): the daemon's layers point down,
    shared imports no side, the UI and the CLI reach data only through the daemon."""
    from pathlib import Path

    linter = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(linter), "--no-cache"], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_ctl_starts_without_the_client():
    """`mailfleetctl classify` needs no daemon: starting the CLI loads neither zmq nor the classifier's patterns."""
    code = "import sys, mailfleet.ctl.cli; print(sorted(m for m in ('zmq', 'mailfleet.shared.bounces') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sql_is_written_in_storage_only():
    """One place for each rule: every statement the daemon runs is in daemon/storage/ (a method or a
    round asks a storage function; it never holds a connection's execute itself)."""
    import ast
    from pathlib import Path

    daemon = Path(__file__).resolve().parents[2] / "daemon"
    found = []
    for path in daemon.rglob("*.py"):
        if "storage" in path.relative_to(daemon).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "execute_fetchall", "executemany",
                                                                 "executescript"):
                found.append(f"{path.relative_to(daemon)}:{node.lineno} .{node.attr}")
    assert not found, "SQL outside daemon/storage/: " + ", ".join(found)
