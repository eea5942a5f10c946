"""A structured call log: one line per JSON-RPC call, with its method, id, duration and outcome.

Stdlib only (no aiohttp), so every layer may use it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ..constants import NOTHING
from ..errors import InternalError, JSONRPCError, RequestRejected

if TYPE_CHECKING:
    from ..protocol.request import JSONRPCRequest
    from ..protocol.response import JSONRPCResponse
    from ..typedefs import MiddlewareType, SingleRequestProcessorType

__all__ = ('DEFAULT_BODY_LIMIT', 'DEFAULT_LOGGER_NAME', 'make_logging_middleware')

DEFAULT_LOGGER_NAME = 'aiohttp_rpc.middlewares'
"""The logger calls are logged on unless another is given (the one ``logging_middleware`` has always used)."""

DEFAULT_BODY_LIMIT = 256
"""Characters of params, a result or an error a line shows."""

_ESCAPED = InternalError()
"""What the client is sent for an exception that escapes the chain."""


def make_logging_middleware(
    logger: logging.Logger | None = None,
    level: int = logging.DEBUG,
    log_bodies: bool = False,
    body_limit: int = DEFAULT_BODY_LIMIT,
) -> MiddlewareType:
    """A middleware logging exactly one line per call, once it is answered.

    The line reads ``JSON-RPC 'add' id=1 -> ok in 0.084 ms`` (or ``-> error -32601``, ``-> cancelled`` when the
    call was cancelled, e.g. by ``call_timeout``, ``-> rejected`` when a middleware raised ``RequestRejected``).
    The method name and id are shown with ``repr``, so a client cannot forge log lines with them. The same
    fields go to ``extra={'rpc': {...}}`` for structured handlers: ``method``, ``id``, ``duration_ms``,
    ``outcome`` (``'ok'``, ``'error'``, ``'cancelled'``, ``'rejected'``) and ``code`` (the error code or
    ``None``), plus the bodies when asked for. Nothing is formatted, nor timed, while ``level`` is disabled on
    the logger.

    Put it first in the list so that it sees every call the way the client does.

    Args:
        logger: where to log; ``logging.getLogger('aiohttp_rpc.middlewares')`` by default.
        level: the level of every line (DEBUG).
        log_bodies: also log the params and the result (or error object), each cut to ``body_limit``
            characters; off by default, as they may hold personal data or secrets.
        body_limit: characters of each body a line shows.

    Example::

        server = JSONRPCServer(middlewares=[
            make_logging_middleware(logging.getLogger('api.calls'), logging.INFO, log_bodies=True),
            *DEFAULT_MIDDLEWARES,
        ])
    """
    log = logging.getLogger(DEFAULT_LOGGER_NAME) if logger is None else logger

    async def call_log_middleware(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        if not log.isEnabledFor(level):
            return await handler(request)
        started = time.perf_counter()
        response: JSONRPCResponse | None = None
        error: JSONRPCError | None = _ESCAPED
        outcome = 'error'
        try:
            response = await handler(request)
            error = response.error
            outcome = 'ok' if error is None else 'error'
            return response
        except JSONRPCError as exc:
            error = exc
            raise
        except asyncio.CancelledError:
            error, outcome = None, 'cancelled'
            raise
        except RequestRejected:
            error, outcome = None, 'rejected'
            raise
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            code = None if error is None else error.code
            fields: dict[str, Any] = {
                'method': request.method,
                'id': request.id,
                'duration_ms': round(duration_ms, 3),
                'outcome': outcome,
                'code': code,
            }
            template = 'JSON-RPC %r id=%r -> %s in %.3f ms'
            args: list[Any] = [
                request.method,
                request.id,
                outcome if code is None else f'{outcome} {code}',
                duration_ms,
            ]
            if log_bodies:
                bodies = _bodies(request, response, error, body_limit)
                fields.update(bodies)
                template += ' %s=%s' * len(bodies)
                for name_and_text in bodies.items():
                    args.extend(name_and_text)
            log.log(level, template, *args, extra={'rpc': fields})

    return call_log_middleware


def _bodies(
    request: JSONRPCRequest, response: JSONRPCResponse | None, error: JSONRPCError | None, limit: int
) -> dict[str, str]:
    bodies = {} if request.params is NOTHING else {'params': _excerpt(request.params, limit)}
    if error is not None:
        bodies['error'] = _excerpt(error.to_dict(), limit)
    elif response is not None:
        bodies['result'] = _excerpt(response.result, limit)
    return bodies


def _excerpt(value: Any, limit: int) -> str:
    text = repr(value)
    return text if len(text) <= limit else f'{text[:limit]}... ({len(text)} characters)'
