"""Soak: floods against a server in a subprocess (``tests/soak_server.py``), whose memory is read alone from
``/proc/PID/status`` (VmRSS before the flood, VmHWM, the peak, after it).

Measured on the development machine (Linux, Python 3.11, aiohttp 3.14, 13 runs), server memory:

* WebSocket, 10,000 requests of ~1 KiB sent on one socket before a single reply is read, with the client's
  receive buffer held at 16 KiB meanwhile (so the replies back up in the server whatever the machine's TCP
  settings): VmRSS 39.0-39.2 MiB before the flood, VmHWM 46.8-48.1 MiB after (growth 7.7-9.1 MiB, 6 runs).
  Bound: 16 MiB.
* HTTP, 2,000 POSTs of ~1 KiB, 100 at a time: VmRSS 38.6-38.8 MiB before, VmHWM 40.9-41.3 MiB after (growth
  2.2-2.5 MiB). Bound: 6 MiB.

The payload size matters: the server bounds the requests it runs per connection (``max_in_flight``), but
aiohttp's writer waits for the socket only once per 64 KiB written, so a peer that never reads can leave up to
about ``max_in_flight`` x 64 KiB of replies in the server's write buffer (10,000 requests of 4 KB: +56-65 MiB).
At ~1 KiB per message the flood is 10 MB each way. A server that bounded its buffers tightly would instead stop
reading, and a client that sends everything before reading would block: the send phase is bounded to fail
rather than hang.

Linux only (``/proc``).
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import WSMsgType

pytestmark = pytest.mark.skipif(not Path('/proc/self/status').exists(), reason='reads /proc/PID/status')

SERVER_SCRIPT = Path(__file__).parent / 'soak_server.py'
MIB = 1024 * 1024
PAYLOAD = 'x' * 1000

WS_REQUESTS = 10_000
WS_GROWTH_BOUND = 16 * MIB
HTTP_REQUESTS = 2_000
HTTP_CONCURRENCY = 100
HTTP_GROWTH_BOUND = 6 * MIB


@dataclass(frozen=True)
class SoakServer:
    pid: int
    port: int

    def memory(self) -> dict[str, int]:
        """``VmRSS`` and ``VmHWM`` (peak RSS) of the server, in bytes."""
        values = {}
        for line in Path(f'/proc/{self.pid}/status').read_text().splitlines():
            name, _, value = line.partition(':')
            if name in ('VmRSS', 'VmHWM'):
                number, unit = value.split()
                assert unit == 'kB'
                values[name] = int(number) * 1024
        return values


@pytest.fixture
def soak_server() -> Iterator[SoakServer]:
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)  # bounded wait for "PORT <n>"
        assert ready, 'the soak server did not start'
        word, port = process.stdout.readline().split()
        assert word == 'PORT'
        yield SoakServer(pid=process.pid, port=int(port))
        assert process.poll() is None, 'the soak server died'
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def request(i: int) -> str:
    return json.dumps({'jsonrpc': '2.0', 'method': 'echo', 'params': [PAYLOAD], 'id': i})


async def warm_up(session: aiohttp.ClientSession, server: SoakServer) -> None:
    """A few calls on each transport, so that imports and first allocations are not counted as growth."""
    async with session.ws_connect(f'http://127.0.0.1:{server.port}/ws') as ws:
        for i in range(100):
            await ws.send_str(request(i))
        for _ in range(100):
            assert (await ws.receive(timeout=10)).type is WSMsgType.TEXT
    for i in range(100):
        await post(session, server, i)


async def post(session: aiohttp.ClientSession, server: SoakServer, i: int) -> int:
    headers = {'Content-Type': 'application/json'}
    async with session.post(f'http://127.0.0.1:{server.port}/rpc', data=request(i), headers=headers) as response:
        assert response.status == 200
        reply = json.loads(await response.read())
    assert reply == {'id': i, 'jsonrpc': '2.0', 'result': PAYLOAD}
    return i


async def test_ws_flood_from_a_peer_that_reads_nothing(soak_server: SoakServer) -> None:
    async with aiohttp.ClientSession() as session:
        await warm_up(session, soak_server)
        before = soak_server.memory()
        async with session.ws_connect(f'http://127.0.0.1:{soak_server.port}/ws', max_msg_size=0) as ws:
            # A small receive buffer while flooding, whatever the machine's TCP settings: the server's replies
            # back up at once (with a large one they may all fit in the kernel's buffers). Large again to read.
            sock = ws.get_extra_info('socket')
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)

            async def flood() -> None:
                for i in range(WS_REQUESTS):
                    await ws.send_str(request(i))

            # A server that stopped reading for good would block our sends: fail instead of hanging.
            await asyncio.wait_for(flood(), 30)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MIB)
            answered: dict[int, int] = {}
            for _ in range(WS_REQUESTS):
                msg = await ws.receive(timeout=10)
                assert msg.type is WSMsgType.TEXT, msg
                reply = json.loads(msg.data)
                if 'error' in reply:  # refused, but answered: allowed
                    assert set(reply) == {'id', 'jsonrpc', 'error'}
                else:
                    assert reply == {'id': reply['id'], 'jsonrpc': '2.0', 'result': PAYLOAD}
                answered[reply['id']] = answered.get(reply['id'], 0) + 1
            assert answered == dict.fromkeys(range(WS_REQUESTS), 1)  # every request answered exactly once
            # Nothing more comes: the next reply is the one to this last call.
            await ws.send_str(request(WS_REQUESTS))
            last = await ws.receive(timeout=10)
            assert json.loads(last.data) == {'id': WS_REQUESTS, 'jsonrpc': '2.0', 'result': PAYLOAD}
        after = soak_server.memory()
    growth = after['VmHWM'] - before['VmRSS']
    print(f'WS flood: VmRSS before {before["VmRSS"] / MIB:.1f} MiB, VmHWM after {after["VmHWM"] / MIB:.1f} MiB')
    assert growth < WS_GROWTH_BOUND, f'server peak RSS grew by {growth / MIB:.1f} MiB'


async def test_http_flood(soak_server: SoakServer) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=HTTP_CONCURRENCY)) as session:
        await warm_up(session, soak_server)
        before = soak_server.memory()
        done: list[int] = []
        for start in range(0, HTTP_REQUESTS, HTTP_CONCURRENCY):
            chunk = range(start, start + HTTP_CONCURRENCY)
            done.extend(await asyncio.wait_for(asyncio.gather(*(post(session, soak_server, i) for i in chunk)), 30))
        after = soak_server.memory()
    assert sorted(done) == list(range(HTTP_REQUESTS))
    growth = after['VmHWM'] - before['VmRSS']
    print(f'HTTP flood: VmRSS before {before["VmRSS"] / MIB:.1f} MiB, VmHWM after {after["VmHWM"] / MIB:.1f} MiB')
    assert growth < HTTP_GROWTH_BOUND, f'server peak RSS grew by {growth / MIB:.1f} MiB'
