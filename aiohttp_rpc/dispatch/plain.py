"""The lazy path: a call to a plain route, answered without a request object.

When every middleware of a server is transparent (see :class:`~aiohttp_rpc.dispatch.middleware.StepMiddleware`)
and a route is plain (nothing wraps the method and it takes no ``extra_kwargs``), nothing between the message
and the method can see the request of a call that completes. :func:`start_plain` then calls the method's
:attr:`~aiohttp_rpc.BaseJSONRPCMethod.bare` function with the message's params and makes its result the reply.
Every other outcome goes to the pipeline: a call that is not one of these takes the full path (a request
object and the middleware chain), a call that waits is finished later, and only a call that raises gets a
request object, to hand the exception to the middlewares as they would have seen it.

:func:`start_plain` is the C version from ``aiohttp_rpc._speedups`` when the extension is there (see
:mod:`aiohttp_rpc._native`), else :func:`start_plain_py`, the reference. In C a batch member costs its method's
coroutine and its reply, and no Python frame of ours (benchmarks: the in-process batch row).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Literal, TypeAlias, TypeVar

from .._native import native_or
from ..methods.method import BaseJSONRPCMethod
from ..protocol.request import META, read_call
from ..protocol.response import result_reply
from .eager import send_none

__all__ = ('Outcome', 'PlainEntry', 'Waiting', 'start_plain', 'start_plain_py')

C = TypeVar('C')
R = TypeVar('R')

PlainEntry: TypeAlias = tuple[BaseJSONRPCMethod, Callable[..., Coroutine[Any, Any, Any]]]
"""A plain route in the table :func:`start_plain` reads: the method served, and its bare function."""

Waiting: TypeAlias = tuple[Coroutine[Any, Any, Any], Any, contextvars.Context]
"""A call whose first step waited: its coroutine, what that step yielded, and the context it runs in."""

Outcome: TypeAlias = 'Literal[False] | Waiting | BaseException'
"""What the pipeline is handed when :func:`start_plain` does not answer a call itself: ``False`` (not a call it
takes; nothing has run), a :data:`Waiting` call, or the exception the call raised."""


def start_plain_py(
    plain: Mapping[str, PlainEntry],
    methods: Mapping[str, BaseJSONRPCMethod],
    max_name_length: int,
    otherwise: Callable[[object, C, Outcome], R],
    item: object,
    context: C,
    /,
) -> dict[str, Any] | R | None:
    """The first step of ``item``: its reply when it is a well-formed call to a plain route that completes in
    that step (``None`` for a notification), else ``otherwise(item, context, outcome)``.

    ``plain`` maps names to :data:`PlainEntry`; an entry is used only while ``methods`` (the server's mapping,
    a ``dict``) still serves that very method, so a method set on it directly takes the full path. A call whose
    params do not fit the function is not taken either (calling an ``async def`` runs none of its code): on the
    full path the method itself says how they do not fit. The step runs in a copy of the current context, as a
    task of its own would run it.
    """
    try:
        outcome = _first_step(item, plain, methods, max_name_length)
    except BaseException as exc:  # noqa: BLE001 - the call's own failure: the pipeline sorts it
        return otherwise(item, context, exc)
    if outcome is False or isinstance(outcome, tuple):
        return otherwise(item, context, outcome)
    return outcome


def _first_step(
    item: object, plain: Mapping[str, PlainEntry], methods: Mapping[str, BaseJSONRPCMethod], max_name_length: int
) -> dict[str, Any] | Waiting | Literal[False] | None:
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


start_plain = native_or(start_plain_py, 'start_plain')
