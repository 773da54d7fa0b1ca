"""The shared validation rules, each with the field path it reports."""

from __future__ import annotations

import copy

import pytest

from mailfleet.shared.models import FieldErrors, ListParams, validate_account, validate_model
from mailfleet.shared.validators import redact_proxy

from ..support.samples import MARKETING, OWN


def errors(data, **kw) -> dict[str, str]:
    with pytest.raises(FieldErrors) as info:
        validate_account(data, **kw)
    return info.value.fields


def own(**changes):
    data = copy.deepcopy(OWN)
    for path, value in changes.items():
        section, _, key = path.rpartition("__")
        target = data[section] if section else data
        target[key] = value
    return data


def test_valid_accounts_get_defaults():
    acc = validate_account(own(smtp__port=None, smtp__security="ssl"))
    assert acc.smtp.port == 465
    m = validate_account(MARKETING)
    assert m.kind == "marketing" and m.shared is False


@pytest.mark.parametrize(
    "field,value,path,why",
    [
        ("email", "not-an-address", "email", "not a valid email address"),
        ("email", "a@b.com\r\nBcc: victim@example.com", "email", "line breaks"),
        ("reply_to_email", "nobody@", "reply_to_email", "not a valid email address"),
        ("name", "", "name", "required"),
        ("name", "Sales\nBcc: x@example.com", "name", "line breaks"),
        ("display_name", "ACME\r\nX-Evil: 1", "display_name", "line breaks"),
        ("display_name", "tab\there", "display_name", "control characters"),
        ("reply_to_name", "a\x00b", "reply_to_name", "control characters"),
        ("from_name_field", "first\nname", "from_name_field", "line breaks"),
        ("shared", "yes", "shared", "true or false"),
        ("kind", "other", "kind", "must be one of"),
        ("smtp__port", 0, "smtp.port", "must be 1-65535"),
        ("smtp__port", 65536, "smtp.port", "must be 1-65535"),
        ("smtp__port", "587", "smtp.port", "must be an integer"),
        ("smtp__host", "bad host", "smtp.host", "not a valid host name"),
        ("smtp__host", "-leading.example.com", "smtp.host", "not a valid host name"),
        ("smtp__host", "300.1.1.1", "smtp.host", "not a valid host name"),
        ("smtp__security", "tls", "smtp.security", "must be one of none, starttls or ssl"),
        ("smtp__proxy", "ftp://proxy:21", "smtp.proxy", "scheme must be socks5 or http"),
        ("smtp__proxy", "socks5://proxy", "smtp.proxy", "must look like"),
        ("smtp__proxy", "socks5://proxy:99999", "smtp.proxy", "must look like"),
        ("smtp__proxy", "http://proxy:8080/path", "smtp.proxy", "must look like"),
        ("smtp__user", "", "smtp.user", "required when authenticate is on"),
        ("smtp__password", "pw\r\nQUIT", "smtp.password", "line breaks"),
        ("smtp__bogus", 1, "smtp.bogus", "unknown field"),
    ],
)
def test_rule(field, value, path, why):
    found = errors(own(**{field: value}))
    assert path in found, found
    assert why in found[path]


def test_hosts_and_proxies_that_are_fine():
    for host in ("127.0.0.1", "::1", "mail.example.com", "localhost", "bücher.example", "mx1.example.com."):
        assert validate_account(own(smtp__host=host)).smtp.host == host
    for proxy in ("socks5://127.0.0.1:1080", "socks5://user:pw@proxy.example.com:1080", "http://[::1]:3128"):
        assert validate_account(own(smtp__proxy=proxy)).smtp.proxy == proxy


def test_proxy_password_is_redacted():
    assert redact_proxy("socks5://u:secret@h:1080") == "socks5://u:********@h:1080"
    assert redact_proxy("http://h:3128") == "http://h:3128"


def test_password_required_unless_stored():
    data = own()
    del data["smtp"]["password"]
    assert errors(data) == {"smtp.password": "required when authenticate is on"}
    assert validate_account(data, stored_passwords={"smtp"}).smtp.password is None


