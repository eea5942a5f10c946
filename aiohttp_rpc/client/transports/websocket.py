"""WebSocket client transport: connects, owns the reader task, and reconnects when asked to.

Given a WebSocket that a connection already serves (a server's ``WebSocketResponse``, as 2.0 code passes to
``WSJSONRPCClient(ws_connect=...)``), it sends through that connection instead: the server's reader matches the
replies, and closing the client leaves the socket to its server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from ...caller.transport import Decoded
from ...errors import JSONRPCError, ParseError, RequestTimeoutError, TransportError
from ...protocol.context import WS
from ...ws import DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_IN_FLIGHT, MAX_SUBSCRIPTIONS, MessageHook, WSConnection

if TYPE_CHECKING:
    from ...dispatch.dispatcher import Dispatcher
    from ...serialization import JSONCodec
    from ...typedefs import JSONRPCIDType

__all__ = ('ReconnectPolicy', 'WSTransport')

logger = logging.getLogger('aiohttp_rpc.websocket')


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a WebSocket client reconnects after its socket drops.

    The n-th attempt waits ``min(initial_delay * factor ** (n - 1), max_delay)`` seconds first.

    Attributes:
        initial_delay: seconds before the first attempt.
        max_delay: the longest wait between attempts.
        factor: growth of the wait after each failed attempt.
        max_attempts: give up after this many failed attempts in a row (``None``: never give up).
    """

    initial_delay: float = 0.1
    max_delay: float = 10.0
    factor: float = 2.0
    max_attempts: int | None = None

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (1-based)."""
        return float(min(self.initial_delay * self.factor ** (attempt - 1), self.max_delay))


class WSTransport:
    """Carries a client's messages over one WebSocket, and answers the server's requests on it.

    Args:
        url: where to connect (unless ``ws_connect`` is given).
        codec: the JSON codec.
        dispatcher: answers requests the server sends to this client.
        context: base context for those requests.
        session: an outer ``aiohttp.ClientSession``; never closed here.
        ws_connect: an already-open WebSocket to use, client or server side; never closed here.
        ws_connect_kwargs: arguments for ``session.ws_connect``.
        timeout: seconds to wait for each reply.
        max_in_flight: incoming requests answered at once.
        max_buffered_bytes: bytes the write buffer may hold before reading pauses and senders wait.
        max_subscriptions: subscriptions the server may have open to this client's methods.
        reconnect: a :class:`ReconnectPolicy` to reconnect after a drop (needs ``url``), or ``None``.
        on_requests, on_unmatched: hooks, see :class:`WSConnection`.
    """

    def __init__(
        self,
        url: str | None,
        *,
        codec: JSONCodec,
        dispatcher: Dispatcher,
        context: Mapping[str, Any],
        session: aiohttp.ClientSession | None = None,
        ws_connect: aiohttp.ClientWebSocketResponse[bool] | web.WebSocketResponse | None = None,
        ws_connect_kwargs: Mapping[str, Any] | None = None,
        timeout: float | None = 60,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        max_buffered_bytes: int | None = DEFAULT_MAX_BUFFERED_BYTES,
        max_subscriptions: int | None = MAX_SUBSCRIPTIONS,
        reconnect: ReconnectPolicy | None = None,
        on_requests: MessageHook | None = None,
        on_unmatched: MessageHook | None = None,
    ) -> None:
        if url is None and ws_connect is None:
            raise ValueError('Give a url or an open ws_connect.')
        self.url = url
        self.session = session
        self.ws_connect = ws_connect
        self.connection: WSConnection | None = None
        self._owns_session = session is None
        self._owns_ws = ws_connect is None
        self._ws_connect_kwargs = dict(ws_connect_kwargs or {})
        self._codec = codec
        self._dispatcher = dispatcher
        self._context = context
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        self._max_buffered_bytes = max_buffered_bytes
        self._max_subscriptions = max_subscriptions
        self._reconnect = reconnect if url is not None else None
        self._on_requests = on_requests
        self._on_unmatched = on_unmatched
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False

    carries_streams = True
    """Subscriptions can be made over it."""

    @property
    def reconnects(self) -> bool:
        """Whether it will try to reconnect after its socket drops (a subscription then subscribes again)."""
        return self._reconnect is not None and not self._closing

    def forget_subscription(self, subscription_id: str) -> None:
        """Stop delivering the items of our subscription ``subscription_id``."""
        if self.connection is not None:
            self.connection.forget_subscription(subscription_id)

    async def open(self) -> None:
        served = WSConnection.of(self.ws_connect)
        if served is not None:  # a socket a server already reads: send through its connection
            self.connection = served
            self._reconnect = None
            return
        if self.ws_connect is None:
            if self.session is None:
                self.session = aiohttp.ClientSession()
            self.ws_connect = await self._connect()
        self._reader = asyncio.create_task(self._read(self._start(self.ws_connect)))

    async def _connect(self) -> aiohttp.ClientWebSocketResponse[bool]:
        assert self.session is not None
        assert self.url is not None
        try:
            return await self.session.ws_connect(self.url, **self._ws_connect_kwargs)
        except asyncio.TimeoutError as exc:
            raise RequestTimeoutError(data={'details': f'Could not connect to {self.url} in time.'}) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(data={'details': f'{type(exc).__name__}: {exc}'}) from exc

    def _start(self, ws: aiohttp.ClientWebSocketResponse[bool] | web.WebSocketResponse) -> WSConnection:
        self.connection = WSConnection(
            ws,
            codec=self._codec,
            dispatcher=self._dispatcher,
            context={**self._context, WS: ws},
            timeout=self._timeout,
            max_in_flight=self._max_in_flight,
            max_buffered_bytes=self._max_buffered_bytes,
            max_subscriptions=self._max_subscriptions,
            on_requests=self._on_requests,
            on_unmatched=self._on_unmatched,
        )
        self._connected.set()
        return self.connection

    async def _read(self, connection: WSConnection) -> None:
        await connection.run()
        self._connected.clear()
        if self._closing or self._reconnect is None:
            return
        await self._reconnect_with_backoff(self._reconnect)

    async def _reconnect_with_backoff(self, policy: ReconnectPolicy) -> None:
        attempt = 0
        while not self._closing:
            attempt += 1
            if policy.max_attempts is not None and attempt > policy.max_attempts:
                logger.warning('Giving up reconnecting to %s after %d attempts.', self.url, attempt - 1)
                self._reconnect = None  # calls now fail at once instead of waiting
                return
            await asyncio.sleep(policy.delay(attempt))
            try:
                self.ws_connect = await self._connect()
            except TransportError as exc:
                logger.info('Reconnect attempt %d to %s failed: %r', attempt, self.url, exc)
                continue
            logger.info('Reconnected to %s.', self.url)
            connection = self._start(self.ws_connect)
            await connection.run()
            self._connected.clear()
            attempt = 0

    async def send(
        self,
        payload: bytes,
        *,
        expect_reply: bool,
        request_ids: Sequence[JSONRPCIDType] = (),
        **kwargs: Any,
    ) -> tuple[Decoded | None, MutableMapping[str, Any]]:
        connection = self.connection
        if connection is None or connection.closed:
            connection = await self._wait_for_connection(kwargs.get('timeout', self._timeout))
        return await connection.send(payload, expect_reply=expect_reply, request_ids=request_ids, **kwargs)

    def unreadable(self, body: bytes, context: Mapping[str, Any]) -> JSONRPCError:
        """``ParseError`` (replies come :class:`~aiohttp_rpc.caller.transport.Decoded`: see :class:`WSConnection`)."""
        return ParseError(data={'details': 'Invalid JSON'})

    async def _wait_for_connection(self, timeout: float | None) -> WSConnection:
        if self._reconnect is None or self._closing:
            raise TransportError(data={'details': 'Not connected.'})
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except asyncio.TimeoutError as exc:
            raise RequestTimeoutError(data={'details': 'Not reconnected in time.'}) from exc
        assert self.connection is not None
        return self.connection

    async def aclose(self) -> None:
        self._closing = True
        connection = self.connection
        if connection is not None and self._owns_ws:
            await connection.aclose()
        reader, self._reader = self._reader, None
        if reader is not None:
            # Cancelling the reader fails its pending calls and cancels its in-flight requests; an outer
            # socket is left open.
            reader.cancel()
            await asyncio.wait([reader])
        if self._owns_session and self.session is not None:
            await self.session.close()
            self.session = None
