"""The WebSocket engine (``aiohttp_rpc.ws``) as attackers and downstream code use it: pending calls alone, slow
peers during a broadcast, a client built on a server's socket, handshake resets, floods of unmatched replies, and
what an idle connection keeps. Real sockets on loopback; every test has a deadline."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import rawws
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

import aiohttp_rpc
from aiohttp_rpc import errors
from aiohttp_rpc.ws.pending import PendingCalls

pytestmark = pytest.mark.timeout(30)

AiohttpServer = Callable[..., Awaitable[TestServer]]


async def serve(aiohttp_server: AiohttpServer, server: aiohttp_rpc.WSJSONRPCServer) -> TestServer:
    app = web.Application()
    app.router.add_get('/rpc', server.handle_http_request)
    app.on_shutdown.append(server.on_shutdown)
    return await aiohttp_server(app)


async def serve_with_small_send_buffer(
    aiohttp_server: AiohttpServer, server: aiohttp_rpc.WSJSONRPCServer
) -> TestServer:
    """Serve with an 8 KiB kernel send buffer per connection: a backlog stays in ours, on any machine."""

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024)
        return await server.handle_http_request(request)

    app = web.Application()
    app.router.add_get('/rpc', handler)
    return await aiohttp_server(app)


# -- pending calls, alone ---------------------------------------------------------------------------------------


async def test_pending_calls_match_replies_by_id_and_batches_by_any_id() -> None:
    pending = PendingCalls(asyncio.get_running_loop(), timeout=None)
    single, _ = pending.expect([7], None)
    batch, _ = pending.expect([8, 9], None)
    assert len(pending) == 3
    assert pending.resolve({'jsonrpc': '2.0', 'id': 7, 'result': 1})
    assert not pending.resolve({'jsonrpc': '2.0', 'id': 7, 'result': 1})  # answered already
    assert not pending.resolve({'jsonrpc': '2.0', 'id': [7], 'result': 1})  # not an id a call can have
    replies = [{'jsonrpc': '2.0', 'id': 9, 'result': 2}, {'jsonrpc': '2.0', 'id': 8, 'result': 3}]
    assert pending.resolve(replies)
    assert (single.result(), batch.result()) == ({'jsonrpc': '2.0', 'id': 7, 'result': 1}, replies)
    assert len(pending) == 0


async def test_pending_calls_time_out_and_fail_all_on_close() -> None:
    loop = asyncio.get_running_loop()
    pending = PendingCalls(loop, timeout=0.05)
    shared, shared_timer = pending.expect([1], 0.05)
    own, own_timer = pending.expect([2], 0.01)
    assert shared_timer is None  # the default timeout shares one timer
    assert own_timer is not None
    with pytest.raises(errors.RequestTimeoutError):
        await asyncio.wait_for(own, 5)
    with pytest.raises(errors.RequestTimeoutError):
        await asyncio.wait_for(shared, 5)
    pending.forget([1], shared, shared_timer)
    pending.forget([2], own, own_timer)
    left, _ = pending.expect([3], None)
    pending.fail_all()
    with pytest.raises(errors.TransportError) as info:
        await left
    assert info.value.data == {'details': 'Connection closed.'}
    assert len(pending) == 0


# -- the server's peers, as events -----------------------------------------------------------------------------


async def test_wait_peers_and_peer_wait_closed(aiohttp_server: AiohttpServer) -> None:
    server = aiohttp_rpc.WSJSONRPCServer()
    url = (await serve(aiohttp_server, server)).make_url('/rpc')
    async with aiohttp.ClientSession() as session:
        first = await session.ws_connect(url)
        second = await session.ws_connect(url)
        await asyncio.wait_for(server.wait_peers(lambda peers: len(peers) == 2), 5)
        peer = next(iter(server.peers))
        assert not peer.closed
        await peer.disconnect()
        await asyncio.wait_for(peer.wait_closed(), 5)
        assert peer.closed
        await asyncio.wait_for(server.wait_peers(lambda peers: len(peers) == 1), 5)
        await first.close()
        await second.close()
        await asyncio.wait_for(server.wait_peers(lambda peers: not peers), 5)


# -- broadcast with slow peers ---------------------------------------------------------------------------------


async def test_broadcast_drops_peers_that_do_not_read_and_keeps_the_fast_ones_whole(
    aiohttp_server: AiohttpServer,
) -> None:
    """40 broadcasts of 256 KB to 70 peers, 50 of which never read: the broadcasting call returns in time and
    normally (it never waits for a slow peer), the 20 readers get all 40 in order, the 50 are dropped once they
    have not cleared their backlog for send_timeout."""
    send_timeout = 2.0
    blob = 'b' * 256 * 1024
    server = aiohttp_rpc.WSJSONRPCServer(max_buffered_bytes=512 * 1024)

    async def announce(count: int) -> int:
        delivered = 0
        for index in range(count):
            delivered += await server.broadcast('news', index, blob, send_timeout=send_timeout)
        return delivered

    server.add_method(announce)
    test_server = await serve(aiohttp_server, server)
    url = test_server.make_url('/rpc')
    mute = [await rawws.connect(test_server.port, '/rpc', rcvbuf=4096) for _ in range(50)]
    async with aiohttp.ClientSession() as session:
        readers = [await session.ws_connect(url) for _ in range(20)]
        await asyncio.wait_for(server.wait_peers(lambda peers: len(peers) == 70), 10)

        async def read_all(ws: aiohttp.ClientWebSocketResponse) -> list[int]:
            seen = []
            for _ in range(40):
                msg = await ws.receive(timeout=20)
                assert msg.type is WSMsgType.TEXT, msg
                news = json.loads(msg.data)
                assert news == {'jsonrpc': '2.0', 'method': 'news', 'params': [len(seen), blob]}
                seen.append(news['params'][0])
            return seen

        reading = [asyncio.create_task(read_all(ws)) for ws in readers]
        async with aiohttp_rpc.WSJSONRPCClient(str(url), timeout=20) as caller:
            started = asyncio.get_running_loop().time()
            delivered = await caller.methods.announce(40)
            took = asyncio.get_running_loop().time() - started
        assert took < send_timeout + 1, took
        assert await asyncio.wait_for(asyncio.gather(*reading), 20) == [list(range(40))] * 20
        # Every peer took every broadcast (the caller is a peer too): written, or queued behind a mute one's backlog.
        assert delivered == 71 * 40
        await asyncio.wait_for(server.wait_peers(lambda peers: len(peers) == 20), 10)  # the 50 are gone
        for ws in readers:
            await ws.close()
    for peer in mute:
        peer.abort()


# -- a client on a server-side socket (2.0 downstream code) --------------------------------------------------------


async def test_a_client_built_on_the_servers_socket_pushes_and_calls_back_mid_request(
    aiohttp_server: AiohttpServer,
) -> None:
    """As real 2.0 code does: a server method keeps a WSJSONRPCClient on the caller's own WebSocketResponse, pushes
    status notifications through it while it works, and calls a method the browser serves."""

    async def long_job(rpc_request: aiohttp_rpc.JSONRPCRequest, steps: int) -> str:
        browser = aiohttp_rpc.WSJSONRPCClient(ws_connect=rpc_request.context['ws_connect'])
        async with browser:
            for step in range(steps):
                await browser.notify('status', step)
            answer = await browser.call('confirm', f'{steps} steps done?')
        return f'confirmed: {answer}'

    server = aiohttp_rpc.WSJSONRPCServer(middlewares=aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES)
    server.add_method(aiohttp_rpc.JSONRPCMethod(long_job, pass_extra_kwargs=True))
    url = str((await serve(aiohttp_server, server)).make_url('/rpc'))
    statuses: list[int] = []

    def status(step: int) -> None:
        statuses.append(step)

    def confirm(question: str) -> str:
        return f'yes to {question!r}'

    async with aiohttp_rpc.WSJSONRPCClient(url, methods=[status, confirm]) as browser:
        assert await browser.methods.long_job(steps=5) == "confirmed: yes to '5 steps done?'"
        assert await browser.methods.long_job(steps=2) == "confirmed: yes to '2 steps done?'"
        assert statuses == [0, 1, 2, 3, 4, 0, 1]
        assert len(server.peers) == 1  # closing the borrowed client left the browser's socket open
        assert await browser.methods.long_job(steps=0) == "confirmed: yes to '0 steps done?'"


# -- floods a client controls ------------------------------------------------------------------------------------


async def test_handshake_resets_are_not_logged_as_errors(
    aiohttp_server: AiohttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = aiohttp_rpc.WSJSONRPCServer()
    server.add_method(aiohttp_rpc.JSONRPCMethod(lambda: 'pong', name='ping'))
    test_server = await serve(aiohttp_server, server)
    caplog.set_level(logging.DEBUG)
    for _ in range(200):
        await rawws.reset_during_handshake(test_server.port, '/rpc')
    async with await rawws.connect(test_server.port, '/rpc') as peer:  # still serving
        peer.send_text('{"jsonrpc": "2.0", "method": "ping", "id": 1}')
        assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 1, 'result': 'pong'}
    loud = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert loud == []


class ResetWhilePreparing(web.WebSocketResponse):
    """The client's reset lands while the server writes its 101 response."""

    async def prepare(self, request: web.BaseRequest) -> Any:
        assert request.transport is not None
        request.transport.abort()
        return await super().prepare(request)


