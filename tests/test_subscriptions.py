"""Subscriptions over a WebSocket: the wire format (jsonrpsee / go-ethereum), the limits, the slow-consumer
policies, the generator's lifecycle, and our client's side, in both directions. Real sockets on loopback: an
aiohttp WebSocket (or a raw one that stops reading) where the test plays the subscriber, our client elsewhere."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import rawws
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.ws.connection import WSConnection

pytestmark = pytest.mark.timeout(30)

SUBSCRIPTION_ID = re.compile(r'0x[0-9a-f]{32}')


class InsufficientFunds(errors.JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


@dataclass
class Probe:
    """What happened to the generators a test served."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    yielded: int = 0
    closed_at: float = 0.0
    never_released: asyncio.Event = field(default_factory=asyncio.Event)

    def opened(self) -> None:
        self.started.set()

    def ended(self) -> None:
        self.closed_at = asyncio.get_running_loop().time()
        self.closed.set()


def subscriptions(probe: Probe) -> list[aiohttp_rpc.BaseJSONRPCMethod | Callable[..., Any]]:
    async def count(n: int) -> AsyncIterator[int]:
        """Yield 0 .. n-1, then end."""
        probe.opened()
        try:
            for index in range(n):
                yield index
                probe.yielded += 1
            probe.finished.set()
        finally:
            probe.ended()

    async def forever() -> AsyncIterator[int]:
        probe.opened()
        index = 0
        try:
            while True:
                yield index
                probe.yielded += 1
                index += 1
                await asyncio.sleep(0)
        finally:
            probe.ended()

    async def idle() -> AsyncIterator[int]:
        try:
            await probe.never_released.wait()
            yield 0
        finally:
            probe.ended()

    async def hold() -> AsyncIterator[str]:
        yield 'first'
        await probe.never_released.wait()

    async def overdrawn(n: int) -> AsyncIterator[int]:
        for index in range(n):
            yield index
        raise InsufficientFunds(data={'balance': 3})

    async def buggy() -> AsyncIterator[int]:
        yield 1
        raise ValueError('secret internals')

    async def eth_subscribe(kind: str) -> AsyncIterator[dict[str, Any]]:
        for number in range(3):
            yield {'kind': kind, 'number': hex(number)}
        await probe.never_released.wait()

    async def ping() -> str:
        return 'pong'

    return [
        count,
        forever,
        idle,
        hold,
        overdrawn,
        buggy,
        ping,
        aiohttp_rpc.JSONRPCSubscription(eth_subscribe, notification='eth_subscription', unsubscribe='eth_unsubscribe'),
    ]


@dataclass
class Served:
    url: str
    port: int
    probe: Probe
    server: aiohttp_rpc.WSJSONRPCServer

    def connection(self) -> WSConnection:
        (peer,) = self.server.peers
        return peer.transport

    def open_subscriptions(self) -> int:
        return sum(peer.transport.subscriptions for peer in self.server.peers)


@pytest.fixture
async def served(aiohttp_server: Any) -> Served:
    probe = Probe()
    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_methods(subscriptions(probe))
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    test_server = await aiohttp_server(app)
    return Served(str(test_server.make_url('/rpc')), test_server.port, probe, server)


@pytest.fixture
async def peer(served: Served) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(served.url) as ws:
        yield ws


def call(request_id: int | str, method: str, params: Any = None) -> dict[str, Any]:
    return {'jsonrpc': '2.0', 'id': request_id, 'method': method, 'params': [] if params is None else params}


def item(method: str, subscription_id: str, value: Any) -> dict[str, Any]:
    return {'jsonrpc': '2.0', 'method': method, 'params': {'subscription': subscription_id, 'result': value}}


def done(method: str, subscription_id: str) -> dict[str, Any]:
    return {'jsonrpc': '2.0', 'method': method, 'params': {'subscription': subscription_id, 'done': True}}


async def subscribe(ws: aiohttp.ClientWebSocketResponse, request_id: int, method: str, params: Any = None) -> str:
    await ws.send_json(call(request_id, method, params))
    reply = await ws.receive_json(timeout=5)
    assert reply == {'jsonrpc': '2.0', 'id': request_id, 'result': reply['result']}
    assert SUBSCRIPTION_ID.fullmatch(reply['result'])
    return str(reply['result'])


