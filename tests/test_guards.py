"""Guards: per server, group and method; -32001 Access denied; the four shipped guards, each allowed and
denied, over HTTP and over WebSocket (where they check the upgrade request)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from transports import Transport, call, result

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES
from aiohttp_rpc.protocol import JSONRPCRequest

# -- how the tests reach a server -----------------------------------------------------------------------------


def denied(id: Any = 1) -> dict[str, Any]:
    return {'jsonrpc': '2.0', 'error': {'code': -32001, 'message': 'Access denied'}, 'id': id}


class Recorder:
    """Methods that record that they ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def method(self, name: str, **options: Any) -> aiohttp_rpc.JSONRPCMethod:
        def run() -> str:
            self.ran.append(name)
            return f'{name} ran'

        return aiohttp_rpc.JSONRPCMethod(run, name=name, **options)


def constant(name: str, value: str) -> aiohttp_rpc.JSONRPCMethod:
    """A method ``name`` answering ``value``."""
    return aiohttp_rpc.JSONRPCMethod(lambda: value, name=name)


# -- guard mechanics ------------------------------------------------------------------------------------------


def allow(request: JSONRPCRequest) -> bool:
    return True


def refuse(request: JSONRPCRequest) -> bool:
    return False


async def allow_async(request: JSONRPCRequest) -> bool:
    return True


async def refuse_async(request: JSONRPCRequest) -> bool:
    return False


@pytest.mark.parametrize(
    ('guards', 'allowed'),
    [
        ([allow], True),
        ([allow_async], True),
        ([allow, allow_async], True),
        ([refuse], False),
        ([refuse_async], False),
        ([allow, refuse_async], False),
        ([lambda request: None], False),
        ([lambda request: 1], True),
    ],
    ids=['sync-yes', 'async-yes', 'both-yes', 'sync-no', 'async-no', 'second-no', 'none-is-no', 'truthy-is-yes'],
)
@pytest.mark.parametrize('level', ['server', 'group', 'method'])
async def test_guard_verdicts_at_every_level(
    transport: Transport, guards: list[Any], allowed: bool, level: str
) -> None:
    recorder = Recorder()
    server = transport.server(guards=guards if level == 'server' else ())
    method = recorder.method('act', guards=guards if level == 'method' else ())
    if level == 'group':
        server.add_group('g', aiohttp_rpc.MethodGroup(guards=guards, methods=[method]))
        name = 'g.act'
    else:
        server.add_method(method)
        name = 'act'
    await transport.start(server)
    reply = await transport.send(call(name))
    assert reply == (result('act ran') if allowed else denied())
    assert recorder.ran == (['act'] if allowed else [])


async def test_guard_raising_a_jsonrpc_error_sends_it(transport: Transport) -> None:
    recorder = Recorder()

    def needs_reason(request: JSONRPCRequest) -> bool:
        if 'reason' not in request.kwargs:
            raise errors.InvalidParams(data={'details': 'Say why: give "reason".'})
        return True

    async def business_hours(request: JSONRPCRequest) -> bool:
        raise errors.JSONRPCError('Closed', code=4030, data={'opens': '09:00'})

    server = transport.server()
    server.add_methods(
        [
            recorder.method('explain', guards=[needs_reason]),
            recorder.method('late', guards=[business_hours]),
        ]
    )
    await transport.start(server)
    assert await transport.send(call('explain', {})) == {
        'jsonrpc': '2.0',
        'error': {'code': -32602, 'message': 'Invalid params', 'data': {'details': 'Say why: give "reason".'}},
        'id': 1,
    }
    assert await transport.send(call('late')) == {
        'jsonrpc': '2.0',
        'error': {'code': 4030, 'message': 'Closed', 'data': {'opens': '09:00'}},
        'id': 1,
    }
    assert recorder.ran == []


async def test_guard_that_crashes_is_an_internal_error(transport: Transport) -> None:
    recorder = Recorder()

    def broken(request: JSONRPCRequest) -> bool:
        raise RuntimeError('token cache unavailable')

    server = transport.server()
    server.add_method(recorder.method('act', guards=[broken]))
    await transport.start(server)
    assert await transport.send(call('act')) == {
        'jsonrpc': '2.0',
        'error': {'code': -32603, 'message': 'Internal error'},
        'id': 1,
    }
    assert recorder.ran == []