async def test_a_reset_while_the_server_answers_the_handshake_is_not_logged_as_an_error(
    aiohttp_server: AiohttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = aiohttp_rpc.WSJSONRPCServer(ws_response_cls=ResetWhilePreparing)
    test_server = await serve(aiohttp_server, server)
    caplog.set_level(logging.DEBUG)
    for _ in range(20):
        with pytest.raises(ConnectionError):
            await rawws.connect(test_server.port, '/rpc')
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
    ours = [record.getMessage() for record in caplog.records if record.name == 'aiohttp_rpc.websocket']
    assert len(ours) == 20
    assert all(message.startswith('WebSocket client left during the handshake: ') for message in ours), ours


async def test_unmatched_replies_with_a_slow_hook_are_bounded_by_max_in_flight(aiohttp_server: AiohttpServer) -> None:
    """20,000 replies that match no call, to a 2.0 json_response_handler that waits: at most max_in_flight hook
    calls run at once (the server stops reading meanwhile), and every one is handled once the hook goes on."""
    limit = 16
    total = 20_000
    running = 0
    peak = 0
    handled: list[int] = []
    go = asyncio.Event()
    saturated = asyncio.Event()
    finished = asyncio.Event()

    async def on_reply(*, ws_connect: Any, ws_msg: Any, json_response: Any) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == limit:
            saturated.set()
        await go.wait()
        handled.append(json_response['id'])
        running -= 1
        if len(handled) == total + 1:
            finished.set()

    server = aiohttp_rpc.WSJSONRPCServer(json_response_handler=on_reply, max_in_flight=limit)
    test_server = await serve(aiohttp_server, server)
    async with await rawws.connect(test_server.port, '/rpc', rcvbuf=16 * 1024) as peer:

        async def flood() -> None:
            for i in range(total):
                peer.send_text(f'{{"jsonrpc": "2.0", "id": {i}, "result": null}}')
                if i % 100 == 0:
                    await peer.drain()
            await peer.drain()

        sender = asyncio.create_task(flood())
        await asyncio.wait_for(saturated.wait(), 10)
        assert [peer.transport.in_flight for peer in server.peers] == [limit]
        go.set()
        await asyncio.wait_for(sender, 20)
        peer.send_text('{"jsonrpc": "2.0", "id": "last", "result": null}')
        await asyncio.wait_for(finished.wait(), 20)
    assert peak == limit
    assert sorted(handled, key=str) == sorted([*range(total), 'last'], key=str)  # each one, once


# -- what an idle connection keeps -------------------------------------------------------------------------------


class Tracked(dict[str, Any]):
    """A decoded message that can be weakly referenced."""


@dataclass
class Result:
    text: str


async def test_nothing_of_a_finished_message_stays_reachable(aiohttp_server: AiohttpServer) -> None:
    decoded: list[weakref.ref[Tracked]] = []
    results: list[weakref.ref[Result]] = []

    def loads(data: str | bytes) -> Any:
        message = json.loads(data, object_hook=Tracked)
        if isinstance(message, Tracked):
            decoded.append(weakref.ref(message))
        return message

    async def make(size: int) -> Result:
        result = Result('r' * size)
        results.append(weakref.ref(result))
        return result

    server = aiohttp_rpc.WSJSONRPCServer(json_deserialize=loads)
    server.add_method(make)
    test_server = await serve(aiohttp_server, server)
    async with await rawws.connect(test_server.port, '/rpc') as peer:
        peer.send_text(json.dumps({'jsonrpc': '2.0', 'method': 'make', 'params': [100_000], 'id': 1}))
        assert await peer.receive_json() == {'jsonrpc': '2.0', 'id': 1, 'result': {'text': 'r' * 100_000}}
        gc.collect()
        assert len(decoded) == len(results) == 1
        assert (decoded[0](), results[0]()) == (None, None)  # the connection is idle and holds neither


async def test_senders_wait_for_room_in_order_and_a_cancelled_one_passes_its_turn(
    aiohttp_server: AiohttpServer,
) -> None:
    """With the write buffer over its budget, notifications to a peer that does not read wait their turn; one
    cancelled while waiting gives way; once the peer reads, the others arrive whole and in order."""
    budget = 64 * 1024
    note = 'n' * 32 * 1024
    server = aiohttp_rpc.WSJSONRPCServer(max_buffered_bytes=budget)
    test_server = await serve_with_small_send_buffer(aiohttp_server, server)
    async with await rawws.connect(test_server.port, '/rpc', rcvbuf=4096) as peer:
        await asyncio.wait_for(server.wait_peers(lambda peers: len(peers) == 1), 5)
        (ws_peer,) = server.peers
        sends = [asyncio.create_task(ws_peer.notify('note', index, note)) for index in range(60)]
        await asyncio.wait_for(asyncio.wait(sends, return_when=asyncio.FIRST_COMPLETED), 5)
        waiting = [send for send in sends if not send.done()]
        assert waiting, 'nothing waits: the budget did not hold'
        waiting[-1].cancel()
        received = []
        while len(received) < len(sends) - 1:
            received.append(await peer.receive_json())
        await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), 5)
    assert waiting[-1].cancelled()
    expected = [index for index, send in enumerate(sends) if send is not waiting[-1]]
    assert received == [{'jsonrpc': '2.0', 'method': 'note', 'params': [index, note]} for index in expected]


