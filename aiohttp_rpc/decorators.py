"""The 2.0 import path for the decorator (``aiohttp_rpc.decorators.rpc_method``)."""

from __future__ import annotations

from .server.decorators import rpc_method

__all__ = ('rpc_method',)
