"""Subscriptions: an async generator function served as a stream of notifications.

The wire format is the one jsonrpsee and go-ethereum clients read:

* the subscribe call's result is the subscription id, a string (``0x`` and 32 hex digits: 128 random bits);
* each item comes as a notification ``{"method": <notification>, "params": {"subscription": <id>, "result":
  <item>}}``, never before the reply to the subscribe call;
* an error ends the stream with ``{"subscription": <id>, "error": {code, message, data}}``;
* a generator that returns ends the stream with ``{"subscription": <id>, "done": true}`` (our addition: no
  ``result`` key, so a client that only reads ``result`` ignores it);
* the unsubscribe method takes the id (``[id]`` or ``{"subscription": id}``) and answers ``true`` if it ended
  a live subscription, else ``false``.

A resumable subscription (``resumable=True``) adds an ``"eventId"`` to each item it read from a topic
(``server.topic(...)``), and ``"gap": true`` to an item before which items of the topic are missing. A subscribe
call that carries ``"_meta": {"lastEventId": <id>}`` starts with the topic's items after that one, from the
topic's history (see :class:`Cursor`).

This module is the method side, free of any transport; the connection that pushes items is a
:class:`StreamHost` (the WebSocket connection, :mod:`aiohttp_rpc.ws.streams`), found in the request context.
"""

from __future__ import annotations

import collections.abc
import copy
import inspect
import typing
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..errors import InvalidParams, JSONRPCError, ServerConfigurationError, SubscriptionsUnavailable
from ..protocol.context import STREAMS
from .method import REQUEST_KEY, BaseJSONRPCMethod, Guard, JSONRPCMethod
from .params import ParamSpec, read_return_annotation

if TYPE_CHECKING:
    from ..protocol.context import RequestContext
    from ..protocol.request import JSONRPCRequest
    from ..typedefs import JSONRPCIDType

__all__ = (
    'DEFAULT_HISTORY',
    'DEFAULT_QUEUE_SIZE',
    'DEFAULT_SEND_TIMEOUT',
    'SLOW_POLICIES',
    'Cursor',
    'JSONRPCSubscription',
    'SlowPolicy',
    'StreamHost',
    'StreamOptions',
    'UnsubscribeMethod',
    'current_cursor',
)

SlowPolicy = Literal['block', 'drop_oldest', 'close']
"""What a subscription does when its subscriber reads more slowly than items come (see
:class:`JSONRPCSubscription`)."""

SLOW_POLICIES: tuple[SlowPolicy, ...] = ('block', 'drop_oldest', 'close')

DEFAULT_QUEUE_SIZE = 256
"""Items a ``drop_oldest`` subscription holds for a slow subscriber before it drops the oldest."""

DEFAULT_SEND_TIMEOUT = 5.0
"""Seconds a ``close`` subscription's item may wait for room before the subscription ends as lagged."""

DEFAULT_HISTORY = 256
"""Items of its topic a resumable subscription asks to be kept for subscribers that come back."""

LAST_EVENT_ID = 'lastEventId'
"""The ``_meta`` member of a subscribe call that resumes after the event it names."""


@dataclass(slots=True)
class Cursor:
    """Where a resumable subscription stands in the topic it reads; the subscription's task holds it (see
    :func:`current_cursor`) and ``server.topic()`` moves it.

    Attributes:
        history: items of the topic to keep for subscribers that come back.
        after: the event id the subscriber resumes after (``None``: it starts with live items).
        event_id: the event id of the item the topic gave last (``None``: the item has none).
        gap: set when items before the next one are missing (the history no longer held them, or the topic's
            reader fell behind); the next item carries ``"gap": true`` and clears it.
    """

    history: int
    after: str | None = None
    event_id: str | None = None
    gap: bool = False


_CURSOR: ContextVar[Cursor | None] = ContextVar('aiohttp_rpc_cursor', default=None)


