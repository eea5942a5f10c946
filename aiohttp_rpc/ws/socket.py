"""What a connection needs from an aiohttp WebSocket beyond its public API, in this one module.

aiohttp gives every WebSocket a writer that waits for the transport to drain once per ``writer_limit`` bytes,
on a future that is shared by every coroutine sending on that socket: cancelling one sender (a timeout, a
closing connection) cancels it for all of them. So our connections never let aiohttp wait for the drain: the
writer's limit is set out of reach, the transport's high-water mark is set to the connection's byte budget,
and :class:`~aiohttp_rpc.ws.outbox.Outbox` does all the waiting on futures of its own, woken from a callback on
aiohttp's drain future (a callback never cancels it).

The private names used here (``_writer``, ``_limit``, ``_paused``, ``_drain_waiter``) are the same in every
aiohttp release from 3.9 on; nothing else in the package touches them.
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
        self._transport: asyncio.Transport = writer.transport
        self._loop = asyncio.get_running_loop()
        if high_water is not None and not self._transport.is_closing():
            self._transport.set_write_buffer_limits(high=high_water)

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


def _settle(done: asyncio.Future[None], callback: Callable[[], None]) -> None:
    if not done.cancelled():
        done.exception()  # retrieved: a lost connection is reported by the callback, not by asyncio's GC warning
    callback()
