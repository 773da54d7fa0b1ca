"""JSON-RPC 2.0 dispatch: bytes in, bytes out, for single requests and batches.

Transport-free on purpose: the ZeroMQ server hands over a payload and the
caller, and sends back whatever this returns. Every failure becomes a
JSON-RPC error; nothing a client sends can raise out of here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..shared import protocol as P
from ..shared.models import FieldErrors, NoParams, validate_model
from .identity import Caller
from .storage import DiskFull

if TYPE_CHECKING:
    from .config import Config
    from .context import DaemonFacts, Services
    from .events import EventHub, Peer
    from .mailbox.reader import Poller
    from .oauth.signin import SignIns
    from .probe.runner import Prober
    from .sending.sender import Sender
    from .sending.submission import Submission
    from .secrets import SecretBox
    from .storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """What a method gets besides its params: the request context. The services (storage, secrets, the
    config, the live-event sink), the work a request may start or look at (polls, tests), the event hub,
    who is asking and where to reach them (for events.subscribe; None where a request arrives other than
    over a socket). The App builds one per request from parts it made; no method sees the App."""

    services: "Services"
    caller: Caller
    peer: "Peer | None" = None
    events: "EventHub | None" = None
    poller: "Poller | None" = None
    prober: "Prober | None" = None
    signins: "SignIns | None" = None  # OAuth sign-ins a person finishes in a browser
    sender: "Sender | None" = None  # delivers what messages.send and SMTP submission queue
    submission: "Submission | None" = None  # the SMTP submission listener's logins (reloaded on change)
    daemon: "DaemonFacts | None" = None  # system.info and system.status
    methods: Mapping[str, "Method"] = field(default_factory=dict)  # rpc.discover

    @property
    def db(self) -> "Database":
        return self.services.db

    @property
    def secrets(self) -> "SecretBox":
        return self.services.secrets

    @property
    def config(self) -> "Config":
        return self.services.config


Handler = Callable[[Call, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Method:
    name: str
    handler: Handler
    params: type[BaseModel]
    summary: str
    result: type[BaseModel] | None = None
    # long: waits on the network or does bulk work (tests, polls, imports, backups); admitted under
    # its own bounds (daemon/admission.py), never holding the places short requests need.
    long: bool = False


def rpc_method(name: str, params: type[BaseModel] = NoParams, *,
               result: type[BaseModel] | None = None, long: bool = False):
    """Describe a handler as a method; registration happens in methods/__init__.py."""

    def wrap(handler: Handler) -> Method:
        summary = (handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else name
        return Method(name, handler, params, summary, result, long)

    return wrap


class TooLongNumber:
    """An integer literal past Python's int limit (4,300 digits). Kept as a value no field accepts, so
    that the one entry holding it is refused (a bad id, or a param that must be an integer) and the rest
    of a batch is still answered."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text)

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


def _parse_int(text: str) -> int | TooLongNumber:
    return int(text) if len(text) <= 4300 else TooLongNumber(text)


# A JSON escape of a UTF-16 surrogate: only a payload holding one can decode to a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lone_surrogate(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where the first text holding a lone surrogate is (which neither SQLite nor a reply can encode)."""
    if isinstance(value, str):
        return None if _encodes(value) else path
    if isinstance(value, dict):
        items: Iterable = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and not _encodes(key):
            return (*path, "(a key)")
        found = _lone_surrogate(item, (*path, str(key)))
        if found is not None:
            return found
    return None


def _valid_id(value: Any) -> bool:
    if isinstance(value, str):
        return _encodes(value)
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


@dataclass(frozen=True)
class Parsed:
    """One ZeroMQ message, read: its JSON (or the reply to a payload that is not JSON), and whether it
    asks for long work, which decides the bound it is admitted under before anything runs."""

    data: Any = None
    reply: bytes | None = None
    suspect: bool = False  # it may hold a lone surrogate somewhere
    long: bool = False


