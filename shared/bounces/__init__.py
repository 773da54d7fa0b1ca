"""The bounce classifier: `classify(raw_bytes) -> Verdict`. Pure: no I/O, never raises."""

from .classifier import classify, classify_many, rule_source
from .model import Failure, Verdict

__all__ = ["classify", "classify_many", "rule_source", "Failure", "Verdict"]
