"""The calls we made on a connection that still wait for their reply: id -> future, timeouts, fail-all.

Pure asyncio, no aiohttp: a connection registers a call with :meth:`PendingCalls.expect`, hands every reply it
reads to :meth:`PendingCalls.resolve`, and fails whatever is left with :meth:`PendingCalls.fail_all` when the
socket goes away.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import RequestTimeoutError, TransportError
from ..typedefs import JSONRPCIDType

__all__ = ('PendingCalls',)

_COMPACT_AT = 1024
_EMPTY: collections.deque[Any] = collections.deque(maxlen=0)  # shared by idle connections; never appended to


def _reply_id(reply: Any) -> JSONRPCIDType | None:
    """The id a reply carries, or ``None`` when it is not one a call of ours can have (an array, an object...)."""
    reply_id = reply.get('id') if type(reply) is dict else None
    return reply_id if type(reply_id) is int or type(reply_id) is str else None


def _connection_closed() -> TransportError:
    return TransportError(data={'details': 'Connection closed.'})


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(RequestTimeoutError(data={'details': 'No reply in time.'}))


class PendingCalls:
    """Futures of the calls waiting for replies, by request id.

    A batch waits on one future under each of its ids; the first reply carrying any of them resolves it.

    Args:
        loop: the event loop the futures belong to.
        timeout: the default seconds a call waits (``None``: until the connection closes).
    """

    __slots__ = ('_by_id', '_deadlines', '_loop', 'timeout')

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        self._loop = loop
        self._by_id: dict[JSONRPCIDType, asyncio.Future[Any]] = {}
        self._deadlines = _Deadlines(loop)
        self.timeout = timeout

    def __len__(self) -> int:
        return len(self._by_id)

    def expect(
        self, request_ids: Sequence[JSONRPCIDType], timeout: float | None
    ) -> tuple[asyncio.Future[Any], asyncio.TimerHandle | None]:
        """A future for the reply carrying any of ``request_ids``, failing with ``RequestTimeoutError`` after
        ``timeout`` seconds; and the timer of its own it got, if any, for :meth:`forget` to cancel."""
        future: asyncio.Future[Any] = self._loop.create_future()
        by_id = self._by_id
        for request_id in request_ids:
            by_id[request_id] = future
        if timeout is None:
            return future, None
        if timeout == self.timeout:  # nearly every call: one shared timer
            return future, self._deadlines.add(future, timeout)
        return future, self._loop.call_later(timeout, _expire, future)

    def forget(
        self, request_ids: Sequence[JSONRPCIDType], future: asyncio.Future[Any], timer: asyncio.TimerHandle | None
    ) -> None:
        """Drop a call that got its reply, timed out or was cancelled."""
        if timer is not None:
            timer.cancel()
        by_id = self._by_id
        for request_id in request_ids:
            if by_id.get(request_id) is future:
                del by_id[request_id]

    def resolve_id(self, reply_id: JSONRPCIDType, reply: Any) -> bool:
        """Give ``reply`` to the call waiting for ``reply_id``; False when none waits for it."""
        future = self._by_id.pop(reply_id, None)
        if future is None or future.done():
            return False
        future.set_result(reply)
        return True

    def resolve(self, reply: Any) -> bool:
        """Give a reply (or a batch of replies) to the call waiting for it; False when none waits for it."""
        if type(reply) is not list:
            reply_id = _reply_id(reply)
            return reply_id is not None and self.resolve_id(reply_id, reply)
        future: asyncio.Future[Any] | None = None
        for item in reply:
            item_id = _reply_id(item)
            found = self._by_id.pop(item_id, None) if item_id is not None else None
            future = future or found
        if future is None or future.done():
            return False
        future.set_result(reply)
        return True

    def fail_all(self, error: Callable[[], BaseException] = _connection_closed) -> None:
        """Fail every waiting call with a fresh ``error()`` (the connection is gone)."""
        self._deadlines.clear()
        futures = set(self._by_id.values())
        self._by_id.clear()
        for future in futures:
            if not future.done():
                future.set_exception(error())


class _Deadlines:
    """When calls time out, with one timer for all of them instead of one each.

    Calls made with the default timeout have deadlines in the order they are made: they queue, and one timer,
    armed for the earliest, expires what is due and re-arms for the next. A deadline before the last one queued
    (a clock step, a changed timeout) gets a timer of its own, which :meth:`add` returns. Answered calls leave
    the queue lazily, and it is compacted whenever it holds more answered calls than waiting ones, so it stays
    proportional to the calls actually waiting.
    """

    __slots__ = ('_loop', '_queue', '_timer')

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: collections.deque[tuple[float, asyncio.Future[Any]]] = _EMPTY  # its own deque once used
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, future: asyncio.Future[Any], timeout: float) -> asyncio.TimerHandle | None:
        loop = self._loop
        deadline = loop.time() + timeout
        queue = self._queue
        if queue is _EMPTY:
            self._queue = queue = collections.deque()
        if queue and deadline < queue[-1][0]:
            return loop.call_at(deadline, _expire, future)
        while queue and queue[0][1].done():
            queue.popleft()
        queue.append((deadline, future))
        if len(queue) > _COMPACT_AT and len(queue) % _COMPACT_AT == 0:
            waiting = [entry for entry in queue if not entry[1].done()]
            if len(waiting) * 2 < len(queue):
                self._queue = queue = collections.deque(waiting)
        if self._timer is None:
            self._timer = loop.call_at(queue[0][0], self._expire_due)
        return None

    def _expire_due(self) -> None:
        self._timer = None
        queue = self._queue
        now = self._loop.time()
        while queue and (queue[0][0] <= now or queue[0][1].done()):
            _expire(queue.popleft()[1])
        if queue:
            self._timer = self._loop.call_at(queue[0][0], self._expire_due)

    def clear(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue = _EMPTY
