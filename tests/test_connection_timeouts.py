"""What bounds a connection before our handler runs, as the "Timeouts" table of docs/deployment.md states: aiohttp
has no header timeout, but from aiohttp 3.14.4 its keep-alive timer, which starts when a connection opens, closes a
connection whose request never completes, however slowly its headers trickle in; before 3.14.4 nothing in
aiohttp closes it (the guide puts such deployments behind a proxy with a header timeout). Measured with raw
sockets, as an attacker would hold them, on whichever aiohttp is installed (the nox matrix runs both)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import aiohttp_rpc
from aiohttp_rpc.compat import BARE_RUNNER_KEEPALIVE_TIMEOUT, KEEPALIVE_FROM_CONNECT

pytestmark = pytest.mark.timeout(30)

KEEPALIVE = 1.0  # seconds, for the test; web.run_app's default is 75


@pytest.fixture
async def port() -> AsyncIterator[int]:
    server = aiohttp_rpc.JSONRPCServer()
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    runner = web.AppRunner(app, keepalive_timeout=KEEPALIVE)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def closed_after(reader: asyncio.StreamReader, feed: Any) -> float:
    """Seconds until the server closes the connection, while ``feed()`` keeps writing."""
    started = time.monotonic()
    feeding = asyncio.ensure_future(feed())
    try:
        assert await reader.read() == b''  # EOF: the server closed it, without a response
    finally:
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
    return time.monotonic() - started


async def assert_closed_after_keepalive_timeout(reader: asyncio.StreamReader, feed: Any) -> None:
    """Closed ``KEEPALIVE`` seconds after connecting (aiohttp 3.14.4+); on older releases, still open a second
    after that."""
    if KEEPALIVE_FROM_CONNECT:
        elapsed = await closed_after(reader, feed)
        assert KEEPALIVE * 0.9 <= elapsed < KEEPALIVE + 2
    else:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(closed_after(reader, feed), KEEPALIVE + 1)


async def test_a_request_line_that_never_ends_is_closed_after_keepalive_timeout(port: int) -> None:
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write(b'POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n')

    async def nothing_more() -> None:
        await asyncio.Event().wait()

    try:
        await assert_closed_after_keepalive_timeout(reader, nothing_more)
    finally:
        writer.close()


async def test_headers_trickling_in_do_not_extend_it(port: int) -> None:
    """One header line every 100 ms (the attacker's pace): still closed keepalive_timeout after connecting."""
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write(b'POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n')

    async def trickle() -> None:
        for index in range(1000):  # bounded: 100 s at most, far past the timeout
            writer.write(b'X-Slow-%d: 1\r\n' % index)
            await writer.drain()
            await asyncio.sleep(0.1)

    try:
        await assert_closed_after_keepalive_timeout(reader, trickle)
    finally:
        writer.close()


REPLY_CHARS = 4 * 1024 * 1024  # far more than the socket buffers of both ends hold


async def read_reply(reader: asyncio.StreamReader) -> int:
    """Bytes received until the whole reply is in or the server drops the connection."""
    received = 0
    try:
        while received <= REPLY_CHARS and (chunk := await reader.read(1 << 16)):
            received += len(chunk)
    except ConnectionResetError:
        pass
    return received


@pytest.mark.parametrize(('write_timeout', 'complete'), [(0.5, False), (None, True)])
async def test_a_reply_the_client_does_not_take_is_abandoned_after_write_timeout(
    aiohttp_server: Any, caplog: pytest.LogCaptureFixture, write_timeout: float | None, complete: bool
) -> None:
    """A client that asks for a large reply and stops reading holds its connection and the reply only for
    ``write_timeout``: then the server drops the connection. Without it, the reply waits for the client."""
    server = aiohttp_rpc.JSONRPCServer(write_timeout=write_timeout)
    server.add_method(lambda: 'x' * REPLY_CHARS)
    app = web.Application()
    app.router.add_post('/rpc', server.handle_http_request)
    test_server = await aiohttp_server(app)
    reader, writer = await asyncio.open_connection('127.0.0.1', test_server.port, limit=1 << 16)
    body = b'{"jsonrpc": "2.0", "method": "<lambda>", "id": 1}'
    writer.write(
        b'POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
        b'Content-Length: %d\r\n\r\n%s' % (len(body), body)
    )
    await writer.drain()
    writer.transport.pause_reading()  # the attacker stops reading: the kernel buffers fill, then the server's
    await asyncio.sleep(1.5)  # the attacker's pause, past the write timeout
    writer.transport.resume_reading()
    received = await asyncio.wait_for(read_reply(reader), 10)
    writer.close()
    assert (received > REPLY_CHARS) is complete
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


async def test_the_keepalive_defaults_the_readme_states() -> None:
    """75 s under web.run_app; 3630 s with a bare AppRunner (aiohttp's RequestHandler default; 75 s before
    aiohttp 3.11)."""
    assert inspect.signature(web.run_app).parameters['keepalive_timeout'].default == 75
    runner = web.AppRunner(web.Application())
    await runner.setup()
    try:
        assert runner.server is not None
        assert runner.server().keepalive_timeout == BARE_RUNNER_KEEPALIVE_TIMEOUT
    finally:
        await runner.cleanup()


async def test_oversized_header_lines_are_refused_and_logged_by_aiohttp(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """400 for a header line over 8190 bytes; aiohttp logs each such request at ERROR on ``aiohttp.server``
    (its logger, not ours: the guide tells deployments to filter malformed HTTP in front, or raise its level)."""
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    writer.write(b'POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ' + b'a' * 8191 + b'\r\n\r\n')
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line == b'HTTP/1.0 400 Bad Request\r\n'
    assert [(record.name, record.levelname) for record in caplog.records] == [('aiohttp.server', 'ERROR')]
