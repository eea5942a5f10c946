"""Guard methods by an HTTP header: ``aiohttp_rpc.require_header``.

``require_header(name, value)`` admits a call whose HTTP request carries header ``name`` with exactly
``value`` (compared in constant time); ``require_header(name)`` only wants the header to be there. Anything
else gets ``-32001 Access denied`` and the method does not run.

Here ``ping`` is open, ``inventory.*`` needs ``X-Api-Key: key-123`` (``GUARDS_DEMO_KEY`` changes it), and
``inventory.restock`` also needs an ``X-Request-Id`` header of any value (a method-level guard on top of the
group's).

    python examples/guards_header.py --port 8080
    curl -s localhost:8080/rpc -H 'Content-Type: application/json' -H 'X-Api-Key: key-123' \\
        -d '{"jsonrpc": "2.0", "method": "inventory.count", "params": ["apple"], "id": 1}'

    python examples/guards_header.py --once     # try the cases below on a free port and exit
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping
from typing import Any

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors

API_KEY = os.environ.get('GUARDS_DEMO_KEY', 'key-123')
STOCK = {'apple': 12, 'pear': 0}


def ping() -> str:
    return 'pong'


def count(item: str) -> int:
    return STOCK.get(item, 0)


def restock(item: str, quantity: int) -> int:
    STOCK[item] = STOCK.get(item, 0) + quantity
    return STOCK[item]


def create_app() -> web.Application:
    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_method(ping)
    inventory = aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_header('X-Api-Key', API_KEY)])
    inventory.add_methods(
        [count, aiohttp_rpc.JSONRPCMethod(restock, guards=[aiohttp_rpc.require_header('X-Request-Id')])]
    )
    server.add_group('inventory', inventory)
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    return app


async def attempt(url: str, method: str, params: list[Any], headers: Mapping[str, str]) -> None:
    async with aiohttp_rpc.JSONRPCClient(url, headers=dict(headers)) as rpc:
        try:
            outcome = repr(await rpc.call(method, *params))
        except errors.JSONRPCError as exc:
            outcome = f'error {exc.code} {exc.message!r}'
    shown = ', '.join(f'{name}: {value}' for name, value in headers.items()) or '(no headers)'
    print(f'{method:<18} {shown:<44} -> {outcome}')


async def run_once() -> None:
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, '127.0.0.1', 0).start()
        host, port = runner.addresses[0][:2]
        url = f'http://{host}:{port}/rpc'
        print(f'Serving on {url}')
        await attempt(url, 'ping', [], {})
        await attempt(url, 'inventory.count', ['apple'], {})
        await attempt(url, 'inventory.count', ['apple'], {'X-Api-Key': 'key-999'})
        await attempt(url, 'inventory.count', ['apple'], {'X-Api-Key': API_KEY})
        await attempt(url, 'inventory.restock', ['pear', 5], {'X-Api-Key': API_KEY})
        await attempt(url, 'inventory.restock', ['pear', 5], {'X-Api-Key': API_KEY, 'X-Request-Id': 'r-1'})
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8080, help='port to listen on (default: %(default)s)')
    parser.add_argument('--once', action='store_true', help='serve on a free port, try each case and exit')
    args = parser.parse_args()
    if args.once:
        asyncio.run(run_once())
    else:
        web.run_app(create_app(), host='127.0.0.1', port=args.port)


if __name__ == '__main__':
    main()
