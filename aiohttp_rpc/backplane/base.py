"""The backplane: how the workers of one deployment hear each other's broadcasts and topic items.

A backplane carries frames (bytes, already serialized) on named channels and hands every frame published on a
channel to each worker that listens to it, the publisher included. Delivery is at most once and in order per
publisher; nothing is stored (a worker that is not listening misses what is published meanwhile).

:class:`InProcessBackplane` is the default: one process, no broker, nothing to start; it behaves exactly as a
server without a backplane. :class:`~aiohttp_rpc.backplane.redis.RedisBackplane` spans processes and machines.
A second broker needs only the methods of :class:`Backplane`.

Topics may keep a history, for resumable subscriptions: once a reader asks (:meth:`Backplane.keep_history`),
each item published on the topic is stored (the newest ``items``, for :data:`HISTORY_RETENTION` seconds after
the last ask) under an event id, in the order the items were published, and its listeners hear the event id
and the one before it (so that a reader notices what it missed). Event ids are ``"<int>-<int>"`` strings
(Redis stream ids) that grow with each item.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .envelope import pack

__all__ = (
    'BROADCAST',
    'HISTORY_RETENTION',
    'Backplane',
    'Deliver',
    'InProcessBackplane',
    'Position',
    'event_order',
    'topic_channel',
)

logger = logging.getLogger('aiohttp_rpc.backplane')

BROADCAST = 'broadcast'
"""The channel of ``server.broadcast``."""

Deliver = Callable[[str, bytes], Awaitable[None]]
"""``async def deliver(channel, frame)``: what a backplane calls with each frame it hears."""


HISTORY_RETENTION = 300.0
"""Seconds a topic keeps its history after the last reader that asked for it has gone (readers ask again every
few seconds while they live)."""


def topic_channel(topic: str) -> str:
    """The channel of ``server.publish(topic, ...)``."""
    return f'topic:{topic}'


@dataclass(frozen=True, slots=True)
class Position:
    """Where a published item stands in its topic's history.

    Attributes:
        event_id: the item's event id.
        previous: the event id of the item published before it (``None``: the history was empty).
    """

    event_id: str
    previous: str | None


def event_order(event_id: object) -> tuple[int, int] | None:
    """The sort key of an event id (``"<int>-<int>"``); ``None`` for anything else."""
    if type(event_id) is not str or len(event_id) > 48:
        return None
    first, separator, second = event_id.partition('-')
    if not (separator and first.isdigit() and second.isdigit() and first.isascii() and second.isascii()):
        return None
    return int(first), int(second)


class Backplane(Protocol):
    """What a server needs of a broker."""

    async def start(self, deliver: Deliver) -> None:
        """Start listening: every frame published on any channel (by any worker) is passed to ``deliver``, in the
        order it was published. Called once, before the first publish."""
        ...

    async def publish(self, channel: str, frame: bytes) -> None:
        """Send ``frame`` to every worker listening, this one included.

        Raises:
            BackplaneError: the broker cannot be reached, or the frame is over the backplane's size limit.
        """
        ...

    async def publish_topic(self, topic: str, header: dict[str, Any], frame: bytes) -> Position | None:
        """Publish an item of ``topic`` (``frame`` with the envelope ``header``) to every worker listening, this
        one included. When the topic keeps a history, first store it there and add its event id (``id``) and the
        one before it (``prev``) to the header the listeners hear; return its position then.

        Raises:
            BackplaneError: the broker cannot be reached, or the frame is over the backplane's size limit.
        """
        ...

    async def keep_history(self, topic: str, items: int) -> None:
        """Keep (at least) the newest ``items`` items of ``topic`` from now on, for :data:`HISTORY_RETENTION`
        seconds; a larger ask wins over a smaller one.

        Raises:
            BackplaneError: the broker cannot be reached.
        """
        ...

    async def history(self, topic: str, after: str, limit: int) -> list[tuple[str, bytes]] | None:
        """The stored items of ``topic`` published after the event ``after`` (at most ``limit``), oldest first,
        as ``(event_id, frame)``; ``None`` when ``after`` is no longer (or never was) in the history, so that
        items may be missing.

        Raises:
            BackplaneError: the broker cannot be reached.
        """
        ...

    async def mark_present(self, key: str, ttl: float | None) -> None:
        """Say that ``key`` (a worker) is alive for ``ttl`` more seconds; ``None`` removes it.

        Raises:
            BackplaneError: the broker cannot be reached.
        """
        ...

    async def is_present(self, key: str) -> bool:
        """Whether ``key`` was marked present and has not expired.

        Raises:
            BackplaneError: the broker cannot be reached.
        """
        ...

    @property
    def spans_processes(self) -> bool:
        """Whether other processes hear what is published (a process-local backplane does not)."""
        ...

    async def close(self) -> None:
        """Stop listening and let go of the broker. Safe to call twice."""
        ...


class InProcessBackplane:
    """The default backplane: frames go straight to this process's own listener."""

    spans_processes = False

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._present: set[str] = set()
        self._kept: dict[str, tuple[int, float]] = {}  # topic -> (items, kept until on the monotonic clock)
        self._logs: dict[str, collections.deque[tuple[str, bytes]]] = {}
        self._epoch = time.time_ns() // 1_000_000  # event ids of this process: "<its start in ms>-<number>"
        self._events = 0

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, channel: str, frame: bytes) -> None:
        if self._deliver is not None:
            await self._deliver(channel, frame)

    async def publish_topic(self, topic: str, header: dict[str, Any], frame: bytes) -> Position | None:
        position = None
        kept = self._kept.get(topic)
        if kept is not None and kept[1] < time.monotonic():
            del self._kept[topic]
            self._logs.pop(topic, None)
        elif kept is not None:
            log = self._logs.get(topic)
            if log is None or log.maxlen != kept[0]:
                log = self._logs[topic] = collections.deque(log or (), maxlen=kept[0])
            self._events += 1
            position = Position(f'{self._epoch}-{self._events}', log[-1][0] if log else None)
            log.append((position.event_id, frame))
            header = {**header, 'id': position.event_id, 'prev': position.previous}
        await self.publish(topic_channel(topic), pack(header, frame))
        return position

    async def keep_history(self, topic: str, items: int) -> None:
        now = time.monotonic()
        for name, (_, until) in list(self._kept.items()):  # what nobody asked for in time goes
            if until < now:
                del self._kept[name]
                self._logs.pop(name, None)
        kept = self._kept.get(topic)
        self._kept[topic] = (max(items, kept[0] if kept else 0), now + HISTORY_RETENTION)

    async def history(self, topic: str, after: str, limit: int) -> list[tuple[str, bytes]] | None:
        log = self._logs.get(topic, ())
        for index, (event_id, _) in enumerate(log):
            if event_id == after:
                return list(log)[index + 1 : index + 1 + limit]
        return None

    async def mark_present(self, key: str, ttl: float | None) -> None:
        if ttl is None:
            self._present.discard(key)
        else:
            self._present.add(key)  # one process: present until removed

    async def is_present(self, key: str) -> bool:
        return key in self._present

    async def close(self) -> None:
        self._deliver = None
