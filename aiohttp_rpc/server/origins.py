"""The one Origin check, used by ``allowed_origins=`` on servers and by the ``check_origins`` middleware."""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import TYPE_CHECKING

from ..errors import RequestRejected

if TYPE_CHECKING:
    from aiohttp import web

    from ..protocol.request import JSONRPCRequest
    from ..protocol.response import JSONRPCResponse
    from ..typedefs import MiddlewareType, SingleRequestProcessorType

__all__ = ('ORIGIN_NOT_ALLOWED', 'check_origins', 'origin_allowed')

ORIGIN_NOT_ALLOWED = 'Origin not allowed.'


def origin_allowed(http_request: web.BaseRequest, allowed_origins: Container[str | None]) -> bool:
    """Whether the request's ``Origin`` header (``None`` when absent) is in ``allowed_origins``."""
    return http_request.headers.get('Origin') in allowed_origins


def check_origins(allowed_origins: Iterable[str | None]) -> MiddlewareType:
    """Build a middleware that refuses requests whose ``Origin`` is not listed, with HTTP 403.

    Include ``None`` in ``allowed_origins`` to let requests without an ``Origin`` header through (non-browser
    clients send none). Prefer ``JSONRPCServer(allowed_origins=...)``, which refuses before reading the body.

    Example::

        JSONRPCServer(middlewares=[check_origins({'https://app.example.com'}), *DEFAULT_MIDDLEWARES])
    """
    allowed = frozenset(allowed_origins)

    async def check_origins_middleware(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        http_request = request.context.get('http_request')
        if http_request is None or not origin_allowed(http_request, allowed):
            raise RequestRejected(403, ORIGIN_NOT_ALLOWED)
        return await handler(request)

    return check_origins_middleware