def test_incoming_requires_its_fields_and_bounds():
    found = errors(own(incoming={"protocol": "imap"}))
    assert found == {"incoming.host": "required", "incoming.user": "required"}
    found = errors(own(incoming={"protocol": "imap", "host": "imap.example.com", "user": "u"}))
    assert found == {"incoming.password": "required"}
    base = {"protocol": "pop3", "host": "pop.example.com", "user": "u", "password": "p"}
    assert validate_account(own(incoming=base)).incoming.port == 995
    assert errors(own(incoming={**base, "batch_size": 0})) == {"incoming.batch_size": "must be 1-10000"}
    assert errors(own(incoming={**base, "batch_size": 10001})) == {"incoming.batch_size": "must be 1-10000"}
    assert validate_account(own(incoming={**base, "batch_size": 10000})).incoming.batch_size == 10000
    assert "incoming.protocol" in errors(own(incoming={**base, "protocol": "smtp"}))
    assert errors(own(incoming={**base, "ssl": 1})) == {"incoming.ssl": "must be true or false"}


def test_marketing_accounts_carry_no_smtp_or_incoming():
    found = errors({**MARKETING, "smtp": OWN["smtp"], "incoming": {"protocol": "imap"}, "email": "x"})
    assert set(found) == {"smtp", "incoming", "email"}
    assert "platform relay" in found["smtp"]


def test_own_account_needs_smtp():
    data = own()
    del data["smtp"]
    assert errors(data) == {"smtp": "required"}


def test_errors_never_echo_the_input():
    found = errors(own(smtp__password="x" * 2000))
    assert "x" * 20 not in str(found)


def test_list_params():
    assert validate_model(ListParams, {}).limit == 50
    with pytest.raises(FieldErrors) as info:
        validate_model(ListParams, {"limit": 0, "kind": "x", "sort": "password", "offset": -1})
    assert set(info.value.fields) == {"limit", "kind", "sort", "offset"}


def test_an_update_is_a_merge_patch():
    """RFC 7396 over the stored account: left out keeps, null restores the default, objects merge."""
    from mailfleet.daemon.methods.accounts.core import merge_patch
    from mailfleet.shared.models import AccountUpdate

    current = {"name": "A", "email": "a@example.com", "display_name": "Shown", "smtp": {"host": "h.example", "port": 2525, "user": "u",
                                                              "security": "starttls"}}
    patch = validate_model(AccountUpdate, {"id": 1, "display_name": None, "smtp": {"port": None, "user": "v",
                                                                                     "password_set": True},
                                           "last_test": {"ok": True}}).changes()
    assert patch == {"display_name": None, "smtp": {"port": None, "user": "v"}}, "what get shows is ignored"
    merged = merge_patch(current, patch)
    assert merged == {"name": "A", "email": "a@example.com", "smtp": {"host": "h.example", "user": "v", "security": "starttls"}}
    account = validate_account({**merged, "kind": "own"}, stored_passwords={"smtp"})
    assert (account.display_name, account.smtp.port) == ("", 587), "defaults, as for a new account"
    assert merge_patch(current, {"incoming": None})["smtp"] == current["smtp"]


def test_the_account_union_words_its_errors_by_field():
    from mailfleet.shared.models import RELAY_ONLY, AccountUpdate

    with pytest.raises(FieldErrors) as info:
        validate_account({"kind": "tv", "name": "x"})
    assert info.value.fields == {"kind": "must be one of marketing, own"}
    with pytest.raises(FieldErrors) as info:
        validate_account({**MARKETING, "email": "nope", "incoming": {"protocol": "imap"}})
    assert set(info.value.fields) == {"email", "incoming"} and info.value.fields["incoming"] == RELAY_ONLY
    with pytest.raises(FieldErrors) as info:
        validate_model(AccountUpdate, {"id": 3, "status": "active", "approval": "approved"})
    assert info.value.fields == {"status": "read-only", "approval": "read-only"}


def test_what_discover_publishes_is_what_the_dispatcher_validates_with():
    from pydantic.json_schema import models_json_schema

    from mailfleet.daemon import methods
    from mailfleet.daemon.methods.discover import REF, openrpc
    from mailfleet.daemon.rpc import Dispatcher

    table = Dispatcher(methods.ALL).methods
    doc = openrpc(table)
    for method in table.values():
        _, top = models_json_schema([(method.params, "validation")], ref_template=REF)
        own = top["$defs"][method.params.__name__]
        assert doc["components"]["schemas"][method.params.__name__] == own, method.name
    create = {p["name"]: p for p in next(m for m in doc["methods"] if m["name"] == "accounts.create")["params"]}
    assert create["name"]["required"] and not create["smtp"]["required"], "smtp: own accounts only"
    assert "anyOf" in create["kind"]["schema"]


