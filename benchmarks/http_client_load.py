"""HTTP client load: ``ping`` called one call after another, each waiting for its reply.

``--client rpc`` uses ``aiohttp_rpc.JSONRPCClient`` with its defaults, as a user would:
``async with JSONRPCClient(url) as rpc`` and ``await rpc.call('ping')`` in a loop. Whichever ``aiohttp_rpc``
the interpreter imports is used (run.py starts this through launch.py, which checks which one it is).

``--client bare`` is the floor for the same work: one ``aiohttp.ClientSession``, and per call a request
object built and serialized with orjson (with its own id), ``session.post(url, data=body,
headers={'Content-Type': 'application/json'})`` and ``orjson.loads(await response.read())``. It does not
import ``aiohttp_rpc``.

Every result must be ``'pong'`` (for bare: the reply must be ``{"jsonrpc": "2.0", "id": <its id>, "result":
"pong"}`` and the status 200). The first ``--warmup`` calls are not timed. Prints ``BENCH_RESULT {json}``.

Usage:
    python benchmarks/http_client_load.py --client bare --url http://127.0.0.1:PORT/rpc --calls 5000
    python launch.py --expect ... http_client_load.py --client rpc --url URL --calls 5000 [--warmup 500]

Imports nothing from benchmarks/, so it also runs isolated in the 2.0.0 venv. Bounded by the count of calls
and by ``--timeout`` seconds for the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp

__all__ = ('run_load',)

HEADERS = {'Content-Type': 'application/json'}

Call = Callable[[], Awaitable[None]]


class WrongResult(Exception):
    """A call returned something other than ``'pong'``."""


async def _bare_call(stack: AsyncExitStack, url: str) -> Call:
    import orjson

    session = await stack.enter_async_context(aiohttp.ClientSession())
    next_id = 0

    async def call() -> None:
        nonlocal next_id
        next_id += 1
        data = orjson.dumps({'jsonrpc': '2.0', 'method': 'ping', 'id': next_id})
        async with session.post(url, data=data, headers=HEADERS) as response:
            reply = orjson.loads(await response.read())
            status = response.status
        if status != 200 or reply != {'jsonrpc': '2.0', 'id': next_id, 'result': 'pong'}:
            raise WrongResult(f'HTTP {status}: {reply!r:.200}')

    return call


async def _rpc_call(stack: AsyncExitStack, url: str) -> Call:
    import aiohttp_rpc

    rpc = await stack.enter_async_context(aiohttp_rpc.JSONRPCClient(url))

    async def call() -> None:
        result = await rpc.call('ping')
        if result != 'pong':
            raise WrongResult(f'ping returned {result!r:.200}')

    return call


CLIENTS = {'bare': _bare_call, 'rpc': _rpc_call}


async def run_load(client: str, url: str, calls: int, warmup: int) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        call = await CLIENTS[client](stack, url)
        for _ in range(warmup):
            await call()
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        elapsed = time.perf_counter() - started
    return {
        'client': client,
        'calls': calls,
        'warmup': warmup,
        'duration_us': int(elapsed * 1e6),
        'calls_per_s': calls / elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--client', choices=sorted(CLIENTS), required=True)
    parser.add_argument('--url', required=True)
    parser.add_argument('--calls', type=int, default=5_000)
    parser.add_argument('--warmup', type=int, default=500)
    parser.add_argument('--timeout', type=float, default=120.0, help='seconds for the whole run')
    args = parser.parse_args()
    if not 1 <= args.calls <= 1_000_000 or not 0 <= args.warmup <= 1_000_000:
        parser.error('--calls or --warmup out of range')
    try:
        result = asyncio.run(asyncio.wait_for(run_load(args.client, args.url, args.calls, args.warmup), args.timeout))
    except (WrongResult, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        print(f'http_client_load: {type(exc).__name__}: {exc}', file=sys.stderr)
        return 1
    sys.stdout.write('BENCH_RESULT ' + json.dumps(result) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
