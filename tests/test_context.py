"""The request context: ``context_factory(http_request)`` built at most once per message, only when a method
asks for it, over HTTP, WebSocket (the upgrade request) and in-process dispatch."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from transports import Transport, call, result

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES

# -- how the tests reach a server -----------------------------------------------------------------------------


# -- the context and the methods ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...] = ()


class UserFactory:
    """Builds context factories reading ``X-User`` (and ``X-Roles``); records the request of every call."""

    def __init__(self) -> None:
        self.requests: list[web.Request | None] = []

    def build(self) -> Callable[[web.Request | None], User]:
        def user_from_headers(http_request: web.Request | None) -> User:
            self.requests.append(http_request)
            if http_request is None:
                return User('in-process')
            roles = http_request.headers.get('X-Roles', '')
            return User(http_request.headers.get('X-User', 'anonymous'), tuple(roles.split(',')) if roles else ())

        return user_from_headers

    @property
    def calls(self) -> int:
        return len(self.requests)


def whoami(user: User) -> str:
    return user.name


def greet(greeting: str, user: User) -> str:
    return f'{greeting}, {user.name}'


def by_name(rpc_context: Any, punctuation: str = '!') -> str:
    return f'{rpc_context.name}{punctuation}'


def ping() -> str:
    return 'pong'


# -- HTTP and WS ----------------------------------------------------------------------------------------------


async def test_method_gets_the_context_built_from_the_request_headers(transport: Transport) -> None:
    factory = UserFactory()
    server = transport.server(context_factory=factory.build())
    server.add_methods([whoami, greet, by_name, ping])
    await transport.start(server)
    replies = await transport.send_all(
        call('whoami'),
        call('greet', ['Hello']),
        call('greet', {'greeting': 'Hi'}),
        call('by_name'),
        call('by_name', {'punctuation': '?'}),
        headers={'X-User': 'ann'},
    )
    assert replies == [result('ann'), result('Hello, ann'), result('Hi, ann'), result('ann!'), result('ann?')]
    assert factory.calls == 5  # one per message
    assert all(request.headers['X-User'] == 'ann' for request in factory.requests)
    assert await transport.send_all(call('whoami')) == [result('anonymous')]


async def test_factory_is_called_once_per_message_and_only_when_needed(transport: Transport) -> None:
    factory = UserFactory()
    server = transport.server(context_factory=factory.build())
    server.add_methods([whoami, greet, by_name, ping])
    await transport.start(server)

    assert await transport.send_all(call('ping'), [call('ping', id=1), call('ping', id=2)]) == [
        result('pong'),
        [result('pong', id=1), result('pong', id=2)],
    ]
    assert factory.calls == 0

    batch = [call('whoami', id=1), call('ping', id=2), call('greet', ['Hey'], id=3), call('by_name', id=4)]
    assert await transport.send_all(batch, headers={'X-User': 'bob'}) == [
        [result('bob', id=1), result('pong', id=2), result('Hey, bob', id=3), result('bob!', id=4)]
    ]
    assert factory.calls == 1

    notification = {'jsonrpc': '2.0', 'method': 'whoami'}
    assert await transport.send_all([notification, call('whoami', id=5)], headers={'X-User': 'cy'}) == [
        [result('cy', id=5)]
    ]
    assert factory.calls == 2


async def test_a_method_call_that_fails_before_running_still_does_not_need_a_context(transport: Transport) -> None:
    factory = UserFactory()
    server = transport.server(context_factory=factory.build())
    server.add_methods([whoami])
    await transport.start(server)
    assert await transport.send_all(call('missing'), [call('missing', id=1)]) == [
        {'jsonrpc': '2.0', 'error': {'code': -32601, 'message': 'Method not found'}, 'id': 1},
        [{'jsonrpc': '2.0', 'error': {'code': -32601, 'message': 'Method not found'}, 'id': 1}],
    ]
    assert factory.calls == 0


async def test_async_factory(transport: Transport) -> None:
    built: list[str] = []

    async def load_user(http_request: web.Request | None) -> User:
        assert http_request is not None
        await asyncio.sleep(0)  # a real factory would await a session store or a database here
        name = http_request.headers['X-User']
        built.append(name)
        return User(name)

    server = transport.server(context_factory=load_user)
    server.add_methods([whoami, greet])
    await transport.start(server)
    assert await transport.send_all(call('whoami'), call('greet', ['Yo']), headers={'X-User': 'dee'}) == [
        result('dee'),
        result('Yo, dee'),
    ]
    assert built == ['dee', 'dee']


async def test_async_factory_is_called_once_for_a_whole_batch(transport: Transport) -> None:
    """Batch members run concurrently; while the first one awaits the factory, the others must wait for the same
    context, not build their own. (Today each member that starts during the await calls the factory again.)"""
    built: list[str] = []

    async def load_user(http_request: web.Request | None) -> User:
        built.append('called')
        await asyncio.sleep(0)  # suspends, so the next batch member starts meanwhile
        return User('eve')

    server = transport.server(context_factory=load_user)
    server.add_methods([whoami, greet])
    await transport.start(server)
    batch = [call('whoami', id=1), call('greet', ['Hi'], id=2), call('whoami', id=3)]
    assert await transport.send_all(batch) == [[result('eve', id=1), result('Hi, eve', id=2), result('eve', id=3)]]
    assert built == ['called']


class SessionStore:
    """A factory that is an object with ``__call__`` (it holds state: here, the sessions it knows)."""

    def __init__(self, sessions: Mapping[str, str]) -> None:
        self.sessions = dict(sessions)

    def __call__(self, http_request: web.Request | None) -> User:
        token = '' if http_request is None else http_request.headers.get('X-Session', '')
        return User(self.sessions.get(token, 'anonymous'))


async def test_callable_object_factory_uses_its_call_return_annotation(transport: Transport) -> None:
    """The context type of a factory object is its ``__call__``'s return annotation, as for a function.

    Today only functions are read: for an object the type is not found, so ``user: User`` silently becomes an
    ordinary RPC parameter and ``whoami()`` answers Invalid params.
    """
    server = transport.server(context_factory=SessionStore({'s1': 'lee'}))
    server.add_methods([whoami, by_name])
    await transport.start(server)
    assert await transport.send_all(call('by_name'), call('whoami'), headers={'X-Session': 's1'}) == [
        result('lee!'),
        result('lee'),
    ]


class Tenant(str):
    """A context type that is not the factory's return annotation (module level, so the hint resolves)."""


