"""A typed JSON-RPC API: checked dataclass params, method groups, a per-request user, a token guard, docs.

What it shows:

* **Typed params.** The server is created with ``validate_params=True`` (needs ``pip install
  "aiohttp-rpc[typed]"``): each method's annotations are turned into a pydantic model once, params are
  checked and converted (a JSON object becomes an ``Order`` dataclass), and a bad call gets -32602 with the
  list of problems in ``error.data.errors``.
* **Groups.** ``shop.quote`` and ``shop.catalog.items`` come from nested ``MethodGroup``s; ``account.*``
  sits behind a bearer-token guard (``Authorization: Bearer demo-token``; set ``TYPED_API_TOKEN`` to
  change it) that applies to that group only.
* **Request context.** ``current_user`` builds a ``User`` from the ``X-User`` header; a method receives it by
  declaring a ``User`` parameter, which is never an RPC parameter.
* **One API, two transports.** ``POST /rpc`` (HTTP) and ``GET /ws`` (WebSocket) serve the same groups;
  over WebSocket the headers of the upgrade request count.
* **A typed contract.** ``MarketAPI`` is a ``typing.Protocol`` that the server implements (``add_api``, checked
  when registered) and clients call through ``rpc.proxy(MarketAPI, prefix='market')``, typed for mypy and
  pyright; ``price_feed`` is a subscription (WebSocket).
* **Discovery and docs.** ``rpc.discover``, ``GET /docs`` and ``GET /openrpc.json``, where the installed
  aiohttp_rpc has them; each lists only what the caller may call (``account.*`` with the token).

Run it::

    python examples/typed_api.py --port 8080     # serve until Ctrl-C
    python examples/typed_api.py --once          # serve on a free port, make a few calls, exit

and call it::

    curl -s localhost:8080/rpc -H 'Content-Type: application/json' \\
        -d '{"jsonrpc": "2.0", "method": "shop.quote", "params": {"order": {"lines": [{"sku": "pear"}]}}, "id": 1}'
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, Protocol

import pydantic
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors

API_TOKEN = os.environ.get('TYPED_API_TOKEN', 'demo-token')
"""The bearer token ``account.*`` requires (a constant for the demo; read it from a secret store in real life)."""

PRICES = {'apple': 50, 'pear': 75, 'melon': 300}
"""Cents per item."""

COUPONS = {'SPRING10': 10}
"""Percent off."""

TITLE = 'Fruit shop (aiohttp_rpc typed API example)'
VERSION = '1.0.0'

ROUTES = 'POST /rpc, GET /ws, GET /docs, GET /openrpc.json'
HTTP_SERVER = web.AppKey('http_server', aiohttp_rpc.JSONRPCServer)

# -- the types the API speaks ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class User:
    """The caller, built for each request from its headers."""

    name: str


@dataclasses.dataclass(frozen=True)
class Line:
    sku: Literal['apple', 'pear', 'melon']
    quantity: Annotated[int, pydantic.Field(ge=1, le=100)] = 1


@dataclasses.dataclass(frozen=True)
class Order:
    lines: list[Line]
    coupon: str | None = None


@dataclasses.dataclass(frozen=True)
class Quote:
    items: int
    subtotal_cents: int
    discount_cents: int
    total_cents: int


@dataclasses.dataclass(frozen=True)
class Receipt:
    number: int
    customer: str
    quote: Quote


@dataclasses.dataclass(frozen=True)
class CatalogItem:
    sku: str
    price_cents: int


# -- a typed contract: one Protocol for the server and its clients ----------------------------------------------


class MarketAPI(Protocol):
    """Prices, as a typed contract (``rpc.proxy(MarketAPI, prefix='market')``)."""

    async def price_of(self, sku: str) -> int: ...

    def price_feed(self, skus: list[str]) -> AsyncIterator[CatalogItem]: ...


class Market:
    """The server's implementation; ``add_api`` checks it against ``MarketAPI`` (and so does mypy, below)."""

    async def price_of(self, sku: str) -> int:
        """The price of one item, in cents."""
        if sku not in PRICES:
            problem = {'path': ['sku'], 'message': 'Unknown item', 'type': 'unknown_sku'}
            raise errors.InvalidParams(data={'errors': [problem]})
        return PRICES[sku]

    async def price_feed(self, skus: list[str]) -> AsyncIterator[CatalogItem]:
        """The prices of ``skus``, one item each (a subscription)."""
        for sku in skus:
            yield CatalogItem(sku, await self.price_of(sku))


