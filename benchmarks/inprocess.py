"""In-process micro-benchmark: the dispatcher alone, bytes in -> bytes out, no network, no aiohttp.

Times ``await server.dispatch(body, {})`` on ``aiohttp_rpc.rpc_server`` (the same ``ping``/``echo`` as the
HTTP benchmark) over a bounded loop of N messages, best of 5, and reports microseconds per JSON-RPC call (a
batch of 100 counts as 100 calls). The same loop around the bare server's ``answer()`` (orjson parse, reply
objects, orjson dump) gives the floor, so the difference is what the library adds per call.

Usage:
    python benchmarks/inprocess.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import payloads
from servers.bare import answer
from servers.ours import register

__all__ = ('run_all',)

REPEATS = 5
ITERATIONS = {'ping': 20_000, 'echo': 10_000, 'batch100': 300}
QUICK_ITERATIONS = {'ping': 4_000, 'echo': 2_000, 'batch100': 60}

DispatchType = Callable[[bytes, dict[str, Any]], Awaitable[bytes | None]]


async def _bare_dispatch(data: bytes, context: dict[str, Any]) -> bytes:
    return answer(data)


async def _best_of(dispatch: DispatchType, data: bytes, iterations: int) -> float:
    """The fastest of ``REPEATS`` timed loops of ``iterations`` dispatches, in seconds."""
    best = float('inf')
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(iterations):
            await dispatch(data, {})
        best = min(best, time.perf_counter() - start)
    return best


async def run_all(quick: bool = False) -> dict[str, dict[str, float]]:
    """Scenario -> ``{'bare_us', 'ours_us', 'iterations', 'calls'}``, times in microseconds per call.

    Raises:
        RuntimeError: a dispatcher answered a scenario wrongly.
    """
    server = register()
    systems: dict[str, DispatchType] = {'bare': _bare_dispatch, 'ours': server.dispatch}
    iterations = QUICK_ITERATIONS if quick else ITERATIONS
    results: dict[str, dict[str, float]] = {}
    for scenario in payloads.SCENARIOS:
        data = payloads.body(scenario)
        calls = iterations[scenario] * payloads.CALLS_PER_REQUEST[scenario]
        row: dict[str, float] = {'iterations': iterations[scenario], 'calls': calls}
        for name, dispatch in systems.items():
            problem = payloads.check_reply(scenario, await dispatch(data, {}) or b'')
            if problem is not None:
                raise RuntimeError(f'in-process {name} {scenario}: {problem}')
            await _best_of(dispatch, data, max(1, iterations[scenario] // 10))  # warm-up
            seconds = await _best_of(dispatch, data, iterations[scenario])
            row[f'{name}_us'] = seconds / calls * 1e6
        results[scenario] = row
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description='In-process dispatcher micro-benchmark (no network).')
    parser.add_argument('--quick', action='store_true', help='fewer iterations')
    parser.add_argument('--json', action='store_true', help='print the results as JSON only')
    args = parser.parse_args()
    results = asyncio.run(run_all(quick=args.quick))
    if args.json:
        sys.stdout.write(orjson.dumps(results).decode() + '\n')
        return 0
    print(f'{"scenario":<10} {"bare µs/call":>13} {"ours µs/call":>13} {"ours - bare":>12}  (best of {REPEATS})')
    for scenario, row in results.items():
        overhead = row['ours_us'] - row['bare_us']
        print(f'{scenario:<10} {row["bare_us"]:>13.2f} {row["ours_us"]:>13.2f} {overhead:>12.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
