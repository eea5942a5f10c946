"""1.x: a WebSocket server subclass with per-connection state, custom error and auth middlewares, and the
server calling the client back."""

import asyncio
import weakref

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors


class NotLoggedIn(errors.JsonRpcError):
    code = 4001
    message = 'Log in first.'


class Overdrawn(Exception):
    pass


class SessionWsServer(aiohttp_rpc.WsJsonRpcServer):
    def __init__(self, *args, **kwargs):
        self.sessions = weakref.WeakKeyDictionary()  # ws_connect -> per-connection state
        super().__init__(
            *args,
            middlewares=[
                aiohttp_rpc.middlewares.exception_middleware,
                error_middleware,
                self.auth_middleware,
                aiohttp_rpc.middlewares.extra_args_middleware,
                aiohttp_rpc.middlewares.ws_client_for_server_response,
            ],
            **kwargs,
        )

    def session_of(self, rpc_request):
        return self.sessions.setdefault(rpc_request.context['ws_connect'], {'user': None, 'calls': 0})

    async def auth_middleware(self, request, handler):
        session = self.session_of(request)
        session['calls'] += 1
        if request.method_name != 'login' and session['user'] is None:
            raise NotLoggedIn
        return await handler(request)


async def error_middleware(request, handler):
    try:
        return await handler(request)
    except Overdrawn as exc:
        return aiohttp_rpc.JsonRpcResponse(
            id=request.id, jsonrpc=request.jsonrpc, error=errors.JsonRpcError(str(exc), code=4002)
        )


async def main():
    rpc_server = SessionWsServer()

    async def login(rpc_request, user):
        rpc_server.session_of(rpc_request)['user'] = user
        return f'hello {user}'

    async def whoami(rpc_request):
        session = rpc_server.session_of(rpc_request)
        return {'user': session['user'], 'calls': session['calls']}

    async def withdraw(amount):
        raise Overdrawn(f'cannot withdraw {amount}')

    async def shout(rpc_request, text):
        await rpc_request.extra_args['rpc_ws_client'].notify('heard', text.upper())
        await rpc_request.context['ws_rpc_client'].notify('heard', text.lower())
        return len(text)

    rpc_server.add_methods([login, whoami, withdraw, shout])

    app = web.Application()
    app.router.add_routes([web.get('/rpc', rpc_server.handle_http_request)])
    app.on_shutdown.append(rpc_server.on_shutdown)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    url = f'http://127.0.0.1:{runner.addresses[0][1]}/rpc'

    heard = asyncio.Queue()

    async def on_request(*, ws_connect, ws_msg, json_request):
        await heard.put((json_request['method'], json_request['params']))

    async with (
        aiohttp_rpc.WsJsonRpcClient(url, json_request_handler=on_request) as alice,
        aiohttp_rpc.WsJsonRpcClient(url) as bob,
    ):
        try:
            await alice.whoami()
        except NotLoggedIn:
            print('#1 not logged in')
        except errors.JsonRpcError as exc:
            print('#1', exc.code, exc.message)
        print('#2', await alice.login('alice'))
        print('#3', await alice.whoami())
        try:
            await bob.whoami()
        except errors.JsonRpcError as exc:
            print('#4', exc.code, exc.message)
        try:
            await alice.withdraw(100)
        except errors.JsonRpcError as exc:
            print('#5', exc.code, exc.message)
        print('#6', await alice.shout('Hey'))
        print('#7', await heard.get(), await heard.get())
        print('#8', len(rpc_server.rcp_websockets))
        print('#9', await alice.batch([['login', ['alice2']], 'whoami']))

    await runner.cleanup()


asyncio.run(main())
