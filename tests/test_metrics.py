"""Prometheus metrics: real HTTP and WebSocket calls, then ``/metrics`` scraped and parsed as Prometheus would."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.observability.metrics import UNKNOWN_METHOD, PrometheusMetrics, add_metrics_route, metrics_route
from aiohttp_rpc.testing import raises_rpc_error

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def add(a: int, b: int) -> int:
    return a + b


def withdraw(amount: int) -> None:
    raise errors.JSONRPCError('Insufficient funds', code=4001)


def broken() -> None:
    raise ValueError('boom')


@dataclass
class Gate:
    """Holds ``slow`` calls until released, and says when one has started."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def slow(self) -> str:
        self.entered.set()
        await self.release.wait()
        return 'done'


@dataclass
class Site:
    metrics: PrometheusMetrics
    http_server: aiohttp_rpc.JSONRPCServer
    ws_server: aiohttp_rpc.WSJSONRPCServer
    base_url: str
    session: aiohttp.ClientSession
    gate: Gate
    ws_closed: asyncio.Queue[None]

    async def scrape(self) -> Samples:
        async with self.session.get(f'{self.base_url}/metrics') as response:
            assert response.status == 200
            assert response.headers['Content-Type'].startswith('text/plain; version=')
            text = await response.text()
        return parse(text)


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def site(aiohttp_server: Any) -> AsyncIterator[Site]:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    gate = Gate()
    methods = [add, withdraw, broken, aiohttp_rpc.JSONRPCMethod(gate.slow, name='slow')]
    http_server = aiohttp_rpc.JSONRPCServer(
        middlewares=[metrics.middleware, *aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES]
    )
    http_server.add_methods(methods)
    ws_server = aiohttp_rpc.WSJSONRPCServer(
        middlewares=[metrics.middleware, *aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES]
    )
    ws_server.add_methods(methods)
    metrics.track(http_server)
    metrics.track(ws_server)
    metrics.track(ws_server)  # twice: no effect
    ws_closed: asyncio.Queue[None] = asyncio.Queue()

    @web.middleware
    async def report_ws_closed(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            if request.path == '/ws':
                ws_closed.put_nowait(None)  # the server has dropped the peer by now

    app = web.Application(middlewares=[report_ws_closed])
    app.router.add_post('/rpc', http_server.handle_http_request)
    app.router.add_get('/ws', ws_server.handle_http_request)
    app.on_shutdown.append(ws_server.on_shutdown)
    add_metrics_route(app, registry=registry)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        yield Site(metrics, http_server, ws_server, str(server.make_url('')).rstrip('/'), session, gate, ws_closed)


async def test_calls_errors_and_latency_over_http(site: Site) -> None:
    async with aiohttp_rpc.JSONRPCClient(f'{site.base_url}/rpc') as rpc:
        assert await rpc.methods.add(1, 2) == 3
        assert await rpc.methods.add(2, 3) == 5
        await rpc.notify('add', 1, 1)
        async with raises_rpc_error(-32602):
            await rpc.methods.add(1)
        async with raises_rpc_error(4001):
            await rpc.methods.withdraw(10)
        async with raises_rpc_error(-32603):
            await rpc.methods.broken()
        for name in ('nope', 'admin.drop', 'x' * 50):
            async with raises_rpc_error(-32601):
                await rpc.call(name)
        batch = await rpc.batch(rpc.methods.add.request(1, 1), rpc.methods.withdraw.request(1))
        assert batch[0] == 2

    samples = await site.scrape()
    assert value(samples, 'jsonrpc_calls_total', method='add', outcome='ok') == 4
    assert value(samples, 'jsonrpc_calls_total', method='add', outcome='error') == 1
    assert value(samples, 'jsonrpc_errors_total', method='add', code='-32602') == 1
    assert value(samples, 'jsonrpc_errors_total', method='withdraw', code='4001') == 2
    assert value(samples, 'jsonrpc_errors_total', method='broken', code='-32603') == 1
    assert value(samples, 'jsonrpc_calls_total', method=UNKNOWN_METHOD, outcome='error') == 3
    assert value(samples, 'jsonrpc_errors_total', method=UNKNOWN_METHOD, code='-32601') == 3
    assert {dict(labels).get('method') for _, labels in samples} <= {'add', 'withdraw', 'broken', '<unknown>', None}
    assert value(samples, 'jsonrpc_call_duration_seconds_count', method='add') == 5
    assert value(samples, 'jsonrpc_call_duration_seconds_bucket', method='add', le='+Inf') == 5
    assert 0 < value(samples, 'jsonrpc_call_duration_seconds_sum', method='add') < 5
    in_flight = [sample for (name, _), sample in samples.items() if name == 'jsonrpc_calls_in_flight']
    assert in_flight
    assert set(in_flight) == {0.0}


async def test_in_flight(site: Site) -> None:
    async with aiohttp_rpc.JSONRPCClient(f'{site.base_url}/rpc') as rpc:
        call = asyncio.ensure_future(rpc.methods.slow())
        await site.gate.entered.wait()
        during = await site.scrape()
        site.gate.release.set()
        assert await call == 'done'
    after = await site.scrape()
    assert value(during, 'jsonrpc_calls_in_flight', method='slow') == 1
    assert value(during, 'jsonrpc_calls_total', method='slow', outcome='ok') == 0
    assert value(after, 'jsonrpc_calls_in_flight', method='slow') == 0
    assert value(after, 'jsonrpc_calls_total', method='slow', outcome='ok') == 1


async def test_websocket_calls_and_connections(site: Site) -> None:
    url = f'{site.base_url}/ws'
    assert value(await site.scrape(), 'jsonrpc_websocket_connections') == 0
    async with aiohttp_rpc.WSJSONRPCClient(url) as first, aiohttp_rpc.WSJSONRPCClient(url) as second:
        assert await first.methods.add(1, 2) == 3
        assert await second.batch(second.methods.add.request(1, 1), second.methods.nope.request()) == (
            2,
            errors.MethodNotFound(),
        )
        samples = await site.scrape()
        assert value(samples, 'jsonrpc_websocket_connections') == 2
        await first.disconnect()
        await site.ws_closed.get()
        assert value(await site.scrape(), 'jsonrpc_websocket_connections') == 1
    await site.ws_closed.get()
    samples = await site.scrape()
    assert value(samples, 'jsonrpc_websocket_connections') == 0
    assert value(samples, 'jsonrpc_calls_total', method='add', outcome='ok') == 2
    assert value(samples, 'jsonrpc_errors_total', method=UNKNOWN_METHOD, code='-32601') == 1


async def test_cancelled_calls(aiohttp_server: Any) -> None:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry, namespace='api')
    gate = Gate()
    server = aiohttp_rpc.JSONRPCServer(
        middlewares=[metrics.middleware, *aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES], call_timeout=0.05
    )
    server.add_method(aiohttp_rpc.JSONRPCMethod(gate.slow, name='slow'))
    metrics.track(server)
    app = web.Application()
    app.router.add_routes(
        [web.post('/rpc', server.handle_http_request), metrics_route('/internal/metrics', registry=registry)]
    )
    http_server = await aiohttp_server(app)
    async with aiohttp_rpc.JSONRPCClient(str(http_server.make_url('/rpc'))) as rpc:
        async with raises_rpc_error(errors.CallTimeout):
            await rpc.methods.slow()
        async with rpc.session.get(http_server.make_url('/internal/metrics')) as response:  # type: ignore[union-attr]
            samples = parse(await response.text())
    assert value(samples, 'api_calls_total', method='slow', outcome='cancelled') == 1
    assert value(samples, 'api_calls_in_flight', method='slow') == 0
    assert value(samples, 'api_call_duration_seconds_count', method='slow') == 1
    assert not [name for name, _ in samples if name == 'api_errors_total']


