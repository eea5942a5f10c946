"""A JSON-RPC 2.0 server over HTTP, using the ready-made module-level ``aiohttp_rpc.rpc_server``.

It serves two methods:

* ``ping()`` answers ``'pong'``. It also asks for the request object: it is registered with
  ``pass_extra_kwargs=True``, and ``rpc_server``'s default middlewares put the request in ``rpc_request``.
* ``echo(*args, **kwargs)`` sends back whatever it was given.

Run it, then talk to it with ``examples/http_client.py`` (or curl)::

    python examples/http_server.py --port 8080
    python examples/http_client.py --url http://127.0.0.1:8080/rpc
"""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

import aiohttp_rpc


async def ping(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
    # ``rpc_request`` is the JSON-RPC request being answered; its context holds the aiohttp request.
    http_request = rpc_request.context['http_request']
    print(f'ping (id={rpc_request.id!r}) from {http_request.remote}')
    return 'pong'


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {'args': args, 'kwargs': kwargs}


def create_app() -> web.Application:
    aiohttp_rpc.rpc_server.add_methods(
        [
            aiohttp_rpc.JSONRPCMethod(ping, pass_extra_kwargs=True),
            echo,
        ]
    )
    app = web.Application()
    app.router.add_routes([web.post('/rpc', aiohttp_rpc.rpc_server.handle_http_request)])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=int, default=8080, help='port to listen on (default: %(default)s)')
    args = parser.parse_args()
    web.run_app(create_app(), host=args.host, port=args.port)


if __name__ == '__main__':
    main()
