"""Signing in with OAuth 2.0 bearer tokens (daemon/net/sasl.py) against real servers on 127.0.0.1: tokens
from a real identity provider (oidc-provider), Dovecot's oauth2 passdb introspecting them for IMAP and
POP3, and an aiosmtpd server that asks the same provider. Good tokens sign in by XOAUTH2 and by
OAUTHBEARER; a revoked token and one without the mail scope are refused, and the refusal is told in
words from the server's own error."""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest

from mailfleet.daemon.net import imap as net_imap
from mailfleet.daemon.net import pop3 as net_pop3
from mailfleet.daemon.net import sasl
from mailfleet.daemon.net.settings import IncomingSettings

from ..support.daemons import scratch_dir
from ..support.idp import SERVER, IdentityProvider
from ..support.mailservers import oauth_smtp_server
from ..support.servers import Dovecot

# The test SMTP server takes tokens without TLS on 127.0.0.1, which aiosmtpd warns about on each connection.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

MAILBOX = "relay@oauth.test"  # the mailbox the relay client's tokens are for (app-only access)
MECHANISMS = ["XOAUTH2", "OAUTHBEARER"]


@pytest.fixture(scope="module")
def idp():
    provider = IdentityProvider(mailboxes={"mailrelay": MAILBOX})
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def dovecot(idp):
    for root in scratch_dir("mfo"):
        server = Dovecot(root / "dovecot", introspection_url=idp.server_introspection_url)
        server.add_user(MAILBOX, "a-password-nobody-uses-here")  # to put mail in, the tests' way
        server.add_user("other@oauth.test", "another-password")
        server.start()
        server.append(MAILBOX, b"From: a@example.com\r\nSubject: hello\r\n\r\nhi\r\n")
        yield server
        server.stop()


def incoming(dovecot: Dovecot, protocol: str) -> IncomingSettings:
    port = dovecot.imap_port if protocol == "imap" else dovecot.pop3_port
    return IncomingSettings(protocol=protocol, host="127.0.0.1", port=port, user=MAILBOX, password="", ssl=False,
                            verify_tls=True, folder="INBOX", batch_size=100, timeout=10, max_message_bytes=1 << 20)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_imap_signs_in_with_a_token(idp, dovecot, mechanism):
    conn = net_imap.connect(incoming(dovecot, "imap"))
    try:
        typ, _ = conn.authenticate_bearer(mechanism, MAILBOX, idp.client_token(), "127.0.0.1", dovecot.imap_port)
        assert typ == "OK"
        typ, data = conn.select("INBOX", readonly=True)
        assert typ == "OK" and data == [b"1"], "the mailbox the token is for, its message there"
    finally:
        conn.logout()


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_pop3_signs_in_with_a_token_in_two_steps(idp, dovecot, mechanism):
    conn = net_pop3.connect(incoming(dovecot, "pop3"))
    try:
        assert conn.authenticate_bearer(mechanism, MAILBOX, idp.client_token(), "127.0.0.1",
                                        dovecot.pop3_port).startswith(b"+OK")
        assert conn.stat()[0] == 1
    finally:
        conn.quit()


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_refused_token_is_said_in_the_servers_words(idp, dovecot, protocol, mechanism):
    revoked = idp.client_token()
    idp.revoke(revoked)
    settings = incoming(dovecot, protocol)
    cases = [(revoked, MAILBOX, "revoked"), (idp.client_token(scope=""), MAILBOX, "no mail scope"),
             (idp.client_token(), "other@oauth.test", "another mailbox's user")]
    for token, user, why in cases:
        conn = (net_imap if protocol == "imap" else net_pop3).connect(settings)
        try:
            with pytest.raises(sasl.TokenRefused) as refused:
                conn.authenticate_bearer(mechanism, user, token, "127.0.0.1", settings.port)
        finally:
            conn.shutdown() if protocol == "imap" else conn.close()
        # Dovecot's challenge (RFC 7628 §3.2.2) names the status, as XOAUTH2 servers do an HTTP code.
        status = "401" if mechanism == "XOAUTH2" else "invalid_token"
        assert refused.value.status == status, why
        assert str(refused.value) == (f"the server refused the token ({status}): expired, revoked, or for "
                                      "another mailbox than the user named"), why
        assert refused.value.hint


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_smtp_signs_in_with_a_token_and_sends(idp, mechanism):
    def introspect(token: str) -> dict:
        return idp.post("/token/introspection", {"token": token}, SERVER)

    controller, handler = oauth_smtp_server(introspect)

    async def send(token: str, user: str = MAILBOX) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=controller.port, timeout=10) as smtp:
            await sasl.smtp_authenticate(smtp, mechanism, user, token, "127.0.0.1", controller.port)
            await smtp.sendmail(MAILBOX, ["someone@example.com"], b"Subject: hi\r\n\r\nhello\r\n")

    try:
        asyncio.run(send(idp.client_token()))
        assert [m.rcpt_tos for m in handler.messages] == [["someone@example.com"]]
        with pytest.raises(sasl.TokenRefused) as refused:
            asyncio.run(send(idp.client_token(scope="")))
        assert (refused.value.status, refused.value.scope) == ("insufficient_scope", "mail")
        assert str(refused.value) == "the token lacks the scope the server asks for: mail"
        with pytest.raises(sasl.TokenRefused) as refused:
            asyncio.run(send("not-a-token"))
        assert refused.value.status == "invalid_token"
        assert len(handler.messages) == 1, "nothing sent without a good token"
    finally:
        controller.stop()


def test_a_hostile_refusal_is_bounded_plain_text():
    import base64
    import json

    evil = base64.b64encode(json.dumps({"status": "\x1b[31m" + "x" * 5000, "scope": "mail\r\nX: y"}).encode())
    refused = sasl.refusal(evil)
    assert "\x1b" not in str(refused) and "\r" not in refused.scope and len(refused.status) == 200


def test_the_refusal_of_a_server_that_sends_no_json_is_still_words():
    refused = sasl.refusal(b"", fallback="NO [AUTHENTICATIONFAILED] Authentication failed.")
    assert str(refused) == "the server refused the token: NO [AUTHENTICATIONFAILED] Authentication failed."
    google = sasl.refusal(b"eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==")
    assert google.status == "400" and google.scope == "https://mail.google.com/"
