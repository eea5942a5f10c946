"""Resumable subscriptions: items of a topic carry event ids, a subscriber that comes back gets what it missed from
the topic's history, or a gap. On the wire (a raw aiohttp WebSocket plays the subscriber), through our client
(reconnecting, or resuming from a stored event id), in process and across two servers joined by a real Redis."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import redis.asyncio as redis_asyncio
from aiohttp import web
from redis_server import RedisServer

import aiohttp_rpc
from aiohttp_rpc.methods.subscription import Cursor, enter_cursor

pytestmark = pytest.mark.timeout(30)

EVENT_ID = re.compile(r'[0-9]+-[0-9]+')
TOPIC = 'prices.BTC'


def worker(backplane: Any = None, history: int = 256) -> aiohttp_rpc.WSJSONRPCServer:
    server = aiohttp_rpc.WSJSONRPCServer(backplane=backplane)

    async def prices(symbol: str) -> AsyncIterator[Any]:
        async for price in server.topic(f'prices.{symbol}'):
            yield price

    async def plain(symbol: str) -> AsyncIterator[Any]:
        async for price in server.topic(f'prices.{symbol}'):
            yield price

    server.add_methods([aiohttp_rpc.JSONRPCSubscription(prices, resumable=True, history=history), plain])
    return server


async def serve(aiohttp_server: Any, server: aiohttp_rpc.WSJSONRPCServer) -> str:
    app = web.Application()
    app.router.add_get('/ws', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    return str((await aiohttp_server(app)).make_url('/ws'))


@dataclass
class Served:
    server: aiohttp_rpc.WSJSONRPCServer
    url: str

    async def publish(self, *items: Any) -> None:
        for item in items:
            await self.server.publish(TOPIC, item)

    async def listening(self, count: int = 1) -> None:
        await asyncio.wait_for(self.server.fanout.wait_listeners(TOPIC, count), 5)


@pytest.fixture
async def served(aiohttp_server: Any) -> Served:
    server = worker(history=3)
    return Served(server, await serve(aiohttp_server, server))


def subscribe_call(request_id: int, method: str, last_event_id: Any = None) -> dict[str, Any]:
    call: dict[str, Any] = {'jsonrpc': '2.0', 'id': request_id, 'method': method, 'params': ['BTC']}
    if last_event_id is not None:
        call['_meta'] = {'lastEventId': last_event_id}
    return call


async def subscribe(ws: aiohttp.ClientWebSocketResponse, method: str, last_event_id: Any = None) -> str:
    await ws.send_json(subscribe_call(1, method, last_event_id))
    reply = await ws.receive_json(timeout=5)
    assert reply == {'jsonrpc': '2.0', 'id': 1, 'result': reply['result']}
    return str(reply['result'])


def item(method: str, subscription_id: str, value: Any, event_id: str | None = None, gap: bool = False) -> Any:
    params: dict[str, Any] = {'subscription': subscription_id, 'result': value}
    if event_id is not None:
        params['eventId'] = event_id
    if gap:
        params['gap'] = True
    return {'jsonrpc': '2.0', 'method': method, 'params': params}


async def receive(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[Any]:
    return [await ws.receive_json(timeout=5) for _ in range(count)]


# -- the wire -------------------------------------------------------------------------------------------------------


async def test_items_carry_event_ids_and_a_resumed_subscription_gets_what_it_missed(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(served.url) as ws:
            first = await subscribe(ws, 'prices')
            await served.listening()
            await served.publish({'price': 1}, {'price': 2})
            got = await receive(ws, 2)
            ids = [message['params'].get('eventId', '') for message in got]
            assert all(EVENT_ID.fullmatch(event_id) for event_id in ids)
            assert got == [item('prices', first, {'price': 1}, ids[0]), item('prices', first, {'price': 2}, ids[1])]
        await served.listening(0)
        await served.publish({'price': 3}, {'price': 4})  # nobody listens: the history keeps them
        async with session.ws_connect(served.url) as ws:
            second = await subscribe(ws, 'prices', last_event_id=ids[1])
            missed = await receive(ws, 2)
            await served.listening()
            await served.publish({'price': 5})
            (live,) = await receive(ws, 1)
    ids += [message['params']['eventId'] for message in [*missed, live]]
    assert missed == [item('prices', second, {'price': 3}, ids[2]), item('prices', second, {'price': 4}, ids[3])]
    assert live == item('prices', second, {'price': 5}, ids[4])
    assert ids == sorted(ids, key=lambda event_id: tuple(map(int, event_id.split('-'))))
    assert len(set(ids)) == 5


async def test_resuming_past_the_history_marks_a_gap_on_the_first_live_item(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(served.url) as ws:
            await subscribe(ws, 'prices')
            await served.listening()
            await served.publish({'price': 1})
            (first,) = await receive(ws, 1)
        await served.listening(0)
        await served.publish(*({'price': price} for price in range(2, 7)))  # five items; the history holds three
        for last_event_id in (first['params']['eventId'], '12-34', 'not an id', 42):
            async with session.ws_connect(served.url) as ws:
                subscription_id = await subscribe(ws, 'prices', last_event_id=last_event_id)
                await served.listening()
                await served.publish({'price': 7})
                (live,) = await receive(ws, 1)
            await served.listening(0)
            assert live == item('prices', subscription_id, {'price': 7}, live['params']['eventId'], gap=True)


async def test_a_subscription_not_marked_resumable_ignores_the_resume_and_has_no_event_ids(served: Served) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(served.url) as ws:
        subscription_id = await subscribe(ws, 'plain', last_event_id='1-1')
        await served.listening()
        await served.publish({'price': 1})
        assert await receive(ws, 1) == [item('plain', subscription_id, {'price': 1})]


async def test_a_reader_that_falls_behind_its_topic_marks_the_gap() -> None:
    server = worker()
    cursor = Cursor(history=8)
    entered = asyncio.Event()

    async def read() -> list[tuple[Any, str | None, bool]]:
        enter_cursor(cursor)
        got = []
        async for price in server.topic(TOPIC, buffer=2):
            got.append((price, cursor.event_id, cursor.gap))
            cursor.gap = False
            if not entered.is_set():
                entered.set()
                await release.wait()
            if len(got) == 3:
                return got
        raise AssertionError('the topic ended')

    release = asyncio.Event()
    reader = asyncio.create_task(read())
    await asyncio.wait_for(server.fanout.wait_listeners(TOPIC, 1), 5)
    await server.publish(TOPIC, 1)
    await asyncio.wait_for(entered.wait(), 5)
    for price in (2, 3, 4):  # the reader holds two: 2 is dropped
        await server.publish(TOPIC, price)
    release.set()
    got = await asyncio.wait_for(reader, 5)
    assert [(price, gap) for price, _, gap in got] == [(1, False), (3, True), (4, False)]
    assert all(EVENT_ID.fullmatch(event_id or '') for _, event_id, _ in got)
    assert server.fanout.topic_items_dropped == 1
    await server.fanout.close()


async def test_rpc_discover_marks_a_resumable_subscription_with_its_history(aiohttp_server: Any) -> None:
    from test_openrpc import assert_valid_openrpc

    server = worker(history=3)
    server.add_discovery()
    async with aiohttp_rpc.WSJSONRPCClient(await serve(aiohttp_server, server)) as rpc:
        document = await rpc.call('rpc.discover')
    assert_valid_openrpc(document)
    streams = {method['name']: method['x-subscription'] for method in document['methods'] if 'x-subscription' in method}
    assert streams == {
        'plain': {'notification': 'plain', 'unsubscribe': 'plain.unsubscribe', 'item': {'name': 'item', 'schema': {}}},
        'prices': {
            'notification': 'prices',
            'unsubscribe': 'prices.unsubscribe',
            'item': {'name': 'item', 'schema': {}},
            'resumable': {'history': 3},
        },
    }


def test_history_must_hold_an_item() -> None:
    async def ticks() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(aiohttp_rpc.errors.ServerConfigurationError) as caught:
        aiohttp_rpc.JSONRPCSubscription(ticks, resumable=True, history=0)
    assert str(caught.value) == 'Server configuration error: history must be at least 1, not 0.'


# -- our client -----------------------------------------------------------------------------------------------------


async def test_the_client_resumes_after_a_reconnect_without_a_gap(served: Served) -> None:
    policy = aiohttp_rpc.ReconnectPolicy(initial_delay=0.01)
    async with aiohttp_rpc.WSJSONRPCClient(served.url, reconnect=policy) as rpc:
        prices = await rpc.subscribe('prices', 'BTC', resume=True)
        await served.listening()
        await served.publish(1)
        assert await prices.__anext__() == 1
        first_id = prices.last_event_id
        assert first_id is not None
        assert EVENT_ID.fullmatch(first_id)
        (server_peer,) = served.server.peers
        await server_peer.disconnect()
        await served.publish(2, 3)  # before or after the client is back: it gets both, once, in order
        assert [await prices.__anext__() for _ in range(2)] == [2, 3]
        await served.publish(4)
        assert await prices.__anext__() == 4
        assert prices.close_reason is None
        assert prices.last_event_id != first_id


async def test_the_client_resumes_from_a_stored_event_id_or_yields_a_gap(served: Served) -> None:
    async with aiohttp_rpc.WSJSONRPCClient(served.url) as rpc:
        async with rpc.subscribe('prices', 'BTC', resume=True) as prices:
            await served.listening()
            await served.publish(1)
            assert await prices.__anext__() == 1
            stored = prices.last_event_id
        await served.listening(0)
        await served.publish(2, 3)
        async with rpc.methods.prices.subscribe('BTC', resume=True, last_event_id=stored) as prices:
            assert [await prices.__anext__() for _ in range(2)] == [2, 3]
        await served.listening(0)
        await served.publish(4, 5, 6, 7)  # past the history of three
        async with rpc.subscribe('prices', 'BTC', resume=True, last_event_id=stored) as prices:
            await served.listening()
            await served.publish(8)
            assert [await prices.__anext__() for _ in range(2)] == [aiohttp_rpc.Gap('missed'), 8]


async def test_resuming_a_subscription_that_is_not_resumable_yields_a_gap(served: Served) -> None:
    async with (
        aiohttp_rpc.WSJSONRPCClient(served.url) as rpc,
        rpc.subscribe('plain', 'BTC', resume=True, last_event_id='1-1') as prices,
    ):
        await served.listening()
        await served.publish(1)
        assert [await prices.__anext__() for _ in range(2)] == [aiohttp_rpc.Gap(), 1]


# -- across workers, through Redis ------------------------------------------------------------------------------------


async def test_a_subscriber_resumes_on_another_worker_from_the_redis_history(
    redis: RedisServer, aiohttp_server: Any
) -> None:
    workers = [worker(aiohttp_rpc.RedisBackplane(redis.url, prefix='resume'), history=3) for _ in range(2)]
    first, second = [Served(server, await serve(aiohttp_server, server)) for server in workers]
    async with aiohttp_rpc.WSJSONRPCClient(first.url) as rpc, rpc.subscribe('prices', 'BTC', resume=True) as prices:
        await first.listening()
        await second.publish(1)  # from the other worker
        assert await asyncio.wait_for(prices.__anext__(), 5) == 1
        stored = prices.last_event_id
    assert stored is not None
    assert EVENT_ID.fullmatch(stored)
    await first.listening(0)
    await second.publish(2, 3)
    async with aiohttp_rpc.WSJSONRPCClient(second.url) as rpc:
        async with rpc.subscribe('prices', 'BTC', resume=True, last_event_id=stored) as prices:
            assert [await asyncio.wait_for(prices.__anext__(), 5) for _ in range(2)] == [2, 3]
            await first.publish(4)
            assert await asyncio.wait_for(prices.__anext__(), 5) == 4
        await second.listening(0)
        await first.publish(5, 6, 7, 8, 9, 10)  # the stream is trimmed to about three
        client = redis_asyncio.from_url(redis.url)
        try:
            assert await client.xlen(f'resume:log:{TOPIC}') == 3  # the stream holds the history, no more
            keys = (f'resume:log:{TOPIC}', f'resume:keep:{TOPIC}')
            for key in keys:  # kept 5 minutes after the last reader
                assert 290_000 < await client.pttl(key) <= 300_000
            for key in keys:
                await client.pexpire(key, 1000)
            await workers[0].fanout.backplane.keep_history(TOPIC, 2)  # a reader's heartbeat: both live on
            for key in keys:
                assert 290_000 < await client.pttl(key) <= 300_000
            assert await client.get(f'resume:keep:{TOPIC}') == b'3'  # the larger ask holds
        finally:
            await client.aclose()
        async with rpc.subscribe('prices', 'BTC', resume=True, last_event_id=stored) as prices:
            await second.listening()
            await first.publish(11)
            assert [await asyncio.wait_for(prices.__anext__(), 5) for _ in range(2)] == [aiohttp_rpc.Gap('missed'), 11]
    for server in workers:
        await server.fanout.close()
