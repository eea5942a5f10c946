"""Fallback load generator for when wrk is not installed: aiohttp client, keep-alive, N concurrent workers.

Each worker POSTs the body in a loop over its own pooled keep-alive connection until the duration is over or
the request cap is reached, and every reply is checked like wrk_post.lua checks it. Prints one line,
``BENCH_RESULT {json}``, with the same fields.

It is far slower than wrk: on one core it is often the bottleneck, which lowers every figure and pulls the
ours/bare ratio toward 1.0. Use it to check that the suite works, not for numbers to publish.

Usage:
    python benchmarks/pyload.py --url URL --body-file FILE --duration SECONDS
        [--connections 50] [--expect-results 1] [--max-requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

import aiohttp
import orjson


async def run(
    url: str, data: bytes, connections: int, duration: float, expect_results: int, max_requests: int
) -> dict[str, Any]:
    counts = {'requests': 0, 'non200': 0, 'rpc_errors': 0, 'socket_errors': 0, 'bytes': 0}
    first_bad: list[str] = []
    latencies: list[float] = []
    headers = {'Content-Type': 'application/json'}
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        deadline = time.perf_counter() + duration
        attempts = 0

        async def worker() -> None:
            nonlocal attempts
            while attempts < max_requests and time.perf_counter() < deadline:
                attempts += 1
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=data, headers=headers) as response:
                        raw = await response.read()
                        status = response.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    counts['socket_errors'] += 1
                    if not first_bad:
                        first_bad.append(repr(exc))
                    await asyncio.sleep(0.01)  # a refused connection must not spin
                    continue
                latencies.append(time.perf_counter() - sent)
                counts['requests'] += 1
                counts['bytes'] += len(raw)
                if status != 200:
                    counts['non200'] += 1
                    if not first_bad:
                        first_bad.append(f'HTTP {status}: {raw[:200]!r}')
                elif b'"error"' in raw or raw.count(b'"result"') != expect_results:
                    counts['rpc_errors'] += 1
                    if not first_bad:
                        first_bad.append(repr(raw[:200]))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    return {
        **counts,
        'duration_us': int(elapsed * 1e6),
        'replies': counts['requests'],
        'connect_errors': 0,
        'read_errors': counts['socket_errors'],
        'write_errors': 0,
        'status_errors': counts['non200'],
        'timeouts': 0,
        'latency_p50_us': int(quantiles[49] * 1e6),
        'latency_p99_us': int(quantiles[98] * 1e6),
        'latency_max_us': int(max(latencies, default=0.0) * 1e6),
        'first_bad': first_bad[0] if first_bad else '',
    }


def main() -> int:
    parser = argparse.ArgumentParser(description='Fallback HTTP load generator (aiohttp, keep-alive).')
    parser.add_argument('--url', required=True)
    parser.add_argument('--body-file', required=True)
    parser.add_argument('--duration', type=float, required=True)
    parser.add_argument('--connections', type=int, default=50)
    parser.add_argument('--expect-results', type=int, default=1)
    parser.add_argument('--max-requests', type=int, default=10_000_000)
    args = parser.parse_args()
    with open(args.body_file, 'rb') as file:
        data = file.read()
    result = asyncio.run(run(args.url, data, args.connections, args.duration, args.expect_results, args.max_requests))
    sys.stdout.write('BENCH_RESULT ' + orjson.dumps(result).decode() + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
