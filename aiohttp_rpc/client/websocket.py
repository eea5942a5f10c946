"""JSON-RPC over WebSocket, client side: :class:`WSJSONRPCClient`.

``WSPeer``, ``get_peer`` and ``PEER_KEY`` live in :mod:`aiohttp_rpc.ws` and are importable from here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..caller.base import BaseJSONRPCClient
from ..dispatch.dispatcher import Dispatcher
from ..dispatch.middleware import DEFAULT_MIDDLEWARES
from ..errors import DEFAULT_KNOWN_ERRORS_MAP, JSONRPCError
from ..methods.registry import MethodDescription
from ..serialization import json_deserialize, json_serialize
from ..ws import (
    DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_MAX_IN_FLIGHT,
    MAX_SUBSCRIPTIONS,
    PEER_KEY,
    MessageHook,
    WSConnection,
    WSPeer,
    get_peer,
)
from .transports.websocket import ReconnectPolicy, WSTransport

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import WSMessage, web

    from ..methods.method import BaseJSONRPCMethod
    from ..typedefs import JSONDecoderType, JSONEncoderType, MiddlewareType

__all__ = (
    'PEER_KEY',
    'UnprocessedWSJSONResponsesHandler',
    'WSJSONRPCClient',
    'WSJSONRequestsHandler',
    'WSPeer',
    'get_peer',
)

DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024
"""Bytes a message from the server may take (10 MiB); a larger one closes the socket (1009)."""


class WSJSONRequestsHandler(Protocol):
    """2.0 hook: takes requests the server sends instead of the client's own methods."""

    async def __call__(self, *, ws_connect: Any, ws_msg: WSMessage, json_requests: Any) -> None: ...


class UnprocessedWSJSONResponsesHandler(Protocol):
    """2.0 hook: receives replies that match no pending call."""

    async def __call__(self, *, ws_connect: Any, ws_msg: WSMessage, json_responses: Any) -> None: ...


