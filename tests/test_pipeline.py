"""The one path every call takes (aiohttp_rpc.dispatch.pipeline), seen from outside: over real HTTP."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import aiohttp_rpc
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES


class Marker:
    pass


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_an_answered_request_is_freed_without_the_cycle_collector(
    aiohttp_client: Any, no_cycle_collector: None
) -> None:
    """``inject_request_middleware`` puts the request in its own ``extra_kwargs``; the pipeline breaks that cycle
    once the call is answered, so neither the request nor the aiohttp request in its context waits for the
    cycle collector (whose runs, left to it, cost a third of HTTP throughput)."""
    seen: list[weakref.ref[Marker]] = []

    def remember(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
        marker = Marker()  # lives exactly as long as the request holding it
        rpc_request.extra_kwargs['marker'] = marker
        seen.append(weakref.ref(marker))
        return rpc_request.method

    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    server.add_method(aiohttp_rpc.JSONRPCMethod(remember, pass_extra_kwargs=True))
    client = await aiohttp_client(_app(server))
    response = await client.post('/rpc', json={'jsonrpc': '2.0', 'method': 'remember', 'id': 1})
    assert await response.json() == {'jsonrpc': '2.0', 'id': 1, 'result': 'remember'}
    assert len(seen) == 1
    assert seen[0]() is None


async def test_a_method_set_on_the_mapping_keeps_its_guards(aiohttp_client: Any) -> None:
    """``server.methods[name] = JSONRPCMethod(f, guards=...)``, the 2.0 way to register, serves ``f`` behind its
    guards, and so does a method replaced that way."""

    def secret() -> str:
        return 'the secret'

    def public() -> str:
        return 'hello'

    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    server.methods['secret'] = aiohttp_rpc.JSONRPCMethod(secret, guards=[lambda request: False])
    server.methods['public'] = aiohttp_rpc.JSONRPCMethod(public)
    client = await aiohttp_client(_app(server))

    async def call(name: str) -> Any:
        response = await client.post('/rpc', json={'jsonrpc': '2.0', 'method': name, 'id': 1})
        return await response.json()

    denied = {'jsonrpc': '2.0', 'id': 1, 'error': {'code': -32001, 'message': 'Access denied'}}
    assert await call('secret') == denied
    assert await call('public') == {'jsonrpc': '2.0', 'id': 1, 'result': 'hello'}
    server.methods['public'] = aiohttp_rpc.JSONRPCMethod(public, guards=[lambda request: False])
    assert await call('public') == denied
    del server.methods['public']
    assert await call('public') == {
        'jsonrpc': '2.0',
        'id': 1,
        'error': {'code': -32601, 'message': 'Method not found'},
    }


def _app(server: aiohttp_rpc.JSONRPCServer) -> Any:
    from aiohttp import web

    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    return app
