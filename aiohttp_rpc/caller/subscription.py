"""The subscriber's side of a subscription: ``async with client.subscribe('ticker', 'BTC') as sub``.

A :class:`Subscription` calls the subscribe method, then yields the items the peer pushes, in order. The reader of
the connection hands them to the subscription's :class:`ItemSink` (bound to the id as the reply to the subscribe
call is read, so no item can come too early), which holds at most ``buffer`` items; past that it applies
``on_overflow``. How a subscription ended is :attr:`Subscription.close_reason`; an end that loses items is never
silent: an error or a lag raises from the iterator, and after a reconnect the iterator first yields a
:class:`Gap`.

With ``resume=True`` the subscription remembers the event id of the last item taken (items of a resumable
subscription carry one) and, after a reconnect, subscribes again asking for the items after it: when the peer
gives them, the iteration goes on without a gap; otherwise (the peer's history no longer holds them, or the
subscription is not resumable) a :class:`Gap` comes first, as without ``resume``.
"""

from __future__ import annotations

import asyncio
import collections
import enum
from collections.abc import Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from ..errors import JSONRPCError, SubscriptionLagged, SubscriptionsUnavailable, TransportError
from ..methods.subscription import LAST_EVENT_ID

if TYPE_CHECKING:
    from typing_extensions import Self

    from .base import BaseJSONRPCClient

__all__ = ('DEFAULT_BUFFER', 'CloseReason', 'Gap', 'ItemSink', 'OverflowPolicy', 'Subscription')

DEFAULT_BUFFER = 1024
"""Items a subscriber holds for a consumer that has not taken them yet."""

OverflowPolicy = Literal['lagged', 'drop_oldest']
"""What a full subscriber buffer does: end the subscription as lagged, or drop the oldest item."""


class CloseReason(enum.Enum):
    """How a subscription ended."""

    UNSUBSCRIBED = 'unsubscribed'
    """This side unsubscribed (``aclose()``, leaving ``async with``)."""
    COMPLETED = 'completed'
    """The peer's stream ended (the generator returned)."""
    LAGGED = 'lagged'
    """The consumer fell behind: the peer ended it (``on_slow='close'``), or this side's buffer filled up."""
    ERROR = 'error'
    """The peer's stream ended with an error."""
    CONNECTION_LOST = 'connection lost'
    """The connection closed and the subscription could not be re-established."""


class Gap:
    """Yielded by a subscription's iterator where items may be missing.

    Attributes:
        reason: why: ``'reconnected'`` (the connection was lost and the subscription re-established, under a new
            id, without the items missed meanwhile) or ``'missed'`` (the peer says items of its topic are missing
            here: its history no longer held them, or it fell behind the topic).
    """

    __slots__ = ('reason',)

    def __init__(self, reason: str = 'reconnected') -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f'Gap({self.reason!r})'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Gap) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash((Gap, self.reason))