class WSJSONRPCClient(BaseJSONRPCClient):
    """A JSON-RPC client over one WebSocket, which can also serve methods to the server.

    Many calls can be in flight at once; replies are matched by id.

    Args:
        url: the endpoint, e.g. ``'ws://127.0.0.1:8080/rpc'`` (or give ``ws_connect``).
        session: an ``aiohttp.ClientSession`` to connect with; never closed by the client.
        ws_connect: an already-open WebSocket to use; never closed by the client. A server's
            ``WebSocketResponse`` that a :class:`~aiohttp_rpc.WSJSONRPCServer` serves works too: the client then
            sends through the server's connection (its notifications and calls reach the browser, the server's
            reader matches the replies), as 2.0 code that keeps a client per connection expects.
        timeout: seconds to wait for each reply (``RequestTimeoutError`` after); ``None`` to wait until the
            socket closes.
        timeout_for_data_receiving: accepted for 2.0 compatibility; dead connections are detected by the
            heartbeat instead.
        connection_check_interval: seconds between heartbeat pings (aiohttp's ``heartbeat``): a server that
            stops answering is dropped and pending calls fail with ``TransportError``. ``None`` disables it.
        json_requests_handler: 2.0 hook taking the server's requests instead of ``methods``.
        unprocessed_json_responses_handler: 2.0 hook for replies that match no pending call.
        json_serialize, json_deserialize, error_map: see :class:`BaseJSONRPCClient`.
        methods: methods this client serves to the server (callables or ``JSONRPCMethod``).
        middlewares: middlewares for those methods (``DEFAULT_MIDDLEWARES`` by default).
        reconnect: ``True`` (default :class:`ReconnectPolicy`) or a policy to reconnect after a drop; calls made
            meanwhile wait for the new socket up to their timeout.
        max_in_flight: server requests answered at once before reading pauses.
        max_buffered_bytes: bytes the write buffer may hold (4 MiB) before reading pauses and senders wait.
        max_subscriptions: subscriptions the server may have open to this client's own methods (1024).
        **ws_connect_kwargs: passed to ``aiohttp.ClientSession.ws_connect`` (``max_msg_size`` defaults to
            10 MiB: a larger message closes the socket and pending calls fail with ``TransportError``).

    Example::

        async with WSJSONRPCClient('ws://127.0.0.1:8080/rpc', methods=[notify_user]) as rpc:
            print(await rpc.methods.ping())
    """

    transport: WSTransport

    def __init__(
        self,
        url: str | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        ws_connect: aiohttp.ClientWebSocketResponse[bool] | web.WebSocketResponse | None = None,
        timeout: float | None = 60,
        timeout_for_data_receiving: float | None = 60,
        connection_check_interval: float | None = 5,
        json_requests_handler: WSJSONRequestsHandler | None = None,
        unprocessed_json_responses_handler: UnprocessedWSJSONResponsesHandler | None = None,
        json_serialize: JSONEncoderType = json_serialize,
        json_deserialize: JSONDecoderType = json_deserialize,
        error_map: Mapping[int, type[JSONRPCError]] = DEFAULT_KNOWN_ERRORS_MAP,
        methods: Iterable[MethodDescription] = (),
        middlewares: Iterable[MiddlewareType] = DEFAULT_MIDDLEWARES,
        reconnect: bool | ReconnectPolicy = False,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        max_buffered_bytes: int | None = DEFAULT_MAX_BUFFERED_BYTES,
        max_subscriptions: int | None = MAX_SUBSCRIPTIONS,
        **ws_connect_kwargs: Any,
    ) -> None:
        super().__init__(json_serialize=json_serialize, json_deserialize=json_deserialize, error_map=error_map)
        self.url = url
        self.timeout_for_data_receiving = timeout_for_data_receiving
        self.dispatcher = Dispatcher(  # the client's own methods may be added while it is connected
            json_serialize=json_serialize,
            json_deserialize=json_deserialize,
            middlewares=middlewares,
            allow_late_methods=True,
        )
        self.dispatcher.add_methods(methods)
        if connection_check_interval is not None:
            ws_connect_kwargs.setdefault('heartbeat', connection_check_interval)
        ws_connect_kwargs.setdefault('max_msg_size', DEFAULT_MAX_MESSAGE_SIZE)
        self.ws_connect_kwargs = ws_connect_kwargs
        policy = ReconnectPolicy() if reconnect is True else (reconnect or None)
        self.transport = WSTransport(
            url,
            codec=self._codec,
            dispatcher=self.dispatcher,
            context={PEER_KEY: self},
            session=session,
            ws_connect=ws_connect,
            ws_connect_kwargs=ws_connect_kwargs,
            timeout=timeout,
            max_in_flight=max_in_flight,
            max_buffered_bytes=max_buffered_bytes,
            max_subscriptions=max_subscriptions,
            reconnect=policy,
            on_requests=_requests_hook(json_requests_handler),
            on_unmatched=_responses_hook(unprocessed_json_responses_handler),
        )

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The ``aiohttp.ClientSession`` in use."""
        return self.transport.session

    @property
    def ws_connect(self) -> aiohttp.ClientWebSocketResponse[bool] | web.WebSocketResponse | None:
        """The current WebSocket (``None`` before connecting)."""
        return self.transport.ws_connect

    def add_method(self, method: MethodDescription, *, replace: bool = False) -> BaseJSONRPCMethod:
        """Serve ``method`` to the server over this socket; see :meth:`Dispatcher.add_method`."""
        return self.dispatcher.add_method(method, replace=replace)

    def add_methods(
        self, methods: Iterable[MethodDescription], *, replace: bool = False
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Serve several methods to the server."""
        return self.dispatcher.add_methods(methods, replace=replace)

    def add_api(
        self, api: Callable[..., Any], impl: object, *, prefix: str | None = None, validate: bool = True
    ) -> tuple[BaseJSONRPCMethod, ...]:
        """Serve ``impl`` to the server as the ``typing.Protocol`` ``api`` says (the server calls it with
        ``get_peer(rpc_request).proxy(api)``); see :meth:`Dispatcher.add_api`."""
        return self.dispatcher.add_api(api, impl, prefix=prefix, validate=validate)


def _requests_hook(handler: WSJSONRequestsHandler | None) -> MessageHook | None:
    if handler is None:
        return None

    async def hook(connection: WSConnection, ws_msg: WSMessage, message: Any) -> None:
        requests = message if isinstance(message, list) else (message,)
        await handler(ws_connect=connection.ws, ws_msg=ws_msg, json_requests=requests)

    return hook


def _responses_hook(handler: UnprocessedWSJSONResponsesHandler | None) -> MessageHook | None:
    if handler is None:
        return None

    async def hook(connection: WSConnection, ws_msg: WSMessage, message: Any) -> None:
        responses = message if isinstance(message, list) else (message,)
        await handler(ws_connect=connection.ws, ws_msg=ws_msg, json_responses=responses)

    return hook
