"""Middlewares: ``async def mw(request, handler) -> response``, the built-ins and the dispatcher's outer guard."""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from typing import Any

import pytest

import aiohttp_rpc
from aiohttp_rpc import JSONRPCRequest, JSONRPCResponse, errors
from aiohttp_rpc.dispatch import middleware as dispatch_middleware
from aiohttp_rpc.middlewares import (
    DEFAULT_MIDDLEWARES,
    exception_middleware,
    inject_request_middleware,
    logging_middleware,
)
from aiohttp_rpc.typedefs import SingleRequestProcessorType

SECRET = 'middleware-secret-51d2'


def result(value: Any, *, id: Any = 1) -> dict[str, Any]:
    return {'id': id, 'jsonrpc': '2.0', 'result': value}


def error(code: int, message: str, *, id: Any = 1, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {'code': code, 'message': message}
    if data is not None:
        body['data'] = data
    return {'id': id, 'jsonrpc': '2.0', 'error': body}


INTERNAL_ERROR = error(-32603, 'Internal error')


def ping() -> str:
    return 'pong'


def test_default_middlewares() -> None:
    assert (exception_middleware, inject_request_middleware) == DEFAULT_MIDDLEWARES
    assert aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES is dispatch_middleware.DEFAULT_MIDDLEWARES
    assert aiohttp_rpc.middlewares.logging_middleware is dispatch_middleware.logging_middleware


async def test_first_listed_is_outermost(rpc_server_factory: Any, rpc_call: Any) -> None:
    calls: list[str] = []

    def recorder(name: str) -> Any:
        async def middleware(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
            calls.append(f'{name}:before')
            response = await handler(request)
            calls.append(f'{name}:after')
            return response

        return middleware

    def method() -> str:
        calls.append('method')
        return 'done'

    url = await rpc_server_factory(method, middlewares=[recorder('a'), recorder('b'), recorder('c')])
    assert await rpc_call(url, 'method') == result('done')
    assert calls == ['a:before', 'b:before', 'c:before', 'method', 'c:after', 'b:after', 'a:after']


async def test_short_circuit(rpc_server_factory: Any, rpc_call: Any, post_raw: Any) -> None:
    calls: list[str] = []

    async def cache(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        if request.method == 'cached':
            return JSONRPCResponse(id=request.id, result='from cache')
        return await handler(request)

    def cached() -> str:
        calls.append('cached')
        return 'computed'

    url = await rpc_server_factory(cached, ping, middlewares=[cache])
    assert await rpc_call(url, 'cached', id='c') == result('from cache', id='c')
    assert await rpc_call(url, 'ping') == result('pong')
    # A short-circuited notification still gets no reply.
    assert await post_raw(url, b'{"jsonrpc": "2.0", "method": "cached"}') == (204, None)
    assert calls == []


async def test_post_processing_the_response(rpc_server_factory: Any, rpc_call: Any) -> None:
    async def envelope(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        response = await handler(request)
        if response.error is None:
            response.result = {'value': response.result, 'method': request.method}
        return response

    url = await rpc_server_factory(ping, middlewares=[envelope])
    assert await rpc_call(url, 'ping') == result({'value': 'pong', 'method': 'ping'})
    assert await rpc_call(url, 'missing') == error(-32601, 'Method not found')


# The type-conversion example of the aiohttp-rpc 2.0 README.


@dataclasses.dataclass
class User:
    uuid: uuid.UUID


USER_UUID = uuid.UUID('a3b1c2d4-0000-4000-8000-000000000001')


async def get_user_by_uuid(user_uuid: str) -> User:
    return User(uuid=uuid.UUID(user_uuid))


def generate_user_token(user: User) -> str:
    return f'token-{str(user.uuid).split("-")[0]}'


async def replace_type(data: Any) -> Any:
    if not isinstance(data, dict) or '__type__' not in data:
        return data
    if data['__type__'] == 'user':
        return await get_user_by_uuid(data['uuid'])
    raise errors.InvalidParams


async def type_conversion_middleware(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
    request.set_args_and_kwargs(
        args=[await replace_type(arg) for arg in request.args],  # type: ignore[union-attr]
        kwargs={key: await replace_type(value) for key, value in request.kwargs.items()},  # type: ignore[union-attr]
    )
    return await handler(request)


@pytest.mark.parametrize(
    'params',
    [
        pytest.param([{'__type__': 'user', 'uuid': str(USER_UUID)}], id='positional'),
        pytest.param({'user': {'__type__': 'user', 'uuid': str(USER_UUID)}}, id='keyword'),
    ],
)
async def test_readme_type_conversion_middleware(rpc_server_factory: Any, rpc_call: Any, params: Any) -> None:
    url = await rpc_server_factory(
        generate_user_token,
        ping,
        middlewares=[exception_middleware, inject_request_middleware, type_conversion_middleware],
    )
    assert await rpc_call(url, 'generate_user_token', params) == result('token-a3b1c2d4')
    assert await rpc_call(url, 'ping') == result('pong')
    assert await rpc_call(url, 'generate_user_token', [{'__type__': 'robot'}]) == error(-32602, 'Invalid params')


# exception_middleware and the dispatcher's outer guard.


async def test_exception_middleware_turns_errors_into_replies(
    rpc_server_factory: Any, rpc_call: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def guard(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        if request.method == 'forbidden':
            raise errors.JSONRPCError('Forbidden', code=403, data={'method': request.method})
        if request.method == 'broken':
            raise KeyError(SECRET)
        return await handler(request)

    url = await rpc_server_factory(ping, middlewares=[exception_middleware, guard])

    assert await rpc_call(url, 'forbidden') == error(403, 'Forbidden', data={'method': 'forbidden'})
    reply = await rpc_call(url, 'broken')
    assert reply == INTERNAL_ERROR
    assert SECRET not in str(reply)
    assert await rpc_call(url, 'ping') == result('pong')

    [record] = [record for record in caplog.records if record.exc_info]
    assert record.name == 'aiohttp_rpc.middlewares'
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], KeyError)


async def test_without_exception_middleware_the_dispatcher_still_answers(
    rpc_server_factory: Any, rpc_call: Any, post_raw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def explode() -> None:
        raise ValueError(SECRET)

    async def broken(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        if request.method == 'ping':
            raise RuntimeError(SECRET)
        return await handler(request)

    async def not_a_response(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> Any:
        if request.method == 'ping2':
            return {'result': 'not a JSONRPCResponse'}
        return await handler(request)

    url = await rpc_server_factory(
        explode,
        ping,
        aiohttp_rpc.JSONRPCMethod(ping, name='ping2'),
        middlewares=[broken, not_a_response],
    )
    for method in ('explode', 'ping', 'ping2'):
        reply = await rpc_call(url, method)
        assert reply == INTERNAL_ERROR
        assert SECRET not in str(reply)
    # A failing notification is still not answered.
    assert await post_raw(url, b'{"jsonrpc": "2.0", "method": "explode"}') == (204, None)

    guarded = [record for record in caplog.records if record.name == 'aiohttp_rpc.dispatch' and record.exc_info]
    assert len(guarded) == 4


async def test_logging_middleware_logs_at_debug(
    rpc_server_factory: Any, rpc_call: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger='aiohttp_rpc.middlewares')
    url = await rpc_server_factory(ping, middlewares=[logging_middleware, *DEFAULT_MIDDLEWARES])
    assert await rpc_call(url, 'ping', id=5) == result('pong', id=5)

    records = [record for record in caplog.records if record.name == 'aiohttp_rpc.middlewares']
    assert [record.levelno for record in records] == [logging.DEBUG]  # one line per call
    assert re.fullmatch(r"JSON-RPC 'ping' id=5 -> ok in \d+\.\d{3} ms", records[0].getMessage())
    fields = records[0].rpc  # type: ignore[attr-defined]
    assert {key: fields[key] for key in ('method', 'id', 'outcome')} == {'method': 'ping', 'id': 5, 'outcome': 'ok'}


class ReprCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __repr__(self) -> str:
        self.calls += 1
        return 'ReprCounter()'


async def test_logging_middleware_formats_nothing_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger='aiohttp_rpc.middlewares')
    counter = ReprCounter()
    request = JSONRPCRequest(method='ping', id=1, params=[counter])

    async def handler(request: JSONRPCRequest) -> JSONRPCResponse:
        return JSONRPCResponse(id=request.id, result=counter)

    response = await logging_middleware(request, handler)
    assert response.result is counter
    assert counter.calls == 0
    assert caplog.records == []

    caplog.set_level(logging.DEBUG, logger='aiohttp_rpc.middlewares')
    await logging_middleware(request, handler)
    assert counter.calls == 0  # bodies are not logged unless asked for
    assert len(caplog.records) == 1


async def test_inject_request_middleware() -> None:
    seen: list[Any] = []

    async def handler(request: JSONRPCRequest) -> JSONRPCResponse:
        seen.append(request.extra_kwargs['rpc_request'])
        return JSONRPCResponse(id=request.id, result=None)

    request = JSONRPCRequest(method='ping', id=1)
    await inject_request_middleware(request, handler)
    assert seen == [request]
    assert seen[0] is request


async def test_middleware_sees_every_batch_member(rpc_server_factory: Any, post_raw: Any) -> None:
    methods: list[str] = []

    async def record(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        methods.append(request.method)
        return await handler(request)

    url = await rpc_server_factory(ping, middlewares=[record])
    batch = (
        b'[{"jsonrpc": "2.0", "method": "ping", "id": 1}, {"jsonrpc": "2.0", "method": "ping"},'
        b' {"jsonrpc": "2.0", "method": "missing", "id": 2}, {"jsonrpc": "2.0"}]'
    )
    status, reply = await post_raw(url, batch)
    assert status == 200
    assert len(reply) == 3
    assert sorted(methods) == ['missing', 'ping', 'ping']


async def test_without_exception_middleware_a_jsonrpc_error_from_a_middleware_is_sent_as_is(
    rpc_server_factory: Any, rpc_call: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def deny(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        raise aiohttp_rpc.errors.InvalidParams(data={'details': 'denied by middleware'})

    url = await rpc_server_factory(ping, middlewares=[deny])
    assert await rpc_call(url, 'ping') == {
        'id': 1,
        'jsonrpc': '2.0',
        'error': {'code': -32602, 'message': 'Invalid params', 'data': {'details': 'denied by middleware'}},
    }
    assert not [record for record in caplog.records if record.exc_info]


async def test_logging_middleware_leaves_bodies_out(
    rpc_server_factory: Any, rpc_call: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def echo(text: str) -> str:
        return text

    caplog.set_level(logging.DEBUG, logger='aiohttp_rpc.middlewares')
    url = await rpc_server_factory(echo, middlewares=[logging_middleware, *DEFAULT_MIDDLEWARES])
    assert await rpc_call(url, 'echo', ['x' * 5000]) == result('x' * 5000)
    messages = [record.getMessage() for record in caplog.records if record.name == 'aiohttp_rpc.middlewares']
    assert len(messages) == 1
    assert 'xxx' not in messages[0]
