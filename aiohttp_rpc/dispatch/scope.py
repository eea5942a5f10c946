"""What wraps one method beyond the server's middlewares: its groups' middlewares and every guard on the way.

Built once, when the method is registered; methods without any of these take the dispatcher's direct path.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import AccessDenied
from ..protocol.response import JSONRPCResponse

if TYPE_CHECKING:
    from ..methods.method import BaseJSONRPCMethod, Guard
    from ..protocol.request import JSONRPCRequest
    from ..typedefs import MiddlewareType, SingleRequestProcessorType
    from .middleware import Chain

__all__ = ('Scope', 'guard_middleware')


@dataclass(frozen=True, slots=True)
class Scope:
    """A registered method with its own chain.

    Attributes:
        method: the method object (the chain is valid only while the registry still holds this object).
        chain: group middlewares and guards around the call.
    """

    method: BaseJSONRPCMethod
    chain: Chain


def guard_middleware(guards: Iterable[Guard]) -> MiddlewareType:
    """A middleware running ``guards`` in order; the first that returns false answers -32001 Access denied.

    A guard may also raise a :class:`~aiohttp_rpc.errors.JSONRPCError` of its own, which is sent as it is.
    """
    checks = tuple(guards)

    async def guard_check(request: JSONRPCRequest, handler: SingleRequestProcessorType) -> JSONRPCResponse:
        for check in checks:
            allowed = check(request)
            if inspect.isawaitable(allowed):
                allowed = await allowed
            if not allowed:
                return JSONRPCResponse(id=request.id, jsonrpc=request.jsonrpc, error=AccessDenied())
        return await handler(request)

    return guard_check
