"""The lazy path's first step, ``start_plain``: the C version and its pure-Python twin, case by case and against
each other, and what a client sees of it through a real server."""

from __future__ import annotations

import asyncio
import contextvars
import traceback
import types
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aiohttp_rpc
from aiohttp_rpc.dispatch import finite, plain
from aiohttp_rpc.methods.method import BaseJSONRPCMethod

STARTS: list[Any] = [pytest.param(plain.start_plain_py, id='python')]
if finite.EXTENSION:
    STARTS.append(pytest.param(plain.start_plain, id='c'))

Start = Callable[..., Any]
seen: contextvars.ContextVar[str] = contextvars.ContextVar('seen', default='unset')
ran: list[tuple[tuple[Any, ...], dict[str, Any]]] = []


async def ping() -> str:
    ran.append(((), {}))
    return 'pong'


async def add(a: int, b: int = 0) -> int:
    ran.append(((a,), {'b': b}))
    return a + b


async def fail() -> None:
    raise LookupError('no such thing')


async def mark() -> str:
    outer = seen.get()
    seen.set('inside')  # stays in the call's own context
    return outer


@types.coroutine
def _pause() -> Any:
    return (yield 'paused')


async def waits() -> str:
    return f'woke with {await _pause()}'


def _table(*funcs: Callable[..., Any]) -> tuple[dict[str, plain.PlainEntry], dict[str, BaseJSONRPCMethod]]:
    methods: dict[str, BaseJSONRPCMethod] = {}
    entries: dict[str, plain.PlainEntry] = {}
    for func in funcs:
        method = aiohttp_rpc.JSONRPCMethod(func)
        assert method.bare is func
        methods[func.__name__] = method
        entries[func.__name__] = (method, func)
    return entries, methods


PLAIN, METHODS = _table(ping, add, fail, mark, waits)


@pytest.fixture(autouse=True)
def _clear_ran() -> None:
    ran.clear()


class Other:
    """What ``otherwise`` got: the outcome start_plain did not answer itself."""

    def __init__(self, item: object, context: object, outcome: object) -> None:
        self.item, self.context, self.outcome = item, context, outcome


def first(start: Start, item: object, limit: int = 64, plain: Any = PLAIN, methods: Any = METHODS) -> Any:
    """The reply start_plain answers, or what it handed to ``otherwise`` (checked to be the item and context)."""
    context = object()
    answer = start(plain, methods, limit, Other, item, context)
    if isinstance(answer, Other):
        assert answer.item is item
        assert answer.context is context
        return answer.outcome
    return answer


@pytest.mark.parametrize('start', STARTS)
def test_a_call_that_completes_is_its_reply(start: Start) -> None:
    item = {'jsonrpc': '2.0', 'method': 'add', 'params': [2, 3], 'id': 7}
    assert first(start, item, 64) == {'id': 7, 'jsonrpc': '2.0', 'result': 5}
    named = {'jsonrpc': '2.0', 'method': 'add', 'params': {'a': 2, 'b': 5}, 'id': 'x'}
    assert first(start, named, 64) == {'id': 'x', 'jsonrpc': '2.0', 'result': 7}
    assert ran == [((2,), {'b': 3}), ((2,), {'b': 5})]


@pytest.mark.parametrize('start', STARTS)
def test_a_notification_runs_and_answers_none_but_a_null_id_is_answered(start: Start) -> None:
    assert first(start, {'jsonrpc': '2.0', 'method': 'ping'}, 64) is None
    null_id = {'jsonrpc': '2.0', 'method': 'ping', 'id': None}
    assert first(start, null_id, 64) == {'id': None, 'jsonrpc': '2.0', 'result': 'pong'}
    assert len(ran) == 2


@pytest.mark.parametrize('start', STARTS)
def test_a_call_that_waits_is_handed_back_with_its_context(start: Start) -> None:
    started = first(start, {'jsonrpc': '2.0', 'method': 'waits', 'id': 1}, 64)
    assert type(started) is tuple
    coro, yielded, context = started
    assert yielded == 'paused'
    assert type(context) is contextvars.Context
    with pytest.raises(StopIteration) as stop:
        context.run(coro.send, 'news')
    assert stop.value.value == 'woke with news'


@pytest.mark.parametrize('start', STARTS)
def test_the_call_runs_in_a_copy_of_the_current_context(start: Start) -> None:
    token = seen.set('outside')
    try:
        reply = first(start, {'jsonrpc': '2.0', 'method': 'mark', 'id': 1}, 64)
        assert reply == {'id': 1, 'jsonrpc': '2.0', 'result': 'outside'}
        assert seen.get() == 'outside'  # what the method set stayed in its own copy
    finally:
        seen.reset(token)


