"""The one path every call takes (aiohttp_rpc.dispatch.pipeline), seen from outside: over real HTTP."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import aiohttp_rpc
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES


class Marker:
    pass


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_an_answered_request_is_freed_without_the_cycle_collector(
    aiohttp_client: Any, no_cycle_collector: None
) -> None:
    """``inject_request_middleware`` puts the request in its own ``extra_kwargs``; the pipeline breaks that cycle
    once the call is answered, so neither the request nor the aiohttp request in its context waits for the
    cycle collector (whose runs, left to it, cost a third of HTTP throughput)."""
    seen: list[weakref.ref[Marker]] = []

    def remember(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
        marker = Marker()  # lives exactly as long as the request holding it
        rpc_request.extra_kwargs['marker'] = marker
        seen.append(weakref.ref(marker))
        return rpc_request.method

    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    server.add_method(aiohttp_rpc.JSONRPCMethod(remember, pass_extra_kwargs=True))
    client = await aiohttp_client(_app(server))
    response = await client.post('/rpc', json={'jsonrpc': '2.0', 'method': 'remember', 'id': 1})
    assert await response.json() == {'jsonrpc': '2.0', 'id': 1, 'result': 'remember'}
    assert len(seen) == 1
    assert seen[0]() is None


async def test_a_method_set_on_the_mapping_keeps_its_guards(aiohttp_client: Any) -> None:
    """``server.methods[name] = JSONRPCMethod(f, guards=...)``, the 2.0 way to register, serves ``f`` behind its
    guards, and so does a method replaced that way (on a server that accepts late methods)."""

    def secret() -> str:
        return 'the secret'

    def public() -> str:
        return 'hello'

    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES, allow_late_methods=True)
    server.methods['secret'] = aiohttp_rpc.JSONRPCMethod(secret, guards=[lambda request: False])
    server.methods['public'] = aiohttp_rpc.JSONRPCMethod(public)
    client = await aiohttp_client(_app(server))

    async def call(name: str) -> Any:
        response = await client.post('/rpc', json={'jsonrpc': '2.0', 'method': name, 'id': 1})
        return await response.json()

    denied = {'jsonrpc': '2.0', 'id': 1, 'error': {'code': -32001, 'message': 'Access denied'}}
    assert await call('secret') == denied
    assert await call('public') == {'jsonrpc': '2.0', 'id': 1, 'result': 'hello'}
    server.methods['public'] = aiohttp_rpc.JSONRPCMethod(public, guards=[lambda request: False])
    assert await call('public') == denied
    del server.methods['public']
    assert await call('public') == {
        'jsonrpc': '2.0',
        'id': 1,
        'error': {'code': -32601, 'message': 'Method not found'},
    }


def _app(server: aiohttp_rpc.JSONRPCServer) -> Any:
    from aiohttp import web

    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    return app


async def passthrough(request: aiohttp_rpc.JSONRPCRequest, handler: Any) -> aiohttp_rpc.JSONRPCResponse:
    """A user middleware that changes nothing but is not declared transparent: it makes every call build its
    request and run the chain."""
    return await handler(request)


async def plain_ok(a: int, b: int = 1) -> int:
    return a + b


async def plain_error() -> None:
    raise aiohttp_rpc.errors.InvalidParams(data={'details': 'no'})


async def plain_bug() -> None:
    raise ZeroDivisionError('secret detail')


def plain_sync(x: int) -> int:
    return x * 2


async def plain_waits(x: int) -> int:
    await asyncio.sleep(0)
    return x


async def plain_too_slow() -> None:
    await asyncio.Event().wait()


CALLS = [
    {'jsonrpc': '2.0', 'method': 'plain_ok', 'params': [1, 2], 'id': 1},
    {'jsonrpc': '2.0', 'method': 'plain_ok', 'params': {'a': 5}, 'id': 'x'},
    {'jsonrpc': '2.0', 'method': 'plain_ok', 'params': [1, 2, 3], 'id': 2},
    {'jsonrpc': '2.0', 'method': 'plain_ok', 'params': {'c': 1}, 'id': 3},
    {'jsonrpc': '2.0', 'method': 'plain_ok', 'params': [1], 'id': None},
    {'jsonrpc': '2.0', 'method': 'plain_ok', 'params': [1]},
    {'jsonrpc': '2.0', 'method': 'plain_error', 'id': 4},
    {'jsonrpc': '2.0', 'method': 'plain_bug', 'id': 5},
    {'jsonrpc': '2.0', 'method': 'plain_bug'},
    {'jsonrpc': '2.0', 'method': 'plain_sync', 'params': [21], 'id': 6},
    {'jsonrpc': '2.0', 'method': 'plain_waits', 'params': [7], 'id': 7},
    {'jsonrpc': '2.0', 'method': 'plain_too_slow', 'id': 8},
    {'jsonrpc': '2.0', 'method': 'missing', 'id': 9},
]


@pytest.mark.parametrize('middlewares', ['default', 'none'])
async def test_the_lazy_request_changes_nothing_a_client_or_the_log_can_see(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture, middlewares: str
) -> None:
    """The same calls, answered once with the request built lazily (transparent middlewares, plain methods) and
    once with it built for every call (one more, ordinary middleware): the same replies, one by one and as a
    batch, and the same log records, logger and traceback included."""
    chain = list(DEFAULT_MIDDLEWARES) if middlewares == 'default' else []
    methods = [plain_ok, plain_error, plain_bug, plain_sync, plain_waits, plain_too_slow]
    outcomes = []
    for extra in ([], [passthrough]):
        server = aiohttp_rpc.JSONRPCServer(middlewares=[*extra, *chain], call_timeout=0.2)
        server.add_methods(methods)
        assert server.dispatcher._pipeline._lazy == (not extra)  # the lazy path is taken, then not
        client = await aiohttp_client(_app(server))
        caplog.clear()
        replies = []
        for call in CALLS:
            response = await client.post('/rpc', json=call)
            replies.append((response.status, await response.text()))
        response = await client.post('/rpc', json=CALLS)
        replies.append((response.status, await response.text()))
        records = [
            (record.name, record.levelname, record.getMessage(), record.exc_info[0] if record.exc_info else None)
            for record in caplog.records
            if record.name.startswith('aiohttp_rpc')
        ]
        outcomes.append((replies, records))
        await client.close()
    lazy, full = outcomes
    assert lazy == full
    replies, records = lazy
    assert replies[0] == (200, '{"id":1,"jsonrpc":"2.0","result":3}')
    assert replies[7][1] == '{"id":5,"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"}}'
    assert ('aiohttp_rpc.middlewares' if middlewares == 'default' else 'aiohttp_rpc.dispatch', 'ERROR') in {
        (name, level) for name, level, _, _ in records
    }
    assert any(exc is ZeroDivisionError for _, _, _, exc in records)


async def test_inject_request_middleware_costs_no_coroutine_of_its_own() -> None:
    """Built into a chain, ``inject_request_middleware`` hands back its handler's own coroutine; called the 2.0
    way it still works."""
    from aiohttp_rpc.dispatch.middleware import build_chain

    async def handler(request: aiohttp_rpc.JSONRPCRequest) -> aiohttp_rpc.JSONRPCResponse:
        return aiohttp_rpc.JSONRPCResponse(id=request.id, result=request.extra_kwargs['rpc_request'] is request)

    request = aiohttp_rpc.JSONRPCRequest(method='m', id=1)
    coro = build_chain([aiohttp_rpc.middlewares.inject_request_middleware], handler)(request)
    assert coro.cr_code is handler.__code__
    assert (await coro).result is True
    again = aiohttp_rpc.JSONRPCRequest(method='m', id=2)
    assert (await aiohttp_rpc.middlewares.inject_request_middleware(again, handler)).result is True


async def test_a_transparent_middleware_of_your_own(aiohttp_client: Any) -> None:
    """A ``StepMiddleware(transparent=True)`` keeps the lazy path; it still sees every exception."""
    from aiohttp_rpc.middlewares import StepMiddleware

    seen: list[str] = []

    def build(handler: Any) -> Any:
        async def noting_failures(request: aiohttp_rpc.JSONRPCRequest) -> aiohttp_rpc.JSONRPCResponse:
            try:
                return await handler(request)
            except ZeroDivisionError:
                seen.append(request.method)
                raise

        return noting_failures

    server = aiohttp_rpc.JSONRPCServer(
        middlewares=[*DEFAULT_MIDDLEWARES, StepMiddleware(build, name='noting_failures', transparent=True)]
    )
    server.add_methods([plain_ok, plain_bug])
    assert server.dispatcher._pipeline._lazy
    client = await aiohttp_client(_app(server))
    response = await client.post('/rpc', json=[CALLS[0], CALLS[7]])
    assert await response.json() == [
        {'jsonrpc': '2.0', 'id': 1, 'result': 3},
        {'jsonrpc': '2.0', 'id': 5, 'error': {'code': -32603, 'message': 'Internal error'}},
    ]
    assert seen == ['plain_bug']


async def test_rpc_server_accepts_methods_at_any_time(aiohttp_client: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES, allow_late_methods=True)
    server.add_method(plain_ok)
    client = await aiohttp_client(_app(server))
    response = await client.post('/rpc', json=CALLS[0])
    assert (await response.json())['result'] == 3
    server.add_method(plain_sync)
    response = await client.post('/rpc', json=CALLS[9])
    assert await response.json() == {'jsonrpc': '2.0', 'id': 6, 'result': 42}
    assert aiohttp_rpc.rpc_server.dispatcher._routes.allow_late_methods


class WaitLog:
    """An ``on_wait`` hook that records when it is called and when what it returned is, and in which task."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self.tasks: list[asyncio.Task[Any] | None] = []

    def __call__(self, context: aiohttp_rpc.RequestContext) -> Any:
        self.events.append(('waits', context['caller']))
        self.tasks.append(asyncio.current_task())
        return lambda: self.events.append(('done', context['caller']))


