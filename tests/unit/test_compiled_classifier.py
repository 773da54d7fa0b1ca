"""The classifier a user installs is compiled by mypyc, its patterns by the build (setup.py); the other
tests run on the plain-Python source. mypyc checks type annotations at run time and gives a variable one
type, where Python does neither, so a wrong one is a TypeError only the compiled classifier raises (and
the classifier turns into an "unparsed" verdict): the wheel is built here and must say, word for word,
what the source says of every corpus message, damaged as in test_classifier, and of the hostile input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from mailfleet.shared.bounces import classify

from .test_classifier import CORPUS, DAMAGE, HOSTILE

# Reads the files named on stdin, prints each one's verdict as a JSON line, as it comes back through pickle
# (from a classifier worker, daemon/mailbox/classifying.py); first, where the classifier was imported from
# and how many patterns came compiled with it.
DRIVER = """
import json, pickle, sys
from mailfleet.shared.bounces import classifier, classify, patterns
print(classifier.__file__, len(patterns._TABLE), flush=True)
for line in sys.stdin:
    with open(line.rstrip("\\n"), "rb") as fh:
        verdict = classify(fh.read())
    assert pickle.loads(pickle.dumps(verdict)) == verdict
    print(json.dumps(verdict.to_json(), ensure_ascii=False))
"""


def _inputs(folder) -> list:
    """Every corpus message, whole and damaged each way, and the hostile input, as files."""
    files = []
    for name in ("dev", "dev2"):
        for path in sorted((CORPUS / name).iterdir()):
            if path.suffix in (".eml", ".txt"):
                files.append(path)
                for i, damage in enumerate(DAMAGE.values()):
                    damaged = folder / f"{name}-{path.stem}-{i}.eml"
                    damaged.write_bytes(damage(path.read_bytes()))
                    files.append(damaged)
    for i, raw in enumerate(HOSTILE):
        hostile = folder / f"hostile-{i}.eml"
        hostile.write_bytes(raw)
        files.append(hostile)
    return files


def test_the_compiled_classifier_says_what_the_source_says(compiled_site, tmp_path):
    files = _inputs(tmp_path)
    run = subprocess.run([sys.executable, "-c", DRIVER], input="".join(f"{p}\n" for p in files),
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(compiled_site)})
    first, *lines = run.stdout.splitlines()
    where, table = first.split(" ")
    assert where.endswith(".so") and where.startswith(str(compiled_site)), \
        f"the wheel's classifier is not compiled (setup.py fell back to pure Python?): {where}\n{run.stderr}"
    assert int(table) > 200, "the wheel holds no table of compiled patterns (shared/bounces/patterns.py)"
    assert len(lines) == len(files)
    differ = [str(path) for path, line in zip(files, lines)
              if json.loads(line) != json.loads(json.dumps(classify(path.read_bytes()).to_json()))]
    assert not differ, f"{len(differ)} of {len(files)} verdicts differ, e.g. {differ[:5]}"


def test_version_says_the_classifier_is_compiled(compiled_site):
    """What a sysadmin asks when the build could not compile (pip shows setup.py's warning only with -v)."""
    done = subprocess.run([sys.executable, "-m", "mailfleet.ctl", "--version"], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(compiled_site)})
    assert re.fullmatch(r"mailfleetctl \S+\nbounce classifier: compiled with mypyc, \d{3} patterns compiled by "
                        r"the build\n", done.stdout), done.stdout
