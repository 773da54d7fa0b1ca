"""system.*: is the daemon there, and who does it think I am."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ..rpc import Call, rpc_method


def _version() -> str:
    try:
        return version("mailfleet")
    except PackageNotFoundError:
        return "0+unknown"


@rpc_method("system.ping")
async def ping(call: Call, params) -> dict:
    """Answer at once: liveness for scripts and health checks."""
    return {"pong": True}


@rpc_method("system.info")
async def info(call: Call, params) -> dict:
    """The daemon's version and mode, and the caller's user name and admin right."""
    app = call.app
    return {
        "version": _version(),
        "mode": app.paths.mode,
        "pid": app.pid,
        "started_at": app.started_at,
        "user": call.caller.user,
        "admin": call.caller.admin,
        "endpoints": {"rpc": app.paths.rpc_endpoint, "events": app.paths.events_endpoint},
    }
