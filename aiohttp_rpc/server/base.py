"""The base every server transport builds on: a dispatcher, an aiohttp handler, and the access checks."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from ..dispatch.dispatcher import Dispatcher
from ..schema.discovery import add_discovery
from ..schema.openrpc import DEFAULT_TITLE, DEFAULT_VERSION
from .docs import mount_docs
from .origins import HOST_NOT_ALLOWED, ORIGIN_NOT_ALLOWED, HostPolicy, OriginPolicy, origin_policies_of

__all__ = ('BaseJSONRPCServer',)


class BaseJSONRPCServer(Dispatcher, abc.ABC):
    """A :class:`~aiohttp_rpc.dispatch.Dispatcher` that aiohttp can route requests to.

    Subclasses implement :meth:`handle_http_request`; method registration, middlewares and the protocol are
    the dispatcher's. Every request first passes :meth:`check_access`: the ``Host`` allow-list, the
    ``Origin`` policy, and any ``check_origins(...)`` middleware, all before the body is read.

    Args:
        allowed_origins: accepted ``Origin`` values (``None`` in it admits requests without one), or ``'*'``.
        allowed_hosts: accepted ``Host`` values (``'api.example.com'``, ``'*.example.com'``); ``None``: any.
        **kwargs: see :class:`~aiohttp_rpc.dispatch.Dispatcher`.
    """

    #: The policy used when ``allowed_origins`` is not given (``None``: no Origin check).
    default_origin_policy: OriginPolicy | None = None

    def __init__(
        self,
        *args: Any,
        allowed_origins: Iterable[str | None] | str | None = None,
        allowed_hosts: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins = allowed_origins
        self.allowed_hosts = allowed_hosts
        origin_policy = self.default_origin_policy if allowed_origins is None else OriginPolicy(allowed_origins)
        origin_policies = [*([origin_policy] if origin_policy else []), *origin_policies_of(self.middlewares)]
        self._origin_policies = tuple(origin_policies)
        self._host_policy = HostPolicy(allowed_hosts) if allowed_hosts is not None else None
        self._has_access_checks = self._host_policy is not None or bool(self._origin_policies)

    def check_access(self, http_request: web.BaseRequest) -> None:
        """Refuse a request from a host or origin that is not allowed.

        Raises:
            web.HTTPForbidden: the ``Host`` or the ``Origin`` is not allowed.
        """
        if self._host_policy is not None and not self._host_policy.allows(http_request):
            raise web.HTTPForbidden(reason=HOST_NOT_ALLOWED, text=HOST_NOT_ALLOWED)
        for policy in self._origin_policies:
            if not policy.allows(http_request):
                raise web.HTTPForbidden(reason=ORIGIN_NOT_ALLOWED, text=ORIGIN_NOT_ALLOWED)

    def add_discovery(
        self,
        *,
        title: str = DEFAULT_TITLE,
        version: str = DEFAULT_VERSION,
        description: str | None = None,
        servers: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        """Serve ``rpc.discover``, the OpenRPC service discovery method: it returns a document describing every
        method, with the JSON Schema of its params and result (with pydantic, the ``typed`` extra).

        Args:
            title, version, description: the document's ``info`` (the API's name and version, not the library's).
            servers: OpenRPC Server Objects, e.g. ``[{'name': 'production', 'url': 'https://api.example.com/rpc'}]``.

        Raises:
            ServerConfigurationError: ``rpc.discover`` is already served.

        Example::

            server = JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
            server.add_methods([add, subtract])
            server.add_discovery(title='Calculator', version='2.1.0')
        """
        add_discovery(self, title=title, version=version, description=description, servers=servers)

    def mount_docs(self, app: web.Application, **options: Any) -> None:
        """Serve the API console (``GET /docs``) and the OpenRPC document (``GET /openrpc.json``) on ``app``.

        Options (all keyword): ``endpoint`` (where this server is mounted, ``'/rpc'``), ``path``,
        ``openrpc_path``, ``title``, ``version``, ``description``; see :func:`aiohttp_rpc.server.docs.mount_docs`.
        """
        mount_docs(app, self, **options)

    @abc.abstractmethod
    async def handle_http_request(self, http_request: web.Request) -> web.StreamResponse:
        """The aiohttp handler to mount on a route."""