@pytest.mark.parametrize('start', STARTS)
def test_an_exception_of_the_method_is_handed_on_with_its_traceback(start: Start) -> None:
    raised = first(start, {'jsonrpc': '2.0', 'method': 'fail', 'id': 1}, 64)
    assert type(raised) is LookupError
    assert str(raised) == 'no such thing'
    assert raised.__traceback__ is not None
    assert any(frame.name == 'fail' for frame in traceback.extract_tb(raised.__traceback__))


@pytest.mark.parametrize('start', STARTS)
def test_a_baseexception_is_handed_on_too(start: Start) -> None:
    async def interrupt() -> None:
        raise KeyboardInterrupt

    entries, methods = _table(interrupt)
    raised = first(start, {'jsonrpc': '2.0', 'method': 'interrupt', 'id': 1}, plain=entries, methods=methods)
    assert type(raised) is KeyboardInterrupt


@pytest.mark.parametrize('start', STARTS)
@pytest.mark.parametrize(
    'item',
    [
        pytest.param({'jsonrpc': '2.0', 'method': 'add', 'params': [1, 2, 3], 'id': 1}, id='params-do-not-fit'),
        pytest.param({'jsonrpc': '2.0', 'method': 'add', 'params': {'c': 1}, 'id': 1}, id='unknown-name'),
        pytest.param({'jsonrpc': '2.0', 'method': 'ping', 'params': {'_meta': {}}, 'id': 1}, id='meta'),
        pytest.param({'jsonrpc': '2.0', 'method': 'nothing', 'id': 1}, id='not-a-plain-route'),
        pytest.param({'jsonrpc': '1.0', 'method': 'ping', 'id': 1}, id='wrong-version'),
        pytest.param({'jsonrpc': '2.0', 'method': 'ping', 'id': True}, id='bool-id'),
        pytest.param({'jsonrpc': '2.0', 'method': 'ping', 'params': 'x', 'id': 1}, id='string-params'),
        pytest.param({'jsonrpc': '2.0', 'id': 1}, id='no-method'),
        pytest.param([{'jsonrpc': '2.0', 'method': 'ping', 'id': 1}], id='a-list'),
        pytest.param('ping', id='a-string'),
        pytest.param(None, id='null'),
    ],
)
def test_what_it_does_not_take_is_not_taken_and_nothing_runs(start: Start, item: Any) -> None:
    assert first(start, item, 64) is False
    assert ran == []


@pytest.mark.parametrize('start', STARTS)
def test_a_name_over_the_limit_takes_the_full_path(start: Start) -> None:
    item = {'jsonrpc': '2.0', 'method': 'ping', 'id': 1}
    assert first(start, item, 3) is False
    assert first(start, item, 4) == {'id': 1, 'jsonrpc': '2.0', 'result': 'pong'}


@pytest.mark.parametrize('start', STARTS)
def test_an_entry_is_used_only_while_the_mapping_serves_its_method(start: Start) -> None:
    item = {'jsonrpc': '2.0', 'method': 'ping', 'id': 1}
    replaced = {**METHODS, 'ping': aiohttp_rpc.JSONRPCMethod(ping)}
    assert first(start, item, methods=replaced) is False
    assert first(start, item, methods={}) is False
    assert ran == []


@pytest.mark.parametrize('start', STARTS)
def test_other_mappings_take_the_full_path(start: Start) -> None:
    item = {'jsonrpc': '2.0', 'method': 'ping', 'id': 1}
    assert first(start, item, plain=types.MappingProxyType(PLAIN)) is False
    assert first(start, item, methods=types.MappingProxyType(METHODS)) is False


_VALUES = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=2), st.booleans())
_ITEMS = st.fixed_dictionaries(
    {},
    optional={
        'jsonrpc': st.sampled_from(['2.0', '1.0', 2.0]),
        'method': st.sampled_from(['ping', 'add', 'fail', 'nothing', '']),
        'id': _VALUES,
        'params': st.one_of(st.lists(st.integers(-5, 5), max_size=3), st.dictionaries(st.sampled_from('abc'), _VALUES)),
    },
)


def _outcome(start: Start, item: dict[str, Any]) -> Any:
    outcome = first(start, item, 64)
    return (type(outcome), str(outcome)) if isinstance(outcome, BaseException) else outcome