def current_cursor() -> Cursor | None:
    """The cursor of the resumable subscription whose task is running, if any."""
    return _CURSOR.get()


def enter_cursor(cursor: Cursor) -> None:
    """Make ``cursor`` the current one for the rest of the running task (a subscription's own task)."""
    _CURSOR.set(cursor)


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """How one subscription's items go out.

    Attributes:
        notification: the method name of the item notifications.
        on_slow: ``'block'``, ``'drop_oldest'`` or ``'close'``.
        queue_size: items held for ``drop_oldest``.
        send_timeout: seconds an item may wait for room under ``close`` (``None``: no limit).
    """

    notification: str
    on_slow: SlowPolicy = 'block'
    queue_size: int = DEFAULT_QUEUE_SIZE
    send_timeout: float | None = DEFAULT_SEND_TIMEOUT


class StreamHost(Protocol):
    """What a connection that can push items to its peer offers subscriptions (found in the request context
    under :data:`~aiohttp_rpc.protocol.context.STREAMS`)."""

    def open_stream(
        self,
        items: AsyncIterator[Any],
        options: StreamOptions,
        request_id: JSONRPCIDType,
        cursor: Cursor | None = None,
    ) -> str:
        """Take ``items`` as a new subscription opened by the call ``request_id`` and return its id; its items
        go out once the reply to that call has been written. A resumable subscription's task holds ``cursor``.

        Raises:
            TooManySubscriptions: the connection has as many as it may.
        """
        ...

    async def close_stream(self, subscription_id: str) -> bool:
        """End the subscription ``subscription_id`` (its generator's ``finally`` has run when this returns);
        False if there is no such live subscription."""
        ...


