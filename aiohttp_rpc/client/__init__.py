"""Layer 4: clients. The core (``base``) is transport-agnostic; transports live in ``transports``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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


if not TYPE_CHECKING:  # hidden from type checkers, so they point at the 1.x names left in a code base

    def __getattr__(name: str) -> object:
        """The 1.x names, as deprecated aliases (see :mod:`aiohttp_rpc.legacy`)."""
        return importlib.import_module('aiohttp_rpc.legacy').resolve(__name__, name)
