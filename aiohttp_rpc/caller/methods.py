"""``client.methods.name(...)``: remote methods as attributes."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..protocol.request import JSONRPCRequest

if TYPE_CHECKING:
    from .base import BaseJSONRPCClient
    from .subscription import Subscription

__all__ = ('JSONRPCClientMethod', 'JSONRPCClientMethods')


class JSONRPCClientMethod:
    """One remote method: await it to call, or build requests for a batch.

    Example::

        await rpc.methods.echo('hi')                 # call, returns the result
        await rpc.methods.echo.notify('hi')          # notification, returns None
        rpc.methods.echo.request('hi')               # JSONRPCRequest with an id, for rpc.batch(...)
        rpc.methods.echo.notification('hi')          # JSONRPCRequest without an id
        rpc.methods.ticker.subscribe('BTC')          # a Subscription (WebSocket clients), see client.subscribe
        await rpc.methods.math.add(1, 2)             # a method of a group: "math.add"

    Any other attribute is a method of the group this one names (``methods.math.add`` is ``'math.add'``); the
    five names above are this proxy's own, so a remote method called ``notify``, ``request``, ``notification``
    or ``subscribe`` in a group is reached as ``methods['math.notify']``.
    """

    __slots__ = ('_client', '_method_name')

    def __init__(self, client: BaseJSONRPCClient, *, method_name: str) -> None:
        self._client = client
        self._method_name = method_name

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return await self._client.call(self._method_name, *args, **kwargs)

    def __getattr__(self, name: str) -> JSONRPCClientMethod:
        if name.startswith('__'):  # copy, pickle and friends probe dunders
            raise AttributeError(name)
        return self._client.methods[f'{self._method_name}.{name}']

    async def notify(self, *args: Any, **kwargs: Any) -> None:
        """Send a notification (no reply)."""
        await self._client.notify(self._method_name, *args, **kwargs)

    def request(self, *args: Any, **kwargs: Any) -> JSONRPCRequest:
        """A request with a fresh id, to pass to ``client.batch(...)``."""
        return self._client.build_request(self._method_name, args, kwargs)

    def subscribe(self, *args: Any, **kwargs: Any) -> Subscription:
        """A :class:`~aiohttp_rpc.Subscription` to this method (see ``client.subscribe``; its options are not
        taken here)."""
        return self._client.subscribe(self._method_name, *args, **kwargs)

    def notification(self, *args: Any, **kwargs: Any) -> JSONRPCRequest:
        """A notification request, to pass to ``client.batch(...)`` or ``client.batch_notify(...)``."""
        return self._client.build_request(self._method_name, args, kwargs, notification=True)


class JSONRPCClientMethods:
    """Attribute access to remote methods: ``methods.ping`` is a :class:`JSONRPCClientMethod`.

    The proxies are cached (at most ``max_cache_size``, least recently used dropped first).
    """

    def __init__(self, client: BaseJSONRPCClient, *, max_cache_size: int = 1024) -> None:
        self._client = client
        self._cache: OrderedDict[str, JSONRPCClientMethod] = OrderedDict()
        self._max_cache_size = max_cache_size

    def __getattr__(self, method_name: str) -> JSONRPCClientMethod:
        if method_name.startswith('__'):  # copy, pickle and friends probe dunders
            raise AttributeError(method_name)
        return self[method_name]

    def __getitem__(self, method_name: str) -> JSONRPCClientMethod:
        """``methods['math.add']``: for names that are not Python identifiers."""
        cache = self._cache
        method = cache.get(method_name)
        if method is None:
            method = cache[method_name] = JSONRPCClientMethod(self._client, method_name=method_name)
            if len(cache) > self._max_cache_size:
                cache.popitem(last=False)
        else:
            cache.move_to_end(method_name)
        return method
