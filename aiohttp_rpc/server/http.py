"""JSON-RPC over HTTP POST: :class:`JSONRPCServer` and the module-level :data:`rpc_server`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from concurrent.futures import Executor

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy

from ..dispatch.context import ContextFactory
from ..dispatch.dispatcher import (
    DEFAULT_BATCH_CONCURRENCY,
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_METHOD_LENGTH,
)
from ..dispatch.eager import DeadlineExceeded, deadline
from ..dispatch.encoder import DEFAULT_MAX_BATCH_RESPONSE_SIZE, DEFAULT_MAX_RESPONSE_SIZE
from ..dispatch.middleware import DEFAULT_MIDDLEWARES
from ..errors import InvalidRequest, RequestRejected
from ..methods.method import BaseJSONRPCMethod, Guard
from ..protocol.context import RequestContext
from ..protocol.response import error_reply
from ..serialization import json_deserialize, json_serialize
from ..typedefs import JSONDecoderType, JSONEncoderType, MiddlewareType
from .base import BaseJSONRPCServer
from .departures import Departures

__all__ = (
    'DEFAULT_BODY_TIMEOUT',
    'DEFAULT_WRITE_TIMEOUT',
    'DEFAULT_CONTENT_TYPES',
    'DEFAULT_MAX_BODY_SIZE',
    'JSONRPCServer',
    'rpc_server',
)

logger = logging.getLogger('aiohttp_rpc.server')

DEFAULT_CONTENT_TYPES = frozenset({'application/json', 'application/json-rpc', 'application/jsonrequest'})
"""Content types a POST may declare. Anything else gets 415, which closes CSRF through "simple" requests."""

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
"""aiohttp's default ``client_max_size`` (1 MiB), the limit a body meets unless the app sets its own."""

DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_WRITE_TIMEOUT = 60.0
# aiohttp waits for the client to take what it writes only past this much buffered (its StreamWriter's limit):
# a smaller reply is handed to the transport at once, and needs no timer.
_WRITES_WAIT_ABOVE = 2**16
"""Seconds reading a request body may take; a slower body gets 408."""

_UTF8 = frozenset({'utf-8', 'utf8'})
_VERDICT_CACHE_SIZE = 64
_JSON_REPLY_HEADERS = CIMultiDictProxy(CIMultiDict({'Content-Type': 'application/json; charset=utf-8'}))
_NO_CONTENT = 204
_TOO_LARGE = 413


