"""Guards: checks run before a method, as one middleware in the chain of the server, a group or a route."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import AccessDenied
from ..protocol.response import JSONRPCResponse

if TYPE_CHECKING:
    from ..methods.method import Guard
    from ..protocol.request import JSONRPCRequest
    from ..typedefs import MiddlewareType, SingleRequestProcessorType

__all__ = ('guard_middleware', 'passes')


def guard_middleware(guards: Iterable[Guard]) -> MiddlewareType:
    """A middleware running ``guards`` in order; the first that returns false answers -32001 Access denied.

    A guard may also raise a :class:`~aiohttp_rpc.errors.JSONRPCError` of its own, which is sent as it is.
    """
    checks = tuple(guards)

    async def guard_check(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        if not await passes(checks, request):
            return JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, error=AccessDenied())
        return await handler(request)

    return guard_check


async def passes(guards: Iterable[Guard], request: JSONRPCRequest) -> bool:
    """Whether ``request`` passes every guard, run in order until one refuses; what a guard raises propagates."""
    for check in guards:
        allowed = check(request)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            return False
    return True
