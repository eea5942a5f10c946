"""Our servers: ``aiohttp_rpc.rpc_server`` (HTTP) and a ``WSJSONRPCServer``, both with DEFAULT_MIDDLEWARES
and serving ``ping`` and ``echo``; ``POST /rpc`` is HTTP JSON-RPC, ``GET /rpc`` is JSON-RPC over WebSocket.

Usage: python benchmarks/launch.py --expect ours benchmarks/servers/ours.py --port PORT

``register()`` and ``inprocess_paths()`` are also used by the in-process micro-benchmark and the profiler,
so all of them measure the same methods.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

import aiohttp_rpc

__all__ = ('echo', 'inprocess_paths', 'ping', 'register', 'ws_server')


async def ping() -> str:
    return 'pong'


async def echo(*args: Any, **kwargs: Any) -> Any:
    """Send the params back: the object for by-name params, the array for by-position ones."""
    return kwargs if kwargs else list(args)


def register() -> aiohttp_rpc.JSONRPCServer:
    """Add ``ping`` and ``echo`` to ``aiohttp_rpc.rpc_server`` (once) and return it."""
    server = aiohttp_rpc.rpc_server
    server.add_methods([ping, echo], replace=True)
    return server


def ws_server() -> aiohttp_rpc.WSJSONRPCServer:
    """A WebSocket server with the default middlewares and the same two methods."""
    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_methods([ping, echo])
    return server


def inprocess_paths() -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """What benchmarks/inprocess.py times: ``dispatch`` (bytes -> bytes) and the aiohttp handler."""
    server = register()

    async def dispatch(raw: bytes) -> bytes | None:
        return await server.dispatch(raw, {})  # what the HTTP handler does with the body

    return {'dispatch': dispatch, 'handler': server.handle_http_request}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # errors only, to stderr (run.py captures it)
    websocket = ws_server()
    app = web.Application()
    app.router.add_post('/rpc', register().handle_http_request)
    app.router.add_get('/rpc', websocket.handle_http_request)
    app.on_shutdown.append(websocket.on_shutdown)
    web.run_app(app, host='127.0.0.1', port=args.port, print=None, access_log=None, shutdown_timeout=1)


if __name__ == '__main__':
    main()
