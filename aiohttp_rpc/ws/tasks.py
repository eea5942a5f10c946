"""The tasks a connection runs for its peer: at most ``max_in_flight`` at once, started eagerly where asyncio
can (Python 3.12+), cancelled and awaited when the connection closes."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
from collections.abc import Coroutine
from typing import Any

__all__ = ('EAGER', 'RequestTasks', 'start_task')

logger = logging.getLogger('aiohttp_rpc.websocket')

EAGER = sys.version_info >= (3, 12)
"""Whether :func:`start_task` runs a task's first step before it returns."""

if sys.version_info >= (3, 12):

    def start_task(coro: Coroutine[Any, Any, None], context: contextvars.Context) -> asyncio.Task[None]:
        """Run ``coro`` in a new task, in ``context``, at once up to its first wait: a call that does not wait is
        over before this returns."""
        return asyncio.Task(coro, loop=asyncio.get_running_loop(), context=context, eager_start=True)

elif sys.version_info >= (3, 11):

    def start_task(coro: Coroutine[Any, Any, None], context: contextvars.Context) -> asyncio.Task[None]:
        """Run ``coro`` in a new task, in ``context``."""
        return asyncio.get_running_loop().create_task(coro, context=context)

else:  # pragma: no cover - Python 3.10

    def start_task(coro: Coroutine[Any, Any, None], context: contextvars.Context) -> asyncio.Task[None]:
        """Run ``coro`` in a new task, in ``context``."""
        return context.run(asyncio.get_running_loop().create_task, coro)


class RequestTasks:
    """The running tasks of one connection's peer: its requests that may wait, and the 2.0 hooks.

    Args:
        limit: tasks running at once (``None``: no limit); :meth:`start` waits while it is reached.
        context: the context each task gets a copy of.
    """

    __slots__ = ('_context', '_failed', '_slots', '_tasks')

    def __init__(self, limit: int | None, context: contextvars.Context) -> None:
        self._slots = asyncio.Semaphore(limit) if limit else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._context = context
        self._failed = False

    def __len__(self) -> int:
        return len(self._tasks)

    async def start(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in a task of its own, once a slot is free, and let it take its first step.

        Its first step runs before this returns: a call that does not wait has written its reply by then, so a
        reader that checks its byte budget next checks it against that reply (Python < 3.12 has no eager tasks:
        one turn of the event loop does it).
        """
        if self._slots is not None:
            try:
                await self._slots.acquire()  # at the limit: the reader waits here, reading nothing
            except BaseException:
                coro.close()  # never started: nothing of it has run
                raise
        task = start_task(coro, self._context.copy())
        if task.done():  # started eagerly and already over
            self._done(task)
            return
        self._tasks.add(task)
        task.add_done_callback(self._done)
        if not EAGER:
            await asyncio.sleep(0)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._slots is not None:
            self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            # Only a 2.0 hook (user code) can fail here; reported once per connection, so a peer cannot make the
            # log grow by sending more messages.
            log = logger.debug if self._failed else logger.error
            self._failed = True
            log('A WebSocket message hook raised', exc_info=task.exception())

    async def cancel_all(self, *others: asyncio.Task[None]) -> None:
        """Cancel every task (and ``others``) but the current one, and wait for them to end."""
        current = asyncio.current_task()
        tasks = [task for task in (*self._tasks, *others) if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
