"""Builds mailfleet, with the bounce classifier compiled to C by mypyc where it can be.

pyproject.toml holds everything else; this file exists for the compiled classifier alone. Why: the
classifier reads every message a mailbox round fetches and every file `mailfleetctl classify` is
given, and mypyc (the compiler mypy and Black ship themselves with) runs it 1.4x faster from the
same typed source (README, "Performance"). The .py files are installed beside the compiled modules,
which Python imports first. The build also compiles the classifier's regular expressions, once,
into _sre_code.py (shared/bounces/patterns.py says why).

Plain Python instead, the same classifier only slower (`mailfleetctl --version` says which):
- MAILFLEET_PURE_PYTHON=1, as scripts/setup sets for its editable install: a compiled module beside
  its source would hide every edit made to the source until the next build;
- when mypy is not in the build environment, or the modules do not compile (no C compiler, no
  Python headers): a warning says so (pip shows it with -v), and the installation goes on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.errors import BaseError, CCompilerError

ROOT = Path(__file__).resolve().parent
# The classifier's modules, all but the package's __init__ (functools.cache, and nothing to speed up).
COMPILED = ("classifier", "dsn", "mime", "model", "reasons", "senders", "ses", "text")
# Imported as they are: patterns.py reads the table the build writes (_sre_code.py) with re's own types.
PURE = ("__init__", "patterns")
STAGE = ROOT / "build" / "mypyc-src"  # the package's source, as mailfleet/shared/bounces/


def _staged() -> list[str]:
    """The modules copied where mypyc reads their full names from the folders (mailfleet/shared/bounces):
    the source tree maps those packages from other folders (package-dir), which mypyc does not follow."""
    shutil.rmtree(STAGE, ignore_errors=True)
    package = STAGE / "mailfleet" / "shared" / "bounces"
    package.mkdir(parents=True)
    for init in (STAGE / "mailfleet", STAGE / "mailfleet" / "shared"):
        (init / "__init__.py").touch()
    for name in (*PURE, *COMPILED):
        shutil.copy(ROOT / "shared" / "bounces" / f"{name}.py", package)
    return [os.path.relpath(package / f"{name}.py") for name in COMPILED]


def compiled_classifier(staged: list[str]) -> list:
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("warning: mypyc is not installed: the bounce classifier stays plain Python", file=sys.stderr)
        return []
    try:
        return mypycify(["--ignore-missing-imports", *staged], opt_level="3")
    except (Exception, SystemExit) as exc:  # noqa: BLE001  whatever stops mypyc, the install goes on (mypy's
        # type errors end in SystemExit, printed above)
        print(f"warning: the bounce classifier stays plain Python: mypyc refused it ({exc!r})", file=sys.stderr)
        return []


class AllOrNothing(build_ext):
    """Every compiled module, or none: a module compiled without mypyc's shared library would not import."""

    def run(self) -> None:
        try:
            super().run()
        except (BaseError, CCompilerError, OSError) as exc:
            for extension in self.extensions:
                Path(self.get_ext_fullpath(extension.name)).unlink(missing_ok=True)
            print(f"warning: the bounce classifier stays plain Python: compiling it failed ({exc})", file=sys.stderr)


class WithPatternTable(build_py):
    """The package, and the classifier's regular expressions compiled by this Python into
    mailfleet/shared/bounces/_sre_code.py (shared/bounces/patterns.py says why)."""

    def run(self) -> None:
        super().run()
        if PURE_PYTHON:
            return
        table = Path(self.build_lib) / "mailfleet" / "shared" / "bounces" / "_sre_code.py"
        write = f"from mailfleet.shared.bounces.patterns import write_table; write_table({str(table)!r})"
        done = subprocess.run([sys.executable, "-c", write], env={**os.environ, "PYTHONPATH": str(STAGE)},
                              capture_output=True, text=True, check=False)
        if done.returncode:
            table.unlink(missing_ok=True)
            print(f"warning: the classifier's patterns will be compiled at run time: {done.stderr.strip()[-500:]}",
                  file=sys.stderr)


PURE_PYTHON = bool(os.environ.get("MAILFLEET_PURE_PYTHON"))
setup(ext_modules=[] if PURE_PYTHON else compiled_classifier(_staged()),
      cmdclass={"build_ext": AllOrNothing, "build_py": WithPatternTable})