class JSONRPCServer(BaseJSONRPCServer):
    """A JSON-RPC server answering HTTP POST requests; mount :meth:`handle_http_request` on a route.

    Args:
        allowed_origins: if given, requests whose ``Origin`` is not in it get HTTP 403 before the body is
            read (include ``None`` to admit requests without the header).
        allowed_hosts: if given, requests whose ``Host`` is not in it get HTTP 403.
        content_types: media types a POST may declare (415 otherwise); ``None`` accepts any, as 2.0 did.
        max_body_size: bytes a body may take (413 beyond), on top of the app's own ``client_max_size`` (aiohttp's
            default is 1 MiB), which it can only tighten; ``None`` (the default): the app's limit alone. A 413
            carries a JSON-RPC error (-32600) naming the limit.
        body_timeout: seconds to receive the body (408 beyond); ``None`` waits as long as aiohttp does.
        write_timeout: seconds a reply larger than aiohttp's write buffer (64 KiB) may take to reach the client;
            past it the connection is dropped (logged at DEBUG), so a client that stops reading holds its reply
            and connection no longer than this. ``None`` waits for the client, as aiohttp does.
        json_serialize, json_deserialize, middlewares, methods, max_batch, batch_concurrency, call_timeout,
        max_response_size, max_batch_response_size, max_method_length, strict_floats, sync_executor,
        validate_params, context_factory, context_type, guards, allow_late_methods: the dispatcher's options; see
        :class:`~aiohttp_rpc.dispatch.Dispatcher`.

    Example::

        server = JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
        server.add_method(ping)
        app = web.Application()
        app.router.add_post('/rpc', server.handle_http_request)
    """

    def __init__(
        self,
        *,
        content_types: Iterable[str] | None = DEFAULT_CONTENT_TYPES,
        max_body_size: int | None = None,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
        write_timeout: float | None = DEFAULT_WRITE_TIMEOUT,
        allowed_origins: Iterable[str | None] | str | None = None,
        allowed_hosts: Iterable[str] | None = None,
        json_serialize: JSONEncoderType = json_serialize,
        json_deserialize: JSONDecoderType = json_deserialize,
        middlewares: Iterable[MiddlewareType] = (),
        methods: MutableMapping[str, BaseJSONRPCMethod] | None = None,
        max_batch: int | None = DEFAULT_MAX_BATCH,
        batch_concurrency: int | None = DEFAULT_BATCH_CONCURRENCY,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        max_batch_response_size: int | None = DEFAULT_MAX_BATCH_RESPONSE_SIZE,
        max_method_length: int | None = DEFAULT_MAX_METHOD_LENGTH,
        strict_floats: bool = True,
        sync_executor: Executor | None = None,
        validate_params: bool = False,
        context_factory: ContextFactory | None = None,
        context_type: object = None,
        guards: Iterable[Guard] = (),
        allow_late_methods: bool = False,
    ) -> None:
        super().__init__(
            allowed_origins=allowed_origins,
            allowed_hosts=allowed_hosts,
            json_serialize=json_serialize,
            json_deserialize=json_deserialize,
            middlewares=middlewares,
            methods=methods,
            max_batch=max_batch,
            batch_concurrency=batch_concurrency,
            call_timeout=call_timeout,
            max_response_size=max_response_size,
            max_batch_response_size=max_batch_response_size,
            max_method_length=max_method_length,
            strict_floats=strict_floats,
            sync_executor=sync_executor,
            validate_params=validate_params,
            context_factory=context_factory,
            context_type=context_type,
            guards=guards,
            allow_late_methods=allow_late_methods,
        )
        self.content_types = None if content_types is None else frozenset(t.lower() for t in content_types)
        self._content_type_verdicts: dict[str | None, tuple[bool, str | None]] = {}
        self._content_type_refusal = (
            f'Send JSON-RPC as one of: {", ".join(sorted(self.content_types))}.' if self.content_types else ''
        )
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout
        self.write_timeout = write_timeout
        self._departures = Departures()

    async def handle_http_request(self, http_request: web.Request) -> web.StreamResponse:
        """Answer one HTTP request: 200 with the JSON reply, 204 when every request was a notification.

        Raises:
            web.HTTPException: 405 (not POST), 403 (host or origin), 415 (content type), 413 (body too
                large), 408 (body too slow).
        """
        if http_request.method != 'POST':
            raise web.HTTPMethodNotAllowed(method=http_request.method, allowed_methods=('POST',))
        if self._has_access_checks:
            self.check_access(http_request)
        # Parsing a Content-Type header costs more than the rest of a small call: judge each distinct header
        # once (a handful of kinds in practice; the cache stops growing at a fixed size).
        raw_type = http_request.headers.get(hdrs.CONTENT_TYPE)  # an istr: looked up without case folding
        verdict = self._content_type_verdicts.get(raw_type)
        if verdict is None:
            verdict = self._judge_content_type(http_request, raw_type)
        accepted, charset = verdict
        if not accepted:
            raise web.HTTPUnsupportedMediaType(text=self._content_type_refusal)

        # The body, under max_body_size (a declared length over it is refused before reading; a chunked body is
        # checked once read, which the app's client_max_size bounds) and the app's client_max_size (aiohttp
        # counts it as the body arrives), within body_timeout. Read here rather than in a helper coroutine: one
        # frame less on every call (measured in benchmarks/RESULTS.md).
        limit = self.max_body_size
        if limit is not None and (http_request.content_length or 0) > limit:
            return self._too_large(limit)
        try:
            if http_request.content.is_eof():  # already received in full: nothing to time
                body = await http_request.read()
            else:
                body = await deadline(http_request.read(), self.body_timeout)
        except DeadlineExceeded:
            raise web.HTTPRequestTimeout(text='The request body was not received in time.') from None
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(http_request.client_max_size)
        if limit is not None and len(body) > limit:
            return self._too_large(limit)
        message = body if charset is None else _decode(body, charset)
        if message is None:
            return web.Response(body=self.dispatcher.parse_error_reply, headers=_JSON_REPLY_HEADERS)

        try:  # a call that waits is cancelled if its client leaves meanwhile
            output = await self.dispatcher.dispatch(
                message, RequestContext(http_request=http_request), on_wait=self._departures.while_waiting
            )
        except RequestRejected as exc:
            return web.Response(status=exc.status, text=exc.reason)
        if output is None:
            return web.Response(status=_NO_CONTENT)
        response = web.Response(body=output, headers=_JSON_REPLY_HEADERS)
        if len(output) > _WRITES_WAIT_ABOVE and self.write_timeout is not None:
            await self._write_within(http_request, response, self.write_timeout)
        return response

    async def _write_within(self, http_request: web.Request, response: web.Response, timeout: float) -> None:
        """Send ``response`` now, dropping the connection if the client has not taken it within ``timeout``."""
        try:
            await response.prepare(http_request)
            await deadline(response.write_eof(), timeout)
        except DeadlineExceeded:
            logger.debug(
                'Dropped a client that did not take its %d-byte reply within %g s.', response.body_length, timeout
            )
            if http_request.transport is not None:
                http_request.transport.abort()
        except ConnectionError:  # the client left while its reply was being written: nothing to do
            pass

    def _too_large(self, limit: int) -> web.Response:
        """413 with a JSON-RPC error (-32600, id null) saying what the limit is, for clients that parse JSON.

        The words are ours, whichever limit was met: aiohttp's own exception says it differently from one release
        to the next (before 3.14 it adds an "actual body size" that is only what had arrived when it stopped)."""
        details = f'Maximum request body size {limit} exceeded.'
        reply = self.dispatcher.codec.dumps(error_reply(None, InvalidRequest(data={'details': details})))
        response = web.Response(status=_TOO_LARGE, body=reply, headers=_JSON_REPLY_HEADERS)
        # The rest of the body was never read: the connection cannot carry another request. Newer aiohttp closes
        # it by itself; 3.10.0 kept it open and parsed the leftover body as the next request (a 400 to the client's
        # next call, and an ERROR with a traceback in the log).
        response.force_close()
        return response

    def _judge_content_type(self, http_request: web.Request, raw_type: str | None) -> tuple[bool, str | None]:
        """``(accepted, charset to decode from or None for UTF-8)`` for a Content-Type header."""
        accepted = self.content_types is None or http_request.content_type in self.content_types
        charset = http_request.charset
        verdict = (accepted, None if charset is None or charset.lower() in _UTF8 else charset)
        if len(self._content_type_verdicts) < _VERDICT_CACHE_SIZE:
            self._content_type_verdicts[raw_type] = verdict
        return verdict


def _decode(body: bytes, charset: str) -> str | None:
    """Decode a body sent in a declared non-UTF-8 charset; ``None`` when the charset is unknown or the body
    does not decode (the client then gets -32700)."""
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return None


rpc_server = JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES, allow_late_methods=True)
"""A ready server with :data:`~aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES`, used by :func:`rpc_method`. It accepts
methods at any time, as in 2.0: ``@rpc_method`` may run in a module imported after the app started."""
