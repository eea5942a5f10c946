"""The client core: call, notify, batch, the ``methods`` proxy and error mapping, over any transport.

It never does I/O itself: everything goes through :meth:`BaseJSONRPCClient.send_json`, which serializes once
and hands the bytes to the client's transport.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import DEFAULT_KNOWN_ERRORS_MAP, EmptyResponse, InvalidRequest, JSONRPCError, ParseError
from ..protocol.request import JSONRPCBatchRequest, JSONRPCRequest
from ..protocol.response import JSONRPCBatchResponse, JSONRPCResponse
from ..protocol.results import collect_batch_result
from ..serialization import JSONCodec, json_deserialize, json_serialize
from .methods import JSONRPCClientMethods
from .proxy import build_proxy
from .subscription import DEFAULT_BUFFER, OverflowPolicy, Subscription
from .transport import Decoded

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..methods.progress import ProgressReport
    from ..typedefs import JSONDecoderType, JSONEncoderType, JSONRPCIDType
    from .transport import Transport

__all__ = ('BaseJSONRPCClient', 'ClientState')

T = TypeVar('T')


class ClientState(enum.Enum):
    """Where a client is in its life: not yet connected, connected, or closed for good."""

    UNOPENED = 'unopened'
    OPENED = 'opened'
    CLOSED = 'closed'


class BaseJSONRPCClient:
    """What every client offers, whatever carries its messages.

    Use it with ``async with`` (or :meth:`connect`/:meth:`disconnect`); a client connects by itself on its
    first call if you did not. A closed client cannot be reused: calls raise ``RuntimeError``.

    Args:
        transport: what carries the messages (see :class:`~aiohttp_rpc.caller.transport.Transport`); the HTTP and
            WebSocket clients make their own, e.g. ``BaseJSONRPCClient(transport=LocalTransport(server, ...))``.
        json_serialize: ``json.dumps``-style callable; orjson by default.
        json_deserialize: ``json.loads``-style callable; orjson by default.
        error_map: ``code -> JSONRPCError subclass`` used to raise error replies as their own classes.

    Attributes:
        methods: remote methods as attributes: ``await client.methods.ping()``.
        error_map: see above.
    """

    transport: Transport
    error_map: Mapping[int, type[JSONRPCError]]

    def __init__(
        self,
        *,
        transport: Transport | None = None,
        json_serialize: JSONEncoderType = json_serialize,
        json_deserialize: JSONDecoderType = json_deserialize,
        error_map: Mapping[int, type[JSONRPCError]] = DEFAULT_KNOWN_ERRORS_MAP,
    ) -> None:
        self.methods = JSONRPCClientMethods(self)
        self.error_map = error_map
        self._json_serialize = json_serialize
        self._json_deserialize = json_deserialize
        self._codec = JSONCodec(json_serialize, json_deserialize)
        self._ids = itertools.count(1)
        self._state = ClientState.UNOPENED
        if transport is not None:
            self.transport = transport

    @property
    def state(self) -> ClientState:
        """The client's :class:`ClientState`."""
        return self._state

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        """Open the transport (a no-op when already open).

        Raises:
            RuntimeError: the client was closed.
            TransportError: the peer cannot be reached (transports that connect eagerly).
        """
        if self._state is ClientState.OPENED:
            return
        if self._state is ClientState.CLOSED:
            raise RuntimeError('Cannot reopen a client once it has been closed; create a new one.')
        if getattr(self, 'transport', None) is None:
            raise RuntimeError('This client has no transport: pass one, as in BaseJSONRPCClient(transport=...).')
        try:
            await self.transport.open()
        except BaseException:
            await self.transport.aclose()  # release what open() got before failing (e.g. its own session)
            raise
        self._state = ClientState.OPENED

    async def disconnect(self) -> None:
        """Close the transport; outer sessions and sockets passed in are left open. Safe to call twice."""
        if self._state is ClientState.CLOSED:
            return
        self._state = ClientState.CLOSED
        await self.transport.aclose()

    # -- high-level API -------------------------------------------------------------------------------------

    async def call(
        self,
        method_name: str,
        *args: Any,
        on_progress: Callable[[ProgressReport], object] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call a remote method and return its result.

        Args:
            method_name: the method.
            *args, **kwargs: its params, positional or named.
            on_progress: called (in order, from the connection's reader: do not block in it) with each
                :class:`~aiohttp_rpc.ProgressReport` the method sends before its reply (see
                :mod:`aiohttp_rpc.methods.progress`); WebSocket clients only.

        Raises:
            JSONRPCError: the error reply, as the class ``error_map`` gives for its code.
            TransportError: the message could not be delivered (``RequestTimeoutError`` when too slow).
            EmptyResponse: the peer sent no reply.
            ValueError: ``on_progress`` was given to a client whose transport cannot carry reports (HTTP).
        """
        if on_progress is not None:
            return await self._call_with_progress(method_name, args, kwargs, on_progress)
        response = await self.direct_call(self.build_request(method_name, args, kwargs))
        if response is None:
            raise EmptyResponse()
        if response.error is not None:
            raise response.error
        return response.result

    async def _call_with_progress(
        self,
        method_name: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        on_progress: Callable[[ProgressReport], object],
    ) -> Any:
        if not getattr(self.transport, 'carries_streams', False):
            raise ValueError(
                f'on_progress needs a WebSocket client: {type(self.transport).__name__} cannot carry progress reports.'
            )
        request = self.build_request(method_name, args, kwargs)
        request.meta = {'progressToken': request.id}
        response = await self.direct_call(request, progress=on_progress)
        if response is None:  # pragma: no cover - a request with an id always gets one
            raise EmptyResponse()
        if response.error is not None:
            raise response.error
        return response.result

    def proxy(self, api: Callable[..., T], *, prefix: str | None = None, validate_results: bool = False) -> T:
        """The remote methods of the ``typing.Protocol`` ``api``, typed as it declares them (see
        :mod:`aiohttp_rpc.caller.proxy`): ``await calc.add(1, 2)`` is an ``int`` to mypy and pyright.

        Args:
            api: the protocol class both sides import.
            prefix: the group the server serves it under (``server.add_api(api, impl, prefix=...)``).
            validate_results: check and convert each result (and subscription item) to the declared type with
                pydantic; one that does not fit raises ``ContractError``.

        Example::

            calc = rpc.proxy(CalcAPI, prefix='calc')
            total = await calc.add(1, 2)
            async for tick in calc.ticks('BTC'):
                ...
        """
        return build_proxy(self, api, prefix=prefix, validate_results=validate_results)

    def subscribe(
        self,
        method_name: str,
        *args: Any,
        unsubscribe: str | None = None,
        buffer: int = DEFAULT_BUFFER,
        on_overflow: OverflowPolicy = 'lagged',
        resume: bool = False,
        last_event_id: str | None = None,
        **kwargs: Any,
    ) -> Subscription:
        """A subscription to the peer's ``method_name`` (over a WebSocket): iterate it for the items.

        Nothing is sent until it is awaited, entered or iterated. Keyword arguments other than the options below
        are the subscribe call's named params.

        Args:
            unsubscribe: the peer's unsubscribe method (default: ``method_name + '.unsubscribe'``, what our
                servers offer; ``'eth_unsubscribe'`` for an Ethereum node).
            buffer: items held for the consumer before ``on_overflow`` applies (1024).
            on_overflow: ``'lagged'`` (default: the subscription ends, the iterator raises
                ``SubscriptionLagged``) or ``'drop_oldest'`` (the oldest held item is dropped and counted).
            resume: after a reconnect, ask a resumable subscription for the items missed meanwhile (after
                ``sub.last_event_id``) instead of starting again with a :class:`~aiohttp_rpc.Gap`; a gap still
                comes first when the peer cannot give them all.
            last_event_id: with ``resume``, start after this event id (one kept from an earlier subscription,
                even by another process).

        Example::

            async with rpc.subscribe('ticker', 'BTC') as prices:
                async for price in prices:
                    ...
        """
        return Subscription(
            self,
            method_name,
            args,
            kwargs,
            unsubscribe=unsubscribe,
            buffer=buffer,
            on_overflow=on_overflow,
            resume=resume,
            last_event_id=last_event_id,
        )

    async def notify(self, method_name: str, *args: Any, **kwargs: Any) -> None:
        """Send a notification: no reply is expected or awaited."""
        await self.direct_call(self.build_request(method_name, args, kwargs, notification=True))

    async def batch(self, *requests: JSONRPCRequest, save_order: bool = True) -> tuple[Any, ...]:
        """Send several requests at once and return one value per request: the result, or the error instance
        (errors are returned in place, not raised).

        With ``save_order=True`` values follow the order of ``requests`` (matched by id); otherwise they follow
        the order of the peer's replies.

        Raises:
            JSONRPCError: the peer rejected the batch as a whole (e.g. too large).
            EmptyResponse: the peer sent no reply.
        """
        batch_request = JSONRPCBatchRequest(requests=requests)
        batch_response = await self.direct_batch(batch_request)
        if batch_response is None:
            raise EmptyResponse()
        if save_order:
            return collect_batch_result(batch_request, batch_response)
        return tuple(
            response.result if response.error is None else response.error for response in batch_response.responses
        )

    async def batch_notify(self, *requests: JSONRPCRequest) -> None:
        """Send several notifications at once."""
        await self.direct_batch(JSONRPCBatchRequest(requests=requests))

    # -- lower-level API ------------------------------------------------------------------------------------

    async def direct_call(self, request: JSONRPCRequest, **kwargs: Any) -> JSONRPCResponse | None:
        """Send a request object; return the response object (``None`` for a notification).

        ``kwargs`` go to the transport (for HTTP: ``aiohttp.ClientSession.post``, e.g. ``headers=``).
        """
        json_response, context = await self.send_json(request.dump(), ignore_response=request.is_notification, **kwargs)
        if request.is_notification:
            return None
        return JSONRPCResponse.load(json_response, error_map=self.error_map, context=context)

    async def direct_batch(self, batch_request: JSONRPCBatchRequest, **kwargs: Any) -> JSONRPCBatchResponse | None:
        """Send a batch object; return the batch response (``None`` when every member is a notification).

        Raises:
            InvalidRequest: the batch is empty.
            ParseError: the peer answered with an empty array.
        """
        if not batch_request.requests:
            raise InvalidRequest("You can't send an empty batch request.")
        is_notification = batch_request.is_notification
        json_response, context = await self.send_json(batch_request.dump(), ignore_response=is_notification, **kwargs)
        if is_notification:
            return None
        if not json_response:
            raise ParseError('Server returned an empty batch response.')
        return JSONRPCBatchResponse.load(json_response, error_map=self.error_map, context=context)

    async def send_json(
        self, data: Any, *, ignore_response: bool = False, **kwargs: Any
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Send JSON-ready ``data`` and return ``(decoded reply or None, context)``.

        Every other sending method goes through here: override it in a subclass (or replace it in a test) to
        intercept all traffic.

        Raises:
            RuntimeError: the client was closed.
            TransportError: the message could not be delivered.
            ParseError, HTTPStatusError: the reply is not JSON (which one: the transport's ``unreadable``).
        """
        if self._state is not ClientState.OPENED:
            await self.connect()
        reply, context = await self.transport.send(
            self._codec.dumps(data),
            expect_reply=not ignore_response,
            request_ids=() if ignore_response else _request_ids(data),
            **kwargs,
        )
        if reply is None:
            return None, context
        if isinstance(reply, Decoded):  # a WebSocket reply, decoded once by the reader that routed it
            return reply.message, context
        try:  # the client alone decodes
            return self._codec.loads(reply), context
        except ValueError as exc:
            raise self.transport.unreadable(reply, context) from exc

    def build_request(
        self,
        method_name: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        notification: bool = False,
    ) -> JSONRPCRequest:
        """A request for ``method_name`` with this client's next id (or none, for a notification).

        Raises:
            InvalidParams: both positional and named arguments were given (JSON-RPC allows one kind).
        """
        return JSONRPCRequest.for_call(method_name, None if notification else next(self._ids), args, kwargs)


def _request_ids(data: Any) -> tuple[JSONRPCIDType, ...]:
    """The ids a reply to ``data`` will carry (what a multiplexing transport waits for)."""
    if type(data) is dict or isinstance(data, Mapping):
        request_id = data.get('id')
        return () if request_id is None else (request_id,)
    return tuple(item['id'] for item in data if isinstance(item, Mapping) and item.get('id') is not None)
