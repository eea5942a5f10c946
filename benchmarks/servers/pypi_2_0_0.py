"""aiohttp-rpc 2.0.0 from PyPI: its ``rpc_server`` (HTTP) and a ``WSJSONRPCServer``, both with its
DEFAULT_MIDDLEWARES and serving the same ``ping`` and ``echo`` as servers/ours.py.

Runs only in the 2.0.0 venv, isolated from this repository (run.py starts it that way):

    benchmarks/.venvs/aiohttp-rpc-2.0.0/bin/python -I /abs/benchmarks/launch.py --expect 2.0.0 \\
        /abs/benchmarks/servers/pypi_2_0_0.py --port PORT

It imports nothing from benchmarks/ (under ``-I`` that folder is not on ``sys.path``). 2.0.0's defaults
serialize with the stdlib ``json`` module; they are left as they are, as a 2.0.0 user gets them.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

import aiohttp_rpc

__all__ = ('echo', 'inprocess_paths', 'ping', 'register', 'ws_server')


async def ping() -> str:
    return 'pong'


async def echo(*args: Any, **kwargs: Any) -> Any:
    """Send the params back: the object for by-name params, the array for by-position ones."""
    return kwargs if kwargs else list(args)


def register() -> Any:
    """Add ``ping`` and ``echo`` to 2.0.0's ``aiohttp_rpc.rpc_server`` and return it."""
    server = aiohttp_rpc.rpc_server
    server.add_methods([ping, echo], replace=True)
    return server


def ws_server() -> Any:
    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_methods([ping, echo])
    return server


def inprocess_paths() -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """What benchmarks/inprocess.py times.

    2.0.0 has no bytes-in/bytes-out entry point; the closest is what its HTTP handler does between reading
    the body and building the response: decode with the server's deserializer (``json.loads``), run
    ``_process_input_data`` (the middlewares and the method), ``dump()`` each response and serialize with the
    server's serializer (``json.dumps``).
    """
    server = register()
    loads, dumps = server._json_deserialize, server._json_serialize

    async def dispatch(raw: bytes) -> bytes | None:
        output = await server._process_input_data(loads(raw), context={})
        if output is None:
            return None
        if isinstance(output, tuple):
            return dumps([response.dump() for response in output]).encode()
        return dumps(output.dump()).encode()

    return {'dispatch': dispatch, 'handler': server.handle_http_request}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # errors only, to stderr (run.py captures it)
    websocket = ws_server()
    app = web.Application()
    app.router.add_post('/rpc', register().handle_http_request)
    app.router.add_get('/rpc', websocket.handle_http_request)
    app.on_shutdown.append(websocket.on_shutdown)
    web.run_app(app, host='127.0.0.1', port=args.port, print=None, access_log=None, shutdown_timeout=1)


if __name__ == '__main__':
    main()
