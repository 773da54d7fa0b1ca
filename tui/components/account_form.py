"""Add and edit an account: one form, the sections a kind needs, checked as you type.

Checked with the same shared models the daemon uses; the daemon's own field
errors (an address already taken, say) land on the same fields. Passwords
are masked; editing shows "unchanged" until one is typed.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select, Static, Checkbox

from ...shared import protocol as P
from ...shared.client import AsyncClient
from ...shared.models import (
    INCOMING_DEFAULT_PORTS,
    SMTP_DEFAULT_PORTS,
    SECTIONS,
    FieldErrors,
    validate_account,
)
from ..keys import FORM
from ..messages import ScreenWorkers
from .dialogs import Confirm, FolderPicker
from .footer import KeyFooter

# (path, label, kind, options); kind: text, password, int, switch, select
SENDER = [
    ("name", "Name", "text", None),
    ("email", "Email address", "text", None),
    ("display_name", "Sender name", "text", None),
    ("from_name_field", "Overwrite FROM: contact detail", "detail", None),
    ("shared", "Shared with everyone", "switch", None),
]
REPLY = [
    ("reply_to_email", "Reply-to address", "text", None),
    ("reply_to_name", "Reply-to name", "text", None),
    ("reply_to_name_field", "Reply-to name from contact detail", "detail", None),
    ("unsubscribe_url", "Unsubscribe link (https)", "text", None),
    ("unsubscribe_mailto", "Unsubscribe address", "text", None),
]
SENDING = [
    ("verp", "Bounce address per recipient (VERP)", "switch", None),
]
SMTP = [
    ("smtp.host", "Host", "text", None),
    ("smtp.security", "Security", "select", [("STARTTLS", "starttls"), ("SSL/TLS", "ssl"), ("None", "none")]),
    ("smtp.port", "Port", "int", None),
    ("smtp.authenticate", "Authenticate (SMTP AUTH)", "switch", None),
    ("smtp.auth", "Sign in with", "select", [("Password", "password"), ("OAuth 2.0", "oauth2")]),
    ("smtp.user", "User", "text", None),
    ("smtp.password", "Password", "password", None),
    ("smtp.verify_tls", "Verify TLS certificate", "switch", None),
    ("smtp.proxy", "Proxy (socks5:// or http://)", "text", None),
]
INCOMING = [
    ("incoming.protocol", "Protocol", "select", [("IMAP", "imap"), ("POP3", "pop3")]),
    ("incoming.host", "Host", "text", None),
    ("incoming.ssl", "SSL/TLS", "switch", None),
    ("incoming.port", "Port", "int", None),
    ("incoming.auth", "Sign in with", "select", [("Password", "password"), ("OAuth 2.0", "oauth2")]),
    ("incoming.user", "User", "text", None),
    ("incoming.password", "Password", "password", None),
    ("incoming.verify_tls", "Verify TLS certificate", "switch", None),
    ("incoming.folder", "Folder (IMAP)", "text", None),
    ("incoming.batch_size", "Messages read at once", "int", None),
    ("incoming.delete_bounces", "Delete bounces once processed", "switch", None),
    ("incoming.poll_interval", "Read every (seconds)", "int", None),
]
OAUTH2 = [
    ("oauth2.provider", "Provider", "select", [("Microsoft (Entra ID)", "microsoft"), ("Google", "google"),
                                               ("Other (by issuer)", "custom")]),
    ("oauth2.flow", "Sign-in flow", "select", [("Device code (any browser)", "device"),
                                               ("Browser, code pasted back", "code"),
                                               ("App only (client credentials)", "client_credentials"),
                                               ("Service account (key file)", "service_account")]),
    ("oauth2.client_id", "Client (application) id", "text", None),
    ("oauth2.client_secret", "Client secret", "password", None),
    ("oauth2.service_account_key", "Service account key (JSON)", "password", None),
    ("oauth2.tenant", "Tenant (Microsoft)", "text", None),
    ("oauth2.issuer", "Issuer URL (other)", "text", None),
    ("oauth2.scopes", "Scopes (empty: defaults)", "text", None),
]
LIMITS = [
    ("limits.preset", "Provider's limits", "select", [("None", "none"), ("Google Workspace (2,000 a day)",
                                                                        "google_workspace"),
                                                       ("Exchange Online (30 a minute)", "exchange_online")]),
    ("limits.per_second", "At most a second", "int", None),
    ("limits.per_minute", "At most a minute", "int", None),
    ("limits.per_day", "At most a day", "int", None),
    ("limits.warmup_days", "Warm-up (days)", "int", None),
]
FORM_FIELDS = SENDER + REPLY + SMTP + INCOMING + OAUTH2 + SENDING + LIMITS


def _defaults() -> dict[str, Any]:
    """What a new account's form starts with: the models' defaults (the ports as the default security and
    protocol give them), and IMAP, which the models leave to the person."""
    out: dict[str, Any] = {"incoming.protocol": "imap"}
    for section, model in SECTIONS:
        for key, info in model.model_fields.items():
            if not info.is_required() and info.default not in (None, ""):  # blank fields start blank
                out[f"{section}.{key}" if section else key] = info.default
    out["smtp.port"] = SMTP_DEFAULT_PORTS[out["smtp.security"]]
    out["incoming.port"] = INCOMING_DEFAULT_PORTS[(out["incoming.protocol"], out["incoming.ssl"])]
    return out


DEFAULTS = _defaults()


def wid(path: str) -> str:
    return "f-" + path.replace(".", "-")


def eid(path: str) -> str:
    return "e-" + path.replace(".", "-")


class AccountForm(ScreenWorkers, Screen):
    BINDINGS = FORM

    def __init__(self, client: AsyncClient, kind: str, account: dict[str, Any] | None = None,
                 details: list[str] | None = None) -> None:
        super().__init__()
        self.client = client
        self.kind = account["kind"] if account else kind
        self.account = account  # None: a new account
        self.details = details or []
        self.stored = {s for s in ("smtp", "incoming") if account and (account.get(s) or {}).get("password_set")}
        if account and (account.get("oauth2") or {}).get("client_secret_set"):
            self.stored.add("oauth2")
        if account and (account.get("oauth2") or {}).get("service_account_key_set"):
            self.stored.add("oauth2_key")
        # While typing, only fields already touched say what is wrong; after a save, every one does.
        self._touched: set[str] = set()
        self._tried_save = False

    # --- layout -----------------------------------------------------------

    def _field(self, path: str, label: str, kind: str, options) -> ComposeResult:
        value = self._initial(path)
        with Horizontal(classes="field"):
            yield Label(label, classes="label")
            if kind == "switch":
                yield Checkbox(value=bool(value), id=wid(path), compact=True)
            elif kind in ("select", "detail"):
                opts = options if kind == "select" else [(d, d) for d in self.details]
                if kind == "detail" and value and value not in self.details:
                    opts = [*opts, (value, value)]
                yield Select(opts, value=value if value is not None else Select.NULL, allow_blank=kind == "detail",
                             id=wid(path), prompt="(fixed name)" if kind == "detail" else "Select", compact=True)
            else:
                stored_as = "oauth2_key" if path == "oauth2.service_account_key" else path.split(".")[0]
                placeholder = "unchanged" if kind == "password" and stored_as in self.stored else ""
                yield Input(value="" if value is None else str(value), password=kind == "password",
                            placeholder=placeholder, id=wid(path), type="integer" if kind == "int" else "text",
                            compact=True)
        yield Static("", id=eid(path), classes="error -blank", markup=False)

    def compose(self) -> ComposeResult:
        title = f"Edit {self.account['name']}" if self.account else f"New {self.kind} account"
        yield Static(title, id="form-title", markup=False)
        with VerticalScroll(id="form"):
            with Vertical(classes="section", id="sec-sender") as sec:
                sec.border_title = "Sender"
                for field in SENDER:
                    yield from self._field(*field)
            with Vertical(classes="section", id="sec-reply") as sec:
                sec.border_title = "Reply-to"
                for field in REPLY:
                    yield from self._field(*field)
            if self.kind == "own":
                with Vertical(classes="section", id="sec-smtp") as sec:
                    sec.border_title = "SMTP"
                    for field in SMTP:
                        yield from self._field(*field)
                with Vertical(classes="section", id="sec-oauth2") as sec:
                    sec.border_title = "OAuth 2.0 (for 'Sign in with OAuth 2.0')"
                    for field in OAUTH2:
                        yield from self._field(*field)
                with Vertical(classes="section", id="sec-incoming") as sec:
                    sec.border_title = "Incoming mail"
                    with Horizontal(classes="field"):
                        yield Label("Read incoming mail (bounces)", classes="label")
                        yield Checkbox(value=bool(self.account and self.account.get("incoming")), id="f-incoming-on", compact=True)
                    with Vertical(id="incoming-fields"):
                        for field in INCOMING:
                            yield from self._field(*field)
            with Vertical(classes="section", id="sec-limits") as sec:
                sec.border_title = "Sending"
                for field in SENDING + LIMITS:
                    yield from self._field(*field)
            yield Static("", id=eid("params"), classes="error -blank", markup=False)
            with Horizontal(id="form-buttons"):
                yield Button("Save", variant="primary", id="save")
                if self.kind == "own":
                    yield Button("Test connection", id="test")
                yield Button("Cancel", id="cancel")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._show_incoming()
        self.query_one(f"#{wid('name')}").focus()
        self._as_opened = self.collect()  # what "changed" is measured against when leaving

    def _initial(self, path: str) -> Any:
        source = self.account or {}
        section, _, key = path.rpartition(".")
        if section:
            source = source.get(section) or {}
        value = source.get(key or path)
        if key in ("password", "client_secret", "service_account_key"):
            return ""
        if value is None and not (self.account and section == "" and path in source):
            value = DEFAULTS.get(path)
        return value

    def _show_incoming(self) -> None:
        if self.kind == "own":
            self.query_one("#incoming-fields").display = self.query_one("#f-incoming-on", Checkbox).value
            self.query_one("#sec-oauth2").display = self._uses_oauth2()

    def _uses_oauth2(self) -> bool:
        """Whether a direction signs in with OAuth 2.0: only then does the form show and send its settings."""
        incoming_on = self.query_one("#f-incoming-on", Checkbox).value
        return self._value("smtp.auth", "select") == "oauth2" or (
            incoming_on and self._value("incoming.auth", "select") == "oauth2")

    # --- values -----------------------------------------------------------

    def _value(self, path: str, kind: str) -> Any:
        widget = self.query_one(f"#{wid(path)}")
        if kind == "switch":
            return widget.value
        if kind in ("select", "detail"):
            return None if widget.value is Select.NULL else widget.value
        text = widget.value.strip() if kind != "password" else widget.value
        if kind == "int":
            return int(text) if text.lstrip("-").isdigit() else (text or None)
        return text

    def collect(self) -> dict[str, Any]:
        """The form as accounts.create takes it (for an edit: every field, passwords only if typed)."""
        data: dict[str, Any] = {"kind": self.kind}
        for path, _, kind, _ in SENDER + REPLY + SENDING:
            value = self._value(path, kind)
            if path in ("reply_to_email", "from_name_field", "reply_to_name_field", "unsubscribe_url",
                        "unsubscribe_mailto") and not value:
                value = None
            data[path] = value
        data["limits"] = self._section(LIMITS, "limits")
        if self.kind == "own":
            data["smtp"] = self._section(SMTP, "smtp")
            data["incoming"] = self._section(INCOMING, "incoming") if self.query_one("#f-incoming-on", Checkbox).value else None
            data["oauth2"] = self._section(OAUTH2, "oauth2") if self._uses_oauth2() else None
        return data

    def _section(self, fields, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path, _, kind, _ in fields:
            key = path.split(".", 1)[1]
            value = self._value(path, kind)
            if kind == "password" and not value:
                continue  # unchanged (or not given)
            if key in ("proxy", "issuer") and not value:
                value = None
            out[key] = value
        return out

    def errors(self) -> dict[str, str]:
        try:
            validate_account(self.collect(), stored_passwords=self.stored)
        except FieldErrors as exc:
            return exc.fields
        return {}

    def show_errors(self, fields: dict[str, str]) -> Static | None:
        """Each error beside its field (shown only while it says something); returns the first one."""
        said: dict[Static, list[str]] = {}
        for path, why in fields.items():
            matches = self.query(f"#{eid(path)}")
            target = matches.first() if matches else self.query_one(f"#{eid('params')}")
            said.setdefault(target, []).append(f"{path}: {why}" if not matches else why)
        first = None
        for widget in self.query(".error"):
            text = "; ".join(said.get(widget, []))
            widget.update(text)
            widget.set_class(not text, "-blank")
            if text and first is None:
                first = widget
        return first

    # --- reactions --------------------------------------------------------

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _changed(self, event) -> None:
        control = getattr(event, "control", None) or event.switch
        ident = control.id or ""
        if ident in ("f-incoming-on", wid("smtp.auth"), wid("incoming.auth")):
            self._show_incoming()
        elif ident == wid("smtp.security"):
            self._default_port("smtp.port", {v: p for v, p in SMTP_DEFAULT_PORTS.items()}, event.value)
        elif ident in (wid("incoming.ssl"), wid("incoming.protocol")):
            protocol = self._value("incoming.protocol", "select") or "imap"
            ssl = self.query_one(f"#{wid('incoming.ssl')}", Checkbox).value
            port_input = self.query_one(f"#{wid('incoming.port')}", Input)
            if port_input.value.strip() in {str(p) for p in INCOMING_DEFAULT_PORTS.values()} | {""}:
                port_input.value = str(INCOMING_DEFAULT_PORTS[(protocol, ssl)])
        self._touched.add(ident)
        errors = self.errors()
        self.show_errors(errors if self._tried_save else {p: w for p, w in errors.items() if wid(p) in self._touched})

    def _default_port(self, path: str, defaults: dict[str, int], choice) -> None:
        port_input = self.query_one(f"#{wid(path)}", Input)
        if choice in defaults and port_input.value.strip() in {str(p) for p in defaults.values()} | {""}:
            port_input.value = str(defaults[choice])

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self._tried_save = True
        errors = self.errors()
        first = self.show_errors(errors)
        if errors:
            if first is not None:
                first.scroll_visible()  # the first field that needs attention, with its reason, on screen
            self.notify(f"{len(errors)} field(s) need attention", severity="warning")
            return
        self._save(self.collect())

    @work(exit_on_error=False, exclusive=True, group="form")
    async def _save(self, data: dict[str, Any]) -> None:
        client = self.client
        try:
            if self.account:
                data.pop("kind")
                result = await client.call("accounts.update", {"id": self.account["id"], **data})
            else:
                result = await client.call("accounts.create", data)
        except P.RpcError as exc:
            fields = (exc.data or {}).get("fields") if isinstance(exc.data, dict) else None
            self.show_errors(fields or {"params": exc.message})
            self.notify(exc.message, severity="error")
            return
        self.dismiss(result)

    @on(Button.Pressed, "#test")
    def action_test(self) -> None:
        if self.kind != "own":
            return
        from .test_report import ConnectionTestScreen

        data = self.collect()
        if self.account:
            params = {"id": self.account["id"], "account": {k: v for k, v in data.items() if k != "kind"}}
        else:
            params = {"account": data}
        self.app.push_screen(ConnectionTestScreen(self.client, params, data.get("name") or "unsaved account"))

    def action_folders(self) -> None:
        """ctrl+l: list the IMAP server's folders (as the form says to reach it) and pick the one to read."""
        if self.kind == "own":
            self._folders()

    @work(exclusive=True, exit_on_error=False, group="folders")
    async def _folders(self) -> None:
        data = self.collect()
        params = {"id": self.account["id"], "account": {k: v for k, v in data.items() if k != "kind"}} \
            if self.account else {"account": data}
        self.notify("asking the server for its folders…")
        try:
            result = await self.client.call("accounts.folders", params, timeout=60)
        except P.RpcError as exc:
            fields = exc.data.get("fields") if isinstance(exc.data, dict) else None
            self.notify(str(exc) + (f": {', '.join(fields)}" if fields else ""), severity="error")
            return
        if not result["ok"]:
            hint = f" ({result['hint']})" if result.get("hint") else ""
            self.notify(f"no folders: {result['message']}{hint}", severity="error", timeout=10)
            return

        def picked(name: str | None) -> None:
            if name is not None:
                self.query_one(f"#{wid('incoming.folder')}", Input).value = name
        self.app.push_screen(FolderPicker(result["folders"]), picked)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Leave; a form you changed asks first, so Esc never throws typing away."""
        if self.collect() == self._as_opened:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(Confirm("Discard the changes you made to this form?", yes="Discard"), answered)
