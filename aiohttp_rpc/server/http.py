"""JSON-RPC over HTTP POST: :class:`JSONRPCServer` and the module-level :data:`rpc_server`."""

from __future__ import annotations

import logging
from collections.abc import Container
from typing import Any

from aiohttp import web

from ..dispatch.middleware import DEFAULT_MIDDLEWARES
from ..errors import RequestRejected
from .base import BaseJSONRPCServer
from .origins import ORIGIN_NOT_ALLOWED, origin_allowed

__all__ = ('JSONRPCServer', 'rpc_server')

logger = logging.getLogger('aiohttp_rpc.server')

_UTF8 = frozenset({'utf-8', 'utf8'})
_NO_CONTENT = 204


class JSONRPCServer(BaseJSONRPCServer):
    """A JSON-RPC server answering HTTP POST requests; mount :meth:`handle_http_request` on a route.

    Args:
        allowed_origins: if given, requests whose ``Origin`` header is not in it get HTTP 403 before the body
            is read (include ``None`` to admit requests without the header).
        **kwargs: see :class:`~aiohttp_rpc.dispatch.Dispatcher`: ``json_serialize``, ``json_deserialize``,
            ``middlewares``, ``methods``, ``max_batch``.

    Example::

        server = JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
        server.add_method(ping)
        app = web.Application()
        app.router.add_post('/rpc', server.handle_http_request)
    """

    allowed_origins: Container[str | None] | None

    def __init__(self, *args: Any, allowed_origins: Container[str | None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins = allowed_origins

    async def handle_http_request(self, http_request: web.Request) -> web.StreamResponse:
        """Answer one HTTP request: 200 with the JSON reply, 204 when every request was a notification.

        Raises:
            web.HTTPMethodNotAllowed: the method is not POST.
            web.HTTPForbidden: the ``Origin`` is not allowed.
        """
        if http_request.method != 'POST':
            raise web.HTTPMethodNotAllowed(method=http_request.method, allowed_methods=('POST',))
        if self.allowed_origins is not None and not origin_allowed(http_request, self.allowed_origins):
            raise web.HTTPForbidden(reason=ORIGIN_NOT_ALLOWED)

        body = await http_request.read()
        charset = http_request.charset
        message = body if charset is None or charset.lower() in _UTF8 else _decode(body, charset)
        if message is None:
            return web.Response(body=self.parse_error_reply, content_type='application/json', charset='utf-8')

        try:
            output = await self.dispatch(message, {'http_request': http_request})
        except RequestRejected as exc:
            return web.Response(status=exc.status, text=exc.reason)
        if output is None:
            return web.Response(status=_NO_CONTENT)
        return web.Response(body=output, content_type='application/json', charset='utf-8')


def _decode(body: bytes, charset: str) -> str | None:
    """Decode a body sent in a declared non-UTF-8 charset; ``None`` when the charset is unknown or the body
    does not decode (the client then gets -32700)."""
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return None


rpc_server = JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
"""A ready server with :data:`~aiohttp_rpc.middlewares.DEFAULT_MIDDLEWARES`, used by :func:`rpc_method`."""
