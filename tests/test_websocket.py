"""WebSocket transport, both directions, against real sockets on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import rawws
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

import aiohttp_rpc
from aiohttp_rpc import errors

pytestmark = pytest.mark.timeout(30)  # an overall deadline for every test here

ServerFactory = Callable[..., Awaitable[tuple[aiohttp_rpc.WSJSONRPCServer, str]]]


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {'args': args, 'kwargs': kwargs}


def subtract(minuend: int, subtrahend: int) -> int:
    return minuend - subtrahend


@pytest.fixture
async def ws_server(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> ServerFactory:
    """Start a WSJSONRPCServer on loopback; returns (server, ws_url)."""

    async def start(*methods: Any, **options: Any) -> tuple[aiohttp_rpc.WSJSONRPCServer, str]:
        options.setdefault('middlewares', aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
        server = aiohttp_rpc.WSJSONRPCServer(**options)
        server.add_methods([echo, subtract, *methods])
        app = web.Application()
        app.router.add_get('/rpc', server.handle_http_request)
        app.on_shutdown.append(server.on_shutdown)
        test_server = await aiohttp_server(app)
        return server, str(test_server.make_url('/rpc'))

    return start


async def raw_exchange(url: str, frames: list[str | bytes]) -> list[Any]:
    """Send raw frames on a plain aiohttp WebSocket and collect one decoded reply per frame."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        replies = []
        for frame in frames:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
            msg = await ws.receive(timeout=5)
            assert msg.type is WSMsgType.TEXT
            replies.append(json.loads(msg.data))
        return replies


