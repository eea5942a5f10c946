"""A JSON-RPC server over WebSocket.

Run:  python examples/ws_server.py --port 8080
Then: python examples/ws_client.py --url ws://127.0.0.1:8080/rpc

Besides answering calls, the server greets every client with a server-to-client call, and broadcasts the
time to everyone connected every few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
from collections.abc import AsyncIterator

from aiohttp import web

import aiohttp_rpc

server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)


def echo(*args: object, **kwargs: object) -> dict[str, object]:
    """Send back what you sent."""
    return {'args': args, 'kwargs': kwargs}


async def ping(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
    """Answer 'pong'."""
    return 'pong'


async def who_am_i(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
    """Ask the calling client for its name (a call from the server back to the client) and greet it."""
    peer = aiohttp_rpc.get_peer(rpc_request)
    name = await peer.methods.name()
    return f'You are {name}, one of {len(server.peers)} connected client(s).'


server.add_methods(
    [
        echo,
        aiohttp_rpc.JSONRPCMethod(ping, pass_extra_kwargs=True),
        aiohttp_rpc.JSONRPCMethod(who_am_i, pass_extra_kwargs=True),
    ]
)


async def clock(app: web.Application) -> AsyncIterator[None]:
    """Broadcast the time every 5 seconds; the task is owned by the app and cancelled on shutdown."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(5)
            await server.broadcast('time', datetime.datetime.now(datetime.timezone.utc).isoformat())

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    app.cleanup_ctx.append(clock)
    return app


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8080)
    options = parser.parse_args()
    web.run_app(make_app(), host=options.host, port=options.port)
