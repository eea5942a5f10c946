"""Two-way RPC on one WebSocket: the server calls the client back while answering the client's call.

The client asks the server to process a job; while working, the server pushes progress notifications to
the client and asks it (a real call, with a reply) to approve the result. Runs both ends in one process:

    python examples/ws_callbacks.py           # start, run the job, exit
"""

from __future__ import annotations

import asyncio

from aiohttp import web

import aiohttp_rpc

# -- server side ----------------------------------------------------------------------------------------------


async def process(items: list[int], rpc_request: aiohttp_rpc.JSONRPCRequest) -> dict[str, object]:
    """Sum the items, reporting progress to the caller and asking it to approve the total."""
    peer = aiohttp_rpc.get_peer(rpc_request)
    total = 0
    for done, item in enumerate(items, start=1):
        total += item
        await peer.notify('progress', done=done, of=len(items))
    approved = await peer.methods.approve(total)
    return {'total': total, 'approved': approved}


def make_server() -> aiohttp_rpc.WSJSONRPCServer:
    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_method(aiohttp_rpc.JSONRPCMethod(process, pass_extra_kwargs=True))
    return server


# -- client side ----------------------------------------------------------------------------------------------


def progress(done: int, of: int) -> None:
    print(f'  progress: {done}/{of}')


def approve(total: int) -> bool:
    verdict = total < 100
    print(f'  server asks to approve total={total}: {"yes" if verdict else "no"}')
    return verdict


async def main() -> None:
    server = make_server()
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp_rpc.WSJSONRPCClient(f'ws://127.0.0.1:{port}/rpc', methods=[progress, approve]) as rpc:
            print('client calls process([10, 20, 30])')
            print('result:', await rpc.methods.process([10, 20, 30]))
    finally:
        await runner.cleanup()


if __name__ == '__main__':
    asyncio.run(main())
