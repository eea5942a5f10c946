"""The request context: one object per message, built from the transport's request by a user factory."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..constants import NOTHING
from ..methods.params import type_hints
from ..protocol.context import HTTP_REQUEST

if TYPE_CHECKING:
    from aiohttp import web

    from ..protocol.request import JSONRPCRequest

__all__ = ('ContextFactory', 'ContextProvider')

ContextFactory = Callable[['web.Request | None'], Any]
"""``def factory(http_request) -> context`` or ``async def``; ``http_request`` is ``None`` in-process."""

_CACHE_KEY = '_aiohttp_rpc_context'


class ContextProvider:
    """Builds the context for a message at most once, and only when a method asks for it.

    Args:
        factory: the user's factory (sync or async).
        context_type: the type methods declare to receive it; by default the factory's return annotation.
    """

    __slots__ = ('context_type', 'factory')

    def __init__(self, factory: ContextFactory | None, context_type: object = None) -> None:
        self.factory = factory
        if context_type is None and factory is not None:
            context_type = type_hints(factory).get('return')
        self.context_type = context_type

    async def get(self, request: JSONRPCRequest) -> Any:
        """The context of the message ``request`` belongs to (``None`` without a factory).

        Batch members share one context: an async factory still running for one member is awaited by the
        others, not called again.
        """
        shared = request.context
        context = shared.get(_CACHE_KEY, NOTHING)
        if context is NOTHING:
            context = None if self.factory is None else self.factory(shared.get(HTTP_REQUEST))
            if inspect.isawaitable(context):
                context = asyncio.ensure_future(context)
            shared[_CACHE_KEY] = context
        if isinstance(context, asyncio.Future):
            return await asyncio.shield(context)
        return context
