"""Streams on one WebSocket: a subscription, progress reports, and a call cancelled from the client.

The server offers a price ticker (an async generator: each ``yield`` is one notification), a ``build`` that
reports its progress, and a ``sleep`` that takes long enough to be cancelled. Runs both ends in one process:

    python examples/ws_streams.py           # start, subscribe, build, cancel, exit
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import Progress, ProgressReport

# -- server side ----------------------------------------------------------------------------------------------


async def ticker(symbol: str, start: float) -> AsyncIterator[dict[str, object]]:
    """Prices of ``symbol``, one per tick, until the subscriber unsubscribes."""
    price = start
    try:
        while True:
            yield {'symbol': symbol, 'price': round(price, 2)}
            price *= 1.01
            await asyncio.sleep(0.01)
    finally:
        print(f'  server: ticker {symbol} stopped')


async def build(steps: int, progress: Progress) -> str:
    """Build in ``steps`` steps, reporting each."""
    for step in range(1, steps + 1):
        await asyncio.sleep(0.15)  # real work; reports come at most 10 a second
        await progress(step, total=steps, message=f'step {step}')
    return 'built'


SLEEPING = asyncio.Event()  # (shared with the client only because both ends run in this one process)
CANCELLED = asyncio.Event()


async def sleep(seconds: float) -> str:
    SLEEPING.set()
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print('  server: sleep was cancelled by its caller')
        CANCELLED.set()
        raise
    return 'slept'


def make_server() -> aiohttp_rpc.WSJSONRPCServer:
    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_methods([ticker, build, sleep])
    return server


# -- client side ----------------------------------------------------------------------------------------------


def show(report: ProgressReport) -> None:
    print(f'  progress: {report.progress:g}/{report.total:g} {report.message}')


async def main() -> None:
    server = make_server()
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp_rpc.WSJSONRPCClient(f'ws://127.0.0.1:{port}/rpc') as rpc:
            print('subscribe to ticker("BTC", 100)')
            async with rpc.subscribe('ticker', 'BTC', 100) as prices:
                async for tick in prices:
                    print(f'  {tick}')
                    if tick['price'] > 103:
                        break
            reason = prices.close_reason
            print(f'  closed: {reason.value if reason else None}')

            print('call build(3) with on_progress')
            print('  result:', await rpc.call('build', 3, on_progress=show))

            print('call sleep(60), cancelled once it runs')
            call = asyncio.ensure_future(rpc.call('sleep', 60))
            await SLEEPING.wait()
            call.cancel()  # the client sends $/cancelRequest
            try:
                await call
            except asyncio.CancelledError:
                print('  client: the call was cancelled')
            await asyncio.wait_for(CANCELLED.wait(), 5)
    finally:
        await runner.cleanup()


if __name__ == '__main__':
    asyncio.run(main())
