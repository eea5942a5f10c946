"""Where the in-process ``ping`` dispatch goes, step by step, next to the least a conforming dispatcher does.

Times, in µs per call (best of 5 bounded ``timeit`` loops, this process, no event loop round trips):

* the steps of ``await rpc_server.dispatch(body, {})`` for the benchmark's ``ping`` body, each on its own:
  the decode with the exact-integer check, starting the call (request checks, method lookup, the method's
  coroutine run to completion, the reply dict), and the encode with the strict-JSON and size checks;
* the same steps as bare orjson calls, and the *minimal* JSON-RPC dispatcher of servers/floor.py (checks
  the request the way the specification requires, looks the method up, runs its coroutine, builds the
  reply), with no limits, no exact integers, no NaN check and no middlewares: the floor for any conforming
  dispatcher in CPython, whatever library it is in;
* the whole call: the minimal dispatcher, the same with our two guarantees (exact integers in, strict JSON
  and the size limit out: the floor for a dispatcher that keeps them), and ours' ``dispatch`` driven by hand
  (one coroutine step: the in-process benchmark's dispatch row).

The "starting the call" row times the pipeline's ``_start`` (dispatch/pipeline.py): on the benchmark server
(``DEFAULT_MIDDLEWARES``, which are transparent, and a plain ``ping``) that is the lazy path, with no request
object.

Usage: python benchmarks/breakdown.py [--number N]
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
import payloads
from servers.floor import minimal_dispatch, minimal_strict_dispatch
from servers.ours import ping, register

from aiohttp_rpc import RequestContext

__all__ = ()

REPEATS = 5


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError('the coroutine waited')  # nothing measured here waits


def _best(step: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(step, number=number, repeat=REPEATS)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--number', type=int, default=200_000, help='calls per timed loop (bounded)')
    args = parser.parse_args()
    number = max(1_000, min(args.number, 2_000_000))

    server = register()
    pipeline = server.dispatcher._pipeline  # the steps below are the pipeline's own
    body = payloads.body('ping')
    message = orjson.loads(body)
    context = RequestContext()
    output = pipeline._start(message, context)
    assert output == {'id': 1, 'jsonrpc': '2.0', 'result': 'pong'}, output
    reply = output
    same_reply = orjson.loads(_drive(server.dispatch(body, {}))) == orjson.loads(_drive(minimal_dispatch(body)))
    assert same_reply, 'the two dispatchers disagree'

    rows = [
        ('decode: orjson.loads', lambda: orjson.loads(body)),
        ('decode: ours (exact integers)', lambda: pipeline._loads(body)),
        ('call: coroutine run to completion', lambda: _drive(ping())),
        ('call: ours, _start (checks, lookup, call, reply)', lambda: pipeline._start(message, context)),
        ('encode: orjson.dumps', lambda: orjson.dumps(output)),
        ('encode: ours (strict JSON, size limits)', lambda: pipeline._encoder.encode_reply(reply)),
        ('whole: minimal conforming dispatcher', lambda: _drive(minimal_dispatch(body))),
        ('whole: the same, with exact integers and strict JSON', lambda: _drive(minimal_strict_dispatch(body))),
        ('whole: ours, dispatch(body, {})', lambda: _drive(server.dispatch(body, {}))),
    ]
    width = max(len(name) for name, _ in rows)
    print(f'{"step":<{width}}  µs/call (best of {REPEATS} loops of {number:,})')
    for name, step in rows:
        print(f'{name:<{width}}  {_best(step, number):7.3f}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
