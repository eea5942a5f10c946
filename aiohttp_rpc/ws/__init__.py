"""Layer 3, aiohttp: the WebSocket connection servers and clients share, and the peer at its other end.

It knows neither :mod:`aiohttp_rpc.server` nor :mod:`aiohttp_rpc.client`: both build on it.
"""

from __future__ import annotations

from .connection import DEFAULT_MAX_IN_FLIGHT, ConnectionState, MessageHook, WSConnection
from .outbox import DEFAULT_MAX_BUFFERED_BYTES
from .peer import PEER_KEY, WSPeer, get_peer
from .streams import MAX_SUBSCRIPTIONS

__all__ = (
    'DEFAULT_MAX_BUFFERED_BYTES',
    'DEFAULT_MAX_IN_FLIGHT',
    'MAX_SUBSCRIPTIONS',
    'PEER_KEY',
    'ConnectionState',
    'MessageHook',
    'WSConnection',
    'WSPeer',
    'get_peer',
)
