"""Method groups: dotted names, nesting, late additions, group middlewares and guards, tags; over HTTP and WS."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from transports import Transport, call, result

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES
from aiohttp_rpc.protocol import JSONRPCRequest, JSONRPCResponse
from aiohttp_rpc.typedefs import MiddlewareType, SingleRequestProcessorType

# -- how the tests reach a server -----------------------------------------------------------------------------


def error(code: int, message: str, id: Any = 1, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {'code': code, 'message': message}
    if data is not None:
        body['data'] = data
    return {'jsonrpc': '2.0', 'error': body, 'id': id}


ACCESS_DENIED = error(-32001, 'Access denied')
METHOD_NOT_FOUND = error(-32601, 'Method not found')

# -- the methods ----------------------------------------------------------------------------------------------


def add(a: int, b: int) -> int:
    return a + b


def sin(x: float) -> float:
    return math.sin(x)


def ping() -> str:
    return 'pong'


def build_math() -> aiohttp_rpc.MethodGroup:
    """``add``, ``sub`` (via the decorator, renamed), ``mul`` (add_methods), ``trig.sin``, ``trig.cos``."""
    group = aiohttp_rpc.MethodGroup(methods=[add], description='Arithmetic')

    @group.method(name='sub')
    def subtract(a: int, b: int) -> int:
        return a - b

    def mul(a: int, b: int) -> int:
        return a * b

    group.add_methods([mul])
    trig = aiohttp_rpc.MethodGroup(description='Trigonometry')
    trig.add_method(sin)

    @aiohttp_rpc.rpc_method(rpc_server=trig)  # a group stands in for a server here
    def cos(x: float) -> float:
        return math.cos(x)

    group.add_group('trig', trig)
    return group


# -- names ----------------------------------------------------------------------------------------------------


async def test_group_methods_are_served_under_dotted_names(transport: Transport) -> None:
    server = transport.server()
    server.add_method(ping)
    server.add_group('math', build_math())
    await transport.start(server)
    assert sorted(server.methods) == ['math.add', 'math.mul', 'math.sub', 'math.trig.cos', 'math.trig.sin', 'ping']
    assert await transport.send(call('math.add', [2, 3])) == result(5)
    assert await transport.send(call('math.sub', {'a': 2, 'b': 3})) == result(-1)
    assert await transport.send(call('math.mul', [2, 3])) == result(6)
    assert await transport.send(call('math.trig.sin', [0])) == result(0.0)
    assert await transport.send(call('math.trig.cos', [0])) == result(1.0)
    assert await transport.send(call('ping')) == result('pong')
    for name in ('add', 'trig.sin', 'math', 'math.trig', 'math.subtract', 'math.trig.add'):
        assert await transport.send(call(name, [0])) == METHOD_NOT_FOUND, name


async def test_group_calls_through_the_client(transport: Transport) -> None:
    server = transport.server()
    server.add_group('math', build_math())
    await transport.start(server)
    async with transport.client() as rpc:
        assert await rpc.call('math.add', 1, 2) == 3
        assert await rpc.batch(
            rpc.methods['math.trig.cos'].request(0),
            rpc.methods['math.sub'].request(a=5, b=1),
        ) == (1.0, 4)


async def test_methods_and_groups_added_after_attaching_are_served(transport: Transport) -> None:
    group = aiohttp_rpc.MethodGroup()
    server = transport.server(allow_late_methods=True)
    server.add_group('late', group)
    await transport.start(server)
    assert await transport.send(call('late.ping')) == METHOD_NOT_FOUND

    group.add_method(ping)
    inner = aiohttp_rpc.MethodGroup()
    group.add_group('inner', inner)
    inner.add_method(add)
    deeper = inner.add_group('deeper', aiohttp_rpc.MethodGroup(methods=[ping]))

    @deeper.method()
    def echo(value: Any) -> Any:
        return value

    assert await transport.send(call('late.ping')) == result('pong')
    assert await transport.send(call('late.inner.add', [1, 1])) == result(2)
    assert await transport.send(call('late.inner.deeper.ping')) == result('pong')
    assert await transport.send(call('late.inner.deeper.echo', ['x'])) == result('x')
    assert server.tags_of('late.inner.deeper.echo') == ('late', 'late.inner', 'late.inner.deeper')


def test_tags_of() -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(ping)
    server.add_group('math', build_math())
    assert server.tags_of('math.trig.sin') == ('math', 'math.trig')
    assert server.tags_of('math.add') == ('math',)
    assert server.tags_of('ping') == ()
    assert server.tags_of('no.such.method') == ()


def test_one_group_on_two_prefixes() -> None:
    shared = aiohttp_rpc.MethodGroup(methods=[ping])
    server = aiohttp_rpc.JSONRPCServer()
    server.add_group('v1', shared)
    server.add_group('v2', shared)
    shared.add_method(add)
    assert sorted(server.methods) == ['v1.add', 'v1.ping', 'v2.add', 'v2.ping']


@pytest.mark.parametrize(
    ('setup', 'details'),
    [
        (
            lambda server: (
                server.add_group('g', aiohttp_rpc.MethodGroup(methods=[ping])),
                server.add_group('g', aiohttp_rpc.MethodGroup(methods=[ping])),
            ),
            'Method g.ping has already been added.',
        ),
        (
            lambda server: server.add_group('rpc', aiohttp_rpc.MethodGroup(methods=[ping])),
            'Method names starting with "rpc." are reserved; pass allow_reserved=True.',
        ),
        (
            lambda server: aiohttp_rpc.MethodGroup().add_group('', aiohttp_rpc.MethodGroup()),
            "Group prefix '' is empty or taken.",
        ),
        (
            lambda server: aiohttp_rpc.MethodGroup(methods=[ping]).add_method(ping),
            'Method ping has already been added.',
        ),
    ],
    ids=['name-taken-on-server', 'reserved-prefix', 'empty-prefix', 'name-taken-in-group'],
)
def test_registration_errors(setup: Callable[[aiohttp_rpc.JSONRPCServer], Any], details: str) -> None:
    server = aiohttp_rpc.JSONRPCServer()
    with pytest.raises(errors.ServerConfigurationError) as info:
        setup(server)
    assert info.value.data == {'details': details}


def test_subgroup_prefix_taken() -> None:
    group = aiohttp_rpc.MethodGroup()
    group.add_group('sub', aiohttp_rpc.MethodGroup())
    with pytest.raises(errors.ServerConfigurationError) as info:
        group.add_group('sub', aiohttp_rpc.MethodGroup())
    assert info.value.data == {'details': "Group prefix 'sub' is empty or taken."}


# -- middlewares ----------------------------------------------------------------------------------------------


def recording(label: str, log: list[str]) -> MiddlewareType:
    async def middleware(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        log.append(f'{label}:{request.method}')
        return await handler(request)

    return middleware


async def test_group_middlewares_wrap_only_their_methods_outer_first(transport: Transport) -> None:
    log: list[str] = []
    server = transport.server(middlewares=[*DEFAULT_MIDDLEWARES, recording('server', log)])
    outer = aiohttp_rpc.MethodGroup(middlewares=[recording('outer-1', log), recording('outer-2', log)], methods=[add])
    inner = aiohttp_rpc.MethodGroup(middlewares=[recording('inner', log)], methods=[sin])
    outer.add_group('trig', inner)
    server.add_method(ping)
    server.add_group('math', outer)
    server.add_group('other', aiohttp_rpc.MethodGroup(methods=[ping]))
    await transport.start(server)

    assert await transport.send(call('math.trig.sin', [0])) == result(0.0)
    assert log == ['server:math.trig.sin', 'outer-1:math.trig.sin', 'outer-2:math.trig.sin', 'inner:math.trig.sin']
    log.clear()
    assert await transport.send(call('math.add', [1, 2])) == result(3)
    assert log == ['server:math.add', 'outer-1:math.add', 'outer-2:math.add']
    log.clear()
    assert await transport.send(call('ping')) == result('pong')
    assert await transport.send(call('other.ping')) == result('pong')
    assert await transport.send(call('math.missing')) == METHOD_NOT_FOUND
    assert log == ['server:ping', 'server:other.ping', 'server:math.missing']


async def test_group_middleware_can_answer_and_raise(transport: Transport) -> None:
    ran: list[str] = []

    async def maintenance(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        if request.method.endswith('.add'):
            return JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, result='closed for maintenance')
        if request.method.endswith('.sin'):
            raise errors.JSONRPCError('Trigonometry is off', code=4000, data={'until': 'Monday'})
        return await handler(request)

    def add_spy(a: int, b: int) -> int:
        ran.append('add')
        return a + b

    server = transport.server()
    server.add_group(
        'math',
        aiohttp_rpc.MethodGroup(
            middlewares=[maintenance], methods=[aiohttp_rpc.JSONRPCMethod(add_spy, name='add'), sin, ping]
        ),
    )
    await transport.start(server)
    assert await transport.send(call('math.add', [1, 2])) == result('closed for maintenance')
    assert await transport.send(call('math.sin', [1])) == error(4000, 'Trigonometry is off', data={'until': 'Monday'})
    assert await transport.send(call('math.ping')) == result('pong')
    assert ran == []


# -- guards ---------------------------------------------------------------------------------------------------


async def test_group_guards_apply_to_the_group_and_its_subgroups_only(transport: Transport) -> None:
    server = transport.server()
    admin = aiohttp_rpc.MethodGroup(guards=[lambda request: False], methods=[ping])
    admin.add_group('users', aiohttp_rpc.MethodGroup(methods=[add]))
    server.add_group('admin', admin)
    server.add_group('public', aiohttp_rpc.MethodGroup(methods=[ping]))
    server.add_method(ping)
    await transport.start(server)
    assert await transport.send(call('admin.ping')) == ACCESS_DENIED
    assert await transport.send(call('admin.users.add', [1, 2])) == ACCESS_DENIED
    assert await transport.send(call('public.ping')) == result('pong')
    assert await transport.send(call('ping')) == result('pong')
    assert await transport.send(
        [call('admin.ping', id=1), call('public.ping', id=2), call('admin.users.add', [1, 1], id=3)]
    ) == [ACCESS_DENIED, result('pong', id=2), error(-32001, 'Access denied', id=3)]


async def test_guards_run_server_then_outer_group_then_inner_group_then_method(transport: Transport) -> None:
    log: list[str] = []

    def guard(label: str, verdict: bool = True) -> Callable[[JSONRPCRequest], Awaitable[bool]]:
        async def check(request: JSONRPCRequest) -> bool:
            log.append(label)
            return verdict

        return check

    def record() -> str:
        log.append('method')
        return 'ran'

    def refused() -> str:
        log.append('refused method')
        return 'ran'

    server = transport.server(guards=[guard('server')])
    outer = aiohttp_rpc.MethodGroup(guards=[guard('outer-1'), guard('outer-2')])
    inner = aiohttp_rpc.MethodGroup(guards=[guard('inner')])
    inner.add_method(aiohttp_rpc.JSONRPCMethod(record, guards=[guard('method')]))
    inner.add_method(aiohttp_rpc.JSONRPCMethod(refused, guards=[guard('method says no', verdict=False)]))
    outer.add_group('inner', inner)
    server.add_group('outer', outer)
    await transport.start(server)

    assert await transport.send(call('outer.inner.record')) == result('ran')
    assert log == ['server', 'outer-1', 'outer-2', 'inner', 'method', 'method']
    log.clear()
    assert await transport.send(call('outer.inner.refused')) == ACCESS_DENIED
    assert log == ['server', 'outer-1', 'outer-2', 'inner', 'method says no']


async def test_first_refusing_guard_stops_the_rest(transport: Transport) -> None:
    log: list[str] = []

    def guard(label: str, verdict: bool) -> Callable[[JSONRPCRequest], bool]:
        def check(request: JSONRPCRequest) -> bool:
            log.append(label)
            return verdict

        return check

    server = transport.server()
    outer = aiohttp_rpc.MethodGroup(guards=[guard('outer', False)])
    outer.add_group('inner', aiohttp_rpc.MethodGroup(guards=[guard('inner', True)], methods=[ping]))
    server.add_group('outer', outer)
    await transport.start(server)
    assert await transport.send(call('outer.inner.ping')) == ACCESS_DENIED
    assert log == ['outer']


async def test_each_group_checks_its_guards_before_inner_groups_middlewares(transport: Transport) -> None:
    """Outer groups first, for guards as for middlewares: a caller the outer group refuses never reaches the
    inner group's middlewares (an audit log, a rate limiter, a transaction).

    Today every group middleware runs first and all guards after them, so ``inner-mw`` runs for a refused call.
    """
    log: list[str] = []

    def guard(label: str, verdict: bool = True) -> Callable[[JSONRPCRequest], bool]:
        def check(request: JSONRPCRequest) -> bool:
            log.append(label)
            return verdict

        return check

    server = transport.server(
        middlewares=[*DEFAULT_MIDDLEWARES, recording('server-mw', log)], guards=[guard('server-guard')]
    )
    outer = aiohttp_rpc.MethodGroup(middlewares=[recording('outer-mw', log)], guards=[guard('outer-guard')])
    inner = aiohttp_rpc.MethodGroup(middlewares=[recording('inner-mw', log)], guards=[guard('inner-guard')])
    inner.add_method(aiohttp_rpc.JSONRPCMethod(ping, guards=[guard('method-guard')]))
    outer.add_group('inner', inner)
    server.add_group('open', outer)
    closed = aiohttp_rpc.MethodGroup(middlewares=[recording('outer-mw', log)], guards=[guard('outer-guard', False)])
    closed.add_group('inner', aiohttp_rpc.MethodGroup(middlewares=[recording('inner-mw', log)], methods=[ping]))
    server.add_group('closed', closed)
    await transport.start(server)

    assert await transport.send(call('open.inner.ping')) == result('pong')
    assert log == [
        'server-mw:open.inner.ping',
        'server-guard',
        'outer-mw:open.inner.ping',
        'outer-guard',
        'inner-mw:open.inner.ping',
        'inner-guard',
        'method-guard',
    ]
    log.clear()
    assert await transport.send(call('closed.inner.ping')) == ACCESS_DENIED
    assert log == ['server-mw:closed.inner.ping', 'server-guard', 'outer-mw:closed.inner.ping', 'outer-guard']


# -- options carried by group methods -------------------------------------------------------------------------


async def test_group_methods_follow_the_server_validation_and_their_own_options(transport: Transport) -> None:
    group = aiohttp_rpc.MethodGroup(methods=[add])

    @group.method(name='loose', validate=False)
    def loose_add(a: int, b: int) -> Any:
        return a + b

    @group.method(prepare_result=str)
    def twice(a: int) -> int:
        return 2 * a

    server = transport.server(validate_params=True)
    server.add_group('math', group)
    await transport.start(server)
    assert await transport.send(call('math.add', ['1', '2'])) == result(3)
    assert await transport.send(call('math.add', ['x', 2])) == error(
        -32602,
        'Invalid params',
        data={
            'errors': [
                {
                    'path': ['a'],
                    'message': 'Input should be a valid integer, unable to parse string as an integer',
                    'type': 'int_parsing',
                }
            ]
        },
    )
    assert await transport.send(call('math.loose', ['1', '2'])) == result('12')
    assert await transport.send(call('math.twice', ['4'])) == result('8')


async def test_a_group_shared_by_two_servers_keeps_each_servers_validation(
    aiohttp_server: Callable[..., Awaitable[TestServer]], rpc_call: Any
) -> None:
    """Both servers of an app usually share groups (HTTP and WS); registering on one must not change the other:
    ``bind()`` never changes the shared method object, it derives one with the validating server's validator."""

    def typed_pair(a: int, b: int) -> list[int]:
        return [a, b]

    group = aiohttp_rpc.MethodGroup(methods=[typed_pair])
    plain = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    validating = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES, validate_params=True)
    plain.add_group('g', group)
    validating.add_group('g', group)
    urls = []
    for server in (plain, validating):
        app = web.Application()
        app.router.add_post('/rpc', server.handle_http_request)
        urls.append(str((await aiohttp_server(app)).make_url('/rpc')))
    plain_url, validating_url = urls
    assert await rpc_call(validating_url, 'g.typed_pair', ['1', '2']) == result([1, 2])
    assert await rpc_call(plain_url, 'g.typed_pair', ['1', '2']) == result(['1', '2'])
    shared = group.methods['typed_pair']
    assert plain.methods['g.typed_pair'] is shared  # the plain server serves the group's own object
    assert validating.methods['g.typed_pair'] is not shared
    assert not shared.validates
    assert validating.methods['g.typed_pair'].validates