async def receive_until_reply(ws: aiohttp.ClientWebSocketResponse, request_id: int) -> tuple[list[Any], Any]:
    """The frames before the reply to ``request_id``, and that reply."""
    before = []
    while True:
        message = await ws.receive_json(timeout=5)
        if message.get('id') == request_id and 'method' not in message:
            return before, message
        before.append(message)


async def collect(subscription: aiohttp_rpc.Subscription, into: list[Any]) -> None:
    async for value in subscription:
        into.append(value)


# -- the wire -------------------------------------------------------------------------------------------------------


async def test_ten_thousand_items_come_in_order_after_the_reply_then_the_end(
    served: Served, peer: aiohttp.ClientWebSocketResponse
) -> None:
    """The reply carrying the id is the first frame; every item follows, in order, then the end of the stream."""
    subscription_id = await subscribe(peer, 1, 'count', [10_000])
    received = [await peer.receive_json(timeout=5) for _ in range(10_001)]
    assert received == [item('count', subscription_id, index) for index in range(10_000)] + [
        done('count', subscription_id)
    ]
    await asyncio.wait_for(served.probe.closed.wait(), 5)
    assert served.connection().subscriptions == 0


async def test_a_batch_reply_comes_before_the_items_of_the_subscriptions_it_opened(
    peer: aiohttp.ClientWebSocketResponse,
) -> None:
    await peer.send_json([call(1, 'count', [2]), call(2, 'ping')])
    reply = await peer.receive_json(timeout=5)
    subscription_id = next(member['result'] for member in reply if member['id'] == 1)
    assert sorted(reply, key=lambda member: member['id']) == [
        {'jsonrpc': '2.0', 'id': 1, 'result': subscription_id},
        {'jsonrpc': '2.0', 'id': 2, 'result': 'pong'},
    ]
    assert [await peer.receive_json(timeout=5) for _ in range(3)] == [
        item('count', subscription_id, 0),
        item('count', subscription_id, 1),
        done('count', subscription_id),
    ]


async def test_unsubscribe_answers_true_runs_the_finally_at_once_and_then_false(
    served: Served, peer: aiohttp.ClientWebSocketResponse
) -> None:
    subscription_id = await subscribe(peer, 1, 'forever')
    assert await peer.receive_json(timeout=5) == item('forever', subscription_id, 0)
    sent_at = asyncio.get_running_loop().time()
    await peer.send_json(call(2, 'forever.unsubscribe', [subscription_id]))
    items, reply = await receive_until_reply(peer, 2)
    assert reply == {'jsonrpc': '2.0', 'id': 2, 'result': True}
    assert served.probe.closed.is_set()  # the generator's finally ran before the reply was sent
    assert served.probe.closed_at - sent_at < 0.1
    assert items == [item('forever', subscription_id, index) for index in range(1, len(items) + 1)]
    # Nothing of it comes after the reply; unsubscribing again (by name this time) answers false.
    await peer.send_json(call(3, 'forever.unsubscribe', {'subscription': subscription_id}))
    assert await peer.receive_json(timeout=5) == {'jsonrpc': '2.0', 'id': 3, 'result': False}


async def test_a_connection_cannot_end_another_ones_subscription(
    served: Served, peer: aiohttp.ClientWebSocketResponse
) -> None:
    subscription_id = await subscribe(peer, 1, 'idle')
    async with aiohttp.ClientSession() as session, session.ws_connect(served.url) as other:
        await other.send_json(call(1, 'idle.unsubscribe', [subscription_id]))
        assert await other.receive_json(timeout=5) == {'jsonrpc': '2.0', 'id': 1, 'result': False}
    await peer.send_json(call(2, 'idle.unsubscribe', [subscription_id]))
    assert await peer.receive_json(timeout=5) == {'jsonrpc': '2.0', 'id': 2, 'result': True}


