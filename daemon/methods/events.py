"""events.*: the stored event log, and live delivery to subscribers (daemon/events.py)."""

from __future__ import annotations

import json

from ...shared import protocol as P
from ...shared.models import EventsListParams, EventsSubscribeParams, EventsSubscription
from ..rpc import Call, rpc_method
from ..storage import events as event_store


@rpc_method("events.list", EventsListParams)
async def list_(call: Call, params: EventsListParams) -> dict:
    """Stored events after `since`, oldest first: what a subscriber missed while away."""
    rows = await event_store.since(call.db.read, params.since, params.type, params.limit,
                                   viewer=call.caller.viewer,
                                   account_id=params.account_id, newest=params.newest)
    items = [{"seq": r["seq"], "time": r["time"], "type": r["type"], **json.loads(r["data"])} for r in rows]
    return {"items": items, "last_seq": items[-1]["seq"] if items else params.since}



@rpc_method("events.subscribe", EventsSubscribeParams, result=EventsSubscription)
async def subscribe(call: Call, params: EventsSubscribeParams) -> dict:
    """Receive events as they happen, on this connection (a DEALER socket), as {"method": "event"} notifications."""
    if call.peer is None or call.events is None:
        raise P.RpcError(P.UNAVAILABLE, "events are delivered only over a socket connection")
    lease = call.events.subscribe(call.peer, call.caller, params.types)
    return {"subscribed": True, "lease": lease, "last_seq": await event_store.last_seq(call.db.read)}


@rpc_method("events.unsubscribe")
async def unsubscribe(call: Call, params) -> dict:
    """Stop the events this connection subscribed to."""
    gone = call.peer is not None and call.events is not None and call.events.unsubscribe(call.peer)
    return {"unsubscribed": gone}
