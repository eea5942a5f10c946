"""Subscriptions: notifications per second from one subscription and fanned out to many, and memory per idle
subscription; ours against a bare aiohttp handler pushing the same frames (``benchmarks/servers/streams.py``).

Each round starts both servers in subprocesses (ours through ``launch.py``, so it is this repository's package),
then, alternating the order, measures on loopback:

* ``one``: one subscription of ``--items`` items; the rate is items / (the end notification's arrival - the
  reply's arrival);
* ``fan-out``: ``--subscribers`` hub subscriptions over ``--connections`` sockets, then ``publish`` of
  ``--fanout-items`` items to all; the rate is subscribers x items / (the last end notification's arrival - the
  publish call's sending);
* ``idle``: the server's RSS growth for ``--idle`` subscriptions that never yield (over ``--connections``
  sockets), per subscription.

Every frame is counted and the ones that matter (reply, first and last item, end) decoded and checked: a frame
that is not what it must be fails the run. Reported: the median of ``--rounds`` rounds for each system, and the
ratio ours / bare of the medians (rates: higher is better; memory: lower is better).

Usage:
    .venv/bin/python benchmarks/streams.py [--rounds 3] [--items 50000] [--subscribers 1000] \\
        [--connections 10] [--fanout-items 50] [--idle 2000] [--output benchmarks/results/streams.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

HERE = Path(__file__).resolve().parent
SERVER = HERE / 'servers' / 'streams.py'
SUBSCRIPTION_ID = re.compile(r'0x[0-9a-f]{32}')
TIMEOUT = 120.0  # seconds any one step may take


class Failure(Exception):
    """A frame was not what it must be, or a step did not finish in time."""


@dataclass
class Server:
    system: str
    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/ws'

    def rss(self) -> int:
        for line in Path(f'/proc/{self.process.pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
        raise Failure('no VmRSS')


@contextmanager
def started(system: str) -> Iterator[Server]:
    if system == 'ours':
        import aiohttp_rpc

        command = [sys.executable, str(HERE / 'launch.py'), '--expect', f'ours:{aiohttp_rpc.__version__}']
    else:
        command = [sys.executable]
    process = subprocess.Popen([*command, str(SERVER), '--system', system], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if len(line) != 2 or line[0] != 'PORT':
            raise Failure(f'the {system} server did not start')
        yield Server(system, process, int(line[1]))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def subscribe(ws: aiohttp.ClientWebSocketResponse, request_id: int, method: str, params: list[Any]) -> str:
    await ws.send_str(orjson.dumps({'jsonrpc': '2.0', 'id': request_id, 'method': method, 'params': params}).decode())
    return await reply_id(ws, request_id)


async def reply_id(ws: aiohttp.ClientWebSocketResponse, request_id: int) -> str:
    reply = orjson.loads((await ws.receive(timeout=TIMEOUT)).data)
    if reply.get('id') != request_id or not SUBSCRIPTION_ID.fullmatch(str(reply.get('result'))):
        raise Failure(f'not the reply to subscribe #{request_id}: {reply!r:.200}')
    return str(reply['result'])


def check_item(data: str, method: str, subscription: str | None, n: int) -> None:
    message = orjson.loads(data)
    params = message.get('params', {})
    if message.get('method') != method or params.get('result') != {'n': n}:
        raise Failure(f'expected item {n} of {method}, got {data:.200}')
    if subscription is not None and params.get('subscription') != subscription:
        raise Failure(f'item of another subscription: {data:.200}')


async def one(server: Server, items: int) -> float:
    """Items per second from one subscription."""
    async with aiohttp.ClientSession() as session, session.ws_connect(server.url, max_msg_size=0) as ws:
        subscription = await subscribe(ws, 1, 'feed', [items])
        started_at = time.perf_counter()
        first = (await ws.receive(timeout=TIMEOUT)).data
        check_item(first, 'feed', subscription, 0)
        last = first
        for _ in range(items - 1):
            last = (await ws.receive(timeout=TIMEOUT)).data
        end = (await ws.receive(timeout=TIMEOUT)).data
        elapsed = time.perf_counter() - started_at
        check_item(last, 'feed', subscription, items - 1)
        if orjson.loads(end)['params'] != {'subscription': subscription, 'done': True}:
            raise Failure(f'not the end of the stream: {end:.200}')
    return items / elapsed


async def fan_out(server: Server, subscribers: int, connections: int, items: int) -> float:
    """Notifications per second, ``items`` published to ``subscribers`` hub subscriptions."""
    per_socket = subscribers // connections
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(server.url, max_msg_size=0) for _ in range(connections)]
        control = await session.ws_connect(server.url)
        try:
            for ws in sockets:
                for index in range(per_socket):
                    await ws.send_str(orjson.dumps({'jsonrpc': '2.0', 'id': index, 'method': 'hub'}).decode())
                for index in range(per_socket):
                    await reply_id(ws, index)

            async def drain(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
                ended = count = 0
                last = ''
                while ended < per_socket:
                    data = (await ws.receive(timeout=TIMEOUT)).data
                    if '"done":true' in data:
                        ended += 1
                    else:
                        count += 1
                        last = data
                return count, last

            readers = [asyncio.ensure_future(drain(ws)) for ws in sockets]
            started_at = time.perf_counter()
            await control.send_str(
                orjson.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'publish', 'params': [items]}).decode()
            )
            results = await asyncio.wait_for(asyncio.gather(*readers), TIMEOUT)
            elapsed = time.perf_counter() - started_at
            reply = orjson.loads((await control.receive(timeout=TIMEOUT)).data)
            if reply != {'jsonrpc': '2.0', 'id': 1, 'result': items}:
                raise Failure(f'not the reply to publish: {reply!r:.200}')
            for count, last in results:
                if count != per_socket * items:
                    raise Failure(f'a socket got {count} items, not {per_socket * items}')
                check_item(last, 'hub', None, items - 1)
        finally:
            for ws in [*sockets, control]:
                await ws.close()
    return per_socket * connections * items / elapsed


async def idle(server: Server, count: int, connections: int) -> float:
    """Bytes of server RSS per subscription that never yields."""
    per_socket = count // connections
    async with aiohttp.ClientSession() as session:
        warm = await session.ws_connect(server.url)
        await subscribe(warm, 1, 'idle', [])
        sockets = [await session.ws_connect(server.url) for _ in range(connections)]
        await asyncio.sleep(0.2)  # let the server settle before the first reading
        before = server.rss()
        for ws in sockets:
            for index in range(per_socket):
                await ws.send_str(orjson.dumps({'jsonrpc': '2.0', 'id': index, 'method': 'idle'}).decode())
            for index in range(per_socket):
                await reply_id(ws, index)
        await asyncio.sleep(0.2)
        after = server.rss()
        for ws in [*sockets, warm]:
            await ws.close()
    return (after - before) / (per_socket * connections)


async def measure(server: Server, args: argparse.Namespace) -> dict[str, float]:
    return {
        'one': await one(server, args.items),
        'fan-out': await fan_out(server, args.subscribers, args.connections, args.fanout_items),
        'idle': await idle(server, args.idle, args.connections),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--items', type=int, default=50_000)
    parser.add_argument('--subscribers', type=int, default=1000)
    parser.add_argument('--connections', type=int, default=10)
    parser.add_argument('--fanout-items', type=int, default=50)
    parser.add_argument('--idle', type=int, default=2000)
    parser.add_argument('--output', type=Path, default=HERE / 'results' / 'streams.json')
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {'bare': [], 'ours': []}
    for round_number in range(args.rounds):
        order = ('bare', 'ours') if round_number % 2 == 0 else ('ours', 'bare')
        for system in order:
            with started(system) as server:
                runs[system].append(asyncio.run(measure(server, args)))
            print(f'round {round_number + 1} {system}: {runs[system][-1]}', file=sys.stderr)
    medians = {
        system: {key: statistics.median(run[key] for run in runs[system]) for key in runs[system][0]} for system in runs
    }
    rows = [
        ('one subscription', 'items/s', 'one'),
        (f'fan-out to {args.subscribers}', 'notifications/s', 'fan-out'),
        ('idle subscription', 'bytes of RSS each', 'idle'),
    ]
    print(f'{"scenario":<22} {"unit":<18} {"bare":>12} {"ours":>12} {"ours/bare":>10}')
    for title, unit, key in rows:
        bare, ours = medians['bare'][key], medians['ours'][key]
        print(f'{title:<22} {unit:<18} {bare:>12,.0f} {ours:>12,.0f} {ours / bare:>10.2f}')
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({'args': {k: str(v) for k, v in vars(args).items()}, 'runs': runs, 'medians': medians}, indent=2)
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