async def test_unsubscribe_with_bad_params_is_invalid_params(peer: aiohttp.ClientWebSocketResponse) -> None:
    await peer.send_json(call(1, 'forever.unsubscribe', [1, 2]))
    await peer.send_json(call(2, 'forever.unsubscribe', [7]))
    replies = [await peer.receive_json(timeout=5) for _ in range(2)]
    assert replies == [
        {
            'jsonrpc': '2.0',
            'id': 1,
            'error': {
                'code': -32602,
                'message': 'Invalid params',
                'data': {
                    'errors': [
                        {'path': ['subscription'], 'message': 'Give one param: the subscription id', 'type': 'missing'}
                    ]
                },
            },
        },
        {
            'jsonrpc': '2.0',
            'id': 2,
            'error': {
                'code': -32602,
                'message': 'Invalid params',
                'data': {
                    'errors': [
                        {'path': ['subscription'], 'message': 'Input should be a valid string', 'type': 'string_type'}
                    ]
                },
            },
        },
    ]


async def test_closing_the_socket_runs_the_generators_finally_within_100_ms(
    served: Served, peer: aiohttp.ClientWebSocketResponse
) -> None:
    subscription_id = await subscribe(peer, 1, 'forever')
    assert await peer.receive_json(timeout=5) == item('forever', subscription_id, 0)
    closed_at = asyncio.get_running_loop().time()
    await peer.close()
    await asyncio.wait_for(served.probe.closed.wait(), 5)
    assert served.probe.closed_at - closed_at < 0.1
    await asyncio.wait_for(served.server.wait_peers(lambda peers: not peers), 5)


async def test_server_shutdown_ends_every_subscription() -> None:
    probe = Probe()
    server = aiohttp_rpc.WSJSONRPCServer()
    server.add_methods(subscriptions(probe))
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f'http://127.0.0.1:{port}/rpc') as ws:
            await subscribe(ws, 1, 'idle')
            await runner.cleanup()
            assert probe.closed.is_set()
            assert (await ws.receive(timeout=5)).type is aiohttp.WSMsgType.CLOSE
    finally:
        await runner.cleanup()


async def test_a_subscribe_notification_starts_nothing(served: Served, peer: aiohttp.ClientWebSocketResponse) -> None:
    await peer.send_json({'jsonrpc': '2.0', 'method': 'count', 'params': [3]})
    await peer.send_json(call(1, 'ping'))
    assert await peer.receive_json(timeout=5) == {'jsonrpc': '2.0', 'id': 1, 'result': 'pong'}
    assert not served.probe.started.is_set()
    assert served.connection().subscriptions == 0


# -- how a stream ends with an error ---------------------------------------------------------------------------------


async def test_an_error_raised_by_the_generator_ends_the_stream_with_that_error(
    peer: aiohttp.ClientWebSocketResponse,
) -> None:
    subscription_id = await subscribe(peer, 1, 'overdrawn', [1])
    assert [await peer.receive_json(timeout=5) for _ in range(2)] == [
        item('overdrawn', subscription_id, 0),
        {
            'jsonrpc': '2.0',
            'method': 'overdrawn',
            'params': {
                'subscription': subscription_id,
                'error': {'code': 4001, 'message': 'Insufficient funds', 'data': {'balance': 3}},
            },
        },
    ]


async def test_a_bug_in_the_generator_ends_the_stream_with_internal_error_and_leaks_nothing(
    peer: aiohttp.ClientWebSocketResponse, caplog: pytest.LogCaptureFixture
) -> None:
    subscription_id = await subscribe(peer, 1, 'buggy')
    frames = [await peer.receive(timeout=5) for _ in range(2)]
    assert [frame.json() for frame in frames] == [
        item('buggy', subscription_id, 1),
        {
            'jsonrpc': '2.0',
            'method': 'buggy',
            'params': {'subscription': subscription_id, 'error': {'code': -32603, 'message': 'Internal error'}},
        },
    ]
    assert 'secret' not in frames[1].data
    (record,) = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Subscription 'buggy' raised; ended with Internal error"


# -- limits ---------------------------------------------------------------------------------------------------------


