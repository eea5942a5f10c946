"""Who may talk to a server: the one Origin check and the one Host check, shared by HTTP and WebSocket.

* :class:`OriginPolicy` decides on the ``Origin`` header. Explicit lists compare case-insensitively; ``'*'``
  admits everyone. With no list, the *local* policy admits requests without an ``Origin`` (non-browser
  clients), same-origin requests and pages served from ``localhost``/``127.0.0.1``/``[::1]``, and refuses
  other sites: what a WebSocket endpoint needs against cross-site WebSocket hijacking.
* :class:`HostPolicy` decides on the ``Host`` header (a defence against DNS rebinding).
* :func:`check_origins` is the 2.0 middleware; servers spot it and apply it before reading the body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import RequestRejected
from ..protocol.context import HTTP_REQUEST

if TYPE_CHECKING:
    from aiohttp import web

    from ..protocol.request import JSONRPCRequest
    from ..protocol.response import JSONRPCResponse
    from ..typedefs import MiddlewareType, SingleRequestProcessorType

__all__ = ('HOST_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED', 'HostPolicy', 'OriginPolicy', 'check_origins', 'origin_allowed')

ORIGIN_NOT_ALLOWED = 'Origin not allowed.'
HOST_NOT_ALLOWED = 'Host not allowed.'
_LOCAL_HOSTS = frozenset({'localhost', '127.0.0.1', '[::1]', '::1'})
ORIGIN_POLICY_ATTRIBUTE = '__aiohttp_rpc_origin_policy__'


def _hostname(host: str) -> str:
    """``'Example.com:8080'`` -> ``'example.com'``; ``'[::1]:80'`` -> ``'[::1]'``."""
    host = host.strip().lower()
    if host.startswith('['):
        return host[: host.find(']') + 1] if ']' in host else host
    return host.rsplit(':', 1)[0] if host.count(':') == 1 else host


class OriginPolicy:
    """Which ``Origin`` headers are accepted.

    Args:
        allowed: the accepted origins (``None`` in it admits requests without the header), ``'*'`` for all,
            or ``None`` for the local policy described in the module docstring.
    """

    __slots__ = ('_allowed', '_any')

    def __init__(self, allowed: Iterable[str | None] | str | None) -> None:
        if allowed is not None and not isinstance(allowed, str):
            allowed = tuple(allowed)
        self._any = allowed == '*' or (isinstance(allowed, tuple) and '*' in allowed)
        if allowed is None or self._any:
            self._allowed: frozenset[str | None] | None = None
        elif isinstance(allowed, str):
            self._allowed = frozenset({allowed.lower()})
        else:
            self._allowed = frozenset(origin.lower() if isinstance(origin, str) else origin for origin in allowed)

    def allows(self, http_request: web.BaseRequest) -> bool:
        """Whether ``http_request`` may proceed."""
        if self._any:
            return True
        origin = http_request.headers.get('Origin')
        if self._allowed is not None:
            return (origin.lower() if origin is not None else None) in self._allowed
        if origin is None:
            return True
        origin_host = (urlsplit(origin.lower()).netloc or '').strip()
        if not origin_host or origin == 'null':
            return False
        if origin_host == (http_request.host or '').lower():
            return True  # same origin
        return _hostname(origin_host) in _LOCAL_HOSTS


class HostPolicy:
    """Which ``Host`` headers are accepted: exact names (with or without port) or ``'*.example.com'``.

    Args:
        allowed: accepted hosts, or ``None`` to accept any.
    """

    __slots__ = ('_exact', '_suffixes')

    def __init__(self, allowed: Iterable[str] | None) -> None:
        entries = [host.strip().lower() for host in allowed] if allowed is not None else None
        self._exact = None if entries is None else frozenset(host for host in entries if not host.startswith('*.'))
        self._suffixes = () if entries is None else tuple(host[1:] for host in entries if host.startswith('*.'))

    def allows(self, http_request: web.BaseRequest) -> bool:
        """Whether ``http_request``'s ``Host`` is accepted."""
        if self._exact is None:
            return True
        host = (http_request.headers.get('Host') or '').strip().lower()
        name = _hostname(host)
        return host in self._exact or name in self._exact or any(name.endswith(s) for s in self._suffixes)


def origin_allowed(http_request: web.BaseRequest, allowed_origins: Iterable[str | None]) -> bool:
    """Whether the request's ``Origin`` (``None`` when absent) is in ``allowed_origins`` (case-insensitive)."""
    return OriginPolicy(allowed_origins).allows(http_request)


def check_origins(allowed_origins: Iterable[str | None]) -> MiddlewareType:
    """Build a middleware that refuses requests whose ``Origin`` is not listed, with HTTP 403.

    Include ``None`` in ``allowed_origins`` to let requests without an ``Origin`` header through (non-browser
    clients send none). Servers recognise this middleware and apply the check before reading the body.

    Example::

        JSONRPCServer(middlewares=[check_origins({'https://app.example.com', None}), *DEFAULT_MIDDLEWARES])
    """
    policy = OriginPolicy(tuple(allowed_origins))

    async def check_origins_middleware(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        http_request = request.context.get(HTTP_REQUEST)
        if http_request is None or not policy.allows(http_request):
            raise RequestRejected(403, ORIGIN_NOT_ALLOWED)
        return await handler(request)

    setattr(check_origins_middleware, ORIGIN_POLICY_ATTRIBUTE, policy)
    return check_origins_middleware


def origin_policies_of(middlewares: Iterable[Any]) -> tuple[OriginPolicy, ...]:
    """The policies of the :func:`check_origins` middlewares among ``middlewares``."""
    return tuple(policy for middleware in middlewares if (policy := getattr(middleware, ORIGIN_POLICY_ATTRIBUTE, None)))
