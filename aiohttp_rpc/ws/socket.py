"""What a connection needs from an aiohttp WebSocket beyond its public API, in this one module.

aiohttp gives every WebSocket a writer that waits for the transport to drain once per ``writer_limit`` bytes,
on a future that is shared by every coroutine sending on that socket: cancelling one sender (a timeout, a
closing connection) cancels it for all of them. So our connections never let aiohttp wait for the drain: the
writer's limit is set out of reach, the transport's high-water mark is set to the connection's byte budget,
and :class:`~aiohttp_rpc.ws.outbox.Outbox` does all the waiting on futures of its own, woken from a callback on
aiohttp's drain future (a callback never cancels it).

The writer's transport is also replaced by one that sends the small frames of one turn of the event loop
together (:class:`_Corked`): fewer system calls, the one speed trick of the WebSocket layer.

The private names used here (``_writer``, ``_limit``, ``_paused``, ``_drain_waiter``, the writer's
``transport``) are the same in every aiohttp release from 3.9 on; nothing else in the package touches them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import ClientWebSocketResponse, web

    AnyWebSocket = ClientWebSocketResponse[bool] | web.WebSocketResponse

__all__ = ('SocketAccess',)


class SocketAccess:
    """The transport under one prepared (or connected) aiohttp WebSocket.

    Args:
        ws: the WebSocket, server or client side, after the handshake.
        high_water: bytes in the transport's buffer past which it counts as full (``None``: asyncio's default).
    """

    __slots__ = ('_loop', '_protocol', '_transport')

    def __init__(self, ws: AnyWebSocket, high_water: int | None) -> None:
        writer: Any = ws._writer
        if writer is None:
            raise RuntimeError('The WebSocket is not prepared: call prepare() (or connect) first.')
        writer._limit = sys.maxsize  # aiohttp's writer never waits for the drain itself (see the module doc)
        self._protocol: Any = writer.protocol
        self._loop = asyncio.get_running_loop()
        transport: asyncio.Transport = writer.transport
        if high_water is not None and not transport.is_closing():
            transport.set_write_buffer_limits(high=high_water)
        self._transport = _Corked(transport, self._loop, min(_CORK_BYTES, high_water or _CORK_BYTES))
        writer.transport = self._transport

    @property
    def gone(self) -> bool:
        """True once the transport is closing or lost: nothing more can be written."""
        return self._protocol.transport is None or self._transport.is_closing()

    @property
    def writable(self) -> bool:
        """True while the transport's buffer is under its high-water mark (or the transport is gone, so that a
        writer finds out at once)."""
        return not self._protocol._paused or self.gone

    def buffered(self) -> int:
        """Bytes waiting in the transport's buffer."""
        return 0 if self.gone else self._transport.get_write_buffer_size()

    def when_writable(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` soon after the transport can take more (at once if it can now, or has gone)."""
        protocol = self._protocol
        if not protocol._paused or protocol.transport is None:
            self._loop.call_soon(callback)
            return
        waiter: asyncio.Future[None] | None = protocol._drain_waiter
        if waiter is None or waiter.done():
            waiter = self._loop.create_future()
            protocol._drain_waiter = waiter
        waiter.add_done_callback(lambda done: _settle(done, callback))

    def abort(self) -> None:
        """Close the transport at once, dropping what it still buffers (no closing handshake)."""
        self._transport.abort()


class _Corked:
    """The transport under aiohttp's WebSocket writer, sending the frames written during one turn of the event loop
    in a few system calls instead of one each: the first frame of a turn goes out at once (so the peer can start
    on it), the others together, every ``limit`` bytes and at the end of the turn.

    A reader answering a burst of pipelined requests, or a client whose calls are made in the same turn, writes
    many small frames at once; each ``transport.write`` would otherwise be a ``send()`` of its own (benchmarks/,
    the ws rows; the figures are at ``_CORK_BYTES``). Frames keep their order. A close frame, a frame of
    ``limit`` bytes or more, and anything written while the transport already holds a backlog, go straight
    through (nothing to gain, and no copy); what waits here counts in the
    write buffer's size and stays under ``limit``, so the connection's byte budget still holds.
    """

    __slots__ = ('_frames', '_limit', '_loop', '_size', '_transport', '_turn')

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self._transport = transport
        self._loop = loop
        self._limit = limit
        self._frames: list[bytes] = []
        self._size = 0
        self._turn = False  # a frame went out in this turn of the loop; the end-of-turn flush is scheduled

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._turn:
            self._turn = True
            self._loop.call_soon(self.flush)
            self._transport.write(data)
            return
        if self._frames or (
            len(data) < self._limit and data[:1] != _CLOSE_FRAME and not self._transport.get_write_buffer_size()
        ):
            self._frames.append(data if type(data) is bytes else bytes(data))
            self._size += len(data)
            if self._size >= self._limit or data[:1] == _CLOSE_FRAME:
                self._send()
            return
        self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """End of the turn: hand what waits to the real transport."""
        self._turn = False
        self._send()

    def _send(self) -> None:
        frames = self._frames
        if not frames:
            return
        self._frames = []
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(frames[0] if len(frames) == 1 else b''.join(frames))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def abort(self) -> None:
        self._frames = []
        self._size = 0
        self._transport.abort()

    def close(self) -> None:
        self._send()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


_CLOSE_FRAME = b'\x88'  # FIN + opcode 8: a close frame goes out at once, before aiohttp closes the transport
_CORK_BYTES = 2 * 1024
"""Bytes of frames held back at most. Small on purpose: a peer on another core starts on the first frames while
we write the next ones. Measured with 200,000 pings, 100 in flight, our client and server on two cores:
no corking 72-76k calls/s, 2 KiB 93-106k, 4 KiB 83-93k, 64 KiB 78-89k; a raw client against our server:
108-114k, 2 KiB 121-132k, 64 KiB 125-131k."""


def _settle(done: asyncio.Future[None], callback: Callable[[], None]) -> None:
    if not done.cancelled():
        done.exception()  # retrieved: a lost connection is reported by the callback, not by asyncio's GC warning
    callback()
