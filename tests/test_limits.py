"""Every limit, one focused test each, set very low so that one message crosses it; whole replies compared.

Each limit is a constructor option and ``None`` disables it. Server limits are tested on real servers on
loopback; client limits against real (sometimes deliberately misbehaving) aiohttp handlers.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from wire import canonical, error, raw_http, request_head, result, serve_ws
from yarl import URL

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.client.transports import http as http_transport
from aiohttp_rpc.dispatch import dispatcher, encoder
from aiohttp_rpc.server import http as http_server
from aiohttp_rpc.server import websocket as ws_server

AiohttpServer = Callable[..., Awaitable[TestServer]]

PING = b'{"jsonrpc": "2.0", "method": "ping", "id": 1}'
PONG = result('pong', id=1)
RESPONSE_TOO_LARGE = {'code': -32003, 'message': 'Response too large'}
MIB = 1024 * 1024


def ping() -> str:
    return 'pong'


def big(size: int) -> str:
    return 'x' * size


def big_reply_size(size: int, id: int = 1) -> int:
    """Bytes of the reply to ``big(size)``: ``{"id":1,"jsonrpc":"2.0","result":"xx..."}``."""
    return len(f'{{"id":{id},"jsonrpc":"2.0","result":""}}') + size


def padded(message: bytes, size: int) -> bytes:
    """``message`` followed by JSON whitespace up to exactly ``size`` bytes."""
    assert len(message) <= size
    return message + b' ' * (size - len(message))


def call(method: str, *params: Any, id: Any = 1) -> dict[str, Any]:
    return {'jsonrpc': '2.0', 'method': method, 'params': list(params), 'id': id}


def encode(message: Any) -> bytes:
    return json.dumps(message).encode()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def chunks(body: bytes, size: int = 16) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    """POST ``body`` (bytes, or an async iterator for a chunked body); ``(status, decoded JSON or text)``."""
    if isinstance(body, bytes) and len(body) > 64 * 1024:
        body = io.BytesIO(body)  # aiohttp warns about large raw bytes bodies
    async with session.post(url, data=body, headers={'Content-Type': 'application/json'}) as response:
        raw = await response.read()
        if response.content_type == 'application/json':
            return response.status, json.loads(raw)
        return response.status, raw.decode()


# -- HTTP body ------------------------------------------------------------------------------------------------


def too_large(limit: int) -> dict[str, Any]:
    """The JSON-RPC error a 413 carries."""
    return {
        'jsonrpc': '2.0',
        'id': None,
        'error': {
            'code': -32600,
            'message': 'Invalid Request',
            'data': {'details': f'Maximum request body size {limit} exceeded.'},
        },
    }


async def test_max_body_size_refuses_a_declared_length_over_it(
    rpc_server_factory: Any, session: aiohttp.ClientSession
) -> None:
    url = await rpc_server_factory(ping, max_body_size=100)
    assert await post(session, url, padded(PING, 100)) == (200, PONG)
    assert await post(session, url, padded(PING, 101)) == (413, too_large(100))


async def test_max_body_size_refuses_a_chunked_body_over_it(
    rpc_server_factory: Any, session: aiohttp.ClientSession
) -> None:
    url = await rpc_server_factory(ping, max_body_size=100)
    assert await post(session, url, chunks(padded(PING, 100))) == (200, PONG)
    assert await post(session, url, chunks(padded(PING, 101))) == (413, too_large(100))


async def test_by_default_the_apps_own_limit_applies(rpc_server_factory: Any, session: aiohttp.ClientSession) -> None:
    """aiohttp's default ``client_max_size`` is 1 MiB, and a body over it gets a JSON-RPC 413."""
    assert http_server.DEFAULT_MAX_BODY_SIZE == MIB
    url = await rpc_server_factory(ping)
    assert await post(session, url, padded(PING, MIB - 1)) == (200, PONG)
    assert await post(session, url, padded(PING, MIB + 1)) == (413, too_large(MIB))
    assert await post(session, url, chunks(padded(PING, MIB + 1))) == (413, too_large(MIB))


