"""What the classifier says about one message."""

from __future__ import annotations

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


class Failure:
    """One recipient the message says could not be reached, and why: the reason, the rule (an id from
    reasons.py) that decided it and the words that rule rested on. `about` follows from the reason.

    Failure and Verdict are plain classes, not dataclasses: the dataclasses module (and the inspect
    module it imports) was a twentieth of `mailfleetctl classify`'s start-up."""

    __slots__ = ("address", "hard", "status", "reason", "diagnostic", "final_recipient", "rule", "evidence",
                 "about")

    def __init__(self, address: str, hard: bool, status: str | None, reason: str, diagnostic: str,
                 final_recipient: str | None = None, rule: str = "", evidence: str = "") -> None:
        self.address, self.hard, self.status, self.reason = address, hard, status, reason
        self.diagnostic, self.final_recipient, self.rule, self.evidence = diagnostic, final_recipient, rule, evidence
        self.about: About = about(reason)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "hard": self.hard, "status": self.status, "reason": self.reason,
                "diagnostic": self.diagnostic, "final_recipient": self.final_recipient, "rule": self.rule,
                "evidence": self.evidence, "about": self.about}

    def __reduce__(self) -> tuple[Any, ...]:
        # What pickle needs to send a verdict back from a classifier worker (daemon/mailbox/classifying.py):
        # the class compiled by mypyc is rebuilt by calling it, with these arguments.
        return Failure, (self.address, self.hard, self.status, self.reason, self.diagnostic, self.final_recipient,
                         self.rule, self.evidence)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failure) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"Failure({self.to_json()!r})"


class Verdict:
    """What the classifier says of one message: its kind, and the failures it reports."""

    __slots__ = ("kind", "failures", "message_id", "sender", "subject", "note", "rule", "complainants")

    def __init__(self, kind: Kind, failures: list[Failure] | None = None, message_id: str | None = None,
                 sender: str | None = None, subject: str = "", note: str = "", rule: str = "",
                 complainants: list[str] | None = None) -> None:
        self.kind: Kind = kind
        self.failures: list[Failure] = [] if failures is None else failures
        self.message_id = message_id
        self.sender = sender  # the From address of the message itself
        self.subject = subject
        self.note = note  # why, when it is not obvious (e.g. a parse problem)
        self.rule = rule  # what decided the kind (the failures carry their own)
        self.complainants: list[str] = [] if complainants is None else complainants  # RFC 5965 complaints

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "failures": [f.to_json() for f in self.failures], "message_id": self.message_id,
                "sender": self.sender, "subject": self.subject, "note": self.note, "rule": self.rule,
                "complainants": list(self.complainants)}

    def __reduce__(self) -> tuple[Any, ...]:
        return Verdict, (self.kind, self.failures, self.message_id, self.sender, self.subject, self.note, self.rule,
                         self.complainants)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verdict) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"Verdict({self.to_json()!r})"
