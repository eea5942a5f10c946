"""The backplane: how the workers of one deployment hear each other's broadcasts and topic items.

A backplane carries frames (bytes, already serialized) on named channels and hands every frame published on a
channel to each worker that listens to it, the publisher included. Delivery is at most once and in order per
publisher; nothing is stored (a worker that is not listening misses what is published meanwhile).

:class:`InProcessBackplane` is the default: one process, no broker, nothing to start; it behaves exactly as a
server without a backplane. :class:`~aiohttp_rpc.backplane.redis.RedisBackplane` spans processes and machines.
A second broker needs only the four methods of :class:`Backplane`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ('BROADCAST', 'Backplane', 'Deliver', 'InProcessBackplane', 'topic_channel')

logger = logging.getLogger('aiohttp_rpc.backplane')

BROADCAST = 'broadcast'
"""The channel of ``server.broadcast``."""

Deliver = Callable[[str, bytes], Awaitable[None]]
"""``async def deliver(channel, frame)``: what a backplane calls with each frame it hears."""


def topic_channel(topic: str) -> str:
    """The channel of ``server.publish(topic, ...)``."""
    return f'topic:{topic}'


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

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, channel: str, frame: bytes) -> None:
        if self._deliver is not None:
            await self._deliver(channel, frame)

    async def mark_present(self, key: str, ttl: float | None) -> None:
        if ttl is None:
            self._present.discard(key)
        else:
            self._present.add(key)  # one process: present until removed

    async def is_present(self, key: str) -> bool:
        return key in self._present

    async def close(self) -> None:
        self._deliver = None
