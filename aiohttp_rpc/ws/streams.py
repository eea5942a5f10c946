"""The subscriptions one connection serves to its peer: one task per subscription pulls items from its generator
and writes them as notifications, within the connection's byte budget.

A subscription's task starts once the reply to the subscribe call has been written (the connection calls
:meth:`Streams.announce`), so the peer always knows the id before the first item. It ends, and the generator's
``finally`` runs (``aclose()``), when the generator returns or raises, when the peer unsubscribes, and when the
connection closes; nothing outlives the connection.

Slow subscribers (see :class:`~aiohttp_rpc.JSONRPCSubscription`'s ``on_slow``):

* ``block``: each item waits for room in the connection's write buffer, so the generator is paused while the
  peer does not read. Held for the peer: the budget plus one frame per subscription.
* ``drop_oldest``: items wait in a queue of ``queue_size`` frames while the buffer is full; the oldest is dropped
  past that (counted). Held: the budget plus ``queue_size`` frames per subscription.
* ``close``: an item that waits longer than ``send_timeout`` ends the subscription with ``SubscriptionLagged``.

A resumable subscription's task holds its :class:`~aiohttp_rpc.methods.subscription.Cursor`: the topic the
generator reads sets the event id of each item (and flags gaps), which the item's notification carries.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ..constants import VERSION_2_0
from ..errors import InternalError, JSONRPCError, SubscriptionLagged, TooManySubscriptions
from ..methods.subscription import Cursor, StreamOptions, enter_cursor
from .outbox import Outbox

__all__ = ('MAX_SUBSCRIPTIONS', 'Streams', 'new_subscription_id')

logger = logging.getLogger('aiohttp_rpc.websocket')

MAX_SUBSCRIPTIONS = 1024
"""Subscriptions one connection may have open at once (as jsonrpsee); past it, subscribing answers -32006."""

Dumps = Callable[[Any], bytes]
Post = Callable[[bytes], Awaitable[bool]]


def new_subscription_id() -> str:
    """``0x`` and 32 hex digits: 128 random bits."""
    return '0x' + secrets.token_hex(16)


class _Stream:
    __slots__ = ('cursor', 'dropped', 'id', 'items', 'options', 'queue', 'request_id', 'sender', 'task')

    def __init__(
        self,
        subscription_id: str,
        items: AsyncIterator[Any],
        options: StreamOptions,
        request_id: Any,
        cursor: Cursor | None,
    ) -> None:
        self.id = subscription_id
        self.cursor = cursor
        self.items = items
        self.options = options
        self.request_id = request_id
        self.task: asyncio.Task[None] | None = None
        self.queue: collections.deque[bytes] | None = None  # drop_oldest: frames waiting for room
        self.sender: asyncio.Task[None] | None = None  # drop_oldest: the task writing the queue
        self.dropped = 0


class Streams:
    """The subscriptions a connection serves.

    Args:
        outbox: the connection's way out.
        post: writes a frame without waiting for room (the connection's ``post``), for the frame that ends a
            subscription.
        dumps: the connection's JSON encoder.
        limit: subscriptions open at once (``None``: no limit).
    """

    __slots__ = ('_dumps', '_limit', '_live', '_outbox', '_post', '_unannounced', 'dropped_items')

    def __init__(self, outbox: Outbox, post: Post, dumps: Dumps, limit: int | None = MAX_SUBSCRIPTIONS) -> None:
        self._outbox = outbox
        self._post = post
        self._dumps = dumps
        self._limit = limit
        self._live: dict[str, _Stream] = {}
        self._unannounced: dict[Any, list[_Stream]] = {}  # request id -> streams opened by that call, not yet started
        self.dropped_items = 0
        """Items ``drop_oldest`` subscriptions of this connection have dropped."""

    def __len__(self) -> int:
        return len(self._live)

    @property
    def waiting(self) -> bool:
        """True while some subscription waits for the reply to its subscribe call to be written."""
        return bool(self._unannounced)

    def open(
        self, items: AsyncIterator[Any], options: StreamOptions, request_id: Any, cursor: Cursor | None = None
    ) -> str:
        """Take ``items`` as a new subscription opened by the call ``request_id``; it starts at :meth:`announce`.
        A resumable subscription's task holds ``cursor``.

        Raises:
            TooManySubscriptions: ``limit`` subscriptions are open.
        """
        if self._limit is not None and len(self._live) >= self._limit:
            raise TooManySubscriptions(data={'details': f'At most {self._limit} subscriptions per connection.'})
        stream = _Stream(new_subscription_id(), items, options, request_id, cursor)
        self._live[stream.id] = stream
        self._unannounced.setdefault(request_id, []).append(stream)
        return stream.id

    def announce(self, message: object) -> None:
        """The reply to ``message`` (a call or a batch) has been written: start the subscriptions it opened."""
        if type(message) is dict:
            ids = [message.get('id')]
        elif type(message) is list:
            ids = [item.get('id') for item in message if type(item) is dict]
        else:
            return
        for request_id in ids:
            for stream in self._unannounced.pop(request_id, ()):
                if self._live.get(stream.id) is stream:
                    stream.task = asyncio.get_running_loop().create_task(self._run(stream))

    async def close(self, subscription_id: str) -> bool:
        """End a subscription (its generator's ``finally`` has run when this returns); False if not live."""
        stream = self._live.pop(subscription_id, None)
        if stream is None:
            return False
        await self._end(stream)
        return True

    async def close_all(self) -> None:
        """End every subscription (the connection is closing)."""
        streams = list(self._live.values())
        self._live.clear()
        self._unannounced.clear()
        for stream in streams:
            await self._end(stream)

    async def _end(self, stream: _Stream) -> None:
        task = stream.task
        current = asyncio.current_task()
        if task is None:  # never started: its generator never ran
            await _aclose(stream.items)
        elif task is not current:
            task.cancel()
            await asyncio.wait([task])

    # -- one subscription's task -----------------------------------------------------------------------------

    async def _run(self, stream: _Stream) -> None:
        options = stream.options
        end: dict[str, Any] | None = None
        cursor = stream.cursor
        if cursor is not None:
            enter_cursor(cursor)
        try:
            async for item in stream.items:
                params = {'subscription': stream.id, 'result': item}
                if cursor is not None:
                    if cursor.event_id is not None:
                        params['eventId'] = cursor.event_id
                    if cursor.gap:
                        params['gap'] = True
                        cursor.gap = False
                frame = self._dumps({'jsonrpc': VERSION_2_0, 'method': options.notification, 'params': params})
                await self._deliver(stream, frame)
            if stream.sender is not None:
                await stream.sender  # what is queued goes out before the end
            end = {'subscription': stream.id, 'done': True}
        except JSONRPCError as exc:
            end = {'subscription': stream.id, 'error': exc.to_dict()}
        except Exception as exc:  # the generator's bug ends its subscription, not the connection
            logger.error('Subscription %r raised; ended with Internal error', options.notification, exc_info=exc)
            end = {'subscription': stream.id, 'error': InternalError().to_dict()}
        finally:
            sender = stream.sender
            if sender is not None:
                sender.cancel()
                await asyncio.wait([sender])
            await _aclose(stream.items)
            if self._live.get(stream.id) is stream:
                del self._live[stream.id]
        if end is not None:
            await self._post(self._dumps({'jsonrpc': VERSION_2_0, 'method': options.notification, 'params': end}))

    async def _deliver(self, stream: _Stream, frame: bytes) -> None:
        outbox = self._outbox
        policy = stream.options.on_slow
        if policy == 'block':
            await outbox.send(frame)
        elif policy == 'drop_oldest':
            if stream.queue is None and not outbox.full:
                await outbox.send(frame)
                return
            queue = stream.queue
            if queue is None:
                queue = stream.queue = collections.deque()
            if len(queue) >= stream.options.queue_size:
                queue.popleft()
                stream.dropped += 1
                self.dropped_items += 1
            queue.append(frame)
            if stream.sender is None:
                stream.sender = asyncio.get_running_loop().create_task(self._send_queued(stream))
        elif not outbox.full:
            await outbox.send(frame)
        else:
            timeout = stream.options.send_timeout
            try:
                await asyncio.wait_for(outbox.send(frame), timeout)
            except asyncio.TimeoutError:
                details = f'An item waited more than {timeout} s for the subscriber to read; the subscription ended.'
                raise SubscriptionLagged(data={'details': details}) from None

    async def _send_queued(self, stream: _Stream) -> None:
        queue = stream.queue
        assert queue is not None
        try:
            while queue:
                await self._outbox.send(queue[0])
                queue.popleft()
        finally:
            stream.queue = None
            stream.sender = None


async def _aclose(items: AsyncIterator[Any]) -> None:
    aclose = getattr(items, 'aclose', None)
    if aclose is not None:
        await aclose()
