"""Layer 1: JSON-RPC 2.0 messages (requests, responses, batches), free of aiohttp and asyncio.

``BaseJSONRPCMethod`` and ``JSONRPCMethod`` are also reachable here because aiohttp-rpc 2.0.0 code imports them
from ``aiohttp_rpc.protocol``. They live in :mod:`aiohttp_rpc.methods` (layer 2, which uses asyncio), so they
are loaded on first access, keeping this layer itself free of asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .context import ContextKey, RequestContext
from .request import JSONRPCBatchRequest, JSONRPCRequest
from .response import JSONRPCBatchResponse, JSONRPCResponse
from .results import JSONRPCDuplicatedResults, JSONRPCUnlinkedResults

if TYPE_CHECKING:
    from ..methods.method import BaseJSONRPCMethod, JSONRPCMethod

__all__ = (
    'BaseJSONRPCMethod',
    'ContextKey',
    'JSONRPCBatchRequest',
    'JSONRPCBatchResponse',
    'JSONRPCDuplicatedResults',
    'JSONRPCMethod',
    'JSONRPCRequest',
    'JSONRPCResponse',
    'JSONRPCUnlinkedResults',
    'RequestContext',
)

_FROM_METHODS = frozenset({'BaseJSONRPCMethod', 'JSONRPCMethod'})


if not TYPE_CHECKING:  # type checkers see the two names above, and none of the 1.x ones

    def __getattr__(name: str) -> object:
        if name in _FROM_METHODS:
            return getattr(importlib.import_module('aiohttp_rpc.methods.method'), name)
        # The 1.x names, as deprecated aliases (see :mod:`aiohttp_rpc.legacy`).
        return importlib.import_module('aiohttp_rpc.legacy').resolve(__name__, name)
