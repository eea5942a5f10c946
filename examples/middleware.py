"""Writing middlewares: one that times and logs every call, one that can answer without calling the method.

A middleware is ``async def middleware(request, handler) -> response``. It can work before and after
``await handler(request)`` (``timing_middleware`` measures and logs each call), or return a response of
its own without calling ``handler`` at all (``maintenance_middleware`` refuses calls while maintenance
mode is on). Middlewares run in the order given, the first one outermost.

Serve it::

    python examples/middleware.py --port 8080

or start it on a free port, switch maintenance mode on and off between calls, and exit::

    python examples/middleware.py --once

The server's log lines are prefixed ``[server]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.errors import JSONRPCError, ServerError
from aiohttp_rpc.typedefs import SingleRequestProcessorType

logger = logging.getLogger('examples.middleware')


class UnderMaintenance(ServerError):
    """Raised while the service is in maintenance mode."""

    code = -32001  # -32000..-32099 is left to servers for their own errors
    message = 'Service under maintenance'


async def timing_middleware(
    request: aiohttp_rpc.JSONRPCRequest, handler: SingleRequestProcessorType
) -> aiohttp_rpc.JSONRPCResponse:
    started = time.perf_counter()
    response = await handler(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    outcome = 'ok' if response.error is None else f'error {response.error.code}'
    logger.info('%s (id=%r): %s in %.2f ms', request.method, request.id, outcome, elapsed_ms)
    return response


class MaintenanceSwitch:
    """While ``on``, every method except those in ``always_allowed`` is refused."""

    def __init__(self, *, always_allowed: frozenset[str]) -> None:
        self.on = False
        self.always_allowed = always_allowed

    async def middleware(
        self, request: aiohttp_rpc.JSONRPCRequest, handler: SingleRequestProcessorType
    ) -> aiohttp_rpc.JSONRPCResponse:
        if self.on and request.method not in self.always_allowed:
            # Short-circuit: answer right here; the method and any later middleware never run.
            error = UnderMaintenance(data={'retry_after_seconds': 30})
            return aiohttp_rpc.JSONRPCResponse(id=request.id, error=error)
        return await handler(request)


def create_app() -> web.Application:
    switch = MaintenanceSwitch(always_allowed=frozenset({'set_maintenance'}))

    def set_maintenance(on: bool) -> bool:
        switch.on = on
        return switch.on

    def add(a: float, b: float) -> float:
        return a + b

    rpc_server = aiohttp_rpc.JSONRPCServer(
        middlewares=[
            aiohttp_rpc.middlewares.exception_middleware,
            timing_middleware,  # before the switch, so refused calls are logged too
            switch.middleware,
        ]
    )
    rpc_server.add_methods([add, set_maintenance])
    app = web.Application()
    app.router.add_routes([web.post('/rpc', rpc_server.handle_http_request)])
    return app


async def call_add(rpc: aiohttp_rpc.JSONRPCClient) -> None:
    try:
        print(f'add(1, 2)                -> {await rpc.methods.add(1, 2)}')
    except JSONRPCError as exc:
        print(f'add(1, 2)                -> error {exc.code} {exc.message!r}, data={exc.data!r}')


async def run_once(host: str, port: int) -> None:
    """Serve on ``host:port`` (0: any free port), make the calls, and shut down."""
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        url = f'http://{bound_host}:{bound_port}/rpc'
        print(f'Serving on {url}')

        async with aiohttp_rpc.JSONRPCClient(url) as rpc:
            await call_add(rpc)
            print(f'set_maintenance(True)    -> {await rpc.methods.set_maintenance(True)}')
            await call_add(rpc)
            print(f'set_maintenance(False)   -> {await rpc.methods.set_maintenance(False)}')
            await call_add(rpc)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=int, help='port to listen on (default: 8080; a free one with --once)')
    parser.add_argument('--once', action='store_true', help='serve, make a few calls, print, exit')
    args = parser.parse_args()

    log_handler = logging.StreamHandler(sys.stdout)  # stdout, so log lines and results print in order
    log_handler.setFormatter(logging.Formatter('[server] %(message)s'))
    logger.addHandler(log_handler)
    logger.setLevel(logging.INFO)

    if args.once:
        asyncio.run(run_once(args.host, 0 if args.port is None else args.port))
    else:
        web.run_app(create_app(), host=args.host, port=8080 if args.port is None else args.port)


if __name__ == '__main__':
    main()
