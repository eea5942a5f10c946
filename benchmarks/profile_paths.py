"""Where our time goes: cProfile of two in-process paths, top entries by cumulative and by own time.

1. ``handler ping``: ``await server.handle_http_request(request)`` on ``aiohttp_rpc.rpc_server`` with the
   ``ping`` body. The requests are made beforehand with the same ``make_mocked_request`` factory as
   benchmarks/inprocess.py, one fresh request per call, so the profile holds the handler only.
2. ``dispatch batch100``: ``await server.dispatch(body, {})`` with the batch of 100 ``ping`` calls.

Every call runs inside one event-loop task (nothing in these paths has to wait), so the profile sees the
whole call chain. Profiling slows Python calls down unevenly: read the shares, not the absolute times
(``inprocess.py`` gives those).

Usage: python benchmarks/profile_paths.py [--calls N] [--top 15]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import sys
from pathlib import Path

import payloads
from inprocess import RequestFactory
from servers.ours import register

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HANDLER_CALLS = 5_000
BATCH_CALLS = 300


def _where(filename: str, line: int, function: str) -> str:
    if filename == '~':
        return function  # a built-in
    path = Path(filename)
    for base in (ROOT, *(parent for parent in path.parents if parent.name == 'site-packages')):
        if path.is_relative_to(base):
            return f'{path.relative_to(base)}:{line}({function})'
    return f'{path.name}:{line}({function})'


def report(title: str, profile: cProfile.Profile, calls: int, top: int) -> None:
    stats = pstats.Stats(profile)
    entries = stats.stats  # {(file, line, function): (primitive calls, calls, own time, cumulative, callers)}
    total = max(ct for (_cc, _nc, _tt, ct, _callers) in entries.values())
    print(f'\n== {title}: {calls} calls, {total / calls * 1e6:.1f} µs per call under the profiler ==')
    for key, label in (('cumulative', 'cumulative time'), ('tottime', 'own time')):
        index = 3 if key == 'cumulative' else 2
        ranked = sorted(entries.items(), key=lambda item: item[1][index], reverse=True)[:top]
        print(f'\n-- top {top} by {label} --')
        print(f'{"ncalls":>8} {"own µs/call":>11} {"cum µs/call":>11} {"cum %":>6}  function')
        for (filename, line, function), (_cc, ncalls, tottime, cumtime, _callers) in ranked:
            print(
                f'{ncalls:>8} {tottime / calls * 1e6:>11.2f} {cumtime / calls * 1e6:>11.2f} '
                f'{cumtime / total * 100:>5.1f}%  {_where(filename, line, function)}'
            )


async def profile_handler(calls: int) -> cProfile.Profile:
    server = register()
    factory = RequestFactory(payloads.body('ping'))
    for _ in range(200):  # warm-up
        await server.handle_http_request(factory())
    requests = [factory() for _ in range(calls)]
    gc.collect()
    gc.freeze()  # the prebuilt requests (and their mock objects) must not make every collection slower
    profile = cProfile.Profile()
    profile.enable()
    for request in requests:
        await server.handle_http_request(request)
    profile.disable()
    gc.unfreeze()
    return profile


async def profile_batch(calls: int) -> cProfile.Profile:
    server = register()
    body = payloads.body('batch100')
    for _ in range(20):  # warm-up
        await server.dispatch(body, {})
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        await server.dispatch(body, {})
    profile.disable()
    return profile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--calls', type=int, help='calls per path (default: 5000 handler, 300 batch)')
    parser.add_argument('--top', type=int, default=15)
    args = parser.parse_args()
    handler_calls = args.calls or HANDLER_CALLS
    batch_calls = args.calls or BATCH_CALLS
    report(
        'handler ping (HTTP handler, in process)', asyncio.run(profile_handler(handler_calls)), handler_calls, args.top
    )
    report('dispatch batch100 (per batch of 100)', asyncio.run(profile_batch(batch_calls)), batch_calls, args.top)
    return 0


if __name__ == '__main__':
    sys.exit(main())
