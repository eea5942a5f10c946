"""A JSON-RPC 2.0 client over HTTP: every way ``aiohttp_rpc.JSONRPCClient`` can call a server.

It talks to ``examples/http_server.py`` (methods ``ping`` and ``echo``), so start that first::

    python examples/http_server.py
    python examples/http_client.py --url http://127.0.0.1:8080/rpc

Each line it prints names the call on the left and what came back on the right.
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp_rpc
from aiohttp_rpc.errors import MethodNotFound


async def run(url: str) -> None:
    async with aiohttp_rpc.JSONRPCClient(url) as rpc:
        # Remote methods as attributes: positional and keyword arguments map to JSON-RPC params.
        print('methods.ping()            ->', await rpc.methods.ping())
        print("methods.echo('a', 1)      ->", await rpc.methods.echo('a', 1))
        print('methods.echo(colour=red)  ->', await rpc.methods.echo(colour='red'))

        # The same call, with the method name as a string.
        print("call('echo', 2.5, None)   ->", await rpc.call('echo', 2.5, None))

        # A notification carries no id: the server runs it and sends nothing back.
        await rpc.notify('echo', 'quiet')
        print("notify('echo', 'quiet')   -> sent, no reply expected")

        # Build the request yourself and get the whole response object back.
        response = await rpc.direct_call(aiohttp_rpc.JSONRPCRequest(method='ping', id='my-own-id'))
        assert response is not None
        http_status = response.context['http_response'].status
        print(f'direct_call(ping)         -> id={response.id!r} result={response.result!r} (HTTP {http_status})')

        # A batch goes out as one HTTP request; results come back in the order the requests were given.
        results = await rpc.batch(
            rpc.methods.echo.request('first'),
            rpc.methods.ping.request(),
            rpc.methods.echo.request(last=True),
        )
        print('batch(echo, ping, echo)   ->', results)

        # A batch made only of notifications gets no reply at all.
        await rpc.batch_notify(rpc.methods.ping.notification(), rpc.methods.echo.notification('x'))
        print('batch_notify(ping, echo)  -> sent, no reply expected')

        # Error replies are raised as exceptions, one class per JSON-RPC error code.
        try:
            await rpc.methods.launch_rockets()
        except MethodNotFound as exc:
            print(f'methods.launch_rockets()  -> MethodNotFound: code={exc.code} message={exc.message!r}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='http://127.0.0.1:8080/rpc', help='the server endpoint (default: %(default)s)')
    args = parser.parse_args()
    asyncio.run(run(args.url))


if __name__ == '__main__':
    main()