_conforms: MarketAPI = Market()


# -- the request context --------------------------------------------------------------------------------------


def current_user(http_request: web.Request | None) -> User:
    """The context factory: called once per message, and only when the method called takes a ``User``.

    Over WebSocket ``http_request`` is the upgrade request; in-process (``server.dispatch``) it is ``None``.
    """
    if http_request is None:
        return User('local')
    return User(http_request.headers.get('X-User', 'anonymous'))


# -- the methods, in groups -----------------------------------------------------------------------------------


def ping() -> str:
    """Check that the server is up."""
    return 'pong'


def build_shop() -> aiohttp_rpc.MethodGroup:
    shop = aiohttp_rpc.MethodGroup(description='Prices and quotes; open to everyone.')
    catalog = aiohttp_rpc.MethodGroup(description='What is for sale.')

    @catalog.method()
    def items() -> list[CatalogItem]:
        """List every item with its price."""
        return [CatalogItem(sku, price) for sku, price in PRICES.items()]

    @shop.method()
    def quote(order: Order) -> Quote:
        """Price an order; a known coupon takes a percentage off."""
        return price(order)

    shop.add_group('catalog', catalog)
    return shop


def build_account() -> aiohttp_rpc.MethodGroup:
    account = aiohttp_rpc.MethodGroup(
        guards=[aiohttp_rpc.require_bearer_token({API_TOKEN})],
        description='Your own account; needs "Authorization: Bearer <token>".',
    )
    receipt_numbers = itertools.count(1001)

    @account.method()
    def whoami(user: User) -> User:
        """Who the server thinks you are (from the X-User header)."""
        return user

    @account.method()
    def place_order(order: Order, user: User) -> Receipt:
        """Place an order as the current user."""
        return Receipt(next(receipt_numbers), user.name, price(order))

    return account


def price(order: Order) -> Quote:
    subtotal = sum(PRICES[line.sku] * line.quantity for line in order.lines)
    if order.coupon is not None and order.coupon not in COUPONS:
        problem = {'path': ['order', 'coupon'], 'message': 'Unknown coupon', 'type': 'unknown_coupon'}
        raise errors.InvalidParams(data={'errors': [problem]})
    discount = subtotal * COUPONS.get(order.coupon or '', 0) // 100
    return Quote(sum(line.quantity for line in order.lines), subtotal, discount, subtotal - discount)


# -- the app --------------------------------------------------------------------------------------------------


def create_app() -> web.Application:
    """``POST /rpc`` and ``GET /ws`` serving the same groups, plus the docs when available."""
    options: dict[str, Any] = {
        'middlewares': aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES,
        'validate_params': True,
        'context_factory': current_user,
    }
    http_server = aiohttp_rpc.JSONRPCServer(**options)
    ws_server = aiohttp_rpc.WSJSONRPCServer(**options)
    shop, account = build_shop(), build_account()
    for server in (http_server, ws_server):
        server.add_method(ping)
        server.add_group('shop', shop)
        server.add_group('account', account)
        server.add_api(MarketAPI, Market(), prefix='market')
        server.add_discovery(title=TITLE, version=VERSION)  # rpc.discover

    app = web.Application()
    app.router.add_post('/rpc', http_server.handle_http_request)
    app.router.add_get('/ws', ws_server.handle_http_request)
    app.on_shutdown.append(ws_server.on_shutdown)
    http_server.mount_docs(app, endpoint='/rpc', title=TITLE, version=VERSION)  # GET /docs, GET /openrpc.json
    app[HTTP_SERVER] = http_server
    return app


# -- the --once tour ------------------------------------------------------------------------------------------


