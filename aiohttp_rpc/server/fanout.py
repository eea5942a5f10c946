"""A WebSocket server's broadcasts and topics, across the workers its backplane joins.

What a worker sends it delivers itself at once, then publishes for the others (each skips its own frames). So a
broadcast reaches this worker's peers even while the broker is down; the others get it at most once, in the
order each worker published. Topic items go to the ``server.topic(name)`` iterators of every worker; each
iterator holds at most ``buffer`` items its reader has not taken, then drops the oldest (counted).

A ``topic()`` iterator read by a resumable subscription (one whose task holds a
:class:`~aiohttp_rpc.methods.subscription.Cursor`) asks the backplane to keep the topic's history, and moves the
cursor: each item's event id, and a gap where the items it hears do not follow on from the last one. Resuming
after an event id, it first gives the items after it from the history (a gap when they are gone), then the live
ones it has not given yet.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ..backplane.base import BROADCAST, Backplane, Position, event_order
from ..backplane.envelope import pack, unpack
from ..errors import BackplaneError, JSONRPCError
from ..methods.subscription import Cursor, current_cursor
from ..serialization import JSONCodec
from .relay import PRESENCE_TTL, Relay, worker_channel

__all__ = ('DEFAULT_TOPIC_BUFFER', 'PRESENCE_RETRY', 'Fanout')

logger = logging.getLogger('aiohttp_rpc.backplane')

DEFAULT_TOPIC_BUFFER = 1024
"""Items a ``server.topic()`` iterator holds for a reader that has not taken them."""

PRESENCE_RETRY = 1.0
"""Seconds between attempts to mark this worker present while the backplane refuses it."""

LocalBroadcast = Callable[[bytes, 'float | None'], Awaitable[int]]

# A topic item as iterators hold it: (item, event id, the event id before it); no ids without a history.
_Entry = tuple[Any, 'str | None', 'str | None']


class _TopicQueue:
    __slots__ = ('_items', '_waiter', 'dropped', 'limit')

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: collections.deque[_Entry] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0

    def put(self, item: _Entry) -> None:
        if len(self._items) >= self.limit:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> _Entry:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


def _entry(item: Any, position: Position | None) -> _Entry:
    if position is None:
        return item, None, None
    return item, position.event_id, position.previous


def _after(event_id: str, last: str) -> bool:
    """Whether ``event_id`` comes after ``last`` (ids that cannot be compared count as later)."""
    this, that = event_order(event_id), event_order(last)
    return this is None or that is None or this > that


class Fanout:
    """Broadcasts and topics of one server over its backplane.

    Args:
        backplane: the broker (the in-process one by default).
        codec: the server's JSON codec.
        local_broadcast: ``await local_broadcast(frame, send_timeout) -> peers reached`` on this worker.
        local_peer: this worker's peer of a given id, if it holds it (for calls relayed from other workers).
    """

    def __init__(
        self,
        backplane: Backplane,
        codec: JSONCodec,
        local_broadcast: LocalBroadcast,
        local_peer: Callable[[str], Any] = lambda peer_id: None,
    ) -> None:
        self.backplane = backplane
        self.worker = secrets.token_hex(8)
        self.relay = Relay(backplane, self.worker, codec, local_peer)
        self._heartbeat: asyncio.Task[None] | None = None
        self._codec = codec
        self._local_broadcast = local_broadcast
        self._topics: dict[str, set[_TopicQueue]] = {}
        self._kept: dict[str, list[int]] = {}  # topic -> the history each resumable reader of this worker asks for
        self._started: asyncio.Task[None] | None = None
        self._listeners_changed: list[asyncio.Future[None]] = []
        self._dropped_by_closed = 0

    @property
    def topic_items_dropped(self) -> int:
        """Items ``topic()`` iterators of this worker dropped because their reader fell behind."""
        live = sum(queue.dropped for queues in self._topics.values() for queue in queues)
        return self._dropped_by_closed + live

    def listeners(self, topic: str) -> int:
        """How many ``topic(topic)`` iterators of this worker are listening."""
        return len(self._topics.get(topic, ()))

    async def wait_listeners(self, topic: str, count: int) -> None:
        """Wait until ``count`` iterators of this worker listen to ``topic`` (wrap it in a timeout)."""
        while self.listeners(topic) < count:
            waiter = asyncio.get_running_loop().create_future()
            self._listeners_changed.append(waiter)
            await waiter

    def _changed(self) -> None:
        waiters, self._listeners_changed = self._listeners_changed, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def start(self) -> None:
        """Start listening, and marking this worker present (once; later calls wait for the first to finish)."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_task(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        await self.backplane.start(self._heard)
        # Present before the first connection is served: a caller on another worker checks presence first.
        renewed = await self._renew()
        self._heartbeat = asyncio.get_running_loop().create_task(self._beat(renewed))

    async def _renew(self) -> bool:
        """Mark this worker present, and renew the histories its readers ask for; whether the backplane took it."""
        try:
            await self.backplane.mark_present(self.worker, PRESENCE_TTL)
            for topic, asks in list(self._kept.items()):
                await self.backplane.keep_history(topic, max(asks))
        except JSONRPCError as exc:
            logger.debug('Presence not renewed: %s', exc)
            return False
        return True

    async def _beat(self, renewed: bool) -> None:
        """Renew every third of the presence's time to live; after a failed renewal, retry every
        ``PRESENCE_RETRY`` seconds (an outage, or one slow reply, costs the other workers that long at most)."""
        while True:
            await asyncio.sleep(PRESENCE_TTL / 3 if renewed else PRESENCE_RETRY)
            renewed = await self._renew()

    async def close(self) -> None:
        if self._started is None:
            return
        self._started = None
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.cancel()
            await asyncio.wait([heartbeat])
        await self.relay.close()
        with contextlib.suppress(JSONRPCError):
            await self.backplane.mark_present(self.worker, None)  # peers of this worker fail at once from now
        await self.backplane.close()

    async def broadcast(self, frame: bytes, send_timeout: float | None) -> int:
        """Deliver ``frame`` to this worker's peers, then publish it for the others; this worker's count.

        Raises:
            BackplaneError: the other workers could not be reached (this worker's peers have the frame).
        """
        delivered = await self._local_broadcast(frame, send_timeout)
        if self.backplane.spans_processes:
            await self.start()
            await self.backplane.publish(BROADCAST, pack({'origin': self.worker, 'send_timeout': send_timeout}, frame))
        return delivered

    async def publish(self, topic: str, item: Any) -> None:
        """Send ``item`` to every ``topic(topic)`` iterator of every worker.

        Raises:
            BackplaneError: the other workers could not be reached (this worker's iterators have the item).
        """
        if self.backplane.spans_processes:
            await self.start()
        try:
            position = await self.backplane.publish_topic(topic, {'origin': self.worker}, self._codec.dumps(item))
        except BackplaneError:
            self._to_topic(topic, (item, None, None))  # this worker's iterators have it all the same
            raise
        self._to_topic(topic, _entry(item, position))

    async def topic(self, name: str, *, buffer: int = DEFAULT_TOPIC_BUFFER) -> AsyncIterator[Any]:
        """Every item published on ``name`` from now on, by any worker, until the iterator is closed; read by a
        resumable subscription, first the items it missed (see the module docstring)."""
        cursor = current_cursor()
        if self.backplane.spans_processes or cursor is not None:
            await self.start()
        if cursor is not None:  # the history is kept from before this iterator listens
            self._kept.setdefault(name, []).append(cursor.history)
        queue = _TopicQueue(buffer)
        try:
            if cursor is not None:
                await self._keep(name, cursor)
            self._topics.setdefault(name, set()).add(queue)
            self._changed()
            last: str | None = None
            if cursor is not None:
                missed = await self._missed(name, cursor)
                if not cursor.gap:
                    last = cursor.after
                for stored_id, frame in missed:
                    cursor.event_id = last = stored_id
                    yield self._codec.loads(frame)
            while True:
                item, event_id, previous = await queue.get()
                if cursor is not None:
                    if event_id is not None and last is not None:
                        if not _after(event_id, last):
                            continue  # given from the history already
                        if previous != last:
                            cursor.gap = True
                    if event_id is not None:
                        last = event_id
                    cursor.event_id = event_id
                yield item
        finally:
            listeners = self._topics.get(name)
            if listeners is not None:
                listeners.discard(queue)
                if not listeners:
                    del self._topics[name]
            if cursor is not None:
                asks = self._kept[name]
                asks.remove(cursor.history)
                if not asks:
                    del self._kept[name]
            self._dropped_by_closed += queue.dropped
            self._changed()

    async def _keep(self, name: str, cursor: Cursor) -> None:
        """Ask for the topic's history (a resumed reader cannot know what it missed when the broker is away)."""
        try:
            await self.backplane.keep_history(name, cursor.history)
        except BackplaneError as exc:
            logger.debug('History of %r not kept: %s', name, exc)
            if cursor.after is not None:
                cursor.gap = True

    async def _missed(self, name: str, cursor: Cursor) -> list[tuple[str, bytes]]:
        """The items after the cursor's ``after`` in the topic's history (none, and a gap, when they are gone or
        cannot be read)."""
        if cursor.after is None or cursor.gap:
            return []
        missed = None
        if event_order(cursor.after) is not None:
            try:
                missed = await self.backplane.history(name, cursor.after, cursor.history)
            except BackplaneError as exc:
                logger.debug('History of %r not read: %s', name, exc)
        if missed is None:
            cursor.gap = True
            return []
        return missed

    def _to_topic(self, topic: str, entry: _Entry) -> None:
        for queue in tuple(self._topics.get(topic, ())):
            queue.put(entry)

    async def _heard(self, channel: str, data: bytes) -> None:
        try:
            header, frame = unpack(data)
        except ValueError:
            logger.debug('Backplane frame on %r is not ours; ignored', channel)
            return
        if channel.startswith('worker:'):
            if channel == worker_channel(self.worker):
                self.relay.heard(header, frame)
            return
        if header['origin'] == self.worker:
            return  # delivered here already, when it was sent
        if channel == BROADCAST:
            send_timeout = header.get('send_timeout')
            await self._local_broadcast(frame, send_timeout if isinstance(send_timeout, (int, float)) else None)
        elif channel.startswith('topic:'):
            name = channel[len('topic:') :]
            if name in self._topics:
                event_id, previous = header.get('id'), header.get('prev')
                self._to_topic(
                    name,
                    (
                        self._codec.loads(frame),
                        event_id if type(event_id) is str else None,
                        previous if type(previous) is str else None,
                    ),
                )
