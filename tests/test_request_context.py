"""The typed request context: fields the transports fill, typed keys for an application's own entries."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import ContextKey, JSONRPCRequest, RequestContext

USER = ContextKey('test.user', str)


async def who(request: JSONRPCRequest, handler: Any) -> aiohttp_rpc.JSONRPCResponse:
    context = request.context
    assert isinstance(context, RequestContext)
    http_request = context.http_request
    context[USER] = 'anonymous' if http_request is None else http_request.headers.get('X-User', 'anonymous')
    return await handler(request)


def describe(rpc_request: JSONRPCRequest) -> dict[str, Any]:
    context = rpc_request.context
    return {
        'user': context[USER],
        'user_by_name': context['test.user'],
        'has_key': USER in context,
        'http': context.http_request is not None,
        'http_is_2_0_entry': context.http_request is context.get('http_request'),
        'ws': context.ws is not None,
        'peer': type(context.peer).__name__,
    }


def server_with(server_class: type[aiohttp_rpc.BaseJSONRPCServer]) -> Any:
    server = server_class(middlewares=[*aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, who])
    server.add_method(aiohttp_rpc.JSONRPCMethod(describe, pass_extra_kwargs=True))
    return server


async def test_over_http(aiohttp_client: Any) -> None:
    server = server_with(aiohttp_rpc.JSONRPCServer)
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    client = await aiohttp_client(app)
    response = await client.post(
        '/rpc', json={'jsonrpc': '2.0', 'method': 'describe', 'id': 1}, headers={'X-User': 'ada'}
    )
    assert await response.json() == {
        'jsonrpc': '2.0',
        'id': 1,
        'result': {
            'user': 'ada',
            'user_by_name': 'ada',
            'has_key': True,
            'http': True,
            'http_is_2_0_entry': True,
            'ws': False,
            'peer': 'NoneType',
        },
    }


async def test_over_websocket(aiohttp_client: Any) -> None:
    server = server_with(aiohttp_rpc.WSJSONRPCServer)
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    client = await aiohttp_client(app)
    async with client.ws_connect('/rpc', headers={'X-User': 'grace'}) as ws:
        await ws.send_str(json.dumps({'jsonrpc': '2.0', 'method': 'describe', 'id': 1}))
        reply = await ws.receive_json(timeout=5)
    assert reply == {
        'jsonrpc': '2.0',
        'id': 1,
        'result': {
            'user': 'grace',
            'user_by_name': 'grace',
            'has_key': True,
            'http': True,
            'http_is_2_0_entry': True,
            'ws': True,
            'peer': 'WSPeer',
        },
    }


async def test_in_process_and_typed_get() -> None:
    server = server_with(aiohttp_rpc.JSONRPCServer)
    context = RequestContext()
    reply = await server.dispatch(b'{"jsonrpc": "2.0", "method": "describe", "id": 1}', context)
    assert reply is not None
    assert json.loads(reply)['result']['user'] == 'anonymous'
    assert context.get(USER) == 'anonymous'  # a RequestContext passed in is used as it is
    assert context.get(ContextKey('test.missing', int), 7) == 7
    assert repr(USER) == "<ContextKey('test.user', type=str)>"
    assert isinstance(context.copy(), RequestContext)


async def test_a_plain_mapping_is_kept_as_given_by_2_0_load() -> None:
    given = {'http_request': None}
    request = JSONRPCRequest.load({'jsonrpc': '2.0', 'method': 'm', 'id': 1}, context=given)
    assert request.context is given


async def test_a_client_carries_its_own_peer(aiohttp_client: Any) -> None:
    """On a client that serves methods, the context's peer is the client itself."""
    seen: list[Any] = []

    def note(rpc_request: JSONRPCRequest) -> str:
        seen.append(rpc_request.context.peer)
        return 'noted'

    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)

    async def ask_back(rpc_request: JSONRPCRequest) -> Any:
        peer = rpc_request.context.peer
        assert peer is not None
        return await peer.call('note')

    server.add_method(aiohttp_rpc.JSONRPCMethod(ask_back, pass_extra_kwargs=True))
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    test_client = await aiohttp_client(app)
    url = str(test_client.make_url('/rpc'))
    async with (
        aiohttp.ClientSession() as session,
        aiohttp_rpc.WSJSONRPCClient(
            url,
            session=session,
            methods=[aiohttp_rpc.JSONRPCMethod(note, pass_extra_kwargs=True)],
        ) as client,
    ):
        assert await client.call('ask_back') == 'noted'
        assert seen == [client]
