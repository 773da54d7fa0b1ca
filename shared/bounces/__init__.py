"""The bounce classifier: `classify(raw_bytes) -> Verdict`. Pure: no I/O, never raises.

version() changes whenever the classifier's code does: a message it once could not read is read again
by a classifier whose version differs (daemon/marking.py).
"""

from functools import cache

from .classifier import classify, rule_source
from .model import Failure, Verdict


@cache
def version() -> str:
    """A hash of the classifier's code (computed when first asked: `mailfleetctl classify` never asks)."""
    import hashlib
    from pathlib import Path

    code = b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))
    return hashlib.sha256(code).hexdigest()[:16]


def build() -> str:
    """How this classifier was installed: compiled by mypyc (setup.py), or plain Python, which a wheel built
    without mypy or a C compiler holds and an editable install always does."""
    from . import classifier, patterns

    compiled = "compiled with mypyc" if not classifier.__file__.endswith(".py") else "plain Python"
    return f"{compiled}, {len(patterns._TABLE)} patterns compiled by the build"


__all__ = ["build", "classify", "rule_source", "version", "Failure", "Verdict"]
