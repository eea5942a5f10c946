"""Layer 4: aiohttp server transports."""

from __future__ import annotations

from .base import BaseJSONRPCServer
from .decorators import rpc_method
from .http import JSONRPCServer, rpc_server
from .origins import check_origins
from .websocket import WSJSONRPCServer

__all__ = ('BaseJSONRPCServer', 'JSONRPCServer', 'WSJSONRPCServer', 'check_origins', 'rpc_method', 'rpc_server')
