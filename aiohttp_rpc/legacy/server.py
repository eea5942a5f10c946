"""The 1.x server classes: ``JsonRpcServer`` and ``WsJsonRpcServer``.

Subclasses of the 2.0 servers with what 1.x servers did differently: a bare function is served as a 1.x
:class:`~aiohttp_rpc.legacy.protocol.JsonRpcMethod` (so ``rpc_request`` reaches a parameter of that name), a
server built without ``methods=`` serves ``get_method`` and ``get_methods``, and on the WebSocket server each
call's context holds ``'ws_rpc_client'``, a 1.x client that calls the peer back.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, MutableMapping
from typing import Any

from aiohttp import web

from ..methods.method import BaseJSONRPCMethod
from ..methods.registry import MethodDescription
from ..protocol.context import WS
from ..protocol.request import JSONRPCRequest
from ..protocol.response import JSONRPCResponse
from ..server.base import BaseJSONRPCServer
from ..server.http import JSONRPCServer
from ..server.websocket import WSJSONRPCServer
from ..typedefs import MiddlewareType, SingleRequestProcessorType
from .client import WsJsonRpcClient
from .protocol import JsonRpcMethod, describe

__all__ = ('JsonRpcServer', 'WsJsonRpcServer')


class _Serves1x(BaseJSONRPCServer):
    """What both 1.x servers add to their 2.0 class."""

    def __init__(self, *, methods: MutableMapping[str, BaseJSONRPCMethod] | None = None, **options: Any) -> None:
        super().__init__(methods=methods, **options)
        if methods is None:  # 1.x served these two unless given its own mapping
            self.add_methods([self.get_method, self.get_methods])

    def add_method(
        self, method: MethodDescription, *, replace: bool = False, allow_reserved: bool = False
    ) -> BaseJSONRPCMethod:
        """Serve ``method``; a bare callable becomes a 1.x :class:`JsonRpcMethod` (``rpc_request`` by name).

        Raises:
            ServerConfigurationError: the name is taken and ``replace`` is false, or it is reserved.
        """
        if not isinstance(method, BaseJSONRPCMethod):
            method = JsonRpcMethod(method)
        return super().add_method(method, replace=replace, allow_reserved=allow_reserved)

    def add_methods(
        self, methods: Iterable[MethodDescription], *, replace: bool = False, allow_reserved: bool = False
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Serve several methods; see :meth:`add_method`."""
        return tuple(self.add_method(method, replace=replace, allow_reserved=allow_reserved) for method in methods)

    def get_methods(self) -> dict[str, dict[str, Any]]:
        """``{name: {'doc': ..., 'args': [...], 'kwargs': [...]}}`` for every served method, as 1.x told it."""
        return {name: describe(method) for name, method in self.methods.items()}

    def get_method(self, name: str) -> dict[str, Any] | None:
        """What :meth:`get_methods` tells about one method, or ``None`` when no method has that name."""
        method = self.methods.get(name)
        return None if method is None else describe(method)


class JsonRpcServer(_Serves1x, JSONRPCServer):
    """1.x ``JsonRpcServer``: a :class:`~aiohttp_rpc.JSONRPCServer` with 1.x registration (see the module).

    Takes the :class:`~aiohttp_rpc.JSONRPCServer` options by keyword.
    """


class WsJsonRpcServer(_Serves1x, WSJSONRPCServer):
    """1.x ``WsJsonRpcServer``: a :class:`~aiohttp_rpc.WSJSONRPCServer` with 1.x registration (see the module)
    and a 1.x client for the peer in each call's context as ``'ws_rpc_client'``.

    Takes the :class:`~aiohttp_rpc.WSJSONRPCServer` options by keyword.
    """

    def __init__(self, *, middlewares: Iterable[MiddlewareType] = (), **options: Any) -> None:
        self._ws_clients: weakref.WeakKeyDictionary[web.WebSocketResponse, WsJsonRpcClient] = (
            weakref.WeakKeyDictionary()
        )
        super().__init__(middlewares=(self._add_ws_rpc_client, *middlewares), **options)

    @property
    def rcp_websockets(self) -> weakref.WeakSet[web.WebSocketResponse]:
        """1.x name (with its typo) of :attr:`rpc_websockets`."""
        return self.rpc_websockets

    async def _add_ws_rpc_client(self, request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        ws = request.context.get(WS)
        if isinstance(ws, web.WebSocketResponse):
            client = self._ws_clients.get(ws)
            if client is None:
                client = self._ws_clients[ws] = WsJsonRpcClient(ws_connect=ws)
            request.context['ws_rpc_client'] = client
        return await handler(request)