class ItemSink:
    """The items of one subscription as the connection's reader delivers them (synchronously), for one consumer.

    Args:
        limit: items held before ``overflow`` applies.
        overflow: ``'lagged'`` or ``'drop_oldest'``.
        load_error: turns an error object from the peer into the exception to raise.
    """

    __slots__ = ('_items', '_load_error', '_waiter', 'dropped', 'end', 'error', 'limit', 'overflow')

    def __init__(
        self,
        limit: int,
        overflow: OverflowPolicy,
        load_error: Callable[[Any], JSONRPCError],
    ) -> None:
        self.limit = limit
        self.overflow = overflow
        self._load_error = load_error
        self._items: collections.deque[tuple[Any, str | None] | Gap] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self.end: CloseReason | None = None
        self.error: JSONRPCError | None = None
        self.dropped = 0

    def deliver(self, params: Mapping[str, Any]) -> bool:
        """Take one notification's params (``result``, ``error`` or ``done``); True when it ended the
        subscription."""
        if self.end is not None:
            return True
        if 'result' in params:
            if len(self._items) >= self.limit:
                if self.overflow == 'drop_oldest':
                    self._items.popleft()
                    self.dropped += 1
                else:
                    details = f"More than {self.limit} items waited for the consumer (this client's buffer)."
                    self.finish(CloseReason.LAGGED, SubscriptionLagged(data={'details': details}))
                    return True
            if params.get('gap') is True:
                self._items.append(Gap('missed'))
            event_id = params.get('eventId')
            self._items.append((params['result'], event_id if type(event_id) is str else None))
        elif 'error' in params:
            error = self._load_error(params['error'])
            reason = CloseReason.LAGGED if isinstance(error, SubscriptionLagged) else CloseReason.ERROR
            self.finish(reason, error)
        elif params.get('done') is True:
            self.finish(CloseReason.COMPLETED)
        else:
            return False
        self._wake()
        return self.end is not None

    def finish(self, reason: CloseReason, error: JSONRPCError | None = None) -> None:
        """End the stream (the first end counts); items already held are still taken."""
        if self.end is None:
            self.end = reason
            self.error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self) -> tuple[Any, str | None] | Gap:
        """The next item with its event id, or a gap the peer marked; raises :class:`_Ended` once the items are
        taken and the stream has ended."""
        while not self._items:
            if self.end is not None:
                raise _Ended(self.end, self.error)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class _Ended(Exception):
    def __init__(self, reason: CloseReason, error: JSONRPCError | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


class Subscription:
    """One subscription, as ``client.subscribe(name, *args, **kwargs)`` gives it: an async iterator over the items,
    and an async context manager that unsubscribes on exit. ``await`` it (or enter it) to subscribe before
    iterating; iterating subscribes too.

    Iteration ends (``StopAsyncIteration``) when the stream completes or this side unsubscribes. It raises the
    peer's error when the stream ends with one, :class:`~aiohttp_rpc.errors.SubscriptionLagged` when the consumer
    fell behind, and :class:`~aiohttp_rpc.errors.TransportError` when the connection was lost for good. With a
    reconnecting client it subscribes again after a reconnect and yields a :class:`Gap` first.

    Attributes:
        id: the current subscription id (``None`` before subscribing).
        close_reason: how it ended (a :class:`CloseReason`), ``None`` while live.
        dropped: items dropped by ``on_overflow='drop_oldest'``.
        last_event_id: the event id of the last item taken (items of resumable subscriptions carry one).

    Example::

        async with client.subscribe('ticker', 'BTC') as prices:
            async for price in prices:
                print(price)
    """

    def __init__(
        self,
        client: BaseJSONRPCClient,
        method: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        unsubscribe: str | None = None,
        buffer: int = DEFAULT_BUFFER,
        on_overflow: OverflowPolicy = 'lagged',
        resume: bool = False,
        last_event_id: str | None = None,
    ) -> None:
        if buffer < 1:
            raise ValueError(f'buffer must be at least 1, not {buffer}.')
        if on_overflow not in ('lagged', 'drop_oldest'):
            raise ValueError(f"on_overflow must be 'lagged' or 'drop_oldest', not {on_overflow!r}.")
        self.client = client
        self.method = method
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.unsubscribe_method = f'{method}.unsubscribe' if unsubscribe is None else unsubscribe
        self.buffer = buffer
        self.on_overflow: OverflowPolicy = on_overflow
        self.id: str | None = None
        self.close_reason: CloseReason | None = None
        self.check_item: Callable[[Any], Any] | None = None  # set by a typed proxy: checks and converts each item
        self.resume = resume
        self.last_event_id = last_event_id
        self._sink: ItemSink | None = None
        self._dropped_before = 0
        self._resuming = False  # subscribed again to resume: a gap unless the first item shows the peer resumed
        self._held: tuple[Any, str | None] | _Ended | None = None  # what comes after a gap yielded first

    @property
    def dropped(self) -> int:
        """Items dropped by ``on_overflow='drop_oldest'`` so far."""
        return self._dropped_before + (self._sink.dropped if self._sink is not None else 0)

    def __await__(self) -> Generator[Any, None, Self]:
        return self._started().__await__()

    async def _started(self) -> Self:
        await self.subscribe()
        return self

    async def __aenter__(self) -> Self:
        await self.subscribe()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def subscribe(self) -> str:
        """Call the subscribe method (once; later calls return the id).

        Raises:
            JSONRPCError: the subscribe call's error (e.g. ``InvalidParams``, ``TooManySubscriptions``).
            SubscriptionsUnavailable: the client's transport cannot carry subscriptions (use a WebSocket client).
        """
        if self._sink is not None:
            assert self.id is not None
            return self.id
        if self.close_reason is not None:
            raise RuntimeError(f'Subscription to {self.method} has ended ({self.close_reason.value}).')
        return await self._subscribe()

    async def _subscribe(self) -> str:
        client = self.client
        if not getattr(client.transport, 'carries_streams', False):
            raise SubscriptionsUnavailable(
                data={
                    'details': f'{type(client.transport).__name__} cannot carry subscriptions: '
                    'subscribe with a WebSocket client (WSJSONRPCClient).'
                }
            )
        sink = ItemSink(self.buffer, self.on_overflow, self._load_error)
        request = client.build_request(self.method, self.args, self.kwargs)
        if self.resume and self.last_event_id is not None:
            request.meta = {LAST_EVENT_ID: self.last_event_id}
        response = await client.direct_call(request, subscription=sink)
        if response is None:  # pragma: no cover - a request with an id always gets one
            raise TransportError(data={'details': f'No reply to subscribing to {self.method}.'})
        if response.error is not None:
            raise response.error
        if type(response.result) is not str:
            raise TransportError(
                data={'details': f'{self.method} answered {type(response.result).__name__}, not a subscription id.'}
            )
        self.id = response.result
        self._sink = sink
        self._resuming = self.resume and self.last_event_id is not None
        return self.id

    def _load_error(self, error: Any) -> JSONRPCError:
        if isinstance(error, Mapping) and type(error.get('code')) is int and isinstance(error.get('message'), str):
            error_class = self.client.error_map.get(error['code'], JSONRPCError)
            loaded = error_class(error['message'], data=error.get('data'), code=error['code'])
            loaded.remote = True
            return loaded
        return TransportError(data={'details': f'{self.method} ended with an error that is not an error object.'})

    async def __anext__(self) -> Any:
        held, self._held = self._held, None
        if isinstance(held, _Ended):
            return await self._ended(held)
        if held is not None:
            return self._take(held)
        if self._sink is None:
            if self.close_reason is not None:
                raise StopAsyncIteration
            await self.subscribe()
        sink = self._sink
        assert sink is not None
        try:
            entry = await sink.next()
        except _Ended as ended:
            if self._resuming:  # ended before showing that it resumed: what it missed is unknown
                self._resuming, self._held = False, ended
                return Gap()
            return await self._ended(ended)
        if isinstance(entry, Gap):
            self._resuming = False
            return entry
        if self._resuming:
            self._resuming = False
            if entry[1] is None:  # items without event ids: the peer did not resume
                self._held = entry
                return Gap()
        return self._take(entry)

    def _take(self, entry: tuple[Any, str | None]) -> Any:
        item, event_id = entry
        if event_id is not None:
            self.last_event_id = event_id
        return item if self.check_item is None else self.check_item(item)

    async def _ended(self, ended: _Ended) -> Any:
        self._retire_sink()
        if ended.reason is CloseReason.CONNECTION_LOST and getattr(self.client.transport, 'reconnects', False):
            try:
                await self._subscribe()
            except TransportError:
                pass  # could not subscribe again: the connection is lost after all
            else:
                if self._resuming:
                    return await self.__anext__()
                return Gap()
        self.close_reason = ended.reason
        if ended.reason is CloseReason.LAGGED and ended.error is not None and not ended.error.remote:
            await self._unsubscribe()  # our buffer overflowed: the peer still streams
        if ended.reason in (CloseReason.COMPLETED, CloseReason.UNSUBSCRIBED):
            raise StopAsyncIteration
        if ended.error is not None:
            raise ended.error
        raise TransportError(data={'details': f'The connection carrying the subscription to {self.method} was lost.'})

    async def aclose(self) -> None:
        """Unsubscribe (if still live) and end the iteration. Safe to call twice."""
        sink = self._retire_sink()
        if self.close_reason is None:
            self.close_reason = CloseReason.UNSUBSCRIBED
        if sink is None or sink.end is not None:
            if sink is not None:
                self._forget()
            return
        sink.finish(CloseReason.UNSUBSCRIBED)
        await self._unsubscribe()

    def _retire_sink(self) -> ItemSink | None:
        """Let go of the current sink, keeping its count of dropped items."""
        sink, self._sink = self._sink, None
        if sink is not None:
            self._dropped_before += sink.dropped
        return sink

    async def _unsubscribe(self) -> None:
        """Tell the peer to stop (best effort: a connection already gone has stopped it)."""
        try:
            await self.client.call(self.unsubscribe_method, self.id)
        except TransportError:
            pass
        finally:
            self._forget()

    def _forget(self) -> None:
        forget = getattr(self.client.transport, 'forget_subscription', None)
        if forget is not None and self.id is not None:
            forget(self.id)
