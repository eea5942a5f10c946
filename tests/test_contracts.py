"""Typed contracts at run time: ``add_api`` checks an implementation against its protocol, and ``proxy`` calls
it over HTTP, WebSocket and in process, subscriptions and errors included. (What type checkers make of them is
``tests/typing/``.)"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.client.transports.local import LocalTransport

pytestmark = pytest.mark.timeout(30)


class Overdrawn(errors.JSONRPCError):
    code = 4001
    message = 'Overdrawn'


@dataclasses.dataclass
class Tick:
    symbol: str
    price: float


class CalcAPI(Protocol):
    """Arithmetic, and prices."""

    async def add(self, a: int, b: int = 0) -> int: ...

    async def withdraw(self, amount: int) -> None: ...

    def ticks(self, symbol: str, count: int) -> AsyncIterator[Tick]: ...


class Calc:
    async def add(self, a: int, b: int = 0) -> int:
        return a + b

    async def withdraw(self, amount: int) -> None:
        raise Overdrawn(data={'balance': 3})

    async def ticks(self, symbol: str, count: int) -> AsyncIterator[Tick]:
        for index in range(count):
            yield Tick(symbol, float(index))


class Liar(Calc):
    async def add(self, a: int, b: int = 0) -> int:
        return f'{a} + {b}'  # type: ignore[return-value]


ERROR_MAP = {**errors.DEFAULT_KNOWN_ERRORS_MAP, Overdrawn.code: Overdrawn}


@pytest.fixture
async def urls(aiohttp_server: Any) -> dict[str, str]:
    http = aiohttp_rpc.JSONRPCServer()
    ws = aiohttp_rpc.WSJSONRPCServer()
    for server in (http, ws):
        server.add_api(CalcAPI, Calc(), prefix='calc')
        server.add_api(CalcAPI, Liar(), prefix='liar')
    app = web.Application()
    app.router.add_post('/rpc', http.handle_http_request)
    app.router.add_get('/ws', ws.handle_http_request)
    test_server = await aiohttp_server(app)
    return {'http': str(test_server.make_url('/rpc')), 'ws': str(test_server.make_url('/ws'))}


def client_for(kind: str, urls: dict[str, str]) -> aiohttp_rpc.BaseJSONRPCClient:
    if kind == 'http':
        return aiohttp_rpc.JSONRPCClient(urls['http'], error_map=ERROR_MAP)
    if kind == 'ws':
        return aiohttp_rpc.WSJSONRPCClient(urls['ws'], error_map=ERROR_MAP)
    server = aiohttp_rpc.JSONRPCServer()
    server.add_api(CalcAPI, Calc(), prefix='calc')
    server.add_api(CalcAPI, Liar(), prefix='liar')
    return aiohttp_rpc.BaseJSONRPCClient(transport=LocalTransport(server), error_map=ERROR_MAP)


@pytest.mark.parametrize('kind', ['http', 'ws', 'local'])
async def test_a_proxy_calls_the_contract_over_every_transport(kind: str, urls: dict[str, str]) -> None:
    async with client_for(kind, urls) as rpc:
        calc = rpc.proxy(CalcAPI, prefix='calc')
        assert await calc.add(1, 2) == 3
        assert await calc.add(40, b=2) == 42
        assert await calc.add(5) == 5  # the default, left to the server
        with pytest.raises(Overdrawn) as caught:
            await calc.withdraw(10)
        assert caught.value.data == {'balance': 3}
        with pytest.raises(TypeError):
            await calc.add(1, 2, 3)  # refused here, as Python refuses a call that does not fit
        if kind == 'ws':
            ticks = [tick async for tick in calc.ticks('BTC', 2)]
            assert ticks == [{'symbol': 'BTC', 'price': 0.0}, {'symbol': 'BTC', 'price': 1.0}]
            typed = rpc.proxy(CalcAPI, prefix='calc', validate_results=True)
            assert [tick async for tick in typed.ticks('ETH', 1)] == [Tick('ETH', 0.0)]
        else:
            with pytest.raises(errors.SubscriptionsUnavailable):
                await calc.ticks('BTC', 2).subscribe()


@pytest.mark.parametrize('kind', ['http', 'ws', 'local'])
async def test_validate_results_catches_a_peer_that_breaks_the_contract(kind: str, urls: dict[str, str]) -> None:
    async with client_for(kind, urls) as rpc:
        assert await rpc.proxy(CalcAPI, prefix='liar').add(1, 2) == '1 + 2'  # unchecked: as it came
        with pytest.raises(errors.ContractError) as caught:
            await rpc.proxy(CalcAPI, prefix='liar', validate_results=True).add(1, 2)
    assert str(caught.value) == (
        'Contract error: liar.add answered a value that breaks the contract '
        '(result: Input should be a valid integer, unable to parse string as an integer)'
    )


def test_add_api_serves_the_protocol_names_in_a_described_group() -> None:
    server = aiohttp_rpc.WSJSONRPCServer()
    methods = server.add_api(CalcAPI, Calc(), prefix='calc')
    assert [method.name for method in methods] == ['add', 'ticks', 'withdraw']
    assert set(server.methods) == {'calc.add', 'calc.ticks', 'calc.ticks.unsubscribe', 'calc.withdraw'}
    assert server.tags_of('calc.add') == ('calc',)
    assert server.describe_tag('calc') == 'Arithmetic, and prices.'
    assert all(method.validates for method in methods)  # type: ignore[attr-defined]


class NotAsync:
    def add(self, a: int, b: int = 0) -> int:
        return a + b


class Missing:
    async def add(self, a: int, b: int = 0) -> int:
        return a + b


class WrongType(Calc):
    async def add(self, a: int, b: str = '') -> int:  # type: ignore[override]
        return a


class WrongName(Calc):
    async def add(self, x: int, b: int = 0) -> int:  # type: ignore[override]
        return x + b


class NoDefault(Calc):
    async def add(self, a: int, b: int) -> int:  # type: ignore[override]
        return a + b


class PlainTicks(Calc):
    async def ticks(self, symbol: str, count: int) -> list[Tick]:  # type: ignore[override]
        return []


@pytest.mark.parametrize(
    ('impl', 'details'),
    [
        (Missing(), 'Missing does not implement CalcAPI.ticks.'),
        (
            NotAsync(),
            'NotAsync.add does not match CalcAPI.add: it must be a coroutine function (async def), as in the protocol.',
        ),
        (WrongType(), "WrongType.add does not match CalcAPI.add: param 'b' is str, not int."),
        (WrongName(), 'WrongName.add does not match CalcAPI.add: its params are (x, b), not (a, b).'),
        (NoDefault(), "NoDefault.add does not match CalcAPI.add: param 'b' has no default."),
        (
            PlainTicks(),
            'PlainTicks.ticks does not match CalcAPI.ticks: it must be an async generator function '
            '(the protocol returns an async iterator).',
        ),
    ],
)
def test_an_implementation_that_differs_is_refused_at_registration(impl: object, details: str) -> None:
    server = aiohttp_rpc.JSONRPCServer()
    with pytest.raises(errors.ServerConfigurationError) as caught:
        server.add_api(CalcAPI, impl)
    assert caught.value.data == {'details': details}
    assert server.methods == {}


def test_only_a_protocol_is_a_contract() -> None:
    with pytest.raises(errors.ServerConfigurationError) as caught:
        aiohttp_rpc.JSONRPCServer().add_api(Calc, Calc())
    assert str(caught.value) == f'Server configuration error: {Calc!r} is not a typing.Protocol class.'


class ClientAPI(Protocol):
    async def confirm(self, question: str) -> bool: ...


class Confirmer:
    async def confirm(self, question: str) -> bool:
        return question.endswith('?')


async def test_the_server_calls_its_client_through_a_proxy(aiohttp_server: Any) -> None:
    server = aiohttp_rpc.WSJSONRPCServer()

    async def ask(rpc_request: aiohttp_rpc.JSONRPCRequest) -> list[bool]:
        client = aiohttp_rpc.get_peer(rpc_request).proxy(ClientAPI)
        return [await client.confirm('ready?'), await client.confirm('go!')]

    server.add_method(aiohttp_rpc.JSONRPCMethod(ask, pass_extra_kwargs=True))
    app = web.Application()
    app.router.add_get('/ws', server.handle_http_request)
    test_server = await aiohttp_server(app)
    async with aiohttp_rpc.WSJSONRPCClient(str(test_server.make_url('/ws'))) as rpc:
        rpc.add_api(ClientAPI, Confirmer())
        assert await rpc.call('ask') == [True, False]


def load_typed_api() -> Any:
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / 'examples' / 'typed_api.py'
    spec = importlib.util.spec_from_file_location('typed_api_example', path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules['typed_api_example'] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('kind', ['http', 'ws', 'local'])
async def test_the_example_contract_over_every_transport(kind: str, aiohttp_server: Any) -> None:
    """examples/typed_api.py's ``MarketAPI``, through a proxy: a result, an error, and the subscription."""
    example = load_typed_api()
    app = example.create_app()
    test_server = await aiohttp_server(app)
    if kind == 'http':
        rpc: aiohttp_rpc.BaseJSONRPCClient = aiohttp_rpc.JSONRPCClient(str(test_server.make_url('/rpc')))
    elif kind == 'ws':
        rpc = aiohttp_rpc.WSJSONRPCClient(str(test_server.make_url('/ws')))
    else:
        rpc = aiohttp_rpc.BaseJSONRPCClient(transport=LocalTransport(app[example.HTTP_SERVER]))
    async with rpc:
        market = rpc.proxy(example.MarketAPI, prefix='market', validate_results=True)
        assert await market.price_of('melon') == 300
        with pytest.raises(errors.InvalidParams) as caught:
            await market.price_of('kiwi')
        assert caught.value.data == {'errors': [{'path': ['sku'], 'message': 'Unknown item', 'type': 'unknown_sku'}]}
        feed = market.price_feed(['pear'])
        if kind == 'ws':
            assert [item async for item in feed] == [example.CatalogItem('pear', 75)]
        else:
            with pytest.raises(errors.SubscriptionsUnavailable):
                await feed.subscribe()