class JSONRPCSubscription(BaseJSONRPCMethod):
    """An async generator function served as a subscription: each value it yields goes to the subscriber as a
    notification (see the module docstring for the wire format).

    ``add_method`` and groups wrap an async generator function in one of these by themselves; build one to set
    options. Params, typed validation, the request context and guards work as for any method.

    Args:
        func: the async generator function; its params are the subscribe call's params.
        name: the subscribe method's name (default: ``func.__name__``).
        notification: the method name of the item notifications (default: the subscribe method's own name).
        unsubscribe: the unsubscribe method's name (default: the subscribe method's name + ``.unsubscribe``).
            Several subscriptions may share one (``eth_unsubscribe``). Names given here are relative to the
            group prefix the subscription is served under, as its own name is.
        on_slow: what happens when the subscriber reads more slowly than items come:

            * ``'block'`` (default): the generator is paused until the connection's write buffer drains;
            * ``'drop_oldest'``: the generator runs on; up to ``queue_size`` items wait, and past that the oldest
              is dropped (counted in the connection's ``dropped_items`` and the metrics);
            * ``'close'``: an item that waits longer than ``send_timeout`` ends the subscription with
              :class:`~aiohttp_rpc.errors.SubscriptionLagged`.
        queue_size: see ``on_slow='drop_oldest'``.
        send_timeout: see ``on_slow='close'``.
        resumable: the subscription may be resumed: each item read from a topic (``server.topic(...)``)
            carries its event id, the topic keeps its last ``history`` items (in memory, or in a Redis stream
            with the Redis backplane), and a subscriber that comes back with ``resume=True`` gets the items
            it missed, or a gap when they are gone. The generator runs again for the resumed subscription
            (only the topic's items are replayed), so leave it off for generators with side effects.
        history: see ``resumable``.
        pass_extra_kwargs, validate, guards, errors, summary, description: as for
            :class:`~aiohttp_rpc.JSONRPCMethod`.

    Example::

        async def ticker(symbol: str) -> AsyncIterator[float]:
            while True:
                yield await next_price(symbol)

        server.add_method(JSONRPCSubscription(ticker, on_slow='drop_oldest'))
    """

    def __init__(
        self,
        func: typing.Callable[..., AsyncIterator[Any]],
        *,
        name: str | None = None,
        notification: str | None = None,
        unsubscribe: str | None = None,
        on_slow: SlowPolicy = 'block',
        queue_size: int = DEFAULT_QUEUE_SIZE,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        resumable: bool = False,
        history: int = DEFAULT_HISTORY,
        pass_extra_kwargs: bool = False,
        validate: bool | None = None,
        guards: Iterable[Guard] = (),
        errors: Iterable[type[JSONRPCError]] = (),
        summary: str | None = None,
        description: str | None = None,
    ) -> None:
        if not inspect.isasyncgenfunction(func):
            raise ServerConfigurationError(
                data={'details': f'{func!r} is not an async generator function (async def with yield).'}
            )
        if on_slow not in SLOW_POLICIES:
            raise ServerConfigurationError(
                data={'details': f'on_slow must be one of {", ".join(SLOW_POLICIES)}, not {on_slow!r}.'}
            )
        if queue_size < 1:
            raise ServerConfigurationError(data={'details': f'queue_size must be at least 1, not {queue_size}.'})
        if history < 1:
            raise ServerConfigurationError(data={'details': f'history must be at least 1, not {history}.'})
        self._source = JSONRPCMethod(
            func,
            name=name,
            pass_extra_kwargs=pass_extra_kwargs,
            validate=validate,
            summary=summary,
            description=description,
            slow_call_threshold=None,
        )
        self.func = func
        self.name = self._source.name
        self.guards = tuple(guards)
        self.errors = tuple(errors)
        self.summary = self._source.summary
        self.description = self._source.description
        self.context_param = self._source.context_param
        self.notification = notification
        self.unsubscribe = unsubscribe
        self.on_slow: SlowPolicy = on_slow
        self.queue_size = queue_size
        self.send_timeout = send_timeout
        self.resumable = resumable
        self.history = history

    @property
    def takes_extra_kwargs(self) -> bool:
        """Always: a subscription finds its connection through the request."""
        return True

    @property
    def wants_request(self) -> bool:
        """Always: a subscription finds its connection through the request."""
        return True

    @property
    def params(self) -> tuple[ParamSpec, ...]:
        """The subscribe call's params (those of the generator function)."""
        return self._source.params

    @property
    def validates(self) -> bool:
        """Whether params are checked against the annotations."""
        return self._source.validates

    @property
    def item_annotation(self) -> Any:
        """The type of the items, from an ``AsyncIterator[T]`` (or ``AsyncGenerator[T, ...]``, ``AsyncIterable[T]``)
        return annotation; ``typing.Any`` without one."""
        return item_type(read_return_annotation(self.func))

    @property
    def result_annotation(self) -> Any:
        """The subscribe call's result: the subscription id, a string."""
        return str

    def bind(self, *, validate: bool, context_type: object, executor: Executor | None = None) -> JSONRPCSubscription:
        """See :meth:`BaseJSONRPCMethod.bind`: the subscription with its generator function bound the same way."""
        source = self._source.bind(validate=validate, context_type=context_type, executor=None)
        if source is self._source:
            return self
        bound = copy.copy(self)
        bound._source = source
        bound.context_param = source.context_param
        return bound

    def companions(self, name: str) -> tuple[BaseJSONRPCMethod, ...]:
        """The unsubscribe method, named for the subscription served as ``name``."""
        return (UnsubscribeMethod(self.unsubscribe_name(name)),)

    def unsubscribe_name(self, name: str) -> str:
        """The unsubscribe method's name when the subscription is served as ``name``."""
        if self.unsubscribe is None:
            return f'{name}.unsubscribe'
        return _prefix_of(name, self.name) + self.unsubscribe

    def notification_name(self, name: str) -> str:
        """The item notifications' method name when the subscription is served as ``name``."""
        if self.notification is None:
            return name
        return _prefix_of(name, self.name) + self.notification

    def __call__(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Awaitable[Any]:
        return self._subscribe(args, kwargs, extra_kwargs or {})

    async def _subscribe(self, args: Sequence[Any], kwargs: Mapping[str, Any], extra_kwargs: Mapping[str, Any]) -> Any:
        request: JSONRPCRequest | None = extra_kwargs.get(REQUEST_KEY)
        context: RequestContext | None = None if request is None else request.context
        host: StreamHost | None = None if context is None else context.get(STREAMS)
        called = self.name if request is None else request.method
        if host is None:
            raise SubscriptionsUnavailable(
                data={'details': f"{called} is a subscription: call it over the server's WebSocket endpoint."}
            )
        if request is None or request.id is None:
            return None  # no reply could carry the id: nothing is started
        items = await self._source(args, kwargs, extra_kwargs)
        options = StreamOptions(self.notification_name(called), self.on_slow, self.queue_size, self.send_timeout)
        cursor = None
        if self.resumable:
            after = None if request.meta is None else request.meta.get(LAST_EVENT_ID)
            if after is None or type(after) is str:
                cursor = Cursor(self.history, after)
            else:  # a resume from a position that cannot be: what it missed is unknown
                cursor = Cursor(self.history, gap=True)
        return host.open_stream(items, options, request.id, cursor)


class UnsubscribeMethod(BaseJSONRPCMethod):
    """Ends a subscription of the caller's connection: params ``[id]`` or ``{"subscription": id}``; the result is
    ``true`` when a live subscription ended, else ``false``.

    Args:
        name: the method name.
    """

    summary = 'End a subscription'
    description = 'Answers true when it ended a live subscription of this connection, else false.'

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def wants_request(self) -> bool:
        """Always: the subscription is looked up on the caller's connection."""
        return True

    @property
    def params(self) -> tuple[ParamSpec, ...]:
        """One param, ``subscription``: the id the subscribe call answered."""
        return (ParamSpec('subscription', inspect.Parameter.POSITIONAL_OR_KEYWORD, str),)

    @property
    def result_annotation(self) -> Any:
        """A bool."""
        return bool

    def __call__(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> Awaitable[Any]:
        return self._unsubscribe(args, kwargs, extra_kwargs or {})

    async def _unsubscribe(
        self, args: Sequence[Any], kwargs: Mapping[str, Any], extra_kwargs: Mapping[str, Any]
    ) -> bool:
        if len(args) == 1 and not kwargs:
            subscription_id = args[0]
        elif not args and set(kwargs) == {'subscription'}:
            subscription_id = kwargs['subscription']
        else:
            problem = {'path': ['subscription'], 'message': 'Give one param: the subscription id', 'type': 'missing'}
            raise InvalidParams(data={'errors': [problem]})
        if type(subscription_id) is not str:
            problem = {'path': ['subscription'], 'message': 'Input should be a valid string', 'type': 'string_type'}
            raise InvalidParams(data={'errors': [problem]})
        context: RequestContext | None = getattr(extra_kwargs.get(REQUEST_KEY), 'context', None)
        host: StreamHost | None = None if context is None else context.get(STREAMS)
        if host is None:
            raise SubscriptionsUnavailable(
                data={'details': f'{self.name} ends a subscription: call it over the WebSocket it was made on.'}
            )
        return await host.close_stream(subscription_id)


def item_type(annotation: Any) -> Any:
    """``T`` of ``AsyncIterator[T]``, ``AsyncIterable[T]`` or ``AsyncGenerator[T, S]``; ``typing.Any`` otherwise."""
    origin = typing.get_origin(annotation)
    if origin in (collections.abc.AsyncIterator, collections.abc.AsyncIterable, collections.abc.AsyncGenerator):
        args = typing.get_args(annotation)
        if args:
            return args[0]
    return Any


def _prefix_of(full_name: str, own_name: str) -> str:
    """The group prefix (with its dot) ``full_name`` adds to ``own_name``; empty when served under its own name."""
    if full_name.endswith(own_name):
        return full_name[: len(full_name) - len(own_name)]
    return ''
