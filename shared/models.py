"""The account schema: one source of truth for the TUI form and the daemon's input.

Models are strict (no "25" for a port, no unknown keys) because scripts talk
to the daemon directly and a silently coerced value is a bug report later.
`validate_account` is the entry both sides call; it returns field paths and
sentences, never the rejected values (a rejected value may be a password).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from .oauth2 import MICROSOFT_SHARED_TENANTS
from .validators import (check_email, check_host, check_issuer, check_no_control, check_proxy, check_range,
                         check_rule, check_scopes, check_service_account_key, check_unsubscribe_url,
                         check_utc_time)

from .vocabulary import KINDS, MARKETING_STATUSES, OWN_STATUSES, SORT_KEYS, STATUSES  # noqa: F401 (re-exported)

SMTP_DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
INCOMING_DEFAULT_PORTS = {("imap", True): 993, ("imap", False): 143, ("pop3", True): 995, ("pop3", False): 110}


def _text(max_length: int):
    return Annotated[str, Field(max_length=max_length), AfterValidator(check_no_control)]


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_no_control)]
HeaderText = _text(200)  # becomes part of a From/Reply-To header
DetailName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_no_control)]
Email = Annotated[str, Field(max_length=320), AfterValidator(check_email)]
Host = Annotated[str, AfterValidator(check_host)]
Port = Annotated[int, AfterValidator(check_range(1, 65535))]
UserName = _text(320)
Password = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(check_no_control)]
ProxyUrl = Annotated[str, Field(max_length=2048), AfterValidator(check_proxy)]
Folder = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(check_no_control)]
BatchSize = Annotated[int, AfterValidator(check_range(1, 10000))]
PollInterval = Annotated[int, AfterValidator(check_range(10, 604800))]
AccountId = Annotated[int, AfterValidator(check_range(1, 2**63 - 1))]
UnsubscribeUrl = Annotated[str, Field(max_length=2000), AfterValidator(check_unsubscribe_url)]
ServiceAccountKey = Annotated[str, Field(max_length=16384), AfterValidator(check_service_account_key)]
ClientId = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(check_no_control)]
Tenant = Annotated[str, Field(max_length=256), AfterValidator(check_no_control)]
Issuer = Annotated[str, Field(max_length=2048), AfterValidator(check_issuer)]
Scopes = Annotated[str, Field(max_length=2048), AfterValidator(check_scopes)]
AuthMethod = Literal["password", "oauth2"]


class Strict(BaseModel):
    # Attribute docstrings are field descriptions: what rpc.discover publishes and the CLI's help says.
    model_config = ConfigDict(strict=True, extra="forbid", hide_input_in_errors=True, use_attribute_docstrings=True)


def _stored(info: ValidationInfo, section: str) -> bool:
    """Whether the daemon already holds a password for this section (an edit that keeps it)."""
    return section in ((info.context or {}).get("stored_passwords") or ())


class SmtpSettings(Strict):
    host: Host
    """SMTP server, e.g. smtp.example.com"""
    port: Port | None = Field(None, description="default follows security: " + ", ".join(
        f"{port} {security}" for security, port in SMTP_DEFAULT_PORTS.items()))
    user: UserName = ""
    """SMTP login (default: none)"""
    password: Password | None = Field(None, description="write-only; reads return password_set")
    auth: AuthMethod = "password"
    """how AUTH signs in: password (default) or oauth2 (a token from the account's oauth2 settings)"""
    security: Literal["none", "starttls", "ssl"] = "starttls"
    """none, starttls (default) or ssl"""
    authenticate: bool = True
    """sign in with AUTH (default: yes)"""
    verify_tls: bool = True
    """check the server's certificate (default: yes)"""
    proxy: ProxyUrl | None = Field(None, description="socks5://[user:pass@]host:port or http://host:port, for SMTP "
                                                     "and incoming")

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> "SmtpSettings":
        if self.port is None:
            self.port = SMTP_DEFAULT_PORTS[self.security]
        if self.auth == "oauth2" and not self.authenticate:
            raise FieldErrors({"auth": "oauth2 signs in with AUTH: turn authenticate on, or choose password"})
        if self.authenticate:
            missing = {}
            if not self.user:
                missing["user"] = "required when authenticate is on"
            if self.auth == "password" and self.password is None and not _stored(info, "smtp"):
                missing["password"] = "required when authenticate is on"
            if missing:
                raise FieldErrors(missing)
        return self


class IncomingSettings(Strict):
    protocol: Literal["imap", "pop3"]
    """imap or pop3: turns incoming mail on"""
    host: Host
    """IMAP or POP3 server, e.g. imap.example.com"""
    port: Port | None = Field(None, description="default follows protocol and ssl: " + ", ".join(
        f"{port} {protocol}{'+ssl' if ssl else ''}" for (protocol, ssl), port in INCOMING_DEFAULT_PORTS.items()))
    user: Annotated[str, Field(min_length=1, max_length=320), AfterValidator(check_no_control)]
    """mailbox login"""
    password: Password | None = Field(None, description="write-only; required when incoming is first set "
                                                        "with auth password")
    auth: AuthMethod = "password"
    """how the mailbox signs in: password (default) or oauth2 (a token from the account's oauth2 settings)"""
    ssl: bool = True
    """TLS from the start (default: yes)"""
    verify_tls: bool = True
    """check the server's certificate (default: yes)"""
    folder: Folder = "INBOX"
    """IMAP folder to read, any language, e.g. 'Zwroty-ęą' (default: INBOX)"""
    batch_size: BatchSize = 100
    """messages fetched at a time, 1-10000 (default: 100)"""
    delete_bounces: bool = False
    """delete a bounce from the server once recorded (default: no)"""
    poll_interval: PollInterval = 300
    """seconds between rounds, 10-604800 (default: 300)"""

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> "IncomingSettings":
        if self.port is None:
            self.port = INCOMING_DEFAULT_PORTS[(self.protocol, self.ssl)]
        if self.auth == "password" and self.password is None and not _stored(info, "incoming"):
            raise FieldErrors({"password": "required"})
        return self


class OAuth2Settings(Strict):
    """How an own account gets OAuth 2.0 tokens, for the sections whose auth is oauth2. The refresh token
    consent gives is kept by the daemon, encrypted; `mailfleetctl accounts auth ID` (or the TUI) signs in."""

    provider: Literal["microsoft", "google", "custom"]
    """microsoft (Entra ID: Microsoft 365, Outlook.com), google (Gmail, Workspace), or custom (any
    standards-conforming provider, by its issuer)"""
    flow: Literal["device", "client_credentials", "code", "service_account"] = "device"
    """device (default): a person signs in on any browser with a short code (RFC 8628); code: a person
    signs in and pastes back the address the browser lands on, or lets it reach the daemon through
    ssh -L (Google's way); client_credentials: no person, the app's own access (Microsoft app-only
    access to a shared mailbox); service_account: no person, a service account's signed assertion for
    the mailbox user (RFC 7523; Google Workspace domain-wide delegation)"""
    client_id: ClientId
    """the application (client) id the provider issued when the app was registered"""
    client_secret: Password | None = Field(None, description="write-only; the app's secret, for client_credentials "
                                                             "and Google's code flow; reads return client_secret_set")
    service_account_key: ServiceAccountKey | None = Field(
        None, description="write-only; service_account: the key file (JSON, as Google Cloud gives it); reads return "
                          "service_account_key_set")
    tenant: Tenant = ""
    """Microsoft: the directory (tenant) id or domain, e.g. contoso.onmicrosoft.com (default: organizations;
    client_credentials needs the tenant itself)"""
    issuer: Issuer | None = None
    """custom: the provider's issuer URL; its endpoints come from its discovery document (RFC 8414)"""
    scopes: Scopes = ""
    """space-separated; empty (default): what the provider needs for the protocols that use oauth2"""

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> "OAuth2Settings":
        errors = {}
        if self.provider == "custom":
            if not self.issuer:
                errors["issuer"] = "required for a custom provider"
            if not self.scopes:
                errors["scopes"] = "required for a custom provider (its scopes are its own)"
        elif self.issuer:
            errors["issuer"] = f"only for a custom provider ({self.provider}'s endpoints are known)"
        if self.tenant and self.provider != "microsoft":
            errors["tenant"] = "only for microsoft"
        if self.provider == "google" and self.flow == "device":
            errors["flow"] = "Google's device flow does not allow the mail scope: choose code"
        if self.provider == "google" and self.flow == "client_credentials":
            errors["flow"] = "Google has no client credentials for mail: choose code"
        if self.flow == "client_credentials":
            if self.provider == "microsoft" and self.tenant.lower() in MICROSOFT_SHARED_TENANTS:
                errors["tenant"] = "client_credentials needs the tenant's id or domain, e.g. contoso.onmicrosoft.com"
            if self.client_secret is None and not _stored(info, "oauth2"):
                errors["client_secret"] = "required for client_credentials"
        if self.provider == "google" and self.flow == "code" and self.client_secret is None \
                and not _stored(info, "oauth2"):
            errors["client_secret"] = "required: Google gives installed apps a secret with the client id"
        if self.flow == "service_account":
            if self.provider == "microsoft":
                errors["flow"] = "Microsoft's app-only access is client_credentials"
            if self.service_account_key is None and not _stored(info, "oauth2_key"):
                errors["service_account_key"] = "required for service_account (the key file's JSON)"
        if errors:
            raise FieldErrors(errors)
        return self


class AccountBase(Strict):
    """The fields every account has. Each field's description is its help everywhere: rpc.discover and
    mailfleetctl's flags (ctl/accounts.py derives them from these models)."""

    name: Name
    """what the account is called in lists (1-200 characters)"""
    email: Email
    """the address mail is sent from, e.g. sales@example.com"""
    display_name: HeaderText = ""
    """the sender name in From, e.g. 'ACME Sales'"""
    from_name_field: DetailName | None = None
    """overwrite FROM: use this contact detail as the sender name where a contact has it, e.g. owner_name"""
    reply_to_email: Email | None = None
    """where replies go (and bounces, when sending), e.g. replies@example.com"""
    reply_to_name: HeaderText = ""
    """the name in Reply-To"""
    reply_to_name_field: DetailName | None = None
    """use this contact detail as the Reply-To name"""
    unsubscribe_url: UnsubscribeUrl | None = None
    """https link for List-Unsubscribe with one-click (RFC 8058, which Gmail and Yahoo require of bulk
    senders); {recipient} in it becomes the recipient's address, URL-encoded"""
    unsubscribe_mailto: Email | None = None
    """an address that takes unsubscribe requests (List-Unsubscribe mailto:)"""
    verp: bool = False
    """send each message with an envelope sender of its own (VERP: replies+mf-TOKEN@...), so a bounce names
    the message and recipient even when its report is garbled; the reply address's server must deliver
    local+anything to local (plus addressing: Postfix recipient_delimiter = +, Gmail, Microsoft 365)"""
    shared: bool = False
    """every user may see and use the account (default: only you and admins)"""


# Providers' published sending limits, for the presets (each message mailfleet sends has one recipient, so
# a provider's recipients-per-day limit is a messages-per-day limit here).
LIMIT_PRESETS: dict[str, dict[str, int]] = {
    # Google Workspace Admin Help, "Gmail sending limits in Google Workspace": 2,000 messages a day
    # (and 100 recipients a message over SMTP, which a message of one recipient is within).
    "google_workspace": {"per_day": 2000},
    # Microsoft Learn, "Exchange Online limits": message rate limit 30 messages a minute, recipient rate
    # limit 10,000 recipients a day.
    "exchange_online": {"per_minute": 30, "per_day": 10000},
}
PerWindow = Annotated[int, AfterValidator(check_range(1, 1_000_000))]


class SendLimits(Strict):
    """How fast an account may send, over everything that sends through it (the API, SMTP submission):
    a preset from a provider's published limits, and any window set here (which wins over the preset)."""

    preset: Literal["none", "google_workspace", "exchange_online"] = "none"
    """none (default), google_workspace (2,000 a day) or exchange_online (30 a minute, 10,000 a day)"""
    per_second: PerWindow | None = None
    """at most this many messages in any second"""
    per_minute: PerWindow | None = None
    """at most this many in any 60 seconds"""
    per_day: PerWindow | None = None
    """at most this many in any 24 hours"""
    warmup_days: Annotated[int, AfterValidator(check_range(0, 90))] = 0
    """ramp the daily limit up over this many days from the first message sent (0: none; needs a
    daily limit)"""

    def windows(self) -> dict[int, int]:
        """{seconds: messages} of each window that applies, the preset's filled in."""
        values = {**LIMIT_PRESETS.get(self.preset, {}),
                  **{k: v for k, v in (("per_second", self.per_second), ("per_minute", self.per_minute),
                                       ("per_day", self.per_day)) if v is not None}}
        spans = {"per_second": 1, "per_minute": 60, "per_day": 86400}
        return {spans[k]: v for k, v in values.items()}

    @model_validator(mode="after")
    def _ramp_needs_a_day(self) -> "SendLimits":
        if self.warmup_days and 86400 not in self.windows():
            raise FieldErrors({"warmup_days": "a warm-up ramps a daily limit up: set per_day or a preset"})
        return self


RELAY_ONLY = "marketing accounts send through the platform relay; they carry no SMTP or incoming settings"


class MarketingAccount(AccountBase):
    kind: Literal["marketing"] = "marketing"
    limits: SendLimits = Field(default_factory=SendLimits, description="how fast it may send")
    smtp: None = Field(None, description="not allowed: " + RELAY_ONLY)
    incoming: None = Field(None, description="not allowed: " + RELAY_ONLY)
    oauth2: None = Field(None, description="not allowed: " + RELAY_ONLY)

    @field_validator("smtp", "incoming", "oauth2", mode="before")
    @classmethod
    def _relay_only(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(RELAY_ONLY)
        return None


class OwnAccount(AccountBase):
    kind: Literal["own"] = "own"
    limits: SendLimits = Field(default_factory=SendLimits, description="how fast it may send")
    smtp: SmtpSettings
    incoming: IncomingSettings | None = Field(None, description="null when no mailbox is read")
    oauth2: OAuth2Settings | None = Field(None, description="how tokens are got, when smtp or incoming signs in "
                                                            "with oauth2")

    def oauth2_protocols(self) -> list[str]:
        """The protocols that sign in with a token: what the default scopes are for."""
        out = ["smtp"] if self.smtp.auth == "oauth2" and self.smtp.authenticate else []
        if self.incoming is not None and self.incoming.auth == "oauth2":
            out.append(self.incoming.protocol)
        return out

    @model_validator(mode="after")
    def _oauth2_when_used(self) -> "OwnAccount":
        if self.oauth2 is None:
            missing = {f"{name}.auth": "oauth2 needs the account's oauth2 settings (provider, client id)"
                       for name, section in (("smtp", self.smtp), ("incoming", self.incoming))
                       if section is not None and section.auth == "oauth2"}
            if missing:
                raise FieldErrors(missing)
        return self


# Every account field by section ("": the fields every account has; then each nested section): what the
# CLI's flags and the form's fields are made from, so a field added to a model is offered by both.
SECTIONS: tuple[tuple[str, type[Strict]], ...] = (
    ("", AccountBase), ("smtp", SmtpSettings), ("incoming", IncomingSettings), ("oauth2", OAuth2Settings),
    ("limits", SendLimits),
)


def _kind_of(value: Any) -> Any:
    """Which model an account is validated by: its kind, own when left out."""
    return value.get("kind", "own") if isinstance(value, dict) else getattr(value, "kind", None)


class AccountCreate(RootModel[Annotated[
    Annotated[MarketingAccount, Tag("marketing")] | Annotated[OwnAccount, Tag("own")],
    Discriminator(_kind_of, custom_error_type="kind", custom_error_message="must be one of marketing, own"),
]]):
    """accounts.create: an own account (its SMTP settings, optionally an incoming mailbox) or a marketing
    one (neither: it sends through the platform relay), chosen by `kind` (own when left out)."""


READ_ONLY_FIELDS = (
    "id", "owner", "created_at", "updated_at", "status", "status_detail", "smtp_state", "incoming_state",
    "approval", "approval_reason", "password_set", "health", "health_reason", "health_at", "auth_state",
)


class FieldErrors(ValueError):
    """Errors of several fields at once, by path; raised inside model validators too."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


_TYPE_WORDS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be a list",
    "missing": "required",
    "extra_forbidden": "unknown field",
    "none_required": "must be null",
}


_BOUND_WORDS = {
    "greater_than_equal": "must be at least",
    "greater_than": "must be more than",
    "less_than_equal": "must be at most",
    "less_than": "must be less than",
}


def _sentence(err: dict[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}".replace("'", "")
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return "required" if ctx.get("min_length") == 1 else f"at least {ctx.get('min_length')} characters"
    if kind in _BOUND_WORDS:
        return f"{_BOUND_WORDS[kind]} {next(iter(ctx.values()), '')}"
    return err["msg"]


def errors_by_field(exc: ValidationError, prefix: tuple[str, ...] = (), tagged: bool = False) -> dict[str, str]:
    """Flatten pydantic's errors to {"smtp.port": "must be 1-65535"}; never includes input values.
    `tagged`: the model is a union chosen by a tag, which pydantic puts first in each path (not a field)."""
    out: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False, include_context=True):
        loc = prefix + tuple(str(p) for p in err["loc"][1 if tagged and err["loc"] else 0:])
        if err["type"] == "kind":  # AccountCreate's tag: the union could not pick a model
            loc = prefix + ("kind",)
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldErrors):
            for sub, why in cause.fields.items():
                out.setdefault(".".join(loc + (sub,)), why)
            continue
        out.setdefault(".".join(loc) or "params", _sentence(err))
    return out


def validate_model(model: type[BaseModel], data: Any, *, context: dict | None = None, prefix: tuple[str, ...] = ()):
    """Validate `data` against `model`; raise FieldErrors keyed by path."""
    if not isinstance(data, dict):
        raise FieldErrors({".".join(prefix) or "params": "must be an object"})
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise FieldErrors(errors_by_field(exc, prefix, tagged=issubclass(model, RootModel))) from None


def validate_account(data: Any, *, stored_passwords: frozenset[str] | set[str] = frozenset()) -> AccountBase:
    """The one gate every account passes through, whether typed in a form or sent by a script: the model
    accounts.create publishes and the dispatcher validates its params with."""
    return validate_model(AccountCreate, data, context={"stored_passwords": stored_passwords}).root


# --- method params -------------------------------------------------------


class ListParams(Strict):
    query: Annotated[str, Field(max_length=200), AfterValidator(check_no_control)] = ""
    kind: Literal["all", "marketing", "own"] = "all"
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    offset: Annotated[int, AfterValidator(check_range(0, 2**31))] = 0
    limit: Annotated[int, AfterValidator(check_range(1, 1000))] = 50
    sort: Literal[SORT_KEYS + tuple("-" + k for k in SORT_KEYS)] = "name"  # type: ignore[valid-type]


class NoParams(Strict):
    pass


class IdParams(Strict):
    id: AccountId


class RejectParams(Strict):
    id: AccountId
    reason: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(check_no_control)]


SHOWN = "shown by accounts.get; ignored here, so that what get returned can be sent back"


def _patch_of(model: type[BaseModel], name: str, shown: tuple[str, ...]) -> type[Strict]:
    """The merge patch (RFC 7396) of a model: each field optional (left out: kept; null: back to its
    default), the same types and bounds. Derived, so a field added to the model is patchable at once;
    the fields `accounts.get` shows beside them are accepted and ignored."""
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        kind = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[key] = (kind | None, Field(None, description=info.description))
    for key in shown:
        fields[key] = (Any, Field(None, description=SHOWN))
    return create_model(name, __base__=Strict, __doc__=f"Changes to {model.__name__}, as a merge patch.", **fields)


SmtpPatch = _patch_of(SmtpSettings, "SmtpPatch", ("password_set",))
IncomingPatch = _patch_of(IncomingSettings, "IncomingPatch", ("password_set", "last_poll", "unreadable"))
OAuth2Patch = _patch_of(OAuth2Settings, "OAuth2Patch", ("client_secret_set", "service_account_key_set", "grant"))
LimitsPatch = _patch_of(SendLimits, "LimitsPatch", ())
_AccountFieldsPatch = _patch_of(AccountBase, "AccountFieldsPatch", ("last_test",))


class AccountUpdate(_AccountFieldsPatch):
    """accounts.update: changes to one account as a merge patch (RFC 7396): a field left out keeps its
    value, null restores its default (incoming: null turns incoming mail off), an object changes only
    the keys it holds; a password left out (or null) keeps the stored one. The account is then
    validated whole, as accounts.create would. The kind never changes; fields the daemon keeps
    (owner, status, ...) are refused as read-only."""

    id: AccountId
    kind: Literal["marketing", "own"] | None = Field(None, description="cannot be changed")
    smtp: SmtpPatch | None = None  # type: ignore[valid-type]
    incoming: IncomingPatch | None = Field(None, description="null turns incoming mail off")  # type: ignore[valid-type]
    oauth2: OAuth2Patch | None = Field(None, description="null removes the oauth2 settings")  # type: ignore[valid-type]
    limits: LimitsPatch | None = Field(None, description="null: no limits")  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _read_only(cls, data: Any) -> Any:
        refused = {key: "read-only" for key in READ_ONLY_FIELDS if key != "id" and isinstance(data, dict) and key in data}
        if refused:
            raise FieldErrors(refused)
        return data

    def changes(self) -> dict[str, Any]:
        """The patch as sent, less the id and what accounts.get only shows."""
        patch = self.model_dump(exclude_unset=True, exclude={"id", "last_test"})
        for section, shown in (("smtp", ("password_set",)), ("incoming", ("password_set", "last_poll", "unreadable")),
                               ("oauth2", ("client_secret_set", "service_account_key_set", "grant"))):
            if isinstance(patch.get(section), dict):
                patch[section] = {k: v for k, v in patch[section].items() if k not in shown}
        return patch


class AccountSummary(BaseModel):
    """One row of accounts.list."""

    id: int
    kind: str
    name: str
    email: str
    display_name: str
    created_at: str
    status: str
    status_detail: str
    smtp_state: str | None = Field(None, description="own accounts: untested, ok or failing")
    incoming_state: str | None = Field(None, description="own accounts with a mailbox: untested, ok or failing")
    health: str | None = Field(None, description="refused as a sender: the latest reason (blocked, authfailure, "
                                                 "toomanyconn, ...) until accounts.health_ok; null when nothing is known")
    health_reason: str = Field("", description="the list or check named, and the refusal's words")
    shared: bool
    owner: str


# --- contacts, bounces, events ---------------------------------------------

ContactEmail = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(check_no_control)]
Limit = Annotated[int, AfterValidator(check_range(1, 1000))]
Offset = Annotated[int, AfterValidator(check_range(0, 2**31))]


class ContactsImportParams(Strict):
    csv: Annotated[str, Field(max_length=8 * 1024 * 1024)] = Field(
        description="CSV text; the header row names the columns: an email column, every other one a detail"
    )
    first_row: Annotated[int, AfterValidator(check_range(1, 2**31))] = Field(
        2, description="line number of the first data row, for error messages when a file is sent in chunks"
    )


ContactStatus = Literal["active", "faulty", "complained"]


class ContactsListParams(Strict):
    query: Annotated[str, Field(max_length=200), AfterValidator(check_no_control)] = ""
    status: ContactStatus | None = None
    offset: Offset = 0
    limit: Limit = 50


class ContactParams(Strict):
    email: ContactEmail


class ContactUpdateParams(Strict):
    email: ContactEmail
    status: ContactStatus | None = Field(None, description="admins only")
    details: dict[Annotated[str, Field(min_length=1, max_length=64)], str | None] | None = Field(
        None, description="merged into the details; a null value removes that detail"
    )


class BouncesListParams(Strict):
    contact: ContactEmail | None = None
    account_id: AccountId | None = None
    hard: bool | None = None
    offset: Offset = 0
    limit: Limit = 50


class BounceParams(Strict):
    id: AccountId


class ContactsUnmarkParams(Strict):
    rule: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_rule)]
    """The classifier rule whose marks are undone (as bounces and `classify --explain` name it)."""
    since: Annotated[str, Field(max_length=40), AfterValidator(check_utc_time)] = "0000-01-01T00:00:00.000Z"
    """Only marks made at or after this ISO 8601 time (default: all)."""


class UnparsedListParams(Strict):
    account_id: AccountId | None = None
    offset: Offset = 0
    limit: Limit = 50


class AccountHealthParams(Strict):
    id: AccountId


class EventsListParams(Strict):
    since: Offset = Field(0, description="events with a larger seq than this")
    type: Annotated[str, Field(max_length=64), AfterValidator(check_no_control)] = Field(
        "", description="type prefix, e.g. 'bounce.' or 'account.status'"
    )
    limit: Limit = 100
    account_id: AccountId | None = Field(None, description="only events about this account")
    newest: bool = Field(False, description="the newest `limit` events (still oldest first), not the oldest after since")


EventType = Annotated[str, Field(max_length=64), AfterValidator(check_no_control)]


class EventsSubscribeParams(Strict):
    types: Annotated[list[EventType], Field(max_length=32)] = Field(
        default_factory=list, description="type prefixes to receive, e.g. ['account.', 'probe.step']; none: all")


class EventsSubscription(Strict):
    subscribed: bool
    lease: float = Field(description="seconds the subscription lives; call events.subscribe again before then")
    last_seq: int = Field(description="the newest stored event now: events.list since it fills any gap")


class HeadersParams(Strict):
    id: AccountId
    contact: ContactEmail


class BackupParams(Strict):
    id: Annotated[str, Field(min_length=1, max_length=100)]


class BackupChunkParams(Strict):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    offset: Offset = 0
    length: Annotated[int, AfterValidator(check_range(1, 1 << 20))] = 1 << 20


class TestParams(Strict):
    """accounts.test: a saved account (id), unsaved form values (account), or a saved one with edits (both)."""

    id: AccountId | None = None
    account: dict | None = Field(None, description="account fields as for accounts.create (or changes, with id)")
    send_to: Email | None = Field(None, description="also send a short test message to this address")
    job: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = Field(
        None, description="names the probe.step events of this test; made up when omitted")

    @model_validator(mode="after")
    def _one_of(self) -> "TestParams":
        if self.id is None and self.account is None:
            raise FieldErrors({"id": "give id, account, or both"})
        return self


class TestManyParams(Strict):
    ids: Annotated[list[AccountId], Field(min_length=1, max_length=10000)]


class AuthFinishParams(Strict):
    id: AccountId
    returned: Annotated[str, Field(min_length=1, max_length=8192), AfterValidator(check_no_control)]
    """the address the browser landed on after signing in (or just its code)"""


class AuthWaitParams(Strict):
    id: AccountId
    timeout: Annotated[float, Field(ge=0, le=60)] = 30.0
    """seconds to wait for the sign-in to end, 0-60 (default: 30); pending if it has not"""


class AuthReportParams(Strict):
    """accounts.auth_report: no parameters."""


# --- sending ------------------------------------------------------------------------------------------

# Headers each recipient gets of its own, or that must not travel: a message handed over keeps none of them.
PER_RECIPIENT_HEADERS = ("from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "date", "return-path",
                         "list-unsubscribe", "list-unsubscribe-post")
HeaderName = Annotated[str, Field(min_length=1, max_length=76, pattern=r"^[!-9;-~]+$")]
HeaderValue = Annotated[str, Field(max_length=998), AfterValidator(check_no_control)]
MAX_RECIPIENTS = 1000


class Attachment(Strict):
    filename: Annotated[str, Field(min_length=1, max_length=255), AfterValidator(check_no_control)]
    """the name the recipient sees"""
    content_type: Annotated[str, Field(max_length=127, pattern=r"^[\w.+-]+/[\w.+-]+$")] = "application/octet-stream"
    """e.g. application/pdf (default: application/octet-stream)"""
    data: Annotated[str, Field(max_length=8 << 20)]
    """the content, base64"""


class SendParams(Strict):
    """messages.send: one message to each recipient, through the account. Either the parts (subject, text
    and/or html, headers, attachments) or a whole RFC 5322 message (raw); each recipient gets From,
    Reply-To (names from their contact details), To, Date and a Message-ID of its own."""

    account_id: AccountId
    to: Annotated[list[Email], Field(min_length=1, max_length=MAX_RECIPIENTS)]
    """recipient addresses (a contact with the address gets its details in From and Reply-To)"""
    subject: Annotated[str, Field(max_length=998), AfterValidator(check_no_control)] = ""
    text: Annotated[str, Field(max_length=4 << 20)] | None = None
    """the plain-text body"""
    html: Annotated[str, Field(max_length=4 << 20)] | None = None
    """the HTML body (with text: multipart/alternative)"""
    headers: Annotated[dict[HeaderName, HeaderValue], Field(max_length=30)] = Field(default_factory=dict)
    """more headers, e.g. {"X-Campaign": "spring"}; not the ones each recipient gets (From, To, ...)"""
    attachments: Annotated[list[Attachment], Field(max_length=20)] = Field(default_factory=list)
    raw: Annotated[str, Field(max_length=8 << 20)] | None = None
    """a whole RFC 5322 message instead of the parts"""

    @model_validator(mode="after")
    def _one_way(self) -> "SendParams":
        parts = bool(self.subject or self.text is not None or self.html is not None or self.headers or self.attachments)
        if self.raw is not None and parts:
            raise FieldErrors({"raw": "either raw or the parts (subject, text, html, headers, attachments), not both"})
        if self.raw is None and self.text is None and self.html is None:
            raise FieldErrors({"text": "text or html (or raw) is required"})
        refused = {f"headers.{k}": "set per recipient by mailfleet" for k in self.headers
                   if k.lower() in PER_RECIPIENT_HEADERS}
        if refused:
            raise FieldErrors(refused)
        return self


SendState = Literal["queued", "sending", "sent", "deferred", "failed", "suppressed", "uncertain"]


class QueueListParams(Strict):
    account_id: AccountId | None = None
    job: AccountId | None = None
    """only this job's recipients"""
    state: SendState | None = None
    offset: Offset = 0
    limit: Limit = 100


class JobParams(Strict):
    id: AccountId


class RequeueParams(Strict):
    ids: Annotated[list[AccountId], Field(min_length=1, max_length=1000)]
    """queue entries (uncertain, failed or deferred) to send again now"""



class SubmissionAddParams(Strict):
    name: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    """what the login is for, e.g. listmonk (lower-case letters, digits, - and _)"""


class QueueSummaryParams(Strict):
    account_id: AccountId
