"""Cancelling a call across a WebSocket (``$/cancelRequest``), in both directions: what goes on the wire, what
the method sees, and what stays bounded. Real sockets on loopback; a raw aiohttp WebSocket where the test plays
the peer, our own client where it checks that the client cancels."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.ws.cancellation import MAX_EARLY
from aiohttp_rpc.ws.connection import WSConnection

pytestmark = pytest.mark.timeout(30)

CANCELLED = {'code': -32800, 'message': 'Request cancelled'}


@dataclass
class Slow:
    """A method that waits until cancelled, and says what happened to it."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    runs: int = 0

    async def wait(self, seconds: float = 60) -> str:
        self.runs += 1
        self.started.set()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return 'done'


@dataclass
class Served:
    url: str
    slow: Slow
    server: aiohttp_rpc.WSJSONRPCServer


@pytest.fixture
async def served(aiohttp_server: Any) -> Served:
    slow = Slow()
    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)

    async def ping() -> str:
        return 'pong'

    async def pause() -> str:
        await asyncio.sleep(0)
        return 'paused'

    server.add_methods([ping, pause, aiohttp_rpc.JSONRPCMethod(slow.wait, name='wait')])
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    test_server = await aiohttp_server(app)
    return Served(str(test_server.make_url('/rpc')), slow, server)


@pytest.fixture
async def peer(served: Served) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(served.url) as ws:
        yield ws


def call(request_id: int | str, method: str, params: list[Any] | None = None) -> dict[str, Any]:
    return {'jsonrpc': '2.0', 'id': request_id, 'method': method, 'params': params or []}


def cancel(request_id: Any, *, own_id: int | None = None) -> dict[str, Any]:
    message = {'jsonrpc': '2.0', 'method': '$/cancelRequest', 'params': {'id': request_id}}
    if own_id is not None:
        message['id'] = own_id
    return message


async def test_a_running_call_is_cancelled_and_answered_32800(
    served: Served, peer: aiohttp.ClientWebSocketResponse
) -> None:
    await peer.send_json(call(1, 'wait'))
    await served.slow.started.wait()
    await peer.send_json(cancel(1))
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 1, 'error': CANCELLED}
    assert served.slow.cancelled.is_set()
    await peer.send_json(call(2, 'ping'))  # the connection serves on
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 2, 'result': 'pong'}


async def test_a_cancel_before_its_request_means_the_body_never_runs(
    served: Served, peer: aiohttp.ClientWebSocketResponse
) -> None:
    await peer.send_json(cancel('job-7'))
    await peer.send_json(call('job-7', 'wait'))
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 'job-7', 'error': CANCELLED}
    assert served.slow.runs == 0
    await peer.send_json(call('job-7', 'ping'))  # remembered once: the id may be used again
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 'job-7', 'result': 'pong'}


async def test_request_then_cancel_in_back_to_back_frames(
    served: Served, peer: aiohttp.ClientWebSocketResponse
) -> None:
    await peer.send_str('{"jsonrpc": "2.0", "id": 3, "method": "wait"}')
    await peer.send_str('{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": [3]}')
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 3, 'error': CANCELLED}
    assert served.slow.cancelled.is_set()


async def test_cancels_for_unknown_or_finished_calls_are_ignored_quietly(
    served: Served, peer: aiohttp.ClientWebSocketResponse, caplog: pytest.LogCaptureFixture
) -> None:
    await peer.send_json(call(1, 'pause'))
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 1, 'result': 'paused'}
    for message in (cancel(1), cancel(99), cancel(None), cancel([1]), {'jsonrpc': '2.0', 'method': '$/cancelRequest'}):
        await peer.send_json(message)
    await peer.send_json(cancel(98, own_id=5))  # sent as a request: told whether it cancelled anything
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 5, 'result': False}
    await peer.send_json(call(6, 'wait'))
    await served.slow.started.wait()
    await peer.send_json(cancel(6, own_id=7))
    replies = [await peer.receive_json(), await peer.receive_json()]
    assert sorted(replies, key=lambda reply: reply['id']) == [
        {'jsonrpc': '2.0', 'id': 6, 'error': CANCELLED},
        {'jsonrpc': '2.0', 'id': 7, 'result': True},
    ]
    assert [record for record in caplog.records if record.levelno >= logging.INFO] == []


