"""Running calls without a task each, and finishing the ones that wait.

A task costs several microseconds of scheduling, and most JSON-RPC methods never wait for anything (``ping``,
arithmetic, a dict lookup). So the pipeline takes every call's first step by hand (:func:`send_none`): a call
that finishes there costs no task and no timer. One that waits is handed on as :class:`Later`, whose coroutine
finishes it under the call timeout (:func:`finish_within`) in whichever task awaits it.

A batch is run by :func:`run_all`: members are started one after another in the caller's task. The first
member that waits is finished in the caller's task too, so everything it entered before waiting
(``asyncio.timeout()``, a ``TaskGroup``: both bind to ``asyncio.current_task()``) still belongs to the task it
runs in; the members after it are handed to one new task, which repeats the same procedure. A batch therefore
uses as many tasks as it has members that actually wait, and none when none do.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Any, Generic, TypeVar

from .._native import native_or

__all__ = (
    'DeadlineExceeded',
    'Later',
    'deadline',
    'finish_within',
    'resume',
    'run_all',
    'send_none',
    'send_none_py',
    'start_watching',
)

T = TypeVar('T')
R = TypeVar('R')
A = TypeVar('A')


class Later(Generic[T]):
    """The rest of a call that waited: await :attr:`coro` (not yet started) for its outcome."""

    __slots__ = ('coro',)

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self.coro = coro


class resume(Generic[T]):
    """Await the rest of a coroutine that was started by hand with ``coro.send(None)`` and suspended,
    yielding ``yielded``.

    Everything the awaiting task receives (results of what the coroutine waits on, a cancellation) is passed
    on to the coroutine, exactly as if it had been awaited from the start. With ``context``, every step runs in
    that context (the one its first step ran in) rather than the awaiting task's.
    """

    __slots__ = ('_context', '_coro', '_yielded')

    def __init__(self, coro: Coroutine[Any, Any, T], yielded: Any, context: contextvars.Context | None = None) -> None:
        self._coro = coro
        self._yielded = yielded
        self._context = context

    def __await__(self) -> Generator[Any, Any, T]:
        coro, yielded, context = self._coro, self._yielded, self._context
        send: Callable[[Any], Any] = coro.send
        throw: Callable[[BaseException], Any] = coro.throw
        if context is not None:  # every step in the context the first one ran in

            def send(value: Any) -> Any:
                return context.run(coro.send, value)

            def throw(exc: BaseException) -> Any:
                return context.run(coro.throw, exc)

        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - whatever the task throws in (e.g. CancelledError) is handed on
                try:
                    yielded = throw(exc)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
            else:
                try:
                    yielded = send(sent)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]


class _Budget:
    """How many more batch members may wait at the same time (``None``: no limit)."""

    __slots__ = ('available',)

    def __init__(self, limit: int | None) -> None:
        self.available = limit

    def take(self) -> bool:
        if self.available is None:
            return True
        if self.available <= 0:
            return False
        self.available -= 1
        return True

    def give_back(self) -> None:
        if self.available is not None:
            self.available += 1


async def run_all(
    start: Callable[[Any, A], R | Later[R]],
    items: Sequence[Any],
    arg: A,
    results: list[R],
    *,
    limit: int | None = None,
    on_wait: Callable[[A], Callable[[], object]] | None = None,
) -> None:
    """Run every item concurrently, storing each result at its index in ``results``.

    ``start(item, arg)`` returns the item's result when it has it at once, or else a :class:`Later` whose
    coroutine computes it. At most about ``limit`` members wait at the same time; past that, a member that
    waits is finished before the next one starts. ``on_wait(arg)`` is called when the first member waits, and
    what it returned once every member is done.

    Raises:
        BaseException: whatever a member raised; the members still running are cancelled and awaited first.
    """
    await _run_from(start, items, arg, results, 0, _Budget(limit), on_wait)


async def _run_from(
    start: Callable[[Any, A], R | Later[R]],
    items: Sequence[Any],
    arg: A,
    results: list[R],
    index: int,
    budget: _Budget,
    on_wait: Callable[[A], Callable[[], object]] | None = None,
) -> None:
    stop_watching: Callable[[], object] | None = None
    try:
        while index < len(items):
            started = start(items[index], arg)
            if not isinstance(started, Later):
                results[index] = started
                index += 1
                continue
            if on_wait is not None and stop_watching is None:  # the first member that waits
                stop_watching = start_watching(on_wait, arg, started.coro)
            if index + 1 == len(items) or not budget.take():
                # The last member, or enough are waiting already: finish this one before starting more.
                results[index] = await started.coro
                index += 1
                continue
            # This member waits: the rest go on in a new task while this one finishes here, in our task.
            rest = asyncio.ensure_future(_run_from(start, items, arg, results, index + 1, budget))
            here = asyncio.current_task()
            assert here is not None
            rest.add_done_callback(functools.partial(_stop_on_failure, here=here))
            try:
                results[index] = await started.coro
            except BaseException:
                failure = rest.exception() if rest.done() and not rest.cancelled() else None
                if failure is not None:
                    # A later member failed and cancelled us to stop this one: report its failure, not ours.
                    _uncancel(here)
                    raise failure from None
                rest.cancel()
                await asyncio.wait([rest])
                raise
            finally:
                budget.give_back()
            await rest
            return
    finally:
        if stop_watching is not None:
            stop_watching()


def start_watching(
    on_wait: Callable[[A], Callable[[], object]], arg: A, waiting: Coroutine[Any, Any, Any]
) -> Callable[[], object]:
    """``on_wait(arg)``, a transport's hook, called as ``waiting`` (not yet awaited) is about to be: what it returns
    is to be called once the waiting is over. If the hook raises, ``waiting`` is closed before its exception goes
    on, rather than left never awaited."""
    try:
        return on_wait(arg)
    except BaseException:
        waiting.close()
        raise


class DeadlineExceeded(TimeoutError):
    """Raised by :func:`deadline` when time runs out (distinct from a ``TimeoutError`` the coroutine raises)."""


def send_none_py(coro: Coroutine[Any, Any, Any], context: contextvars.Context | None = None, /) -> tuple[bool, Any]:
    """One step of ``coro``, ``coro.send(None)``, run in ``context`` when given: ``(True, value returned)`` when it
    finished, ``(False, value yielded)`` when it waits. Its exceptions propagate as they are."""
    if context is not None:
        return context.run(send_none_py, coro)
    try:
        return False, coro.send(None)
    except StopIteration as stop:
        return True, stop.value


send_none = native_or(send_none_py, 'send_none')
""":func:`send_none_py` in C when the extension is there (see :mod:`aiohttp_rpc._native`): the same step told
apart by a flag instead of ``StopIteration``, which saves an exception object, a traceback entry and a handler
on every call that completes at once, and entering the context without the frame of ``Context.run`` (about
0.3 µs; benchmarks: the in-process dispatch rows)."""


async def deadline(coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
    """Await ``coro``, cancelling it if it runs longer than ``timeout`` seconds.

    The timer is armed only if the coroutine actually waits, so a call that completes at once costs no timer.
    Like ``asyncio.timeout()``, it cancels the current task on expiry and turns that cancellation into
    :class:`DeadlineExceeded`; a cancellation from elsewhere passes through unchanged.

    Raises:
        DeadlineExceeded: the time ran out (the coroutine has been cancelled); a ``TimeoutError``.
    """
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    return await finish_within(coro, yielded, timeout)


async def finish_within(
    coro: Coroutine[Any, Any, T],
    yielded: Any,
    timeout: float | None,
    context: contextvars.Context | None = None,
) -> T:
    """The second half of :func:`deadline`: ``coro`` was started by hand and suspended, yielding ``yielded``;
    with ``context``, its every step runs in that context (the one its first step ran in)."""
    if timeout is None:
        return await resume(coro, yielded, context)
    here = asyncio.current_task()
    assert here is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        here.cancel()

    timer = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        return await resume(coro, yielded, context)
    except asyncio.CancelledError:
        if expired:
            raise DeadlineExceeded from None
        raise
    finally:
        timer.cancel()
        if expired:
            _uncancel(here)


def _stop_on_failure(rest: asyncio.Task[None], *, here: asyncio.Task[Any]) -> None:
    """A later member failed while an earlier one is still running in ``here``: cancel that one too."""
    if not rest.cancelled() and rest.exception() is not None and not here.done():
        here.cancel()


def _uncancel(task: asyncio.Task[Any]) -> None:
    if sys.version_info >= (3, 11):
        task.uncancel()
