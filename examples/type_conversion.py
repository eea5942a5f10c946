"""A middleware that turns tagged JSON arguments into Python objects before a method runs.

JSON has no user type, so a client sends one as an object tagged with ``__type__``::

    {"__type__": "user", "id": 1}

``typed_arguments_middleware`` replaces every such argument (positional or keyword) with the object it
stands for, through ``request.set_args_and_kwargs(...)``, so ``greet`` receives a ``User``. An unknown
``__type__`` or an unknown user is answered with Invalid params (-32602) and the method never runs.

Serve it::

    python examples/type_conversion.py --port 8080

or start it on a free port, call ``greet`` with a valid and an invalid typed argument, and exit::

    python examples/type_conversion.py --once
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.errors import InvalidParams
from aiohttp_rpc.typedefs import SingleRequestProcessorType


@dataclasses.dataclass(frozen=True)
class User:
    id: int
    name: str


USERS = {1: User(1, 'Ada'), 2: User(2, 'Grace')}


def load_user(data: dict[str, Any]) -> User:
    user_id = data.get('id')
    user = USERS.get(user_id) if isinstance(user_id, int) else None
    if user is None:
        raise InvalidParams(data={'details': f'no user with id {user_id!r}'})
    return user


# One loader per tag; add an entry to accept another type.
LOADERS: dict[str, Callable[[dict[str, Any]], Any]] = {'user': load_user}


def to_python(value: Any) -> Any:
    """The object a tagged argument stands for; any other value is returned unchanged."""
    if not isinstance(value, dict) or '__type__' not in value:
        return value
    tag = value['__type__']
    loader = LOADERS.get(tag) if isinstance(tag, str) else None
    if loader is None:
        raise InvalidParams(data={'details': f'unknown __type__ {tag!r}'})
    return loader(value)


async def typed_arguments_middleware(
    request: aiohttp_rpc.JSONRPCRequest, handler: SingleRequestProcessorType
) -> aiohttp_rpc.JSONRPCResponse:
    # JSON-RPC params are positional or named, never both: keep whichever kind the client sent.
    if request.kwargs:
        request.set_args_and_kwargs(kwargs={name: to_python(value) for name, value in request.kwargs.items()})
    elif request.args:
        request.set_args_and_kwargs(args=[to_python(value) for value in request.args])
    return await handler(request)


def greet(user: User, greeting: str = 'Hello') -> str:
    return f'{greeting}, {user.name}! (user #{user.id})'


def create_app() -> web.Application:
    rpc_server = aiohttp_rpc.JSONRPCServer(
        middlewares=[
            # Outermost: replies to the InvalidParams raised further in with that error, and logs anything
            # unexpected before answering it with Internal error.
            aiohttp_rpc.middlewares.exception_middleware,
            typed_arguments_middleware,
        ]
    )
    rpc_server.add_method(greet)
    app = web.Application()
    app.router.add_routes([web.post('/rpc', rpc_server.handle_http_request)])
    return app


async def call_greet(rpc: aiohttp_rpc.JSONRPCClient, *args: Any, **kwargs: Any) -> None:
    shown = ', '.join([*map(repr, args), *(f'{name}={value!r}' for name, value in kwargs.items())])
    try:
        print(f'greet({shown})\n  -> {await rpc.methods.greet(*args, **kwargs)!r}')
    except InvalidParams as exc:
        print(f'greet({shown})\n  -> InvalidParams: code={exc.code} data={exc.data!r}')


async def run_once(host: str, port: int) -> None:
    """Serve on ``host:port`` (0: any free port), make the calls, and shut down."""
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        url = f'http://{bound_host}:{bound_port}/rpc'
        print(f'Serving on {url}')

        async with aiohttp_rpc.JSONRPCClient(url) as rpc:
            await call_greet(rpc, {'__type__': 'user', 'id': 1})
            await call_greet(rpc, user={'__type__': 'user', 'id': 2}, greeting='Welcome back')
            await call_greet(rpc, {'__type__': 'spaceship', 'id': 1})
            await call_greet(rpc, {'__type__': 'user', 'id': 99})
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=int, help='port to listen on (default: 8080; a free one with --once)')
    parser.add_argument('--once', action='store_true', help='serve, call greet a few times, print, exit')
    args = parser.parse_args()
    if args.once:
        asyncio.run(run_once(args.host, 0 if args.port is None else args.port))
    else:
        web.run_app(create_app(), host=args.host, port=8080 if args.port is None else args.port)


if __name__ == '__main__':
    main()