async def test_the_1025th_subscription_of_a_connection_is_refused_with_32006(
    served: Served, peer: aiohttp.ClientWebSocketResponse
) -> None:
    for request_id in range(1, 1026):
        await peer.send_json(call(request_id, 'idle'))
    replies = [await peer.receive_json(timeout=10) for _ in range(1025)]
    refused = [reply for reply in replies if 'error' in reply]
    assert refused == [
        {
            'jsonrpc': '2.0',
            'id': refused[0]['id'],
            'error': {
                'code': -32006,
                'message': 'Too many subscriptions',
                'data': {'details': 'At most 1024 subscriptions per connection.'},
            },
        }
    ]
    assert len({reply['result'] for reply in replies if 'result' in reply}) == 1024
    assert served.connection().subscriptions == 1024
    # One ended makes room for one more.
    some_id = next(reply['result'] for reply in replies if 'result' in reply)
    await peer.send_json(call(2000, 'idle.unsubscribe', [some_id]))
    assert await peer.receive_json(timeout=5) == {'jsonrpc': '2.0', 'id': 2000, 'result': True}
    await subscribe(peer, 2001, 'idle')


async def test_over_http_a_subscription_answers_that_it_needs_the_websocket(aiohttp_client: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_methods(subscriptions(Probe()))
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    client = await aiohttp_client(app)
    response = await client.post('/rpc', json=[call(1, 'count', [3]), call(2, 'count.unsubscribe', ['0x1'])])
    assert await response.json() == [
        {
            'jsonrpc': '2.0',
            'id': 1,
            'error': {
                'code': -32004,
                'message': 'Subscriptions need a WebSocket',
                'data': {'details': "count is a subscription: call it over the server's WebSocket endpoint."},
            },
        },
        {
            'jsonrpc': '2.0',
            'id': 2,
            'error': {
                'code': -32004,
                'message': 'Subscriptions need a WebSocket',
                'data': {
                    'details': 'count.unsubscribe ends a subscription: call it over the WebSocket it was made on.'
                },
            },
        },
    ]


async def test_an_http_client_cannot_subscribe_and_says_what_to_use(served: Served) -> None:
    async with aiohttp_rpc.JSONRPCClient('http://127.0.0.1:1/rpc') as rpc:
        with pytest.raises(errors.SubscriptionsUnavailable) as caught:
            await rpc.subscribe('count', 3)
    assert str(caught.value) == (
        'Subscriptions need a WebSocket: HTTPTransport cannot carry subscriptions: '
        'subscribe with a WebSocket client (WSJSONRPCClient).'
    )


# -- slow consumers -------------------------------------------------------------------------------------------------

BUDGET = 64 * 1024
ITEM = 'x' * (16 * 1024)


async def serve_slow(aiohttp_server: Any, probe: Probe, **options: Any) -> Served:
    """A server whose ``flood`` subscription yields 200 items of 16 KiB, with an 8 KiB kernel send buffer per
    connection so that a backlog stays in ours."""

    async def flood() -> AsyncIterator[str]:
        probe.opened()
        try:
            for index in range(200):
                yield f'{index:04d}{ITEM}'
                probe.yielded += 1
                await asyncio.sleep(0)
            probe.finished.set()
        finally:
            probe.ended()

    server = aiohttp_rpc.WSJSONRPCServer(max_buffered_bytes=BUDGET)
    server.add_method(aiohttp_rpc.JSONRPCSubscription(flood, **options))

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        import socket

        assert request.transport is not None
        request.transport.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024)
        return await server.handle_http_request(request)  # type: ignore[arg-type]

    app = web.Application()
    app.router.add_get('/rpc', handler)
    test_server = await aiohttp_server(app)
    return Served(str(test_server.make_url('/rpc')), test_server.port, probe, server)


async def raw_subscribe(peer: rawws.RawWebSocket, method: str) -> str:
    peer.send_text(f'{{"jsonrpc": "2.0", "id": 1, "method": "{method}", "params": []}}')
    reply = await peer.receive_json()
    assert SUBSCRIPTION_ID.fullmatch(reply['result'])
    return str(reply['result'])


