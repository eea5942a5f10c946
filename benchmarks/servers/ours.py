"""Our server: ``aiohttp_rpc.rpc_server`` (DEFAULT_MIDDLEWARES) serving ``ping`` and ``echo``.

Usage: python benchmarks/servers/ours.py --port PORT

``register()`` is also used by the in-process micro-benchmark, so both measure the same methods.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from aiohttp import web

import aiohttp_rpc


async def ping() -> str:
    return 'pong'


async def echo(*args: Any, **kwargs: Any) -> Any:
    """Send the params back: the object for by-name params, the array for by-position ones."""
    return kwargs if kwargs else list(args)


def register() -> aiohttp_rpc.JSONRPCServer:
    """Add ``ping`` and ``echo`` to ``aiohttp_rpc.rpc_server`` (once) and return it."""
    server = aiohttp_rpc.rpc_server
    server.add_methods([ping, echo], replace=True)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # errors only, to stderr (run.py captures it)
    server = register()
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    web.run_app(app, host='127.0.0.1', port=args.port, print=None, access_log=None, shutdown_timeout=1)


if __name__ == '__main__':
    main()
