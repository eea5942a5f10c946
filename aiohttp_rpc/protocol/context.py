"""The per-message context: what a transport knows about a message, and what middlewares add to it.

:class:`RequestContext` is what ``request.context`` holds. It is a ``dict`` (the 2.0 view, string keys:
``context['http_request']``) with typed fields for what the transports put in it, and typed keys
(:class:`ContextKey`, in the manner of aiohttp's ``AppKey``) for an application's own entries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, final, overload

if TYPE_CHECKING:
    from aiohttp import ClientWebSocketResponse, web

    from ..caller.base import BaseJSONRPCClient

__all__ = ('HTTP_REQUEST', 'PEER', 'STREAMS', 'WS', 'ContextKey', 'RequestContext')

T = TypeVar('T')

HTTP_REQUEST = 'http_request'
"""The key of the aiohttp request that carried the message (HTTP) or opened the WebSocket."""

WS = 'ws_connect'
"""The key of the aiohttp WebSocket the message came over (2.0's name)."""

PEER = 'rpc_peer'
"""The key of the other end of the WebSocket, as a client: a ``WSPeer`` on a server, the client itself on a
client that serves methods."""

STREAMS = 'rpc_streams'
"""The key of what pushes a subscription's items to the peer (a WebSocket connection); absent over HTTP."""


@final
class ContextKey(Generic[T]):
    """A typed key for an application's entry in a :class:`RequestContext`.

    Args:
        name: the entry's name in the underlying dict: make it unique (``'myapp.user'``).
        type_: the type of the values stored under it (for readers; mypy takes it from the annotation).

    Example::

        USER = ContextKey('myapp.user', User)

        async def auth(request, handler):
            request.context[USER] = await load_user(request.context.http_request)
            return await handler(request)

        def whoami(rpc_request: JSONRPCRequest) -> str:
            return rpc_request.context[USER].name        # a User, as far as mypy knows
    """

    __slots__ = ('name', 'type_')

    def __init__(self, name: str, type_: type[T] | None = None) -> None:
        self.name = name
        self.type_ = type_

    def __repr__(self) -> str:
        type_name = getattr(self.type_, '__qualname__', repr(self.type_)) if self.type_ is not None else 'Any'
        return f'<ContextKey({self.name!r}, type={type_name})>'


class RequestContext(dict[str, Any]):
    """The context of one message, shared by its requests (a batch's members share one).

    Attributes:
        http_request: the aiohttp request that carried the message, or opened its WebSocket; ``None`` in process.
        ws: the aiohttp WebSocket the message came over, ``None`` over HTTP.
        peer: the other end of that WebSocket, as a client you can call back; ``None`` over HTTP.
    """

    __slots__ = ()

    # The fields read the dict itself (dict.get), not through the get() below, which would add a frame to every
    # read: the HTTP server reads http_request on every call that waits.

    @property
    def http_request(self) -> web.Request | None:
        """The aiohttp request that carried the message, or opened its WebSocket (``None`` in process)."""
        http_request: web.Request | None = dict.get(self, HTTP_REQUEST)
        return http_request

    @property
    def ws(self) -> web.WebSocketResponse | ClientWebSocketResponse[bool] | None:
        """The aiohttp WebSocket the message came over (``None`` over HTTP)."""
        ws: web.WebSocketResponse | ClientWebSocketResponse[bool] | None = dict.get(self, WS)
        return ws

    @property
    def peer(self) -> BaseJSONRPCClient | None:
        """The other end of the WebSocket, as a client (``None`` over HTTP)."""
        peer: BaseJSONRPCClient | None = dict.get(self, PEER)
        return peer

    @overload
    def __getitem__(self, key: ContextKey[T]) -> T: ...

    @overload
    def __getitem__(self, key: str) -> Any: ...

    def __getitem__(self, key: ContextKey[Any] | str) -> Any:
        return super().__getitem__(key.name if isinstance(key, ContextKey) else key)

    @overload
    def __setitem__(self, key: ContextKey[T], value: T) -> None: ...

    @overload
    def __setitem__(self, key: str, value: Any) -> None: ...

    def __setitem__(self, key: ContextKey[Any] | str, value: Any) -> None:
        super().__setitem__(key.name if isinstance(key, ContextKey) else key, value)

    def __delitem__(self, key: ContextKey[Any] | str) -> None:
        super().__delitem__(key.name if isinstance(key, ContextKey) else key)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.name if isinstance(key, ContextKey) else key)

    @overload
    def get(self, key: ContextKey[T], default: None = None) -> T | None: ...

    @overload
    def get(self, key: ContextKey[T], default: T) -> T: ...

    @overload
    def get(self, key: str, default: Any = None) -> Any: ...

    def get(self, key: ContextKey[Any] | str, default: Any = None) -> Any:
        return super().get(key.name if isinstance(key, ContextKey) else key, default)

    def copy(self) -> RequestContext:
        """A shallow copy, still a :class:`RequestContext`."""
        return RequestContext(self)
