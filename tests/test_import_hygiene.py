"""Headless code stays headless: daemon/ and shared/ never import Textual; tui/ never touches SQLite."""

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


def test_ctl_starts_without_the_client():
    """`mailfleetctl classify` needs no daemon: starting the CLI loads neither zmq nor the classifier's patterns."""
    code = "import sys, mailfleet.ctl.cli; print(sorted(m for m in ('zmq', 'mailfleet.shared.bounces') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
