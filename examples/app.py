"""A deployable aiohttp_rpc service: JSON-RPC over HTTP and WebSocket, an API console and OpenRPC discovery.

Routes:

* ``POST /rpc``: JSON-RPC over HTTP (``JSONRPCServer``);
* ``GET /ws``: JSON-RPC over WebSocket (``WSJSONRPCServer``), the same methods;
* ``GET /docs``: the API console, ``GET /openrpc.json``: the OpenRPC document (also the ``rpc.discover`` method).

In production, run several worker processes under gunicorn with our worker (aiohttp's, with handler cancellation)::

    gunicorn examples.app:app -c examples/gunicorn.conf.py
    gunicorn examples.app:app -k aiohttp_rpc.server.worker.GunicornWebWorker -w 2 -b 127.0.0.1:8080 \
        --graceful-timeout 30

For development, one process::

    python examples/app.py --port 8080

Stopping with SIGTERM is graceful in both cases: the server stops accepting connections, closes every WebSocket
with 1001 Going Away, lets the HTTP calls already running finish (up to 95% of gunicorn's ``--graceful-timeout``,
or ``--shutdown-timeout`` here), then exits with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.errors import InvalidParams
from aiohttp_rpc.typedefs import SingleRequestProcessorType

MAX_SLOW_SECONDS = 10.0


class InFlight:
    """Counts the JSON-RPC calls this process is running: a gauge to export, and what ``status()`` reports."""

    def __init__(self) -> None:
        self.count = 0

    async def middleware(
        self, request: aiohttp_rpc.JSONRPCRequest, handler: SingleRequestProcessorType
    ) -> aiohttp_rpc.JSONRPCResponse:
        self.count += 1
        try:
            return await handler(request)
        finally:
            self.count -= 1


in_flight = InFlight()
middlewares = (in_flight.middleware, *aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
http_server = aiohttp_rpc.JSONRPCServer(middlewares=middlewares)
ws_server = aiohttp_rpc.WSJSONRPCServer(middlewares=middlewares)


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Send back the arguments as received."""
    return {'args': args, 'kwargs': kwargs}


async def slow(seconds: float) -> str:
    """Wait the given number of seconds (10 at most) without blocking the worker, then say so."""
    if not 0 <= seconds <= MAX_SLOW_SECONDS:
        raise InvalidParams(data={'details': f'seconds must be between 0 and {MAX_SLOW_SECONDS:g}.'})
    await asyncio.sleep(seconds)
    return f'slept {seconds:g} s'


def pid() -> int:
    """The id of the worker process that answered."""
    return os.getpid()


def status() -> dict[str, int]:
    """This worker: its process id, the other calls it is running, and its open WebSockets."""
    return {'pid': os.getpid(), 'in_flight': in_flight.count - 1, 'websockets': len(ws_server.peers)}


for server in (http_server, ws_server):
    server.add_methods([echo, slow, pid, status])
http_server.add_discovery(title='aiohttp_rpc example service', version='1.0.0')


def create_app() -> web.Application:
    """Mount both servers and the console on a new application."""
    application = web.Application()
    application.router.add_post('/rpc', http_server.handle_http_request)
    application.router.add_get('/ws', ws_server.handle_http_request)
    http_server.mount_docs(application, endpoint='/rpc', title='aiohttp_rpc example service', version='1.0.0')
    # Shutdown closes every WebSocket with 1001 Going Away; without it, a WebSocket handler would keep the worker
    # busy until the shutdown timeout and then be cancelled.
    application.on_shutdown.append(ws_server.on_shutdown)
    return application


app = create_app()
"""The application gunicorn serves: ``gunicorn examples.app:app -k aiohttp_rpc.server.worker.GunicornWebWorker``."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=int, default=8080, help='port to listen on (default: %(default)s)')
    parser.add_argument(
        '--shutdown-timeout',
        type=float,
        default=30.0,
        help='seconds running HTTP calls get to finish after SIGTERM or Ctrl-C (default: %(default)s)',
    )
    options = parser.parse_args()
    # handler_cancellation: a call whose client disconnects is cancelled instead of running on for no one.
    web.run_app(
        app,
        host=options.host,
        port=options.port,
        shutdown_timeout=options.shutdown_timeout,
        handler_cancellation=True,
    )


if __name__ == '__main__':
    main()
