"""The floor under the HTTP rows: ``ping`` and ``echo`` served seven ways by one process, each on its own route.

* ``POST /bare``: the ceiling, servers/bare.py's handler (orjson in, the reply object, orjson out).
* ``POST /minimal``: :func:`minimal_dispatch`, the least a conforming JSON-RPC 2.0 server does for a valid
  call (checks the request as the specification requires, looks the method up, runs its coroutine, builds the
  reply), with orjson both ways, in a handler shaped like the bare one.
* ``POST /minimal-strict``: the same with the two guarantees our server keeps on every call: exact integers
  (``aiohttp_rpc.serialization.json_deserialize``) and strict JSON out (``ReplyEncoder.encode_reply``: no NaN
  or infinity written as ``null``, the size limit).
* ``POST /ours-dispatcher``: our dispatcher (``server.dispatch`` with an empty context, every default) in the
  minimal handler: what our dispatcher costs without our HTTP handler.
* ``POST /ours-handler``: our ``handle_http_request`` (every default) around the minimal strict dispatcher: what
  our HTTP handler costs without our dispatcher.
* ``POST /ours-lax``: a ``JSONRPCServer`` with the default middlewares and ``strict_floats=False``.
* ``POST /ours``: a ``JSONRPCServer`` with the default middlewares and every default (what servers/ours.py
  serves).

The methods are servers/ours.py's ``ping`` and ``echo`` everywhere. benchmarks/http_floor.py drives it.

Usage: python benchmarks/launch.py --expect ours:VERSION benchmarks/servers/floor.py --port PORT
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import orjson
from aiohttp import web
from servers import bare, ours

import aiohttp_rpc
from aiohttp_rpc.dispatch.dispatcher import Dispatcher
from aiohttp_rpc.dispatch.encoder import ReplyEncoder
from aiohttp_rpc.dispatch.pipeline import OnWait
from aiohttp_rpc.serialization import JSONCodec, json_deserialize

__all__ = ('ROUTES', 'app', 'minimal_dispatch', 'minimal_strict_dispatch')

_METHODS: dict[str, Callable[..., Coroutine[Any, Any, Any]]] = {'ping': ours.ping, 'echo': ours.echo}
_STRICT_REPLY = ReplyEncoder(JSONCodec()).encode_reply

ROUTES = ('bare', 'minimal', 'minimal-strict', 'ours-dispatcher', 'ours-handler', 'ours-lax', 'ours')
"""The variants, ceiling first, each served on ``POST /<name>``."""


async def minimal_dispatch(
    body: bytes,
    loads: Callable[[bytes], Any] = orjson.loads,
    dumps: Callable[[dict[str, Any]], bytes] = orjson.dumps,
) -> bytes:
    """The least a JSON-RPC 2.0 dispatcher can do for one call that is valid (errors left out)."""
    request = loads(body)
    if type(request) is not dict or request.get('jsonrpc') != '2.0':
        raise ValueError('invalid request')
    method_name, request_id = request.get('method'), request.get('id')
    if type(method_name) is not str or not (request_id is None or type(request_id) in (int, str)):
        raise ValueError('invalid request')
    params = request.get('params', ())
    func = _METHODS[method_name]
    result = await (func(**params) if type(params) is dict else func(*params))
    return dumps({'jsonrpc': '2.0', 'id': request_id, 'result': result})


def _handler(dispatch: Callable[[bytes], Awaitable[bytes | None]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(http_request: web.Request) -> web.Response:
        body = await dispatch(await http_request.read())
        return web.Response(body=body, content_type='application/json', charset='utf-8')

    return handle


async def minimal_strict_dispatch(body: bytes) -> bytes:
    """:func:`minimal_dispatch` with our exact-integer decode and strict-JSON encode (the NaN check, the size limit)."""
    return await minimal_dispatch(body, json_deserialize, _STRICT_REPLY)


class _MinimalBehindOurDoor(Dispatcher):
    """A dispatcher whose door leads to :func:`minimal_strict_dispatch`, for the ``ours-handler`` variant."""

    def dispatch(
        self, data: bytes | str, context: Mapping[str, object] | None = None, *, on_wait: OnWait | None = None
    ) -> Coroutine[Any, Any, bytes | None]:
        return minimal_strict_dispatch(data if isinstance(data, bytes) else data.encode())


def app() -> web.Application:
    """The application serving every variant."""
    default = ours.register()
    lax = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, strict_floats=False)
    lax.add_methods([ours.ping, ours.echo])
    handler_only = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    handler_only.dispatcher = _MinimalBehindOurDoor(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)

    def our_dispatch(body: bytes) -> Coroutine[Any, Any, bytes | None]:
        return default.dispatch(body)

    handlers = {
        'bare': bare.handle,
        'minimal': _handler(minimal_dispatch),
        'minimal-strict': _handler(minimal_strict_dispatch),
        'ours-dispatcher': _handler(our_dispatch),
        'ours-handler': handler_only.handle_http_request,
        'ours-lax': lax.handle_http_request,
        'ours': default.handle_http_request,
    }
    application = web.Application()
    for name in ROUTES:
        application.router.add_post(f'/{name}', handlers[name])
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # errors only, to stderr
    web.run_app(app(), host='127.0.0.1', port=args.port, print=None, access_log=None, shutdown_timeout=1)


if __name__ == '__main__':
    main()