async def test_block_pauses_the_generator_while_the_peer_does_not_read(aiohttp_server: Any) -> None:
    served = await serve_slow(aiohttp_server, Probe(), on_slow='block')
    async with await rawws.connect(served.port, '/rpc', rcvbuf=4096) as peer:
        subscription_id = await raw_subscribe(peer, 'flood')
        connection = served.connection()
        # The generator runs until the write buffer is over its budget, then waits there (a window to show
        # that it stays paused).
        await asyncio.sleep(0.3)
        paused_at = served.probe.yielded
        await asyncio.sleep(0.3)
        assert served.probe.yielded == paused_at < 200
        assert connection.buffered() <= BUDGET + len(ITEM) + 200
        received = [await peer.receive_json() for _ in range(201)]
    assert [message['params'].get('result', '')[:4] for message in received[:200]] == [
        f'{index:04d}' for index in range(200)
    ]
    assert received[200] == done('flood', subscription_id)


async def test_drop_oldest_keeps_the_generator_running_and_drops_what_does_not_fit(aiohttp_server: Any) -> None:
    served = await serve_slow(aiohttp_server, Probe(), on_slow='drop_oldest', queue_size=8)
    async with await rawws.connect(served.port, '/rpc', rcvbuf=4096) as peer:
        subscription_id = await raw_subscribe(peer, 'flood')
        await asyncio.wait_for(served.probe.finished.wait(), 10)  # never held up by the peer
        connection = served.connection()
        dropped = connection.dropped_items
        assert dropped > 0
        assert connection.buffered() <= BUDGET + 9 * (len(ITEM) + 100)
        received = []
        while not received or 'done' not in received[-1]['params']:
            received.append(await peer.receive_json())
    numbers = [int(message['params']['result'][:4]) for message in received[:-1]]
    assert numbers == sorted(numbers)
    assert numbers[-1] == 199  # the newest are kept
    assert len(numbers) + dropped == 200
    assert received[-1] == done('flood', subscription_id)


async def test_close_ends_a_subscription_whose_item_waits_past_send_timeout(aiohttp_server: Any) -> None:
    served = await serve_slow(aiohttp_server, Probe(), on_slow='close', send_timeout=0.2)
    async with await rawws.connect(served.port, '/rpc', rcvbuf=4096) as peer:
        subscription_id = await raw_subscribe(peer, 'flood')
        await asyncio.wait_for(served.probe.closed.wait(), 10)
        assert not served.probe.finished.is_set()
        received = []
        while not received or 'error' not in received[-1]['params']:
            received.append(await peer.receive_json())
    assert received[-1] == {
        'jsonrpc': '2.0',
        'method': 'flood',
        'params': {
            'subscription': subscription_id,
            'error': {
                'code': -32007,
                'message': 'Subscription lagged',
                'data': {
                    'details': 'An item waited more than 0.2 s for the subscriber to read; the subscription ended.'
                },
            },
        },
    }
    numbers = [int(message['params']['result'][:4]) for message in received[:-1]]
    assert numbers == list(range(len(numbers)))


# -- our client -----------------------------------------------------------------------------------------------------


async def test_client_iterates_a_finite_stream_to_its_end(served: Served) -> None:
    async with aiohttp_rpc.WSJSONRPCClient(served.url) as rpc:
        async with rpc.subscribe('count', 5) as numbers:
            assert numbers.id is not None
            assert SUBSCRIPTION_ID.fullmatch(numbers.id)
            assert [number async for number in numbers] == [0, 1, 2, 3, 4]
            assert numbers.close_reason is aiohttp_rpc.CloseReason.COMPLETED
        proxied = await rpc.methods.count.subscribe(3)
        assert [number async for number in proxied] == [0, 1, 2]


async def test_client_unsubscribes_on_aclose_and_on_leaving_the_block(served: Served) -> None:
    async with aiohttp_rpc.WSJSONRPCClient(served.url) as rpc:
        async with rpc.subscribe('forever') as numbers:
            async for number in numbers:
                if number == 3:
                    break
        assert numbers.close_reason is aiohttp_rpc.CloseReason.UNSUBSCRIBED
        assert served.probe.closed.is_set()
        assert served.connection().subscriptions == 0
        assert [number async for number in numbers] == []  # ended: iterating again yields nothing
        assert await rpc.call('ping') == 'pong'