async def test_an_app_that_raised_client_max_size_takes_a_10_mib_echo(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    """2.0.0 code that raised the app's limit keeps working: the server has no lower limit of its own."""

    def echo(text: str) -> int:
        return len(text)

    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(echo)
    app = web.Application(client_max_size=16 * MIB)
    app.router.add_post('/rpc', server.handle_http_request)
    url = str((await aiohttp_server(app)).make_url('/rpc'))
    text = 'x' * (10 * MIB)
    body = json.dumps({'jsonrpc': '2.0', 'method': 'echo', 'params': [text], 'id': 1}).encode()
    assert await post(session, url, body) == (200, result(10 * MIB, id=1))
    async with aiohttp_rpc.JSONRPCClient(url, session=session) as rpc:
        assert await rpc.call('echo', text) == 10 * MIB


async def test_max_body_size_only_tightens_the_apps_limit(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    server = aiohttp_rpc.JSONRPCServer(max_body_size=8 * MIB)
    server.add_method(ping)
    app = web.Application(client_max_size=4 * MIB)
    app.router.add_post('/rpc', server.handle_http_request)
    url = str((await aiohttp_server(app)).make_url('/rpc'))
    assert await post(session, url, padded(PING, 3 * MIB)) == (200, PONG)
    assert await post(session, url, padded(PING, 4 * MIB + 1)) == (413, too_large(4 * MIB))
    assert await post(session, url, chunks(padded(PING, 4 * MIB + 1))) == (413, too_large(4 * MIB))


async def test_our_client_reads_a_413_as_the_json_rpc_error_it_carries(rpc_server_factory: Any) -> None:
    url = await rpc_server_factory(big, max_body_size=64)
    async with aiohttp_rpc.JSONRPCClient(url) as rpc:
        with pytest.raises(errors.InvalidRequest) as info:
            await rpc.call('big', 'x' * 100)
        assert info.value.data == {'details': 'Maximum request body size 64 exceeded.'}
        assert await rpc.call('big', 3) == 'xxx'  # the connection is still usable


async def test_body_timeout_answers_408_to_a_body_that_stops(rpc_server_factory: Any) -> None:
    ran = asyncio.Event()

    def mark() -> None:
        ran.set()

    url = URL(await rpc_server_factory(mark, body_timeout=0.1))
    assert url.host is not None
    assert url.port is not None
    body = b'{"jsonrpc": "2.0", "method": "mark", "id": 1}'
    head = request_head(
        'POST',
        url.path,
        {'Host': f'{url.host}:{url.port}', 'Content-Type': 'application/json', 'Content-Length': str(len(body))},
    )
    reply = await raw_http(url.host, url.port, head + body[:10])
    assert (reply.status, reply.body) == (408, b'The request body was not received in time.')
    assert not ran.is_set()


async def test_body_timeout_defaults_to_30_seconds() -> None:
    assert http_server.DEFAULT_BODY_TIMEOUT == 30.0
    assert aiohttp_rpc.JSONRPCServer().body_timeout == 30.0


# -- batches ------------------------------------------------------------------------------------------------

BATCH_TOO_LARGE = error(-32600, 'Invalid Request', data={'details': 'Batch too large.'})


@pytest.mark.parametrize(
    ('options', 'allowed', 'refused'),
    [
        pytest.param({'max_batch': 3}, 3, 4, id='three'),
        pytest.param({}, 1000, 1001, id='default-1000'),
        pytest.param({'max_batch': None}, 5000, None, id='none'),
    ],
)
async def test_max_batch(
    rpc_server_factory: Any, session: aiohttp.ClientSession, options: dict[str, Any], allowed: int, refused: int | None
) -> None:
    assert dispatcher.DEFAULT_MAX_BATCH == 1000
    url = await rpc_server_factory(ping, **options)
    status, replies = await post(session, url, encode([call('ping', id=i) for i in range(allowed)]))
    assert status == 200
    assert canonical(replies) == canonical([result('pong', id=i) for i in range(allowed)])
    if refused is not None:
        assert await post(session, url, encode([call('ping', id=i) for i in range(refused)])) == (200, BATCH_TOO_LARGE)


@pytest.mark.parametrize(
    ('batch_concurrency', 'members', 'started', 'highest_peak'),
    [
        pytest.param(3, 40, 3, 4, id='three'),
        pytest.param('default', 300, 100, 101, id='default-100'),
        pytest.param(None, 40, 40, 40, id='none'),
    ],
)
async def test_batch_concurrency_bounds_waiting_members(
    rpc_server_factory: Any,
    session: aiohttp.ClientSession,
    batch_concurrency: Any,
    members: int,
    started: int,
    highest_peak: int,
) -> None:
    """Members block until released. Once ``started`` of them run, the loop is given many more turns (no
    wall-clock wait: an unbounded batch would start one more member per turn); the peak must stay small."""
    running = 0
    peak = 0
    enough_running = asyncio.Event()
    release = asyncio.Event()

    async def work(value: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running >= started:
            enough_running.set()
        await release.wait()
        running -= 1
        return value

    assert dispatcher.DEFAULT_BATCH_CONCURRENCY == 100
    options = {} if batch_concurrency == 'default' else {'batch_concurrency': batch_concurrency}
    url = await rpc_server_factory(work, **options)
    reply = asyncio.ensure_future(post(session, url, encode([call('work', i, id=i) for i in range(members)])))
    await asyncio.wait_for(enough_running.wait(), 5)
    for _ in range(2 * members):
        await asyncio.sleep(0)
    assert started <= peak <= highest_peak
    release.set()
    status, replies = await asyncio.wait_for(reply, 10)
    assert status == 200
    assert canonical(replies) == canonical([result(i, id=i) for i in range(members)])
    assert peak <= highest_peak


# -- calls --------------------------------------------------------------------------------------------------


async def test_call_timeout_answers_32002_and_cancels_the_method(
    rpc_server_factory: Any, session: aiohttp.ClientSession
) -> None:
    cancelled = asyncio.Event()

    async def hang() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    url = await rpc_server_factory(hang, ping, call_timeout=0.05)
    assert await post(session, url, encode(call('hang'))) == (
        200,
        {'id': 1, 'jsonrpc': '2.0', 'error': {'code': -32002, 'message': 'Request timed out'}},
    )
    assert cancelled.is_set()
    status, replies = await post(session, url, encode([call('hang', id=1), call('ping', id=2)]))
    assert status == 200
    assert canonical(replies) == canonical([error(-32002, 'Request timed out', id=1), result('pong', id=2)])


async def test_a_client_cannot_drive_warnings_with_timed_out_calls(
    rpc_server_factory: Any, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A call that times out is the client's doing as much as ours: logged at INFO, never WARNING or above."""

    async def hang() -> None:
        await asyncio.Event().wait()

    url = await rpc_server_factory(hang, call_timeout=0.02)
    caplog.set_level(logging.INFO, logger='aiohttp_rpc')
    status, replies = await post(session, url, encode([call('hang', id=i) for i in range(20)]))
    assert status == 200
    assert len(replies) == 20
    timeouts = [record for record in caplog.records if 'timed out' in record.getMessage()]
    assert [record.levelname for record in timeouts] == ['INFO'] * 20
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_call_timeout_defaults_to_30_seconds() -> None:
    assert dispatcher.DEFAULT_CALL_TIMEOUT == 30.0
    assert inspect.signature(dispatcher.Dispatcher).parameters['call_timeout'].default == 30.0


# -- reply sizes ---------------------------------------------------------------------------------------------


async def test_max_response_size(rpc_server_factory: Any, session: aiohttp.ClientSession) -> None:
    url = await rpc_server_factory(big, max_response_size=100)
    fits = 100 - big_reply_size(0)
    assert await post(session, url, encode(call('big', fits))) == (200, result('x' * fits, id=1))
    assert await post(session, url, encode(call('big', fits + 1))) == (
        200,
        {'id': 1, 'jsonrpc': '2.0', 'error': RESPONSE_TOO_LARGE},
    )


async def test_default_max_response_size_is_ten_mebibytes(
    rpc_server_factory: Any, session: aiohttp.ClientSession
) -> None:
    assert encoder.DEFAULT_MAX_RESPONSE_SIZE == 10 * MIB
    url = await rpc_server_factory(big)
    fits = 10 * MIB - big_reply_size(0)
    status, reply = await post(session, url, encode(call('big', fits)))
    assert status == 200
    assert reply == result('x' * fits, id=1), 'the reply of exactly 10 MiB was not sent'
    assert await post(session, url, encode(call('big', fits + 1))) == (
        200,
        {'id': 1, 'jsonrpc': '2.0', 'error': RESPONSE_TOO_LARGE},
    )


def budget_batch() -> bytes:
    return encode([call('big', 150, id=i) for i in range(1, 5)])


# Each reply to big(150) takes 186 bytes; "[" + two of them + "," fit in 400 bytes, a third does not.
BUDGET_REPLIES = [
    result('x' * 150, id=1),
    result('x' * 150, id=2),
    {'id': 3, 'jsonrpc': '2.0', 'error': RESPONSE_TOO_LARGE},
    {'id': 4, 'jsonrpc': '2.0', 'error': RESPONSE_TOO_LARGE},
]


@pytest.mark.parametrize(
    'max_response_size',
    [
        pytest.param(200, id='per-reply-limit-below-the-budget'),
        pytest.param(10_000, id='per-reply-limit-above-the-budget'),
        pytest.param(None, id='per-reply-limit-disabled'),
    ],
)
async def test_max_batch_response_size(
    rpc_server_factory: Any, session: aiohttp.ClientSession, max_response_size: int | None
) -> None:
    """The batch budget holds whatever the per-reply limit is: disabling one limit must not disable another."""
    assert big_reply_size(150) == 186
    url = await rpc_server_factory(big, max_batch_response_size=400, max_response_size=max_response_size)
    status, replies = await post(session, url, budget_batch())
    assert status == 200
    assert canonical(replies) == canonical(BUDGET_REPLIES)


async def test_default_max_batch_response_size_is_25_megabytes(
    rpc_server_factory: Any, session: aiohttp.ClientSession
) -> None:
    assert encoder.DEFAULT_MAX_BATCH_RESPONSE_SIZE == 25_000_000
    url = await rpc_server_factory(big)
    size = 9_000_000  # each reply is under 10 MiB; three of them are over 25 MB
    status, replies = await post(session, url, encode([call('big', size, id=i) for i in range(3)]))
    assert status == 200
    replies.sort(key=lambda reply: reply['id'])
    assert [reply['id'] for reply in replies] == [0, 1, 2]
    assert [reply.get('error') for reply in replies] == [None, None, RESPONSE_TOO_LARGE]  # the member past 25 MB
    assert replies[0]['result'] == replies[1]['result'] == 'x' * size


METHOD_TOO_LONG = error(-32600, 'Invalid Request', id=1, data={'details': 'Method name too long.'})


@pytest.mark.parametrize(
    ('options', 'length', 'expected'),
    [
        pytest.param({'max_method_length': 16}, 16, error(-32601, 'Method not found', id=1), id='16-at'),
        pytest.param({'max_method_length': 16}, 17, METHOD_TOO_LONG, id='16-over'),
        pytest.param({}, 2048, error(-32601, 'Method not found', id=1), id='default-at'),
        pytest.param(
            {},
            2049,
            error(-32600, 'Invalid Request', id=1, data={'details': 'Method name too long.'}),
            id='default-over',
        ),
        pytest.param({'max_method_length': None}, 100_000, error(-32601, 'Method not found', id=1), id='none'),
    ],
)
async def test_max_method_length(
    rpc_server_factory: Any, session: aiohttp.ClientSession, options: dict[str, Any], length: int, expected: Any
) -> None:
    url = await rpc_server_factory(ping, **options)
    assert await post(session, url, encode({'jsonrpc': '2.0', 'method': 'm' * length, 'id': 1})) == (200, expected)


# -- WebSocket -----------------------------------------------------------------------------------------------


async def ws_call(ws: aiohttp.ClientWebSocketResponse, message: Any) -> Any:
    await ws.send_str(json.dumps(message))
    msg = await ws.receive(timeout=5)
    assert msg.type is WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def test_ws_max_msg_size_closes_with_1009_and_other_connections_go_on(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    assert ws_server.DEFAULT_WS_RESPONSE_KWARGS['max_msg_size'] == MIB
    _, url = await serve_ws(aiohttp_server, big, ws_response_kwargs={'max_msg_size': 256})
    async with session.ws_connect(url) as bystander:
        assert await ws_call(bystander, call('big', 1)) == result('x', id=1)
        async with session.ws_connect(url) as ws:
            await ws.send_str(json.dumps(call('big', 1, id='x' * 256)))
            msg = await ws.receive(timeout=5)
            assert (msg.type, msg.data) == (WSMsgType.CLOSE, aiohttp.WSCloseCode.MESSAGE_TOO_BIG)
        assert await ws_call(bystander, call('big', 2, id=2)) == result('xx', id=2)
    async with session.ws_connect(url) as newcomer:
        assert await ws_call(newcomer, call('big', 3, id=3)) == result('xxx', id=3)


async def test_ws_max_in_flight_stops_reading(aiohttp_server: AiohttpServer, session: aiohttp.ClientSession) -> None:
    running = 0
    peak = 0
    release = asyncio.Event()
    two_running = asyncio.Event()

    async def work(value: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 2:
            two_running.set()
        await release.wait()
        running -= 1
        return value

    def ping_() -> str:
        return 'pong'

    server, url = await serve_ws(aiohttp_server, work, aiohttp_rpc.JSONRPCMethod(ping_, name='ping'), max_in_flight=2)
    async with session.ws_connect(url) as ws:
        for i in range(10):
            await ws.send_str(json.dumps(call('work', i, id=i)))
        await ws.send_str(json.dumps(call('ping', id='ping')))
        await asyncio.wait_for(two_running.wait(), 5)
        (peer,) = server.peers
        assert peer.transport.in_flight == 2
        # The server reads nothing more while two requests run: not even the ping sent after them is answered.
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.2)
        release.set()
        replies = [json.loads((await ws.receive(timeout=5)).data) for _ in range(11)]
    assert canonical(replies) == canonical([result(i, id=i) for i in range(10)] + [result('pong', id='ping')])
    assert peak == 2


def test_ws_max_in_flight_defaults_to_1024() -> None:
    assert inspect.signature(aiohttp_rpc.WSJSONRPCServer).parameters['max_in_flight'].default == 1024


async def test_max_ws_connections_answers_429(aiohttp_server: AiohttpServer, session: aiohttp.ClientSession) -> None:
    server, url = await serve_ws(aiohttp_server, ping, max_ws_connections=2)
    first = await session.ws_connect(url)
    async with session.ws_connect(url) as second:
        assert await ws_call(second, call('ping')) == PONG
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(url)
        assert info.value.status == 429
        await first.close()
        await asyncio.wait_for(server.wait_peers(lambda peers: len(peers) < 2), 5)  # the server dropped it
        async with session.ws_connect(url) as third:
            assert await ws_call(third, call('ping')) == PONG


async def test_heartbeat_defaults_to_30_seconds_and_drops_a_silent_peer(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    assert aiohttp_rpc.WSJSONRPCServer().ws_response_kwargs['heartbeat'] == 30.0
    server, url = await serve_ws(aiohttp_server, ping, ws_response_kwargs={'heartbeat': 0.1})
    async with session.ws_connect(url, autoping=False) as ws:  # never answers the server's pings
        kinds = []
        for _ in range(50):  # bounded: a few pings, then the server gives up on us
            msg = await ws.receive(timeout=5)
            kinds.append(msg.type)
            if msg.type is not WSMsgType.PING:
                break
    assert WSMsgType.PING in kinds
    assert kinds[-1] in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR)
    await asyncio.wait_for(server.wait_peers(lambda peers: not peers), 5)


# -- sync methods --------------------------------------------------------------------------------------------


async def test_sync_method_holding_the_loop_is_logged(
    rpc_server_factory: Any, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    def crunch_numbers() -> str:
        time.sleep(0.15)  # a blocking call, on purpose
        return 'done'

    url = await rpc_server_factory(crunch_numbers, ping)
    with caplog.at_level(logging.DEBUG, logger='aiohttp_rpc'):
        assert await post(session, url, PING) == (200, PONG)
        assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
        assert await post(session, url, encode(call('crunch_numbers'))) == (200, result('done', id=1))
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [(record.name, record.levelno) for record in warnings] == [('aiohttp_rpc.methods', logging.WARNING)]
    assert 'crunch_numbers' in warnings[0].getMessage()


async def test_sync_executor_runs_sync_methods_in_a_worker_thread(
    rpc_server_factory: Any, session: aiohttp.ClientSession
) -> None:
    main_thread = threading.current_thread().name

    def where() -> str:
        return threading.current_thread().name

    async def where_async() -> str:
        return threading.current_thread().name

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix='rpc-worker') as executor:
        url = await rpc_server_factory(where, where_async, sync_executor=executor)
        status, reply = await post(session, url, encode(call('where')))
        assert status == 200
        assert reply['result'] != main_thread
        assert reply['result'].startswith('rpc-worker')
        assert await post(session, url, encode(call('where_async'))) == (200, result(main_thread, id=1))
    url = await rpc_server_factory(where)
    assert await post(session, url, encode(call('where'))) == (200, result(main_thread, id=1))


# -- clients -------------------------------------------------------------------------------------------------


async def serve_handler(aiohttp_server: AiohttpServer, handler: Any) -> str:
    app = web.Application()
    app.router.add_post('/rpc', handler)
    return str((await aiohttp_server(app)).make_url('/rpc'))


def big_reply(size: int) -> bytes:
    return encode(result('x' * size, id=1))


async def test_client_max_response_size_with_content_length(aiohttp_server: AiohttpServer) -> None:
    async def handler(request: web.Request) -> web.Response:
        message = await request.json()
        return web.Response(body=encode(result('x' * 2000, id=message['id'])), content_type='application/json')

    url = await serve_handler(aiohttp_server, handler)
    async with aiohttp_rpc.JSONRPCClient(url, max_response_size=1000) as rpc:
        with pytest.raises(errors.ReplyTooLargeError) as info:
            await rpc.call('anything')
        assert isinstance(info.value, errors.TransportError)
    async with aiohttp_rpc.JSONRPCClient(url, max_response_size=None) as rpc:
        assert await rpc.call('anything') == 'x' * 2000


async def test_client_max_response_size_without_content_length(aiohttp_server: AiohttpServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        message = await request.json()
        body = encode(result('x' * 2000, id=message['id']))
        response = web.StreamResponse(headers={'Content-Type': 'application/json'})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 100):
            await response.write(body[start : start + 100])
        await response.write_eof()
        return response

    url = await serve_handler(aiohttp_server, handler)
    async with aiohttp_rpc.JSONRPCClient(url, max_response_size=1000) as rpc:
        with pytest.raises(errors.ReplyTooLargeError):
            await rpc.call('anything')
    async with aiohttp_rpc.JSONRPCClient(url, max_response_size=5000) as rpc:
        assert await rpc.call('anything') == 'x' * 2000


async def test_client_default_max_response_size_is_ten_mebibytes(rpc_server_factory: Any) -> None:
    assert http_transport.DEFAULT_MAX_RESPONSE_SIZE == 10 * MIB
    url = await rpc_server_factory(big, max_response_size=None)
    async with aiohttp_rpc.JSONRPCClient(url) as rpc:
        assert rpc.transport.max_response_size == 10 * MIB
        with pytest.raises(errors.ReplyTooLargeError):
            await rpc.call('big', 10 * MIB)


async def test_client_timeout(rpc_server_factory: Any) -> None:
    assert http_transport.DEFAULT_TIMEOUT.total == 30
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.Event().wait()

    url = await rpc_server_factory(hang, ping)
    async with aiohttp_rpc.JSONRPCClient(url) as rpc:
        assert rpc.session is not None
        assert rpc.session.timeout.total == 30
    async with aiohttp_rpc.JSONRPCClient(url, timeout=aiohttp.ClientTimeout(total=0.05)) as rpc:
        with pytest.raises(errors.RequestTimeoutError) as info:
            await rpc.call('hang')
        assert isinstance(info.value, TimeoutError)
        assert started.is_set()


async def test_ws_client_max_msg_size_fails_pending_calls_at_once(aiohttp_server: AiohttpServer) -> None:
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.Event().wait()

    _, url = await serve_ws(aiohttp_server, big, hang)
    async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
        assert rpc.ws_connect_kwargs['max_msg_size'] == 10 * MIB
        assert await rpc.call('big', 2000) == 'x' * 2000
    async with aiohttp_rpc.WSJSONRPCClient(url, max_msg_size=1000, timeout=30) as rpc:
        waiting = asyncio.ensure_future(rpc.call('hang'))
        await asyncio.wait_for(started.wait(), 5)
        with pytest.raises(errors.TransportError):
            await asyncio.wait_for(rpc.call('big', 2000), 5)
        with pytest.raises(errors.TransportError):
            await asyncio.wait_for(waiting, 5)