async def test_a_started_server_refuses_new_methods_by_every_path(transport: Transport) -> None:
    """Once a server has answered its first message its methods are fixed: every way of adding one says why
    and what to do, and the methods it had keep being served."""
    group = aiohttp_rpc.MethodGroup()
    server = transport.server()
    server.add_group('g', group)
    server.add_method(ping)
    await transport.start(server)
    assert await transport.send(call('ping')) == result('pong')
    assert server.dispatcher.frozen
    message = (
        "Cannot add method 'add': the server has started serving, and its methods are fixed from then on. Add "
        'methods before the first request, or build the server with allow_late_methods=True.'
    )
    attempts = [
        lambda: server.add_method(add),
        lambda: server.add_methods([add]),
        lambda: group.add_method(add),
    ]
    for attempt in attempts:
        with pytest.raises(aiohttp_rpc.errors.ServerConfigurationError) as raised:
            attempt()
        assert raised.value.data == {
            'details': message.replace("'add'", "'g.add'") if attempt is attempts[2] else message
        }
    with pytest.raises(aiohttp_rpc.errors.ServerConfigurationError):
        server.add_group('h', aiohttp_rpc.MethodGroup(methods=[add]))
    assert await transport.send(call('ping')) == result('pong')
    assert await transport.send(call('add', [1, 2])) == METHOD_NOT_FOUND


