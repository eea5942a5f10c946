"""The app ``tests/test_backplane_gunicorn.py`` runs under gunicorn with two workers, joined by a Redis backplane
(``REDIS_URL`` in the environment): ``GET /ws`` serves a ``WSJSONRPCServer``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

import aiohttp_rpc

server = aiohttp_rpc.WSJSONRPCServer(backplane=aiohttp_rpc.RedisBackplane(os.environ['REDIS_URL'], prefix='gtest'))


async def whoami(rpc_request: aiohttp_rpc.JSONRPCRequest) -> dict[str, Any]:
    """This worker's pid and the caller's peer id."""
    peer = aiohttp_rpc.get_peer(rpc_request)
    assert isinstance(peer, aiohttp_rpc.WSPeer)
    return {'pid': os.getpid(), 'peer': peer.id}


async def announce(text: str) -> int:
    return await server.broadcast('news', text)


async def ask(peer_id: str, a: int, b: int) -> Any:
    """Call ``multiply`` on the peer ``peer_id``, whichever worker holds it."""
    return await server.peer(peer_id).call('multiply', a, b)


async def publish(topic: str, item: Any) -> None:
    await server.publish(topic, item)


async def prices(symbol: str) -> AsyncIterator[Any]:
    async for price in server.topic(f'prices.{symbol}'):
        yield price


async def ticks() -> AsyncIterator[Any]:
    """A resumable subscription to the topic ``ticks``."""
    async for tick in server.topic('ticks'):
        yield tick


async def wait_listening(topic: str) -> None:
    """Return once a ``server.topic(topic)`` iterator of this worker listens (at most 10 s)."""
    await asyncio.wait_for(server.fanout.wait_listeners(topic, 1), 10)


server.add_methods(
    [
        aiohttp_rpc.JSONRPCMethod(whoami, pass_extra_kwargs=True),
        announce,
        ask,
        publish,
        prices,
        aiohttp_rpc.JSONRPCSubscription(ticks, resumable=True),
        wait_listening,
    ]
)
app = web.Application()
app.router.add_get('/ws', server.handle_http_request)
app.on_shutdown.append(server.on_shutdown)