async def test_a_batch_member_cannot_be_cancelled_alone(served: Served, peer: aiohttp.ClientWebSocketResponse) -> None:
    await peer.send_json([call(1, 'wait', [0.05]), call(2, 'ping')])
    await served.slow.started.wait()
    await peer.send_json(cancel(1))
    assert await peer.receive_json() == [
        {'jsonrpc': '2.0', 'id': 1, 'result': 'done'},
        {'jsonrpc': '2.0', 'id': 2, 'result': 'pong'},
    ]


async def test_early_cancels_are_bounded_per_connection(served: Served, peer: aiohttp.ClientWebSocketResponse) -> None:
    for request_id in range(MAX_EARLY * 4):
        await peer.send_json(cancel(request_id))
    await peer.send_json(call('last', 'ping'))
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 'last', 'result': 'pong'}
    (peer_of_server,) = served.server.peers
    connection = WSConnection.of(peer_of_server.ws_connect)
    assert connection is not None
    assert len(connection._cancels.early) == MAX_EARLY  # the newest ones
    await peer.send_json(call(MAX_EARLY * 4 - 1, 'ping'))
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': MAX_EARLY * 4 - 1, 'error': CANCELLED}
    await peer.send_json(call(0, 'ping'))  # long forgotten
    assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 0, 'result': 'pong'}


# -- our client cancels ---------------------------------------------------------------------------------------


async def test_cancelling_the_awaiting_task_cancels_the_call_on_the_server(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    unmatched: list[Any] = []

    async def on_unmatched(**kwargs: Any) -> None:
        unmatched.append(kwargs['json_responses'])

    async with aiohttp_rpc.WSJSONRPCClient(served.url, unprocessed_json_responses_handler=on_unmatched) as client:
        waiting = asyncio.ensure_future(client.call('wait'))
        await served.slow.started.wait()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await served.slow.cancelled.wait()
        assert await client.call('ping') == 'pong'  # after the -32800 reply, which was dropped quietly
    assert unmatched == []
    assert [record for record in caplog.records if record.levelno >= logging.INFO] == []


async def test_a_call_that_times_out_is_cancelled_on_the_server(served: Served) -> None:
    async with aiohttp_rpc.WSJSONRPCClient(served.url) as client:
        with pytest.raises(errors.RequestTimeoutError):
            await client.direct_call(aiohttp_rpc.JSONRPCRequest(method='wait', id=1), timeout=0.05)
        await served.slow.cancelled.wait()


async def test_the_server_cancels_its_call_to_a_client(served: Served) -> None:
    """The other direction: a server method calls its peer back and gives up; the client's method is cancelled."""
    client_slow = Slow()
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def ask_client(rpc_request: aiohttp_rpc.JSONRPCRequest) -> str:
        peer = aiohttp_rpc.get_peer(rpc_request)
        try:
            return await asyncio.wait_for(peer.call('client.wait'), 0.05)
        except asyncio.TimeoutError:
            outcome.set_result('gave up')
            return 'gave up'

    served.server.add_method(aiohttp_rpc.JSONRPCMethod(ask_client, pass_extra_kwargs=True))
    methods = [aiohttp_rpc.JSONRPCMethod(client_slow.wait, name='client.wait')]
    async with aiohttp_rpc.WSJSONRPCClient(served.url, methods=methods) as client:
        assert await client.call('ask_client') == 'gave up'
        await client_slow.cancelled.wait()
    assert outcome.result() == 'gave up'
