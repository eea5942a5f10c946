"""Frames posted to a peer behind its backlog: what lets a broadcast go on without waiting for a slow peer.

:meth:`WSConnection.post <aiohttp_rpc.ws.WSConnection.post>` writes a frame at once while the connection's write
buffer has room; past its budget, frames queue here, in order, and one task sends them as room comes. A peer that
has not cleared its backlog ``timeout`` seconds after it began, or lets ``MAX_POSTED`` frames queue up, is
dropped: the connection is aborted, which ends the task.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable

from ..errors import TransportError
from .outbox import Outbox

__all__ = ('MAX_POSTED', 'Backlog')

MAX_POSTED = 1024
"""Frames queued behind one peer's backlog before the peer is dropped."""


class Backlog:
    """Frames waiting behind a backlog, the task that sends them in order, and the timer that drops the peer.

    Args:
        outbox: the connection's way out.
        timeout: seconds the peer has to clear the backlog (``None``: no time limit).
        too_slow: called when the time is up (it aborts the connection).
        done: called with this backlog once it is empty or has failed.
    """

    __slots__ = ('_done', '_outbox', 'frames', 'task', 'timer')

    def __init__(
        self,
        outbox: Outbox,
        timeout: float | None,
        too_slow: Callable[[], None],
        done: Callable[[Backlog], None],
    ) -> None:
        self.frames: collections.deque[bytes] = collections.deque()
        self._outbox = outbox
        self._done = done
        loop = asyncio.get_running_loop()
        self.timer = None if timeout is None else loop.call_later(timeout, too_slow)
        self.task = loop.create_task(self._send_all())

    @property
    def full(self) -> bool:
        """True once ``MAX_POSTED`` frames wait."""
        return len(self.frames) >= MAX_POSTED

    async def _send_all(self) -> None:
        try:
            while self.frames:
                await self._outbox.send(self.frames[0])
                self.frames.popleft()
        except TransportError:
            pass  # the connection closed: the frames go with it
        finally:
            if self.timer is not None:
                self.timer.cancel()
            self._done(self)