async def test_a_method_set_on_a_started_servers_mapping_is_not_served(
    transport: Transport, caplog: pytest.LogCaptureFixture
) -> None:
    server = transport.server()
    server.add_method(ping)
    server.methods['early'] = aiohttp_rpc.JSONRPCMethod(add, name='early')  # before the start: served
    await transport.start(server)
    assert await transport.send(call('ping')) == result('pong')
    assert await transport.send(call('early', [1, 2])) == result(3)
    server.methods['add'] = aiohttp_rpc.JSONRPCMethod(add)
    assert await transport.send(call('add', [1, 2])) == METHOD_NOT_FOUND
    assert await transport.send(call('add', [1, 2])) == METHOD_NOT_FOUND
    warnings = [record.getMessage() for record in caplog.records if record.levelname == 'WARNING']
    assert warnings == [
        "Method 'add' was set on server.methods after the server started serving: it is not served. Add methods "
        'before the first request, or build the server with allow_late_methods=True.'
    ]


def test_a_group_does_not_keep_its_servers_alive() -> None:
    import gc
    import weakref

    group = aiohttp_rpc.MethodGroup(methods=[ping])
    server = aiohttp_rpc.JSONRPCServer()
    server.add_group('g', group)
    gone = weakref.ref(server)
    del server
    gc.collect()
    assert gone() is None
    group.add_method(add)  # nothing left to register with
    kept = aiohttp_rpc.JSONRPCServer()
    kept.add_group('g', group)
    assert sorted(kept.methods) == ['g.add', 'g.ping']
