"""What the classifier says about one message."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# "unparsed": a message that says it is a bounce (a mailer daemon's, a bounce subject) in which no failed
# recipient could be read, or one the classifier broke on. Kept for a person, never taken for mail.
Kind = Literal["bounce", "autoreply", "feedback", "delivered", "delayed", "relayed", "mail", "unparsed"]

# Whom a failure is about, decided by its reason. Only a recipient's failure touches the contact:
# - sender: the sending side is refused (a blocklist, SPF/DKIM/DMARC, rate limits, relaying, reputation,
#   the envelope sender): the account's health, never the contact's;
# - message: this one message was refused (its content, its size): recorded, and nobody is marked.
About = Literal["recipient", "sender", "message"]
SENDER_REASONS = frozenset({"rejected", "blocked", "authfailure", "policyviolation", "toomanyconn", "norelaying",
                            "securityerror"})
MESSAGE_REASONS = frozenset({"spamdetected", "virusdetected", "exceedlimit", "contenterror"})


def about(reason: str) -> About:
    return "sender" if reason in SENDER_REASONS else "message" if reason in MESSAGE_REASONS else "recipient"


@dataclass
class Failure:
    """One recipient the message says could not be reached, and why: the reason, the rule (an id from
    reasons.py) that decided it and the words that rule rested on."""

    address: str
    hard: bool
    status: str | None
    reason: str
    diagnostic: str
    final_recipient: str | None = None
    rule: str = ""
    evidence: str = ""
    about: About = field(init=False)

    def __post_init__(self) -> None:
        self.about = about(self.reason)


@dataclass
class Verdict:
    kind: Kind
    failures: list[Failure] = field(default_factory=list)
    message_id: str | None = None
    sender: str | None = None  # the From address of the message itself
    subject: str = ""
    note: str = ""  # why, when it is not obvious (e.g. a parse problem)
    rule: str = ""  # what decided the kind (the failures carry their own)
    complainants: list[str] = field(default_factory=list)  # a spam complaint's (RFC 5965) recipients

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