@settings(max_examples=400, deadline=None)
@given(_ITEMS)
def test_both_versions_agree(item: dict[str, Any]) -> None:
    expected = _outcome(plain.start_plain_py, item)
    assert _outcome(plain.start_plain, item) == expected


async def test_through_a_server_every_outcome_is_the_full_paths(aiohttp_client: Any) -> None:
    """The same calls to a server on the lazy path (default middlewares) and to one on the full path (a
    middleware of its own, not transparent), over HTTP: the replies are the same, byte for byte."""

    async def passing(request: aiohttp_rpc.JSONRPCRequest, handler: Any) -> Any:
        return await handler(request)

    async def sleepy(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    def triple(x: int) -> int:  # a sync method: the lazy path too, through the method's own call
        return 3 * x

    funcs: list[Any] = [
        ping,
        add,
        fail,
        mark,
        sleepy,
        triple,
        aiohttp_rpc.JSONRPCMethod(add, name='strict', validate=True),
    ]
    lazy = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    full = aiohttp_rpc.JSONRPCServer(middlewares=(*aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES, passing))
    body = (
        b'[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},'
        b'{"jsonrpc":"2.0","method":"add","params":[1,2,3],"id":2},'
        b'{"jsonrpc":"2.0","method":"fail","id":3},'
        b'{"jsonrpc":"2.0","method":"sleepy","params":[0.01],"id":4},'
        b'{"jsonrpc":"2.0","method":"ping"},'
        b'{"jsonrpc":"2.0","method":"ping","params":{"_meta":{"k":1}},"id":5},'
        b'{"jsonrpc":"2.0","method":"missing","id":6},'
        b'{"jsonrpc":"2.0","method":"ping","id":null},'
        b'{"jsonrpc":"2.0","method":"triple","params":[4],"id":7},'
        b'{"jsonrpc":"2.0","method":"strict","params":[1,"x"],"id":8},'
        b'{"jsonrpc":"2.0","method":"strict","params":{"a":1,"b":"2"},"id":9}]'
    )
    replies = []
    for server in (lazy, full):
        server.add_methods(funcs)
        client = await aiohttp_client(_app(server))
        response = await client.post('/rpc', data=body, headers={'Content-Type': 'application/json'})
        assert response.status == 200
        replies.append(await response.read())
    assert lazy.dispatcher._pipeline._lazy
    assert not full.dispatcher._pipeline._lazy
    assert replies[0] == replies[1]
    assert replies[0] == (
        b'[{"id":1,"jsonrpc":"2.0","result":3},'
        b'{"id":2,"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",'
        b'"data":{"errors":[{"path":[],"message":"Expected at most 2 positional params, got 3",'
        b'"type":"too_many_positional"}]}}},'
        b'{"id":3,"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"}},'
        b'{"id":4,"jsonrpc":"2.0","result":0.01},'
        b'{"id":5,"jsonrpc":"2.0","result":"pong"},'
        b'{"id":6,"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"}},'
        b'{"id":null,"jsonrpc":"2.0","result":"pong"},'
        b'{"id":7,"jsonrpc":"2.0","result":12},'
        b'{"id":8,"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":{"errors":[{"path":["b"],'
        b'"message":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}]}}},'
        b'{"id":9,"jsonrpc":"2.0","result":3}]'
    )
    assert set(lazy.dispatcher._routes.plain) == {'ping', 'add', 'fail', 'mark', 'sleepy', 'triple', 'strict'}


async def test_a_method_class_with_a_call_of_its_own_is_called() -> None:
    """Fixed: the lazy path called an ``async def`` method's function straight, past a ``__call__`` that a
    subclass of ``JSONRPCMethod`` defines; such a method now takes the full path, and its ``__call__`` runs."""

    class Shouting(aiohttp_rpc.JSONRPCMethod):
        def __call__(self, args: Any, kwargs: Any, extra_kwargs: Any = None) -> Coroutine[Any, Any, Any]:
            return self._shout(super().__call__(args, kwargs, extra_kwargs))

        async def _shout(self, coro: Awaitable[str]) -> str:
            return (await coro).upper()

    server = aiohttp_rpc.JSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_method(Shouting(ping))
    reply = await server.dispatch(b'{"jsonrpc":"2.0","method":"ping","id":1}')
    assert reply == b'{"id":1,"jsonrpc":"2.0","result":"PONG"}'
    assert server.dispatcher._routes.plain == {}


def _app(server: aiohttp_rpc.JSONRPCServer) -> Any:
    from aiohttp import web

    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    return app