def _waiting_dispatcher() -> tuple[aiohttp_rpc.dispatch.Dispatcher, asyncio.Event, asyncio.Event]:
    entered, release = asyncio.Event(), asyncio.Event()

    def quick() -> str:
        return 'quick'

    async def slow() -> str:
        entered.set()
        await release.wait()
        return 'slow'

    async def fails_late() -> str:
        await asyncio.sleep(0)  # suspends once: the call waits
        raise aiohttp_rpc.errors.InvalidParams()

    dispatcher = aiohttp_rpc.dispatch.Dispatcher(middlewares=DEFAULT_MIDDLEWARES)
    dispatcher.add_methods([quick, slow, fails_late])
    return dispatcher, entered, release


def _call(method: str, request_id: int) -> dict[str, Any]:
    return {'jsonrpc': '2.0', 'method': method, 'id': request_id}


async def test_on_wait_is_not_called_for_an_answer_that_never_waits() -> None:
    dispatcher, _, _ = _waiting_dispatcher()
    log = WaitLog()
    context = aiohttp_rpc.RequestContext(caller='me')
    single = await dispatcher.dispatch(json.dumps(_call('quick', 1)), context, on_wait=log)
    batch = await dispatcher.dispatch(json.dumps([_call('quick', 2), _call('nope', 3)]), context, on_wait=log)
    assert json.loads(single or b'') == {'jsonrpc': '2.0', 'id': 1, 'result': 'quick'}
    assert json.loads(batch or b'') == [
        {'jsonrpc': '2.0', 'id': 2, 'result': 'quick'},
        {'jsonrpc': '2.0', 'id': 3, 'error': {'code': -32601, 'message': 'Method not found'}},
    ]
    assert log.events == []


