"""The JSON-RPC 2.0 contract between the daemon and every client.

Both sides import this module, so the error codes a script sees are the ones
the daemon sends; README.md documents the same table.
"""

from __future__ import annotations

import json
from typing import Any

DEFAULT_TIMEOUT = 10.0  # seconds a client waits for an answer

JSONRPC = "2.0"

# Standard JSON-RPC codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# mailfleet's own codes (the JSON-RPC "server error" range).
NOT_FOUND = -32004
FORBIDDEN = -32003
CONFLICT = -32009
UNAVAILABLE = -32010  # the daemon is shutting down or a dependency is down
BUSY = -32011  # too much long work under way (the caller's own, or everyone's); try again later

ERROR_NAMES: dict[int, str] = {
    PARSE_ERROR: "parse error",
    INVALID_REQUEST: "invalid request",
    METHOD_NOT_FOUND: "method not found",
    INVALID_PARAMS: "invalid params",
    INTERNAL_ERROR: "internal error",
    NOT_FOUND: "not found",
    FORBIDDEN: "forbidden",
    CONFLICT: "conflict",
    UNAVAILABLE: "unavailable",
    BUSY: "busy",
}


class RpcError(Exception):
    """An error that travels over the wire as a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err

    @classmethod
    def from_json(cls, err: dict[str, Any]) -> "RpcError":
        return cls(int(err.get("code", INTERNAL_ERROR)), str(err.get("message", "")), err.get("data"))

    def __str__(self) -> str:
        text = self.message
        fields = self.data.get("fields") if isinstance(self.data, dict) else None
        if fields:
            text += "".join(f"\n  {path}: {why}" for path, why in fields.items())
        return text


def invalid_params(fields: dict[str, str], message: str = "invalid params") -> RpcError:
    return RpcError(INVALID_PARAMS, message, {"fields": fields})


def not_found(what: str) -> RpcError:
    return RpcError(NOT_FOUND, f"{what} not found")


def forbidden(why: str) -> RpcError:
    return RpcError(FORBIDDEN, why)


def conflict(why: str) -> RpcError:
    return RpcError(CONFLICT, why)


def request(method: str, params: Any = None, id: int | str | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": JSONRPC, "method": method}
    if params is not None:
        msg["params"] = params
    if id is not None:
        msg["id"] = id
    return msg


def result(id: Any, value: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "id": id, "result": value}


def error(id: Any, err: RpcError) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "id": id, "error": err.to_json()}


def dumps(obj: Any) -> bytes:
    # A lone surrogate (JSON allows "\\ud800") cannot be UTF-8; backslashreplace writes it back as the very
    # JSON escape it came in as, so a reply quoting a caller's text always encodes.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "backslashreplace")
