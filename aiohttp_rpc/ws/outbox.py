"""Every frame a connection sends, within a budget in bytes.

A frame is written at once while the transport's buffer is under the budget (its high-water mark, see
:mod:`~aiohttp_rpc.ws.socket`); past it, senders wait their turn in order, and are let through one at a time as
the transport drains. The connection's reader takes a turn too before it reads the next message, so a peer
that does not read its replies stops being read from: what one connection holds in its write buffer never
exceeds the budget plus the one frame that crossed it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import WSMsgType

from ..errors import TransportError
from .socket import SocketAccess

__all__ = ('DEFAULT_MAX_BUFFERED_BYTES', 'Outbox')

logger = logging.getLogger('aiohttp_rpc.websocket')

DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
"""Bytes a connection lets wait in its write buffer before it stops reading and holds senders back (4 MiB)."""

_GONE = (ConnectionError, RuntimeError)  # what aiohttp raises for a socket that is going away
_TEXT = WSMsgType.TEXT

_NO_TURNS: collections.deque[Any] = collections.deque(maxlen=0)  # shared by idle outboxes; never appended to

SendFrame = Callable[[bytes, WSMsgType], Coroutine[Any, Any, None]]


def _closed() -> TransportError:
    return TransportError(data={'details': 'Connection closed.'})


class Outbox:
    """The one way out of a connection: ordered turns within the transport's byte budget.

    Args:
        send_frame: the WebSocket's ``send_frame`` (or an equivalent for aiohttp < 3.11).
        socket: the transport underneath.
    """

    __slots__ = ('_armed', '_closed', '_granted', '_send_frame', '_socket', '_turns', 'waiting_bytes')

    def __init__(self, send_frame: SendFrame, socket: SocketAccess) -> None:
        self._send_frame = send_frame
        self._socket = socket
        self._turns: collections.deque[tuple[asyncio.Future[None], int]] = _NO_TURNS  # a deque of its own once used
        self._armed = False
        self._closed = False
        self._granted = False  # a sender was given its turn and has not finished writing yet
        self.waiting_bytes = 0
        """Bytes of the frames waiting for their turn."""

    @property
    def full(self) -> bool:
        """True when a sender would have to wait: the budget is used up, or others are waiting already."""
        return self._granted or bool(self._turns) or not self._socket.writable

    def buffered(self) -> int:
        """Bytes held for the peer: the transport's buffer plus the frames waiting their turn."""
        return self._socket.buffered() + self.waiting_bytes

    async def send(self, payload: bytes) -> None:
        """Write one text frame, after waiting for a turn if the budget is used up.

        Raises:
            TransportError: the connection is closed or breaks meanwhile.
        """
        if self._closed:
            raise _closed()
        if self._granted or self._turns or not self._socket.writable:
            await self._wait_turn(len(payload))
            try:
                await self._send_frame(payload, _TEXT)
            except _GONE as exc:
                raise _closed() from exc
            finally:
                self._release()
            return
        try:
            await self._send_frame(payload, _TEXT)
        except _GONE as exc:
            raise _closed() from exc

    async def wait_room(self) -> None:
        """Wait until the transport can take more and every earlier sender has had its turn (what a reader
        does before reading the next message).

        Raises:
            TransportError: the connection closed meanwhile.
        """
        await self._wait_turn(0)
        self._release()

    async def _wait_turn(self, size: int) -> None:
        """Queue for a turn; return holding it (the caller must :meth:`_release` it)."""
        future = asyncio.get_running_loop().create_future()
        if self._turns is _NO_TURNS:
            self._turns = collections.deque()
        self._turns.append((future, size))
        self.waiting_bytes += size
        if not self._armed and not self._granted:
            self._arm()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # our turn came as we were cancelled: pass it on
            else:
                self._drop(future, size)
            raise

    def _release(self) -> None:
        self._granted = False
        if self._turns:
            self._next()

    def close(self) -> None:
        """Fail every waiting sender; later sends fail at once."""
        self._closed = True
        self._granted = False
        turns, self._turns = self._turns, _NO_TURNS
        self.waiting_bytes = 0
        for future, _ in turns:
            if not future.done():
                future.set_exception(_closed())

    def _drop(self, future: asyncio.Future[None], size: int) -> None:
        try:
            self._turns.remove((future, size))
        except ValueError:
            return
        self.waiting_bytes -= size

    def _arm(self) -> None:
        self._armed = True
        self._socket.when_writable(self._on_writable)

    def _on_writable(self) -> None:
        self._armed = False
        if self._turns and not self._granted:
            self._next()

    def _next(self) -> None:
        """Give the first waiting sender its turn when the transport can take more, else wait until it can."""
        if self._closed or self._granted:
            return
        if self._socket.gone:
            self.close()
            return
        if not self._socket.writable:
            if not self._armed:
                self._arm()
            return
        while self._turns:
            future, size = self._turns.popleft()
            self.waiting_bytes -= size
            if not future.done():
                self._granted = True
                future.set_result(None)
                return
