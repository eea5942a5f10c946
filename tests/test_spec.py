"""The examples of section 7 of the JSON-RPC 2.0 specification, plus the edge cases the spec pins down.

https://www.jsonrpc.org/specification#examples

Every message is sent as raw bytes and every reply is compared whole, ``data`` members included. The
``exchange`` fixture runs each case through every path a message can take to the dispatcher.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aiohttp_rpc

Exchange = Callable[[bytes], Awaitable[Any]]

NO_REPLY = object()


def subtract(minuend: int, subtrahend: int) -> int:
    return minuend - subtrahend


def sum_(*values: int) -> int:
    return sum(values)


def update(*values: int) -> None:
    return None


def notify_hello(*values: int) -> None:
    return None


def get_data() -> list[Any]:
    return ['hello', 5]


def spec_server() -> aiohttp_rpc.JSONRPCServer:
    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_methods([subtract, aiohttp_rpc.JSONRPCMethod(sum_, name='sum'), update, notify_hello, get_data])
    return server


@pytest.fixture(params=['http', 'ws', 'dispatch'])
async def exchange(
    request: pytest.FixtureRequest, rpc_server_factory: Any, post_raw: Any, aiohttp_server: Any
) -> AsyncIterator[Exchange]:
    """Send raw bytes to the spec server; return the decoded reply, or ``NO_REPLY`` when none is sent.

    ``http``: a real POST to a real server (no reply means HTTP 204 with an empty body).
    ``ws``: a text frame on a real WebSocket. The server reads one frame at a time (``max_in_flight=1``), so
    a sentinel call sent next is answered only after any reply to the frame: if the sentinel's reply comes
    first, there was none.
    ``dispatch``: the transport-free dispatcher, in-process.
    """
    if request.param == 'http':
        url = await rpc_server_factory(rpc_server=spec_server())

        async def over_http(raw: bytes) -> Any:
            status, reply = await post_raw(url, raw)
            if reply is None:
                assert status == 204
                return NO_REPLY
            assert status == 200
            return reply

        yield over_http
    elif request.param == 'ws':
        ws_server = aiohttp_rpc.WSJSONRPCServer(
            middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, max_in_flight=1
        )
        ws_server.add_methods(spec_server().methods.values())
        app = web.Application()
        app.router.add_get('/rpc', ws_server.handle_http_request)
        test_server = await aiohttp_server(app)
        async with aiohttp.ClientSession() as session, session.ws_connect(test_server.make_url('/rpc')) as ws:

            async def over_ws(raw: bytes) -> Any:
                await ws.send_str(raw.decode())
                await ws.send_str('{"jsonrpc": "2.0", "method": "get_data", "id": "sentinel"}')
                first = json.loads((await ws.receive(timeout=5)).data)
                if first == result(['hello', 5], id='sentinel'):
                    return NO_REPLY
                assert json.loads((await ws.receive(timeout=5)).data) == result(['hello', 5], id='sentinel')
                # 2.0.0 words the WebSocket parse error "Invalid JSON." (with a period); we keep that.
                if first == WS_PARSE_ERROR:
                    return PARSE_ERROR
                return first

            yield over_ws
    else:
        server = spec_server()

        async def in_process(raw: bytes) -> Any:
            output = await server.dispatch(raw, {})
            return NO_REPLY if output is None else json.loads(output)

        yield in_process


def canonical_set(replies: list[Any]) -> set[str]:
    """A batch reply as a set of canonical JSON strings: batch members may be answered in any order."""
    return {json.dumps(reply, sort_keys=True) for reply in replies}


def error(code: int, message: str, *, id: Any = None, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {'code': code, 'message': message}
    if data is not None:
        body['data'] = data
    return {'id': id, 'jsonrpc': '2.0', 'error': body}


def result(value: Any, *, id: Any) -> dict[str, Any]:
    return {'id': id, 'jsonrpc': '2.0', 'result': value}


PARSE_ERROR = error(-32700, 'Parse error', data={'details': 'Invalid JSON'})
WS_PARSE_ERROR = error(-32700, 'Parse error', data={'details': 'Invalid JSON.'})
NOT_AN_OBJECT = error(-32600, 'Invalid Request', data={'details': 'Data must be a dict.'})


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}',
            result(19, id=1),
            id='positional-1',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}',
            result(-19, id=2),
            id='positional-2',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}',
            result(19, id=3),
            id='named-1',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}',
            result(19, id=4),
            id='named-2',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}',
            NO_REPLY,
            id='notification',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "foobar"}',
            NO_REPLY,
            id='notification-of-a-missing-method',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "foobar", "id": "1"}',
            error(-32601, 'Method not found', id='1'),
            id='non-existent-method',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
            PARSE_ERROR,
            id='invalid-json',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": 1, "params": "bar"}',
            error(-32600, 'Invalid Request', data={'details': '"method" must be a non-empty string.'}),
            id='invalid-request-object',
        ),
        pytest.param(
            b'[\n  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},\n'
            b'  {"jsonrpc": "2.0", "method"\n]',
            PARSE_ERROR,
            id='batch-invalid-json',
        ),
        pytest.param(b'[]', error(-32600, 'Invalid Request'), id='empty-array'),
    ],
)
async def test_single_reply_examples(exchange: Exchange, raw: bytes, expected: Any) -> None:
    assert await exchange(raw) == expected


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        pytest.param(b'[1]', [NOT_AN_OBJECT], id='one-non-object'),
        pytest.param(b'[1,2,3]', [NOT_AN_OBJECT, NOT_AN_OBJECT, NOT_AN_OBJECT], id='three-non-objects'),
        pytest.param(
            b"""[
                {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
                {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
                {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
                {"foo": "boo"},
                {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
                {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
            ]""",
            [
                result(7, id='1'),
                result(19, id='2'),
                error(-32600, 'Invalid Request', data={'details': 'The request must contain "method" and "jsonrpc".'}),
                error(-32601, 'Method not found', id='5'),
                result(['hello', 5], id='9'),
            ],
            id='mixed-batch',
        ),
    ],
)
async def test_batch_examples(exchange: Exchange, raw: bytes, expected: list[Any]) -> None:
    reply = await exchange(raw)
    assert isinstance(reply, list)
    assert len(reply) == len(expected)
    assert canonical_set(reply) == canonical_set(expected)


async def test_all_notification_batch_gets_no_reply(exchange: Exchange) -> None:
    raw = (
        b'[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},'
        b' {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]'
    )
    assert await exchange(raw) is NO_REPLY


@pytest.mark.parametrize('request_id', [1, 0, -7, 2**53, '1', '', 'abc-123'])
async def test_id_is_echoed_with_its_type(exchange: Exchange, request_id: Any) -> None:
    raw = json.dumps({'jsonrpc': '2.0', 'method': 'subtract', 'params': [3, 1], 'id': request_id}).encode()
    reply = await exchange(raw)
    assert reply == result(2, id=request_id)
    assert type(reply['id']) is type(request_id)


async def test_null_id_is_a_request_not_a_notification(exchange: Exchange) -> None:
    raw = b'{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": null}'
    assert await exchange(raw) == result(19, id=None)


async def test_null_id_in_a_batch_is_answered(exchange: Exchange) -> None:
    raw = (
        b'[{"jsonrpc": "2.0", "method": "subtract", "params": [5, 1], "id": null},'
        b' {"jsonrpc": "2.0", "method": "subtract", "params": [5, 2]}]'
    )
    assert await exchange(raw) == [result(4, id=None)]


BAD_ID = error(-32600, 'Invalid Request', data={'details': 'The "id" must be string, integer or Null.'})


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [
        pytest.param(b'{"jsonrpc": "2.0", "method": "get_data", "id": true}', BAD_ID, id='boolean-id'),
        pytest.param(b'{"jsonrpc": "2.0", "method": "get_data", "id": 1.5}', BAD_ID, id='float-id'),
        pytest.param(b'{"jsonrpc": "2.0", "method": "get_data", "id": [1]}', BAD_ID, id='array-id'),
        pytest.param(
            b'{"jsonrpc": "1.0", "method": "get_data", "id": 1}',
            error(-32600, 'Only version "2.0" is supported.', id=1),
            id='jsonrpc-1.0',
        ),
        pytest.param(
            b'{"jsonrpc": 2.0, "method": "get_data", "id": 1}',
            error(-32600, 'Only version "2.0" is supported.', id=1),
            id='jsonrpc-as-number',
        ),
        pytest.param(
            b'{"jsonrpc": null, "method": "get_data", "id": 1}',
            error(-32600, 'The "jsonrpc" field is required and must be "2.0".', id=1),
            id='jsonrpc-null',
        ),
        pytest.param(
            b'{"method": "get_data", "id": 1}',
            error(
                -32600, 'Invalid Request', id=1, data={'details': 'The request must contain "method" and "jsonrpc".'}
            ),
            id='jsonrpc-missing',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "", "id": 1}',
            error(-32600, 'Invalid Request', id=1, data={'details': '"method" must be a non-empty string.'}),
            id='empty-method',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "subtract", "params": 42, "id": 1}',
            error(-32602, 'Params must be an array or object per JSON-RPC 2.0. 42', id=1),
            id='scalar-params',
        ),
        pytest.param(
            b'{"jsonrpc": "2.0", "method": "subtract", "params": "bar", "id": 1}',
            error(-32602, 'Params must be an array or object per JSON-RPC 2.0. bar', id=1),
            id='string-params',
        ),
        pytest.param(
            b'"a string"',
            error(-32600, 'Invalid Request', data={'details': 'Data must be a dict or a list.'}),
            id='top-level-scalar',
        ),
        pytest.param(
            b'',
            PARSE_ERROR,
            id='empty-body',
        ),
    ],
)
async def test_invalid_requests(exchange: Exchange, raw: bytes, expected: Any) -> None:
    assert await exchange(raw) == expected
