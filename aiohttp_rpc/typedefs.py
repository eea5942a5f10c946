"""Type aliases and protocols used across the package (stdlib only)."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    from .protocol.request import JSONRPCRequest
    from .protocol.response import JSONRPCResponse

__all__ = (
    'ContextType',
    'JSONDecoderType',
    'JSONEncoderType',
    'JSONRPCIDType',
    'MiddlewareType',
    'SingleRequestProcessorType',
)

JSONRPCIDType: TypeAlias = int | str
"""A request id as JSON-RPC 2.0 allows it (``null`` is modelled as ``None`` next to it)."""

JSONEncoderType: TypeAlias = Callable[[Any], str | bytes]
"""A ``json.dumps``-style callable; returning ``bytes`` (as ``orjson.dumps`` does) is fine too."""

JSONDecoderType: TypeAlias = Callable[[Any], Any]
"""A ``json.loads``-style callable; it is given ``bytes`` or ``str``."""

ContextType: TypeAlias = MutableMapping[str, Any]
"""Per-message context shared by a request and its response (e.g. ``{'http_request': ...}``)."""

SingleRequestProcessorType: TypeAlias = Callable[['JSONRPCRequest'], Awaitable['JSONRPCResponse']]
"""The ``handler`` a middleware receives: call it to run the rest of the chain."""


class MiddlewareType(Protocol):
    """A JSON-RPC middleware: ``async def mw(request, handler) -> response``, as in aiohttp."""

    def __call__(
        self, request: JSONRPCRequest, handler: SingleRequestProcessorType, /
    ) -> Awaitable[JSONRPCResponse]: ...


if not TYPE_CHECKING:  # hidden from type checkers, so they point at the 1.x names left in a code base

    def __getattr__(name: str) -> object:
        """The 1.x names, as deprecated aliases (see :mod:`aiohttp_rpc.legacy`)."""
        return importlib.import_module('aiohttp_rpc.legacy').resolve(__name__, name)
