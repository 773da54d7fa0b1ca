"""What the classifier says about one message."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["bounce", "autoreply", "feedback", "delivered", "delayed", "relayed", "mail"]


@dataclass
class Failure:
    """One recipient the message says could not be reached."""

    address: str
    hard: bool
    status: str | None
    reason: str
    diagnostic: str
    final_recipient: str | None = None


@dataclass
class Verdict:
    kind: Kind
    failures: list[Failure] = field(default_factory=list)
    message_id: str | None = None
    sender: str | None = None  # the From address of the message itself
    subject: str = ""
    note: str = ""  # why, when it is not obvious (e.g. a parse problem)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
