"""Layer 4: clients. The core (``base``) is transport-agnostic; transports live in ``transports``."""

from __future__ import annotations

from .base import BaseJSONRPCClient, ClientState
from .http import JSONRPCClient
from .methods import JSONRPCClientMethod, JSONRPCClientMethods
from .websocket import WSJSONRPCClient, WSPeer, get_peer

__all__ = (
    'BaseJSONRPCClient',
    'ClientState',
    'JSONRPCClient',
    'JSONRPCClientMethod',
    'JSONRPCClientMethods',
    'WSJSONRPCClient',
    'WSPeer',
    'get_peer',
)
