"""Starting batch members: eagerly where the interpreter supports it.

Most JSON-RPC methods never suspend (``ping``, arithmetic, a dict lookup). On Python 3.12+ a batch member's
task is started eagerly (``asyncio.eager_task_factory``): it runs inline until it first waits, so a member that
never waits finishes without a trip through the event loop, while members that do wait still run
concurrently. ``asyncio.current_task()`` is correct in both phases, so ``asyncio.timeout()`` and friends inside
methods behave. On 3.10/3.11 members get ordinary tasks.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ('start_task',)

T = TypeVar('T')


def start_task(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Wrap ``coro`` in a task, running it eagerly up to its first suspension where supported."""
    loop = asyncio.get_running_loop()
    if sys.version_info >= (3, 12):
        return asyncio.eager_task_factory(loop, coro)
    return loop.create_task(coro)
