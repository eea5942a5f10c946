"""The raw WebSocket test client (tests/rawws.py) against a plain aiohttp echo server on loopback."""

from __future__ import annotations

import asyncio
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import rawws
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer


@dataclass
class Observed:
    """What the server side saw, for the test to await."""

    close_codes: asyncio.Queue[int | None] = field(default_factory=asyncio.Queue)
    pong: asyncio.Future[bytes] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


EchoServer = tuple[int, Observed]  # (port, observations)


@pytest.fixture
async def echo_server(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> EchoServer:
    observed = Observed()

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await ws.send_str(msg.data)
        finally:  # the test server cancels the handler when the peer resets
            observed.close_codes.put_nowait(ws.close_code)
        return ws

    async def ping_then_report(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        await ws.ping(b'are-you-there')
        async for msg in ws:
            if msg.type is WSMsgType.PONG:
                observed.pong.set_result(msg.data)
                await ws.send_str('"pong seen"')
            elif msg.type is WSMsgType.CLOSE:
                await ws.close()
        return ws

    async def forbidden(request: web.Request) -> web.Response:
        return web.Response(status=403, text='go away')

    app = web.Application()
    app.router.add_get('/ws', echo)
    app.router.add_get('/ping', ping_then_report)
    app.router.add_get('/forbidden', forbidden)
    server = await aiohttp_server(app)
    assert server.port is not None
    return server.port, observed


def text_of(size: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return (alphabet * (size // len(alphabet) + 1))[:size]


@pytest.mark.timeout(20)
@pytest.mark.parametrize('size', [10, 200, 70_000], ids=['7-bit', '16-bit', '64-bit'])
async def test_text_round_trip(echo_server: EchoServer, size: int) -> None:
    port, _ = echo_server
    async with await rawws.connect(port) as ws:
        payload = text_of(size)
        ws.send_text(payload)
        await ws.drain()
        opcode, data = await ws.receive()
        assert opcode == rawws.TEXT
        assert data == payload.encode()


@pytest.mark.timeout(20)
async def test_queued_frames_fragments_and_json(echo_server: EchoServer) -> None:
    port, _ = echo_server
    async with await rawws.connect(port, rcvbuf=4096, sndbuf=4096) as ws:
        ws.send_frames(f'{{"n": {n}}}' for n in range(50))
        await ws.drain()
        assert [await ws.receive_json() for _ in range(50)] == [{'n': n} for n in range(50)]
        ws.send_frame(rawws.TEXT, '{"a": ', fin=False)
        ws.send_frame(rawws.CONTINUATION, '1}')
        assert await ws.receive_json() == {'a': 1}


@pytest.mark.timeout(20)
async def test_server_ping_is_answered(echo_server: EchoServer) -> None:
    port, observed = echo_server
    async with await rawws.connect(port, '/ping') as ws:
        assert await ws.receive_json() == 'pong seen'  # the PING was answered inside receive()
        assert await asyncio.wait_for(observed.pong, 10) == b'are-you-there'


@pytest.mark.timeout(20)
async def test_close_handshake_sends_code(echo_server: EchoServer) -> None:
    port, observed = echo_server
    ws = await rawws.connect(port)
    await ws.close(1000)
    assert await asyncio.wait_for(observed.close_codes.get(), 10) == 1000


@pytest.mark.timeout(20)
async def test_close_frame_is_returned(echo_server: EchoServer) -> None:
    port, observed = echo_server
    async with await rawws.connect(port) as ws:
        ws.send_frame(rawws.CLOSE, b'\x0f\xa0bye')  # code 4000
        opcode, payload = await ws.receive()
        assert opcode == rawws.CLOSE
        assert rawws.parse_close(payload) == (1000, '')  # aiohttp answers any close code with 1000
        assert await asyncio.wait_for(observed.close_codes.get(), 10) == 4000
    async with await rawws.connect(port) as ws:
        ws.send_frame(rawws.CLOSE, b'\x03\xe8')
        with pytest.raises(AssertionError, match='expected a JSON text frame, got CLOSE code=1000'):
            await ws.receive_json()


@pytest.mark.timeout(20)
async def test_reset_during_handshake_leaves_server_serving(echo_server: EchoServer) -> None:
    port, _ = echo_server
    for _ in range(5):
        await rawws.reset_during_handshake(port)
    async with await rawws.connect(port) as ws:
        ws.send_text('still here')
        assert await ws.receive() == (rawws.TEXT, b'still here')


@pytest.mark.timeout(20)
async def test_abort_resets(echo_server: EchoServer) -> None:
    port, observed = echo_server
    ws = await rawws.connect(port)
    ws.abort()
    assert await asyncio.wait_for(observed.close_codes.get(), 10) != 1000  # the handler ended without a close
    async with await rawws.connect(port) as ws:
        ws.send_text('after reset')
        assert await ws.receive() == (rawws.TEXT, b'after reset')


@pytest.mark.timeout(20)
async def test_refused_handshake_names_status(echo_server: EchoServer) -> None:
    port, _ = echo_server
    with pytest.raises(ConnectionError, match='handshake refused: HTTP 403 Forbidden'):
        await rawws.connect(port, '/forbidden')