async def test_escaped_exceptions_and_rejections() -> None:
    metrics = PrometheusMetrics(CollectorRegistry(), known_methods=lambda name: name.startswith('ok.'))
    request = aiohttp_rpc.JSONRPCRequest(method='ok.m', id=1)

    async def failing(request: aiohttp_rpc.JSONRPCRequest) -> aiohttp_rpc.JSONRPCResponse:
        raise ValueError('boom')

    async def raising(request: aiohttp_rpc.JSONRPCRequest) -> aiohttp_rpc.JSONRPCResponse:
        raise errors.InvalidParams()

    async def refusing(request: aiohttp_rpc.JSONRPCRequest) -> aiohttp_rpc.JSONRPCResponse:
        raise errors.RequestRejected(403, 'no')

    with pytest.raises(ValueError, match='boom'):
        await metrics.middleware(request, failing)
    with pytest.raises(errors.InvalidParams):
        await metrics.middleware(request, raising)
    with pytest.raises(errors.RequestRejected):
        await metrics.middleware(request, refusing)
    with pytest.raises(errors.RequestRejected):
        await metrics.middleware(aiohttp_rpc.JSONRPCRequest(method='other', id=1), refusing)

    samples = parse(_text(metrics))
    assert value(samples, 'jsonrpc_errors_total', method='ok.m', code='-32603') == 1
    assert value(samples, 'jsonrpc_errors_total', method='ok.m', code='-32602') == 1
    assert value(samples, 'jsonrpc_calls_total', method='ok.m', outcome='error') == 2
    assert value(samples, 'jsonrpc_calls_total', method='ok.m', outcome='rejected') == 1
    assert value(samples, 'jsonrpc_calls_total', method=UNKNOWN_METHOD, outcome='rejected') == 1


