"""Field rules shared by every model: hosts, addresses, header-safe text.

Each check raises ValueError with the sentence a person sees beside the
field, in the TUI form and in `data.fields` on the wire alike.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
PROXY_SCHEMES = ("socks5", "http")


def check_no_control(value: str) -> str:
    """Refuse control characters: in a header they are an injection, elsewhere a mistake."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            if ch in "\r\n":
                raise ValueError("must not contain line breaks (CR/LF)")
            raise ValueError(f"must not contain control characters (U+{ord(ch):04X})")
    return value


def check_host(value: str) -> str:
    check_no_control(value)
    if not value:
        raise ValueError("required")
    if len(value) > 253:
        raise ValueError("at most 253 characters")
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    try:
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("not a valid host name or IP address") from None
    labels = ascii_name.removesuffix(".").split(".")
    if not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValueError("not a valid host name or IP address")
    return value


# The common case, read without email_validator's full parse (a tenth of a millisecond an address, which
# a list of 100,000 feels): a plain ASCII dot-atom local part (RFC 5322 3.2.3) at a host name of LDH labels
# (RFC 1035 2.3.1) under an alphabetic top-level label, none with '--' after two characters (an IDNA
# A-label, or what IDNA 2008 reserves). For these email_validator's answer is the address with its domain
# lower-cased (a special-use domain's too, below); anything else takes the full path.
# tests/unit/test_models.py holds the two to the same answers.
_PLAIN_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                          r"@((?:(?!..--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                          r"(?!..--)[A-Za-z]{2,63})", re.ASCII)


def _plain_email(value: str) -> str | None:
    m = _PLAIN_EMAIL.fullmatch(value)
    if m is None or len(value) > 254 or value.index("@") > 64 or len(m.group(1)) > 253:
        return None
    return value[:m.start(1)] + m.group(1).lower()


def check_email(value: str) -> str:
    plain = _plain_email(value)
    if plain is not None:
        return plain
    check_no_control(value)
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        local, _, domain = value.rpartition("@")
        if "special-use" not in str(exc) or not local:
            raise ValueError(f"not a valid email address: {exc}") from None
    # Internal mail (corp.local, a .test lab) is real for sysadmins: the syntax is
    # still checked, the domain as a host name.
    try:
        normal = validate_email(f"{local}@example.com", check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    try:
        check_host(domain)
    except ValueError:
        raise ValueError("not a valid email address: the domain is not a valid host name") from None
    return f"{normal.rpartition('@')[0]}@{domain.lower()}"


def check_range(lo: int, hi: int):
    def check(value: int) -> int:
        if not lo <= value <= hi:
            raise ValueError(f"must be {lo}-{hi}")
        return value

    return check


def check_proxy(value: str) -> str:
    check_no_control(value)
    form = "must look like socks5://[user:pass@]host:port or http://host:port"
    try:
        url = urlsplit(value)
        port = url.port
    except ValueError:
        raise ValueError(form) from None
    if url.scheme not in PROXY_SCHEMES:
        raise ValueError(f"scheme must be socks5 or http: {form.removeprefix('must look like ')}")
    if url.path not in ("", "/") or url.query or url.fragment or not url.hostname or port is None:
        raise ValueError(form)
    if not 1 <= port <= 65535:
        raise ValueError("proxy port must be 1-65535")
    check_host(url.hostname)
    return value


def redact_proxy(value: str | None) -> str | None:
    """The proxy URL as it may be shown: the password replaced by asterisks."""
    if not value:
        return value
    url = urlsplit(value)
    if url.password is None:
        return value
    host = f"[{url.hostname}]" if ":" in (url.hostname or "") else url.hostname
    netloc = f"{url.username}:********@{host}:{url.port}"
    return url._replace(netloc=netloc).geturl()


def check_rule(value: str) -> str:
    """A classifier rule's id, as `classify --explain` and stored bounces name it."""
    from .bounces import rule_source  # the classifier's patterns load only when a rule is named

    if not rule_source(value):
        raise ValueError(f"no classifier rule is named {value!r} (mailfleetctl classify --explain FILE names them)")
    return value


def check_utc_time(value: str) -> str:
    """An ISO 8601 time (a date alone is its midnight), as the daemon stores times: UTC, milliseconds, Z."""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 time, e.g. 2026-12-01 or 2026-12-01T08:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_issuer(value: str) -> str:
    """An OAuth issuer URL: https, or plain http only to this host (where nothing crosses a network)."""
    check_no_control(value)
    try:
        url = urlsplit(value)
        url.port
    except ValueError:
        raise ValueError("must be a URL like https://login.example.com/realm") from None
    if url.scheme not in ("https", "http") or not url.hostname or url.query or url.fragment:
        raise ValueError("must be a URL like https://login.example.com/realm")
    if url.scheme == "http" and url.hostname not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError("must be https (tokens and secrets cross it); http only to this host (127.0.0.1)")
    return value


def check_scopes(value: str) -> str:
    """OAuth scopes, space-separated (RFC 6749 section 3.3: printable ASCII, no quote or backslash)."""
    for scope in value.split():
        if any(ch in '"\\' or not 0x21 <= ord(ch) <= 0x7E for ch in scope):
            raise ValueError(f"not a valid scope: {scope[:40]!r} (printable ASCII, separated by spaces)")
    return " ".join(value.split())


def check_unsubscribe_url(value: str) -> str:
    """A List-Unsubscribe link: https (RFC 8058's one-click needs it), printable ASCII, no '>' or ','
    (they would end the header's <...> item)."""
    check_no_control(value)
    url = urlsplit(value)
    if url.scheme != "https" or not url.hostname:
        raise ValueError("must be an https:// link (RFC 8058's one-click unsubscribe requires https)")
    if any(not 0x21 <= ord(ch) <= 0x7E or ch in "<>," for ch in value):
        raise ValueError("must be plain ASCII without spaces, '<', '>' or ',' (percent-encode them)")
    return value


def check_service_account_key(value: str) -> str:
    """A service account's key file as Google Cloud gives it: JSON with client_email and private_key.
    The error never quotes it (it is a private key)."""
    import json

    try:
        doc = json.loads(value)
    except ValueError:
        raise ValueError("not JSON: paste the key file as downloaded") from None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) and doc[k] for k in ("client_email",
                                                                                              "private_key")):
        raise ValueError("the key file has no client_email and private_key")
    return value
