"""A real OAuth 2.0 identity provider on 127.0.0.1 for the tests: oidc-provider (npm) run by Node.

tests/support/idp/idp.mjs is the server (its clients and what they may do are described there); this
starts it, and gets and revokes tokens the way any client would, over HTTP. `npm ci` in that folder
(scripts/test runs it) installs the provider at the version package-lock.json pins.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent / "idp"
RELAY = ("mailrelay", "relay-secret")  # client credentials: app-only access to one mailbox
SERVER = ("mailserver", "server-secret")  # what mail servers introspect with


class _Returned(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


class IdentityProvider:
    def __init__(self, *, users: dict[str, str] | None = None, mailboxes: dict[str, str] | None = None,
                 ttl: int = 300, record: Path | None = None, redirect: str | None = None,
                 service_accounts: dict[str, str] | None = None) -> None:
        assert (HERE / "node_modules" / "oidc-provider").is_dir(), \
            f"oidc-provider is not installed: cd {HERE} && npm ci (scripts/test does it)"
        config = {"users": users or {}, "mailboxes": mailboxes or {}, "ttl": ttl}
        if redirect:
            config["redirect"] = redirect
        if service_accounts:
            config["serviceAccounts"] = service_accounts  # client_email -> public key PEM
        self.record = record
        if record is not None:
            config["record"] = str(record)
        self.proc = subprocess.Popen(["node", str(HERE / "idp.mjs"), json.dumps(config)], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=HERE)
        line = self.proc.stdout.readline()  # written once it listens: the handshake, no polling
        if not line:
            raise RuntimeError(f"the identity provider did not start (exit {self.proc.wait()})")
        self.issuer = json.loads(line)["issuer"]
        self.token_url = f"{self.issuer}/token"
        self.introspection_url = f"{self.issuer}/token/introspection"
        # What a mail server asks with: the introspection address holding its own client's credentials.
        self.server_introspection_url = self.introspection_url.replace("http://", f"http://{SERVER[0]}:{SERVER[1]}@")

    def post(self, path: str, form: dict[str, str], client: tuple[str, str] | None = None) -> dict:
        request = urllib.request.Request(f"{self.issuer}{path}", data=urllib.parse.urlencode(form).encode())
        if client:
            basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {basic}")
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return json.loads(reply.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read() or b"{}") | {"http_status": exc.code}

    def consent(self, verification_uri: str, user_code: str, login: str, password: str) -> str:
        """Play the person at the browser in the device flow (RFC 8628 section 3.3): open the address
        shown, enter the code, confirm, sign in (consent is then given at once). Returns the last page."""
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = browser.open(verification_uri, timeout=10).read().decode()
        xsrf = re.search(r'name="xsrf" value="([^"]*)"', page).group(1)
        form = {"xsrf": xsrf, "user_code": user_code, "confirm": "yes"}
        shown = browser.open(f"{self.issuer}/device", urllib.parse.urlencode(form).encode(), timeout=10)
        signed = browser.open(shown.geturl(), urllib.parse.urlencode({"login": login, "password": password}).encode(),
                              timeout=10)
        return signed.read().decode()

    def sign_in_at(self, authorize_url: str, login: str, password: str) -> str:
        """Play the person at the browser in the code flow: open the sign-in address, sign in (consent is
        given at once). Returns the address the provider sends the browser back to, not yet opened."""
        class Stop(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                if not newurl.startswith(issuer):
                    raise _Returned(newurl)
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        issuer = self.issuer
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), Stop())
        try:
            shown = browser.open(authorize_url, timeout=10)
            browser.open(shown.geturl(), urllib.parse.urlencode({"login": login, "password": password}).encode(),
                         timeout=10)
        except _Returned as back:
            return back.url
        raise AssertionError("the provider did not send the browser back")

    def client_token(self, scope: str = "mail") -> str:
        """An access token for the relay client's mailbox (the client credentials grant)."""
        reply = self.post("/token", {"grant_type": "client_credentials", "scope": scope}, RELAY)
        assert "access_token" in reply, reply
        return reply["access_token"]

    def issued(self, kind: str | None = None) -> list[str]:
        """The tokens issued so far (with `record`), oldest first: of one kind (access_token,
        client_credentials, refresh_token), or all."""
        lines = self.record.read_text().splitlines() if self.record and self.record.exists() else []
        return [value for k, _, value in (line.partition(" ") for line in lines) if kind in (None, k)]

    def revoke(self, token: str, client: str = "mailrelay") -> None:
        """Revoke a token (RFC 7009) as the client it was issued to: the relay client (its secret), or the
        public device-flow client (its id alone), whose refresh token revoked ends the whole grant."""
        if client == "mailrelay":
            self.post("/token/revocation", {"token": token}, RELAY)
        else:
            self.post("/token/revocation", {"token": token, "client_id": client})

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
