"""The one path every call takes: message -> middleware chain -> route -> method -> reply.

Behind :meth:`Dispatcher.dispatch <aiohttp_rpc.dispatch.Dispatcher.dispatch>`. Two things make it cheap:

* A call's first step is taken by hand (:func:`~aiohttp_rpc.dispatch.eager.send_none`), in a copy of the
  current context, as a task of its own would run it. Most calls finish in that step and cost no timer and no
  task; a call that waits is finished under the call timeout by whoever awaits it.
* The request object is built lazily. When every middleware of the server is transparent (the built-in ones
  are: see :class:`~aiohttp_rpc.dispatch.middleware.StepMiddleware`) and the route is plain (a method
  nothing wraps, taking no ``extra_kwargs``), nothing between the message and the method can see the request
  of a call that completes: :func:`~aiohttp_rpc.dispatch.plain.start_plain` calls the method with the
  message's params, and its result is the reply. Only if it raises is the request built, and the exception
  handed to the middlewares exactly as it would have reached them (:meth:`Pipeline._failed_plain`). Any other
  call builds the request first and runs the chain.

The request object (or, on the lazy path, the message itself) is the call's record all the way: its id,
method name and whether it is a notification are read from it.

A transport that wants to know when an answer waits (the HTTP server cancels a call whose client has left, which
only a call that waits can be) passes an :data:`OnWait` hook: it is called when the answer starts to wait, and
what it returns when the answer stops. A call that completes at once never calls it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeAlias, TypeVar

from ..errors import CallTimeout, InternalError, InvalidRequest, JSONRPCError, RequestRejected, own_error
from ..protocol.context import RequestContext
from ..protocol.request import JSONRPCRequest, is_valid_id
from ..protocol.response import JSONRPCResponse, error_reply, result_reply
from ..typedefs import MiddlewareType
from .eager import DeadlineExceeded, Later, finish_within, run_all, send_none, start_watching
from .encoder import ReplyEncoder
from .middleware import build_chain, transparent
from .plain import Outcome, start_plain
from .routes import Routes

__all__ = ('OnWait', 'Pipeline', 'Reply')

logger = logging.getLogger('aiohttp_rpc.dispatch')

Reply: TypeAlias = dict[str, Any]
"""One JSON-ready reply object."""

OnWait: TypeAlias = Callable[[RequestContext], Callable[[], object]]
"""A transport's hook, called with the message's context, in the task awaiting the answer, when the answer starts
to wait (a call, or a batch member, did not complete in its first step); it returns what to call once the answer
has stopped waiting."""

T = TypeVar('T')

_NOT_AN_OBJECT = {'details': 'Data must be a dict.'}
_NOT_A_MESSAGE = {'details': 'Data must be a dict or a list.'}
_BATCH_TOO_LARGE = {'details': 'Batch too large.'}
_METHOD_TOO_LONG = {'details': 'Method name too long.'}


class Pipeline:
    """Answers decoded messages through one chain.

    Args:
        middlewares: the server's middlewares (its guards last), outermost first.
        routes: the route table, at the end of the chain.
        encoder: turns replies into bytes.
        call_timeout: seconds a call may run; ``None``: no limit.
        max_batch: requests one batch may hold; ``None``: no limit.
        batch_concurrency: batch members waiting at the same time; ``None``: no limit.
        max_method_length: characters a method name may have; ``None``: no limit.
    """

    __slots__ = (
        '_batch_concurrency',
        '_call_timeout',
        '_chain',
        '_encoder',
        '_lazy',
        '_max_batch',
        '_max_name_length',
        '_middlewares',
        '_routes',
        '_start',
    )

    def __init__(
        self,
        middlewares: tuple[MiddlewareType, ...],
        routes: Routes,
        encoder: ReplyEncoder,
        *,
        call_timeout: float | None,
        max_batch: int | None,
        batch_concurrency: int | None,
        max_method_length: int | None,
    ) -> None:
        self._middlewares = middlewares
        self._routes = routes
        self._chain = build_chain(middlewares, routes.handle)
        self._lazy = transparent(middlewares)  # the request is built only for calls that need it
        self._encoder = encoder
        self._call_timeout = call_timeout
        self._max_batch = max_batch
        self._batch_concurrency = batch_concurrency
        self._max_name_length = sys.maxsize if max_method_length is None else max_method_length
        # Starting one call (see _start_full); on the lazy path start_plain (in C when built) answers a plain call
        # itself and hands _otherwise the rest.
        self._start: Callable[[object, RequestContext], Reply | Later[Reply | None] | None] = (
            functools.partial(start_plain, routes.plain, routes.methods, self._max_name_length, self._otherwise)
            if self._lazy
            else self._start_full
        )

    async def answer(self, message: object, context: RequestContext, on_wait: OnWait | None = None) -> bytes | None:
        """The reply's bytes to one decoded message, or ``None`` when no reply is due.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        if type(message) is dict or isinstance(message, dict):
            output = self._start(message, context)
            if isinstance(output, Later):
                output = await (output.coro if on_wait is None else _waiting(output.coro, on_wait, context))
            return None if output is None else self._encoder.encode_reply(output)
        if isinstance(message, list):
            outputs = await self._batch(message, context, on_wait)
            return None if outputs is None else self._encoder.encode(outputs)
        return self._encoder.encode_reply(error_reply(None, InvalidRequest(data=_NOT_A_MESSAGE)))

    async def _batch(
        self, items: list[object], context: RequestContext, on_wait: OnWait | None
    ) -> list[Reply] | Reply | None:
        if not items:
            return error_reply(None, InvalidRequest())
        if self._max_batch is not None and len(items) > self._max_batch:
            return error_reply(None, InvalidRequest(data=_BATCH_TOO_LARGE))
        outputs: list[Reply | None] = [None] * len(items)
        await run_all(self._start, items, context, outputs, limit=self._batch_concurrency, on_wait=on_wait)
        return [output for output in outputs if output is not None] or None

    def _otherwise(self, item: object, context: RequestContext, outcome: Outcome) -> Reply | Later[Reply | None] | None:
        """The lazy path did not answer ``item`` itself: take the full path, finish the call that waits, or answer
        the one that raised."""
        if outcome is False:
            return self._start_full(item, context)
        assert isinstance(item, dict)  # only a call start_plain took has run
        if isinstance(outcome, BaseException):
            output = self._failed_plain(item, context, outcome)
            return output if 'id' in item else None
        return Later(self._finish_plain(item, context, *outcome))

    def _start_full(self, item: object, context: RequestContext) -> Reply | Later[Reply | None] | None:
        """Start one call on the full path: its reply (``None`` for a notification) when it finished at once,
        else a :class:`Later` that finishes it."""
        if not isinstance(item, dict):
            return error_reply(None, InvalidRequest(data=_NOT_AN_OBJECT))
        try:
            request = JSONRPCRequest.from_message(item, context)
        except JSONRPCError as exc:
            request_id = item.get('id')
            return error_reply(request_id if is_valid_id(request_id) else None, exc)
        if len(request.method) > self._max_name_length:
            return error_reply(request.id, InvalidRequest(data=_METHOD_TOO_LONG))
        own_context = contextvars.copy_context()  # as in a task of its own: ContextVars set here stay here
        try:
            coro = self._chain(request)
            finished, value = send_none(coro, own_context)
        except BaseException as exc:  # noqa: BLE001 - sorted by _failed, which re-raises what must go on
            output = self._failed(request, exc)
        else:
            if not finished:
                return Later(self._finish(request, coro, value, own_context))
            output = value.dump() if type(value) is JSONRPCResponse else self._completed(request, value)
        _release(request)
        return None if request.is_notification else output

    async def _finish(
        self,
        request: JSONRPCRequest,
        coro: Coroutine[Any, Any, JSONRPCResponse],
        yielded: object,
        own_context: contextvars.Context,
    ) -> Reply | None:
        """The rest of a call whose first step waited, under the call timeout."""
        try:
            response = await finish_within(coro, yielded, self._call_timeout, own_context)
        except BaseException as exc:  # noqa: BLE001 - sorted by _failed, which re-raises what must go on
            output = self._failed(request, exc)
        else:
            output = self._completed(request, response)
        _release(request)
        return None if request.is_notification else output

    async def _finish_plain(
        self,
        item: dict[str, Any],
        context: RequestContext,
        coro: Coroutine[Any, Any, Any],
        yielded: object,
        own_context: contextvars.Context,
    ) -> Reply | None:
        request_id = item.get('id')
        try:
            value = await finish_within(coro, yielded, self._call_timeout, own_context)
        except BaseException as exc:  # noqa: BLE001 - sorted by _failed_plain, which re-raises what must go on
            output = self._failed_plain(item, context, exc)
        else:
            output = result_reply(request_id, value)
        return None if request_id is None and 'id' not in item else output

    def _failed_plain(self, item: dict[str, Any], context: RequestContext, exc: BaseException) -> Reply:
        """The reply to a plain call that raised, as the full path gives it: a ``JSONRPCError`` is the reply's
        error (as :func:`~aiohttp_rpc.dispatch.routes.invoke` makes it); any other exception is handed to the
        middlewares, which see it come out of their handler, as they would have."""
        request = JSONRPCRequest.from_message(item, context)
        if isinstance(exc, JSONRPCError):
            return error_reply(request.id, own_error(exc, request.method))
        if not isinstance(exc, Exception) or isinstance(exc, (DeadlineExceeded, RequestRejected)):
            return self._failed(request, exc)

        async def reraise(request: JSONRPCRequest) -> JSONRPCResponse:
            raise exc

        replay = build_chain(self._middlewares, reraise)(request)
        try:
            finished, value = send_none(replay)  # transparent middlewares wait for nothing
        except BaseException as failure:  # noqa: BLE001 - sorted by _failed, which re-raises what must go on
            output = self._failed(request, failure)
        else:
            assert finished, 'a transparent middleware waited'
            output = self._completed(request, value)
        _release(request)
        return output

    def _completed(self, request: JSONRPCRequest, response: object) -> Reply:
        if isinstance(response, JSONRPCResponse):
            return response.dump()
        problem = TypeError(f'A middleware returned {type(response).__name__}, not JSONRPCResponse.')
        return self._failed(request, problem)

    def _failed(self, request: JSONRPCRequest, exc: BaseException) -> Reply:
        """The reply to a call that raised; re-raises what is not the call's own failure (a refusal of the whole
        message, our own cancellation, ``KeyboardInterrupt`` and the like)."""
        if isinstance(exc, JSONRPCError):
            return error_reply(request.id, exc)
        if isinstance(exc, DeadlineExceeded):
            # INFO: how many calls time out is up to clients, who must not control our WARNING volume.
            logger.info('Call timed out and was cancelled: method=%r id=%r', request.method, request.id)
            return error_reply(request.id, CallTimeout())
        if isinstance(exc, RequestRejected):
            raise exc
        if isinstance(exc, asyncio.CancelledError):
            if _being_cancelled():
                raise exc  # our own cancellation (client gone, shutdown): let it through
            # The method raised CancelledError itself; that is a failure of the method, not of the call.
            logger.error('Method raised CancelledError: method=%r id=%r', request.method, request.id, exc_info=exc)
            return error_reply(request.id, InternalError())
        if isinstance(exc, Exception):  # the one outer guard: nothing a method or middleware does escapes
            logger.error('Unhandled exception in method=%r id=%r', request.method, request.id, exc_info=exc)
            return error_reply(request.id, InternalError())
        raise exc


async def _waiting(coro: Coroutine[Any, Any, T], on_wait: OnWait, context: RequestContext) -> T:
    """Await ``coro`` between the call of ``on_wait`` and the call of what it returned, however it ends. A hook that
    raises fails the answer with its exception (``coro`` is closed, not left unawaited)."""
    stop_watching = start_watching(on_wait, context, coro)
    try:
        return await coro
    finally:
        stop_watching()


def _release(request: JSONRPCRequest) -> None:
    """Break the cycle ``inject_request_middleware`` makes (the request in its own ``extra_kwargs``) once the call
    is answered, so that the request and the context it holds (the aiohttp request: headers, transport, ...) are
    freed at once by reference counting rather than left to the cyclic garbage collector, whose runs then grow
    with every call in flight (measured: a third of HTTP ping throughput)."""
    extra_kwargs = request.extra_kwargs
    if extra_kwargs and extra_kwargs.get('rpc_request') is request:
        del extra_kwargs['rpc_request']


def _being_cancelled() -> bool:
    """Whether the current task has a cancellation request pending (always assumed on Python 3.10, which
    cannot tell)."""
    task = asyncio.current_task()
    cancelling = getattr(task, 'cancelling', None)
    return cancelling is None or bool(cancelling())