@pytest.mark.parametrize(
    'message',
    [_call('slow', 1), [_call('quick', 1), _call('slow', 2), _call('slow', 3), _call('quick', 4)]],
    ids=['call', 'batch'],
)
async def test_on_wait_covers_exactly_the_time_an_answer_waits(message: Any) -> None:
    """Called once, in the task awaiting the answer, when a call (or the first batch member) waits; what it
    returned is called once the whole answer is ready, before the reply comes back."""
    dispatcher, entered, release = _waiting_dispatcher()
    log = WaitLog()
    answer = asyncio.ensure_future(
        dispatcher.dispatch(json.dumps(message), aiohttp_rpc.RequestContext(caller='me'), on_wait=log)
    )
    await entered.wait()
    assert log.events == [('waits', 'me')]
    assert log.tasks == [answer]
    release.set()
    reply = json.loads(await answer or b'')
    assert log.events == [('waits', 'me'), ('done', 'me')]
    if isinstance(message, dict):
        assert reply == {'jsonrpc': '2.0', 'id': 1, 'result': 'slow'}
    else:
        assert reply == [
            {'jsonrpc': '2.0', 'id': 1, 'result': 'quick'},
            {'jsonrpc': '2.0', 'id': 2, 'result': 'slow'},
            {'jsonrpc': '2.0', 'id': 3, 'result': 'slow'},
            {'jsonrpc': '2.0', 'id': 4, 'result': 'quick'},
        ]


async def test_what_on_wait_returned_is_called_however_the_answer_ends() -> None:
    dispatcher, entered, release = _waiting_dispatcher()
    log = WaitLog()
    fails = dispatcher.dispatch(json.dumps(_call('fails_late', 1)), aiohttp_rpc.RequestContext(caller='a'), on_wait=log)
    cancelled = asyncio.ensure_future(
        dispatcher.dispatch(json.dumps(_call('slow', 2)), aiohttp_rpc.RequestContext(caller='b'), on_wait=log)
    )
    await entered.wait()
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    release.set()
    assert json.loads(await fails or b'') == {
        'jsonrpc': '2.0',
        'id': 1,
        'error': {'code': -32602, 'message': 'Invalid params'},
    }
    assert log.events == [('waits', 'b'), ('done', 'b'), ('waits', 'a'), ('done', 'a')]


@pytest.mark.parametrize('message', [_call('slow', 1), [_call('quick', 1), _call('slow', 2)]], ids=['call', 'batch'])
async def test_a_hook_that_raises_fails_the_answer_and_leaves_nothing_unawaited(
    message: Any, recwarn: pytest.WarningsRecorder
) -> None:
    dispatcher, _, _ = _waiting_dispatcher()

    def broken(context: aiohttp_rpc.RequestContext) -> Any:
        raise RuntimeError('the hook broke')

    with pytest.raises(RuntimeError, match='the hook broke'):
        await dispatcher.dispatch(json.dumps(message), aiohttp_rpc.RequestContext(caller='me'), on_wait=broken)
    gc.collect()
    assert [str(warning.message) for warning in recwarn.list] == []
