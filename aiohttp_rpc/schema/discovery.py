"""OpenRPC service discovery: the ``rpc.discover`` method, returning the server's OpenRPC document."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..methods.method import BaseJSONRPCMethod, JSONRPCMethod
from ..methods.registry import DEFAULT_TITLE, DEFAULT_VERSION, ApiInfo
from .catalog import DISCOVER_METHOD
from .openrpc import build_openrpc
from .visibility import refused, shown_to

if TYPE_CHECKING:
    from ..methods.registry import Registry
    from ..protocol.request import JSONRPCRequest

__all__ = ('OpenRPCDocument', 'add_discovery')


def add_discovery(
    server: Registry,
    *,
    title: str = DEFAULT_TITLE,
    version: str = DEFAULT_VERSION,
    description: str | None = None,
    servers: Iterable[Mapping[str, Any]] | None = None,
    list_all: bool = False,
) -> None:
    """Serve ``rpc.discover`` on ``server``: it returns the server's OpenRPC document (see
    :func:`~aiohttp_rpc.schema.build_openrpc`, which takes the same options), without the methods whose guards
    refuse the caller (see :mod:`~aiohttp_rpc.schema.visibility`), unless ``list_all``.

    ``title``, ``version`` and ``description`` become ``server.api_info``: the one place ``GET /openrpc.json``,
    the docs console and ``aiohttp-rpc serve`` read them from too.

    The guards are run against the discovery request (the method takes ``rpc_request``, which it gets on any
    server).

    The document is built on the first call and kept until the set of served methods changes (a method added,
    replaced or removed, including through a group), so later calls cost a comparison.

    Raises:
        ServerConfigurationError: ``rpc.discover`` is already served.

    Example::

        server = JSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
        server.add_methods([add, subtract])
        add_discovery(server, title='Calculator', version='2.1.0')
    """
    server.api_info = ApiInfo(title, version, description)
    document = OpenRPCDocument(server, servers=servers)
    method = JSONRPCMethod(
        document.discover if list_all else document.discover_for_caller,
        name=DISCOVER_METHOD,
        pass_extra_kwargs=not list_all,  # the caller: ``rpc_request``
        validate=False,  # it takes no params; and pydantic must not be needed to serve it
        summary='Describe this service: its methods, their params and results.',
        description='Returns the OpenRPC document of the service (https://spec.open-rpc.org).',
    )
    server.add_method(method, allow_reserved=True)


class OpenRPCDocument:
    """The OpenRPC document of a server, built when first asked for and again only after its methods change.

    Args:
        server: the server to describe; its ``api_info`` gives the document's ``info``.
        servers: see :func:`~aiohttp_rpc.schema.build_openrpc`.
    """

    def __init__(self, server: Registry, *, servers: Iterable[Mapping[str, Any]] | None = None) -> None:
        self._server = server
        self._info: ApiInfo | None = None  # the api_info the document was built with
        self._servers = None if servers is None else [dict(entry) for entry in servers]
        self._document: dict[str, Any] | None = None
        # The methods the document was built from: held (not just their ids) so that an id cannot be reused.
        self._built_from: tuple[tuple[str, BaseJSONRPCMethod], ...] = ()

    def get(self) -> dict[str, Any]:
        """The document (shared between calls: copy it before changing it)."""
        served = tuple(self._server.methods.items())
        info = self._server.api_info
        if self._document is None or info != self._info or not _same(served, self._built_from):
            self._document = build_openrpc(self._server, servers=self._servers)
            self._built_from = served
            self._info = info
        return self._document

    async def discover(self) -> dict[str, Any]:
        """Return the OpenRPC document describing this service."""
        return self.get()

    async def discover_for_caller(self, rpc_request: JSONRPCRequest | None = None, **_extra: object) -> dict[str, Any]:
        """Return the OpenRPC document describing what the caller of ``rpc_request`` may call."""
        return await self.shown_to(rpc_request)

    async def shown_to(self, caller: JSONRPCRequest | None) -> dict[str, Any]:
        """The document without the methods whose guards refuse ``caller`` (see :func:`visibility.refused`)."""
        document = self.get()
        names = [method['name'] for method in document['methods']]
        return shown_to(document, await refused(self._server, names, caller))


def _same(
    served: tuple[tuple[str, BaseJSONRPCMethod], ...], built_from: tuple[tuple[str, BaseJSONRPCMethod], ...]
) -> bool:
    return len(served) == len(built_from) and all(
        name == old_name and method is old_method
        for (name, method), (old_name, old_method) in zip(served, built_from, strict=True)
    )
