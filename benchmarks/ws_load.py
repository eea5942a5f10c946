"""WebSocket load generator: ONE connection, a fixed number of JSON-RPC ``ping`` calls kept in flight.

The same raw client drives every server, so the servers are what differs. It opens one aiohttp WebSocket,
sends ``--in-flight`` requests, and from then on sends the next request whenever a reply arrives, until
``--warmup + --calls`` replies are in. Requests carry ids 1, 2, 3, ...; every reply must be
``{"jsonrpc": "2.0", "id": <one we sent and have not had back>, "result": "pong"}``. The first ``--warmup``
replies are not timed; the rate is ``--calls`` divided by the time from the last warm-up reply to the last
reply. Prints one line, ``BENCH_RESULT {json}``.

``--sanity`` instead sends each benchmark body (ping, echo, batch100) once, in turn, and checks each reply
in full against benchmarks/payloads.py.

Usage:
    python benchmarks/ws_load.py --url ws://127.0.0.1:PORT/rpc --calls 10000 [--warmup 1000] [--in-flight 100]
    python benchmarks/ws_load.py --url ws://127.0.0.1:PORT/rpc --sanity

Bounded: by the count of calls and by ``--timeout`` seconds for the whole run; loopback URLs only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import aiohttp
import orjson
from aiohttp import WSMsgType

__all__ = ('run_load', 'run_sanity')


class LoadFailure(Exception):
    """The server closed the socket or sent a reply that is not the expected one."""


async def run_load(url: str, calls: int, warmup: int, in_flight: int) -> dict[str, Any]:
    total = warmup + calls
    pending: set[int] = set()
    sent = received = 0
    started = 0.0
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:

        async def send_next() -> None:
            nonlocal sent
            sent += 1
            pending.add(sent)
            await ws.send_frame(orjson.dumps({'jsonrpc': '2.0', 'method': 'ping', 'id': sent}), WSMsgType.TEXT)

        if warmup == 0:
            started = time.perf_counter()
        for _ in range(min(in_flight, total)):
            await send_next()
        while received < total:
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT:
                raise LoadFailure(f'after {received} replies: {msg.type.name} frame ({msg.data!r:.200})')
            reply = orjson.loads(msg.data)
            request_id = reply.get('id') if isinstance(reply, dict) else None
            if (
                request_id not in pending
                or reply.get('result') != 'pong'
                or reply.get('jsonrpc') != '2.0'
                or len(reply) != 3
            ):
                raise LoadFailure(f'after {received} replies, unexpected reply: {msg.data!r:.300}')
            pending.discard(request_id)
            received += 1
            if received == warmup:
                started = time.perf_counter()
            if sent < total:
                await send_next()
        elapsed = time.perf_counter() - started
    return {
        'calls': calls,
        'warmup': warmup,
        'in_flight': in_flight,
        'duration_us': int(elapsed * 1e6),
        'calls_per_s': calls / elapsed,
    }


async def run_sanity(url: str) -> dict[str, Any]:
    import payloads

    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        for scenario in payloads.SCENARIOS:
            await ws.send_frame(payloads.body(scenario), WSMsgType.TEXT)
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT:
                raise LoadFailure(f'{scenario}: {msg.type.name} frame instead of a text reply')
            problem = payloads.check_reply(scenario, msg.data.encode())
            if problem is not None:
                raise LoadFailure(f'{scenario}: {problem}')
    return {'sanity': 'ok', 'scenarios': list(payloads.SCENARIOS)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--calls', type=int, default=10_000)
    parser.add_argument('--warmup', type=int, default=1_000)
    parser.add_argument('--in-flight', type=int, default=100)
    parser.add_argument('--timeout', type=float, default=120.0, help='seconds for the whole run')
    parser.add_argument('--sanity', action='store_true', help='check one reply per benchmark body and exit')
    args = parser.parse_args()
    if not 1 <= args.calls <= 1_000_000 or not 0 <= args.warmup <= 1_000_000 or not 1 <= args.in_flight <= 10_000:
        parser.error('--calls, --warmup or --in-flight out of range')
    work = run_sanity(args.url) if args.sanity else run_load(args.url, args.calls, args.warmup, args.in_flight)
    try:
        result = asyncio.run(asyncio.wait_for(work, args.timeout))
    except (LoadFailure, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        print(f'ws_load: {type(exc).__name__}: {exc}', file=sys.stderr)
        return 1
    sys.stdout.write('BENCH_RESULT ' + orjson.dumps(result).decode() + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
