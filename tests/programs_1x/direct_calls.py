"""1.x: direct_call and direct_batch with 1.x request objects, through a client on an outer session."""

import asyncio

import aiohttp
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors


def add(a, b):
    return a + b


async def whoami(rpc_request):
    return rpc_request.context['http_request'].headers.get('X-User', 'anonymous')


def greet(name, *, greeting='hello'):
    """Greet someone."""
    return f'{greeting} {name}'


async def main():
    rpc_server = aiohttp_rpc.JsonRpcServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    rpc_server.add_methods([add, whoami])
    rpc_server.add_method(aiohttp_rpc.JsonRpcMethod(greet, name='hi'))
    rpc_server.add_method(aiohttp_rpc.JsonRpcMethod(add, name='add'), replace=True)
    print('#1', rpc_server.get_methods()['hi'])
    print('#2', await rpc_server.call('add', args=[1, 2]))

    app = web.Application()
    app.router.add_routes([web.post('/rpc', rpc_server.handle_http_request)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    url = f'http://127.0.0.1:{runner.addresses[0][1]}/rpc'

    async with aiohttp.ClientSession() as session:
        async with aiohttp_rpc.JsonRpcClient(url, session=session) as rpc:
            request = aiohttp_rpc.JsonRpcRequest(method_name='add', id=1, args=[40, 2])
            response = await rpc.direct_call(request)
            print('#3', type(response).__name__, response.id, response.result, response.error)

            request = aiohttp_rpc.JsonRpcRequest(method_name='whoami', id='w', params=[])
            response = await rpc.direct_call(request, headers={'X-User': 'mike'})
            print('#4', response.result)

            batch = aiohttp_rpc.JsonRpcBatchRequest(
                requests=(
                    aiohttp_rpc.JsonRpcRequest(method_name='hi', id=1, args=['ann']),
                    aiohttp_rpc.JsonRpcRequest(method_name='hi', id=2, kwargs={'name': 'bo', 'greeting': 'hey'}),
                    aiohttp_rpc.JsonRpcRequest(method_name='nope', id=3),
                    aiohttp_rpc.JsonRpcRequest(method_name='add', args=[1, 1]),  # a notification
                )
            )
            batch_response = await rpc.direct_batch(batch)
            for response in sorted(batch_response.responses, key=lambda response: response.id):
                print('#5', response.id, response.result, response.error)

            print('#6', await rpc.batch(batch))
            await rpc.batch_notify([['add', [1, 2]], 'whoami'])
            try:
                await rpc.call('add', 1)
            except errors.InvalidParams as exc:
                print('#7', exc.code)
            except errors.JsonRpcError as exc:
                print('#7', exc)
        print('#8 outer session closed:', session.closed)

    await runner.cleanup()


asyncio.run(main())