class Dispatcher:
    def __init__(self, methods: Iterable[Method]) -> None:
        self.methods: dict[str, Method] = {}
        for m in methods:
            if m.name in self.methods:
                raise ValueError(f"method {m.name} registered twice")
            self.methods[m.name] = m

    def parse(self, payload: bytes) -> Parsed:
        try:
            data = json.loads(payload.decode("utf-8"), parse_int=_parse_int)
        except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, or nested too deep
            return Parsed(reply=P.dumps(P.error(None, P.RpcError(P.PARSE_ERROR, f"parse error: {exc}"))))
        entries = data if isinstance(data, list) else [data]
        long = False
        for entry in entries:
            name = entry.get("method") if isinstance(entry, dict) else None
            method = self.methods.get(name) if isinstance(name, str) else None
            long = long or (method is not None and method.long)
        # Without a surrogate escape in the bytes, no text in it can hold a lone surrogate.
        return Parsed(data, None, _SURROGATE_ESCAPE.search(payload) is not None, long)

    def refuse(self, parsed: Parsed, err: P.RpcError) -> bytes | None:
        """The same error for every request of a message that was not admitted."""
        entries = parsed.data if isinstance(parsed.data, list) else [parsed.data]
        replies = [P.error(e.get("id") if _valid_id(e.get("id")) else None, err)
                   for e in entries if isinstance(e, dict) and "id" in e]
        if not replies:
            return None
        return P.dumps(replies if isinstance(parsed.data, list) else replies[0])

    async def handle(self, payload: bytes, call: Call) -> bytes | None:
        """The reply for one ZeroMQ message, or None when it held only notifications."""
        return await self.run(self.parse(payload), call)

    async def run(self, parsed: Parsed, call: Call) -> bytes | None:
        if parsed.reply is not None:
            return parsed.reply
        data, suspect = parsed.data, parsed.suspect
        if isinstance(data, list):
            if not data:
                return P.dumps(P.error(None, P.RpcError(P.INVALID_REQUEST, "empty batch")))
            # In order, one after another: a batch that creates then updates must see its own write.
            replies = [r for r in [await self._one(req, call, suspect) for req in data] if r is not None]
            return P.dumps(replies) if replies else None
        reply = await self._one(data, call, suspect)
        return None if reply is None else P.dumps(reply)

    async def _one(self, req: Any, call: Call, suspect: bool = False) -> dict[str, Any] | None:
        if not isinstance(req, dict):
            return P.error(None, P.RpcError(P.INVALID_REQUEST, "a request must be a JSON object"))
        rid = req.get("id")
        if not _valid_id(rid):
            return P.error(None, P.RpcError(P.INVALID_REQUEST, "id must be a string, an integer or null"))
        if req.get("jsonrpc") != P.JSONRPC or not isinstance(req.get("method"), str):
            return P.error(rid, P.RpcError(P.INVALID_REQUEST, 'a request needs "jsonrpc": "2.0" and a string "method"'))
        if suspect and not _encodes(req["method"]):
            return P.error(rid, P.RpcError(P.INVALID_REQUEST, "method must be valid Unicode (it holds a lone surrogate)"))
        notification = "id" not in req
        try:
            value = await self._invoke(req, call, suspect)
        except P.RpcError as err:
            return None if notification else P.error(rid, err)
        except DiskFull as exc:
            log.error("method %s: %s", req["method"], exc)
            return None if notification else P.error(rid, P.RpcError(P.UNAVAILABLE, str(exc)))
        except Exception:
            # Method name only: params may hold passwords.
            log.exception("method %s failed", req["method"])
            err = P.RpcError(P.INTERNAL_ERROR, "internal error; the daemon log has the details")
            return None if notification else P.error(rid, err)
        return None if notification else P.result(rid, value)

    async def _invoke(self, req: dict[str, Any], call: Call, suspect: bool) -> Any:
        method = self.methods.get(req["method"])
        if method is None:
            raise P.RpcError(P.METHOD_NOT_FOUND, f"method not found: {req['method'][:100]}")
        params = req.get("params", {})
        if params == []:
            params = {}
        if not isinstance(params, dict):
            raise P.invalid_params({"params": "must be an object (parameters by name)"})
        broken = _lone_surrogate(params) if suspect else None
        if broken is not None:
            raise P.invalid_params({".".join(broken) or "params": "must be valid Unicode text (it holds a lone surrogate)"})
        try:
            # The model that validates is the model rpc.discover publishes: there is no other way in.
            parsed = validate_model(method.params, params)
            return await method.handler(call, parsed)
        except FieldErrors as exc:
            raise P.invalid_params(exc.fields) from None
