"""The aiohttp_rpc demo: a JSON-RPC 2.0 server and a client talking to it, in one process.

It starts a server on http://127.0.0.1:8080/rpc with four methods (``ping``, ``echo``, ``divide``, which
raises an error when dividing by zero, and ``log``), then calls it with ``aiohttp_rpc.JSONRPCClient``:
a plain call, keyword arguments, a notification, a batch and an error, printing each message the client
sends (``-->``) and receives (``<--``). Then it keeps serving, so you can try it with curl, until Ctrl-C.

    python examples/demo.py                # or: make demo
    python examples/demo.py --port 9000    # another port (0: any free one)
    python examples/demo.py --once         # exit right after the calls
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import MutableMapping, Sequence
from typing import Any

from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.errors import DEFAULT_KNOWN_ERRORS_MAP, JSONRPCError

# -- the server ---------------------------------------------------------------------------------------------


class DivisionByZero(JSONRPCError):
    """An application error: codes outside -32768..-32000 are free for applications to use."""

    code = 1001
    message = 'Cannot divide by zero'


def ping() -> str:
    return 'pong'


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {'args': args, 'kwargs': kwargs}


def divide(dividend: float, divisor: float) -> float:
    if divisor == 0:
        raise DivisionByZero(data={'dividend': dividend})
    return dividend / divisor


def log(message: str) -> None:
    print(f'    [server] log: {message}')


def create_app() -> web.Application:
    rpc_server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    rpc_server.add_methods([ping, echo, divide, log])
    app = web.Application()
    app.router.add_routes([web.post('/rpc', rpc_server.handle_http_request)])
    return app


# -- the client ---------------------------------------------------------------------------------------------


class TracingClient(aiohttp_rpc.JSONRPCClient):
    """A client that prints every message it sends and receives.

    Every call, notification and batch goes through ``send_json``, so overriding it sees all the traffic.
    """

    async def send_json(
        self, data: Any, *, ignore_response: bool = False, **kwargs: Any
    ) -> tuple[Any, MutableMapping[str, Any]]:
        show_json('-->', data)
        reply, context = await super().send_json(data, ignore_response=ignore_response, **kwargs)
        if reply is None:
            http_response = context['http_response']
            print(f'    <-- HTTP {http_response.status} {http_response.reason}: no reply to a notification')
        else:
            show_json('<--', reply)
        return reply, context


def show_json(arrow: str, message: Any) -> None:
    """Print a message as JSON; a batch gets one member per line."""
    if isinstance(message, (list, tuple)):
        members = [json.dumps(member) for member in message]
        print(f'    {arrow} [')
        print(',\n'.join(f'          {member}' for member in members))
        print('        ]')
    else:
        print(f'    {arrow} {json.dumps(message)}')


def use_color() -> bool:
    return sys.stdout.isatty() and 'NO_COLOR' not in os.environ


def heading(text: str) -> None:
    print(f'\n\033[1m{text}\033[0m' if use_color() else f'\n{text}')


def show_code(*lines: str) -> None:
    """Print Python source as typed at the interactive prompt."""
    for number, line in enumerate(lines):
        prompt = '...' if number else '>>>'
        print(f'    \033[36m{prompt} {line}\033[0m' if use_color() else f'    {prompt} {line}')


def show_values(values: Sequence[Any]) -> None:
    for index, value in enumerate(values):
        print(f'    [{index}] {value!r}')


async def run_calls(url: str) -> None:
    error_map = {**DEFAULT_KNOWN_ERRORS_MAP, DivisionByZero.code: DivisionByZero}
    async with TracingClient(url, error_map=error_map) as rpc:
        heading('1. A plain call')
        show_code('await rpc.methods.ping()')
        print(f'    {await rpc.methods.ping()!r}')

        heading('2. Keyword arguments (they travel as a JSON object)')
        show_code('await rpc.methods.divide(dividend=7, divisor=2)')
        print(f'    {await rpc.methods.divide(dividend=7, divisor=2)!r}')

        heading('3. A notification (no id, so the server sends nothing back)')
        show_code("await rpc.methods.log.notify('hello from the client')")
        await rpc.methods.log.notify('hello from the client')

        heading('4. A batch: several calls in one HTTP request')
        show_code(
            'await rpc.batch(',
            '    rpc.methods.ping.request(),',
            "    rpc.methods.echo.request('one', 2),",
            '    rpc.methods.divide.request(1, 8),',
            '    rpc.methods.no_such_method.request(),',
            ')',
        )
        results = await rpc.batch(
            rpc.methods.ping.request(),
            rpc.methods.echo.request('one', 2),
            rpc.methods.divide.request(1, 8),
            rpc.methods.no_such_method.request(),
        )
        print('    One value per request, in request order; a failed call gets its error in its place:')
        show_values(results)

        heading('5. An error: raised as the exception class its code maps to')
        show_code('await rpc.methods.divide(1, 0)')
        try:
            await rpc.methods.divide(1, 0)
        except DivisionByZero as exc:
            print(f'    raised {exc!r} with data={exc.data!r}')


# -- running both -------------------------------------------------------------------------------------------


def format_url(host: str, port: int) -> str:
    return f'http://[{host}]:{port}/rpc' if ':' in host else f'http://{host}:{port}/rpc'


async def wait_for_sigterm() -> None:
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # not available on Windows: there, only Ctrl-C stops it
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


async def run(host: str, port: int, *, once: bool) -> None:
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            sys.exit(f'Cannot start the demo server: {exc.strerror}. Pick another port, e.g. --port 8081')
        bound_host, bound_port = runner.addresses[0][:2]
        url = format_url(bound_host, bound_port)

        print('aiohttp_rpc demo: a JSON-RPC 2.0 server and client in one process')
        print(f'Server listening on {url} (methods: ping, echo, divide, log)')
        print('Below, >>> is the Python call, --> what the client sent and <-- what came back.')

        await run_calls(url)

        if once:
            print('\nDone (--once): stopping the server.')
            return
        request = json.dumps({'jsonrpc': '2.0', 'method': 'echo', 'params': ['hi', 42], 'id': 1})
        print(f'\nDone. The server is still running at {url}; try it from another terminal:\n')
        print(f"    curl -s {url} -H 'Content-Type: application/json' -d '{request}'\n")
        print('Press Ctrl-C to stop.')
        await wait_for_sigterm()  # or until Ctrl-C cancels it
        print('\nStopped.')
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=int, default=8080, help='port to listen on, 0 for any (default: %(default)s)')
    parser.add_argument('--once', action='store_true', help='exit right after the calls instead of serving on')
    args = parser.parse_args()
    try:
        asyncio.run(run(args.host, args.port, once=args.once))
    except KeyboardInterrupt:
        print('\nStopped.')


if __name__ == '__main__':
    main()
