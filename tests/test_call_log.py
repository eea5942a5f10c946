"""The structured call log: exactly one line per call, bodies only on request, nothing formatted when disabled."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import aiohttp_rpc
from aiohttp_rpc import JSONRPCRequest, JSONRPCResponse, errors
from aiohttp_rpc.observability import DEFAULT_LOGGER_NAME, make_logging_middleware
from aiohttp_rpc.testing import RPCClientFactory, raises_rpc_error

LOGGER = 'tests.call_log'


def add(a: int, b: int) -> int:
    return a + b


def echo(value: Any) -> Any:
    return value


def withdraw(amount: int) -> None:
    raise errors.JSONRPCError('Insufficient funds', code=4001, data={'balance': 3})


def broken() -> None:
    raise ValueError('secret detail')


def rpc_server_with(**options: Any) -> aiohttp_rpc.JSONRPCServer:
    server = aiohttp_rpc.JSONRPCServer(
        middlewares=[
            make_logging_middleware(logging.getLogger(LOGGER), **options),
            *aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES,
        ]
    )
    server.add_methods([add, echo, withdraw, broken])
    return server


@pytest.fixture
def rpc_server() -> aiohttp_rpc.JSONRPCServer:
    return rpc_server_with()


def rpc_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER]


@pytest.mark.rpc_transport('http', 'local')
async def test_one_line_per_call(rpc_client: aiohttp_rpc.BaseJSONRPCClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    assert await rpc_client.methods.add(1, 2) == 3
    async with raises_rpc_error(-32601):
        await rpc_client.methods.nope()
    async with raises_rpc_error(4001):
        await rpc_client.methods.withdraw(5)
    await rpc_client.batch(rpc_client.methods.add.request(1, 1), rpc_client.methods.add.request(2, 2))
    await rpc_client.notify('add', 0, 0)

    records = rpc_records(caplog)
    assert [record.getMessage().split(' in ')[0] for record in records] == [
        "JSON-RPC 'add' id=1 -> ok",
        "JSON-RPC 'nope' id=2 -> error -32601",
        "JSON-RPC 'withdraw' id=3 -> error 4001",
        "JSON-RPC 'add' id=4 -> ok",
        "JSON-RPC 'add' id=5 -> ok",
        "JSON-RPC 'add' id=None -> ok",
    ]
    assert all(record.levelno == logging.DEBUG for record in records)
    first = records[0].rpc  # type: ignore[attr-defined]
    assert first.keys() == {'method', 'id', 'duration_ms', 'outcome', 'code'}
    assert (first['method'], first['id'], first['outcome'], first['code']) == ('add', 1, 'ok', None)
    assert first['duration_ms'] >= 0
    assert records[1].rpc['outcome'] == 'error'  # type: ignore[attr-defined]
    assert records[1].rpc['code'] == -32601  # type: ignore[attr-defined]
    assert 'params' not in records[2].rpc  # type: ignore[attr-defined]
    assert 'balance' not in records[2].getMessage()


async def test_bodies_on_request_and_cut(
    rpc_client_factory: RPCClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    client = await rpc_client_factory(rpc_server_with(level=logging.INFO, log_bodies=True, body_limit=20))
    assert await client.methods.add(1, 2) == 3
    await client.methods.echo('x' * 100)
    async with raises_rpc_error(4001):
        await client.methods.withdraw(amount=5)
    await client.call('echo', '%s %d')  # client text in a body never reaches the format string
    await client.direct_call(JSONRPCRequest(method='echo', id='no-params', params=[]))

    records = rpc_records(caplog)
    messages = [record.getMessage() for record in records]
    assert messages[0].startswith("JSON-RPC 'add' id=1 -> ok in ")
    assert messages[0].endswith(' ms params=[1, 2] result=3')
    long_repr = repr(['x' * 100])
    assert messages[1].endswith(
        f'params={long_repr[:20]}... ({len(long_repr)} characters) result={repr("x" * 100)[:20]}... (102 characters)'
    )
    error_repr = repr({'code': 4001, 'message': 'Insufficient funds', 'data': {'balance': 3}})
    error_excerpt = f'{error_repr[:20]}... ({len(error_repr)} characters)'
    assert messages[2].endswith(f" params={{'amount': 5}} error={error_excerpt}")
    assert records[2].rpc['error'] == error_excerpt  # type: ignore[attr-defined]
    assert messages[3].endswith(" params=['%s %d'] result='%s %d'")
    assert records[4].levelno == logging.INFO
    assert records[4].rpc['params'] == '[]'  # type: ignore[attr-defined]


async def test_escaped_exception_and_cancellation(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    logger = logging.getLogger(LOGGER)
    middleware = make_logging_middleware(logger, log_bodies=True)
    release = asyncio.Event()

    async def failing(request: JSONRPCRequest) -> JSONRPCResponse:
        raise ValueError('boom')

    async def raising(request: JSONRPCRequest) -> JSONRPCResponse:
        raise errors.InvalidParams(data={'details': 'no'})

    async def refusing(request: JSONRPCRequest) -> JSONRPCResponse:
        raise errors.RequestRejected(403, 'no')

    async def waiting(request: JSONRPCRequest) -> JSONRPCResponse:
        await release.wait()
        raise AssertionError('not reached')

    request = JSONRPCRequest(method='m', id=1)
    with pytest.raises(ValueError, match='boom'):
        await middleware(request, failing)
    with pytest.raises(errors.InvalidParams):
        await middleware(request, raising)
    with pytest.raises(errors.RequestRejected):
        await middleware(request, refusing)
    task = asyncio.ensure_future(middleware(request, waiting))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    records = rpc_records(caplog)
    assert [record.getMessage().split(' in ')[0] for record in records] == [
        "JSON-RPC 'm' id=1 -> error -32603",
        "JSON-RPC 'm' id=1 -> error -32602",
        "JSON-RPC 'm' id=1 -> rejected",
        "JSON-RPC 'm' id=1 -> cancelled",
    ]
    assert records[0].getMessage().endswith("error={'code': -32603, 'message': 'Internal error'}")
    assert 'boom' not in records[0].getMessage()
    assert records[3].rpc['code'] is None  # type: ignore[attr-defined]
    assert 'result' not in records[3].rpc  # type: ignore[attr-defined]


class Loud:
    """A value whose formatting is counted: the log must not format anything while disabled."""

    formatted = 0

    def __repr__(self) -> str:
        Loud.formatted += 1
        return 'Loud()'


async def test_nothing_formatted_when_disabled(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    middleware = make_logging_middleware(logging.getLogger(LOGGER), log_bodies=True)  # DEBUG: disabled

    async def handler(request: JSONRPCRequest) -> JSONRPCResponse:
        return JSONRPCResponse(id=request.id, result=Loud())

    response = await middleware(JSONRPCRequest(method='m', id=1, params=[Loud()]), handler)
    assert isinstance(response.result, Loud)
    assert Loud.formatted == 0
    assert rpc_records(caplog) == []

    caplog.set_level(logging.DEBUG, LOGGER)  # the level is read per call
    await middleware(JSONRPCRequest(method='m', id=2, params=[Loud()]), handler)
    assert Loud.formatted == 2
    assert len(rpc_records(caplog)) == 1


async def test_default_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, DEFAULT_LOGGER_NAME)
    middleware = make_logging_middleware()

    async def handler(request: JSONRPCRequest) -> JSONRPCResponse:
        return JSONRPCResponse(id=request.id, result=1)

    await middleware(JSONRPCRequest(method='m', id=1), handler)
    [record] = [record for record in caplog.records if record.name == DEFAULT_LOGGER_NAME]
    assert record.getMessage().startswith("JSON-RPC 'm' id=1 -> ok in ")


async def test_method_names_cannot_forge_lines(
    rpc_client: aiohttp_rpc.BaseJSONRPCClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    async with raises_rpc_error(-32601):
        await rpc_client.call('x\nJSON-RPC "admin" id=1 -> ok')
    [record] = rpc_records(caplog)
    assert '\n' not in record.getMessage()
