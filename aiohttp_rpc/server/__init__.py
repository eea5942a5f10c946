"""Layer 4: aiohttp server transports."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .base import BaseJSONRPCServer
from .decorators import rpc_method
from .http import JSONRPCServer, rpc_server
from .origins import check_origins
from .websocket import WSJSONRPCServer

__all__ = ('BaseJSONRPCServer', 'JSONRPCServer', 'WSJSONRPCServer', 'check_origins', 'rpc_method', 'rpc_server')


if not TYPE_CHECKING:  # hidden from type checkers, so they point at the 1.x names left in a code base

    def __getattr__(name: str) -> object:
        """The 1.x names, as deprecated aliases (see :mod:`aiohttp_rpc.legacy`)."""
        return importlib.import_module('aiohttp_rpc.legacy').resolve(__name__, name)
