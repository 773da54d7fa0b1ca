"""Signing in with an OAuth 2.0 bearer token: the SASL mechanisms XOAUTH2 and OAUTHBEARER, and a
server's refusal in words.

- XOAUTH2 is Google's and Microsoft's: "user=U^Aauth=Bearer T^A^A" (Google's "OAuth 2.0 Mechanism"
  page; Microsoft's "Authenticate an IMAP, POP or SMTP connection using OAuth").
- OAUTHBEARER is the standard one, RFC 7628 §3.1: a GS2 header naming the user ("n,a=U,"), then
  host, port and "auth=Bearer T", each ended by ^A, and a final ^A.
A server that refuses a token first sends a challenge holding a base64 JSON error (RFC 7628 §3.2.2:
{"status", "scope", "openid-configuration"}; Google's form is alike, its status an HTTP code) and
waits for an empty client response ("^A" in RFC 7628's words, an empty line for XOAUTH2) before it
says NO. The JSON is what tells a person why: refusal() turns it into a sentence and a hint.

The IMAP and POP3 exchanges live with their clients (imap.py, pop3.py: methods of the stdlib classes
they extend); SMTP's, on aiosmtplib, is smtp_authenticate() here.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...shared.words import printable

if TYPE_CHECKING:
    from aiosmtplib import SMTP, SMTPResponse

MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


def initial_response(mechanism: str, user: str, token: str, host: str = "", port: int = 0) -> bytes:
    """The client's first message for `mechanism`, not yet base64-encoded (each protocol encodes it)."""
    if mechanism == "XOAUTH2":
        return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    if mechanism == "OAUTHBEARER":
        # RFC 5801 §4 saslname: "," and "=" in the authorization identity are escaped.
        name = user.replace("=", "=3D").replace(",", "=2C")
        return f"n,a={name},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()
    raise ValueError(f"not an OAuth 2.0 SASL mechanism: {mechanism}")


class NoMechanism(Exception):
    """The server offers neither OAuth 2.0 mechanism."""

    def __init__(self, offered: list[str]) -> None:
        self.offered = offered
        super().__init__(f"the server offers no OAuth 2.0 sign-in (XOAUTH2 or OAUTHBEARER); it offers "
                         f"{', '.join(offered) or 'no SASL mechanism'}")


def choose(offered: list[str]) -> str:
    """The mechanism to use: XOAUTH2 where offered (Microsoft 365 offers only it; Google and Dovecot both),
    else OAUTHBEARER."""
    names = {m.upper() for m in offered}
    for mechanism in MECHANISMS:
        if mechanism in names:
            return mechanism
    raise NoMechanism(sorted(names))


# What an empty client response is, once the server has sent its error challenge.
ABORT = {"XOAUTH2": b"", "OAUTHBEARER": b"\x01"}


@dataclass
class TokenRefused(Exception):
    """The server refused the token: what it said (its JSON, decoded), in words, with a hint."""

    status: str
    scope: str
    words: str
    hint: str

    def __str__(self) -> str:
        return self.words


def refusal(challenge: bytes | str, fallback: str = "") -> TokenRefused:
    """The error a server's challenge carries (base64 JSON, or the JSON itself), in words."""
    raw = challenge.encode() if isinstance(challenge, str) else challenge
    try:
        doc = json.loads(base64.b64decode(raw.strip(), validate=True) if raw.strip()[:1] != b"{" else raw)
    except (binascii.Error, ValueError):
        doc = None
    if not isinstance(doc, dict):
        text = _plain(fallback or raw.decode("utf-8", "replace").strip() or "the server refused the token", 300)
        return TokenRefused("", "", f"the server refused the token: {text[:300]}",
                            "sign in again for a new token, and check the app's permissions")
    # A server's words, bounded and without control characters: they reach logs, replies and screens.
    status = _plain(doc.get("status", ""))
    scope = _plain(doc.get("scope", ""))
    if status in ("insufficient_scope", "403"):
        return TokenRefused(status, scope, f"the token lacks the scope the server asks for{f': {scope}' if scope else ''}",
                            "add that scope (API permission) to the app registration and sign in again")
    if status in ("invalid_token", "401", "400"):
        return TokenRefused(status, scope, f"the server refused the token ({status}): expired, revoked, or for "
                                           "another mailbox than the user named",
                            "check the mailbox user, then sign in again for a new token")
    return TokenRefused(status, scope, f"the server refused the token ({status or 'no reason given'})",
                        "sign in again for a new token, and check the app's permissions")


def _plain(value: object, limit: int = 200) -> str:
    return printable(str(value))[:limit]


async def smtp_authenticate(smtp: SMTP, mechanism: str, user: str, token: str, host: str = "",
                            port: int = 0) -> SMTPResponse:
    """AUTH with a bearer token on an aiosmtplib connection (after EHLO, and STARTTLS where used).
    aiosmtplib's own auth_xoauth2 drops the server's JSON error; this keeps it, and speaks OAUTHBEARER."""
    first = base64.b64encode(initial_response(mechanism, user, token, host, port))
    reply = await smtp.execute_command(b"AUTH", mechanism.encode(), first)
    if reply.code == 334:  # the error challenge: answer it empty, and the server says its final no
        challenge = reply.message
        final = await smtp.execute_command(base64.b64encode(ABORT[mechanism]))
        raise refusal(challenge, fallback=f"{final.code} {final.message}")
    if reply.code != 235:
        raise refusal(b"", fallback=f"{reply.code} {reply.message}")
    return reply
