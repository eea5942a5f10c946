"""Shared fixtures: real aiohttp servers on loopback, a raw-bytes HTTP poster, and headless Chromium."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

import aiohttp
import pytest
from aiohttp import web
from browser import launch_browser
from redis_server import RedisServer, start_redis
from transports import Transport

import aiohttp_rpc
from aiohttp_rpc.methods import MethodDescription
from aiohttp_rpc.typedefs import MiddlewareType


class ServeRPC(Protocol):
    """Start a real server for ``rpc_server`` (or a new one built from the keyword arguments); return its URL."""

    def __call__(
        self,
        *methods: MethodDescription,
        rpc_server: aiohttp_rpc.JSONRPCServer | None = None,
        middlewares: Iterable[MiddlewareType] = aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES,
        **server_kwargs: Any,
    ) -> Awaitable[str]: ...


PostRaw = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def rpc_server_factory(aiohttp_server: Any) -> ServeRPC:
    """Build a ``JSONRPCServer``, mount it on ``POST /rpc`` of a fresh app, start it and return the URL."""

    async def serve(
        *methods: MethodDescription,
        rpc_server: aiohttp_rpc.JSONRPCServer | None = None,
        middlewares: Iterable[MiddlewareType] = aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES,
        **server_kwargs: Any,
    ) -> str:
        if rpc_server is None:
            rpc_server = aiohttp_rpc.JSONRPCServer(middlewares=middlewares, **server_kwargs)
        rpc_server.add_methods(methods)
        app = web.Application()
        app.router.add_routes([web.post('/rpc', rpc_server.handle_http_request)])
        server = await aiohttp_server(app)
        return str(server.make_url('/rpc'))

    return serve


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def post_raw(http_session: aiohttp.ClientSession) -> PostRaw:
    """POST raw bytes; return ``(status, body)``: the decoded JSON for a JSON reply, ``None`` for an empty
    body, the text otherwise (e.g. an aiohttp error page)."""

    async def post(
        url: str,
        body: bytes | str,
        *,
        headers: Mapping[str, str] | None = None,
        method: str = 'POST',
    ) -> tuple[int, Any]:
        data = body.encode() if isinstance(body, str) else body
        all_headers = {'Content-Type': 'application/json', **(headers or {})}
        async with http_session.request(method, url, data=data, headers=all_headers) as response:
            raw = await response.read()
            is_json = response.content_type == 'application/json'
        if not raw:
            return response.status, None
        return response.status, (json.loads(raw) if is_json else raw.decode())

    return post


RPCCall = Callable[..., Awaitable[Any]]


@pytest.fixture
def rpc_call(post_raw: PostRaw) -> RPCCall:
    """Send one JSON-RPC request (``params`` only when given) and return the whole decoded reply (HTTP 200)."""

    async def call(url: str, method: str, params: Any = None, *, id: Any = 1) -> Any:
        message: dict[str, Any] = {'jsonrpc': '2.0', 'method': method, 'id': id}
        if params is not None:
            message['params'] = params
        status, reply = await post_raw(url, json.dumps(message))
        assert status == 200, reply
        return reply

    return call


@pytest.fixture(params=['http', 'ws'])
def transport(request: pytest.FixtureRequest, aiohttp_server: Any, http_session: aiohttp.ClientSession) -> Transport:
    """A server of the kind under test, over HTTP and then over WebSocket (see tests/transports.py)."""
    return Transport(request.param, aiohttp_server, http_session)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium (see tests/browser.py)."""
    async for launched in launch_browser():
        yield launched


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A real ``redis-server`` on a free loopback port for the test (``tests/redis_server.py``)."""
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()