async def test_batch_with_allowed_and_denied_members(transport: Transport) -> None:
    recorder = Recorder()
    server = transport.server()
    server.add_methods(
        [
            recorder.method('open'),
            recorder.method('admin', guards=[aiohttp_rpc.require_header('X-Admin', 'yes')]),
            recorder.method('audit', guards=[refuse_async]),
        ]
    )
    await transport.start(server)
    notification = {'jsonrpc': '2.0', 'method': 'audit'}
    batch = [call('open', id=1), call('admin', id=2), notification, call('audit', id=3), call('open', id='4')]
    assert await transport.send(batch) == [
        result('open ran', id=1),
        denied(id=2),
        denied(id=3),
        result('open ran', id='4'),
    ]
    assert recorder.ran == ['open', 'open']
    recorder.ran.clear()
    assert await transport.send(batch, headers={'X-Admin': 'yes'}) == [
        result('open ran', id=1),
        result('admin ran', id=2),
        denied(id=3),
        result('open ran', id='4'),
    ]
    assert recorder.ran == ['open', 'admin', 'open']


async def test_denied_notification_gets_no_reply_and_does_not_run(rpc_server_factory: Any, post_raw: Any) -> None:
    recorder = Recorder()
    url = await rpc_server_factory(recorder.method('act', guards=[refuse]))
    assert await post_raw(url, '{"jsonrpc": "2.0", "method": "act"}') == (204, None)
    assert recorder.ran == []


async def test_server_guards_run_before_the_method_is_looked_up(transport: Transport) -> None:
    # Pinned: a refused caller learns nothing about which methods exist.
    server = transport.server(guards=[refuse])
    await transport.start(server)
    assert await transport.send(call('no.such.method')) == denied()


async def test_guard_sees_the_request(transport: Transport) -> None:
    seen: list[tuple[str, Any, Any, bool]] = []

    def inspect_request(request: JSONRPCRequest) -> bool:
        http_request = request.context['http_request']
        seen.append((request.method, request.id, list(request.args), http_request.headers['X-Trace'] == 'abc'))
        return True

    server = transport.server(guards=[inspect_request])
    server.add_method(aiohttp_rpc.JSONRPCMethod(lambda *args: list(args), name='echo'))
    await transport.start(server)
    assert await transport.send(call('echo', [1, 2], id='t'), headers={'X-Trace': 'abc'}) == result([1, 2], id='t')
    assert seen == [('echo', 't', [1, 2], True)]


async def test_client_raises_access_denied(transport: Transport) -> None:
    """A -32001 reply is raised as ``errors.AccessDenied``, like -32002 is ``CallTimeout``.

    Today ``AccessDenied`` is missing from ``DEFAULT_KNOWN_ERRORS``, so clients raise a bare ``JSONRPCError``.
    """
    server = transport.server(guards=[aiohttp_rpc.require_bearer_token({'s3cret'})])
    server.add_method(constant('ping', 'pong'))
    await transport.start(server)
    async with transport.client(headers={'Authorization': 'Bearer s3cret'}) as rpc:
        assert await rpc.methods.ping() == 'pong'
    async with transport.client() as rpc:
        with pytest.raises(errors.JSONRPCError) as info:
            await rpc.methods.ping()
    assert (info.value.code, info.value.message, info.value.data) == (-32001, 'Access denied', None)
    assert type(info.value) is errors.AccessDenied


# -- require_bearer_token -------------------------------------------------------------------------------------


BEARER_CASES = [
    ({}, False),
    ({'Authorization': ''}, False),
    ({'Authorization': 'Basic czNjcmV0'}, False),
    ({'Authorization': 's3cret'}, False),
    ({'Authorization': 'Bearer'}, False),
    ({'Authorization': 'Bearer '}, False),
    ({'Authorization': 'Bearer wrong'}, False),
    ({'Authorization': 'Bearer s3cre'}, False),
    ({'Authorization': 'Bearer s3cret!'}, False),
    ({'Authorization': 'Bearer S3CRET'}, False),
    ({'Authorization': 'Bearer s3cret'}, True),
    ({'Authorization': 'bearer s3cret'}, True),
    ({'Authorization': 'Bearer other-token'}, True),
]
BEARER_IDS = [
    'missing',
    'empty',
    'basic-scheme',
    'no-scheme',
    'scheme-only',
    'scheme-and-space',
    'wrong',
    'prefix',
    'longer',
    'wrong-case',
    'right',
    'scheme-any-case',
    'second-token',
]


@pytest.mark.parametrize(('headers', 'allowed'), BEARER_CASES, ids=BEARER_IDS)
async def test_require_bearer_token(transport: Transport, headers: dict[str, str], allowed: bool) -> None:
    recorder = Recorder()
    server = transport.server(guards=[aiohttp_rpc.require_bearer_token({'s3cret', 'other-token'})])
    server.add_method(recorder.method('act'))
    await transport.start(server)
    assert await transport.send(call('act'), headers=headers) == (result('act ran') if allowed else denied())
    assert recorder.ran == (['act'] if allowed else [])


