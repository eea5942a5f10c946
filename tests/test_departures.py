"""Calls whose HTTP client has left are cancelled, whatever the deployment: here with aiohttp's own default,
``handler_cancellation=False`` (what ``web.run_app`` and gunicorn's aiohttp worker run with)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.middlewares import DEFAULT_MIDDLEWARES

pytestmark = pytest.mark.timeout(30)

CLIENTS = 50


class Hanging:
    """A method that waits forever, counting the calls that started and the ones cancelled."""

    def __init__(self) -> None:
        self.started = 0
        self.cancelled = 0
        self.all_started = asyncio.Event()
        self.all_cancelled = asyncio.Event()

    async def hang(self) -> None:
        self.started += 1
        if self.started == CLIENTS:
            self.all_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            if self.cancelled == CLIENTS:
                self.all_cancelled.set()
            raise


@pytest.fixture
async def site(hanging: Hanging) -> AsyncIterator[tuple[int, aiohttp_rpc.JSONRPCServer]]:
    server = aiohttp_rpc.JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
    server.add_method(aiohttp_rpc.JSONRPCMethod(hanging.hang, name='hang'))
    server.add_method(aiohttp_rpc.JSONRPCMethod(lambda: 'pong', name='ping'))
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    runner = web.AppRunner(app, handler_cancellation=False)  # aiohttp's default, as under run_app
    await runner.setup()
    tcp_site = web.TCPSite(runner, '127.0.0.1', 0)
    await tcp_site.start()
    port = runner.addresses[0][1]
    try:
        yield port, server
    finally:
        await runner.cleanup()


@pytest.fixture
def hanging() -> Hanging:
    return Hanging()


async def send(port: int, body: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw HTTP client: one request sent on a new connection, nothing read yet."""
    reader, writer = await asyncio.open_connection('127.0.0.1', port, family=socket.AF_INET)
    writer.write(
        b'POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
        + f'Content-Length: {len(body)}\r\n\r\n'.encode()
        + body
    )
    await writer.drain()
    return reader, writer


HANG = b'{"jsonrpc": "2.0", "method": "hang", "id": 1}'
BATCH_THAT_HANGS = b'[{"jsonrpc": "2.0", "method": "ping", "id": 1}, {"jsonrpc": "2.0", "method": "hang", "id": 2}]'


@pytest.mark.parametrize('body', [HANG, BATCH_THAT_HANGS], ids=['call', 'batch'])
async def test_departed_clients_calls_are_cancelled_quietly(
    site: tuple[int, aiohttp_rpc.JSONRPCServer], hanging: Hanging, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    port, server = site
    caplog.set_level(logging.DEBUG)
    baseline = len(asyncio.all_tasks())
    clients = await asyncio.gather(*(send(port, body) for _ in range(CLIENTS)))
    await asyncio.wait_for(hanging.all_started.wait(), 5)
    for _, writer in clients:  # every client leaves without its reply
        writer.close()
    await asyncio.wait_for(hanging.all_cancelled.wait(), 2.5)  # within about a second of the clients leaving
    assert len(server._departures) == 0
    for _ in range(1000):  # the handlers' own tasks end within a few turns of the loop
        if len(asyncio.all_tasks()) <= baseline:
            break
        await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) <= baseline
    loud = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert loud == []
    departed = [record for record in caplog.records if 'left: its call is cancelled' in record.getMessage()]
    assert len(departed) == CLIENTS
    assert {record.levelname for record in departed} == {'DEBUG'}


@pytest.mark.parametrize(
    'body',
    [
        b'{"jsonrpc": "2.0", "method": "ping", "id": 1}',
        b'[{"jsonrpc": "2.0", "method": "ping", "id": 1}, {"jsonrpc": "2.0", "method": "ping", "id": 2}]',
    ],
    ids=['call', 'batch'],
)
async def test_an_answer_that_never_waits_is_never_watched(site: tuple[int, Any], body: bytes) -> None:
    """Nothing is registered, and no timer armed, for a message whose calls all complete at once."""
    port, server = site
    reader, writer = await send(port, body)
    head = await reader.readuntil(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200')
    assert len(server._departures) == 0
    assert server._departures._timer is None
    writer.close()


async def test_a_call_that_waited_and_completed_is_forgotten(site: tuple[int, Any]) -> None:
    port, server = site
    server.add_method(aiohttp_rpc.JSONRPCMethod(asyncio.sleep, name='pause'))
    reader, writer = await send(port, b'{"jsonrpc": "2.0", "method": "pause", "params": [0, "done"], "id": 1}')
    head = await reader.readuntil(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200')
    length = next(int(line[15:]) for line in head.split(b'\r\n') if line.lower().startswith(b'content-length:'))
    assert json.loads(await reader.readexactly(length)) == {'jsonrpc': '2.0', 'id': 1, 'result': 'done'}
    assert len(server._departures) == 0
    writer.close()
