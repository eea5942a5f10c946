"""The servers ``benchmarks/streams.py`` measures: ours (aiohttp_rpc subscriptions) and bare (aiohttp pushing the
same frames by hand). Both serve ``GET /ws`` on 127.0.0.1 and print ``PORT <n>`` once listening.

The protocol, the same bytes from both (``<id>`` is a subscription id, ``0x`` and 32 hex digits):

* ``{"jsonrpc": "2.0", "id": N, "method": "feed", "params": [count]}``: the reply ``{"jsonrpc": "2.0", "id": N,
  "result": <id>}``, then ``count`` notifications ``{"jsonrpc": "2.0", "method": "feed", "params":
  {"subscription": <id>, "result": {"n": i}}}`` and the end, ``{..., "params": {"subscription": <id>, "done":
  true}}``.
* ``hub`` (no params): a subscription to the shared hub, whose items come as ``hub`` notifications;
  ``{"method": "publish", "params": [count], "id": N}`` sends ``{"n": 0}`` .. ``{"n": count - 1}`` to every hub
  subscription, then ends them all, and answers ``count``.
* ``idle`` (no params): a subscription that never yields (for memory per subscription).

bare: plain aiohttp + orjson, one handler per socket, frames written with ``send_str`` in the order above; no
limits, no slow-consumer policy, no task per subscription. ours: three async generators on a
``WSJSONRPCServer`` with its defaults.

Usage: python benchmarks/servers/streams.py --system ours|bare
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import WSMsgType, web

__all__ = ('bare_app', 'ours_app')


def _notification(method: str, subscription: str, **params: Any) -> str:
    return orjson.dumps(
        {'jsonrpc': '2.0', 'method': method, 'params': {'subscription': subscription, **params}}
    ).decode()


def bare_app() -> web.Application:
    hub: set[tuple[web.WebSocketResponse, str]] = set()
    idle: list[str] = []

    async def handle_ws(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        mine: list[tuple[web.WebSocketResponse, str]] = []
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                call = orjson.loads(msg.data)
                method = call['method']
                if method == 'publish':
                    (count,) = call['params']
                    for index in range(count):
                        for peer, subscription in list(hub):
                            await peer.send_str(_notification('hub', subscription, result={'n': index}))
                    for peer, subscription in list(hub):
                        await peer.send_str(_notification('hub', subscription, done=True))
                    hub.clear()
                    await ws.send_str(orjson.dumps({'jsonrpc': '2.0', 'id': call['id'], 'result': count}).decode())
                    continue
                subscription = '0x' + secrets.token_hex(16)
                await ws.send_str(orjson.dumps({'jsonrpc': '2.0', 'id': call['id'], 'result': subscription}).decode())
                if method == 'feed':
                    (count,) = call['params']
                    for index in range(count):
                        await ws.send_str(_notification('feed', subscription, result={'n': index}))
                    await ws.send_str(_notification('feed', subscription, done=True))
                elif method == 'hub':
                    hub.add((ws, subscription))
                    mine.append((ws, subscription))
                else:
                    idle.append(subscription)
        finally:
            for entry in mine:
                hub.discard(entry)
        return ws

    app = web.Application()
    app.router.add_get('/ws', handle_ws)
    return app


def ours_app() -> web.Application:
    import aiohttp_rpc

    hub: set[asyncio.Queue[dict[str, int] | None]] = set()
    never = asyncio.Event()

    async def feed(count: int) -> AsyncIterator[dict[str, int]]:
        for index in range(count):
            yield {'n': index}

    async def hub_items() -> AsyncIterator[dict[str, int]]:
        queue: asyncio.Queue[dict[str, int] | None] = asyncio.Queue()
        hub.add(queue)
        try:
            while (item := await queue.get()) is not None:
                yield item
        finally:
            hub.discard(queue)

    async def publish(count: int) -> int:
        queues = list(hub)
        for index in range(count):
            item = {'n': index}
            for queue in queues:
                queue.put_nowait(item)
        for queue in queues:
            queue.put_nowait(None)
        return count

    async def idle() -> AsyncIterator[int]:
        await never.wait()
        yield 0

    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_methods([feed, aiohttp_rpc.JSONRPCSubscription(hub_items, name='hub'), publish, idle])
    app = web.Application()
    app.router.add_get('/ws', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    return app


async def serve(system: str) -> None:
    app = bare_app() if system == 'bare' else ours_app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    print(f'PORT {runner.addresses[0][1]}', flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--system', choices=('ours', 'bare'), required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.system))


if __name__ == '__main__':
    main()
