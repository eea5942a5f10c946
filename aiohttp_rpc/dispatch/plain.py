"""The lazy path: a call to a plain route, answered without a request object.

When every middleware of a server is transparent (see :class:`~aiohttp_rpc.dispatch.middleware.StepMiddleware`)
and a route is plain (nothing wraps the method, it takes no ``extra_kwargs``, and it is an ``async def`` called
as it is: :attr:`~aiohttp_rpc.BaseJSONRPCMethod.bare`), nothing between the message and the method can see the
request of a call that completes. :func:`start_plain` then calls the function with the message's params and
makes its result the reply; only a call that raises gets a request object (built by the pipeline, to hand the
exception to the middlewares as they would have seen it).

:func:`start_plain` is the C version from ``aiohttp_rpc._speedups`` when the extension is there (see
:mod:`aiohttp_rpc._native`), else :func:`start_plain_py`, the reference. In C a batch member costs its method's
coroutine and its reply, and no frame of ours: 0.55 against 0.85 µs per member of a batch of 100 ``ping``
(benchmarks: the in-process batch row).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Literal, Protocol, TypeAlias

from .._native import native
from ..methods.method import BaseJSONRPCMethod
from ..protocol.request import META, read_call
from ..protocol.response import result_reply
from .eager import send_none

__all__ = ('PlainEntry', 'Started', 'Waiting', 'start_plain', 'start_plain_py')

PlainEntry: TypeAlias = tuple[BaseJSONRPCMethod, Callable[..., Coroutine[Any, Any, Any]]]
"""A plain route in the table :func:`start_plain` reads: the method served, and its bare function."""

Waiting: TypeAlias = tuple[Coroutine[Any, Any, Any], Any, contextvars.Context]
"""A call whose first step waited: its coroutine, what that step yielded, and the context it runs in."""

Started: TypeAlias = 'dict[str, Any] | Waiting | Literal[False] | None'
"""What :func:`start_plain` gives: the reply, a :data:`Waiting` call, ``False`` (not a call it takes), or ``None``
(a notification that completed)."""


def start_plain_py(
    item: object, plain: Mapping[str, PlainEntry], methods: Mapping[str, BaseJSONRPCMethod], max_name_length: int, /
) -> Started:
    """The first step of ``item`` if it is a well-formed call to a plain route.

    ``plain`` maps names to :data:`PlainEntry`; an entry is used only while ``methods`` (the server's mapping,
    a ``dict``) still serves that very method, so a method set on it directly takes the full path.

    Returns:
        ``False`` when ``item`` is not such a call (or its params do not fit the function: the method
        itself then tells, on the full path); else the reply (``None`` for a notification) when the call
        completed in its first step, or the :data:`Waiting` call when it waits. The step runs in a copy of the
        current context, as a task of its own would run it.

    Raises:
        BaseException: whatever the method raised in its first step.
    """
    if type(item) is not dict or type(plain) is not dict or type(methods) is not dict:
        return False
    call = read_call(item)
    if call is None:
        return False
    name, request_id, args, kwargs = call
    entry = plain.get(name)
    if entry is None or len(name) > max_name_length or methods.get(name) is not entry[0] or META in kwargs:
        return False
    try:
        coro = entry[1](*args, **kwargs)
    except TypeError:  # calling an async def runs none of its code: nothing has happened yet
        return False
    own_context = contextvars.copy_context()
    finished, value = send_none(coro, own_context)
    if not finished:
        return coro, value, own_context
    return result_reply(request_id, value) if 'id' in item else None


class _StartPlain(Protocol):
    def __call__(
        self,
        item: object,
        plain: Mapping[str, PlainEntry],
        methods: Mapping[str, BaseJSONRPCMethod],
        max_name_length: int,
        /,
    ) -> Started: ...


start_plain: _StartPlain = native('start_plain') or start_plain_py
