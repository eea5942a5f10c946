"""Two gunicorn workers on one port, joined by a real Redis server, with 20 WebSocket clients spread over both:
broadcasts, peer calls, topics and an emitter across workers, and a Redis outage in the middle of it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis_server import RedisServer, start_redis
from test_deployment import free_port

import aiohttp_rpc

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 20


@dataclass
class Client:
    rpc: aiohttp_rpc.WSJSONRPCClient
    pid: int
    peer_id: str
    news: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, text: str) -> None:
        while text not in self.news:
            self.changed.clear()
            await self.changed.wait()


@pytest.fixture
def gunicorn(redis: RedisServer, tmp_path: Path) -> Iterator[int]:
    import gunicorn.config  # type: ignore[import-untyped]

    port = free_port()
    no_control_socket = ['--no-control-socket'] if hasattr(gunicorn.config, 'ControlSocketDisable') else []
    command = [sys.executable, '-m', 'gunicorn', 'backplane_app:app', '-k',
               'aiohttp_rpc.server.worker.GunicornWebWorker', '-w', '2', '-b', f'127.0.0.1:{port}',
               '--graceful-timeout', '5', *no_control_socket]  # fmt: skip
    environ = {**os.environ, 'REDIS_URL': redis.url, 'PYTHONPATH': str(ROOT / 'tests')}
    with (tmp_path / 'stderr.log').open('wb') as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
    try:
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def connect(port: int) -> AsyncIterator[list[Client]]:
    """20 clients or more, until both workers hold two (each connection goes to whichever worker accepts it first)."""
    clients: list[Client] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    booted: set[int] = set()
    while len(booted) < 2:  # both workers answer before the clients come (the second may still be booting)
        assert loop.time() < deadline, f'both workers did not answer in time: {booted}'
        with contextlib.suppress(aiohttp_rpc.errors.TransportError):  # not listening yet
            async with aiohttp_rpc.WSJSONRPCClient(f'http://127.0.0.1:{port}/ws') as probe:
                booted.add((await probe.call('whoami'))['pid'])
        await asyncio.sleep(0.05)
    try:

        def spread() -> bool:  # at least two clients on each of the two workers
            pids = [client.pid for client in clients]
            return len(set(pids)) == 2 and all(pids.count(pid) >= 2 for pid in pids)

        while len(clients) < CLIENTS or not spread():
            assert loop.time() < deadline, f'both workers did not take clients: {[c.pid for c in clients]}'
            inbox: list[str] = []
            changed = asyncio.Event()

            def news(text: str, inbox: list[str] = inbox, changed: asyncio.Event = changed) -> None:
                inbox.append(text)
                changed.set()

            rpc = aiohttp_rpc.WSJSONRPCClient(f'http://127.0.0.1:{port}/ws', methods=[news])
            try:
                await rpc.connect()
                me = await rpc.call('whoami')
            except aiohttp_rpc.errors.TransportError:
                await rpc.disconnect()
                await asyncio.sleep(0.05)  # a worker still booting: try again (bounded by the deadline)
                continue
            clients.append(Client(rpc, me['pid'], me['peer'], inbox, changed))
            if len(clients) > 5 * CLIENTS:
                pytest.fail('every connection went to one worker')
        yield clients
    finally:
        for client in clients:
            await client.rpc.disconnect()


async def test_two_workers_share_broadcasts_peers_topics_and_survive_a_redis_outage(
    redis: RedisServer, gunicorn: int
) -> None:
    async for clients in connect(gunicorn):
        first = clients[0]
        other = next(client for client in clients if client.pid != first.pid)
        # A broadcast from a method call on one worker reaches every client of both.
        await first.rpc.call('announce', 'hello all')
        await asyncio.wait_for(asyncio.gather(*(client.wait_for('hello all') for client in clients)), 10)
        # A peer call across workers, and a departed peer that fails at once.
        other.rpc.add_method(aiohttp_rpc.JSONRPCMethod(lambda a, b: a * b, name='multiply'))
        assert await first.rpc.call('ask', other.peer_id, 6, 7) == 42
        await other.rpc.disconnect()
        clients.remove(other)
        loop = asyncio.get_running_loop()
        for _ in range(50):  # the server may not have seen the close yet: the first tries can still reach it
            started = loop.time()
            try:
                await first.rpc.call('ask', other.peer_id, 1, 1)
            except aiohttp_rpc.errors.InternalError:  # the server's TransportError, answered -32603
                assert loop.time() - started < 0.2
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail('a call to the departed peer kept working')
        # A topic published on one worker feeds subscriptions on both.
        subscriber = next(client for client in clients if client.pid != first.pid)
        mine = await first.rpc.subscribe('prices', 'BTC')
        theirs = await subscriber.rpc.subscribe('prices', 'BTC')
        for _ in range(100):  # a subscription listens from its first step on: publish until both have an item
            await first.rpc.call('publish', 'prices.BTC', {'price': 1})
            done, _ = await asyncio.wait(
                [asyncio.ensure_future(mine.__anext__()), asyncio.ensure_future(theirs.__anext__())], timeout=0.2
            )
            if len(done) == 2:
                break
        else:
            pytest.fail('the topic did not reach both workers')
        # The emitter, from a process that serves nothing.
        script = (
            'import asyncio, aiohttp_rpc\n'
            'async def main():\n'
            f'    async with aiohttp_rpc.Emitter({redis.url!r}, prefix="gtest") as emitter:\n'
            '        await emitter.broadcast("news", "from cron")\n'
            'asyncio.run(main())\n'
        )
        completed = await asyncio.to_thread(
            subprocess.run, [sys.executable, '-c', script], capture_output=True, text=True, timeout=30
        )
        assert (completed.returncode, completed.stderr) == (0, '')
        await asyncio.wait_for(asyncio.gather(*(client.wait_for('from cron') for client in clients)), 10)
        # Redis dies mid-traffic: calls go on; a broadcast still reaches its own worker's clients.
        redis.kill()
        assert (await first.rpc.call('whoami'))['pid'] == first.pid
        with pytest.raises(aiohttp_rpc.errors.InternalError):
            await first.rpc.call('announce', 'during the outage')
        same_worker = [client for client in clients if client.pid == first.pid]
        await asyncio.wait_for(asyncio.gather(*(c.wait_for('during the outage') for c in same_worker)), 10)
        # Redis comes back: the listeners resubscribe, and broadcasts cross workers again.
        restarted = start_redis(redis.port)
        try:
            for attempt in range(200):
                text = f'after the outage {attempt}'
                with contextlib.suppress(aiohttp_rpc.errors.InternalError):
                    await first.rpc.call('announce', text)
                    waiting = asyncio.gather(*(client.wait_for(text) for client in clients))
                    try:
                        await asyncio.wait_for(waiting, 0.5)
                        break
                    except asyncio.TimeoutError:
                        pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail('broadcasts did not cross workers again after Redis came back')
        finally:
            restarted.stop()


async def test_a_resumable_subscription_survives_its_worker_being_killed(redis: RedisServer, gunicorn: int) -> None:
    async for clients in connect(gunicorn):  # both workers are up (the clients themselves are not used)
        del clients
    policy = aiohttp_rpc.ReconnectPolicy(initial_delay=0.05)
    got: list[object] = []
    async with (
        aiohttp_rpc.WSJSONRPCClient(f'http://127.0.0.1:{gunicorn}/ws', reconnect=policy) as rpc,
        aiohttp_rpc.Emitter(redis.url, prefix='gtest') as emitter,
    ):
        pid = (await rpc.call('whoami'))['pid']
        async with rpc.subscribe('ticks', resume=True) as ticks:
            await rpc.call('wait_listening', 'ticks')

            async def publish_and_take(numbers: range) -> None:
                for number in numbers:
                    await emitter.publish('ticks', number)
                while len(got) < numbers.stop:
                    got.append(await asyncio.wait_for(ticks.__anext__(), 30))

            await publish_and_take(range(0, 50))
            os.kill(pid, signal.SIGKILL)  # the worker holding the subscription dies mid-stream
            await publish_and_take(range(50, 100))  # published while the client reconnects, to the other worker
            assert (await rpc.call('whoami'))['pid'] != pid
            await publish_and_take(range(100, 110))
    assert got == list(range(110))  # resumed from the Redis history: no loss, no gap
