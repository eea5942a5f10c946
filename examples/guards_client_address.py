"""Guard methods by the client's address: ``aiohttp_rpc.require_client_address``.

``require_client_address(networks)`` admits calls from addresses inside the listed networks (``'127.0.0.1'``,
``'10.0.0.0/8'``, ``'::1'``...). The address is the peer of the TCP connection: behind a reverse proxy, make
aiohttp see the real client first (e.g. aiohttp-remotes' ``XForwardedRelaxed``), or every call comes from the
proxy.

Here ``local.*`` admits loopback clients (IPv4 and IPv6), and ``office.*`` only the office network
``10.20.0.0/16``, so a call from this machine is refused, over HTTP and over WebSocket alike (for a
WebSocket, the address of the connection).

    python examples/guards_client_address.py --port 8080
    curl -s localhost:8080/rpc -H 'Content-Type: application/json' \\
        -d '{"jsonrpc": "2.0", "method": "local.shutdown_plan", "id": 1}'

    python examples/guards_client_address.py --once     # try the cases below on a free port and exit
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors

LOOPBACK = ['127.0.0.0/8', '::1']
OFFICE = ['10.20.0.0/16']


def shutdown_plan() -> str:
    return 'drain, then stop'


def printers() -> list[str]:
    return ['2nd floor', 'lobby']


def create_app() -> web.Application:
    options = {'middlewares': aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES}
    http_server = aiohttp_rpc.JSONRPCServer(**options)
    ws_server = aiohttp_rpc.WSJSONRPCServer(**options)
    local = aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_client_address(LOOPBACK)], methods=[shutdown_plan])
    office = aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_client_address(OFFICE)], methods=[printers])
    for server in (http_server, ws_server):
        server.add_group('local', local)
        server.add_group('office', office)
    app = web.Application()
    app.router.add_post('/rpc', http_server.handle_http_request)
    app.router.add_get('/ws', ws_server.handle_http_request)
    app.on_shutdown.append(ws_server.on_shutdown)
    return app


async def attempt(rpc: aiohttp_rpc.BaseJSONRPCClient, transport: str, method: str) -> None:
    try:
        outcome = repr(await rpc.call(method))
    except errors.JSONRPCError as exc:
        outcome = f'error {exc.code} {exc.message!r}'
    print(f'{"[" + transport + "]":<6} {method:<20} from 127.0.0.1 -> {outcome}')


async def run_once() -> None:
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, '127.0.0.1', 0).start()
        host, port = runner.addresses[0][:2]
        print(f'Serving on http://{host}:{port}/rpc and ws://{host}:{port}/ws')
        async with aiohttp_rpc.JSONRPCClient(f'http://{host}:{port}/rpc') as rpc:
            await attempt(rpc, 'http', 'local.shutdown_plan')
            await attempt(rpc, 'http', 'office.printers')
        async with aiohttp_rpc.WSJSONRPCClient(f'ws://{host}:{port}/ws') as rpc:
            await attempt(rpc, 'ws', 'local.shutdown_plan')
            await attempt(rpc, 'ws', 'office.printers')
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
