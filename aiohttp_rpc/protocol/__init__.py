"""Layer 1: JSON-RPC 2.0 messages (requests, responses, batches), free of aiohttp and asyncio.

``BaseJSONRPCMethod`` and ``JSONRPCMethod`` are re-exported here because aiohttp-rpc 2.0.0 code imports them
from ``aiohttp_rpc.protocol``; they live in :mod:`aiohttp_rpc.methods`, which depends on nothing here.
"""

from __future__ import annotations

from ..methods.method import BaseJSONRPCMethod, JSONRPCMethod
from .request import JSONRPCBatchRequest, JSONRPCRequest
from .response import JSONRPCBatchResponse, JSONRPCResponse
from .results import JSONRPCDuplicatedResults, JSONRPCUnlinkedResults

__all__ = (
    'BaseJSONRPCMethod',
    'JSONRPCBatchRequest',
    'JSONRPCBatchResponse',
    'JSONRPCDuplicatedResults',
    'JSONRPCMethod',
    'JSONRPCRequest',
    'JSONRPCResponse',
    'JSONRPCUnlinkedResults',
)
