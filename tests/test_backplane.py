"""The backplane: broadcasts and topic items across workers. In process by default; across processes through a
real Redis server (``tests/redis_server.py``), never a mock. Two ``WSJSONRPCServer`` s with a backplane each are
two workers (what matters is that they share nothing but Redis); the emitter runs in a separate process."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from redis_server import RedisServer, start_redis

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.backplane import InProcessBackplane
from aiohttp_rpc.server.fanout import PRESENCE_RETRY
from aiohttp_rpc.server.relay import PRESENCE_TTL

pytestmark = pytest.mark.timeout(60)


@dataclass
class Inbox:
    """What one client got from ``news`` broadcasts."""

    items: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def news(self, text: str) -> None:
        self.items.append(text)
        self.changed.set()

    async def wait_for(self, text: str) -> None:
        while text not in self.items:
            self.changed.clear()
            await self.changed.wait()


def worker(backplane: aiohttp_rpc.backplane.Backplane | None) -> aiohttp_rpc.WSJSONRPCServer:
    server = aiohttp_rpc.WSJSONRPCServer(backplane=backplane)

    async def prices(symbol: str) -> AsyncIterator[Any]:
        async for price in server.topic(f'prices.{symbol}'):
            yield price

    async def announce(text: str) -> int:
        return await server.broadcast('news', text)

    async def ping() -> str:
        return 'pong'

    server.add_methods([prices, announce, ping])
    return server


@dataclass
class Deployment:
    servers: list[aiohttp_rpc.WSJSONRPCServer]
    clients: list[aiohttp_rpc.WSJSONRPCClient]
    inboxes: list[Inbox]


async def deploy(aiohttp_server: Any, backplanes: list[Any], clients_each: int = 3) -> AsyncIterator[Deployment]:
    servers = [worker(backplane) for backplane in backplanes]
    urls = []
    for server in servers:
        app = web.Application()
        app.router.add_get('/ws', server.handle_http_request)
        app.on_shutdown.append(server.on_shutdown)
        urls.append(str((await aiohttp_server(app)).make_url('/ws')))
    inboxes = [Inbox() for _ in range(clients_each * len(servers))]
    clients = [
        aiohttp_rpc.WSJSONRPCClient(urls[index % len(urls)], methods=[inbox.news])
        for index, inbox in enumerate(inboxes)
    ]
    for client in clients:
        await client.connect()
    for server in servers:
        await asyncio.wait_for(server.wait_peers(lambda peers: len(peers) == clients_each), 10)
    try:
        yield Deployment(servers, clients, inboxes)
    finally:
        for client in clients:
            await client.disconnect()


async def test_without_a_backplane_everything_stays_in_this_process(aiohttp_server: Any) -> None:
    async for deployment in deploy(aiohttp_server, [None]):
        (server,) = deployment.servers
        assert isinstance(server.fanout.backplane, InProcessBackplane)
        assert await deployment.clients[0].call('announce', 'hello') == 3
        for inbox in deployment.inboxes:
            await asyncio.wait_for(inbox.wait_for('hello'), 5)
        async with deployment.clients[1].subscribe('prices', 'BTC') as prices:
            await asyncio.wait_for(server.fanout.wait_listeners('prices.BTC', 1), 5)
            await server.publish('prices.BTC', {'price': 1})
            assert await prices.__anext__() == {'price': 1}


async def test_broadcasts_and_topics_reach_every_worker_through_redis(redis: RedisServer, aiohttp_server: Any) -> None:
    backplanes = [aiohttp_rpc.RedisBackplane(redis.url, prefix='test') for _ in range(2)]
    async for deployment in deploy(aiohttp_server, backplanes):
        first, second = deployment.servers
        # A method call on the first worker broadcasts to the clients of both.
        assert await deployment.clients[0].call('announce', 'to everyone') == 3  # this worker's own peers
        for inbox in deployment.inboxes:
            await asyncio.wait_for(inbox.wait_for('to everyone'), 5)
        # A topic published on one worker feeds subscriptions on both.
        on_first = await deployment.clients[0].subscribe('prices', 'ETH')
        on_second = await deployment.clients[1].subscribe('prices', 'ETH')
        await asyncio.wait_for(first.fanout.wait_listeners('prices.ETH', 1), 5)
        await asyncio.wait_for(second.fanout.wait_listeners('prices.ETH', 1), 5)
        await second.publish('prices.ETH', {'price': 3100})
        assert await asyncio.wait_for(on_first.__anext__(), 5) == {'price': 3100}
        assert await asyncio.wait_for(on_second.__anext__(), 5) == {'price': 3100}
        # From outside any server: a script's emitter.
        script = (
            'import asyncio, aiohttp_rpc\n'
            'async def main():\n'
            f'    async with aiohttp_rpc.Emitter({redis.url!r}, prefix="test") as emitter:\n'
            '        await emitter.broadcast("news", "from a cron job")\n'
            '        await emitter.publish("prices.ETH", {"price": 3200})\n'
            'asyncio.run(main())\n'
        )
        completed = await asyncio.to_thread(
            subprocess.run, [sys.executable, '-W', 'error', '-c', script], capture_output=True, text=True, timeout=30
        )
        assert (completed.returncode, completed.stderr) == (0, '')
        for inbox in deployment.inboxes:
            await asyncio.wait_for(inbox.wait_for('from a cron job'), 5)
        assert await asyncio.wait_for(on_first.__anext__(), 5) == {'price': 3200}
        assert await asyncio.wait_for(on_second.__anext__(), 5) == {'price': 3200}
        await on_first.aclose()
        await on_second.aclose()
    assert [backplane.published for backplane in backplanes] == [1, 1]  # the emitter's are its own


async def test_an_outage_keeps_local_traffic_and_fails_cross_worker_fast(
    aiohttp_server: Any, redis: RedisServer
) -> None:
    reconnected = asyncio.Event()
    backplanes = [aiohttp_rpc.RedisBackplane(redis.url, prefix='test', on_reconnect=reconnected.set) for _ in range(2)]
    async for deployment in deploy(aiohttp_server, backplanes, clients_each=1):
        first, second = deployment.servers
        redis.kill()
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(errors.BackplaneError) as caught:
            await first.broadcast('news', 'while Redis is down')
        assert loop.time() - started < 2.5
        assert str(caught.value).startswith(f'Backplane error: Redis at {redis.url} cannot be reached: ')
        await asyncio.wait_for(deployment.inboxes[0].wait_for('while Redis is down'), 5)  # local: delivered
        assert await deployment.clients[1].call('ping') == 'pong'  # the other worker serves on
        assert await second.broadcast('news', 'here only', where=lambda peer: True) == 1  # a local broadcast
        with pytest.raises(errors.InternalError):  # the backplane's details stay in the server's log
            await deployment.clients[1].call('announce', 'across')
        # Redis comes back on the same port: the listeners listen again, and broadcasts cross again.
        restarted = start_redis(redis.port)
        try:
            await asyncio.wait_for(reconnected.wait(), 20)
            await asyncio.wait_for(_both_listening(backplanes), 20)
            await second.broadcast('news', 'after the outage')
            await asyncio.wait_for(deployment.inboxes[0].wait_for('after the outage'), 5)
        finally:
            restarted.stop()
    assert sum(backplane.reconnects for backplane in backplanes) >= 1


async def _both_listening(backplanes: list[aiohttp_rpc.RedisBackplane]) -> None:
    for backplane in backplanes:
        await backplane._listening.wait()


async def test_a_frame_over_the_limit_is_refused_before_redis(redis: RedisServer, aiohttp_server: Any) -> None:
    backplane = aiohttp_rpc.RedisBackplane(redis.url, prefix='test', max_frame_size=1000)
    async for deployment in deploy(aiohttp_server, [backplane], clients_each=1):
        (server,) = deployment.servers
        with pytest.raises(errors.BackplaneError) as caught:
            await server.broadcast('news', 'x' * 2000)
        pattern = r'Backplane error: A \d{4}-byte message is over the backplane limit of 1000 bytes\.'
        assert re.fullmatch(pattern, str(caught.value))
        await asyncio.wait_for(deployment.inboxes[0].wait_for('x' * 2000), 5)  # this worker's peer has it
    assert backplane.published == 0


async def test_backplane_counters_are_metrics(redis: RedisServer, aiohttp_server: Any) -> None:
    from prometheus_client import CollectorRegistry, generate_latest
    from test_metrics import parse, value

    from aiohttp_rpc.observability.metrics import PrometheusMetrics

    backplane = aiohttp_rpc.RedisBackplane(redis.url, prefix='test')
    async for deployment in deploy(aiohttp_server, [backplane], clients_each=1):
        (server,) = deployment.servers
        metrics = PrometheusMetrics(CollectorRegistry())
        metrics.track(server)
        reader = server.topic('slow', buffer=1)
        first = asyncio.ensure_future(reader.__anext__())
        await asyncio.wait_for(server.fanout.wait_listeners('slow', 1), 5)
        for number in range(3):
            await server.publish('slow', number)  # read 0, hold 2, drop 1
        assert await first == 0
        await server.broadcast('news', 'counted')
        await asyncio.wait_for(deployment.inboxes[0].wait_for('counted'), 5)
        samples = parse(generate_latest(metrics.registry).decode())
        assert value(samples, 'jsonrpc_backplane_published_total') == 4
        assert value(samples, 'jsonrpc_backplane_topic_items_dropped_total') == 1
        assert value(samples, 'jsonrpc_backplane_reconnects_total') == 0
        assert await reader.__anext__() == 2
        await reader.aclose()


async def test_a_peer_held_by_another_worker_is_called_through_the_backplane(
    redis: RedisServer, aiohttp_server: Any
) -> None:
    backplanes = [aiohttp_rpc.RedisBackplane(redis.url, prefix='test') for _ in range(2)]
    async for deployment in deploy(aiohttp_server, backplanes, clients_each=1):
        first, second = deployment.servers
        on_second = deployment.clients[1]  # connected to the second worker
        (held,) = second.peers
        assert held.id.startswith(second.fanout.worker + ':')
        remote = first.peer(held.id)
        await remote.notify('news', 'relayed')  # the first worker notifies the second's client
        await asyncio.wait_for(deployment.inboxes[1].wait_for('relayed'), 5)
        on_second.add_method(aiohttp_rpc.JSONRPCMethod(lambda a, b: a * b, name='multiply'))
        assert await remote.call('multiply', 6, 7) == 42  # a call, and its reply, across workers
        with pytest.raises(aiohttp_rpc.errors.MethodNotFound):
            await remote.call('nothing')
        (own,) = first.peers
        assert first.peer(own.id) is own  # a peer of this worker is itself
        # The client leaves: a call to it fails at once, not after the call timeout.
        await on_second.disconnect()
        await asyncio.wait_for(second.wait_peers(lambda peers: not peers), 5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(aiohttp_rpc.errors.TransportError) as caught:
            await remote.call('multiply', 1, 2)
        assert loop.time() - started < 0.2
        assert str(caught.value) == f'Transport error: Peer {held.id} has gone (its connection has closed).'
        # Its worker stops: the presence key goes with it, and a call fails before anything is sent.
        await second.fanout.close()
        started = loop.time()
        with pytest.raises(aiohttp_rpc.errors.TransportError) as caught:
            await first.peer(held.id).call('multiply', 1, 2)
        assert loop.time() - started < 0.2
        assert str(caught.value) == f'Transport error: Peer {held.id} has gone (its worker is not running).'


async def test_without_a_backplane_other_peers_are_not_found() -> None:
    server = aiohttp_rpc.WSJSONRPCServer()
    with pytest.raises(LookupError) as caught:
        server.peer('abc:def')
    assert str(caught.value) == "No peer 'abc:def' on this server, and no backplane to other workers."


class LatePresence(InProcessBackplane):
    """A broker that takes its presence writes a few loop turns late; the first ``refuse`` of them fail."""

    def __init__(self, refuse: int = 0) -> None:
        super().__init__()
        self.refuse = refuse
        self.marked = asyncio.Event()

    async def mark_present(self, key: str, ttl: float | None) -> None:
        for _ in range(10):
            await asyncio.sleep(0)
        if self.refuse and ttl is not None:
            self.refuse -= 1
            raise errors.BackplaneError(data={'details': 'refused'})
        await super().mark_present(key, ttl)
        self.marked.set()


async def test_a_worker_is_present_as_soon_as_it_has_started() -> None:
    """Regression: the heartbeat task marked presence after ``start()`` returned, so a peer of a worker that had
    just accepted its first connection could be reported gone ("its worker is not running") for a moment."""
    backplane = LatePresence()
    server = worker(backplane)
    await server.fanout.start()  # what the first connection awaits before it is served
    try:
        assert await backplane.is_present(server.fanout.worker)
    finally:
        await server.fanout.close()
    assert not await backplane.is_present(server.fanout.worker)


async def test_a_refused_presence_is_retried_before_the_next_beat() -> None:
    """Regression: a failed renewal (Redis slow past ``publish_timeout``) left the worker absent for a third of
    the presence's time to live (5 s), failing every call to its peers from other workers meanwhile. It is now
    retried after ``PRESENCE_RETRY`` (1 s); the bound below leaves room for a loaded machine."""
    backplane = LatePresence(refuse=1)
    server = worker(backplane)
    await server.fanout.start()
    try:
        assert not await backplane.is_present(server.fanout.worker)
        assert PRESENCE_RETRY * 3 < PRESENCE_TTL / 3
        await asyncio.wait_for(backplane.marked.wait(), PRESENCE_RETRY * 3)
        assert await backplane.is_present(server.fanout.worker)
    finally:
        await server.fanout.close()


async def test_a_worker_is_present_on_redis_once_started(redis: RedisServer) -> None:
    backplane = aiohttp_rpc.RedisBackplane(redis.url, prefix='presence')
    observer = aiohttp_rpc.RedisBackplane(redis.url, prefix='presence')
    server = worker(backplane)
    try:
        await server.fanout.start()
        try:
            assert await observer.is_present(server.fanout.worker)
        finally:
            await server.fanout.close()
        assert not await observer.is_present(server.fanout.worker)
    finally:
        await observer.close()