async def test_client_raises_the_error_that_ended_the_stream(served: Served) -> None:
    error_map = {**errors.DEFAULT_KNOWN_ERRORS_MAP, InsufficientFunds.code: InsufficientFunds}
    async with aiohttp_rpc.WSJSONRPCClient(served.url, error_map=error_map) as rpc:
        received = []
        with pytest.raises(InsufficientFunds) as caught:
            await collect(rpc.subscribe('overdrawn', 2), received)
    assert received == [0, 1]
    assert caught.value.data == {'balance': 3}


async def test_client_buffer_limit_ends_the_subscription_as_lagged(served: Served) -> None:
    async with aiohttp_rpc.WSJSONRPCClient(served.url) as rpc:
        numbers = await rpc.subscribe('count', 100, buffer=10)
        await asyncio.wait_for(served.probe.closed.wait(), 5)
        assert await rpc.call('ping') == 'pong'  # the reader has read every item by now
        received = []
        with pytest.raises(errors.SubscriptionLagged) as caught:
            await collect(numbers, received)
    assert received == list(range(10))
    assert numbers.close_reason is aiohttp_rpc.CloseReason.LAGGED
    assert (
        str(caught.value) == "Subscription lagged: More than 10 items waited for the consumer (this client's buffer)."
    )


async def test_client_buffer_can_drop_the_oldest_instead(served: Served) -> None:
    async with aiohttp_rpc.WSJSONRPCClient(served.url) as rpc:
        numbers = await rpc.subscribe('count', 100, buffer=10, on_overflow='drop_oldest')
        await asyncio.wait_for(served.probe.closed.wait(), 5)
        assert await rpc.call('ping') == 'pong'
        assert [number async for number in numbers] == list(range(90, 100))
    assert numbers.dropped == 90
    assert numbers.close_reason is aiohttp_rpc.CloseReason.COMPLETED


async def test_client_resubscribes_after_a_reconnect_and_yields_a_gap_first(served: Served) -> None:
    policy = aiohttp_rpc.ReconnectPolicy(initial_delay=0.01)
    async with aiohttp_rpc.WSJSONRPCClient(served.url, reconnect=policy) as rpc:
        numbers = await rpc.subscribe('hold')
        first_id = numbers.id
        assert await numbers.__anext__() == 'first'
        (server_peer,) = served.server.peers
        await server_peer.disconnect()
        assert [await numbers.__anext__() for _ in range(2)] == [aiohttp_rpc.Gap(), 'first']
        assert numbers.id != first_id
        assert numbers.close_reason is None


async def test_without_reconnect_a_lost_connection_raises(served: Served) -> None:
    async with aiohttp_rpc.WSJSONRPCClient(served.url) as rpc:
        numbers = await rpc.subscribe('idle')
        (server_peer,) = served.server.peers
        await server_peer.disconnect()
        with pytest.raises(errors.TransportError) as caught:
            await numbers.__anext__()
    assert numbers.close_reason is aiohttp_rpc.CloseReason.CONNECTION_LOST
    assert str(caught.value) == 'Transport error: The connection carrying the subscription to idle was lost.'


async def test_the_server_subscribes_to_a_stream_its_client_serves(aiohttp_server: Any) -> None:
    server = aiohttp_rpc.WSJSONRPCServer()

    async def collect(rpc_request: aiohttp_rpc.JSONRPCRequest) -> list[int]:
        peer = aiohttp_rpc.get_peer(rpc_request)
        async with peer.subscribe('events', 3) as events:
            return [event async for event in events]

    server.add_method(aiohttp_rpc.JSONRPCMethod(collect, pass_extra_kwargs=True))
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    test_server = await aiohttp_server(app)

    async def events(n: int) -> AsyncIterator[int]:
        for index in range(n):
            yield index * 10

    async with aiohttp_rpc.WSJSONRPCClient(str(test_server.make_url('/rpc')), methods=[events]) as rpc:
        assert await rpc.call('collect') == [0, 10, 20]


# -- names, groups, params, guards ----------------------------------------------------------------------------------


