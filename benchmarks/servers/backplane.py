"""The worker ``benchmarks/backplane.py`` runs: a ``WSJSONRPCServer`` on ``GET /ws`` (127.0.0.1, a free port,
``PORT <n>`` printed once listening), with a Redis backplane when ``--redis URL`` is given.

Methods: ``ping()``; ``announce(count)`` broadcasts ``count`` notifications ``tick(seq, sent_at)``
(``time.time()`` when sent) and answers ``count``; ``feed()`` is a subscription to the topic ``feed``;
``publish(count)`` publishes ``{'seq': i, 'sent_at': ...}`` ``count`` times on it.

Usage: python benchmarks/servers/backplane.py [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

import aiohttp_rpc


def build(redis_url: str | None) -> web.Application:
    backplane = aiohttp_rpc.RedisBackplane(redis_url, prefix='bench') if redis_url else None
    server = aiohttp_rpc.WSJSONRPCServer(backplane=backplane, max_ws_connections=None)

    async def ping() -> str:
        return 'pong'

    async def announce(count: int) -> int:
        for seq in range(count):
            await server.broadcast('tick', seq, time.time())
        return count

    async def feed() -> AsyncIterator[Any]:
        async for item in server.topic('feed', buffer=100_000):
            yield item

    async def publish(count: int) -> int:
        for seq in range(count):
            await server.publish('feed', {'seq': seq, 'sent_at': time.time()})
        return count

    server.add_methods([ping, announce, feed, publish])
    app = web.Application()
    app.router.add_get('/ws', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    return app


async def serve(redis_url: str | None) -> None:
    runner = web.AppRunner(build(redis_url), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, '127.0.0.1', 0).start()
    print(f'PORT {runner.addresses[0][1]}', flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--redis', help='the Redis URL of the backplane (none: no backplane)')
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.redis))


if __name__ == '__main__':
    main()