async def test_context_type_given_explicitly(transport: Transport) -> None:
    def tenant_of(http_request: Any):  # no return annotation: the type is given to the server instead
        return Tenant(http_request.headers['X-Tenant'])

    def tenant(suffix: str, current: Tenant) -> str:
        return current + suffix

    def plain(current: str = 'not a context') -> str:
        return current

    server = transport.server(context_factory=tenant_of, context_type=Tenant)
    server.add_methods([tenant, plain])
    await transport.start(server)
    assert await transport.send_all(call('tenant', ['-eu']), call('plain'), headers={'X-Tenant': 'acme'}) == [
        result('acme-eu'),
        result('not a context'),
    ]


async def test_client_libraries_send_the_headers_the_factory_reads(transport: Transport) -> None:
    factory = UserFactory()
    server = transport.server(context_factory=factory.build())
    server.add_methods([whoami, greet])
    await transport.start(server)
    async with transport.client(headers={'X-User': 'fay'}) as rpc:
        assert await rpc.methods.whoami() == 'fay'
        assert await rpc.batch(rpc.methods.whoami.request(), rpc.methods.greet.request('Hi')) == ('fay', 'Hi, fay')
    assert factory.calls == 2


async def test_ws_factory_gets_the_upgrade_request(
    aiohttp_server: Callable[..., Awaitable[TestServer]], http_session: aiohttp.ClientSession
) -> None:
    seen: list[tuple[str, str, str | None]] = []

    def upgrade_user(http_request: web.Request | None) -> User:
        assert http_request is not None
        seen.append((http_request.method, http_request.path, http_request.headers.get('Upgrade')))
        return User(http_request.headers['X-User'])

    server = aiohttp_rpc.WSJSONRPCServer(middlewares=DEFAULT_MIDDLEWARES, context_factory=upgrade_user)
    server.add_method(whoami)
    app = web.Application()
    app.router.add_get('/ws', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    url = (await aiohttp_server(app)).make_url('/ws')
    async with http_session.ws_connect(url, headers={'X-User': 'gus'}) as ws:
        await ws.send_str(json.dumps(call('whoami')))
        assert json.loads((await ws.receive(timeout=5)).data) == result('gus')
        await ws.send_str(json.dumps([call('whoami', id=2), call('whoami', id=3)]))
        assert json.loads((await ws.receive(timeout=5)).data) == [result('gus', id=2), result('gus', id=3)]
    assert seen == [('GET', '/ws', 'websocket'), ('GET', '/ws', 'websocket')]  # per message, not per socket


# -- the context is never an RPC parameter --------------------------------------------------------------------


async def test_context_cannot_be_sent_by_name_when_validating(transport: Transport) -> None:
    factory = UserFactory()
    server = transport.server(context_factory=factory.build(), validate_params=True)
    server.add_methods([whoami, greet, by_name])
    await transport.start(server)

    def extra(name: str) -> dict[str, Any]:
        problem = {'path': [name], 'message': 'Extra inputs are not permitted', 'type': 'extra_forbidden'}
        return {
            'jsonrpc': '2.0',
            'error': {'code': -32602, 'message': 'Invalid params', 'data': {'errors': [problem]}},
            'id': 1,
        }

    replies = await transport.send_all(
        call('whoami', {'user': {'name': 'root'}}),
        call('greet', {'greeting': 'Hi', 'user': 'root'}),
        call('by_name', {'rpc_context': {'name': 'root'}}),
        call('greet', ['Hi', {'name': 'root'}]),
        headers={'X-User': 'hal'},
    )
    too_many = {'path': [], 'message': 'Expected at most 1 positional params, got 2', 'type': 'too_many_positional'}
    assert replies == [
        extra('user'),
        extra('user'),
        extra('rpc_context'),
        {
            'jsonrpc': '2.0',
            'error': {'code': -32602, 'message': 'Invalid params', 'data': {'errors': [too_many]}},
            'id': 1,
        },
    ]
    assert await transport.send_all(call('greet', ['Hi']), headers={'X-User': 'hal'}) == [result('Hi, hal')]


async def test_context_sent_by_name_without_validation_is_replaced_by_the_servers(transport: Transport) -> None:
    # Pinned: without validation a by-name value for the context parameter is silently overwritten with the
    # factory's context, so a client cannot impersonate anybody this way.
    factory = UserFactory()
    server = transport.server(context_factory=factory.build())
    server.add_methods([whoami, greet, by_name])
    await transport.start(server)
    replies = await transport.send_all(
        call('whoami', {'user': {'name': 'root'}}),
        call('greet', {'greeting': 'Hi', 'user': 'root'}),
        call('by_name', {'rpc_context': 'root', 'punctuation': '.'}),
        headers={'X-User': 'ida'},
    )
    assert replies == [result('ida'), result('Hi, ida'), result('ida.')]


@pytest.mark.parametrize('validate_params', [False, True], ids=['plain', 'validating'])
async def test_context_parameter_first_leaves_positional_params_to_the_others(
    transport: Transport, validate_params: bool
) -> None:
    """``def f(user: User, amount: int)`` called with ``[5]``: 5 is ``amount``. With validation it works; without,
    5 is bound to ``user`` and the context then collides with it, answering Invalid params."""

    def spend(user: User, amount: int) -> str:
        return f'{user.name} spends {amount}'

    def spend_named(rpc_context: Any, amount: int) -> str:
        return f'{rpc_context.name} spends {amount}'

    server = transport.server(context_factory=UserFactory().build(), validate_params=validate_params)
    server.add_methods([spend, spend_named])
    await transport.start(server)
    replies = await transport.send_all(
        call('spend', [5]),
        call('spend_named', [6]),
        call('spend', {'amount': 7}),
        headers={'X-User': 'jo'},
    )
    assert replies == [result('jo spends 5'), result('jo spends 6'), result('jo spends 7')]


# -- other ways in ----------------------------------------------------------------------------------------------


async def test_in_process_dispatch_gives_the_factory_none() -> None:
    factory = UserFactory()
    server = aiohttp_rpc.JSONRPCServer(context_factory=factory.build())
    server.add_methods([whoami, ping])
    reply = await server.dispatch(json.dumps([call('whoami', id=1), call('ping', id=2), call('whoami', id=3)]), {})
    assert reply is not None
    assert json.loads(reply) == [result('in-process', id=1), result('pong', id=2), result('in-process', id=3)]
    assert factory.requests == [None]


async def test_rpc_context_without_a_factory_is_none(rpc_server_factory: Any, rpc_call: Any) -> None:
    def context_kind(rpc_context: Any = 'default') -> str:
        return repr(rpc_context)

    url = await rpc_server_factory(context_kind)
    assert await rpc_call(url, 'context_kind') == result('None')


async def test_context_together_with_pass_extra_kwargs(rpc_server_factory: Any, rpc_call: Any) -> None:
    factory = UserFactory()

    def audit(action: str, rpc_request: aiohttp_rpc.JSONRPCRequest, user: User) -> dict[str, Any]:
        return {'action': action, 'method': rpc_request.method, 'user': user.name}

    url = await rpc_server_factory(
        aiohttp_rpc.JSONRPCMethod(audit, pass_extra_kwargs=True), context_factory=factory.build()
    )
    assert await rpc_call(url, 'audit', ['login']) == result(
        {'action': 'login', 'method': 'audit', 'user': 'anonymous'}
    )
    assert factory.calls == 1


@pytest.mark.parametrize(
    ('failure', 'expected'),
    [
        (
            errors.AccessDenied(data={'details': 'Unknown session'}),
            {'code': -32001, 'message': 'Access denied', 'data': {'details': 'Unknown session'}},
        ),
        (RuntimeError('session store down'), {'code': -32603, 'message': 'Internal error'}),
    ],
    ids=['jsonrpc-error-is-sent', 'bug-is-internal-error'],
)
async def test_factory_failures(
    rpc_server_factory: Any, rpc_call: Any, failure: Exception, expected: dict[str, Any]
) -> None:
    ran: list[str] = []

    def failing_factory(http_request: Any) -> User:
        raise failure

    def needs_user(user: User) -> str:
        ran.append(user.name)
        return user.name

    url = await rpc_server_factory(needs_user, ping, context_factory=failing_factory)
    assert await rpc_call(url, 'needs_user') == {'jsonrpc': '2.0', 'error': expected, 'id': 1}
    assert await rpc_call(url, 'ping') == result('pong')
    assert ran == []


async def test_group_methods_get_the_context_too(transport: Transport) -> None:
    factory = UserFactory()
    group = aiohttp_rpc.MethodGroup()

    @group.method()
    def me(user: User) -> dict[str, Any]:
        return {'name': user.name, 'roles': list(user.roles)}

    server = transport.server(context_factory=factory.build())
    server.add_group('account', group)
    await transport.start(server)
    assert await transport.send_all(call('account.me'), headers={'X-User': 'kim', 'X-Roles': 'admin,ops'}) == [
        result({'name': 'kim', 'roles': ['admin', 'ops']})
    ]
