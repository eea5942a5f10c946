"""Guard methods by the ``Host`` the client asked for: ``aiohttp_rpc.require_host``.

``require_host(hosts)`` admits a call whose ``Host`` header is listed: an exact name (any port), an exact
``name:port``, or a wildcard ``*.example.com`` (any subdomain, not ``example.com`` itself). Use it per method
or group; for the whole server, ``JSONRPCServer(allowed_hosts=...)`` refuses with HTTP 403 before the body is
even read.

Here ``ping`` answers any host, while ``internal.*`` answers only ``127.0.0.1`` and ``*.corp.example``.

    python examples/guards_host.py --port 8080
    curl -s localhost:8080/rpc -H 'Content-Type: application/json' -H 'Host: api.corp.example' \\
        -d '{"jsonrpc": "2.0", "method": "internal.version", "id": 1}'

    python examples/guards_host.py --once     # try the cases below on a free port and exit
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors

INTERNAL_HOSTS = ['127.0.0.1', '*.corp.example']


def ping() -> str:
    return 'pong'


def version() -> str:
    return '4.2.0-internal'


def create_app() -> web.Application:
    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_method(ping)
    server.add_group(
        'internal', aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_host(INTERNAL_HOSTS)], methods=[version])
    )
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    return app


async def attempt(url: str, method: str, host: str | None) -> None:
    headers = {} if host is None else {'Host': host}
    async with aiohttp_rpc.JSONRPCClient(url, headers=headers) as rpc:
        try:
            outcome = repr(await rpc.call(method))
        except errors.JSONRPCError as exc:
            outcome = f'error {exc.code} {exc.message!r}'
    print(f'{method:<18} Host: {host or "127.0.0.1:<port> (the URL)":<30} -> {outcome}')


async def run_once() -> None:
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, '127.0.0.1', 0).start()
        host, port = runner.addresses[0][:2]
        url = f'http://{host}:{port}/rpc'
        print(f'Serving on {url}')
        await attempt(url, 'ping', 'anything.example')
        await attempt(url, 'internal.version', None)
        await attempt(url, 'internal.version', 'api.corp.example')
        await attempt(url, 'internal.version', 'db.eu.corp.example:8443')
        await attempt(url, 'internal.version', 'corp.example')
        await attempt(url, 'internal.version', 'localhost')
        await attempt(url, 'internal.version', 'evil.example')
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