async def test_ethereum_names_on_the_wire(served: Served, peer: aiohttp.ClientWebSocketResponse) -> None:
    subscription_id = await subscribe(peer, 1, 'eth_subscribe', ['newHeads'])
    assert [await peer.receive_json(timeout=5) for _ in range(3)] == [
        item('eth_subscription', subscription_id, {'kind': 'newHeads', 'number': hex(number)}) for number in range(3)
    ]
    await peer.send_json(call(2, 'eth_unsubscribe', [subscription_id]))
    assert await peer.receive_json(timeout=5) == {'jsonrpc': '2.0', 'id': 2, 'result': True}
    async with aiohttp_rpc.WSJSONRPCClient(served.url) as rpc:
        async with rpc.subscribe('eth_subscribe', 'logs', unsubscribe='eth_unsubscribe') as heads:
            assert [await heads.__anext__() for _ in range(3)] == [
                {'kind': 'logs', 'number': hex(number)} for number in range(3)
            ]
        assert heads.close_reason is aiohttp_rpc.CloseReason.UNSUBSCRIBED
        assert served.open_subscriptions() == 0


async def test_subscriptions_in_groups_with_typed_params_and_guards(aiohttp_server: Any) -> None:
    async def ticker(symbol: str, limit: int) -> AsyncIterator[dict[str, Any]]:
        for index in range(limit):
            yield {'symbol': symbol, 'tick': index}

    async def secret() -> AsyncIterator[int]:
        raise AssertionError('a refused subscription never runs')
        yield 0

    market = aiohttp_rpc.MethodGroup()
    market.add_method(ticker)
    market.add_method(aiohttp_rpc.JSONRPCSubscription(secret, guards=[lambda request: False]))
    server = aiohttp_rpc.WSJSONRPCServer(validate_params=True)
    server.add_group('market', market)
    assert {'market.ticker', 'market.ticker.unsubscribe', 'market.secret', 'market.secret.unsubscribe'} <= set(
        server.methods
    )
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    test_server = await aiohttp_server(app)
    async with aiohttp_rpc.WSJSONRPCClient(str(test_server.make_url('/rpc'))) as rpc:
        ticks = rpc.methods.market.ticker.subscribe('BTC', '2')  # '2' converted to 2 by the typed params
        assert [tick async for tick in ticks] == [{'symbol': 'BTC', 'tick': 0}, {'symbol': 'BTC', 'tick': 1}]
        with pytest.raises(errors.InvalidParams) as caught:
            await rpc.subscribe('market.ticker', 'BTC', 'many')
        assert caught.value.data['errors'][0]['path'] == ['limit']
        with pytest.raises(errors.AccessDenied):
            await rpc.subscribe('market.secret')


def test_registration_wraps_async_generators_and_refuses_what_does_not_fit() -> None:
    server = aiohttp_rpc.WSJSONRPCServer()

    async def feed() -> AsyncIterator[int]:
        yield 1

    async def other() -> AsyncIterator[int]:
        yield 2

    method = server.add_method(feed)
    assert isinstance(method, aiohttp_rpc.JSONRPCSubscription)
    assert set(server.methods) == {'feed', 'feed.unsubscribe'}
    shared = {'unsubscribe': 'stop'}
    server.add_method(aiohttp_rpc.JSONRPCSubscription(other, name='a', **shared))
    server.add_method(aiohttp_rpc.JSONRPCSubscription(other, name='b', **shared))  # one `stop` serves both
    assert set(server.methods) == {'feed', 'feed.unsubscribe', 'a', 'b', 'stop'}
    with pytest.raises(errors.ServerConfigurationError) as caught:
        aiohttp_rpc.JSONRPCSubscription(lambda: None)  # type: ignore[arg-type,return-value]
    assert 'is not an async generator function (async def with yield)' in str(caught.value)
    with pytest.raises(errors.ServerConfigurationError) as caught:
        aiohttp_rpc.JSONRPCSubscription(feed, on_slow='wait')  # type: ignore[arg-type]
    assert str(caught.value) == (
        "Server configuration error: on_slow must be one of block, drop_oldest, close, not 'wait'."
    )
    with pytest.raises(errors.ServerConfigurationError) as caught:
        aiohttp_rpc.rpc_method(rpc_server=server, prepare_result=list)(other)
    assert str(caught.value) == (
        'Server configuration error: other is a subscription (an async generator function); it takes no prepare_result.'
    )


