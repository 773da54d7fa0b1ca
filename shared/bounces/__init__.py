"""The bounce classifier: `classify(raw_bytes) -> Verdict`. Pure: no I/O, never raises.

VERSION changes whenever the classifier's code does: a message it once could not read is read again
by a classifier whose VERSION differs (daemon/marking.py).
"""

import hashlib
from pathlib import Path

from .classifier import classify, classify_many, rule_source
from .model import Failure, Verdict

VERSION = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))).hexdigest()[:16]

__all__ = ["classify", "classify_many", "rule_source", "Failure", "Verdict", "VERSION"]
