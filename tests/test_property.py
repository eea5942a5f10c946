"""Properties over generated input: whatever a client sends, the server answers with a well-formed JSON-RPC
reply (or 204/413/415), never a 5xx, and still answers a ``ping`` afterwards.

How it runs: hypothesis drives *sync* test functions. One event loop runs in a background thread for the
whole module, hosting a real ``JSONRPCServer`` and ``WSJSONRPCServer`` on 127.0.0.1 and one client session
with one open WebSocket; each example is a coroutine handed to that loop with
``asyncio.run_coroutine_threadsafe`` and waited for with a timeout. So the servers start once, hypothesis
needs no async support, and pytest-asyncio's per-test loops are never involved.

Settings: 200 examples per property, ``derandomize=True`` (the same examples on every run), no example
database, no deadline (loopback latency is not what is tested); both properties together take a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wire import PARSE_ERROR, WS_PARSE_ERROR, error, result

import aiohttp_rpc

T = TypeVar('T')

MAX_BODY_SIZE = 4096
ALLOWED_CONTENT_TYPES = ('application/json', 'application/json-rpc', 'application/jsonrequest')
CONTENT_TYPES = (
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin-1',
    'application/json; charset=no-such',
    'application/json-rpc',
    'text/plain',
)
PING = b'{"jsonrpc": "2.0", "method": "ping", "id": "health"}'
HEALTHY = result('pong', id='health')
NOT_A_MESSAGE = error(-32600, 'Invalid Request', data={'details': 'Data must be a dict or a list.'})

HOSTILE = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def ping() -> str:
    return 'pong'


def echo(value: Any) -> Any:
    return value


def subtract(minuend: Any, subtrahend: Any) -> Any:
    return minuend - subtrahend


def total(*values: Any) -> Any:
    return sum(values)


def fail() -> None:
    raise RuntimeError('internal detail')


METHODS = (ping, echo, subtract, total, fail)
METHOD_NAMES = ('ping', 'echo', 'subtract', 'total', 'fail', 'no_such_method', 'rpc.discover')


class Harness:
    """A loop in a background thread, running both servers and one client with one WebSocket."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name='property-loop', daemon=True)
        self.runner: web.AppRunner | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.http_url = ''
        self.ws_url = ''

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.run(self._start())

    def stop(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    async def _start(self) -> None:
        http = aiohttp_rpc.JSONRPCServer(
            middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, max_body_size=MAX_BODY_SIZE
        )
        ws = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, max_in_flight=1)
        for server in (http, ws):
            server.add_methods(METHODS)
        app = web.Application()
        app.router.add_post('/rpc', http.handle_http_request)
        app.router.add_get('/ws', ws.handle_http_request)
        app.on_shutdown.append(ws.on_shutdown)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, '127.0.0.1', 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.http_url = f'http://127.0.0.1:{port}/rpc'
        self.ws_url = f'http://127.0.0.1:{port}/ws'
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.ws_url, max_msg_size=0)

    async def _stop(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def post(self, body: bytes, content_type: str) -> tuple[int, str, bytes]:
        assert self.session is not None
        async with self.session.post(self.http_url, data=body, headers={'Content-Type': content_type}) as response:
            return response.status, response.content_type, await response.read()

    async def frame(self, body: bytes, *, text: bool) -> Any:
        """Send one frame, then a sentinel ``ping``; return the reply to the frame, or ``None`` if none came."""
        assert self.session is not None
        if self.ws is None or self.ws.closed:  # an earlier example broke it: report that one, not every later one
            self.ws = await self.session.ws_connect(self.ws_url, max_msg_size=0)
        if text:
            await self.ws.send_str(body.decode())
        else:
            await self.ws.send_bytes(body)
        await self.ws.send_bytes(PING)
        first = await self._receive()
        if first == HEALTHY:
            return None
        assert await self._receive() == HEALTHY
        return first

    async def _receive(self) -> Any:
        assert self.ws is not None
        msg = await self.ws.receive(timeout=5)
        assert msg.type is WSMsgType.TEXT, msg
        return json.loads(msg.data)


@pytest.fixture(scope='module')
def harness() -> Iterator[Harness]:
    harness = Harness()
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


# -- what a well-formed reply is ---------------------------------------------------------------------------


def is_id(value: Any) -> bool:
    return value is None or type(value) in (int, str)


def well_formed_single(reply: Any) -> bool:
    if not isinstance(reply, dict) or reply.get('jsonrpc') != '2.0' or 'id' not in reply or not is_id(reply['id']):
        return False
    if set(reply) == {'jsonrpc', 'id', 'result'}:
        return True
    if set(reply) != {'jsonrpc', 'id', 'error'}:
        return False
    err = reply['error']
    return (
        isinstance(err, dict)
        and {'code', 'message'} <= set(err) <= {'code', 'message', 'data'}
        and type(err['code']) is int
        and isinstance(err['message'], str)
    )


def well_formed(reply: Any) -> bool:
    if isinstance(reply, list):
        return bool(reply) and all(well_formed_single(member) for member in reply)
    return well_formed_single(reply)


def parses(body: bytes, charset: str = 'utf-8') -> bool:
    """Whether the stdlib accepts ``body``. It is more lenient than the server (NaN, lone surrogates, deep
    nesting, huge numbers), so a body it refuses must get the parse error."""
    try:
        json.loads(body.decode(charset))
    except (ValueError, RecursionError, LookupError):
        return False
    return True


def check_http(harness: Harness, body: bytes, content_type: str) -> Any:
    """POST ``body``; check the answer against the rules and that the server still answers; return the reply."""
    status, reply_type, raw = harness.run(harness.post(body, content_type))
    media_type, _, parameters = content_type.partition(';')
    charset = parameters.partition('=')[2] or 'utf-8'
    reply = None
    if media_type not in ALLOWED_CONTENT_TYPES:
        assert status == 415
    elif len(body) > MAX_BODY_SIZE:
        assert status == 413
    elif status == 204:
        assert raw == b''
    else:
        assert (status, reply_type) == (200, 'application/json'), (status, raw[:200])
        reply = json.loads(raw)
        assert well_formed(reply), reply
        if not parses(body, charset):
            assert reply == PARSE_ERROR
    health_status, _, health = harness.run(harness.post(PING, 'application/json'))
    assert (health_status, json.loads(health)) == (200, HEALTHY)
    return reply


def check_ws(harness: Harness, body: bytes, *, text: bool) -> Any:
    reply = harness.run(harness.frame(body, text=text))
    assert harness.ws is not None
    assert not harness.ws.closed
    if reply is not None:
        assert well_formed(reply), reply
        if not parses(body):
            assert reply == WS_PARSE_ERROR
    return reply


# -- arbitrary bytes ----------------------------------------------------------------------------------------

SEEDS = (
    b'{"jsonrpc": "2.0", "method": "echo", "params": [[1, {"a": "b"}]], "id": 1}',
    b'[{"jsonrpc": "2.0", "method": "subtract", "params": [5, 3], "id": "x"}, {"jsonrpc": "2.0", "method": "ping"}]',
    b'{"jsonrpc": "2.0", "method": "total", "params": [1, 2.5, -3e2], "id": null}',
)


def mutate(seed: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Replace ``seed[at:at + length]`` with ``data`` for each edit: near-JSON that breaks in many places."""
    body = bytearray(seed)
    for at, length, data in edits:
        at %= len(body) + 1
        body[at : at + length] = data
    return bytes(body)


near_json = st.builds(
    mutate,
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 3), st.binary(max_size=3)), min_size=1, max_size=4),
)
arbitrary_bytes = st.binary(max_size=2 * MAX_BODY_SIZE) | near_json


@HOSTILE
@given(body=arbitrary_bytes, content_type=st.sampled_from(CONTENT_TYPES))
def test_arbitrary_bytes_get_a_well_formed_answer(harness: Harness, body: bytes, content_type: str) -> None:
    check_http(harness, body, content_type)
    check_ws(harness, body, text=False)


# -- arbitrary JSON -----------------------------------------------------------------------------------------

LONE_SURROGATES = ('\ud800', '\udbff', '\udc00', '\udfff')
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec='utf-8'), max_size=12)
    | st.builds(
        '{}{}{}'.format,
        st.text(st.characters(codec='utf-8'), max_size=4),
        st.sampled_from(LONE_SURROGATES),
        st.text(st.characters(codec='utf-8'), max_size=4),
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=25,
)
requests = st.fixed_dictionaries(
    {'jsonrpc': st.just('2.0') | json_values},
    optional={
        'method': st.sampled_from(METHOD_NAMES) | json_values,
        'params': json_values,
        'id': json_values,
        # An integer of 19+ digits anywhere switches the server to its exact-integer parser.
        'n': st.integers(min_value=-(10**30), max_value=10**30),
    },
)
messages = json_values | requests | st.lists(requests | json_values, max_size=5)


def has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any('\ud800' <= char <= '\udfff' for char in value)
    if isinstance(value, list):
        return any(has_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(key) or has_lone_surrogate(item) for key, item in value.items())
    return False


@HOSTILE
@given(message=messages, ascii_only=st.booleans())
@example(message={'jsonrpc': '2.0', 'method': 'ping', 'id': '\ud800', 'n': 10**22}, ascii_only=True)
@example(message=[{'jsonrpc': '2.0', 'method': 'echo', 'params': ['\udc00'], 'id': 1}, 2**70], ascii_only=True)
def test_arbitrary_json_gets_a_well_formed_answer(harness: Harness, message: Any, ascii_only: bool) -> None:
    """Lone surrogates (``"\\ud800"``) are escaped, so the body stays valid UTF-8; they are not Unicode text,
    and such a message is refused like any other that does not decode."""
    try:
        body = json.dumps(message, ensure_ascii=ascii_only).encode()
    except UnicodeEncodeError:
        body = json.dumps(message).encode()
    for reply in (check_http(harness, body, 'application/json'), check_ws(harness, body, text=True)):
        if has_lone_surrogate(message):
            assert reply in (PARSE_ERROR, WS_PARSE_ERROR)
        elif not isinstance(message, (dict, list)):
            assert reply == NOT_A_MESSAGE
        elif message == []:
            assert reply == error(-32600, 'Invalid Request')
        elif isinstance(message, dict) and 'method' in message and reply is not None:
            # A reply carries the request's id when that id is valid, and null otherwise.
            sent_id = message.get('id')
            assert reply['id'] == (sent_id if is_id(sent_id) else None)
        elif isinstance(message, list) and isinstance(reply, list):
            sent_ids = [member.get('id') for member in message if isinstance(member, dict)]
            assert {member['id'] for member in reply} <= {None, *(i for i in sent_ids if is_id(i))}
            assert len(reply) <= len(message)