@dataclass
class Tick:
    symbol: str
    price: float


# -- self-description -----------------------------------------------------------------------------------------------


async def test_subscriptions_are_described_in_rpc_discover(aiohttp_server: Any) -> None:
    from test_openrpc import assert_valid_openrpc

    async def ticks(symbol: str) -> AsyncIterator[Tick]:
        """Prices of one symbol as they change."""
        yield Tick(symbol, 1.0)

    server = aiohttp_rpc.WSJSONRPCServer()
    server.add_method(
        aiohttp_rpc.JSONRPCSubscription(
            ticks, name='eth_subscribe', notification='eth_subscription', unsubscribe='eth_unsubscribe'
        )
    )
    server.add_discovery()
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    test_server = await aiohttp_server(app)
    async with aiohttp_rpc.WSJSONRPCClient(str(test_server.make_url('/rpc'))) as rpc:
        document = await rpc.call('rpc.discover')
    assert_valid_openrpc(document)
    assert document['methods'] == [
        {
            'name': 'eth_subscribe',
            'summary': 'Prices of one symbol as they change.',
            'params': [{'name': 'symbol', 'required': True, 'schema': {'type': 'string'}}],
            'result': {'name': 'result', 'schema': {'type': 'string'}},
            'paramStructure': 'either',
            'x-subscription': {
                'notification': 'eth_subscription',
                'unsubscribe': 'eth_unsubscribe',
                'item': {'name': 'item', 'schema': {'$ref': '#/components/schemas/Tick'}},
            },
        },
        {
            'name': 'eth_unsubscribe',
            'summary': 'End a subscription',
            'description': 'Answers true when it ended a live subscription of this connection, else false.',
            'params': [{'name': 'subscription', 'required': True, 'schema': {'type': 'string'}}],
            'result': {'name': 'result', 'schema': {'type': 'boolean'}},
            'paramStructure': 'either',
        },
    ]
    assert document['components']['schemas']['Tick']['properties'] == {
        'symbol': {'title': 'Symbol', 'type': 'string'},
        'price': {'title': 'Price', 'type': 'number'},
    }


def test_openapi_leaves_out_what_works_over_a_websocket_only() -> None:
    from aiohttp_rpc.schema.openapi import build_openapi

    async def feed() -> AsyncIterator[int]:
        yield 1

    async def ping() -> str:
        return 'pong'

    server = aiohttp_rpc.WSJSONRPCServer()
    server.add_methods([feed, ping])
    assert list(build_openapi(server)['paths']) == ['/rpc#ping']


@dataclass
class User:
    name: str


async def greetings(times: int, user: User) -> AsyncIterator[str]:
    for _ in range(times):
        yield f'hello {user.name}'


async def test_a_subscription_gets_the_request_context(aiohttp_server: Any) -> None:
    def current_user(http_request: web.Request | None) -> User:
        return User('local' if http_request is None else http_request.headers.get('X-User', 'anonymous'))

    server = aiohttp_rpc.WSJSONRPCServer(context_factory=current_user)
    server.add_method(greetings)
    assert [param.name for param in server.methods['greetings'].params] == ['times']  # type: ignore[attr-defined]
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    test_server = await aiohttp_server(app)
    url = str(test_server.make_url('/rpc'))
    async with aiohttp_rpc.WSJSONRPCClient(url, headers={'X-User': 'ada'}) as rpc:
        assert [line async for line in rpc.subscribe('greetings', 2)] == ['hello ada', 'hello ada']
    # In process there is no connection to push items on: the same -32004 as over HTTP.
    from aiohttp_rpc.client.transports.local import LocalTransport

    async with aiohttp_rpc.BaseJSONRPCClient(transport=LocalTransport(server)) as local:
        with pytest.raises(errors.SubscriptionsUnavailable):
            await local.call('greetings', 1)
