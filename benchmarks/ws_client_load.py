"""WebSocket client load: an ``aiohttp_rpc.WSJSONRPCClient`` calling ``ping`` with a fixed number in flight.

Whichever ``aiohttp_rpc`` the interpreter imports is used (ours, or 2.0.0 in its own venv: run.py starts this
through launch.py, which checks which one it is). The client is created with its defaults and used as a
user would: ``async with WSJSONRPCClient(url) as rpc`` and ``await rpc.methods.ping()``. ``--in-flight``
workers each make calls one after another until ``--warmup + --calls`` calls are done, so exactly that many
are in flight until the last few (the same as a semaphore of that size, without a task per call). Every
result must be ``'pong'``. The first ``--warmup`` calls are not timed. Prints ``BENCH_RESULT {json}``.

Usage:
    python launch.py --expect ... ws_client_load.py --url ws://127.0.0.1:PORT/rpc --calls 10000
        [--warmup 1000] [--in-flight 100] [--timeout 120]

Imports nothing from benchmarks/, so it also runs isolated in the 2.0.0 venv. Bounded by the count of calls
and by ``--timeout`` seconds for the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import aiohttp_rpc

__all__ = ('run_load',)


class WrongResult(Exception):
    """A call returned something other than ``'pong'``."""


async def _calls(rpc: Any, count: int, in_flight: int) -> None:
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            result = await rpc.methods.ping()
            if result != 'pong':
                raise WrongResult(f'ping returned {result!r:.200}')

    await asyncio.gather(*(worker() for _ in range(min(in_flight, count))))


async def run_load(url: str, calls: int, warmup: int, in_flight: int) -> dict[str, Any]:
    async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
        if warmup:
            await _calls(rpc, warmup, in_flight)
        started = time.perf_counter()
        await _calls(rpc, calls, in_flight)
        elapsed = time.perf_counter() - started
    return {
        'calls': calls,
        'warmup': warmup,
        'in_flight': in_flight,
        'duration_us': int(elapsed * 1e6),
        'calls_per_s': calls / elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--calls', type=int, default=10_000)
    parser.add_argument('--warmup', type=int, default=1_000)
    parser.add_argument('--in-flight', type=int, default=100)
    parser.add_argument('--timeout', type=float, default=120.0, help='seconds for the whole run')
    args = parser.parse_args()
    if not 1 <= args.calls <= 1_000_000 or not 0 <= args.warmup <= 1_000_000 or not 1 <= args.in_flight <= 10_000:
        parser.error('--calls, --warmup or --in-flight out of range')
    try:
        result = asyncio.run(
            asyncio.wait_for(run_load(args.url, args.calls, args.warmup, args.in_flight), args.timeout)
        )
    except (WrongResult, aiohttp_rpc.errors.JSONRPCError, asyncio.TimeoutError, OSError) as exc:
        print(f'ws_client_load: {type(exc).__name__}: {exc}', file=sys.stderr)
        return 1
    sys.stdout.write('BENCH_RESULT ' + json.dumps(result) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