@pytest.mark.parametrize('kind', ['sync', 'async'])
async def test_require_bearer_token_with_a_verify_callable(transport: Transport, kind: str) -> None:
    asked: list[str] = []

    def verify(token: str) -> bool:
        asked.append(token)
        return token.startswith('valid-')

    async def verify_async(token: str) -> bool:
        return verify(token)

    server = transport.server()
    server.add_method(
        aiohttp_rpc.JSONRPCMethod(
            lambda: 'ok',
            name='act',
            guards=[aiohttp_rpc.require_bearer_token(verify if kind == 'sync' else verify_async)],
        )
    )
    await transport.start(server)
    assert await transport.send(call('act'), headers={'Authorization': 'Bearer valid-1'}) == result('ok')
    assert await transport.send(call('act'), headers={'Authorization': 'Bearer expired-2'}) == denied()
    assert await transport.send(call('act'), headers={'Authorization': 'Basic valid-3'}) == denied()
    assert await transport.send(call('act')) == denied()
    assert asked == ['valid-1', 'expired-2']  # the callable is not asked without a bearer token


# -- require_header -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('value', 'headers', 'allowed'),
    [
        ('k-123', {}, False),
        ('k-123', {'X-Api-Key': 'k-124'}, False),
        ('k-123', {'X-Api-Key': ''}, False),
        ('k-123', {'X-Api-Key': 'K-123'}, False),
        ('k-123', {'X-Other': 'k-123'}, False),
        ('k-123', {'X-Api-Key': 'k-123'}, True),
        ('k-123', {'x-api-key': 'k-123'}, True),
        (None, {}, False),
        (None, {'X-Api-Key': 'anything'}, True),
        (None, {'X-Api-Key': ''}, True),
    ],
    ids=[
        'missing',
        'wrong-value',
        'empty-value',
        'value-case-matters',
        'other-header',
        'right',
        'name-any-case',
        'presence-missing',
        'presence-any-value',
        'presence-empty-value',
    ],
)
async def test_require_header(transport: Transport, value: str | None, headers: dict[str, str], allowed: bool) -> None:
    server = transport.server(guards=[aiohttp_rpc.require_header('X-Api-Key', value)])
    server.add_method(constant('act', 'ok'))
    await transport.start(server)
    assert await transport.send(call('act'), headers=headers) == (result('ok') if allowed else denied())


# -- require_host ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('allowed_hosts', 'host', 'allowed'),
    [
        (['127.0.0.1'], None, True),  # the client's own Host header: 127.0.0.1:<port>
        (['127.0.0.1:{port}'], None, True),
        (['127.0.0.1:1'], None, False),
        (['localhost'], None, False),
        (['api.example.com'], 'api.example.com', True),
        (['api.example.com'], 'API.Example.com', True),
        (['api.example.com'], 'api.example.com:8443', True),
        (['api.example.com:8443'], 'api.example.com:8443', True),
        (['api.example.com:8443'], 'api.example.com:9443', False),
        (['api.example.com:8443'], 'api.example.com', False),
        (['api.example.com'], 'example.com', False),
        (['api.example.com'], 'evil.com', False),
        (['*.example.com'], 'api.example.com', True),
        (['*.example.com'], 'a.b.example.com:8080', True),
        (['*.example.com'], 'example.com', False),
        (['*.example.com'], 'api.example.com.evil.com', False),
        (['*.example.com'], 'evilexample.com', False),
        (['api.example.com', '*.example.org'], 'www.example.org', True),
    ],
    ids=[
        'loopback-name',
        'loopback-with-port',
        'loopback-other-port',
        'localhost-is-not-127',
        'exact',
        'exact-any-case',
        'exact-name-any-port',
        'exact-with-port',
        'exact-wrong-port',
        'port-required',
        'parent-domain',
        'other-domain',
        'wildcard',
        'wildcard-deep-with-port',
        'wildcard-not-apex',
        'wildcard-suffix-trick',
        'wildcard-needs-dot',
        'second-entry',
    ],
)
async def test_require_host(transport: Transport, allowed_hosts: list[str], host: str | None, allowed: bool) -> None:
    def host_guard(request: JSONRPCRequest) -> Any:
        # Built at first use: the port is known only once the server has started.
        return aiohttp_rpc.require_host([entry.format(port=transport.port) for entry in allowed_hosts])(request)

    server = transport.server(guards=[host_guard])
    server.add_method(constant('act', 'ok'))
    await transport.start(server)
    headers = {} if host is None else {'Host': host}
    assert await transport.send(call('act'), headers=headers) == (result('ok') if allowed else denied())


