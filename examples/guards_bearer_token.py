"""Guard methods with a bearer token: ``aiohttp_rpc.require_bearer_token``.

A guard runs before the method; when it says no, the caller gets ``-32001 Access denied`` and the method does
not run. ``require_bearer_token`` admits a call whose ``Authorization: Bearer <token>`` header is one of the
given tokens (compared in constant time), or, given a function instead of tokens, one the function accepts
(sync or async: look the token up in a database, check a signature...).

Here ``ping`` is open to everyone, ``admin.*`` needs the static token (``GUARDS_DEMO_TOKEN``, default
``s3cret``), and ``reports.*`` asks an async function, which accepts tokens starting with ``team-``.

    python examples/guards_bearer_token.py --port 8080
    curl -s localhost:8080/rpc -H 'Content-Type: application/json' -H 'Authorization: Bearer s3cret' \\
        -d '{"jsonrpc": "2.0", "method": "admin.stats", "id": 1}'

    python examples/guards_bearer_token.py --once     # try the cases below on a free port and exit
"""

from __future__ import annotations

import argparse
import asyncio
import os

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors

TOKEN = os.environ.get('GUARDS_DEMO_TOKEN', 's3cret')


async def verify_team_token(token: str) -> bool:
    """What a real check would do asynchronously (a database or an identity provider); here a prefix test."""
    return token.startswith('team-')


def ping() -> str:
    return 'pong'


def stats() -> dict[str, int]:
    return {'users': 42, 'orders': 7}


def weekly() -> str:
    return 'sales are up'


def create_app() -> web.Application:
    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_method(ping)
    server.add_group(
        'admin', aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_bearer_token({TOKEN})], methods=[stats])
    )
    server.add_group(
        'reports',
        aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_bearer_token(verify_team_token)], methods=[weekly]),
    )
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    return app


async def attempt(url: str, method: str, authorization: str | None) -> None:
    headers = {} if authorization is None else {'Authorization': authorization}
    async with aiohttp_rpc.JSONRPCClient(url, headers=headers) as rpc:
        try:
            outcome = repr(await rpc.call(method))
        except errors.JSONRPCError as exc:
            outcome = f'error {exc.code} {exc.message!r}'
    print(f'{method:<14} Authorization: {authorization or "(none)":<22} -> {outcome}')


async def run_once() -> None:
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, '127.0.0.1', 0).start()
        host, port = runner.addresses[0][:2]
        url = f'http://{host}:{port}/rpc'
        print(f'Serving on {url}')
        await attempt(url, 'ping', None)
        await attempt(url, 'admin.stats', None)
        await attempt(url, 'admin.stats', f'Basic {TOKEN}')
        await attempt(url, 'admin.stats', 'Bearer wrong')
        await attempt(url, 'admin.stats', f'Bearer {TOKEN}')
        await attempt(url, 'reports.weekly', f'Bearer {TOKEN}')
        await attempt(url, 'reports.weekly', 'Bearer team-blue')
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
