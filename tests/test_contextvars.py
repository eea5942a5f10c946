"""Each call runs in its own copy of the context, as in a task of its own: batch members and WebSocket
messages answered inline never see each other's ContextVar changes."""

from __future__ import annotations

import asyncio
import contextvars
import json
from typing import Any

import aiohttp
from aiohttp import web

import aiohttp_rpc

USER: contextvars.ContextVar[str] = contextvars.ContextVar('USER', default='nobody')


async def login_and_wait(name: str) -> str:
    USER.set(name)
    await asyncio.sleep(0)  # waits: the rest of the batch (or the next frames) go on elsewhere
    return USER.get()


def login_now(name: str) -> str:
    USER.set(name)
    return USER.get()


def whoami() -> str:
    return USER.get()


def server_class(cls: Any) -> Any:
    server = cls(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_methods([login_and_wait, login_now, whoami])
    return server


BATCH = [
    {'jsonrpc': '2.0', 'method': 'login_now', 'params': ['carol'], 'id': 0},
    {'jsonrpc': '2.0', 'method': 'whoami', 'id': 1},
    {'jsonrpc': '2.0', 'method': 'login_and_wait', 'params': ['alice'], 'id': 2},
    {'jsonrpc': '2.0', 'method': 'whoami', 'id': 3},
    {'jsonrpc': '2.0', 'method': 'login_and_wait', 'params': ['bob'], 'id': 4},
    {'jsonrpc': '2.0', 'method': 'whoami', 'id': 5},
]
EXPECTED = {0: 'carol', 1: 'nobody', 2: 'alice', 3: 'nobody', 4: 'bob', 5: 'nobody'}


async def test_batch_members_do_not_share_context_vars() -> None:
    server = server_class(aiohttp_rpc.JSONRPCServer)
    output = await server.dispatch(json.dumps(BATCH).encode(), {})
    assert output is not None
    assert {reply['id']: reply['result'] for reply in json.loads(output)} == EXPECTED
    assert USER.get() == 'nobody'


async def test_websocket_messages_do_not_share_context_vars(aiohttp_server: Any) -> None:
    server = server_class(aiohttp_rpc.WSJSONRPCServer)
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    test_server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session, session.ws_connect(test_server.make_url('/rpc')) as ws:
        for request in BATCH:
            await ws.send_str(json.dumps(request))
        replies = [json.loads((await ws.receive(timeout=5)).data) for _ in BATCH]
    assert {reply['id']: reply['result'] for reply in replies} == EXPECTED