# -- require_client_address -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('networks', 'allowed'),
    [
        (['127.0.0.1'], True),
        (['127.0.0.0/8'], True),
        (['10.0.0.0/8', '127.0.0.1/32'], True),
        (['10.0.0.0/8'], False),
        (['127.0.0.2'], False),
        (['192.168.0.0/16', '172.16.0.0/12'], False),
        (['::1'], False),  # the test server listens on IPv4 loopback: ::1 is another address
        (['::/0'], False),  # and IPv6 networks never admit IPv4 clients
        ([], False),
    ],
    ids=[
        'exact',
        'loopback-net',
        'second-entry',
        'private-net',
        'other-host',
        'no-match',
        'ipv6-loopback',
        'ipv6-all',
        'none',
    ],
)
async def test_require_client_address(transport: Transport, networks: list[str], allowed: bool) -> None:
    server = transport.server(guards=[aiohttp_rpc.require_client_address(networks)])
    server.add_method(constant('act', 'ok'))
    await transport.start(server)
    assert await transport.send(call('act')) == (result('ok') if allowed else denied())


def test_require_client_address_refuses_bad_networks_at_once() -> None:
    with pytest.raises(ValueError, match='does not appear to be an IPv4 or IPv6 network'):
        aiohttp_rpc.require_client_address(['not-a-network'])


# -- combined, in-process, over the WS client ----------------------------------------------------------------


async def test_shipped_guards_combined_on_a_group(transport: Transport) -> None:
    admin = aiohttp_rpc.MethodGroup(
        guards=[
            aiohttp_rpc.require_client_address(['127.0.0.0/8']),
            aiohttp_rpc.require_host(['127.0.0.1']),
            aiohttp_rpc.require_header('X-Role', 'admin'),
            aiohttp_rpc.require_bearer_token({'t0k'}),
        ]
    )
    admin.add_method(constant('reset', 'done'))
    server = transport.server()
    server.add_group('admin', admin)
    server.add_method(constant('ping', 'pong'))
    await transport.start(server)
    good = {'X-Role': 'admin', 'Authorization': 'Bearer t0k'}
    assert await transport.send(call('admin.reset'), headers=good) == result('done')
    assert await transport.send(call('admin.reset'), headers={**good, 'X-Role': 'user'}) == denied()
    assert await transport.send(call('admin.reset'), headers={**good, 'Authorization': 'Bearer nope'}) == denied()
    assert await transport.send(call('admin.reset'), headers={**good, 'Host': 'example.com'}) == denied()
    assert await transport.send(call('ping')) == result('pong')


@pytest.mark.parametrize(
    'guard',
    [
        aiohttp_rpc.require_bearer_token({'t'}),
        aiohttp_rpc.require_bearer_token(lambda token: True),
        aiohttp_rpc.require_header('X-Any'),
        aiohttp_rpc.require_host(['*.example.com', '127.0.0.1']),
        aiohttp_rpc.require_client_address(['0.0.0.0/0', '::/0']),
    ],
    ids=['bearer', 'bearer-callable', 'header', 'host', 'client-address'],
)
async def test_shipped_guards_refuse_in_process_calls(guard: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer(guards=[guard])
    server.add_method(constant('act', 'ok'))
    reply = await server.dispatch('{"jsonrpc": "2.0", "method": "act", "id": 1}', {})
    assert reply is not None
    assert json.loads(reply) == denied()


async def test_ws_guards_check_the_upgrade_request_for_every_call(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    server = aiohttp_rpc.WSJSONRPCServer(
        middlewares=DEFAULT_MIDDLEWARES, guards=[aiohttp_rpc.require_bearer_token({'ws-token'})]
    )
    server.add_method(constant('ping', 'pong'))
    app = web.Application()
    app.router.add_get('/ws', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    url = str((await aiohttp_server(app)).make_url('/ws'))
    async with aiohttp_rpc.WSJSONRPCClient(url, headers={'Authorization': 'Bearer ws-token'}) as rpc:
        assert await rpc.methods.ping() == 'pong'
        assert await rpc.batch(rpc.methods.ping.request(), rpc.methods.ping.request()) == ('pong', 'pong')
    # Without the token the socket still opens; each call on it is refused.
    async with aiohttp_rpc.WSJSONRPCClient(url) as rpc:
        for _ in range(2):
            with pytest.raises(errors.JSONRPCError) as info:
                await rpc.methods.ping()
            assert (info.value.code, info.value.message) == (-32001, 'Access denied')
