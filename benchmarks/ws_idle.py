"""Idle WebSocket connections, for measuring what each one costs a server in memory.

Driven line by line over stdin/stdout by run.py, which reads the server's RSS between the steps:

1. opens ``--warm`` connections, sends one ``ping`` on each, waits for the replies and closes them (so code
   paths the server loads lazily are loaded before the first measurement); prints ``WARM``;
2. waits for ``open`` on stdin, then opens ``--connections`` WebSockets (``--batch`` at a time), sends
   nothing on them, and prints ``OPEN <n>``;
3. waits for ``close`` on stdin, closes them all and prints ``CLOSED``.

Usage: python benchmarks/ws_idle.py --url ws://127.0.0.1:PORT/rpc [--connections 1000] [--warm 10]

Raw aiohttp, no aiohttp_rpc, no heartbeat. Bounded: at most ``--connections`` sockets (the file-descriptor
limit is raised to fit, within the hard limit) and ``--timeout`` seconds per step.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from typing import Any

import aiohttp
from aiohttp import WSMsgType

__all__ = ('raise_fd_limit',)

PING = b'{"jsonrpc":"2.0","method":"ping","id":1}'
FD_HEADROOM = 64


class StepFailure(Exception):
    """A step could not be completed (the server refused, closed or did not answer)."""


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


async def _warm(session: aiohttp.ClientSession, url: str, count: int) -> None:
    for _ in range(count):
        async with session.ws_connect(url) as ws:
            await ws.send_frame(PING, WSMsgType.TEXT)
            msg = await ws.receive()
            if msg.type is not WSMsgType.TEXT:
                raise StepFailure(f'warm-up ping: {msg.type.name} frame instead of a reply')


async def _open(session: aiohttp.ClientSession, url: str, count: int, batch: int) -> list[Any]:
    sockets: list[Any] = []
    while len(sockets) < count:
        size = min(batch, count - len(sockets))
        sockets += await asyncio.gather(*(session.ws_connect(url, autoping=True) for _ in range(size)))
    return sockets


async def run(url: str, connections: int, warm: int, batch: int, timeout: float) -> None:
    commands = await _stdin_reader()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.wait_for(_warm(session, url, warm), timeout)
        _say('WARM')
        await _expect(commands, 'open', timeout)
        sockets = await asyncio.wait_for(_open(session, url, connections, batch), timeout)
        _say(f'OPEN {len(sockets)}')
        try:
            await _expect(commands, 'close', timeout)
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        _say('CLOSED')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--connections', type=int, default=1_000)
    parser.add_argument('--warm', type=int, default=10)
    parser.add_argument('--batch', type=int, default=50, help='connections opened at once')
    parser.add_argument('--timeout', type=float, default=60.0, help='seconds per step')
    args = parser.parse_args()
    if not 1 <= args.connections <= 10_000 or not 0 <= args.warm <= 100 or not 1 <= args.batch <= 1_000:
        parser.error('--connections, --warm or --batch out of range')
    raise_fd_limit(args.connections + FD_HEADROOM)
    try:
        asyncio.run(run(args.url, args.connections, args.warm, args.batch, args.timeout))
    except (StepFailure, aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        print(f'ws_idle: {type(exc).__name__}: {exc}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
