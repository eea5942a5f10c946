"""The one path every call takes: request object -> middleware chain -> route -> method -> reply.

Behind :meth:`Dispatcher.dispatch <aiohttp_rpc.dispatch.Dispatcher.dispatch>`. The only trick is how a call is
started: its first step is taken by hand (:func:`~aiohttp_rpc.dispatch.eager.send_none`), in a copy of the
current context, as a task of its own would run it. Most calls finish in that step and cost no timer and no
task; a call that waits is finished under the call timeout by whoever awaits it. The request object is the
call's record all the way: its id, method name and whether it is a notification are read from it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
from collections.abc import Coroutine
from typing import Any, TypeAlias

from ..errors import CallTimeout, InternalError, InvalidRequest, JSONRPCError, RequestRejected
from ..protocol.context import RequestContext
from ..protocol.request import JSONRPCRequest, is_valid_id
from ..protocol.response import JSONRPCResponse, error_reply
from .eager import DeadlineExceeded, Later, finish_within, run_all, send_none
from .encoder import ReplyEncoder
from .middleware import Chain

__all__ = ('Pipeline', 'Reply')

logger = logging.getLogger('aiohttp_rpc.dispatch')

Reply: TypeAlias = dict[str, Any]
"""One JSON-ready reply object."""

_NOT_AN_OBJECT = {'details': 'Data must be a dict.'}
_NOT_A_MESSAGE = {'details': 'Data must be a dict or a list.'}
_BATCH_TOO_LARGE = {'details': 'Batch too large.'}
_METHOD_TOO_LONG = {'details': 'Method name too long.'}


class Pipeline:
    """Answers decoded messages through one chain.

    Args:
        chain: the server's middlewares around the route table, built once.
        encoder: turns replies into bytes.
        call_timeout: seconds a call may run; ``None``: no limit.
        max_batch: requests one batch may hold; ``None``: no limit.
        batch_concurrency: batch members waiting at the same time; ``None``: no limit.
        max_method_length: characters a method name may have; ``None``: no limit.
    """

    __slots__ = ('_batch_concurrency', '_call_timeout', '_chain', '_encoder', '_max_batch', '_max_name_length')

    def __init__(
        self,
        chain: Chain,
        encoder: ReplyEncoder,
        *,
        call_timeout: float | None,
        max_batch: int | None,
        batch_concurrency: int | None,
        max_method_length: int | None,
    ) -> None:
        self._chain = chain
        self._encoder = encoder
        self._call_timeout = call_timeout
        self._max_batch = max_batch
        self._batch_concurrency = batch_concurrency
        self._max_name_length = sys.maxsize if max_method_length is None else max_method_length

    async def answer(self, message: object, context: RequestContext) -> bytes | None:
        """The reply's bytes to one decoded message, or ``None`` when no reply is due.

        Raises:
            RequestRejected: a middleware refused the message at the transport level.
        """
        if type(message) is dict or isinstance(message, dict):
            output = self._start(message, context)
            if isinstance(output, Later):
                output = await output.coro
            return None if output is None else self._encoder.encode_reply(output)
        if isinstance(message, list):
            outputs = await self._batch(message, context)
            return None if outputs is None else self._encoder.encode(outputs)
        return self._encoder.encode_reply(error_reply(None, InvalidRequest(data=_NOT_A_MESSAGE)))

    async def _batch(self, items: list[object], context: RequestContext) -> list[Reply] | Reply | None:
        if not items:
            return error_reply(None, InvalidRequest())
        if self._max_batch is not None and len(items) > self._max_batch:
            return error_reply(None, InvalidRequest(data=_BATCH_TOO_LARGE))
        outputs: list[Reply | None] = [None] * len(items)
        await run_all(self._start, items, context, outputs, limit=self._batch_concurrency)
        return [output for output in outputs if output is not None] or None

    def _start(self, item: object, context: RequestContext) -> Reply | Later[Reply | None] | None:
        """Start one call: its reply (``None`` for a notification) when it finished at once, else a
        :class:`Later` that finishes it."""
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
            finished, value = own_context.run(send_none, coro)
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
            logger.warning('Call timed out and was cancelled: method=%r id=%r', request.method, request.id)
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
