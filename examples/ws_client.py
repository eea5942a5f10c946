"""A JSON-RPC client over WebSocket, which also serves a method to the server.

Run the server first:  python examples/ws_server.py --port 8080
Then:                  python examples/ws_client.py --url ws://127.0.0.1:8080/rpc
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp_rpc


def name() -> str:
    """Called by the server to learn who we are."""
    return 'example-client'


def time(now: str) -> None:
    """Broadcast by the server every few seconds."""
    print('server time:', now)


async def main(url: str) -> None:
    async with aiohttp_rpc.WSJSONRPCClient(url, methods=[name, time]) as rpc:
        print('ping ->', await rpc.methods.ping())
        print('echo ->', await rpc.methods.echo('hello'), await rpc.methods.echo(lang='en'))
        await rpc.methods.echo.notify('fire and forget')
        print('who_am_i ->', await rpc.methods.who_am_i())
        many = await asyncio.gather(*(rpc.methods.echo(i) for i in range(100)))
        print('100 calls in flight ->', len(many), 'answers, last', many[-1])
        print(
            'batch ->',
            await rpc.batch(
                rpc.methods.ping.request(),
                rpc.methods.echo.request(n=1),
                rpc.methods.echo.notification('not answered'),
            ),
        )
        try:
            await rpc.methods.no_such_method()
        except aiohttp_rpc.errors.MethodNotFound as exc:
            print('error ->', repr(exc))


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='ws://127.0.0.1:8080/rpc')
    asyncio.run(main(parser.parse_args().url))
