"""``JSONRPCServer``: registration, calling conventions, errors, limits and HTTP behaviour, over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import math
import sys
import uuid
from collections.abc import Awaitable
from typing import Any

import pytest
from aiohttp import web
from transports import Transport

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.dispatch import encoder, finite
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES, check_origins

SECRET = 'do-not-leak-7f3a9c'


def ping() -> str:
    return 'pong'


def subtract(minuend: int, subtrahend: int) -> int:
    return minuend - subtrahend


async def async_subtract(minuend: int, subtrahend: int) -> int:
    return minuend - subtrahend


def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {'args': list(args), 'kwargs': kwargs}


def result(value: Any, *, id: Any = 1) -> dict[str, Any]:
    return {'id': id, 'jsonrpc': '2.0', 'result': value}


def error(code: int, message: str, *, id: Any = 1, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {'code': code, 'message': message}
    if data is not None:
        body['data'] = data
    return {'id': id, 'jsonrpc': '2.0', 'error': body}


INVALID_PARAMS = error(-32602, 'Invalid params')
INTERNAL_ERROR = error(-32603, 'Internal error')
MISSING_SUBTRAHEND = {'path': ['subtrahend'], 'message': 'Field required', 'type': 'missing'}
UNKNOWN_OTHER = {'path': ['other'], 'message': 'Extra inputs are not permitted', 'type': 'extra_forbidden'}


def invalid_params(*problems: dict[str, Any]) -> dict[str, Any]:
    """-32602 with the structured reason an untyped method gives too (same shape as the typed validator's)."""
    return error(-32602, 'Invalid params', data={'errors': list(problems)})


# -- registration ---------------------------------------------------------------------------------------------


async def test_add_method_forms(rpc_server_factory: Any, rpc_call: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer()
    plain = server.add_method(ping)
    wrapped = server.add_method(aiohttp_rpc.JSONRPCMethod(subtract))
    renamed = server.add_method(aiohttp_rpc.JSONRPCMethod(echo, name='math.echo'))

    assert isinstance(plain, aiohttp_rpc.JSONRPCMethod)
    assert (plain.name, wrapped.name, renamed.name) == ('ping', 'subtract', 'math.echo')
    assert server.methods == {'ping': plain, 'subtract': wrapped, 'math.echo': renamed}

    url = await rpc_server_factory(rpc_server=server)
    assert await rpc_call(url, 'ping') == result('pong')
    assert await rpc_call(url, 'subtract', [5, 3]) == result(2)
    assert await rpc_call(url, 'math.echo', {'a': 1}) == result({'args': [], 'kwargs': {'a': 1}})
    assert await rpc_call(url, 'echo') == error(-32601, 'Method not found')


def test_add_method_twice_needs_replace() -> None:
    def first() -> int:
        return 1

    def second() -> int:
        return 2

    server = aiohttp_rpc.JSONRPCServer()
    original = server.add_method(aiohttp_rpc.JSONRPCMethod(first, name='value'))

    with pytest.raises(errors.ServerConfigurationError) as exc_info:
        server.add_method(aiohttp_rpc.JSONRPCMethod(second, name='value'))
    assert exc_info.value.data == {'details': 'Method value has already been added.'}
    assert server.methods['value'] is original

    replacement = server.add_method(aiohttp_rpc.JSONRPCMethod(second, name='value'), replace=True)
    assert server.methods['value'] is replacement


async def test_replace_changes_what_is_served(rpc_server_factory: Any, rpc_call: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(aiohttp_rpc.JSONRPCMethod(lambda: 'old', name='version'))
    server.add_method(aiohttp_rpc.JSONRPCMethod(lambda: 'new', name='version'), replace=True)
    url = await rpc_server_factory(rpc_server=server)
    assert await rpc_call(url, 'version') == result('new')


def test_add_methods() -> None:
    server = aiohttp_rpc.JSONRPCServer()
    added = server.add_methods([ping, aiohttp_rpc.JSONRPCMethod(echo, name='say')])
    assert [method.name for method in added] == ['ping', 'say']
    assert tuple(server.methods.values()) == added

    with pytest.raises(errors.ServerConfigurationError):
        server.add_methods([ping])
    assert server.add_methods([ping, echo], replace=True)[0] is server.methods['ping']


async def test_methods_mapping_in_constructor(rpc_server_factory: Any, rpc_call: Any) -> None:
    methods = {'ping': aiohttp_rpc.JSONRPCMethod(ping), 'minus': aiohttp_rpc.JSONRPCMethod(subtract, name='minus')}
    server = aiohttp_rpc.JSONRPCServer(methods=methods)
    assert server.methods is methods
    url = await rpc_server_factory(rpc_server=server)
    assert await rpc_call(url, 'ping') == result('pong')
    assert await rpc_call(url, 'minus', {'minuend': 10, 'subtrahend': 4}) == result(6)


def test_non_callable_is_refused() -> None:
    with pytest.raises(errors.ServerConfigurationError):
        aiohttp_rpc.JSONRPCMethod('not callable')  # type: ignore[arg-type]


def test_callable_without_a_name_needs_one() -> None:
    unnamed = functools.partial(subtract, 10)
    with pytest.raises(errors.ServerConfigurationError):
        aiohttp_rpc.JSONRPCMethod(unnamed)
    assert aiohttp_rpc.JSONRPCMethod(unnamed, name='ten_minus').name == 'ten_minus'


async def test_direct_call() -> None:
    server = aiohttp_rpc.JSONRPCServer(methods={})
    server.add_methods([subtract, async_subtract])
    server.add_method(aiohttp_rpc.JSONRPCMethod(echo, name='echo_extra', pass_extra_kwargs=True))

    assert await server.call('subtract', args=[5, 3]) == 2
    assert await server.call('async_subtract', kwargs={'minuend': 5, 'subtrahend': 3}) == 2
    assert await server.call('echo_extra', args=[1], extra_kwargs={'flag': True}) == {
        'args': [1],
        'kwargs': {'flag': True},
    }
    with pytest.raises(errors.MethodNotFound):
        await server.call('missing')
    with pytest.raises(errors.InvalidParams):
        await server.call('subtract', args=[1])


# -- calling conventions --------------------------------------------------------------------------------------


async def _slow_result() -> str:
    return 'awaited'


def returns_awaitable() -> Awaitable[str]:
    return _slow_result()


async def test_sync_async_and_awaitable_returning_methods(rpc_server_factory: Any, rpc_call: Any) -> None:
    url = await rpc_server_factory(subtract, async_subtract, returns_awaitable)
    assert await rpc_call(url, 'subtract', [7, 2]) == result(5)
    assert await rpc_call(url, 'async_subtract', [7, 2]) == result(5)
    assert await rpc_call(url, 'returns_awaitable') == result('awaited')


async def to_upper(value: list[str]) -> list[str]:
    return [item.upper() for item in value]


async def test_prepare_result(rpc_server_factory: Any, rpc_call: Any) -> None:
    url = await rpc_server_factory(
        sum,
        aiohttp_rpc.JSONRPCMethod(zip, prepare_result=list),
        aiohttp_rpc.JSONRPCMethod(sorted, name='shout', prepare_result=to_upper),
    )
    assert await rpc_call(url, 'sum', [[1, 2, 3]]) == result(6)
    assert await rpc_call(url, 'zip', [['a', 'b'], [1, 2]]) == result([['a', 1], ['b', 2]])
    assert await rpc_call(url, 'shout', [['b', 'a']]) == result(['A', 'B'])


async def test_pass_extra_kwargs_delivers_rpc_request(rpc_server_factory: Any, rpc_call: Any) -> None:
    seen: list[aiohttp_rpc.JSONRPCRequest] = []

    async def whoami(name: str, rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
        seen.append(rpc_request)
        return f'{name} via {rpc_request.context["http_request"].method}'

    url = await rpc_server_factory(aiohttp_rpc.JSONRPCMethod(whoami, pass_extra_kwargs=True))
    assert await rpc_call(url, 'whoami', ['ann'], id='x') == result('ann via POST', id='x')

    [rpc_request] = seen
    assert isinstance(rpc_request, aiohttp_rpc.JSONRPCRequest)
    assert (rpc_request.method, rpc_request.id, rpc_request.args) == ('whoami', 'x', ['ann'])
    http_request = rpc_request.context['http_request']
    assert isinstance(http_request, web.Request)
    assert http_request.path == '/rpc'


async def test_extra_kwargs_are_not_passed_by_default(rpc_server_factory: Any, rpc_call: Any) -> None:
    url = await rpc_server_factory(echo)
    assert await rpc_call(url, 'echo', {'a': 1}) == result({'args': [], 'kwargs': {'a': 1}})


# -- bad params versus bugs -----------------------------------------------------------------------------------


def raises_type_error(value: int) -> int:
    return value + 'text'  # type: ignore[operator,no-any-return]


async def async_raises_type_error(value: int) -> int:
    return value + 'text'  # type: ignore[operator,no-any-return]


def logged(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize(
    ('method', 'params', 'expected'),
    [
        pytest.param(subtract, [1], invalid_params(MISSING_SUBTRAHEND), id='too-few'),
        pytest.param(
            subtract,
            [1, 2, 3],
            invalid_params(
                {'path': [], 'message': 'Expected at most 2 positional params, got 3', 'type': 'too_many_positional'}
            ),
            id='too-many',
        ),
        pytest.param(
            subtract,
            {'minuend': 1, 'other': 2},
            invalid_params(MISSING_SUBTRAHEND, UNKNOWN_OTHER),
            id='unknown-keyword',
        ),
        pytest.param(async_subtract, [1], invalid_params(MISSING_SUBTRAHEND), id='async-too-few'),
        pytest.param(
            async_subtract,
            {'minuend': 1, 'other': 2},
            invalid_params(MISSING_SUBTRAHEND, UNKNOWN_OTHER),
            id='async-unknown-keyword',
        ),
        pytest.param(logged(subtract), [1], invalid_params(MISSING_SUBTRAHEND), id='wrapped-too-few'),
        pytest.param(
            sum,
            [],
            invalid_params({'path': ['iterable'], 'message': 'Field required', 'type': 'missing'}),
            id='builtin-too-few',
        ),
        pytest.param(max, [1], INVALID_PARAMS, id='builtin-without-signature'),  # zip has a signature from 3.13
        pytest.param(raises_type_error, [1], INTERNAL_ERROR, id='type-error-inside'),
        pytest.param(async_raises_type_error, [1], INTERNAL_ERROR, id='async-type-error-inside'),
        pytest.param(logged(raises_type_error), [1], INTERNAL_ERROR, id='wrapped-type-error-inside'),
        pytest.param(sum, [['a', 1]], INTERNAL_ERROR, id='builtin-type-error-inside'),
    ],
)
async def test_bad_params_versus_type_error_inside(
    rpc_server_factory: Any, rpc_call: Any, method: Any, params: Any, expected: Any
) -> None:
    url = await rpc_server_factory(aiohttp_rpc.JSONRPCMethod(method, name='target'))
    assert await rpc_call(url, 'target', params) == expected


async def test_exception_text_never_reaches_the_client(
    rpc_server_factory: Any, post_raw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> None:
        raise ValueError(SECRET)

    url = await rpc_server_factory(explode)
    status, reply = await post_raw(url, b'{"jsonrpc": "2.0", "method": "explode", "id": 9}')

    assert (status, reply) == (200, error(-32603, 'Internal error', id=9))
    assert SECRET not in json.dumps(reply)
    [record] = [record for record in caplog.records if record.exc_info]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    assert "method='explode'" in record.getMessage()


class InsufficientFunds(errors.JSONRPCError):
    code = 4001
    message = 'Insufficient funds'


async def test_user_defined_error_is_sent_as_is(rpc_server_factory: Any, rpc_call: Any) -> None:
    def withdraw(amount: int) -> None:
        raise InsufficientFunds(data={'balance': 3, 'requested': amount})

    def overridden() -> None:
        raise InsufficientFunds('Account frozen', code=4002)

    url = await rpc_server_factory(withdraw, overridden)
    assert await rpc_call(url, 'withdraw', [10]) == error(
        4001, 'Insufficient funds', data={'balance': 3, 'requested': 10}
    )
    assert await rpc_call(url, 'overridden') == error(4002, 'Account frozen')


async def test_invalid_params_raised_by_a_method(rpc_server_factory: Any, rpc_call: Any) -> None:
    def positive(value: int) -> int:
        if value <= 0:
            raise errors.InvalidParams(data={'details': '"value" must be positive'})
        return value

    url = await rpc_server_factory(positive)
    assert await rpc_call(url, 'positive', [-1]) == error(
        -32602, 'Invalid params', data={'details': '"value" must be positive'}
    )


# -- batches --------------------------------------------------------------------------------------------------


async def test_max_batch(rpc_server_factory: Any, post_raw: Any) -> None:
    url = await rpc_server_factory(ping, max_batch=2)
    call = {'jsonrpc': '2.0', 'method': 'ping', 'id': 1}

    assert await post_raw(url, json.dumps([call, {**call, 'id': 2}])) == (200, [result('pong'), result('pong', id=2)])
    assert await post_raw(url, json.dumps([call] * 3)) == (
        200,
        error(-32600, 'Invalid Request', id=None, data={'details': 'Batch too large.'}),
    )


async def test_batch_members_run_concurrently(rpc_server_factory: Any, post_raw: Any) -> None:
    first_started = asyncio.Event()
    second_started = asyncio.Event()

    async def first() -> str:
        first_started.set()
        await second_started.wait()
        return 'first'

    async def second() -> str:
        second_started.set()
        await first_started.wait()
        return 'second'

    url = await rpc_server_factory(first, second)
    batch = [{'jsonrpc': '2.0', 'method': 'first', 'id': 1}, {'jsonrpc': '2.0', 'method': 'second', 'id': 2}]
    status, reply = await asyncio.wait_for(post_raw(url, json.dumps(batch)), timeout=30)
    assert status == 200
    assert sorted(reply, key=lambda item: item['id']) == [result('first'), result('second', id=2)]


@pytest.mark.parametrize(
    'json_serialize',
    [
        pytest.param(aiohttp_rpc.utils.json_serialize, id='default'),
        pytest.param(json.dumps, id='json.dumps'),
    ],
)
async def test_unserializable_result_fails_alone(
    rpc_server_factory: Any, post_raw: Any, caplog: pytest.LogCaptureFixture, json_serialize: Any
) -> None:
    def bad() -> object:
        return {1, 2}

    url = await rpc_server_factory(bad, ping, json_serialize=json_serialize)
    batch = [{'jsonrpc': '2.0', 'method': 'bad', 'id': 1}, {'jsonrpc': '2.0', 'method': 'ping', 'id': 2}]

    status, reply = await post_raw(url, json.dumps(batch))
    assert status == 200
    assert sorted(reply, key=lambda item: item['id']) == [INTERNAL_ERROR, result('pong', id=2)]

    assert await post_raw(url, json.dumps(batch[0])) == (200, INTERNAL_ERROR)
    assert any(record.levelname == 'ERROR' and 'id=1' in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    'json_serialize',
    [
        pytest.param(aiohttp_rpc.utils.json_serialize, id='default'),
        pytest.param(json.dumps, id='json.dumps'),
    ],
)
@pytest.mark.parametrize(
    'value',
    [
        pytest.param(math.nan, id='nan'),
        pytest.param(math.inf, id='inf'),
        pytest.param(-math.inf, id='-inf'),
        pytest.param({'deep': [1, None, {'x': math.inf}]}, id='nested-inf'),
    ],
)
@pytest.mark.parametrize(
    'walk',
    [
        pytest.param(finite.has_non_finite_py, id='python-walk'),
        pytest.param(finite.has_non_finite, id='selected-walk'),  # the C one where it was built
    ],
)
async def test_non_finite_result_is_an_internal_error_with_any_serializer(
    rpc_server_factory: Any,
    post_raw: Any,
    json_serialize: Any,
    value: Any,
    walk: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # json.dumps writes Infinity and NaN, neither of them JSON: the reply must never carry them. Both the C
    # check and the pure-Python one (which users without a compiler get) are run end to end.
    monkeypatch.setattr(encoder, 'has_non_finite', walk)

    def non_finite() -> Any:
        return value

    url = await rpc_server_factory(non_finite, ping, json_serialize=json_serialize)
    batch = [{'jsonrpc': '2.0', 'method': 'non_finite', 'id': 1}, {'jsonrpc': '2.0', 'method': 'ping', 'id': 2}]

    assert await post_raw(url, json.dumps(batch[0])) == (200, INTERNAL_ERROR)
    status, reply = await post_raw(url, json.dumps(batch))
    assert status == 200
    assert sorted(reply, key=lambda item: item['id']) == [INTERNAL_ERROR, result('pong', id=2)]


@pytest.mark.parametrize(
    'json_serialize',
    [
        pytest.param(aiohttp_rpc.utils.json_serialize, id='default'),
        pytest.param(json.dumps, id='json.dumps'),
    ],
)
async def test_a_result_too_deep_to_check_fails_alone(
    rpc_server_factory: Any, post_raw: Any, json_serialize: Any
) -> None:
    # With the interpreter's limit raised, json.dumps writes a result nested 1,500 deep, past what the NaN walk
    # follows (1,000 levels); the text "NaN" in it sends it to the walk, whose RecursionError is that call's
    # -32603 (it used to escape the encoder), and the server goes on answering.
    def deep() -> Any:
        value: list[Any] = ['NaN']
        for _ in range(1_500):
            value = [value]
        return value

    url = await rpc_server_factory(deep, ping, json_serialize=json_serialize)
    batch = [{'jsonrpc': '2.0', 'method': 'deep', 'id': 1}, {'jsonrpc': '2.0', 'method': 'ping', 'id': 2}]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)
    try:
        assert await post_raw(url, json.dumps(batch[0])) == (200, INTERNAL_ERROR)
        status, reply = await post_raw(url, json.dumps(batch))
    finally:
        sys.setrecursionlimit(limit)
    assert status == 200
    assert sorted(reply, key=lambda item: item['id']) == [INTERNAL_ERROR, result('pong', id=2)]
    assert await post_raw(url, json.dumps(batch[1])) == (200, result('pong', id=2))


@pytest.mark.parametrize(
    ('json_serialize', 'expected'),
    [
        # orjson writes each non-finite float as null: that is what strict_floats=False lets stand.
        pytest.param(
            aiohttp_rpc.utils.json_serialize,
            result({'nan': None, 'inf': [None, 1.5], 'none': None}),
            id='default',
        ),
        # json.dumps would write NaN and Infinity, which are not JSON: still refused.
        pytest.param(json.dumps, INTERNAL_ERROR, id='json.dumps'),
    ],
)
async def test_strict_floats_off_writes_non_finite_floats_as_null(
    transport: Transport, json_serialize: Any, expected: Any
) -> None:
    def non_finite() -> Any:
        return {'nan': math.nan, 'inf': [-math.inf, 1.5], 'none': None}

    server = transport.server(json_serialize=json_serialize, strict_floats=False)
    server.add_method(non_finite)
    await transport.start(server)
    request = {'jsonrpc': '2.0', 'method': 'non_finite', 'id': 1}

    assert await transport.send_all(request, [request]) == [expected, [expected]]


# -- serialization and decoding -------------------------------------------------------------------------------


@dataclasses.dataclass
class User:
    uuid: uuid.UUID
    username: str = 'mike'


def serialize_unknown(value: Any) -> Any:
    if isinstance(value, User):
        return {'uuid': str(value.uuid), 'username': value.username, 'kind': 'user'}
    return repr(value)


USER_UUID = uuid.UUID('6f1c2e55-3b0a-4cf2-9d0e-3d2f5b8b7a11')


async def get_user(user_uuid: str) -> User:
    return User(uuid=uuid.UUID(user_uuid))


async def test_custom_json_serialize(rpc_server_factory: Any, rpc_call: Any) -> None:
    url = await rpc_server_factory(get_user, json_serialize=functools.partial(json.dumps, default=serialize_unknown))
    assert await rpc_call(url, 'get_user', [str(USER_UUID)]) == result(
        {'uuid': str(USER_UUID), 'username': 'mike', 'kind': 'user'}
    )


async def test_default_serializer_handles_dataclasses_and_uuids(rpc_server_factory: Any, rpc_call: Any) -> None:
    url = await rpc_server_factory(get_user)
    assert await rpc_call(url, 'get_user', [str(USER_UUID)]) == result({'uuid': str(USER_UUID), 'username': 'mike'})


def reject_constant(name: str) -> Any:
    raise TypeError(f'{name} is not JSON')


async def test_custom_json_deserialize(rpc_server_factory: Any, post_raw: Any) -> None:
    strict_loads = functools.partial(json.loads, parse_constant=reject_constant)
    url = await rpc_server_factory(echo, json_deserialize=strict_loads)
    parse_error = error(-32700, 'Parse error', id=None, data={'details': 'Invalid JSON'})

    assert await post_raw(url, b'{"jsonrpc": "2.0", "method": "echo", "params": [1.5], "id": 1}') == (
        200,
        result({'args': [1.5], 'kwargs': {}}),
    )
    assert await post_raw(url, b'{"jsonrpc": "2.0", "method": "echo", "params": [NaN], "id": 1}') == (200, parse_error)
    assert await post_raw(url, b'{"jsonrpc": "2.0"') == (200, parse_error)


@pytest.mark.parametrize(
    ('content_type', 'body', 'expected'),
    [
        pytest.param(
            'application/json; charset=latin-1',
            '{"jsonrpc": "2.0", "method": "echo", "params": ["café"], "id": 1}'.encode('latin-1'),
            result({'args': ['café'], 'kwargs': {}}),
            id='latin-1',
        ),
        pytest.param(
            'application/json; charset=UTF-8',
            '{"jsonrpc": "2.0", "method": "echo", "params": ["café"], "id": 1}'.encode(),
            result({'args': ['café'], 'kwargs': {}}),
            id='utf-8',
        ),
        pytest.param(
            'application/json',
            '{"jsonrpc": "2.0", "method": "echo", "params": ["café"], "id": 1}'.encode('latin-1'),
            error(-32700, 'Parse error', id=None, data={'details': 'Invalid JSON'}),
            id='latin-1-undeclared',
        ),
        pytest.param(
            'application/json; charset=no-such-charset',
            b'{"jsonrpc": "2.0", "method": "echo", "params": ["plain"], "id": 1}',
            error(-32700, 'Parse error', id=None, data={'details': 'Invalid JSON'}),
            id='unknown-charset',
        ),
    ],
)
async def test_request_charset(
    rpc_server_factory: Any, post_raw: Any, content_type: str, body: bytes, expected: Any
) -> None:
    url = await rpc_server_factory(echo)
    assert await post_raw(url, body, headers={'Content-Type': content_type}) == (200, expected)


async def test_reply_headers(rpc_server_factory: Any, http_session: Any) -> None:
    url = await rpc_server_factory(ping)
    async with http_session.post(url, data=b'{"jsonrpc": "2.0", "method": "ping", "id": 1}', headers=JSON) as response:
        assert response.status == 200
        assert response.content_type == 'application/json'
        assert response.charset == 'utf-8'
    async with http_session.post(url, data=b'{"jsonrpc": "2.0", "method": "ping"}', headers=JSON) as response:
        assert response.status == 204
        assert await response.read() == b''


# -- HTTP: methods and origins --------------------------------------------------------------------------------


async def test_get_is_refused_by_the_route(rpc_server_factory: Any, post_raw: Any) -> None:
    url = await rpc_server_factory(ping)
    status, _ = await post_raw(url, b'', method='GET')
    assert status == 405


async def test_get_is_refused_by_the_handler(aiohttp_server: Any, post_raw: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer()
    server.add_method(ping)
    app = web.Application()
    app.router.add_route('*', '/rpc', server.handle_http_request)
    url = str((await aiohttp_server(app)).make_url('/rpc'))

    for method in ('GET', 'PUT'):
        status, _ = await post_raw(url, b'', method=method)
        assert status == 405
    assert await post_raw(url, b'{"jsonrpc": "2.0", "method": "ping", "id": 1}') == (200, result('pong'))


PING = b'{"jsonrpc": "2.0", "method": "ping", "id": 1}'
JSON = {'Content-Type': 'application/json'}
GOOD_ORIGIN = 'https://app.example.com'


@pytest.mark.parametrize(
    ('allowed', 'headers', 'expected_status'),
    [
        pytest.param({GOOD_ORIGIN}, {'Origin': GOOD_ORIGIN}, 200, id='allowed'),
        pytest.param({GOOD_ORIGIN}, {'Origin': 'https://evil.example.com'}, 403, id='other-origin'),
        pytest.param({GOOD_ORIGIN}, {}, 403, id='no-origin'),
        pytest.param({GOOD_ORIGIN, None}, {}, 200, id='no-origin-admitted'),
    ],
)
async def test_allowed_origins(
    rpc_server_factory: Any, http_session: Any, allowed: Any, headers: dict[str, str], expected_status: int
) -> None:
    url = await rpc_server_factory(ping, allowed_origins=allowed)
    async with http_session.post(url, data=PING, headers={**JSON, **headers}) as response:
        assert response.status == expected_status
        if expected_status == 200:
            assert await response.json() == result('pong')


@pytest.mark.parametrize(
    'middlewares',
    [
        pytest.param([check_origins({GOOD_ORIGIN}), *DEFAULT_MIDDLEWARES], id='outermost'),
        pytest.param([*DEFAULT_MIDDLEWARES, check_origins({GOOD_ORIGIN})], id='inside-exception-middleware'),
    ],
)
async def test_check_origins_middleware(rpc_server_factory: Any, http_session: Any, middlewares: Any) -> None:
    url = await rpc_server_factory(ping, middlewares=middlewares)
    batch = b'[' + PING + b', {"jsonrpc": "2.0", "method": "ping"}]'
    notification = b'{"jsonrpc": "2.0", "method": "ping"}'

    for body in (PING, batch, notification):
        async with http_session.post(
            url, data=body, headers={**JSON, 'Origin': 'https://evil.example.com'}
        ) as response:
            assert response.status == 403
            assert await response.text() == 'Origin not allowed.'

    async with http_session.post(url, data=PING, headers={**JSON, 'Origin': GOOD_ORIGIN}) as response:
        assert response.status == 200
        assert await response.json() == result('pong')


async def test_check_origins_without_http_request_refuses() -> None:
    server = aiohttp_rpc.JSONRPCServer(middlewares=[check_origins({None})])
    server.add_method(ping)
    with pytest.raises(errors.RequestRejected) as exc_info:
        await server.dispatch(PING, {})
    assert (exc_info.value.status, exc_info.value.reason) == (403, 'Origin not allowed.')


# -- the module-level server and the decorator ----------------------------------------------------------------


async def test_rpc_method_decorator_on_a_fresh_server(rpc_server_factory: Any, rpc_call: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)

    @aiohttp_rpc.rpc_method(rpc_server=server)
    def hello(name: str) -> str:
        return f'hello {name}'

    @aiohttp_rpc.rpc_method('math.pair', rpc_server=server, prepare_result=list)
    def pair(a: int, b: int) -> tuple[int, int]:
        return a, b

    @aiohttp_rpc.rpc_method(rpc_server=server, pass_extra_kwargs=True)
    def method_name(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
        return rpc_request.method

    assert hello('direct') == 'hello direct'  # the function itself is returned unchanged
    assert set(server.methods) == {'hello', 'math.pair', 'method_name'}
    with pytest.raises(errors.ServerConfigurationError):
        aiohttp_rpc.rpc_method(rpc_server=server)(hello)

    url = await rpc_server_factory(rpc_server=server)
    assert await rpc_call(url, 'hello', ['ann']) == result('hello ann')
    assert await rpc_call(url, 'math.pair', [1, 2]) == result([1, 2])
    assert await rpc_call(url, 'method_name') == result('method_name')


async def test_default_rpc_server(rpc_server_factory: Any, rpc_call: Any) -> None:
    assert isinstance(aiohttp_rpc.rpc_server, aiohttp_rpc.JSONRPCServer)
    assert aiohttp_rpc.rpc_server.middlewares == DEFAULT_MIDDLEWARES
    assert aiohttp_rpc.server.rpc_server is aiohttp_rpc.rpc_server
    name = f'test_default_rpc_server_{uuid.uuid4().hex}'

    @aiohttp_rpc.rpc_method(name)
    def unique() -> str:
        return 'from the default server'

    try:
        assert aiohttp_rpc.rpc_server.methods[name].name == name
        url = await rpc_server_factory(rpc_server=aiohttp_rpc.rpc_server)
        assert await rpc_call(url, name) == result('from the default server')
    finally:
        del aiohttp_rpc.rpc_server.methods[name]


class Constant(aiohttp_rpc.BaseJSONRPCMethod):
    """A method object that is not a plain callable."""

    def __init__(self, name: str, value: Any) -> None:
        self.name = name
        self.value = value

    async def __call__(self, args: Any, kwargs: Any, extra_kwargs: Any = None) -> Any:
        return {'value': self.value, 'args': list(args), 'kwargs': dict(kwargs)}


async def test_custom_method_class(rpc_server_factory: Any, rpc_call: Any) -> None:
    answer = Constant('answer', 42)
    assert repr(answer) == 'Constant(answer)'
    url = await rpc_server_factory(answer)
    assert await rpc_call(url, 'answer', [1]) == result({'value': 42, 'args': [1], 'kwargs': {}})


async def test_methods_mapping_accepts_plain_callables(rpc_server_factory: Any, rpc_call: Any) -> None:
    server = aiohttp_rpc.JSONRPCServer(methods={'minus': async_subtract, 'echo': echo})
    assert isinstance(server.methods['minus'], aiohttp_rpc.JSONRPCMethod)
    url = await rpc_server_factory(rpc_server=server)
    assert await rpc_call(url, 'minus', [5, 3]) == result(2)
    assert await rpc_call(url, 'echo', {'a': 1}) == result({'args': [], 'kwargs': {'a': 1}})


async def test_integers_beyond_64_bits_are_serialized(rpc_server_factory: Any, post_raw: Any) -> None:
    def power(base: int, exponent: int) -> int:
        return int(base**exponent)

    url = await rpc_server_factory(power)
    status, raw = await post_raw(url, b'{"jsonrpc": "2.0", "method": "power", "params": [2, 100], "id": 1}')
    assert (status, raw) == (200, result(2**100))


async def test_a_refused_batch_member_stops_its_siblings(rpc_server_factory: Any, post_raw: Any) -> None:
    sibling_cancelled = asyncio.Event()
    sibling_started = asyncio.Event()

    async def slow() -> None:
        sibling_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            sibling_cancelled.set()
            raise

    async def refuse() -> None:
        await sibling_started.wait()

    async def gate(request: aiohttp_rpc.JSONRPCRequest, handler: Any) -> Any:
        if request.method == 'refuse':
            await sibling_started.wait()
            raise aiohttp_rpc.errors.RequestRejected(403, 'No.')
        return await handler(request)

    url = await rpc_server_factory(slow, refuse, middlewares=[gate, *aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES])
    body = b'[{"jsonrpc": "2.0", "method": "slow", "id": 1}, {"jsonrpc": "2.0", "method": "refuse", "id": 2}]'
    assert await post_raw(url, body) == (403, 'No.')
    assert sibling_cancelled.is_set()


async def test_batch_members_keep_their_own_task_semantics(rpc_server_factory: Any, post_raw: Any) -> None:
    """A member that enters ``asyncio.timeout()`` and then waits times out alone; its siblings, before and
    after it, sync and async, are answered normally. (Python 3.10 has no ``asyncio.timeout()``: there the member
    does what 3.10 code does, ``asyncio.wait_for``.)"""

    async def bounded_wait() -> str:
        try:
            if sys.version_info >= (3, 11):
                async with asyncio.timeout(0.01):
                    await asyncio.Event().wait()
            else:
                await asyncio.wait_for(asyncio.Event().wait(), 0.01)
        except asyncio.TimeoutError:  # TimeoutError itself from 3.11 on
            return 'timed out'
        return 'unexpected'

    async def yield_once(value: int) -> int:
        await asyncio.sleep(0)
        return value

    url = await rpc_server_factory(bounded_wait, yield_once, echo)
    body = json.dumps(
        [
            {'jsonrpc': '2.0', 'method': 'echo', 'params': [0], 'id': 0},
            {'jsonrpc': '2.0', 'method': 'bounded_wait', 'id': 1},
            {'jsonrpc': '2.0', 'method': 'yield_once', 'params': [2], 'id': 2},
            {'jsonrpc': '2.0', 'method': 'bounded_wait', 'id': 3},
            {'jsonrpc': '2.0', 'method': 'echo', 'params': [4], 'id': 4},
        ]
    ).encode()
    status, replies = await post_raw(url, body)
    assert status == 200
    assert sorted(replies, key=lambda reply: reply['id']) == [
        result({'args': [0], 'kwargs': {}}, id=0),
        result('timed out', id=1),
        result(2, id=2),
        result('timed out', id=3),
        result({'args': [4], 'kwargs': {}}, id=4),
    ]


async def test_dispatch_is_the_one_door() -> None:
    """``dispatch(data, context=None)`` and its decoded twin answer with bytes, or None for a notification; a
    call that waits is simply awaited; the context defaults to a new RequestContext each time."""
    release = asyncio.Event()
    started = asyncio.Event()

    async def instant(value: int) -> int:
        return value

    async def waits(value: int) -> int:
        started.set()
        await release.wait()
        return value

    def seen(rpc_request: aiohttp_rpc.JSONRPCRequest) -> Any:
        rpc_request.context['touched'] = True
        return sorted(rpc_request.context)

    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    server.add_methods([instant, waits, aiohttp_rpc.JSONRPCMethod(seen, pass_extra_kwargs=True)])

    assert json.loads(await server.dispatch(b'{"jsonrpc": "2.0", "method": "instant", "params": [7], "id": 1}')) == {
        'jsonrpc': '2.0',
        'id': 1,
        'result': 7,
    }
    assert await server.dispatch(b'{"jsonrpc": "2.0", "method": "instant", "params": [7]}') is None
    assert json.loads(await server.dispatch(b'{"jsonrpc": "2.0", "method"')) == {
        'jsonrpc': '2.0',
        'id': None,
        'error': {'code': -32700, 'message': 'Parse error', 'data': {'details': 'Invalid JSON'}},
    }

    pending = asyncio.ensure_future(
        server.dispatch_message({'jsonrpc': '2.0', 'method': 'waits', 'params': [8], 'id': 2})
    )
    await started.wait()
    assert not pending.done()
    release.set()
    assert json.loads(await pending) == {'jsonrpc': '2.0', 'id': 2, 'result': 8}

    batch = await server.dispatch_message([{'jsonrpc': '2.0', 'method': 'instant', 'params': [1], 'id': 3}])
    assert json.loads(batch) == [{'jsonrpc': '2.0', 'id': 3, 'result': 1}]

    request = {'jsonrpc': '2.0', 'method': 'seen', 'id': 4}
    assert json.loads(await server.dispatch_message(request)) == {'jsonrpc': '2.0', 'id': 4, 'result': ['touched']}
    reply = {'jsonrpc': '2.0', 'id': 4, 'result': ['connection', 'touched']}
    plain = {'connection': 'kept'}
    assert json.loads(await server.dispatch_message(request, plain)) == reply
    assert plain == {'connection': 'kept'}  # a plain mapping is copied into the message's RequestContext
    context = aiohttp_rpc.RequestContext(connection='kept')
    assert json.loads(await server.dispatch_message(request, context)) == reply
    assert context == {'connection': 'kept', 'touched': True}  # a RequestContext is used as given


@pytest.mark.parametrize('server_class', [aiohttp_rpc.JSONRPCServer, aiohttp_rpc.WSJSONRPCServer])
def test_servers_show_every_option_in_their_signature(server_class: type[Any]) -> None:
    """Servers hold a dispatcher (composition) and spell out its options: ``help()`` and IDEs show them all."""
    import inspect

    from aiohttp_rpc.dispatch import Dispatcher

    parameters = inspect.signature(server_class).parameters
    assert not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters.values())
    dispatcher_options = set(inspect.signature(Dispatcher).parameters)
    assert dispatcher_options <= set(parameters)
    assert {'allowed_origins', 'allowed_hosts'} <= set(parameters)
    for name in dispatcher_options:
        assert parameters[name].default == inspect.signature(Dispatcher).parameters[name].default, name
    server = server_class(max_batch=3)
    assert not isinstance(server, Dispatcher)
    assert isinstance(server.dispatcher, Dispatcher)
    assert server.methods is server.dispatcher.methods


async def test_an_untyped_misfit_lists_at_most_twenty_problems_with_short_names(
    rpc_server_factory: Any, rpc_call: Any
) -> None:
    """What a client invents cannot make the reply grow: 20 problems at most, unknown names cut to 64 chars."""
    url = await rpc_server_factory(aiohttp_rpc.JSONRPCMethod(subtract, name='target'))
    params = {f'{index:03d}' + 'x' * 100: index for index in range(100)}
    reply = await rpc_call(url, 'target', params)
    problems = reply['error']['data']['errors']
    assert len(problems) == 21
    assert problems[:2] == [
        {'path': ['minuend'], 'message': 'Field required', 'type': 'missing'},
        MISSING_SUBTRAHEND,
    ]
    assert problems[2] == {
        'path': ['000' + 'x' * 61],
        'message': 'Extra inputs are not permitted',
        'type': 'extra_forbidden',
    }
    assert problems[-1] == {'path': [], 'message': 'More problems not listed', 'type': 'more'}
