"""mailfleet as a user installs it: a wheel built from this checkout, its bounce classifier compiled by
mypyc (setup.py). The editable install the tests run on is pure Python (scripts/setup), so the compiled
modules are built here, for the test that they give the same verdicts and for bench/bounces.py."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pip(python: str | Path) -> list[str]:
    return [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]


def build(into: Path) -> Path:
    """The wheel `pip install /path/to/checkout` would install, built into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    for old in into.glob("mailfleet-*.whl"):
        old.unlink()
    subprocess.run([*_pip(sys.executable), "wheel", "--no-deps", "--wheel-dir", str(into), str(ROOT)], check=True,
                   stdout=subprocess.DEVNULL)
    (wheel,) = into.glob("mailfleet-*.whl")
    return wheel


def unpacked(into: Path) -> Path:
    """The wheel's files in `into`/site: put first on PYTHONPATH, they are imported before the editable
    install of .venv (whose finder Python asks last)."""
    wheel = build(into)
    site = into / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def installed(venv: Path) -> Path:
    """A virtualenv holding the wheel and its dependencies, as a user's; the first call installs the
    dependencies, later ones only the rebuilt wheel. Returns the venv's python."""
    python = venv / "bin" / "python"
    fresh = not python.exists()
    if fresh:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wheel = build(venv.parent / f"{venv.name}-wheel")
    subprocess.run([*_pip(python), "install", "--force-reinstall", *([] if fresh else ["--no-deps"]), str(wheel)],
                   check=True, stdout=subprocess.DEVNULL)
    return python
