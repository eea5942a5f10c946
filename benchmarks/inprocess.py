"""In-process micro-benchmark: no network, no event-loop round trips, just the code under test.

Two paths per system, each over the same request bodies:

* ``dispatch``: bytes in -> bytes out (ours: ``await server.dispatch(body, {})``; bare: orjson parse, reply
  objects, orjson dump; 2.0.0: its closest equivalent, see servers/pypi_2_0_0.py).
* ``handler``: the aiohttp handler called directly, ``await handler(request)`` (a request object in, a response
  out), with a fresh request per iteration made by
  ``aiohttp.test_utils.make_mocked_request('POST', '/rpc', headers=..., payload=...)`` whose payload is a
  ``StreamReader`` fed with the body. The requests of a timed loop are all built before it starts, so the
  loop times the handlers alone (reading the body included); building one request is reported on its own
  as ``request_build_us``.

Each figure is the best of ``BEST_OF`` bounded loops timed with ``time.perf_counter``, in microseconds per
JSON-RPC call (a batch of 100 counts as 100 calls). Every path's reply is checked before it is timed.

Usage:
    python benchmarks/inprocess.py [--quick]           # bare and ours side by side, as a table
    python launch.py --expect ... inprocess.py --server servers/X.py --bodies FILE [--quick]
                                                       # one system, JSON on stdout (used by run.py)

With ``--server`` the script imports nothing from benchmarks/ (the server module is loaded from its path),
so it also runs isolated in the aiohttp-rpc 2.0.0 venv.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from unittest import mock

from aiohttp import streams, web
from aiohttp.test_utils import make_mocked_request

__all__ = ('BEST_OF', 'RequestFactory', 'load_server', 'measure_system')

HERE = Path(__file__).resolve().parent
BEST_OF = 3
# Bounded loops: iterations per timed loop, per path and scenario (--quick divides them by QUICK_DIVISOR).
ITERATIONS = {
    'dispatch': {'ping': 10_000, 'echo': 5_000, 'batch100': 200},
    'handler': {'ping': 1_000, 'echo': 1_000, 'batch100': 100},
}
QUICK_DIVISOR = 5
HEADERS = {'Content-Type': 'application/json'}
STREAM_LIMIT = 2**16

Path_ = Callable[[Any], Awaitable[Any]]


class _FedStream:
    """The protocol side of a ``StreamReader`` whose body is fed in full up front: it never has to pause."""

    connected = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


class RequestFactory:
    """Makes a fresh ``web.Request`` for ``body`` on each call, with ``make_mocked_request``.

    The app, writer, protocol and transport stand-ins are made once and shared: left to itself,
    make_mocked_request builds each as a new ``unittest.mock`` object on every call, which takes about a
    millisecond and would hide the handlers' cost entirely. The request itself, its headers and its payload
    stream are new every time.
    """

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._loop = asyncio.get_running_loop()
        self._stream_protocol: Any = _FedStream()
        self._app = web.Application()
        self._writer = mock.Mock()
        self._protocol = mock.Mock()
        self._transport = mock.Mock()

    def __call__(self) -> web.Request:
        payload = streams.StreamReader(self._stream_protocol, STREAM_LIMIT, loop=self._loop)
        payload.feed_data(self._body)
        payload.feed_eof()
        return make_mocked_request(
            'POST',
            '/rpc',
            headers=HEADERS,
            payload=payload,
            app=self._app,
            writer=self._writer,
            protocol=self._protocol,
            transport=self._transport,
        )


def load_server(path: Path) -> Any:
    """Import a server module from its file, without putting its folder on ``sys.path``."""
    spec = importlib.util.spec_from_file_location(f'bench_server_{path.stem}', path)
    if spec is None or spec.loader is None:
        raise ImportError(f'cannot load {path}')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _best_of(step: Callable[[], Awaitable[Any]], iterations: int) -> float:
    """The fastest of ``BEST_OF`` timed loops of ``iterations`` steps, in seconds."""
    best = float('inf')
    for _ in range(BEST_OF):
        start = time.perf_counter()
        for _ in range(iterations):
            await step()
        best = min(best, time.perf_counter() - start)
    return best


async def _best_of_handled(handler: Path_, factory: RequestFactory, iterations: int) -> float:
    """As :func:`_best_of`, for ``handler`` over ``iterations`` fresh requests built before each loop."""
    best = float('inf')
    for _ in range(BEST_OF):
        requests = [factory() for _ in range(iterations)]
        start = time.perf_counter()
        for request in requests:
            await handler(request)
        best = min(best, time.perf_counter() - start)
    return best


def _reply_bytes(path: str, output: Any) -> tuple[bytes, str | None]:
    """The reply body of one call of ``path``, and what is wrong with the HTTP side of it, if anything."""
    if path == 'dispatch':
        return output or b'', None
    status, body = output.status, output.body or b''
    return (body, None) if status == 200 else (body, f'HTTP {status}')


async def measure_system(paths: dict[str, Path_], bodies: dict[str, dict[str, Any]], quick: bool) -> dict[str, Any]:
    """Time every path over every body; replies are returned (decoded to text) for the caller to check."""
    divisor = QUICK_DIVISOR if quick else 1
    results: dict[str, Any] = {}
    for path, run in paths.items():
        rows: dict[str, Any] = {}
        for scenario, spec in bodies.items():
            body = spec['body'].encode()
            iterations = max(1, ITERATIONS[path][scenario] // divisor)
            if path == 'handler':
                factory = RequestFactory(body)
                reply, problem = _reply_bytes(path, await run(factory()))
                await _best_of_handled(run, factory, max(1, iterations // 10))  # warm-up
                seconds = await _best_of_handled(run, factory, iterations)
            else:

                async def step(run: Path_ = run, body: bytes = body) -> Any:
                    return await run(body)

                reply, problem = _reply_bytes(path, await step())
                await _best_of(step, max(1, iterations // 10))  # warm-up
                seconds = await _best_of(step, iterations)
            rows[scenario] = {
                'us': seconds / (iterations * spec['calls']) * 1e6,
                'iterations': iterations,
                'reply': reply.decode(errors='replace'),
                'problem': problem,
            }
        results[path] = rows
    first = next(iter(bodies.values()))
    factory = RequestFactory(first['body'].encode())

    async def build() -> Any:
        return factory()

    iterations = max(1, ITERATIONS['handler']['ping'] // divisor)
    results['request_build_us'] = await _best_of(build, iterations) / iterations * 1e6
    return results


def _standalone(quick: bool) -> int:
    import payloads

    bodies = {
        scenario: {'body': payloads.body(scenario).decode(), 'calls': payloads.CALLS_PER_REQUEST[scenario]}
        for scenario in payloads.SCENARIOS
    }
    results = {}
    for name in ('bare', 'ours'):
        paths = load_server(HERE / 'servers' / f'{name}.py').inprocess_paths()
        results[name] = asyncio.run(measure_system(paths, bodies, quick))
        for path in ('dispatch', 'handler'):
            for scenario, row in results[name][path].items():
                problem = row['problem'] or payloads.check_reply(scenario, row['reply'].encode())
                if problem is not None:
                    print(f'{name} {path} {scenario}: {problem}', file=sys.stderr)
                    return 1
    header = f'{"path":<9} {"scenario":<9} {"bare µs/call":>13} {"ours µs/call":>13} {"ours - bare":>12}'
    print(f'{header}  (best of {BEST_OF})')
    for path in ('dispatch', 'handler'):
        for scenario in bodies:
            bare, ours = results['bare'][path][scenario]['us'], results['ours'][path][scenario]['us']
            print(f'{path:<9} {scenario:<9} {bare:>13.2f} {ours:>13.2f} {ours - bare:>12.2f}')
    print(f'make_mocked_request + payload alone: {results["bare"]["request_build_us"]:.1f} µs per request')
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description='In-process micro-benchmark (no network).')
    parser.add_argument('--quick', action='store_true', help=f'{QUICK_DIVISOR} times fewer iterations')
    parser.add_argument('--server', type=Path, help='one server module to time; prints JSON')
    parser.add_argument('--bodies', type=Path, help='with --server: JSON {scenario: {"body": ..., "calls": N}}')
    args = parser.parse_args()
    if args.server is None:
        return _standalone(args.quick)
    if args.bodies is None:
        parser.error('--server needs --bodies')
    bodies = json.loads(args.bodies.read_text())
    paths = load_server(args.server.resolve()).inprocess_paths()
    results = asyncio.run(measure_system(paths, bodies, args.quick))
    sys.stdout.write('BENCH_RESULT ' + json.dumps(results) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
