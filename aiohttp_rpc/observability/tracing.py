"""OpenTelemetry tracing for JSON-RPC servers: one span per call, and one per HTTP request around a batch.

Needs the ``tracing`` extra: ``pip install "aiohttp-rpc[tracing]"`` (the OpenTelemetry API; install and set up
an SDK to export spans).

Example::

    from aiohttp_rpc.observability.tracing import tracing_middleware, tracing_web_middleware

    server = JSONRPCServer(middlewares=[tracing_middleware(), *DEFAULT_MIDDLEWARES])
    app = web.Application(middlewares=[tracing_web_middleware()])   # optional: a span per HTTP request
    app.router.add_post('/rpc', server.handle_http_request)

Why two middlewares: the members of a batch go through the JSON-RPC middleware one by one, and the first one
cannot know whether others follow, yet its span has to be started (and made current, so that the spans of what
the method does nest under it) before the method runs. A parent for the batch can only be opened by something
that sees the whole message: over HTTP, the request. The web middleware opens one span per HTTP request, and
every call of that request becomes its child; without it, the calls of a batch are siblings under the caller's
span (from ``traceparent``), or separate traces when the caller sends none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web

from ..errors import InternalError, JSONRPCError, RequestRejected
from ..protocol.context import HTTP_REQUEST

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.propagate import extract
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError as exc:
    raise ImportError(
        'aiohttp_rpc.observability.tracing needs opentelemetry-api: pip install "aiohttp-rpc[tracing]"'
    ) from exc

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler, Middleware

    from ..protocol.request import JSONRPCRequest
    from ..protocol.response import JSONRPCResponse
    from ..typedefs import MiddlewareType, SingleRequestProcessorType

__all__ = ('INSTRUMENTATION_NAME', 'tracing_middleware', 'tracing_web_middleware')

INSTRUMENTATION_NAME = 'aiohttp_rpc'
"""The name spans are reported under (the OpenTelemetry instrumentation scope)."""

_INTERNAL_ERROR = InternalError()
_START_KEY = '_aiohttp_rpc_trace_start'  # in request.context: where the calls of that message start
_ORIGIN = otel_context.create_key('aiohttp_rpc.origin')  # in the context of a call: the context it started from


def tracing_middleware(
    tracer_provider: trace.TracerProvider | None = None, *, propagate: bool = True
) -> MiddlewareType:
    """A JSON-RPC middleware tracing each call as a span named after the method.

    Attributes follow the OpenTelemetry conventions for JSON-RPC: ``rpc.system`` (``'jsonrpc'``),
    ``rpc.method``, ``rpc.jsonrpc.version``, ``rpc.jsonrpc.request_id`` (not for notifications), and on an error
    reply ``rpc.jsonrpc.error_code`` and ``rpc.jsonrpc.error_message`` with the status ERROR. An exception that
    escapes the chain is recorded on the span (the client gets -32603); a cancelled call (``call_timeout``, the
    client gone) ends with the status ERROR ``'Cancelled'``.

    The parent: the span current when the message arrived, if any (from :func:`tracing_web_middleware`, or any
    HTTP instrumentation), and the call span is then ``INTERNAL``; otherwise the caller's span from the
    ``traceparent`` header of the HTTP request (over WebSocket, of the handshake), or none, and the call span is
    ``SERVER``. The calls of a batch share that parent; a call is never the parent of another call.

    Put it first in the list, so that the span covers the whole call.

    Args:
        tracer_provider: where spans go; the global provider by default (looked up when spans are made, so it
            may be set up after this is called).
        propagate: continue the caller's trace from the ``traceparent`` header (W3C Trace Context, or whatever
            propagator is configured); ``False`` ignores it.
    """
    tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=tracer_provider)

    async def tracing(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        origin, parent, kind = _start_of(request, propagate)
        span = tracer.start_span(request.method, context=parent, kind=kind, attributes=_call_attributes(request))
        token = otel_context.attach(otel_context.set_value(_ORIGIN, origin, trace.set_span_in_context(span, parent)))
        try:
            response = await handler(request)
            if response.error is not None:
                _set_error(span, response.error)
            return response
        except JSONRPCError as exc:  # raised with no exception_middleware below: sent as it is
            _set_error(span, exc)
            raise
        except asyncio.CancelledError:
            span.set_status(Status(StatusCode.ERROR, 'Cancelled'))
            raise
        except RequestRejected as exc:
            span.set_status(Status(StatusCode.ERROR, f'Rejected with HTTP {exc.status}'))
            raise
        except Exception as exc:  # observed, not handled: the dispatcher answers it with -32603
            span.record_exception(exc)
            _set_error(span, _INTERNAL_ERROR)
            raise
        finally:
            otel_context.detach(token)
            span.end()

    return tracing


def tracing_web_middleware(
    tracer_provider: trace.TracerProvider | None = None, *, propagate: bool = True
) -> Middleware:
    """An aiohttp middleware tracing each HTTP request as a ``SERVER`` span, so that the calls of a batch share
    a parent: add it to the application (or sub-application) that serves JSON-RPC over HTTP.

    The span is named ``'{method} {route}'`` (``'POST /rpc'``) with ``http.request.method``, ``http.route``,
    ``url.path`` and ``http.response.status_code``; a 5xx status or an exception makes it ERROR. WebSocket
    handshakes are left alone: a span would last as long as the socket.

    Leave it out if the application already has HTTP server spans (e.g. from
    ``opentelemetry-instrumentation-aiohttp-server``): :func:`tracing_middleware` nests under those the same way.

    Args:
        tracer_provider, propagate: see :func:`tracing_middleware`.
    """
    tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=tracer_provider)

    @web.middleware
    async def trace_http_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get(hdrs.UPGRADE, '').lower() == 'websocket':
            return await handler(request)
        resource = request.match_info.route.resource
        route = request.path if resource is None else resource.canonical
        span = tracer.start_span(
            f'{request.method} {route}',
            context=extract(request.headers) if propagate else None,
            kind=SpanKind.SERVER,
            attributes={'http.request.method': request.method, 'http.route': route, 'url.path': request.path},
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            response = await handler(request)
            _set_http_status(span, response.status)
            return response
        except web.HTTPException as exc:
            _set_http_status(span, exc.status)
            raise
        except Exception as exc:  # observed, not handled: aiohttp answers it with 500
            span.record_exception(exc)
            _set_http_status(span, web.HTTPInternalServerError.status_code)
            raise
        finally:
            otel_context.detach(token)
            span.end()

    return trace_http_request


def _start_of(request: JSONRPCRequest, propagate: bool) -> tuple[Context, Context, SpanKind]:
    """Where a call's span starts: ``(origin, parent context, kind)``, settled once per message.

    The origin is the context the message arrived in. It is *not* simply the current context: the dispatcher
    starts calls (later batch members, later WebSocket messages) while a call that waits is suspended in the
    same task, with that call's span still current. So every call records its origin in the context it makes
    current, and a call that starts inside another one's context starts from that one's origin instead: calls
    are never each other's parents.
    """
    shared = request.context
    start: tuple[Context, Context, SpanKind] | None = shared.get(_START_KEY)
    if start is not None:
        return start
    current = otel_context.get_current()
    enclosing = otel_context.get_value(_ORIGIN, current)
    origin = enclosing if isinstance(enclosing, Context) else current
    span_context = trace.get_current_span(origin).get_span_context()
    http_request = shared.get(HTTP_REQUEST)
    if span_context.is_valid and not span_context.is_remote:  # e.g. the HTTP request's span
        start = (origin, origin, SpanKind.INTERNAL)
    elif propagate and http_request is not None:
        start = (origin, extract(http_request.headers, context=origin), SpanKind.SERVER)
    else:
        start = (origin, origin, SpanKind.SERVER)
    shared[_START_KEY] = start
    return start


def _call_attributes(request: JSONRPCRequest) -> Mapping[str, Any]:
    attributes = {'rpc.system': 'jsonrpc', 'rpc.method': request.method, 'rpc.jsonrpc.version': request.jsonrpc}
    if request.id is not None:
        attributes['rpc.jsonrpc.request_id'] = str(request.id)
    return attributes


def _set_error(span: Span, error: JSONRPCError) -> None:
    span.set_attribute('rpc.jsonrpc.error_code', error.code)
    span.set_attribute('rpc.jsonrpc.error_message', error.message)
    span.set_status(Status(StatusCode.ERROR, error.message))


def _set_http_status(span: Span, status: int) -> None:
    span.set_attribute('http.response.status_code', status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
