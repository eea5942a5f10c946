"""1.x: the HTTP server and client of the 1.x README, with a type-converting middleware."""

import asyncio
import uuid

from aiohttp import web

import aiohttp_rpc


def echo(*args, **kwargs):
    return {'args': args, 'kwargs': kwargs}


# If the function has rpc_request in arguments, then it is automatically passed
async def ping(rpc_request):
    return 'pong'


async def method_of(rpc_request, suffix):
    return rpc_request.method_name + suffix


def generate_user_token(user):
    return f'token-{user["uuid"].split("-")[0]}'


async def replace_type(data):
    if not isinstance(data, dict) or '__type__' not in data:
        return data
    if data['__type__'] == 'user':
        return {'uuid': str(uuid.UUID(data['uuid']))}
    raise aiohttp_rpc.errors.InvalidParams


async def type_conversion_middleware(request, handler):
    request.set_args_and_kwargs(
        args=[await replace_type(arg) for arg in request.args],
        kwargs={key: await replace_type(value) for key, value in request.kwargs.items()},
    )
    return await handler(request)


async def main():
    rpc_server = aiohttp_rpc.JsonRpcServer(
        middlewares=[
            aiohttp_rpc.middlewares.exception_middleware,
            aiohttp_rpc.middlewares.extra_args_middleware,
            type_conversion_middleware,
        ]
    )
    rpc_server.add_methods([ping, echo, method_of, generate_user_token])

    app = web.Application()
    app.router.add_routes([web.post('/rpc', rpc_server.handle_http_request)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    port = runner.addresses[0][1]

    async with aiohttp_rpc.JsonRpcClient(f'http://127.0.0.1:{port}/rpc') as rpc:
        print('#1', await rpc.ping())
        print('#2', await rpc.echo('one', 'two'))
        print('#3', await rpc.call('echo', three='3'))
        print('#4', await rpc.notify('echo', 123))
        print('#5', await rpc.get_methods())
        print('#6', await rpc.batch([['echo', 2], 'echo2', 'ping']))
        print('#7', await rpc.method_of('!'))
        print('#8', await rpc.generate_user_token({'__type__': 'user', 'uuid': '600d57b3-dda8-43d0-af79-3e81dbb344fa'}))
        try:
            await rpc.generate_user_token({'__type__': 'robot'})
        except aiohttp_rpc.errors.InvalidParams as exc:
            print('#9', exc.code, exc.message)
        print('#10', await rpc.get_method('method_of'))

    await runner.cleanup()


asyncio.run(main())
