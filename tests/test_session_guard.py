"""``require_session`` as a whole server's guard, over HTTP and on the WebSocket upgrade, with a real cookie session
(aiohttp-session). examples/guards_session.py covers it on a group and on a method."""

from __future__ import annotations

from typing import Any

import aiohttp
import aiohttp_session
import pytest
from aiohttp import web

import aiohttp_rpc

pytestmark = pytest.mark.timeout(30)

DENIED = {'code': -32001, 'message': 'Access denied'}


def ping() -> str:
    return 'pong'


async def login(request: web.Request) -> web.Response:
    session = await aiohttp_session.new_session(request)
    session['team'] = request.query['team']
    return web.Response(status=204)


@pytest.mark.parametrize('transport', ['http', 'ws'])
async def test_a_server_locked_by_a_session_key(aiohttp_server: Any, transport: str) -> None:
    guard = aiohttp_rpc.require_session('team', {'blue'})
    if transport == 'http':
        server: aiohttp_rpc.BaseJSONRPCServer = aiohttp_rpc.JSONRPCServer(guards=[guard])
    else:
        server = aiohttp_rpc.WSJSONRPCServer(guards=[guard])
    server.add_method(ping)
    app = web.Application()
    aiohttp_session.setup(app, aiohttp_session.SimpleCookieStorage())
    app.router.add_route('POST' if transport == 'http' else 'GET', '/rpc', server.handle_http_request)
    app.router.add_post('/login', login)
    test_server = await aiohttp_server(app)
    base = str(test_server.make_url('')).rstrip('/')
    call = {'jsonrpc': '2.0', 'method': 'ping', 'id': 1}

    async def call_once(session: aiohttp.ClientSession) -> Any:
        if transport == 'http':
            async with session.post(f'{base}/rpc', json=call) as response:
                return await response.json()
        async with session.ws_connect(f'{base}/rpc') as ws:  # the session is the upgrade request's
            await ws.send_json(call)
            return await ws.receive_json(timeout=5)

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        assert await call_once(session) == {'jsonrpc': '2.0', 'id': 1, 'error': DENIED}
        await session.post(f'{base}/login', params={'team': 'red'})
        assert await call_once(session) == {'jsonrpc': '2.0', 'id': 1, 'error': DENIED}
        await session.post(f'{base}/login', params={'team': 'blue'})
        assert await call_once(session) == {'jsonrpc': '2.0', 'id': 1, 'result': 'pong'}


async def test_in_process_calls_have_no_session() -> None:
    server = aiohttp_rpc.JSONRPCServer(guards=[aiohttp_rpc.require_session('team')])
    server.add_method(ping)
    reply = await server.dispatch(b'{"jsonrpc": "2.0", "method": "ping", "id": 1}')
    assert reply == b'{"id":1,"jsonrpc":"2.0","error":{"code":-32001,"message":"Access denied"}}'
