"""WebSocket connections that each make one call and then sit idle, for measuring what each costs a server.

Driven line by line over stdin/stdout by run.py, which reads the server's RSS between the steps:

1. opens ``--warm`` connections one after another, makes the scenario's call on each, checks the reply and
   closes it (so code paths the server loads lazily are loaded before the first measurement); prints
   ``WARM <request bytes> <reply bytes>`` (the sizes of the last warm-up call's two messages);
2. waits for ``open`` on stdin, then opens ``--connections`` WebSockets (``--batch`` at a time), makes the
   same call once on each, reads and checks its reply, leaves the connection open and idle, and prints
   ``OPEN <n>`` once all ``n`` replies are in;
3. waits for ``close`` on stdin, closes them all and prints ``CLOSED``.

The call is ``--call ping`` (no params; the reply must be exactly
``{"jsonrpc": "2.0", "id": <id>, "result": "pong"}``) or ``--call echo`` with one by-position param, a
string of ``--echo-bytes`` ``x`` characters (the reply must be exactly
``{"jsonrpc": "2.0", "id": <id>, "result": [<that string>]}``). Every reply is decoded and compared in full;
any other reply, a non-text frame or a closed socket fails the step.

Usage:
    python benchmarks/ws_idle.py --url ws://127.0.0.1:PORT/rpc [--connections 1000] [--warm 10] \\
        [--call ping|echo] [--echo-bytes 10000]

Raw aiohttp, no aiohttp_rpc, no heartbeat. Bounded: at most ``--connections`` sockets (the file-descriptor
limit is raised to fit, within the hard limit), ``--timeout`` seconds per step and per reply.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from aiohttp import WSMsgType

__all__ = ('Call', 'raise_fd_limit')

FD_HEADROOM = 64
MAX_ECHO_BYTES = 500_000  # well under the smallest max_msg_size of the servers (1 MiB)


class StepFailure(Exception):
    """A step could not be completed (the server refused, closed, did not answer or answered wrongly)."""


@dataclass(frozen=True)
class Call:
    """The one JSON-RPC call of a scenario: its request for a given id and the reply it must get."""

    method: str
    params: list[str] | None = None

    def request(self, request_id: int) -> bytes:
        message: dict[str, Any] = {'jsonrpc': '2.0', 'method': self.method, 'id': request_id}
        if self.params is not None:
            message['params'] = self.params
        return orjson.dumps(message)

    def expected(self, request_id: int) -> dict[str, Any]:
        result: Any = 'pong' if self.method == 'ping' else self.params
        return {'jsonrpc': '2.0', 'id': request_id, 'result': result}


def raise_fd_limit(needed: int) -> None:
    """Raise the soft limit on open files to ``needed`` if it is lower, within the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def _stdin_reader() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _expect(reader: asyncio.StreamReader, word: str, timeout: float) -> None:
    line = await asyncio.wait_for(reader.readline(), timeout)
    if line.strip().decode() != word:
        raise StepFailure(f'expected {word!r} on stdin, got {line!r}')


def _say(line: str) -> None:
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


async def _call(ws: aiohttp.ClientWebSocketResponse, call: Call, request_id: int, timeout: float) -> tuple[int, int]:
    """Make ``call`` on ``ws`` and check its reply in full; ``(request bytes, reply bytes)``."""
    request = call.request(request_id)
    await ws.send_frame(request, WSMsgType.TEXT)
    msg = await ws.receive(timeout)
    if msg.type is not WSMsgType.TEXT:
        raise StepFailure(
            f'{call.method} id {request_id}: {msg.type.name} frame instead of a reply ({msg.data!r:.200})'
        )
    text: str = msg.data
    try:
        reply = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise StepFailure(f'{call.method} id {request_id}: reply is not JSON ({exc}): {text[:200]!r}') from exc
    # type() as well: in Python 1.0 == 1 and True == 1, but neither is the id we sent.
    if reply != call.expected(request_id) or type(reply['id']) is not int:
        raise StepFailure(f'{call.method} id {request_id}: unexpected reply ({len(text)} chars): {text[:300]!r}')
    return len(request), len(text.encode())


async def _warm(session: aiohttp.ClientSession, url: str, call: Call, count: int, timeout: float) -> tuple[int, int]:
    sizes = (0, 0)
    for index in range(count):
        async with session.ws_connect(url) as ws:
            sizes = await _call(ws, call, index + 1, timeout)
    return sizes


async def _open_one(
    session: aiohttp.ClientSession, url: str, call: Call, request_id: int, timeout: float
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(url, autoping=True)
    try:
        await _call(ws, call, request_id, timeout)
    except BaseException:
        await ws.close()
        raise
    return ws


async def _open(
    session: aiohttp.ClientSession,
    url: str,
    call: Call,
    count: int,
    batch: int,
    timeout: float,
    sockets: list[aiohttp.ClientWebSocketResponse],
) -> None:
    """Open ``count`` connections into ``sockets``, each after its call; stop at the first batch that fails."""
    while len(sockets) < count:
        size = min(batch, count - len(sockets))
        first_id = len(sockets) + 1
        done = await asyncio.gather(
            *(_open_one(session, url, call, first_id + i, timeout) for i in range(size)), return_exceptions=True
        )
        sockets += [item for item in done if isinstance(item, aiohttp.ClientWebSocketResponse)]
        failures = [item for item in done if isinstance(item, BaseException)]
        if failures:
            raise failures[0]


async def run(url: str, call: Call, connections: int, warm: int, batch: int, timeout: float) -> None:
    commands = await _stdin_reader()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        request_bytes, reply_bytes = await asyncio.wait_for(_warm(session, url, call, warm, timeout), timeout)
        _say(f'WARM {request_bytes} {reply_bytes}')
        await _expect(commands, 'open', timeout)
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        try:
            await asyncio.wait_for(_open(session, url, call, connections, batch, timeout, sockets), timeout)
            _say(f'OPEN {len(sockets)}')
            await _expect(commands, 'close', timeout)
        finally:
            closing = asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            await asyncio.wait_for(closing, timeout)
        _say('CLOSED')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--connections', type=int, default=1_000)
    parser.add_argument('--warm', type=int, default=10)
    parser.add_argument('--batch', type=int, default=50, help='connections opened at once')
    parser.add_argument('--call', choices=('ping', 'echo'), default='ping', help='the one call on each connection')
    parser.add_argument('--echo-bytes', type=int, default=10_000, help='length of the echo param (x characters)')
    parser.add_argument('--timeout', type=float, default=60.0, help='seconds per step')
    args = parser.parse_args()
    if not 1 <= args.connections <= 10_000 or not 0 <= args.warm <= 100 or not 1 <= args.batch <= 1_000:
        parser.error('--connections, --warm or --batch out of range')
    if not 1 <= args.echo_bytes <= MAX_ECHO_BYTES:
        parser.error(f'--echo-bytes must be in [1, {MAX_ECHO_BYTES}]')
    if not args.url.startswith(('ws://127.0.0.1:', 'http://127.0.0.1:')):
        parser.error('--url must be on 127.0.0.1')
    call = Call('ping') if args.call == 'ping' else Call('echo', ['x' * args.echo_bytes])
    raise_fd_limit(args.connections + FD_HEADROOM)
    try:
        asyncio.run(run(args.url, call, args.connections, args.warm, args.batch, args.timeout))
    except (StepFailure, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        print(f'ws_idle: {type(exc).__name__}: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
