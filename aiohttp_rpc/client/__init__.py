"""Layer 4: clients. The core (``base``) is transport-agnostic; transports live in ``transports``."""

from __future__ import annotations

from ..caller.base import BaseJSONRPCClient, ClientState
from ..caller.methods import JSONRPCClientMethod, JSONRPCClientMethods
from ..ws import WSPeer, get_peer
from .http import JSONRPCClient
from .websocket import WSJSONRPCClient

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
