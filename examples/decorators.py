"""Registering methods with the ``@aiohttp_rpc.rpc_method()`` decorator.

The decorator adds a function to the module-level ``aiohttp_rpc.rpc_server`` when the module is imported
and hands the function back unchanged, so it can still be called directly from Python. Its options:

* ``rpc_method()``: served under the function's own name.
* ``rpc_method('text.shout')``: served under another name (any string, dots included).
* ``rpc_method(prepare_result=sorted)``: the result is passed through ``sorted`` before it is sent,
  which turns a set (not JSON) into a list.
* ``rpc_method(pass_extra_kwargs=True)``: the method also receives ``rpc_request``.

Serve it::

    python examples/decorators.py --port 8080

or start it on a free port, call each method once, print the results and exit::

    python examples/decorators.py --once
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

import aiohttp_rpc


@aiohttp_rpc.rpc_method()
def add(a: float, b: float) -> float:
    return a + b


@aiohttp_rpc.rpc_method('text.shout')
def shout(text: str) -> str:
    return f'{text.upper()}!'


@aiohttp_rpc.rpc_method(prepare_result=sorted)
def unique_words(text: str) -> set[str]:
    return set(text.lower().split())


@aiohttp_rpc.rpc_method(pass_extra_kwargs=True)
async def client_address(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str | None:
    # rpc_server's default middlewares pass the request in; its context holds the aiohttp request.
    http_request: web.Request = rpc_request.context['http_request']
    return http_request.remote


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_routes([web.post('/rpc', aiohttp_rpc.rpc_server.handle_http_request)])
    return app


async def run_once(host: str, port: int) -> None:
    """Serve on ``host:port`` (0: any free port), call every method, and shut down."""
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        url = f'http://{bound_host}:{bound_port}/rpc'
        print(f'Serving on {url}, methods: {", ".join(sorted(aiohttp_rpc.rpc_server.methods))}')

        async with aiohttp_rpc.JSONRPCClient(url) as rpc:
            print('add(2, 3)                     ->', await rpc.methods.add(2, 3))
            # A name that is not a Python identifier is looked up with [...] instead of a dot.
            print("text.shout('hello')           ->", await rpc.methods['text.shout']('hello'))
            print("unique_words('b a b c a')     ->", await rpc.methods.unique_words('b a b c a'))
            print('client_address()              ->', await rpc.methods.client_address())
        # Decorated functions are still plain functions.
        print('add(2, 3) called locally      ->', add(2, 3))
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=int, help='port to listen on (default: 8080; a free one with --once)')
    parser.add_argument('--once', action='store_true', help='serve, call each method once, print, exit')
    args = parser.parse_args()
    if args.once:
        asyncio.run(run_once(args.host, 0 if args.port is None else args.port))
    else:
        web.run_app(create_app(), host=args.host, port=8080 if args.port is None else args.port)


if __name__ == '__main__':
    main()
