"""A JSON-RPC server for ``tests/test_soak.py``, run in a subprocess so that its memory can be read alone.

Serves ``echo(value) -> value`` and ``blob(size) -> 'x' * size`` over WebSocket (``GET /ws``, a
``WSJSONRPCServer`` with default limits) and HTTP (``POST /rpc``, a ``JSONRPCServer`` with default limits) on
127.0.0.1, on a free port. Prints ``PORT <number>`` on stdout once it listens, then serves until it is
terminated. Over WebSocket, ``blob`` also prints ``FULL`` once per connection when it finds the connection's write
buffer within one reply of ``max_buffered_bytes`` (the moment the server stops reading from a peer that does not
read), so that a test can wait for that event. Over WebSocket it also serves the subscriptions ``stream_block``,
``stream_drop_oldest`` and ``stream_close`` (see :func:`stream`).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import weakref
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

import aiohttp_rpc
import aiohttp_rpc.ws


def echo(value: Any) -> Any:
    return value


def blob(size: int, rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
    connection = rpc_request.context.get('rpc_peer')
    if connection is not None:
        transport = connection.transport
        if transport.buffered() >= aiohttp_rpc.ws.DEFAULT_MAX_BUFFERED_BYTES - size and transport not in FULL:
            FULL.add(transport)
            print('FULL', flush=True)
    return 'x' * size


FULL: weakref.WeakSet[Any] = weakref.WeakSet()


def stream(policy: str) -> aiohttp_rpc.JSONRPCSubscription:
    """A subscription yielding ``'x' * size`` as fast as it is let, with the slow-consumer ``policy``. Prints
    ``FULL`` once per connection when its write buffer is within one item of the budget (``block``), ``DROPPING``
    once per connection at its first dropped item (``drop_oldest``), and ``CLOSED`` when a generator ends."""

    async def flood(size: int, rpc_request: aiohttp_rpc.JSONRPCRequest) -> AsyncIterator[str]:
        connection = rpc_request.context['rpc_peer'].transport
        item = 'x' * size
        try:
            while True:
                yield item
                if connection not in FULL:
                    full = connection.buffered() >= aiohttp_rpc.ws.DEFAULT_MAX_BUFFERED_BYTES - size
                    if (policy == 'block' and full) or (policy == 'drop_oldest' and connection.dropped_items):
                        FULL.add(connection)
                        print('FULL' if policy == 'block' else 'DROPPING', flush=True)
                await asyncio.sleep(0)
        finally:
            print('CLOSED', flush=True)

    return aiohttp_rpc.JSONRPCSubscription(
        flood, name=f'stream_{policy}', on_slow=policy, queue_size=16, send_timeout=1.0, pass_extra_kwargs=True
    )


async def serve() -> None:
    http = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    ws = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    for server in (http, ws):
        server.add_methods([echo, aiohttp_rpc.JSONRPCMethod(blob, pass_extra_kwargs=True)])
    ws.add_methods([stream('block'), stream('drop_oldest'), stream('close')])
    app = web.Application()
    app.router.add_post('/rpc', http.handle_http_request)
    app.router.add_get('/ws', ws.handle_http_request)
    app.on_shutdown.append(ws.on_shutdown)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f'PORT {runner.addresses[0][1]}', flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == '__main__':
    asyncio.run(serve())
    sys.exit(0)