def show(label: str, value: Any) -> None:
    print(f'{label:<44} -> {json.dumps(value)}')


def show_error(label: str, exc: errors.JSONRPCError) -> None:
    data = '' if exc.data is None else f' data={json.dumps(exc.data)}'
    print(f'{label:<44} -> error {exc.code} {exc.message!r}{data}')


async def tour(base_url: str) -> None:
    """Call the API the way a client would, over HTTP and over WebSocket."""
    order = {'lines': [{'sku': 'apple', 'quantity': 3}, {'sku': 'melon'}], 'coupon': 'SPRING10'}
    bad_order = {'lines': [{'sku': 'kiwi', 'quantity': 0}], 'coupon': 7}
    authorized = {'Authorization': f'Bearer {API_TOKEN}', 'X-User': 'ada'}

    async with aiohttp_rpc.JSONRPCClient(f'{base_url}/rpc') as rpc:
        show('ping()', await rpc.methods.ping())
        show('shop.catalog.items()', await rpc.call('shop.catalog.items'))
        show('shop.quote(order)', await rpc.call('shop.quote', order=order))
        try:
            await rpc.call('shop.quote', order=bad_order)
        except errors.InvalidParams as exc:
            show_error('shop.quote(bad order)', exc)
        try:
            await rpc.call('account.whoami')
        except errors.JSONRPCError as exc:
            show_error('account.whoami() without a token', exc)
        document = await rpc.call('rpc.discover')  # lists only what this caller may call
        show('rpc.discover() method names', sorted(method['name'] for method in document['methods']))

    async with aiohttp_rpc.JSONRPCClient(f'{base_url}/rpc', headers=authorized) as rpc:
        document = await rpc.call('rpc.discover')
        show('rpc.discover() with a token', sorted(method['name'] for method in document['methods']))
        show('account.whoami() with a token, as ada', await rpc.call('account.whoami'))
        try:
            await rpc.call('account.whoami', user={'name': 'root'})
        except errors.InvalidParams as exc:
            show_error('account.whoami(user=root): not a param', exc)

    ws_url = base_url.replace('http://', 'ws://') + '/ws'
    async with aiohttp_rpc.WSJSONRPCClient(ws_url, headers={**authorized, 'X-User': 'grace'}) as rpc:
        show('[ws] account.place_order(order) as grace', await rpc.call('account.place_order', order=order))
    async with aiohttp_rpc.WSJSONRPCClient(ws_url, headers={'X-User': 'mallory'}) as rpc:
        try:
            await rpc.call('account.place_order', order=order)
        except errors.JSONRPCError as exc:
            show_error('[ws] account.place_order(order), no token', exc)
        market = rpc.proxy(MarketAPI, prefix='market', validate_results=True)  # typed: mypy knows price_of -> int
        show('[ws] market.price_of("pear") via proxy', await market.price_of('pear'))
        try:
            await market.price_of('kiwi')
        except errors.InvalidParams as exc:
            show_error('[ws] market.price_of("kiwi") via proxy', exc)
        feed = [dataclasses.asdict(item) async for item in market.price_feed(['melon', 'apple'])]  # CatalogItems
        show('[ws] market.price_feed([melon, apple])', feed)


async def run_once() -> None:
    app = create_app()
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, '127.0.0.1', 0).start()
        host, port = runner.addresses[0][:2]
        base_url = f'http://{host}:{port}'
        print(f'Serving on {base_url}: {ROUTES}')
        await tour(base_url)
        print('Done (--once).')
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8080, help='port to listen on (default: %(default)s)')
    parser.add_argument('--once', action='store_true', help='serve on a free port, make a few calls and exit')
    args = parser.parse_args()
    if args.once:
        asyncio.run(run_once())
        return
    app = create_app()

    def announce(text: str) -> None:  # run_app's banner, once the socket is bound
        if text.startswith('======== Running on'):
            print(f'Serving on http://127.0.0.1:{args.port}: {ROUTES} (Ctrl-C to stop)', flush=True)

    web.run_app(app, host='127.0.0.1', port=args.port, print=announce)


if __name__ == '__main__':
    main()