def test_one_translator_words_a_failure_the_same_for_a_round_and_a_test():
    """net/words.py: what a connection test and a mailbox round say of the same exception."""
    import socket
    import ssl

    from mailfleet.daemon.net.words import describe, failure
    from mailfleet.daemon.probe.report import explain

    refused = ConnectionRefusedError(111, "Connection refused")
    said = failure(refused, "connect", "mail.example.com", 993, 10)
    assert (said.category, said.message) == ("refused", "mail.example.com:993 refused the connection")
    assert "nothing listens" in said.hint
    assert explain("connect", refused, "mail.example.com", 993, 10).message == said.message
    assert failure(TimeoutError(), "auth", "h", 1, 7.5).message == "no answer from h:1 within 7.5s during auth"
    assert failure(socket.gaierror(-2, "Name or service not known"), "dns", "nx.invalid", 25).category == "dns"
    assert failure(ssl.SSLError(1, "wrong version")).category == "tls"
    assert describe(Exception(b"NO [AUTHENTICATIONFAILED] Invalid credentials")) == \
        "NO [AUTHENTICATIONFAILED] Invalid credentials", "a server's reply, never b'...'"
    reset = ConnectionResetError(104, "Connection reset by peer")
    assert failure(reset, "fetch").category == "protocol", "after the connection, a broken talk"


def test_the_form_and_the_cli_offer_every_field_of_the_models():
    """A field added to the models is a flag and a form field at once, or this says which is missing."""
    from mailfleet.ctl.accounts import FIELD_FLAGS
    from mailfleet.shared.models import SECTIONS
    from mailfleet.tui.components.account_form import DEFAULTS, FORM_FIELDS

    fields = {f"{section}.{key}" if section else key for section, model in SECTIONS for key in model.model_fields}
    assert {path for path, *_ in FORM_FIELDS} == fields
    assert {path for _, path, *_ in FIELD_FLAGS} == fields
    assert (DEFAULTS["smtp.port"], DEFAULTS["incoming.port"], DEFAULTS["incoming.poll_interval"]) == (587, 993, 300)


def _slow_check_email(value: str):
    """check_email's answer by email_validator's full parse alone (the fast path set aside)."""
    from mailfleet.shared import validators

    real = validators._plain_email
    validators._plain_email = lambda _value: None
    try:
        return validators.check_email(value)
    except ValueError as exc:
        return ("refused", str(exc))
    finally:
        validators._plain_email = real


def test_the_fast_path_for_plain_addresses_answers_as_email_validator_does():
    import random

    from mailfleet.shared.validators import _plain_email

    rng = random.Random(16)
    atext = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
    edge = ["a@b.co", "A.B@EXAMPLE.COM", "a..b@x.com", ".a@x.com", "a.@x.com", "a@-x.com", "a@x-.com", "a@x.c",
            "a@x.123", "a@1.2.3.com", "a@ab--cd.com", "a@xn--bcher-kva.de", "a@XN--bcher-kva.de", "a@x.xn--p1ai",
            "a@x.test", "a@localhost", "a@x.localhost", "a@x.local", "a@x.onion", "a@x.arpa", "a@x.invalid",
            "a@" + "x" * 63 + ".com", "a@" + "x" * 64 + ".com", "x" * 64 + "@a.com", "x" * 65 + "@a.com",
            "a@" + ".".join(["x" * 60] * 4) + ".com", "a@" + ".".join(["x" * 61] * 4) + ".com",
            "a@x.com.", "a@x..com", "a b@x.com", "a@x_y.com", "a@b.example", "postmaster@x.museum",
            "a@x.co.uk", "a@x." + "c" * 63, "a@x." + "c" * 64, "a@0x.com", "a@x0.com", "a@x.c0m"]
    generated = []
    for _ in range(3000):
        local = ".".join("".join(rng.choice(atext) for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(1, 3)))
        labels = ["".join(rng.choice("abcXY09-") for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 3))]
        tld = rng.choice(["com", "de", "test", "local", "x1", "ab--c", "Net", "c"])
        generated.append(f"{local}@{'.'.join(labels)}.{tld}")
    fast_answers = 0
    for address in edge + generated:
        fast = _plain_email(address)
        if fast is not None:
            fast_answers += 1
            assert fast == _slow_check_email(address), address
    assert fast_answers > 1000, "the fast path is the common case"
