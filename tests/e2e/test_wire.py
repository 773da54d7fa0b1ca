"""The wire as any script sees it: plain REQ and DEALER sockets, and every kind of bad frame."""

from __future__ import annotations

import json

import pytest
import zmq

from mailfleet.shared import protocol as P


@pytest.fixture
def req(daemon):
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 10000)
    sock.connect(daemon.endpoint)
    yield sock
    sock.close()


def ask(sock, payload: bytes | str):
    sock.send(payload.encode() if isinstance(payload, str) else payload)
    reply = sock.recv()
    return json.loads(reply) if reply else None


def test_plain_req_socket(req):
    assert ask(req, '{"jsonrpc":"2.0","id":1,"method":"system.ping"}') == {"jsonrpc": "2.0", "id": 1, "result": {"pong": True}}
    info = ask(req, '{"jsonrpc":"2.0","id":"x","method":"system.info"}')["result"]
    assert info["user"] == "root" and info["admin"] is True and info["mode"] == "user"


def test_dealer_with_many_requests_in_flight(daemon):
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 10000)
    sock.connect(daemon.endpoint)
    for i in range(20):
        sock.send_multipart([b"", P.dumps(P.request("system.ping", None, i))])
    ids = set()
    for _ in range(20):
        empty, body = sock.recv_multipart()
        assert empty == b""
        ids.add(json.loads(body)["id"])
    assert ids == set(range(20))
    # A DEALER that sends no empty delimiter frame is answered the same way.
    sock.send(P.dumps(P.request("system.ping", None, "bare")))
    assert json.loads(sock.recv_multipart()[-1])["id"] == "bare"
    sock.close()


@pytest.mark.parametrize(
    "payload,code",
    [
        (b"this is not json", P.PARSE_ERROR),
        (b"\xff\xfe not utf-8", P.PARSE_ERROR),
        (b"[" * 100000, P.PARSE_ERROR),
        (b"42", P.INVALID_REQUEST),
        (b'"a string"', P.INVALID_REQUEST),
        (b"[]", P.INVALID_REQUEST),
        (b'{"id":1,"method":"system.ping"}', P.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":5}', P.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":{},"method":"system.ping"}', P.INVALID_REQUEST),
        (b'{"jsonrpc":"2.0","id":1,"method":"no.such.method"}', P.METHOD_NOT_FOUND),
        (b'{"jsonrpc":"2.0","id":1,"method":"accounts.get","params":{"id":"7"}}', P.INVALID_PARAMS),
        (b'{"jsonrpc":"2.0","id":1,"method":"accounts.get","params":[7]}', P.INVALID_PARAMS),
        (b'{"jsonrpc":"2.0","id":1,"method":"accounts.list","params":{"limit":true}}', P.INVALID_PARAMS),
        (b'{"jsonrpc":"2.0","id":1,"method":"accounts.create","params":"x"}', P.INVALID_PARAMS),
        # Past Python's int limit, and lone surrogates: each once left the frame unanswered.
        pytest.param(b'{"jsonrpc":"2.0","id":' + b"7" * 5000 + b',"method":"system.ping"}', P.INVALID_REQUEST,
                     id="id-of-5000-digits"),
        pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"accounts.get","params":{"id":' + b"7" * 5000 + b"}}",
                     P.INVALID_PARAMS, id="param-of-5000-digits"),
        (rb'{"jsonrpc":"2.0","id":"\ud800","method":"system.ping"}', P.INVALID_REQUEST),
        (rb'{"jsonrpc":"2.0","id":1,"method":"system.\udfff"}', P.INVALID_REQUEST),
        (rb'{"jsonrpc":"2.0","id":1,"method":"contacts.import","params":{"csv":"email,name\na@example.com,\ud83d"}}',
         P.INVALID_PARAMS),
    ],
)
def test_bad_frames_are_answered_and_the_daemon_keeps_serving(req, payload, code):
    reply = ask(req, payload)
    assert reply["error"]["code"] == code, reply
    assert ask(req, '{"jsonrpc":"2.0","id":2,"method":"system.ping"}')["result"] == {"pong": True}


