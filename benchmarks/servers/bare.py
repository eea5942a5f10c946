"""The ceiling: bare aiohttp handlers doing the same JSON work as a JSON-RPC server, and nothing else.

``POST /rpc`` reads the body, parses it with orjson, builds the JSON-RPC reply object (one per call for a
batch: the result is ``'pong'`` for ``ping`` and the params for ``echo``) and serializes it with orjson.
``GET /rpc`` upgrades to a WebSocket and does the same for every text frame, in order, replying with a text
frame; other frames are ignored. No validation, no method registry, no middlewares, no error handling, no
task per message, no heartbeat.

Usage: python benchmarks/servers/bare.py --port PORT
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import WSMsgType, web

__all__ = ('answer', 'handle', 'handle_ws', 'inprocess_paths')


def _reply(request: dict[str, Any]) -> dict[str, Any]:
    result = 'pong' if request['method'] == 'ping' else request.get('params')
    return {'jsonrpc': '2.0', 'id': request['id'], 'result': result}


def answer(raw: bytes | str) -> bytes:
    """Bytes in, bytes out: the whole JSON part of the job (the in-process benchmark times it too)."""
    message = orjson.loads(raw)
    output = [_reply(item) for item in message] if isinstance(message, list) else _reply(message)
    return orjson.dumps(output)


async def handle(http_request: web.Request) -> web.Response:
    return web.Response(body=answer(await http_request.read()), content_type='application/json', charset='utf-8')


async def handle_ws(http_request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(http_request)
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            await ws.send_frame(answer(msg.data), WSMsgType.TEXT)
    return ws


async def _dispatch(raw: bytes) -> bytes:
    return answer(raw)


def inprocess_paths() -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """What benchmarks/inprocess.py times: bytes -> bytes, and the aiohttp handler."""
    return {'dispatch': _dispatch, 'handler': handle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # errors only, to stderr (run.py captures it)
    app = web.Application()
    app.router.add_post('/rpc', handle)
    app.router.add_get('/rpc', handle_ws)
    web.run_app(app, host='127.0.0.1', port=args.port, print=None, access_log=None, shutdown_timeout=1)


if __name__ == '__main__':
    main()
