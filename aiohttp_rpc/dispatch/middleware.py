"""The middleware model and the built-in middlewares.

A middleware is ``async def mw(request, handler) -> response``, as in aiohttp: it may change the request
(``request.set_args_and_kwargs(...)``), answer without calling ``handler`` (short-circuit), or look at and
replace the response. The chain is built once, from closures, when the server is created.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, cast

from ..errors import InternalError, JSONRPCError, RequestRejected
from ..protocol.response import JSONRPCResponse
from .call_log import make_logging_middleware

if TYPE_CHECKING:
    from ..protocol.request import JSONRPCRequest
    from ..typedefs import MiddlewareType, SingleRequestProcessorType

__all__ = (
    'DEFAULT_MIDDLEWARES',
    'Chain',
    'StepMiddleware',
    'build_chain',
    'exception_middleware',
    'inject_request_middleware',
    'logging_middleware',
    'transparent',
)

logger = logging.getLogger('aiohttp_rpc.middlewares')


Chain = Callable[['JSONRPCRequest'], Coroutine[Any, Any, JSONRPCResponse]]
"""A built chain: calling it gives a coroutine, not yet started (the pipeline takes its first step by hand)."""

_Step = Callable[['JSONRPCRequest', Chain], Coroutine[Any, Any, JSONRPCResponse]]


def build_chain(middlewares: Iterable[MiddlewareType], handler: Chain) -> Chain:
    """Compose ``middlewares`` around ``handler``; the first middleware is the outermost.

    Each link is a plain function handing the request to its middleware, so a middleware costs one coroutine
    frame per call, its own (a :class:`StepMiddleware` with nothing to do afterwards, not even that).
    """
    for middleware in reversed(tuple(middlewares)):
        handler = _link(middleware, handler)
    return handler


def transparent(middlewares: Iterable[MiddlewareType]) -> bool:
    """Whether every one of ``middlewares`` is transparent (see :class:`StepMiddleware`)."""
    return all(isinstance(middleware, StepMiddleware) and middleware.transparent for middleware in middlewares)


class StepMiddleware:
    """A middleware given by how it wraps the rest of the chain: ``build(handler) -> step``, called once, when a
    chain is built (as Starlette builds its middleware stack), so that a middleware with nothing to do after its
    handler costs no coroutine of its own per call.

    Called the 2.0 way, ``await middleware(request, handler)``, it builds a step around ``handler`` and runs it.

    Args:
        build: ``build(handler) -> step``; ``step(request)`` returns the coroutine answering the request.
        name: the middleware's name (in ``repr`` and logs); by default ``build``'s.
        transparent: a promise about every step: it waits for nothing but its handler, and for a call that
            completes without raising, it changes nothing that a method taking no ``extra_kwargs`` can see (it
            passes the handler's response on untouched). Only the exceptions of such a call reach it. The
            pipeline then answers a call to such a method without building the request object, and builds it
            only to hand an exception to these steps (see :mod:`~aiohttp_rpc.dispatch.pipeline`).
    """

    def __init__(self, build: Callable[[Chain], Chain], *, name: str | None = None, transparent: bool = False):
        self._build = build
        self.transparent = transparent
        self.__name__ = self.__qualname__ = build.__name__ if name is None else name
        self.__doc__ = build.__doc__

    def wrap(self, handler: Chain) -> Chain:
        """The step this middleware puts in front of ``handler``."""
        return self._build(handler)

    def __call__(self, request: JSONRPCRequest, handler: SingleRequestProcessorType, /) -> Awaitable[JSONRPCResponse]:
        async def rest(request: JSONRPCRequest) -> JSONRPCResponse:
            return await handler(request)

        return self._build(rest)(request)

    def __repr__(self) -> str:
        return f'<middleware {self.__qualname__}>'


def _link(middleware: MiddlewareType, downstream: Chain) -> Chain:
    if isinstance(middleware, StepMiddleware):
        return middleware.wrap(downstream)
    if inspect.iscoroutinefunction(middleware):
        run = cast(_Step, middleware)  # an ``async def``: calling it gives the coroutine the chain needs

        def link(request: JSONRPCRequest) -> Coroutine[Any, Any, JSONRPCResponse]:
            return run(request, downstream)

    else:  # a callable object or a sync function handing back an awaitable

        async def link(request: JSONRPCRequest) -> JSONRPCResponse:
            return await middleware(request, downstream)

    link.__qualname__ = f'{getattr(middleware, "__qualname__", repr(middleware))}[chain]'
    return link


def _exception_step(handler: Chain) -> Chain:
    """Turn exceptions from further down the chain into error replies.

    A :class:`~aiohttp_rpc.errors.JSONRPCError` is sent as it is; anything else is logged with its traceback
    and answered with Internal error (-32603), its text never reaching the client.
    """

    async def exception_middleware(request: JSONRPCRequest) -> JSONRPCResponse:
        try:
            return await handler(request)
        except JSONRPCError as exc:
            logger.debug('JSON-RPC error from a middleware: method=%r id=%r error=%r', request.method, request.id, exc)
            return JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, error=exc)
        except RequestRejected:
            raise
        except Exception:
            logger.exception('Unhandled exception in method=%r id=%r', request.method, request.id)
            return JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, error=InternalError())

    return exception_middleware


exception_middleware = StepMiddleware(_exception_step, name='exception_middleware', transparent=True)


def _inject_request_step(handler: Chain) -> Chain:
    """Put the request itself in ``extra_kwargs['rpc_request']``.

    Methods receive it as the ``rpc_request`` keyword argument only when added with ``pass_extra_kwargs=True``.
    """

    def inject_request_middleware(request: JSONRPCRequest) -> Coroutine[Any, Any, JSONRPCResponse]:
        request.extra_kwargs['rpc_request'] = request
        return handler(request)  # nothing to do afterwards: no coroutine of our own

    return inject_request_middleware


inject_request_middleware = StepMiddleware(_inject_request_step, name='inject_request_middleware', transparent=True)


logging_middleware: MiddlewareType = make_logging_middleware()
"""Log one line per call at DEBUG on the ``aiohttp_rpc.middlewares`` logger: method, id, duration and outcome
(``ok`` or ``error <code>``), with the fields in ``record.rpc`` too. Bodies are not logged; for them (cut to 256
characters), another level or logger, use :func:`~aiohttp_rpc.dispatch.call_log.make_logging_middleware`.
Nothing is formatted when DEBUG is off."""


DEFAULT_MIDDLEWARES: tuple[MiddlewareType, ...] = (exception_middleware, inject_request_middleware)
"""What ``rpc_server`` uses: errors become replies, and methods can ask for ``rpc_request``."""
