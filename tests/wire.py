"""Helpers for the hostile-input tests: the exact replies a server sends, HTTP/1.1 spoken by hand over a socket,
and a WebSocket server on loopback.

Imported by ``test_transcripts``, ``test_limits``, ``test_security``, ``test_property`` and ``test_soak``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

import aiohttp_rpc

__all__ = (
    'PARSE_ERROR',
    'WS_PARSE_ERROR',
    'RawReply',
    'canonical',
    'error',
    'raw_http',
    'request_head',
    'result',
    'serve_ws',
)


def error(code: int, message: str, *, id: Any = None, data: Any = None) -> dict[str, Any]:
    """A whole error reply, as the server sends it."""
    body: dict[str, Any] = {'code': code, 'message': message}
    if data is not None:
        body['data'] = data
    return {'id': id, 'jsonrpc': '2.0', 'error': body}


def result(value: Any, *, id: Any) -> dict[str, Any]:
    """A whole success reply, as the server sends it."""
    return {'id': id, 'jsonrpc': '2.0', 'result': value}


PARSE_ERROR = error(-32700, 'Parse error', data={'details': 'Invalid JSON'})
"""The reply to anything that does not decode, over HTTP."""

WS_PARSE_ERROR = error(-32700, 'Parse error', data={'details': 'Invalid JSON.'})
"""The same over WebSocket: 2.0.0 words it with a period, and we keep that."""


def canonical(reply: Any) -> Any:
    """A reply as canonical JSON text, so that ``1.0`` differs from ``1`` and ``true`` from ``1``; a batch reply
    as the sorted list of its members' texts, equal whatever the order (duplicates still count)."""
    if isinstance(reply, list):
        return sorted(json.dumps(member, sort_keys=True) for member in reply)
    return json.dumps(reply, sort_keys=True)


@dataclass(frozen=True)
class RawReply:
    """An HTTP reply read off the socket: status, headers (names lower-cased) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def request_head(method: str, path: str, headers: Mapping[str, str], *, version: str = '1.1') -> bytes:
    """An HTTP request line and headers, up to and including the blank line."""
    lines = [f'{method} {path} HTTP/{version}', *(f'{name}: {value}' for name, value in headers.items()), '', '']
    return '\r\n'.join(lines).encode('latin-1')


async def raw_http(host: str, port: int, data: bytes, *, timeout: float = 5.0) -> RawReply:
    """Write ``data`` (head and as much of the body as the test wants) to a fresh connection and read one reply.

    The connection stays open while the reply is awaited, so a body that is never finished stays unfinished.
    Every read is bounded by ``timeout``.
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), timeout)
        status_line, *header_lines = head.decode('latin-1').split('\r\n')
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(':')
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get('content-length', '0'))
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b''
        return RawReply(status=int(status_line.split()[1]), headers=headers, body=body)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def serve_ws(
    aiohttp_server: Callable[..., Awaitable[TestServer]], *methods: Any, **options: Any
) -> tuple[aiohttp_rpc.WSJSONRPCServer, str]:
    """Start a ``WSJSONRPCServer`` with ``DEFAULT_MIDDLEWARES`` on ``GET /rpc``; return it and its ``ws://`` URL."""
    options.setdefault('middlewares', aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server = aiohttp_rpc.WSJSONRPCServer(**options)
    server.add_methods(methods)
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    test_server = await aiohttp_server(app)
    return server, str(test_server.make_url('/rpc'))
