"""Progress reports from a method to its caller (``$/progress``, the token in ``_meta``): what goes on the wire, the
rate limit and monotonic order, our client's ``on_progress``, both directions. Real sockets on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import Progress, ProgressReport, errors

pytestmark = pytest.mark.timeout(30)


async def build(steps: int, progress: Progress) -> dict[str, Any]:
    """Report each step of ``steps``, then say whether the caller asked for reports."""
    for step in range(1, steps + 1):
        await progress(step, total=steps, message=f'step {step}')
    return {'steps': steps, 'wanted': progress.wanted}


async def flood(count: int, progress: Progress) -> int:
    for step in range(1, count + 1):
        await progress(step, total=count)
    return count


async def backwards(progress: Progress) -> str:
    for step in (1, 3, 2, 3, 4):
        await progress(step, total=4)
    return 'done'


def add(a: int, b: int) -> int:
    return a + b


def echo_kwargs(**kwargs: Any) -> dict[str, Any]:
    return kwargs


METHODS = [build, flood, backwards, add, echo_kwargs]


@dataclass
class Served:
    ws_url: str
    http_url: str


@pytest.fixture
async def served(aiohttp_server: Any) -> Served:
    ws_server = aiohttp_rpc.WSJSONRPCServer()
    http_server = aiohttp_rpc.JSONRPCServer()
    for server in (ws_server, http_server):
        server.add_methods(METHODS)
    app = web.Application()
    app.router.add_get('/ws', ws_server.handle_http_request)
    app.router.add_post('/rpc', http_server.handle_http_request)
    app.on_shutdown.append(ws_server.on_shutdown)
    test_server = await aiohttp_server(app)
    return Served(str(test_server.make_url('/ws')), str(test_server.make_url('/rpc')))


@pytest.fixture
async def peer(served: Served) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(served.ws_url) as ws:
        yield ws


def report(token: Any, progress: int, total: int, message: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {'progress': progress, 'total': total}
    if message is not None:
        value['message'] = message
    return {'jsonrpc': '2.0', 'method': '$/progress', 'params': {'token': token, 'value': value}}


async def test_named_params_carry_the_token_in_params_meta(peer: aiohttp.ClientWebSocketResponse) -> None:
    await peer.send_json(
        {'jsonrpc': '2.0', 'id': 1, 'method': 'build', 'params': {'steps': 2, '_meta': {'progressToken': 'job-1'}}}
    )
    assert [await peer.receive_json(timeout=5) for _ in range(3)] == [
        report('job-1', 1, 2, 'step 1'),
        report('job-1', 2, 2, 'step 2'),
        {'jsonrpc': '2.0', 'id': 1, 'result': {'steps': 2, 'wanted': True}},
    ]


async def test_positional_params_carry_the_token_in_the_request_meta(peer: aiohttp.ClientWebSocketResponse) -> None:
    await peer.send_json({'jsonrpc': '2.0', 'id': 7, 'method': 'build', 'params': [1], '_meta': {'progressToken': 7}})
    assert [await peer.receive_json(timeout=5) for _ in range(2)] == [
        report(7, 1, 1, 'step 1'),
        {'jsonrpc': '2.0', 'id': 7, 'result': {'steps': 1, 'wanted': True}},
    ]


async def test_without_a_token_nothing_is_reported(peer: aiohttp.ClientWebSocketResponse) -> None:
    await peer.send_json({'jsonrpc': '2.0', 'id': 1, 'method': 'build', 'params': [2]})
    assert await peer.receive_json(timeout=5) == {'jsonrpc': '2.0', 'id': 1, 'result': {'steps': 2, 'wanted': False}}


async def test_meta_never_reaches_a_method(peer: aiohttp.ClientWebSocketResponse) -> None:
    """``_meta`` in named params is the request's, not a param: plain methods and ``**kwargs`` do not see it."""
    meta = {'progressToken': 1}
    await peer.send_json({'jsonrpc': '2.0', 'id': 1, 'method': 'add', 'params': {'a': 1, 'b': 2, '_meta': meta}})
    await peer.send_json({'jsonrpc': '2.0', 'id': 2, 'method': 'echo_kwargs', 'params': {'x': 1, '_meta': meta}})
    assert [await peer.receive_json(timeout=5) for _ in range(2)] == [
        {'jsonrpc': '2.0', 'id': 1, 'result': 3},
        {'jsonrpc': '2.0', 'id': 2, 'result': {'x': 1}},
    ]


