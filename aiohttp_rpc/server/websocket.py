"""JSON-RPC over WebSocket, server side: :class:`WSJSONRPCServer`.

Each connection is a :class:`~aiohttp_rpc.ws.WSConnection` read by the handler task itself: requests from the
browser or worker are answered by this server's dispatcher, and the server can call the peer back through a
:class:`~aiohttp_rpc.ws.WSPeer` (see :func:`~aiohttp_rpc.ws.get_peer`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, MutableMapping
from concurrent.futures import Executor
from typing import Any, Protocol

from aiohttp import WSCloseCode, WSMessage, web

from ..backplane.base import Backplane, InProcessBackplane
from ..caller.base import BaseJSONRPCClient
from ..dispatch.context import ContextFactory
from ..dispatch.dispatcher import (
    DEFAULT_BATCH_CONCURRENCY,
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_METHOD_LENGTH,
)
from ..dispatch.encoder import DEFAULT_MAX_BATCH_RESPONSE_SIZE, DEFAULT_MAX_RESPONSE_SIZE
from ..methods.method import BaseJSONRPCMethod, Guard
from ..protocol.context import HTTP_REQUEST, WS
from ..protocol.request import JSONRPCRequest
from ..serialization import json_deserialize, json_serialize
from ..typedefs import JSONDecoderType, JSONEncoderType, MiddlewareType
from ..ws import (
    DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_MAX_IN_FLIGHT,
    MAX_SUBSCRIPTIONS,
    PEER_KEY,
    MessageHook,
    WSConnection,
    WSPeer,
)
from .base import BaseJSONRPCServer
from .fanout import DEFAULT_TOPIC_BUFFER, Fanout
from .origins import OriginPolicy
from .relay import RelayTransport

__all__ = ('DEFAULT_MAX_WS_CONNECTIONS', 'DEFAULT_WS_RESPONSE_KWARGS', 'WSJSONRPCServer', 'WSJSONResponseHandler')

logger = logging.getLogger('aiohttp_rpc.websocket')

DEFAULT_WS_RESPONSE_KWARGS: Mapping[str, Any] = {'max_msg_size': 1_048_576, 'heartbeat': 30.0}
"""Defaults for the server's ``WebSocketResponse``; ``ws_response_kwargs`` entries override them."""

DEFAULT_MAX_WS_CONNECTIONS = 1024
"""WebSocket connections one server accepts at once; more get 429."""

# A client that resets the connection during the handshake: aiohttp raises one of these from prepare().
_HANDSHAKE_FAILURES = (ConnectionError, RuntimeError)


class WSJSONResponseHandler(Protocol):
    """2.0 hook: receives response-shaped messages that match no call the server made."""

    async def __call__(self, *, ws_connect: Any, ws_msg: WSMessage, json_response: Any) -> None: ...


