"""The middleware model and the built-in middlewares.

A middleware is ``async def mw(request, handler) -> response``, as in aiohttp: it may change the request
(``request.set_args_and_kwargs(...)``), answer without calling ``handler`` (short-circuit), or look at and
replace the response. The chain is built once, from closures, when the server is created.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import InternalError, JSONRPCError, RequestRejected
from ..protocol.response import JSONRPCResponse
from .call_log import make_logging_middleware

if TYPE_CHECKING:
    from ..protocol.request import JSONRPCRequest
    from ..typedefs import MiddlewareType, SingleRequestProcessorType

__all__ = (
    'DEFAULT_MIDDLEWARES',
    'Chain',
    'fold_default_middlewares',
    'build_chain',
    'exception_middleware',
    'inject_request_middleware',
    'logging_middleware',
)

logger = logging.getLogger('aiohttp_rpc.middlewares')


Chain = Callable[['JSONRPCRequest'], Coroutine[Any, Any, JSONRPCResponse]]
"""A built chain: calling it gives a coroutine (the dispatcher drives it step by step)."""


def build_chain(middlewares: Iterable[MiddlewareType], handler: Chain) -> Chain:
    """Compose ``middlewares`` around ``handler``; the first middleware is the outermost."""
    for middleware in reversed(tuple(middlewares)):
        handler = _link(middleware, handler)
    return handler


def fold_default_middlewares(
    middlewares: tuple[MiddlewareType, ...],
) -> tuple[tuple[MiddlewareType, ...], bool, bool]:
    """Take the built-in middlewares out of the chain where the dispatcher does the same work inline.

    Each middleware costs two coroutine frames per call. ``exception_middleware`` as the *outermost*
    middleware does exactly what the dispatcher's outer guard does; ``inject_request_middleware`` as the
    *innermost* one is one dict assignment the dispatcher makes before looking the method up. Anywhere else
    they stay in the chain, as given.

    Returns:
        ``(remaining middlewares, inject the request, exceptions handled by the guard)``.
    """
    remaining = list(middlewares)
    fused_exceptions = bool(remaining) and remaining[0] is exception_middleware
    if fused_exceptions:
        remaining.pop(0)
    inject_request = bool(remaining) and remaining[-1] is inject_request_middleware
    if inject_request:
        remaining.pop()
    return tuple(remaining), inject_request, fused_exceptions


def _link(middleware: MiddlewareType, downstream: SingleRequestProcessorType) -> Chain:
    async def step(request: JSONRPCRequest) -> JSONRPCResponse:
        return await middleware(request, downstream)

    step.__qualname__ = f'{getattr(middleware, "__qualname__", repr(middleware))}[chain]'
    return step


async def exception_middleware(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
    """Turn exceptions from further down the chain into error replies.

    A :class:`~aiohttp_rpc.errors.JSONRPCError` is sent as it is; anything else is logged with its
    traceback and answered with Internal error (-32603), its text never reaching the client.
    """
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


async def inject_request_middleware(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
    """Put the request itself in ``extra_kwargs['rpc_request']``.

    Methods receive it as the ``rpc_request`` keyword argument only when added with
    ``pass_extra_kwargs=True``.
    """
    request.extra_kwargs['rpc_request'] = request
    return await handler(request)


logging_middleware: MiddlewareType = make_logging_middleware()
"""Log one line per call at DEBUG on the ``aiohttp_rpc.middlewares`` logger: method, id, duration and outcome
(``ok`` or ``error <code>``), with the fields in ``record.rpc`` too. Bodies are not logged; for them (cut to 256
characters), another level or logger, use :func:`~aiohttp_rpc.dispatch.call_log.make_logging_middleware`.
Nothing is formatted when DEBUG is off."""


DEFAULT_MIDDLEWARES: tuple[MiddlewareType, ...] = (exception_middleware, inject_request_middleware)
"""What ``rpc_server`` uses: errors become replies, and methods can ask for ``rpc_request``."""
