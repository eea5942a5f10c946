"""How the feature tests reach a server: the same test over HTTP and over WebSocket, on loopback."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

import aiohttp_rpc
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES


@dataclasses.dataclass
class Transport:
    """A server of the kind under test (``http``: POST /rpc, ``ws``: GET /rpc) started on loopback."""

    kind: str
    aiohttp_server: Callable[..., Awaitable[TestServer]]
    session: aiohttp.ClientSession
    url: str = ''
    port: int = 0

    def server(self, **options: Any) -> aiohttp_rpc.BaseJSONRPCServer:
        options.setdefault('middlewares', DEFAULT_MIDDLEWARES)
        if self.kind == 'http':
            return aiohttp_rpc.JSONRPCServer(**options)
        return aiohttp_rpc.WSJSONRPCServer(**options)

    async def start(self, server: aiohttp_rpc.BaseJSONRPCServer) -> None:
        app = web.Application()
        app.router.add_route('POST' if self.kind == 'http' else 'GET', '/rpc', server.handle_http_request)
        if isinstance(server, aiohttp_rpc.WSJSONRPCServer):
            app.on_shutdown.append(server.on_shutdown)
        test_server = await self.aiohttp_server(app)
        self.url = str(test_server.make_url('/rpc'))
        assert test_server.port is not None
        self.port = test_server.port

    async def send(self, message: Any, *, headers: Mapping[str, str] | None = None) -> Any:
        """Send one message with ``headers`` (on the POST, or on the WS upgrade) and return the decoded reply."""
        body = json.dumps(message)
        if self.kind == 'http':
            all_headers = {'Content-Type': 'application/json', **(headers or {})}
            async with self.session.post(self.url, data=body, headers=all_headers) as response:
                assert response.status == 200, await response.text()
                return await response.json()
        async with self.session.ws_connect(self.url, headers=headers) as ws:
            await ws.send_str(body)
            reply = await ws.receive(timeout=5)
            assert reply.type is WSMsgType.TEXT, reply
            return json.loads(reply.data)

    async def send_all(self, *messages: Any, headers: Mapping[str, str] | None = None) -> list[Any]:
        """Send each message; return the decoded replies. Over HTTP one POST per message, over WS one socket for
        all of them (so they share its upgrade request, opened with ``headers``)."""
        if self.kind == 'http':
            return [await self.send(message, headers=headers) for message in messages]
        replies = []
        async with self.session.ws_connect(self.url, headers=headers) as ws:
            for message in messages:
                await ws.send_str(json.dumps(message))
                reply = await ws.receive(timeout=5)
                assert reply.type is WSMsgType.TEXT, reply
                replies.append(json.loads(reply.data))
        return replies

    def client(self, **options: Any) -> aiohttp_rpc.BaseJSONRPCClient:
        if self.kind == 'http':
            return aiohttp_rpc.JSONRPCClient(self.url, **options)
        return aiohttp_rpc.WSJSONRPCClient(self.url, **options)


def call(method: str, params: Any = None, id: Any = 1) -> dict[str, Any]:
    message: dict[str, Any] = {'jsonrpc': '2.0', 'method': method, 'id': id}
    if params is not None:
        message['params'] = params
    return message


def result(value: Any, id: Any = 1) -> dict[str, Any]:
    return {'jsonrpc': '2.0', 'result': value, 'id': id}