# -- the corking transport, against a recording stand-in -----------------------------------------------------------


@dataclass
class RecordingTransport:
    """What ``_Corked`` writes through to: records each write (one ``send()`` each on a real socket)."""

    writes: list[bytes]
    backlog: int = 0
    aborted: bool = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return self.backlog

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


async def test_frames_of_one_turn_go_out_together_in_order() -> None:
    from aiohttp_rpc.ws.socket import _Corked

    real = RecordingTransport([])
    corked = _Corked(real, asyncio.get_running_loop(), limit=100)  # type: ignore[arg-type]
    frames = [b'\x81\x05frame' + bytes([index]) for index in range(30)]
    for frame in frames[:10]:
        corked.write(frame)
    assert real.writes == [frames[0]]  # the first of the turn at once, the rest held back
    assert corked.get_write_buffer_size() == 9 * 8
    for frame in frames[10:20]:
        corked.write(frame)  # past the limit: sent together, before the turn ends
    assert real.writes == [frames[0], b''.join(frames[1:14])]  # 13 frames of 8 bytes reach the limit
    corked.write(b'\x88\x02\x03\xe8')  # a close frame takes what waits with it at once
    assert real.writes[-1] == b''.join(frames[14:20]) + b'\x88\x02\x03\xe8'
    await asyncio.sleep(0)  # the end of the turn: nothing was left
    assert b''.join(real.writes) == b''.join(frames[:20]) + b'\x88\x02\x03\xe8'
    real.writes.clear()
    real.backlog = 10  # the transport holds a backlog: corking saves nothing, frames go straight through
    corked.write(frames[20])
    corked.write(frames[21])
    assert real.writes == [frames[20], frames[21]]
    real.backlog = 0
    corked.write(frames[22])
    corked.abort()  # what waits is dropped with the connection
    await asyncio.sleep(0)
    assert (real.writes, real.aborted, corked.get_write_buffer_size()) == ([frames[20], frames[21]], True, 0)


async def test_broadcast_drops_a_peer_that_lets_too_many_frames_queue(aiohttp_server: AiohttpServer) -> None:
    """With no time limit, a mute peer is still dropped once MAX_POSTED broadcasts wait behind its backlog; the
    broadcasts themselves never wait."""
    from aiohttp_rpc.ws.backlog import MAX_POSTED

    server = aiohttp_rpc.WSJSONRPCServer(max_buffered_bytes=16 * 1024)
    test_server = await serve_with_small_send_buffer(aiohttp_server, server)
    async with await rawws.connect(test_server.port, '/rpc', rcvbuf=4096):
        await asyncio.wait_for(server.wait_peers(lambda peers: len(peers) == 1), 5)
        note = 'n' * 4096
        taken = [await server.broadcast('note', index, note, send_timeout=None) for index in range(MAX_POSTED + 200)]
        assert taken[0] == 1
        assert taken[-1] == 0  # dropped: later broadcasts find no peer to take them
        assert sum(taken) <= MAX_POSTED + 200 - 1
        await asyncio.wait_for(server.wait_peers(lambda peers: not peers), 5)
