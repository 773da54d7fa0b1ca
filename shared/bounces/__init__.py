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


__all__ = ["classify", "rule_source", "version", "Failure", "Verdict"]
