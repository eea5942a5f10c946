"""The backplane: a broadcast to 1,000 clients from one process against two workers joined by Redis, topic items
through Redis, and what a backplane adds to a call that stays local (``benchmarks/servers/backplane.py``).

Starts Debian's ``redis-server`` on a free loopback port (``apt-get install redis-server``), then, for each
setup in turn:

* ``one process``: one worker, no backplane, every client on it;
* ``two workers + Redis``: two workers with a ``RedisBackplane``, the clients split between them.

and measures on loopback, from one client process with raw aiohttp WebSockets:

* ``broadcast``: ``--count`` broadcasts from a method call on the first worker to ``--clients`` clients: messages
  delivered per second (clients x count / time to the last one) and the delivery latency (send to receive)
  p50 and p99;
* ``topic``: ``--count`` items published on the first worker to ``--subscribers`` subscriptions of a topic-fed
  subscription (split as the clients are): items per second and latency;
* ``local call``: ``--calls`` sequential ``ping`` calls on one connection to the first worker: calls per second.

Every expected frame is counted; a missing one fails the run. Usage:

    .venv/bin/python benchmarks/backplane.py [--clients 1000] [--subscribers 100] [--count 50] [--calls 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson

HERE = Path(__file__).resolve().parent
SERVER = HERE / 'servers' / 'backplane.py'
TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: list[str], ready: bytes) -> Iterator[bytes]:
    """Start ``command``, wait (bounded) for ``ready`` in its output, and yield what it said."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    said = b''
    deadline = time.monotonic() + 30
    try:
        while ready not in said:
            readable, _, _ = select.select([process.stdout], [], [], max(deadline - time.monotonic(), 0))
            chunk = os.read(process.stdout.fileno(), 4096) if readable else b''
            if not chunk:
                raise SystemExit(f'{command[0]} did not start: {said.decode()[-300:]}')
            said += chunk
        yield said
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def port_of(said: bytes) -> int:
    return int(said.split(b'PORT ', 1)[1].split()[0])


async def call(ws: aiohttp.ClientWebSocketResponse, method: str, *params: Any) -> Any:
    await ws.send_str(orjson.dumps({'jsonrpc': '2.0', 'id': 1, 'method': method, 'params': list(params)}).decode())
    while True:
        message = orjson.loads((await ws.receive(timeout=TIMEOUT)).data)
        if message.get('id') == 1:
            return message['result']


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(ports: list[int], args: argparse.Namespace) -> dict[str, float]:
    urls = [f'http://127.0.0.1:{port}/ws' for port in ports]
    results: dict[str, float] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:  # no pool limit
        control = await session.ws_connect(urls[0])
        clients = [await session.ws_connect(urls[index % len(urls)]) for index in range(args.clients)]

        async def ticks(ws: aiohttp.ClientWebSocketResponse) -> list[float]:
            latencies = []
            while len(latencies) < args.count:
                message = orjson.loads((await ws.receive(timeout=TIMEOUT)).data)
                if message.get('method') == 'tick':
                    latencies.append(time.time() - message['params'][1])
            return latencies

        readers = [asyncio.ensure_future(ticks(ws)) for ws in clients]
        started = time.perf_counter()
        assert await call(control, 'announce', args.count) == args.count
        latencies = [latency for reader in await asyncio.gather(*readers) for latency in reader]
        elapsed = time.perf_counter() - started
        results['broadcast msgs/s'] = len(latencies) / elapsed
        results['broadcast p50 ms'] = percentile(latencies, 0.5) * 1000
        results['broadcast p99 ms'] = percentile(latencies, 0.99) * 1000
        for ws in clients:
            await ws.close()

        subscribers = [await session.ws_connect(urls[index % len(urls)]) for index in range(args.subscribers)]
        for ws in subscribers:
            await call(ws, 'feed')

        async def items(ws: aiohttp.ClientWebSocketResponse) -> list[float]:
            latencies = []
            while len(latencies) < args.count:
                message = orjson.loads((await ws.receive(timeout=TIMEOUT)).data)
                params = message.get('params')
                if isinstance(params, dict) and 'result' in params:
                    latencies.append(time.time() - params['result']['sent_at'])
            return latencies

        await asyncio.sleep(0.5)  # let every subscription's generator reach its topic before publishing
        readers = [asyncio.ensure_future(items(ws)) for ws in subscribers]
        started = time.perf_counter()
        assert await call(control, 'publish', args.count) == args.count
        latencies = [latency for reader in await asyncio.gather(*readers) for latency in reader]
        elapsed = time.perf_counter() - started
        results['topic items/s'] = len(latencies) / elapsed
        results['topic p50 ms'] = percentile(latencies, 0.5) * 1000
        for ws in subscribers:
            await ws.close()

        started = time.perf_counter()
        for _ in range(args.calls):
            assert await call(control, 'ping') == 'pong'
        results['local calls/s'] = args.calls / (time.perf_counter() - started)
        await control.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clients', type=int, default=1000)
    parser.add_argument('--subscribers', type=int, default=100)
    parser.add_argument('--count', type=int, default=50)
    parser.add_argument('--calls', type=int, default=3000)
    parser.add_argument('--output', type=Path, default=HERE / 'results' / 'backplane.json')
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * args.clients + 256)), hard))
    redis_port = free_port()
    redis_command = [
        'redis-server',
        '--port',
        str(redis_port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
    ]
    redis_url = f'redis://127.0.0.1:{redis_port}/0'
    worker = [sys.executable, str(SERVER)]
    results: dict[str, dict[str, float]] = {}
    with running(redis_command, b'Ready to accept connections'):
        with running(worker, b'PORT ') as alone:
            results['one process'] = asyncio.run(measure([port_of(alone)], args))
        with (
            running([*worker, '--redis', redis_url], b'PORT ') as first,
            running([*worker, '--redis', redis_url], b'PORT ') as second,
        ):
            results['two workers + Redis'] = asyncio.run(measure([port_of(first), port_of(second)], args))
    keys = list(results['one process'])
    print(f'{"":<22}' + ''.join(f'{key:>20}' for key in keys))
    for setup, values in results.items():
        print(f'{setup:<22}' + ''.join(f'{values[key]:>20,.1f}' for key in keys))
    one, two = results['one process'], results['two workers + Redis']
    print(f'{"two / one":<22}' + ''.join(f'{two[key] / one[key]:>20.2f}' for key in keys))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