async def test_readme_flow(ws_server: ServerFactory) -> None:
    async def ping(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
        return 'pong'

    _, url = await ws_server(aiohttp_rpc.JSONRPCMethod(ping, pass_extra_kwargs=True))
    async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
        assert await rpc.methods.ping() == 'pong'
        assert await rpc.methods.echo('request') == {'args': ['request'], 'kwargs': {}}
        assert await rpc.methods.echo.notify('notification') is None
        assert await rpc.notify('ping') is None
        assert await rpc.call('subtract', minuend=42, subtrahend=23) == 19
        assert await rpc.batch(
            rpc.methods.echo.request('test'),
            rpc.methods.echo.notification(a=1, b=2),
            rpc.methods.ping.request(),
        ) == ({'args': ['test'], 'kwargs': {}}, None, 'pong')
        assert await rpc.batch_notify(rpc.methods.ping.notification(), rpc.methods.echo.notification(1)) is None
        response = await rpc.direct_call(aiohttp_rpc.JSONRPCRequest(id='abc', method='ping'))
        assert response is not None
        assert (response.id, response.result, response.error) == ('abc', 'pong', None)
        batch = await rpc.direct_batch(
            aiohttp_rpc.JSONRPCBatchRequest(requests=(aiohttp_rpc.JSONRPCRequest(id=7, method='ping'),))
        )
        assert batch is not None
        assert [(r.id, r.result) for r in batch.responses] == [(7, 'pong')]
        with pytest.raises(errors.MethodNotFound):
            await rpc.methods.missing()
        with pytest.raises(errors.InvalidParams):
            await rpc.methods.subtract(1)


async def test_many_calls_in_flight_are_matched_by_id(ws_server: ServerFactory) -> None:
    async def slow_echo(value: int) -> int:
        await asyncio.sleep(0)
        return value

    _, url = await ws_server(slow_echo)
    async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
        results = await asyncio.gather(*(rpc.methods.slow_echo(i) for i in range(300)))
    assert results == list(range(300))


@pytest.mark.parametrize(
    ('frame', 'expected'),
    [
        (
            '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}',
            {'jsonrpc': '2.0', 'result': 19, 'id': 1},
        ),
        (
            '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": "x"}',
            {'jsonrpc': '2.0', 'result': 19, 'id': 'x'},
        ),
        (
            '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}',
            {'jsonrpc': '2.0', 'error': {'code': -32601, 'message': 'Method not found'}, 'id': '1'},
        ),
        (
            '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
            {
                'jsonrpc': '2.0',
                'error': {'code': -32700, 'message': 'Parse error', 'data': {'details': 'Invalid JSON.'}},
                'id': None,
            },
        ),
        (
            '[]',
            {'jsonrpc': '2.0', 'error': {'code': -32600, 'message': 'Invalid Request'}, 'id': None},
        ),
        (
            '[1]',
            [
                {
                    'jsonrpc': '2.0',
                    'error': {
                        'code': -32600,
                        'message': 'Invalid Request',
                        'data': {'details': 'Data must be a dict.'},
                    },
                    'id': None,
                }
            ],
        ),
        (
            b'\xff\xfe not json',
            {
                'jsonrpc': '2.0',
                'error': {'code': -32700, 'message': 'Parse error', 'data': {'details': 'Invalid JSON.'}},
                'id': None,
            },
        ),
        (
            b'{"jsonrpc": "2.0", "method": "subtract", "params": [5, 3], "id": 9}',
            {'jsonrpc': '2.0', 'result': 2, 'id': 9},
        ),
    ],
    ids=['positional', 'named', 'not-found', 'parse-error', 'empty-batch', 'bad-member', 'binary-garbage', 'binary'],
)
async def test_spec_examples_over_ws(ws_server: ServerFactory, frame: str | bytes, expected: Any) -> None:
    _, url = await ws_server()
    # A second, valid frame after the first shows the connection survived whatever came before.
    follow_up = '{"jsonrpc": "2.0", "method": "subtract", "params": [2, 1], "id": "after"}'
    replies = await raw_exchange(url, [frame, follow_up])
    assert replies == [expected, {'jsonrpc': '2.0', 'result': 1, 'id': 'after'}]


async def test_notifications_get_no_reply(ws_server: ServerFactory) -> None:
    seen = asyncio.Event()

    def mark() -> None:
        seen.set()

    _, url = await ws_server(mark)
    replies = await raw_exchange(
        url,
        [
            '[{"jsonrpc": "2.0", "method": "mark"}, {"jsonrpc": "2.0", "method": "echo", "params": [1]}]',
            '{"jsonrpc": "2.0", "method": "subtract", "params": [2, 1], "id": 1}',
        ][1:],
    )
    assert replies == [{'jsonrpc': '2.0', 'result': 1, 'id': 1}]
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str('{"jsonrpc": "2.0", "method": "mark"}')
        await ws.send_str('{"jsonrpc": "2.0", "method": "subtract", "params": [2, 1], "id": 2}')
        msg = await ws.receive(timeout=5)
        assert json.loads(msg.data) == {'jsonrpc': '2.0', 'result': 1, 'id': 2}
        await asyncio.wait_for(seen.wait(), 5)


async def test_plain_http_gets_405_and_bad_origin_403(ws_server: ServerFactory, aiohttp_client: Any) -> None:
    _, url = await ws_server(allowed_origins={'https://good.example'})
    async with aiohttp.ClientSession() as session:
        async with session.get(url.replace('ws://', 'http://')) as response:
            assert response.status == 405
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(url, origin='https://evil.example')
        assert info.value.status == 403
        async with session.ws_connect(url, origin='https://good.example') as ws:
            await ws.send_str('{"jsonrpc": "2.0", "method": "subtract", "params": [3, 1], "id": 1}')
            assert json.loads((await ws.receive(timeout=5)).data) == {'jsonrpc': '2.0', 'result': 2, 'id': 1}


async def test_timeout_raises_request_timeout_error(ws_server: ServerFactory) -> None:
    never = asyncio.Event()

    async def hang() -> None:
        await never.wait()

    _, url = await ws_server(hang)
    async with aiohttp_rpc.WSJSONRPCClient(url, timeout=0.05) as rpc:
        with pytest.raises(errors.RequestTimeoutError) as info:
            await rpc.methods.hang()
        assert isinstance(info.value, TimeoutError)
        assert await rpc.methods.subtract(3, 1) == 2  # the socket is still usable


async def test_many_calls_share_one_timeout_timer_and_each_gets_its_own_error(
    ws_server: ServerFactory,
) -> None:
    """Calls with the client's timeout queue their deadlines behind one timer; a call with a timeout of its
    own keeps its own timer. Every waiting call times out on time, answered calls never do."""
    never = asyncio.Event()

    async def hang(i: int) -> int:
        await never.wait()
        return i

    _, url = await ws_server(hang)
    async with aiohttp_rpc.WSJSONRPCClient(url, timeout=1.0) as rpc:  # ample for 200 calls under coverage
        loop = asyncio.get_running_loop()
        started = loop.time()
        hanging = [asyncio.ensure_future(rpc.methods.hang(i)) for i in range(50)]
        short = asyncio.ensure_future(rpc.call('hang', 99))  # the client's timeout as well
        answered = await asyncio.gather(*(rpc.methods.subtract(i, 1) for i in range(200)))
        assert answered == [i - 1 for i in range(200)]
        request = rpc.methods.hang.request(7)
        with pytest.raises(errors.RequestTimeoutError):
            await rpc.direct_call(request, timeout=0.05)  # its own, shorter timeout
        assert loop.time() - started < 1.0
        outcomes = await asyncio.gather(*hanging, short, return_exceptions=True)
        elapsed = loop.time() - started
        assert [type(outcome) for outcome in outcomes] == [errors.RequestTimeoutError] * 51
        assert 1.0 <= elapsed < 3
        assert await rpc.methods.subtract(3, 1) == 2  # the socket is still usable


async def test_answered_calls_do_not_pile_up_behind_one_that_waits(ws_server: ServerFactory) -> None:
    """A call that waits long keeps its deadline at the head of the queue; thousands of calls answered
    meanwhile are dropped from the queue as it grows, so it stays about as long as the calls waiting."""
    never = asyncio.Event()

    async def hang() -> None:
        await never.wait()

    _, url = await ws_server(hang)
    async with aiohttp_rpc.WSJSONRPCClient(url, timeout=30) as rpc:
        waiting = asyncio.ensure_future(rpc.methods.hang())
        for start in range(0, 10_000, 100):
            assert await asyncio.gather(*(rpc.methods.subtract(i, 0) for i in range(start, start + 100))) == list(
                range(start, start + 100)
            )
        connection = rpc.transport.connection
        assert connection is not None
        assert connection.pending == 1
        assert len(connection._pending._deadlines) <= 2 * 1024
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting


async def test_pending_calls_fail_when_socket_drops(ws_server: ServerFactory) -> None:
    started = asyncio.Event()

    async def drop(rpc_request: aiohttp_rpc.JSONRPCRequest) -> None:
        started.set()
        await aiohttp_rpc.get_peer(rpc_request).disconnect()

    async def hang() -> None:
        await asyncio.Event().wait()

    _, url = await ws_server(aiohttp_rpc.JSONRPCMethod(drop, pass_extra_kwargs=True), hang)
    async with aiohttp_rpc.WSJSONRPCClient(url, timeout=30) as rpc:
        waiting = asyncio.ensure_future(rpc.methods.hang())
        with pytest.raises(errors.TransportError):
            await rpc.methods.drop()
        with pytest.raises(errors.TransportError):
            await waiting
        with pytest.raises(errors.TransportError):
            await rpc.methods.subtract(1, 1)


async def test_outer_session_and_ws_are_not_closed(ws_server: ServerFactory) -> None:
    _, url = await ws_server()
    async with aiohttp.ClientSession() as session:
        async with aiohttp_rpc.WSJSONRPCClient(url, session=session) as rpc:
            assert await rpc.methods.subtract(5, 2) == 3
        assert not session.closed
        async with session.ws_connect(url) as ws:
            async with aiohttp_rpc.WSJSONRPCClient(ws_connect=ws) as rpc:
                assert await rpc.methods.subtract(5, 1) == 4
            assert not ws.closed


async def test_closed_client_refuses_calls(ws_server: ServerFactory) -> None:
    _, url = await ws_server()
    rpc = aiohttp_rpc.WSJSONRPCClient(url)
    async with rpc:
        pass
    await rpc.disconnect()  # idempotent
    with pytest.raises(RuntimeError):
        await rpc.methods.subtract(1, 1)


async def test_server_calls_client_back(ws_server: ServerFactory) -> None:
    progress: list[int] = []

    async def long_job(rpc_request: aiohttp_rpc.JSONRPCRequest, size: int) -> str:
        peer = aiohttp_rpc.get_peer(rpc_request)
        for step in range(size):
            await peer.notify('report', step)
        answer = await peer.methods.confirm(f'{size} steps done?')
        return f'confirmed: {answer}'

    def report(step: int) -> None:
        progress.append(step)

    async def confirm(question: str) -> str:
        return question.upper()

    _, url = await ws_server(aiohttp_rpc.JSONRPCMethod(long_job, pass_extra_kwargs=True))
    async with aiohttp_rpc.WSJSONRPCClient(url, methods=[report]) as rpc:
        rpc.add_method(confirm)
        assert await rpc.methods.long_job(size=3) == 'confirmed: 3 STEPS DONE?'
    assert progress == [0, 1, 2]


async def test_calls_both_ways_at_once(ws_server: ServerFactory) -> None:
    async def fan_out(n: int, rpc_request: aiohttp_rpc.JSONRPCRequest) -> list[int]:
        peer = aiohttp_rpc.get_peer(rpc_request)
        return list(await asyncio.gather(*(peer.methods.double(i) for i in range(n))))

    def double(x: int) -> int:
        return 2 * x

    _, url = await ws_server(aiohttp_rpc.JSONRPCMethod(fan_out, pass_extra_kwargs=True))
    async with aiohttp_rpc.WSJSONRPCClient(url, methods=[double]) as rpc:
        outbound = [rpc.methods.subtract(i, 1) for i in range(50)]
        inbound = [rpc.methods.fan_out(20) for _ in range(5)]
        results = await asyncio.gather(*outbound, *inbound)
    assert results[:50] == [i - 1 for i in range(50)]
    assert results[50:] == [[2 * i for i in range(20)]] * 5


async def test_client_without_methods_answers_method_not_found(ws_server: ServerFactory) -> None:
    async def ask(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
        try:
            await aiohttp_rpc.get_peer(rpc_request).methods.anything()
        except errors.MethodNotFound as exc:
            return repr(exc)
        return 'unexpected'

    _, url = await ws_server(aiohttp_rpc.JSONRPCMethod(ask, pass_extra_kwargs=True))
    async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
        assert await rpc.methods.ask() == "MethodNotFound(-32601, 'Method not found')"


async def test_get_peer_outside_websocket_raises() -> None:
    with pytest.raises(LookupError):
        aiohttp_rpc.get_peer(aiohttp_rpc.JSONRPCRequest(method='x', id=1))


async def test_broadcast_reaches_every_peer_and_honours_filter(ws_server: ServerFactory) -> None:
    server, url = await ws_server()
    received: dict[str, asyncio.Queue[str]] = {'a': asyncio.Queue(), 'b': asyncio.Queue()}

    def make_news(name: str) -> aiohttp_rpc.JSONRPCMethod:
        async def news(text: str) -> None:
            await received[name].put(text)

        return aiohttp_rpc.JSONRPCMethod(news, name='news')

    async with (
        aiohttp_rpc.WSJSONRPCClient(url, methods=[make_news('a')]) as a,
        aiohttp_rpc.WSJSONRPCClient(url, methods=[make_news('b')]) as b,
    ):
        await a.methods.subtract(1, 1)
        await b.methods.subtract(1, 1)
        assert len(server.peers) == 2
        assert len(server.rpc_websockets) == 2
        assert await server.broadcast('news', 'hello all') == 2
        assert await asyncio.wait_for(received['a'].get(), 5) == 'hello all'
        assert await asyncio.wait_for(received['b'].get(), 5) == 'hello all'
        first = next(iter(server.peers))
        assert await server.broadcast('news', text='only one', where=lambda peer: peer is first) == 1
        got = await asyncio.wait_for(
            asyncio.wait(
                [asyncio.ensure_future(q.get()) for q in received.values()], return_when=asyncio.FIRST_COMPLETED
            ),
            5,
        )
        done, pending = got
        assert [task.result() for task in done] == ['only one']
        for task in pending:
            task.cancel()
    assert await server.broadcast('news', 'nobody') == 0


async def test_oversized_frame_closes_with_1009_and_server_keeps_serving(ws_server: ServerFactory) -> None:
    _, url = await ws_server(ws_response_kwargs={'max_msg_size': 1024})
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            await ws.send_str('{"jsonrpc": "2.0", "method": "echo", "params": ["' + 'x' * 4096 + '"], "id": 1}')
            msg = await ws.receive(timeout=5)
            assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
            assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
            assert await rpc.methods.subtract(10, 4) == 6


async def test_backpressure_bounds_requests_in_flight(ws_server: ServerFactory) -> None:
    running = 0
    peak = 0
    release = asyncio.Event()
    two_running = asyncio.Event()

    async def work(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 2:
            two_running.set()
        await release.wait()
        running -= 1
        return i

    server, url = await ws_server(work, max_in_flight=2)
    async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
        calls = asyncio.gather(*(rpc.methods.work(i) for i in range(20)))
        await asyncio.wait_for(two_running.wait(), 5)
        peer = next(iter(server.peers))
        assert peer.transport.in_flight == 2
        release.set()
        assert await asyncio.wait_for(calls, 10) == list(range(20))
    assert peak == 2


async def test_client_disconnect_cancels_server_work_without_leaking_tasks(ws_server: ServerFactory) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hang() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server, url = await ws_server(hang)
    tasks_before = len(asyncio.all_tasks())
    rpc = aiohttp_rpc.WSJSONRPCClient(url, timeout=30)
    await rpc.connect()
    call = asyncio.ensure_future(rpc.methods.hang())
    await asyncio.wait_for(started.wait(), 5)
    await rpc.disconnect()
    with pytest.raises(errors.TransportError):
        await call
    await asyncio.wait_for(cancelled.wait(), 5)
    await asyncio.wait_for(server.wait_peers(lambda peers: not peers), 5)  # the handler has ended
    assert len(asyncio.all_tasks()) <= tasks_before


async def test_on_shutdown_closes_with_going_away_and_cancels_work(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hang() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server = aiohttp_rpc.WSJSONRPCServer()
    server.add_method(hang)
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    test_server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session, session.ws_connect(test_server.make_url('/rpc')) as ws:
        await ws.send_str('{"jsonrpc": "2.0", "method": "hang", "id": 1}')
        await asyncio.wait_for(started.wait(), 5)
        closing = asyncio.ensure_future(ws.receive(timeout=5))
        await server.on_shutdown(app)
        msg = await closing
        assert msg.type is WSMsgType.CLOSE
        assert msg.data == aiohttp.WSCloseCode.GOING_AWAY
        assert cancelled.is_set()


async def test_reconnect_waits_for_new_socket(ws_server: ServerFactory) -> None:
    async def kick(rpc_request: aiohttp_rpc.JSONRPCRequest) -> None:
        asyncio.get_running_loop().call_soon(asyncio.ensure_future, aiohttp_rpc.get_peer(rpc_request).disconnect())

    _, url = await ws_server(aiohttp_rpc.JSONRPCMethod(kick, pass_extra_kwargs=True))
    policy = aiohttp_rpc.ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
    async with aiohttp_rpc.WSJSONRPCClient(url, reconnect=policy, timeout=5) as rpc:
        first_ws = rpc.ws_connect
        first = rpc.transport.connection
        assert first is not None
        await rpc.methods.kick()
        await asyncio.wait_for(first.wait_closed(), 5)  # the drop has been seen
        assert await rpc.methods.subtract(9, 2) == 7  # waits for the new socket
        assert rpc.ws_connect is not first_ws


async def test_no_reconnect_fails_fast(ws_server: ServerFactory) -> None:
    _, url = await ws_server()
    async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
        assert rpc.ws_connect is not None
        await rpc.ws_connect.close()
        assert rpc.transport.connection is not None
        await asyncio.wait_for(rpc.transport.connection.wait_closed(), 5)
        with pytest.raises(errors.TransportError):
            await rpc.methods.subtract(1, 1)


def test_reconnect_policy_backoff() -> None:
    policy = aiohttp_rpc.ReconnectPolicy(initial_delay=0.5, factor=2, max_delay=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


async def test_connect_failure_is_transport_error() -> None:
    with socket_free_port() as port:
        pass
    rpc = aiohttp_rpc.WSJSONRPCClient(f'ws://127.0.0.1:{port}/rpc')
    with pytest.raises(errors.TransportError):
        await rpc.connect()
    await rpc.disconnect()


async def test_2_0_hooks(ws_server: ServerFactory) -> None:
    seen_requests: asyncio.Queue[Any] = asyncio.Queue()
    seen_responses: asyncio.Queue[Any] = asyncio.Queue()

    async def requests_handler(*, ws_connect: Any, ws_msg: Any, json_requests: Any) -> None:
        await seen_requests.put(list(json_requests))

    async def responses_handler(*, ws_connect: Any, ws_msg: Any, json_response: Any) -> None:
        await seen_responses.put(json_response)

    async def push(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
        await aiohttp_rpc.get_peer(rpc_request).notify('hello', 1)
        return 'pushed'

    _, url = await ws_server(
        aiohttp_rpc.JSONRPCMethod(push, pass_extra_kwargs=True), json_response_handler=responses_handler
    )
    async with aiohttp_rpc.WSJSONRPCClient(url, json_requests_handler=requests_handler) as rpc:
        assert await rpc.methods.push() == 'pushed'
        assert await asyncio.wait_for(seen_requests.get(), 5) == [{'method': 'hello', 'jsonrpc': '2.0', 'params': [1]}]
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str('{"jsonrpc": "2.0", "result": 5, "id": 99}')
        assert await asyncio.wait_for(seen_responses.get(), 5) == {'jsonrpc': '2.0', 'result': 5, 'id': 99}


class socket_free_port:
    """Reserve then release a loopback port nobody listens on."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(('127.0.0.1', 0))
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


async def test_heartbeat_detects_a_dead_server(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> None:
    """A server that stops answering pings is dropped by the client's heartbeat; pending calls fail."""
    got_request = asyncio.Event()

    async def mute_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)  # never answers pings, never replies
        await ws.prepare(request)
        async for _msg in ws:
            got_request.set()
        return ws

    app = web.Application()
    app.router.add_get('/rpc', mute_handler)
    test_server = await aiohttp_server(app)
    async with aiohttp_rpc.WSJSONRPCClient(
        str(test_server.make_url('/rpc')), connection_check_interval=0.1, timeout=30
    ) as rpc:
        with pytest.raises(errors.TransportError) as info:
            await rpc.methods.anything()
        assert not isinstance(info.value, errors.RequestTimeoutError)
        assert got_request.is_set()


async def test_flood_from_a_peer_that_reads_nothing_is_bounded(ws_server: ServerFactory) -> None:
    """10,000 requests from a client that reads nothing, then reads everything: every request is answered,
    the server never runs more than max_in_flight at once."""
    peak = 0
    server, url = await ws_server(max_in_flight=64)

    total = 10_000
    payload = 'x' * 200
    tracemalloc.start()
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        for i in range(total):
            await ws.send_str(json.dumps({'jsonrpc': '2.0', 'method': 'echo', 'params': [payload], 'id': i}))
            if i % 500 == 0 and server.peers:
                peak = max(peak, next(iter(server.peers)).transport.in_flight)
        seen = set()
        while len(seen) < total:
            msg = await ws.receive(timeout=10)
            assert msg.type is WSMsgType.TEXT
            reply = json.loads(msg.data)
            assert reply['result'] == {'args': ['x' * 200], 'kwargs': {}}
            seen.add(reply['id'])
        _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seen == set(range(total))
    assert peak <= 64
    # Client and server share this process: 10,000 replies of ~260 bytes each are 2.6 MB if all were held
    # at once; backpressure keeps the peak well under that order of magnitude times a safety factor.
    assert peak_bytes < 16 * 1024 * 1024, peak_bytes


@pytest.mark.parametrize('invalid', [False, True], ids=['requests', 'every-other-frame-invalid-json'])
async def test_a_peer_that_does_not_read_is_held_to_the_byte_budget(
    aiohttp_server: Callable[..., Awaitable[TestServer]], invalid: bool
) -> None:
    """A peer sends 2 MB of requests and reads nothing: the server answers until its write buffer holds
    ``max_buffered_bytes``, then stops reading (TCP holds the peer's sends back); once the peer reads, every
    request is answered once, in order. Sampled at every call, the server's write buffer never holds more than
    the budget plus one reply. Small socket buffers on both ends make the backlog certain on any machine."""
    budget = 128 * 1024
    payload = 'x' * 1000
    reply_size = len(json.dumps({'jsonrpc': '2.0', 'id': 9999, 'result': [payload]}))
    samples: list[int] = []
    backed_up = asyncio.Event()

    def sampled_echo(*args: Any, rpc_request: aiohttp_rpc.JSONRPCRequest) -> list[Any]:
        samples.append(aiohttp_rpc.get_peer(rpc_request).transport.buffered())  # type: ignore[attr-defined]
        if samples[-1] >= budget - 2 * reply_size:
            backed_up.set()
        return list(args)

    server = aiohttp_rpc.WSJSONRPCServer(
        middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, max_buffered_bytes=budget
    )
    server.add_method(aiohttp_rpc.JSONRPCMethod(sampled_echo, name='echo', pass_extra_kwargs=True))

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
        return await server.handle_http_request(request)

    app = web.Application()
    app.router.add_get('/rpc', handler)
    test_server = await aiohttp_server(app)
    total = 2_000
    async with await rawws.connect(test_server.port, '/rpc', rcvbuf=16 * 1024) as peer:

        async def flood() -> None:
            for i in range(total):
                frame = json.dumps({'jsonrpc': '2.0', 'method': 'echo', 'params': [payload], 'id': i})
                peer.send_text(frame[:-1] if invalid and i % 2 else frame)
                await peer.drain()

        sender = asyncio.create_task(flood())
        await asyncio.wait_for(backed_up.wait(), 10)
        calls_when_backed_up = len(samples)
        replies = [await peer.receive_json() for _ in range(total)]
        await asyncio.wait_for(sender, 10)
    parse_error = {'code': -32700, 'message': 'Parse error', 'data': {'details': 'Invalid JSON.'}}
    assert replies == [
        {'jsonrpc': '2.0', 'id': None, 'error': parse_error}
        if invalid and i % 2
        else {'jsonrpc': '2.0', 'id': i, 'result': [payload]}
        for i in range(total)
    ]
    assert calls_when_backed_up < len(samples)
    assert max(samples) <= budget + reply_size, (max(samples), budget)


async def test_each_message_gets_its_own_copy_of_the_connection_context(ws_server: ServerFactory) -> None:
    """What one request writes into ``rpc_request.context`` is seen by the other members of its batch, never
    by later messages on the same socket; the connection's own entries are there every time."""

    def note(value: int, *, rpc_request: aiohttp_rpc.JSONRPCRequest) -> dict[str, Any]:
        seen = rpc_request.context.get('note')
        rpc_request.context['note'] = value
        return {'seen': seen, 'has_request': isinstance(rpc_request.context['http_request'], web.BaseRequest)}

    _, url = await ws_server(aiohttp_rpc.JSONRPCMethod(note, pass_extra_kwargs=True))
    frames = [
        '{"jsonrpc": "2.0", "method": "note", "params": [1], "id": 1}',
        '{"jsonrpc": "2.0", "method": "note", "params": [2], "id": 2}',
        '[{"jsonrpc": "2.0", "method": "note", "params": [3], "id": 3},'
        ' {"jsonrpc": "2.0", "method": "note", "params": [4], "id": 4}]',
        '{"jsonrpc": "2.0", "method": "note", "params": [5], "id": 5}',
    ]
    replies = await raw_exchange(url, frames)
    first = {'seen': None, 'has_request': True}
    assert replies == [
        {'jsonrpc': '2.0', 'id': 1, 'result': first},
        {'jsonrpc': '2.0', 'id': 2, 'result': first},
        [
            {'jsonrpc': '2.0', 'id': 3, 'result': first},
            {'jsonrpc': '2.0', 'id': 4, 'result': {'seen': 3, 'has_request': True}},
        ],
        {'jsonrpc': '2.0', 'id': 5, 'result': first},
    ]
