"""OpenTelemetry tracing: spans for calls, errors and batches, and the caller's ``traceparent`` honoured.

Each test has its own ``TracerProvider`` writing to an in-memory exporter; the global provider is never set.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import aiohttp_rpc
from aiohttp_rpc import JSONRPCRequest, JSONRPCResponse, errors
from aiohttp_rpc.observability.tracing import INSTRUMENTATION_NAME, tracing_middleware, tracing_web_middleware
from aiohttp_rpc.testing import raises_rpc_error

TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
PARENT_ID = '00f067aa0ba902b7'
TRACEPARENT = f'00-{TRACE_ID}-{PARENT_ID}-01'


@dataclass
class Tracing:
    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.name == name]


@pytest.fixture
def tracing() -> Tracing:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider, exporter)


def add(a: int, b: int) -> int:
    return a + b


def withdraw(amount: int) -> None:
    raise errors.JSONRPCError('Insufficient funds', code=4001)


def make_methods(tracing: Tracing) -> list[Any]:
    tracer = tracing.provider.get_tracer('tests')

    async def lookup(key: str) -> str:
        with tracer.start_as_current_span('db.lookup'):  # what the method does nests under its call span
            await asyncio.sleep(0)
            return key.upper()

    return [add, withdraw, lookup]


def build_app(
    tracing: Tracing, *, web_spans: bool = False, propagate: bool = True, middlewares: Iterable[Any] | None = None
) -> tuple[web.Application, aiohttp_rpc.JSONRPCServer, aiohttp_rpc.WSJSONRPCServer]:
    chain = [
        tracing_middleware(tracing.provider, propagate=propagate),
        *(aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES if middlewares is None else middlewares),
    ]
    http_server = aiohttp_rpc.JSONRPCServer(middlewares=chain)
    ws_server = aiohttp_rpc.WSJSONRPCServer(middlewares=chain)
    for server in (http_server, ws_server):
        server.add_methods(make_methods(tracing))
    app = web.Application(
        middlewares=[tracing_web_middleware(tracing.provider, propagate=propagate)] if web_spans else []
    )
    app.router.add_post('/rpc', http_server.handle_http_request)
    app.router.add_get('/ws', ws_server.handle_http_request)
    app.on_shutdown.append(ws_server.on_shutdown)
    return app, http_server, ws_server


async def start(aiohttp_server: Any, app: web.Application) -> Any:
    return await aiohttp_server(app)


async def test_a_call(aiohttp_server: Any, tracing: Tracing) -> None:
    server = await start(aiohttp_server, build_app(tracing)[0])
    async with aiohttp_rpc.JSONRPCClient(str(server.make_url('/rpc'))) as rpc:
        assert await rpc.methods.add(1, 2) == 3
        await rpc.notify('add', 1, 1)

    call, notification = tracing.spans()
    assert call.name == 'add'
    assert call.kind is SpanKind.SERVER
    assert call.parent is None
    assert call.status.status_code is StatusCode.UNSET
    assert call.instrumentation_scope is not None
    assert call.instrumentation_scope.name == INSTRUMENTATION_NAME
    assert dict(call.attributes or {}) == {
        'rpc.system': 'jsonrpc',
        'rpc.method': 'add',
        'rpc.jsonrpc.version': '2.0',
        'rpc.jsonrpc.request_id': '1',
    }
    assert 'rpc.jsonrpc.request_id' not in (notification.attributes or {})


async def test_errors(aiohttp_server: Any, tracing: Tracing) -> None:
    server = await start(aiohttp_server, build_app(tracing)[0])
    async with aiohttp_rpc.JSONRPCClient(str(server.make_url('/rpc'))) as rpc:
        async with raises_rpc_error(errors.MethodNotFound):
            await rpc.methods.nope()
        async with raises_rpc_error(4001):
            await rpc.methods.withdraw(1)

    not_found, refused = tracing.spans()
    assert not_found.name == 'nope'
    assert not_found.status.status_code is StatusCode.ERROR
    assert not_found.status.description == 'Method not found'
    assert (not_found.attributes or {})['rpc.jsonrpc.error_code'] == -32601
    assert (refused.attributes or {})['rpc.jsonrpc.error_code'] == 4001
    assert (refused.attributes or {})['rpc.jsonrpc.error_message'] == 'Insufficient funds'


async def test_an_escaped_exception_is_recorded(tracing: Tracing) -> None:
    middleware = tracing_middleware(tracing.provider)
    release = asyncio.Event()

    async def failing(request: JSONRPCRequest) -> JSONRPCResponse:
        raise ValueError('boom')

    async def raising(request: JSONRPCRequest) -> JSONRPCResponse:
        raise errors.InvalidParams()

    async def refusing(request: JSONRPCRequest) -> JSONRPCResponse:
        raise errors.RequestRejected(403, 'no')

    async def waiting(request: JSONRPCRequest) -> JSONRPCResponse:
        await release.wait()
        raise AssertionError('not reached')

    with pytest.raises(ValueError, match='boom'):
        await middleware(JSONRPCRequest(method='failing', id=1), failing)
    with pytest.raises(errors.InvalidParams):
        await middleware(JSONRPCRequest(method='raising', id=1), raising)
    with pytest.raises(errors.RequestRejected):
        await middleware(JSONRPCRequest(method='refusing', id=1), refusing)
    task = asyncio.ensure_future(middleware(JSONRPCRequest(method='waiting', id=1), waiting))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    failed, raised, refused, cancelled = tracing.spans()
    assert (failed.attributes or {})['rpc.jsonrpc.error_code'] == -32603
    assert [event.name for event in failed.events] == ['exception']
    assert (failed.events[0].attributes or {})['exception.type'] == 'ValueError'
    assert (raised.attributes or {})['rpc.jsonrpc.error_code'] == -32602
    assert refused.status.description == 'Rejected with HTTP 403'
    assert cancelled.status.status_code is StatusCode.ERROR
    assert cancelled.status.description == 'Cancelled'
    assert all(span.end_time is not None for span in tracing.spans())


async def test_the_method_runs_inside_its_span(aiohttp_server: Any, tracing: Tracing) -> None:
    server = await start(aiohttp_server, build_app(tracing)[0])
    async with aiohttp_rpc.JSONRPCClient(str(server.make_url('/rpc'))) as rpc:
        assert await rpc.methods.lookup('k') == 'K'
    [lookup] = tracing.named('lookup')
    [query] = tracing.named('db.lookup')
    assert query.parent is not None
    assert query.parent.span_id == lookup.context.span_id


async def test_traceparent_is_honoured(aiohttp_server: Any, tracing: Tracing) -> None:
    server = await start(aiohttp_server, build_app(tracing)[0])
    async with aiohttp_rpc.JSONRPCClient(str(server.make_url('/rpc'))) as rpc:
        await rpc.direct_call(rpc.methods.add.request(1, 2), headers={'traceparent': TRACEPARENT})
        await rpc.direct_batch(
            aiohttp_rpc.JSONRPCBatchRequest(requests=[rpc.methods.add.request(1, 1), rpc.methods.lookup.request('a')]),
            headers={'traceparent': TRACEPARENT},
        )

    calls = tracing.named('add') + tracing.named('lookup')
    assert len(calls) == 3
    for span in calls:
        assert f'{span.context.trace_id:032x}' == TRACE_ID
        assert span.parent is not None
        assert span.parent.is_remote
        assert f'{span.parent.span_id:016x}' == PARENT_ID
        assert span.kind is SpanKind.SERVER


async def test_propagation_can_be_turned_off(aiohttp_server: Any, tracing: Tracing) -> None:
    server = await start(aiohttp_server, build_app(tracing, propagate=False)[0])
    async with aiohttp_rpc.JSONRPCClient(str(server.make_url('/rpc'))) as rpc:
        await rpc.direct_call(rpc.methods.add.request(1, 2), headers={'traceparent': TRACEPARENT})
    [span] = tracing.spans()
    assert span.parent is None
    assert f'{span.context.trace_id:032x}' != TRACE_ID


async def test_a_batch_shares_the_http_span(aiohttp_server: Any, tracing: Tracing) -> None:
    server = await start(aiohttp_server, build_app(tracing, web_spans=True)[0])
    async with aiohttp_rpc.JSONRPCClient(str(server.make_url('/rpc'))) as rpc:
        batch = aiohttp_rpc.JSONRPCBatchRequest(
            requests=[rpc.methods.add.request(1, 1), rpc.methods.lookup.request('a'), rpc.methods.nope.request()]
        )
        await rpc.direct_batch(batch, headers={'traceparent': TRACEPARENT})
        assert await rpc.methods.add(2, 2) == 4

    first_http, second_http = tracing.named('POST /rpc')
    assert first_http.kind is SpanKind.SERVER
    assert first_http.parent is not None
    assert f'{first_http.parent.span_id:016x}' == PARENT_ID
    assert dict(first_http.attributes or {}) == {
        'http.request.method': 'POST',
        'http.route': '/rpc',
        'url.path': '/rpc',
        'http.response.status_code': 200,
    }
    members = {span.name: span for span in tracing.spans() if span.parent == first_http.context}
    assert sorted(members) == ['add', 'lookup', 'nope']  # each member a child of the request's span
    for span in members.values():
        assert span.kind is SpanKind.INTERNAL
        assert span.context.trace_id == first_http.context.trace_id == int(TRACE_ID, 16)
    [query] = tracing.named('db.lookup')
    assert query.parent is not None
    assert query.parent.span_id == members['lookup'].context.span_id
    single = tracing.named('add')[-1]
    assert single.parent is not None
    assert single.parent.span_id == second_http.context.span_id
    assert second_http.parent is None  # no traceparent that time: a new trace


async def test_http_span_statuses(aiohttp_server: Any, tracing: Tracing) -> None:
    app = build_app(tracing, web_spans=True)[0]

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError('boom')

    app.router.add_get('/crash', crash)
    server = await start(aiohttp_server, app)
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url('/rpc')) as response:
            assert response.status == 405
        async with session.get(server.make_url('/missing')) as response:
            assert response.status == 404
        async with session.get(server.make_url('/crash')) as response:
            assert response.status == 500

    by_name = {span.name: span for span in tracing.spans()}
    assert (by_name['GET /rpc'].attributes or {})['http.response.status_code'] == 405
    assert by_name['GET /rpc'].status.status_code is StatusCode.UNSET
    assert (by_name['GET /missing'].attributes or {})['http.route'] == '/missing'
    crashed = by_name['GET /crash']
    assert crashed.status.status_code is StatusCode.ERROR
    assert [event.name for event in crashed.events] == ['exception']


async def test_websocket_calls(aiohttp_server: Any, tracing: Tracing) -> None:
    server = await start(aiohttp_server, build_app(tracing, web_spans=True)[0])
    url = str(server.make_url('/ws'))
    async with aiohttp_rpc.WSJSONRPCClient(url, headers={'traceparent': TRACEPARENT}) as rpc:
        assert await rpc.methods.add(1, 2) == 3
        assert await rpc.batch(rpc.methods.add.request(1, 1), rpc.methods.lookup.request('b')) == (2, 'B')

    assert not [span for span in tracing.spans() if span.name.startswith('GET ')]  # no span for the socket
    calls = tracing.named('add') + tracing.named('lookup')
    assert len(calls) == 3
    for span in calls:
        assert span.kind is SpanKind.SERVER
        assert span.parent is not None
        assert f'{span.parent.span_id:016x}' == PARENT_ID  # the handshake's traceparent


async def test_in_process_calls_start_traces(tracing: Tracing, rpc_client_factory: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer(middlewares=[tracing_middleware(tracing.provider)])
    server.add_methods(make_methods(tracing))
    client = await rpc_client_factory(server)
    assert await client.methods.add(1, 2) == 3
    outer = tracing.provider.get_tracer('tests').start_as_current_span('test')
    with outer as test_span:
        assert await client.methods.add(1, 2) == 3
    first, second = tracing.named('add')
    assert first.parent is None
    assert first.kind is SpanKind.SERVER
    assert second.parent is not None
    assert second.parent.span_id == test_span.get_span_context().span_id
    assert second.kind is SpanKind.INTERNAL


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, 'opentelemetry', None)
    monkeypatch.delitem(sys.modules, 'aiohttp_rpc.observability.tracing')
    with pytest.raises(ImportError, match=r'pip install "aiohttp-rpc\[tracing\]"'):
        importlib.import_module('aiohttp_rpc.observability.tracing')


async def test_a_waiting_call_does_not_adopt_later_calls(aiohttp_server: Any, tracing: Tracing) -> None:
    """The dispatcher starts later calls while a call that waits is suspended in the same task (batch members,
    and WebSocket messages read after it): its span must not become their parent."""
    server = await start(aiohttp_server, build_app(tracing)[0])
    async with aiohttp_rpc.WSJSONRPCClient(str(server.make_url('/ws'))) as rpc:
        assert await rpc.batch(rpc.methods.lookup.request('a'), rpc.methods.add.request(1, 1)) == ('A', 2)
        assert await rpc.methods.lookup('b') == 'B'
        assert await rpc.methods.add(2, 2) == 4
    for span in tracing.named('add') + tracing.named('lookup'):
        assert span.parent is None, span.name
        assert span.kind is SpanKind.SERVER