async def test_untracked_server_labels_nothing_by_name(rpc_client_factory: Any) -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    server = aiohttp_rpc.JSONRPCServer(middlewares=[metrics.middleware], allow_late_methods=True)
    server.add_method(add)
    client = await rpc_client_factory(server)
    assert await client.methods.add(1, 2) == 3
    assert value(parse(_text(metrics)), 'jsonrpc_calls_total', method=UNKNOWN_METHOD, outcome='ok') == 1
    metrics.track(server)  # the check is live
    server.add_method(withdraw)
    await client.methods.add(1, 2)
    async with raises_rpc_error(4001):
        await client.methods.withdraw(1)
    samples = parse(_text(metrics))
    assert value(samples, 'jsonrpc_calls_total', method='add', outcome='ok') == 1
    assert value(samples, 'jsonrpc_errors_total', method='withdraw', code='4001') == 1


async def test_openmetrics_when_asked(site: Site) -> None:
    headers = {'Accept': 'application/openmetrics-text; version=1.0.0'}
    async with site.session.get(f'{site.base_url}/metrics', headers=headers) as response:
        assert response.headers['Content-Type'].startswith('application/openmetrics-text; version=1.0.0')
        assert (await response.text()).endswith('# EOF\n')


def test_default_registry_and_duplicates() -> None:
    registry = CollectorRegistry()
    PrometheusMetrics(registry)
    with pytest.raises(ValueError, match='Duplicated timeseries'):
        PrometheusMetrics(registry)
    PrometheusMetrics(registry, namespace='other')
    route = metrics_route()
    assert (route.method, route.path) == ('GET', '/metrics')


def test_the_default_registry_works_without_arguments() -> None:
    """``PrometheusMetrics()`` on prometheus_client's global registry, which reads every collector as it is
    registered (it raised AttributeError before), in a process of its own (the registry is global)."""
    script = (
        'import aiohttp_rpc\n'
        'from prometheus_client import generate_latest\n'
        'from aiohttp_rpc.observability.metrics import PrometheusMetrics\n'
        'metrics = PrometheusMetrics()\n'
        'metrics.track(aiohttp_rpc.WSJSONRPCServer())\n'
        'lines = generate_latest().decode().splitlines()\n'
        "print([line for line in lines if line.startswith(('jsonrpc_websocket', 'jsonrpc_subscription'))])\n"
    )
    completed = subprocess.run(
        [sys.executable, '-W', 'error', '-c', script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (completed.returncode, completed.stderr) == (0, '')
    assert completed.stdout == (
        "['jsonrpc_websocket_connections 0.0', 'jsonrpc_subscriptions 0.0', "
        "'jsonrpc_subscription_items_dropped_total 0.0']\n"
    )


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, 'prometheus_client', None)
    monkeypatch.delitem(sys.modules, 'aiohttp_rpc.observability.metrics')
    with pytest.raises(ImportError, match=r'pip install "aiohttp-rpc\[metrics\]"'):
        importlib.import_module('aiohttp_rpc.observability.metrics')


def _text(metrics: PrometheusMetrics) -> str:
    return generate_latest(metrics.registry).decode()


async def test_subscriptions_and_dropped_items(aiohttp_server: Any) -> None:
    """Open subscriptions are a gauge; items dropped for a slow subscriber are counted, also after it has gone."""
    import socket

    import rawws

    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    server = aiohttp_rpc.WSJSONRPCServer(max_buffered_bytes=64 * 1024)
    produced = asyncio.Event()

    async def flood() -> AsyncIterator[str]:
        for index in range(200):
            yield f'{index:04d}' + 'x' * 16 * 1024
            await asyncio.sleep(0)
        produced.set()
        await asyncio.Event().wait()  # stays open

    server.add_method(aiohttp_rpc.JSONRPCSubscription(flood, on_slow='drop_oldest', queue_size=4))
    metrics.track(server)
    closed: asyncio.Queue[None] = asyncio.Queue()

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024)
        try:
            return await server.handle_http_request(request)
        finally:
            closed.put_nowait(None)

    app = web.Application()
    app.router.add_get('/ws', handler)
    add_metrics_route(app, registry=registry)
    test_server = await aiohttp_server(app)
    async with await rawws.connect(test_server.port, '/ws', rcvbuf=4096) as peer:
        peer.send_text('{"jsonrpc": "2.0", "id": 1, "method": "flood"}')
        assert (await peer.receive_json())['id'] == 1
        await asyncio.wait_for(produced.wait(), 10)
        text = _text(metrics)
        (connection,) = (peer_.transport for peer_ in server.peers)
        dropped = connection.dropped_items
        assert dropped > 0
        samples = parse(text)
        assert value(samples, 'jsonrpc_subscriptions') == 1
        assert value(samples, 'jsonrpc_subscription_items_dropped_total') == dropped
        peer.abort()
    await asyncio.wait_for(closed.get(), 10)
    samples = parse(_text(metrics))
    assert value(samples, 'jsonrpc_subscriptions') == 0
    assert value(samples, 'jsonrpc_subscription_items_dropped_total') == dropped
