"""Guard methods by the user's session: ``aiohttp_rpc.require_session`` on aiohttp-session.

``require_session(key, values)`` admits a call whose session holds ``key`` with one of ``values``;
``require_session(key)`` only wants the key to be there. Anything else gets ``-32001 Access denied`` and the
method does not run. Over WebSocket the session is the one the upgrade request carried.

Here ``ping`` is open, ``whoami`` needs a signed-in user (any ``role``), and the ``admin.*`` group needs
``role == 'admin'``. ``POST /login`` with ``{"role": "..."}`` signs in, ``POST /logout`` signs out.

    pip install "aiohttp-rpc[session]"
    python examples/guards_session.py --port 8080
    python examples/guards_session.py --once     # try the cases below on a free port and exit

The cookie storage here is aiohttp-session's ``SimpleCookieStorage``: readable and forgeable by the client, so
for a demonstration only. In production use ``EncryptedCookieStorage`` (``aiohttp-session[secure]``) or a
server-side storage (Redis, Memcached).
"""

from __future__ import annotations

import argparse
import asyncio
import warnings
from typing import Any

import aiohttp
import aiohttp_session
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors

# aiohttp-session 2.12 stores its state under string request keys, which aiohttp 3.14 warns about on every
# request; the warning is about aiohttp-session's code, not this app's.
warnings.filterwarnings('ignore', category=web.NotAppKeyWarning, module='aiohttp_session')


def ping() -> str:
    return 'pong'


async def whoami(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
    http_request = rpc_request.context.http_request
    assert http_request is not None
    session = await aiohttp_session.get_session(http_request)
    return str(session['role'])


def stats() -> dict[str, int]:
    return {'users': 3, 'orders': 12}


async def login(request: web.Request) -> web.Response:
    session = await aiohttp_session.new_session(request)
    session['role'] = (await request.json())['role']
    return web.Response(status=204)


async def logout(request: web.Request) -> web.Response:
    session = await aiohttp_session.get_session(request)
    session.invalidate()
    return web.Response(status=204)


def create_app() -> web.Application:
    signed_in = aiohttp_rpc.require_session('role')
    admins = aiohttp_rpc.MethodGroup(guards=[aiohttp_rpc.require_session('role', {'admin'})], methods=[stats])
    app = web.Application()
    aiohttp_session.setup(app, aiohttp_session.SimpleCookieStorage())  # demonstration only: see above
    for server, method, path in [
        (aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES), 'POST', '/rpc'),
        (aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES), 'GET', '/ws'),
    ]:
        server.add_method(ping)
        server.add_method(aiohttp_rpc.JSONRPCMethod(whoami, pass_extra_kwargs=True, guards=[signed_in]))
        server.add_group('admin', admins)
        app.router.add_route(method, path, server.handle_http_request)
    app.router.add_post('/login', login)
    app.router.add_post('/logout', logout)
    return app


async def attempt(rpc: aiohttp_rpc.BaseJSONRPCClient, transport: str, signed_in_as: str, method: str) -> None:
    try:
        outcome = repr(await rpc.call(method))
    except errors.JSONRPCError as exc:
        outcome = f'error {exc.code} {exc.message!r}'
    print(f'{transport:<4} {signed_in_as:<12} {method:<12} -> {outcome}')


async def run_once() -> None:
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, '127.0.0.1', 0).start()
        host, port = runner.addresses[0][:2]
        base = f'http://{host}:{port}'
        print(f'Serving on {base}/rpc')
        # unsafe=True: keep cookies for a bare IP address such as 127.0.0.1.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            http = aiohttp_rpc.JSONRPCClient(f'{base}/rpc', session=session)

            async def sign_in(role: str | None) -> None:
                if role is None:
                    await session.post(f'{base}/logout')
                else:
                    await session.post(f'{base}/login', json={'role': role})

            async with http:
                steps: list[tuple[str | None, list[str]]] = [
                    (None, ['ping', 'whoami']),
                    ('guest', ['whoami', 'admin.stats']),
                    ('admin', ['whoami', 'admin.stats']),
                    (None, ['admin.stats']),
                ]
                for role, methods in steps:
                    await sign_in(role)
                    for method in methods:
                        await attempt(http, 'http', role or '(nobody)', method)
            await sign_in('admin')
            async with aiohttp_rpc.WSJSONRPCClient(f'{base}/ws', session=session) as ws:
                await attempt(ws, 'ws', 'admin', 'admin.stats')
            await sign_in('guest')
            async with aiohttp_rpc.WSJSONRPCClient(f'{base}/ws', session=session) as ws:
                await attempt(ws, 'ws', 'guest', 'admin.stats')
    finally:
        await runner.cleanup()


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8080, help='port to listen on (default: %(default)s)')
    parser.add_argument('--once', action='store_true', help='serve on a free port, try each case and exit')
    args = parser.parse_args(argv)
    if args.once:
        asyncio.run(run_once())
    else:
        web.run_app(create_app(), host='127.0.0.1', port=args.port)


if __name__ == '__main__':
    main()