async def test_reports_are_rate_limited_and_the_last_always_comes(served: Served) -> None:
    reports: list[ProgressReport] = []
    loop = asyncio.get_running_loop()
    async with aiohttp_rpc.WSJSONRPCClient(served.ws_url) as rpc:
        started = loop.time()
        assert await rpc.call('flood', 2000, on_progress=reports.append) == 2000
        elapsed = loop.time() - started
    assert reports[0] == ProgressReport(1, 2000)
    assert reports[-1] == ProgressReport(2000, 2000)
    assert len(reports) <= 2 + elapsed / 0.1  # at most one per 100 ms, besides the first and the last


async def test_reports_only_go_forward(served: Served) -> None:
    reports: list[ProgressReport] = []
    async with aiohttp_rpc.WSJSONRPCClient(served.ws_url) as rpc:
        assert await rpc.methods.backwards(on_progress=reports.append) == 'done'
    assert [report.progress for report in reports] in ([1, 4], [1, 3, 4])  # 3 only if 100 ms passed after 1


async def test_client_gets_reports_in_order_before_the_result(served: Served) -> None:
    seen: list[Any] = []
    async with aiohttp_rpc.WSJSONRPCClient(served.ws_url) as rpc:
        result = await rpc.call('build', steps=1, on_progress=seen.append)
        seen.append(result)
    assert seen == [ProgressReport(1, 1, 'step 1'), {'steps': 1, 'wanted': True}]


async def test_over_http_the_method_runs_and_the_client_refuses_on_progress(served: Served) -> None:
    async with aiohttp_rpc.JSONRPCClient(served.http_url) as rpc:
        assert await rpc.call('build', 2) == {'steps': 2, 'wanted': False}
        with pytest.raises(ValueError, match='on_progress needs a WebSocket client') as caught:
            await rpc.call('build', 2, on_progress=print)
    assert str(caught.value) == ('on_progress needs a WebSocket client: HTTPTransport cannot carry progress reports.')


async def test_a_failing_callback_is_logged_once_and_the_call_completes(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(report: ProgressReport) -> None:
        raise RuntimeError('callback bug')

    async with aiohttp_rpc.WSJSONRPCClient(served.ws_url) as rpc:
        assert await rpc.call('build', 5, on_progress=broken) == {'steps': 5, 'wanted': True}
    errors_logged = [record.getMessage() for record in caplog.records if record.levelname == 'ERROR']
    assert errors_logged == ['An on_progress callback raised; it gets no more reports for this call']


async def test_the_server_gets_progress_from_a_method_its_client_serves(aiohttp_server: Any) -> None:
    server = aiohttp_rpc.WSJSONRPCServer()

    async def delegate(rpc_request: aiohttp_rpc.JSONRPCRequest) -> list[Any]:
        seen: list[Any] = []
        result = await aiohttp_rpc.get_peer(rpc_request).call('build', 2, on_progress=seen.append)
        return [*(report.progress for report in seen), result]

    server.add_method(aiohttp_rpc.JSONRPCMethod(delegate, pass_extra_kwargs=True))
    app = web.Application()
    app.router.add_get('/ws', server.handle_http_request)
    test_server = await aiohttp_server(app)
    async with aiohttp_rpc.WSJSONRPCClient(str(test_server.make_url('/ws')), methods=[build]) as rpc:
        assert await rpc.call('delegate') == [1, 2, {'steps': 2, 'wanted': True}]


def test_the_progress_parameter_is_not_an_rpc_param_and_must_come_last() -> None:
    method = aiohttp_rpc.JSONRPCMethod(build)
    assert [param.name for param in method.params] == ['steps']

    async def first(progress: Progress, steps: int) -> None:
        await progress(steps)

    with pytest.raises(errors.ServerConfigurationError) as caught:
        aiohttp_rpc.JSONRPCMethod(first)
    assert str(caught.value) == (
        "Server configuration error: first: put the Progress parameter 'progress' after the RPC params."
    )