class WSJSONRPCServer(BaseJSONRPCServer):
    """A JSON-RPC server over WebSocket; mount :meth:`handle_http_request` on a GET route.

    Args:
        allowed_origins: accepted ``Origin`` values (``None`` in it admits clients that send none), or
            ``'*'`` for any. Not given: pages on this same origin or on ``localhost``/``127.0.0.1``, and clients
            without an ``Origin``; other sites get 403 before the upgrade (no cross-site WebSocket hijacking).
        allowed_hosts: accepted ``Host`` values; others get 403.
        max_ws_connections: the most connections at once (1024); more get 429 at the handshake. ``None``: no
            limit.
        json_response_handler: 2.0 hook for replies that match no call the server made (run in a task that
            counts against ``max_in_flight``).
        ws_response_cls: the ``WebSocketResponse`` class to use.
        ws_response_kwargs: options for it, over :data:`DEFAULT_WS_RESPONSE_KWARGS` (1 MiB messages, 30 s
            heartbeat).
        max_in_flight: requests of one connection running at once (in tasks of their own, 1024) before the
            server stops reading from it.
        max_buffered_bytes: bytes one connection may hold in its write buffer (4 MiB) before the server stops
            reading from it and senders to it wait: what a peer that does not read its replies can cost.
        peer_timeout: seconds a call to a peer waits for its reply.
        max_subscriptions: subscriptions one connection may have open at once (1024); past it, subscribing
            answers -32006 Too many subscriptions. ``None``: no limit.
        backplane: how the workers of a deployment hear each other's broadcasts and topic items
            (:class:`~aiohttp_rpc.RedisBackplane`); by default this process alone.
        json_serialize, json_deserialize, middlewares, methods, max_batch, batch_concurrency, call_timeout,
        max_response_size, max_batch_response_size, max_method_length, strict_floats, sync_executor,
        validate_params, context_factory, context_type, guards, allow_late_methods: the dispatcher's options; see
        :class:`~aiohttp_rpc.dispatch.Dispatcher`.

    Attributes:
        peers: the live connections, as :class:`~aiohttp_rpc.WSPeer` objects.
        rpc_websockets: the live ``WebSocketResponse`` objects (2.0 name).

    Example::

        server = WSJSONRPCServer(middlewares=DEFAULT_MIDDLEWARES)
        app.router.add_get('/rpc', server.handle_http_request)
        app.on_shutdown.append(server.on_shutdown)
    """

    default_origin_policy = OriginPolicy(None)

    def __init__(
        self,
        *,
        json_response_handler: WSJSONResponseHandler | None = None,
        ws_response_cls: type[web.WebSocketResponse] = web.WebSocketResponse,
        ws_response_kwargs: Mapping[str, Any] | None = None,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        max_buffered_bytes: int | None = DEFAULT_MAX_BUFFERED_BYTES,
        peer_timeout: float | None = 60,
        max_subscriptions: int | None = MAX_SUBSCRIPTIONS,
        backplane: Backplane | None = None,
        max_ws_connections: int | None = DEFAULT_MAX_WS_CONNECTIONS,
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
        self.max_ws_connections = max_ws_connections
        self.ws_response_cls = ws_response_cls
        self.ws_response_kwargs = {**DEFAULT_WS_RESPONSE_KWARGS, **(ws_response_kwargs or {})}
        self.peers: set[WSPeer] = set()
        self.rpc_websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self._max_in_flight = max_in_flight
        self._max_buffered_bytes = max_buffered_bytes
        self._peer_timeout = peer_timeout
        self._max_subscriptions = max_subscriptions
        self._dropped_by_closed = 0  # items dropped for peers that have gone
        self._peers_by_id: dict[str, WSPeer] = {}
        self.fanout = Fanout(backplane or InProcessBackplane(), self.codec, self._broadcast_here, self._peers_by_id.get)
        self._on_unmatched = _response_hook(json_response_handler)
        self._peers_changed: list[asyncio.Future[None]] = []

    async def handle_http_request(self, http_request: web.Request) -> web.StreamResponse:
        """Upgrade to WebSocket and serve JSON-RPC on it until either side closes.

        Raises:
            web.HTTPException: 405 (not a WebSocket upgrade), 403 (host or origin), 429 (too many connections).
        """
        ws = self.ws_response_cls(**self.ws_response_kwargs)
        if not ws.can_prepare(http_request).ok:
            raise web.HTTPMethodNotAllowed(method=http_request.method, allowed_methods=('GET',))
        self.check_access(http_request)
        if self.max_ws_connections is not None and len(self.peers) >= self.max_ws_connections:
            raise web.HTTPTooManyRequests(text='Too many WebSocket connections.')
        try:
            await ws.prepare(http_request)
        except _HANDSHAKE_FAILURES as exc:  # the client left during the handshake: nothing to serve
            logger.debug('WebSocket client left during the handshake: %r', exc)
            # Not the half-started ``ws``: finishing it would fail with an error aiohttp logs with a traceback.
            # Writing this one fails with ConnectionError, which aiohttp ignores as a premature disconnection.
            return web.Response()
        connection = WSConnection(
            ws,
            codec=self.codec,
            dispatcher=self.dispatcher,
            context={HTTP_REQUEST: http_request, WS: ws},
            timeout=self._peer_timeout,
            max_in_flight=self._max_in_flight,
            max_buffered_bytes=self._max_buffered_bytes,
            on_unmatched=self._on_unmatched,
            max_subscriptions=self._max_subscriptions,
        )
        if self.fanout.backplane.spans_processes:
            await self.fanout.start()  # listen to the other workers from the first connection on
        peer = WSPeer(
            connection,
            json_serialize=self.codec.serialize,
            json_deserialize=self.codec.deserialize,
            peer_id=f'{self.fanout.worker}:{secrets.token_hex(8)}',
        )
        connection.context[PEER_KEY] = peer
        self._add_peer(peer)
        try:
            await connection.run()  # this task is the connection's reader
        finally:
            self._remove_peer(peer)
            await connection.aclose()  # with the code of any close already under way (on_shutdown's 1001)
        return ws

    def _add_peer(self, peer: WSPeer) -> None:
        self._peers_by_id[peer.id] = peer
        self.peers.add(peer)
        self.rpc_websockets.add(peer.ws_connect)
        self._notify_peers_changed()

    @property
    def subscriptions(self) -> int:
        """Subscriptions open on the live connections."""
        return sum(peer.transport.subscriptions for peer in self.peers)

    @property
    def dropped_items(self) -> int:
        """Items ``drop_oldest`` subscriptions have dropped for slow peers since the server started."""
        return self._dropped_by_closed + sum(peer.transport.dropped_items for peer in self.peers)

    def peer(self, peer_id: str) -> BaseJSONRPCClient:
        """The peer ``peer_id`` (a :attr:`WSPeer.id <aiohttp_rpc.WSPeer.id>`), as a client to call and notify:
        this worker's own, or, with a backplane that spans processes, one another worker holds (calls go through
        the backplane to it and the replies come back). A peer that has gone, or whose worker has, fails at once
        with ``TransportError``.

        Raises:
            LookupError: no such peer here, and no backplane to reach other workers.
        """
        local = self._peers_by_id.get(peer_id)
        if local is not None:
            return local
        if not self.fanout.backplane.spans_processes:
            raise LookupError(f'No peer {peer_id!r} on this server, and no backplane to other workers.')
        return BaseJSONRPCClient(
            transport=RelayTransport(self.fanout.relay, peer_id, self._peer_timeout),
            json_serialize=self.codec.serialize,
            json_deserialize=self.codec.deserialize,
        )

    def _remove_peer(self, peer: WSPeer) -> None:
        self._peers_by_id.pop(peer.id, None)
        if peer in self.peers:
            self._dropped_by_closed += peer.transport.dropped_items
        self.peers.discard(peer)
        self.rpc_websockets.discard(peer.ws_connect)
        self._notify_peers_changed()

    def _notify_peers_changed(self) -> None:
        waiters, self._peers_changed = self._peers_changed, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_peers(self, predicate: Callable[[set[WSPeer]], bool]) -> None:
        """Wait until ``predicate(server.peers)`` is true, checking it now and whenever a peer connects or
        leaves. Wrap it in ``asyncio.wait_for`` to bound the wait.

        Example::

            await server.wait_peers(lambda peers: len(peers) == 2)   # both clients are connected
            await server.wait_peers(lambda peers: not peers)          # every connection has closed
        """
        while not predicate(self.peers):
            waiter = asyncio.get_running_loop().create_future()
            self._peers_changed.append(waiter)
            await waiter

    async def broadcast(
        self,
        method: str,
        *args: Any,
        where: Callable[[WSPeer], bool] | None = None,
        send_timeout: float | None = 5.0,
        **kwargs: Any,
    ) -> int:
        """Send a notification to every connected peer (or those ``where(peer)`` accepts).

        The message is serialized once and written to every peer; the call never waits for a slow one. A peer
        whose write buffer is over ``max_buffered_bytes`` gets the message queued behind its backlog (see
        :meth:`~aiohttp_rpc.ws.WSConnection.post`); if it has not cleared that backlog ``send_timeout`` seconds
        after it started, or lets more than 1024 messages queue up, its connection is aborted at once (never
        waited on). So a slow or dead peer never holds up the others, every peer that keeps up gets every
        broadcast in order, and nothing is raised for a peer that fails. ``send_timeout=None``: no time limit
        (the queue limit still holds). ``where`` and ``send_timeout`` are reserved names here; the other keyword
        arguments become named params.

        With a backplane that spans processes (:class:`~aiohttp_rpc.RedisBackplane`), the peers of every worker
        get it (at most once; in order per sending worker), unless ``where`` is given: a filter only this worker
        can apply keeps the broadcast here.

        Returns:
            how many peers of this worker took the notification: written to their socket, or queued behind
            their backlog.

        Raises:
            BackplaneError: the other workers could not be reached (this worker's peers have it).
        """
        request = JSONRPCRequest(method=method, args=args or None, kwargs=kwargs or None)
        payload = self.codec.dumps(request.dump())
        if where is not None:
            return await self._broadcast_here(payload, send_timeout, where)
        return await self.fanout.broadcast(payload, send_timeout)

    async def _broadcast_here(
        self, payload: bytes, send_timeout: float | None, where: Callable[[WSPeer], bool] | None = None
    ) -> int:
        delivered = 0
        for peer in [peer for peer in tuple(self.peers) if where is None or where(peer)]:
            delivered += await peer.transport.post(payload, send_timeout)  # never waits for room
        return delivered

    async def publish(self, topic: str, item: Any) -> None:
        """Send ``item`` to every ``topic(topic)`` iterator, on every worker the backplane joins.

        Raises:
            BackplaneError: the other workers could not be reached (this worker's iterators have the item).
        """
        await self.fanout.publish(topic, item)

    def topic(self, name: str, *, buffer: int = DEFAULT_TOPIC_BUFFER) -> AsyncIterator[Any]:
        """The items published on ``name`` from the first iteration on, by any worker; it holds at most ``buffer``
        items not yet taken, then drops the oldest. Feed a subscription from it::

            async def prices(symbol: str) -> AsyncIterator[Price]:
                async for price in server.topic(f'prices.{symbol}'):
                    yield price
        """
        return self.fanout.topic(name, buffer=buffer)

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every connection with 1001 Going Away, cancelling requests still running.

        Add it to ``app.on_shutdown``.
        """
        connections = [peer.transport for peer in tuple(self.peers)]
        await asyncio.gather(
            *(connection.aclose(code=WSCloseCode.GOING_AWAY, message=b'Server shutdown') for connection in connections),
            return_exceptions=True,
        )
        await self.fanout.close()


def _response_hook(handler: WSJSONResponseHandler | None) -> MessageHook | None:
    if handler is None:
        return None

    async def hook(connection: WSConnection, ws_msg: WSMessage, message: Any) -> None:
        await handler(ws_connect=connection.ws, ws_msg=ws_msg, json_response=message)

    return hook