def test_wrong_param_types_name_the_field(req):
    reply = ask(req, '{"jsonrpc":"2.0","id":1,"method":"accounts.list","params":{"limit":"10","kind":"everything"}}')
    assert reply["error"]["data"]["fields"] == {"limit": "must be an integer", "kind": "must be one of all, marketing or own"}


def test_batch_with_one_bad_entry(req):
    batch = [
        P.request("system.ping", None, 1),
        P.request("no.such", None, 2),
        {"jsonrpc": "2.0", "id": 3, "method": "accounts.get", "params": {"id": -1}},
        "not a request",
        P.request("system.ping"),  # a notification: no reply entry
    ]
    replies = ask(req, json.dumps(batch))
    by_id = {r["id"]: r for r in replies}
    assert len(replies) == 4
    assert by_id[1]["result"] == {"pong": True}
    assert by_id[2]["error"]["code"] == P.METHOD_NOT_FOUND
    assert by_id[3]["error"]["data"]["fields"] == {"id": "must be 1-9223372036854775807"}
    assert by_id[None]["error"]["code"] == P.INVALID_REQUEST


def test_a_batch_answers_each_entry_even_beside_ones_that_cannot_be_parsed_into_python(req):
    batch = (b'[{"jsonrpc":"2.0","id":1,"method":"system.ping"},'
             b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"system.ping"},'
             rb'{"jsonrpc":"2.0","id":"\udc80","method":"system.ping"},'
             rb'{"jsonrpc":"2.0","id":4,"method":"contacts.update","params":{"email":"a@example.com","details":{"x":"\ud800"}}},'
             b'{"jsonrpc":"2.0","id":5,"method":"system.ping"}]')
    replies = ask(req, batch)
    assert [r.get("id") for r in replies] == [1, None, None, 4, 5]
    assert [r["error"]["code"] for r in replies[1:4]] == [P.INVALID_REQUEST, P.INVALID_REQUEST, P.INVALID_PARAMS]
    assert replies[3]["error"]["data"]["fields"] == {"details.x": "must be valid Unicode text (it holds a lone surrogate)"}
    assert replies[0]["result"] == replies[4]["result"] == {"pong": True}


def test_a_batch_sees_its_own_writes_in_order(req, own_account):
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "accounts.create", "params": own_account},
        {"jsonrpc": "2.0", "id": 2, "method": "accounts.list", "params": {"query": "sales"}},
    ]
    replies = {r["id"]: r for r in ask(req, json.dumps(batch))}
    assert replies[2]["result"]["total"] == 1


def test_notifications_only_get_an_empty_reply(req):
    # JSON-RPC answers nothing; a REQ socket still needs a reply to go on.
    assert ask(req, json.dumps(P.request("system.ping"))) is None
    assert ask(req, json.dumps([P.request("system.ping"), P.request("system.ping")])) is None


def test_oversized_frame_is_dropped_and_the_daemon_keeps_serving(daemon):
    big = zmq.Context.instance().socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(daemon.endpoint)
    big.send_multipart([b"", b" " * (100 * 1024 * 1024)])
    with daemon.client() as c:
        assert c.call("system.ping") == {"pong": True}
    # libzmq dropped that connection instead of reading the frame: no reply ever comes to it.
    assert big.poll(1000) == 0
    big.close()
    with daemon.client() as c:
        assert c.call("system.ping") == {"pong": True}
    rss_kb = int(next(line for line in open(f"/proc/{daemon.proc.pid}/status") if line.startswith("VmRSS")).split()[1])
    assert rss_kb < 100 * 1024, f"the daemon holds {rss_kb} kB: the frame was read into memory"


def test_a_subscribers_call_right_after_an_event_is_answered(daemon, own_account):
    # An event is pushed after its commit, by the delivering task, so it may leave the socket just after
    # the subscriber's next request arrived. A push that cleared the socket's wake-up without the request
    # being read left that request unanswered until other traffic came (seen within a few hundred rounds).
    with daemon.client(timeout=5) as c:
        acc = c.call("accounts.create", own_account)
        c.call("events.subscribe", {"types": ["account."]})
        for n in range(600):
            c.call("accounts.update", {"id": acc["id"], "name": f"n{n}"})
            assert c.call("system.ping") == {"pong": True}
        assert [c.next_event(timeout=5)["type"] for _ in range(600)] == ["account.updated"] * 600
