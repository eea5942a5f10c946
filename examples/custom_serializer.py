"""Sending values the json module cannot encode by itself, with a custom ``json_serialize``.

The ``get_order`` method returns an ``Order`` dataclass holding a ``uuid.UUID`` and a ``decimal.Decimal``.
Plain ``json.dumps`` rejects all three types, so the server is given
``functools.partial(json.dumps, default=encode_extra_types)``: ``json.dumps`` calls ``encode_extra_types``
for every value it does not know, and serializes what that returns instead. The client uses the same
serializer, so it can pass a ``UUID`` argument as it is.

(The default serializer, orjson, already encodes dataclasses and UUIDs; a ``default=`` hook is how you
choose the encoding yourself, or add types such as ``Decimal`` that it does not cover.)

Serve it::

    python examples/custom_serializer.py --port 8080

or start it on a free port, call ``get_order`` once, print the result and exit::

    python examples/custom_serializer.py --once
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import decimal
import functools
import json
import uuid
from typing import Any

from aiohttp import web

import aiohttp_rpc


@dataclasses.dataclass(frozen=True)
class Order:
    order_id: uuid.UUID
    item: str
    quantity: int
    unit_price: decimal.Decimal


TEAPOT_ORDER_ID = uuid.UUID('0b7f5e2c-4c1d-4a57-9e43-2f6a1d8c9b10')

ORDERS = {TEAPOT_ORDER_ID: Order(TEAPOT_ORDER_ID, item='teapot', quantity=2, unit_price=decimal.Decimal('19.90'))}


def encode_extra_types(value: Any) -> Any:
    """Give ``json.dumps`` something it can encode in place of ``value``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)  # its UUID and Decimal fields come back here in turn
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)  # a string keeps every digit of a Decimal, unlike a float
    raise TypeError(f'Cannot encode {type(value).__name__} as JSON')


serialize = functools.partial(json.dumps, default=encode_extra_types)


async def get_order(order_id: str) -> Order:
    try:
        key = uuid.UUID(order_id)
    except ValueError:
        raise aiohttp_rpc.errors.InvalidParams(data={'details': 'order_id must be a UUID'}) from None
    order = ORDERS.get(key)
    if order is None:
        raise aiohttp_rpc.errors.InvalidParams(data={'details': f'no order {order_id}'})
    return order


def create_app() -> web.Application:
    rpc_server = aiohttp_rpc.JSONRPCServer(
        json_serialize=serialize,
        middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES,
    )
    rpc_server.add_method(get_order)
    app = web.Application()
    app.router.add_routes([web.post('/rpc', rpc_server.handle_http_request)])
    return app


async def run_once(host: str, port: int) -> None:
    """Serve on ``host:port`` (0: any free port), call the server once, and shut down."""
    runner = web.AppRunner(create_app())
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        url = f'http://{bound_host}:{bound_port}/rpc'
        print(f'Serving on {url}')

        async with aiohttp_rpc.JSONRPCClient(url, json_serialize=serialize) as rpc:
            order = await rpc.methods.get_order(TEAPOT_ORDER_ID)  # the UUID goes out as a string
            print(f'get_order({TEAPOT_ORDER_ID}) returned:')
            for field, value in order.items():
                print(f'  {field}: {value!r}')
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='address to listen on (default: %(default)s)')
    parser.add_argument('--port', type=int, help='port to listen on (default: 8080; a free one with --once)')
    parser.add_argument('--once', action='store_true', help='serve, call get_order once, print the result, exit')
    args = parser.parse_args()
    if args.once:
        asyncio.run(run_once(args.host, 0 if args.port is None else args.port))
    else:
        web.run_app(create_app(), host=args.host, port=8080 if args.port is None else args.port)


if __name__ == '__main__':
    main()
